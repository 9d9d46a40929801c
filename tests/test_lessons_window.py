"""The Lessons menu in the real window (training in a child process): a lesson opens its experiment
at its speed with its panel, and the panel's check turns ✓ as the live run meets it."""

import numpy as np
import pytest

from playground import lessons
from playground.experiment import Experiment
from playground.ui.main_window import MainWindow

from conftest import WINDOW_GRID as GRID


@pytest.fixture
def window(make_window):
    return make_window()


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


def test_presentation_mode_with_a_lesson_shows_only_the_controls_it_names(qtbot, window):
    hyper, tabs = window.hyper_panel, window.tabs
    window.lesson_dock.open_lesson("exploding_clipping")  # names training.grad_clip only
    window.set_presentation(True)
    qtbot.waitUntil(lambda: not hyper.learning_rate.isVisible(), timeout=5000)
    assert tabs.isVisible() and not tabs.isTabVisible(0) and tabs.isTabVisible(1)  # no data control named
    assert hyper.clip_on.isVisible() and hyper.clip.isVisible() and not hyper.seed.isVisible()
    window.lesson_dock.open_lesson("linear_vs_tanh")  # names only the activation: in the network view
    assert not tabs.isVisible() and window.network_view.isVisible()
    window.set_presentation(False)  # everything comes back
    qtbot.waitUntil(tabs.isVisible, timeout=5000)
    assert tabs.isTabVisible(0) and tabs.isTabVisible(1)
    tabs.setCurrentIndex(1)
    qtbot.waitUntil(hyper.learning_rate.isVisible, timeout=5000)


def test_a_live_change_into_a_run_says_to_reset(qtbot, window):
    window.lesson_dock.open_lesson("high_lr_kills")  # A: Adam 0.1, B: Adam 0.005
    window.train_steps(40)
    panel = window.lesson_dock.panel
    qtbot.waitUntil(lambda: "Check: ReLU, Adam 0.1" in panel.check_title.text() and window.snapshot.step >= 40,
                    timeout=20000)
    assert panel.note.text() == ""
    assert window.edit("training.learning_rate", 0.005)  # live: the weights and the step count go on
    window.train_steps(5)
    qtbot.waitUntil(lambda: "Check: ReLU, Adam 0.005" in panel.check_title.text(), timeout=20000)
    assert "press Reset" in panel.note.text()
    window.reset()
    qtbot.waitUntil(lambda: panel.note.text() == "", timeout=20000)


def test_the_selu_lesson_opens_the_activations_by_layer_chart(qtbot, window):
    window.lesson_dock.open_lesson("selu_normalises")
    layers = window.lesson_dock.layers_dock
    assert layers.isVisible()
    qtbot.waitUntil(lambda: layers.view.shown is not None and len(layers.view.shown[1]) == 8, timeout=20000)
    mean, std = layers.view.shown
    assert np.all(np.abs(mean) < 0.3) and np.all((std > 0.5) & (std < 1.5))  # what the lesson claims
    qtbot.waitUntil(lambda: _marks(window) and "✓" in _marks(window)[0], timeout=20000)
    window.lesson_dock.panel.run_buttons[1].click()  # B: sigmoid
    qtbot.waitUntil(lambda: layers.view.shown is not None and layers.view.shown[1].max() < 0.2, timeout=20000)
    window.lesson_dock.close()
    assert not window.lesson_dock.dock.isVisible()


def test_a_broken_lesson_file_is_named_in_the_menu_and_the_window_still_opens(qtbot, tmp_path, monkeypatch):
    from playground import bundled

    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "01_bad.json").write_text('{"title": "t"}')
    monkeypatch.setattr(bundled, "lessons_dir", lambda: folder)
    window = MainWindow(Experiment(), grid_size=GRID, start_worker=False)
    qtbot.addWidget(window)
    (action,) = window.lessons_menu.actions()
    assert not action.isEnabled() and "01_bad.json" in action.text() and "claim is missing" in action.text()


def test_a_contrast_races_in_compare_mode_over_the_lessons_seeds(qtbot, window):
    lesson = lessons.load(lessons.find("linear_vs_tanh"))
    window.lesson_dock.open_lesson(lesson.name)
    panel = window.lesson_dock.panel
    assert panel.compare_button.isVisibleTo(panel) and f"({len(lesson.seeds)} seeds)" in panel.compare_button.text()
    panel.compare_button.click()
    race = window.lesson_dock.races[-1]
    qtbot.addWidget(race)
    try:
        assert [v.experiment for v in race.variants] == [lesson.experiment(i) for i in range(len(lesson.runs))]
        assert race.seeds == len(lesson.seeds) and [p_.name for p_ in race.variants] == ["linear", "tanh"]
        race.train_steps(300)
        qtbot.waitUntil(lambda: race.frame is not None and race.frame.step == 300, timeout=60000)
        # what the lesson claims at step 300, now over all its seeds at once
        linear, tanh = race.frame.results
        assert linear.test_accuracy.max <= 0.7 and tanh.test_accuracy.min >= 0.9
    finally:
        race.shutdown()
    window.lesson_dock.open_lesson("dying_relu_bias")  # one run: nothing to race
    assert not panel.compare_button.isVisibleTo(panel)
