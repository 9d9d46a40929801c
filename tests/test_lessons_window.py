"""The Lessons menu in the real window (training in a child process): a lesson opens its experiment
at its speed with its panel, and the panel's check turns ✓ as the live run meets it."""

import pytest

from playground import lessons
from playground.experiment import Experiment
from playground.ui.main_window import MainWindow
from playground.ui.process_worker import ProcessTrainingWorker

GRID = 40


@pytest.fixture
def window(qtbot):
    window = MainWindow(Experiment(), grid_size=GRID, worker_class=ProcessTrainingWorker)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=30000)
    yield window
    window.shutdown()


def _menu_action(window, title):
    return next(a for a in window.lessons_menu.actions() if a.text().endswith(title))


def _marks(window):
    return [label.text() for label in window.lesson_dock.panel.stages if label.isVisible()]


def test_opening_a_lesson_from_the_menu_loads_it_and_its_check_turns_true(qtbot, window):
    lesson = lessons.load(lessons.find("dying_relu_bias"))
    titles = [a.text() for a in window.lessons_menu.actions()]
    assert len(titles) == len(lessons.all_lessons()) and titles[2].endswith(lesson.title)
    _menu_action(window, lesson.title).trigger()
    panel = window.lesson_dock.panel
    assert window.lesson_dock.dock.isVisible() and panel.claim.text() == lesson.claim
    assert "Play." in panel.click.text() and "dead share" in panel.watch.text()
    assert window.experiment == lesson.experiment()  # its first run on its first seed
    assert window.run_bar.speed.currentData() == lesson.speed == 20
    assert "lesson" in window.windowTitle() and window.path is None  # Save never overwrites the lesson
    # step 0 decides the first stage at once; the second waits for step 300
    qtbot.waitUntil(lambda: len(_marks(window)) == 2 and "✓" in _marks(window)[0], timeout=20000)
    assert "…" in _marks(window)[1] and "at step 300" in _marks(window)[1]
    window.train_steps(300)
    qtbot.waitUntil(lambda: window.snapshot.step >= 300 and "✓" in _marks(window)[1], timeout=30000)
    n = window.snapshot.counts()
    assert f"{n['dead']} of {n['total']} units dead" in _marks(window)[1]


def test_a_contrast_follows_the_run_on_screen_and_next_opens_the_next_lesson(qtbot, window):
    lesson = lessons.load(lessons.find("linear_vs_tanh"))
    window.lesson_dock.open_lesson(lesson.name)
    panel = window.lesson_dock.panel
    assert [b.text() for b in panel.run_buttons] == ["A: linear", "B: tanh"]
    qtbot.waitUntil(lambda: "Check: linear" in panel.check_title.text(), timeout=20000)
    # the teacher does what the lesson says by hand: activation to tanh gives the lesson's tanh run
    assert window.edit("network.activation", "tanh")
    assert window.experiment == lesson.experiment(1)
    qtbot.waitUntil(lambda: "Check: tanh" in panel.check_title.text(), timeout=20000)
    window.train_steps(300)
    qtbot.waitUntil(lambda: window.snapshot.step >= 300 and _marks(window) and "✓" in _marks(window)[0],
                    timeout=30000)
    assert "test accuracy" in _marks(window)[0]
    panel.next_button.click()
    following = lessons.all_lessons()[1]
    assert window.experiment == following.experiment() and panel.claim.text() == following.claim
    panel.previous_button.click()
    assert window.experiment == lesson.experiment()
