"""The window never silently stops: a failing drawing step, a training process that keeps failing,
and the divergence banner's one-click rate (measured to train on exploding.json)."""

import logging
import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from playground.divergence import candidates, find_stable_rate
from playground.experiment import Experiment
from playground.training import Trainer

ROOT = Path(__file__).resolve().parents[1]


def drawn_steps(window) -> list[int]:
    steps = []
    window.sigDrawn.connect(lambda snapshot: steps.append(snapshot.step))
    return steps


@pytest.mark.parametrize("where", ["boundary stage", "a chart part", "preparing the links"])
def test_a_failing_drawing_step_is_logged_dropped_and_drawing_goes_on(qtbot, make_window, caplog, where):
    window = make_window()

    def broken(*args, **kwargs):
        raise ValueError("a view's bug")

    if where == "boundary stage":
        window.boundary_view.show_snapshot = broken
    elif where == "a chart part":
        window.charts.prepare = lambda snapshot: [broken]
    else:
        window.network_view.prepare_links = broken
    steps = drawn_steps(window)
    with caplog.at_level(logging.ERROR, logger="playground.ui.main_window"):
        window.set_playing(True)
        qtbot.waitUntil(lambda: len(steps) >= 5 and steps[-1] > steps[0], timeout=30000)  # frame after frame
        window.set_playing(False)
    assert steps == sorted(steps)
    assert "A drawing step failed (ValueError: a view's bug); it was skipped and drawing goes on" in \
        window.statusBar().currentMessage()
    logged = [r for r in caplog.records if "a drawing step failed" in r.getMessage()]
    assert len(logged) == 1 and "ValueError: a view's bug" in logged[0].getMessage()  # once, not every frame
    # the views that work still show the newest snapshot
    qtbot.waitUntil(lambda: f"Step <b>{window.snapshot.step:,}</b>" in window.run_bar.counter.text(), timeout=5000)


def test_the_banners_rate_is_measured_to_train_on_exploding_json(qtbot, make_window):
    experiment = Experiment.load(ROOT / "resources/experiments/exploding.json")
    trial = find_stable_rate(experiment)  # what the window's trial must find and offer
    assert trial.rate is not None
    window = make_window(experiment)
    window.set_playing(True)
    qtbot.waitUntil(lambda: window.snapshot.diverged, timeout=30000)
    qtbot.waitUntil(lambda: window.banner.lower_button.text() == f"Learning rate → {trial.rate:g} and reset",
                    timeout=30000)
    assert trial.summary() in window.banner.message.text()
    qtbot.mouseClick(window.banner.lower_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.snapshot.step == 0 and not window.snapshot.diverged, timeout=20000)
    assert window.experiment.training.learning_rate == trial.rate
    window.train_steps(2000)  # four times the trial: the live window's run does not diverge
    qtbot.waitUntil(lambda: window.snapshot.step == 2000, timeout=60000)
    assert not window.snapshot.diverged and window.snapshot.train_loss < 0.5
    assert not window.banner.isVisible()


def test_the_trial_is_what_a_reset_gives_and_it_says_when_no_rate_is_safe():
    experiment = Experiment.load(ROOT / "resources/experiments/exploding.json")
    assert candidates(0.05) == [0.005, 0.002, 0.0005, 5e-05]
    trial = find_stable_rate(experiment)
    assert trial.tried[-1] == (trial.rate, None)  # the first rate that trained is the one offered
    for rate, step in trial.tried:  # each verdict is what a reset at that rate gives
        run = Trainer(experiment.with_field("training.learning_rate", rate), grid_size=2, engine="numpy")
        run.step(trial.steps)
        assert run.diverged == (step is not None)
        if step is not None:
            assert run.step_count == step  # the step the trial reported
    hopeless = experiment.with_field("network.init_gain", 10.0).with_field("training.learning_rate", 10.0)
    trial = find_stable_rate(hopeless, steps=50)
    assert trial.rate is None and trial.offered == 0.01
    assert "a lower rate may diverge again" in trial.summary()


def test_a_window_whose_training_process_keeps_failing_says_so_and_can_try_again(qtbot, make_window):
    window = make_window()
    worker = window.worker
    worker.restart_delays_s = (0.05,)  # one restart in a row, then give up
    worker.stable_s = 1e9
    window.set_playing(True)
    first = worker._child.process
    os.kill(first.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: worker._child.process is not first and "starting it again" in
                    window.statusBar().currentMessage(), timeout=30000)
    qtbot.waitUntil(lambda: not window.run_bar.play_button.isChecked(), timeout=10000)  # Play released
    qtbot.waitUntil(lambda: worker.heartbeat_at is not None, timeout=60000)
    worker._child.process.kill()
    qtbot.waitUntil(window.stopped_banner.isVisible, timeout=30000)
    assert "Training has stopped" in window.stopped_banner.message.text()
    assert "2 times in a row" in window.stopped_banner.message.text()
    assert not window.run_bar.play_button.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_Space)  # Play with nothing behind it: released at once
    qtbot.waitUntil(lambda: not window.run_bar.play_button.isChecked(), timeout=5000)
    qtbot.wait(500)
    assert window.stopped_banner.isVisible()  # the message stays (the status bar's went after 15 s)
    qtbot.mouseClick(window.stopped_banner.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.stopped_banner.isVisible(), timeout=60000)  # a new child's snapshot
    window.train_steps(7)
    qtbot.waitUntil(lambda: window.snapshot.step == 7, timeout=30000)
