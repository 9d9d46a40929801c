"""The real window, driven offscreen: run controls, live edits, dead neurons, divergence, files.
Training runs in the window's child process, as in `playground gui` (conftest's make_window)."""

import json

import numpy as np
from PySide6.QtWidgets import QMessageBox
import pytest
from PySide6.QtCore import Qt, QTimer

from playground.experiment import Experiment
from playground.health import NeuronState
from playground.training import Trainer
from playground.ui.controls import SPEEDS
from playground.ui.main_window import MainWindow

from conftest import WINDOW_GRID as GRID


def _grab(widget) -> np.ndarray:
    image = widget.grab().toImage()
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, :4 * w].copy()


def _wait_step(qtbot, window, predicate, timeout=10000):
    qtbot.waitUntil(lambda: window.snapshot is not None and predicate(window.snapshot), timeout=timeout)
    return window.snapshot


def _pause(qtbot, window, press=None) -> int:
    """Pause (or `press` what pauses) and wait for the child's answer: the step it paused at. That
    step's snapshot comes before the answer and nothing trained comes after it, so once it is drawn
    the window shows where training stopped (no frame sent before the pause can arrive later)."""
    with qtbot.waitSignal(window.worker.sigPaused, timeout=10000) as paused:
        (press or (lambda: window.set_playing(False)))()
    step = paused.args[0]
    qtbot.waitUntil(lambda: window.snapshot.step == step, timeout=10000)
    return step


def _settle(qtbot, window):
    """Ask for a fresh snapshot and wait until it is drawn. Only for a worker that is not training
    (paused and acknowledged, or its asked-for steps drawn): while it trains, the snapshot drawn
    first may be one sent before the request."""
    with qtbot.waitSignal(window.sigDrawn, timeout=10000):
        window.worker.request_snapshot()
    return window.snapshot


def test_play_trains_and_pause_stops(qtbot, make_window):
    window = make_window()
    before = _grab(window.boundary_view)
    assert window.snapshot.step == 0
    qtbot.mouseClick(window.run_bar.play_button, Qt.MouseButton.LeftButton)
    snapshot = _wait_step(qtbot, window, lambda s: s.step > 200)
    # the counter moved (the window draws a snapshot in steps, just after it arrives)
    qtbot.waitUntil(lambda: f"Step <b>{window.snapshot.step:,}</b>" in window.run_bar.counter.text())
    # the boundary moved: its picture and, repainted, its pixels (a few: on the offscreen 800 x 800
    # screen the window is at its least and the heatmap ~50 px across)
    first = window.boundary_view.image.image.copy()
    qtbot.waitUntil(lambda: np.abs(window.boundary_view.image.image - first).mean() > 0.02)
    qtbot.waitUntil(lambda: np.mean(before != _grab(window.boundary_view)) > 0.002)
    stopped = _pause(qtbot, window, lambda: qtbot.mouseClick(window.run_bar.play_button, Qt.MouseButton.LeftButton))
    assert not window.run_bar.play_button.isChecked()
    assert stopped >= snapshot.step
    assert _settle(qtbot, window).step == stopped  # paused: a fresh snapshot is still at that step
    assert window.worker.run_state()[1]["counters"][0] == stopped  # and so is the run in the child


def test_keyboard_step_and_reset(qtbot, make_window):
    window = make_window()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_S)
    _wait_step(qtbot, window, lambda s: s.step == 1)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    _wait_step(qtbot, window, lambda s: s.step == 2)
    assert _settle(qtbot, window).step == 2  # exactly one step each
    qtbot.keyClick(window, Qt.Key.Key_Space)
    _wait_step(qtbot, window, lambda s: s.step > 50)
    qtbot.keyClick(window, Qt.Key.Key_R)
    _pause(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_Space))  # pause, then the reset shows step 0
    window.reset()
    snapshot = _wait_step(qtbot, window, lambda s: s.step == 0)
    assert snapshot.epoch == 0.0 and len(snapshot.history) == 1


def test_learning_rate_changes_mid_run_without_reset(qtbot, make_window):
    window = make_window()
    applied = []
    window.worker.sigApplied.connect(applied.append)
    window.set_playing(True)
    _wait_step(qtbot, window, lambda s: s.step > 100)
    combo = window.hyper_panel.learning_rate
    combo.lineEdit().selectAll()
    qtbot.keyClicks(combo.lineEdit(), "0.1")
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Return)
    assert window.experiment.training.learning_rate == 0.1
    at_change = window.snapshot.step
    snapshot = _wait_step(qtbot, window, lambda s: s.experiment.training.learning_rate == 0.1 and s.step > at_change + 50)
    assert applied == ["hot"]
    assert snapshot.history.steps[0] == 0  # one continuous run, not a new one
    window.set_playing(False)


def test_changing_the_activation_rebuilds_with_the_same_seed(qtbot, make_window):
    window = make_window()
    applied = []
    window.worker.sigApplied.connect(applied.append)
    window.worker.step(30)
    _wait_step(qtbot, window, lambda s: s.step == 30)
    chooser = window.activation_view.chooser
    chooser.activated.emit(chooser.findData("relu"))
    snapshot = _wait_step(qtbot, window, lambda s: s.layer_activations == ("relu", "relu"))
    assert applied == ["model"] and snapshot.step == 0
    expected = Trainer(window.experiment, grid_size=GRID).snapshot()
    assert np.array_equal(snapshot.weights[0][0], expected.weights[0][0])  # comparable starting weights
    assert window.network_view.findChild(object, "activation_layer_1").text() == "ReLU"


def test_architecture_buttons_rebuild_the_network(qtbot, make_window):
    window = make_window()
    window.network_view.controls.edit_units(0, +1)
    window.network_view.controls.edit_layers(+1)
    snapshot = _wait_step(qtbot, window, lambda s: s.experiment.network.hidden == (5, 2, 2))
    assert [len(s) for s in snapshot.states] == [5, 2, 2]
    qtbot.waitUntil(lambda: window.charts.lines["grads"].count() == 4)  # charts redraw a few times a second


def test_dead_neurons_are_drawn_as_dead_in_the_window(qtbot, make_window):
    experiment = (Experiment().with_field("network.activation", "relu")
                  .with_field("network.bias_init", -10.0))
    window = make_window(experiment)
    states = window.snapshot.states[0]
    dead = np.flatnonzero(states == NeuronState.DEAD)
    assert len(dead) >= 1
    view = window.network_view
    image = view.grab().toImage()
    for k in range(len(states)):
        rect = view.neuron_rect(1, k).adjusted(-1, -1, 1, 1).toRect()
        edge = image.pixelColor(rect.left(), rect.center().y())  # the outline's left side
        is_red = edge.red() > 180 and edge.green() < 60 and edge.blue() < 80
        assert is_red == (k in dead), (k, edge.name())
    assert window.snapshot.history.dead_fraction[-1] > 0


def _diverging():
    # SCIENCE.md reference 4: deep ReLU at 2× He std with SGD goes non-finite within a few steps
    return (Experiment().with_field("network.hidden", (32,) * 8).with_field("network.activation", "relu")
            .with_field("network.init_gain", 2.0).with_field("training.learning_rate", 0.5)
            .with_field("training.loss", "bce"))  # tanh_mse's gradient vanishes as its tanh output saturates


def test_divergence_says_so_pauses_and_stays_responsive(qtbot, make_window):
    window = make_window(_diverging())
    window.set_playing(True)
    _wait_step(qtbot, window, lambda s: s.diverged, timeout=20000)
    qtbot.waitUntil(window.banner.isVisible)
    assert "diverged" in window.banner.message.text()
    qtbot.waitUntil(lambda: not window.run_bar.play_button.isChecked())
    ticks = []
    QTimer.singleShot(10, lambda: ticks.append(1))
    qtbot.waitUntil(lambda: bool(ticks), timeout=1000)  # the event loop still runs
    qtbot.keyClick(window, Qt.Key.Key_Space)  # play on a diverged run: nothing to train, button back
    qtbot.waitUntil(lambda: not window.run_bar.play_button.isChecked())
    experiment = window.experiment
    qtbot.mouseClick(window.banner.lower_button, Qt.MouseButton.LeftButton)
    snapshot = _wait_step(qtbot, window, lambda s: s.step == 0 and not s.diverged)
    # the largest rate a trial found to train from the same start (0.05, 0.02, 0.005 diverge again)
    assert window.experiment.training.learning_rate == pytest.approx(0.0005)
    assert window.experiment.network == experiment.network  # the rest of the experiment is kept
    qtbot.waitUntil(lambda: not window.banner.isVisible())  # drawn in steps after the snapshot arrives
    assert snapshot.experiment.training.learning_rate == pytest.approx(0.0005)


def test_window_draws_and_takes_input_while_training(qtbot, make_window):
    """While the child trains, the window goes on drawing new steps and a key press still pauses it.
    (How late its timers fire while training is measured by `playground bench`, not asserted here.)"""
    window = make_window(Experiment().with_field("network.hidden", (8, 8)))
    drawn = []
    window.sigDrawn.connect(lambda snapshot: drawn.append(snapshot.step))
    window.set_playing(True)
    qtbot.waitUntil(lambda: len(set(drawn)) >= 5, timeout=20000)  # frame after frame, each a later step
    assert drawn == sorted(drawn)
    stopped = _pause(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_Space))
    assert stopped >= drawn[-1] > 0 and not window.run_bar.play_button.isChecked()


def test_refused_edit_explains_and_keeps_the_experiment(qtbot, make_window):
    window = make_window()
    experiment = window.experiment
    assert not window.edit("training.learning_rate", 50.0)
    assert "training.learning_rate" in window.statusBar().currentMessage()
    assert window.experiment == experiment
    assert window.hyper_panel.learning_rate.currentText() == "0.03"


def test_open_save_and_bad_files(qtbot, make_window, tmp_path):
    window = make_window()
    good = tmp_path / "exp.json"
    Experiment().with_field("data.dataset", "spiral").with_field("seed", 7).save(good)
    assert window.open_experiment(str(good))
    _wait_step(qtbot, window, lambda s: s.experiment.data.dataset == "spiral")
    assert window.data_panel.datasets.checkedButton().text() == "spiral"
    bad = tmp_path / "bad.json"
    bad.write_text('{"training": {"learning_rate": -1}}')
    assert not window.open_experiment(str(bad))
    assert "training.learning_rate" in window.last_warning.text()
    window.last_warning.close()
    assert window.experiment.data.dataset == "spiral"
    out = tmp_path / "saved.json"
    assert window.save_experiment(str(out))
    assert Experiment.load(out) == window.experiment
    assert json.loads(out.read_text())["seed"] == 7


def test_load_csv_points(qtbot, make_window, tmp_path):
    window = make_window()
    junk = tmp_path / "junk.csv"
    junk.write_text("hello,world\n1,2\n")
    assert window.import_csv(str(junk)) is False
    assert "usable rows" in window.last_warning.text()
    window.last_warning.close()
    rows = [f"{x},{-x},{int(x > 0)}" for x in np.linspace(-3, 3, 20)]
    good = tmp_path / "points.csv"
    good.write_text("x,y,label\n" + "\n".join(rows) + "\nnot,a,row\n")
    question = window.import_csv(str(good))  # the junk line is named, and skipping it is asked
    assert "line 22: not,a,row" in question.text()
    question.button(QMessageBox.StandardButton.Ignore).click()
    snapshot = _wait_step(qtbot, window, lambda s: s.experiment.data.points is not None)
    assert len(snapshot.data.train_points) + len(snapshot.data.test_points) == 20
    assert "skipped" in window.statusBar().currentMessage()
    window.data_panel.datasets.button(0).click()  # back to a built-in dataset
    _wait_step(qtbot, window, lambda s: s.experiment.data.points is None)


def test_show_snapshot_without_a_worker(qtbot):
    # a window without a training process: the whole layout drawn from a snapshot it is given
    window = MainWindow(Experiment(), start_worker=False)
    qtbot.addWidget(window)
    trainer = Trainer(Experiment(), grid_size=GRID)
    trainer.step(20)
    window.show_snapshot(trainer.snapshot())
    assert "20" in window.run_bar.counter.text()
    assert not window.grab().isNull()


def test_presentation_mode_enlarges_fonts_and_returns(qtbot, make_window):
    window = make_window()
    normal = window.font().pointSizeF()
    window.presentation_action.trigger()
    assert window.font().pointSizeF() > normal * 1.2 and window.isFullScreen()
    # the Data tab widens to what its panel asks for at the bigger font: no sideways scrolling
    # (offscreen's screen is 800 px wide, so the window is measured at a projector's 1280 px)
    window.showNormal()
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.width() == 1280)
    window.fit_side_tabs()
    tabs = window.tabs.currentWidget()
    assert tabs.viewport().width() >= window.data_panel.minimumSizeHint().width()
    window.showFullScreen()
    window.presentation_action.trigger()
    assert window.font().pointSizeF() == normal and not window.isFullScreen()


def test_training_is_recorded_for_export(qtbot, make_window):
    window = make_window()
    window.worker.step(50)
    _wait_step(qtbot, window, lambda s: s.step == 50)
    recording = window.worker.recorder.recording()
    assert recording.steps[0] == 0 and recording.steps[-1] == 50
    assert window.export_actions.export_action.text().startswith("&Export")


def test_leaky_slope_changes_live_and_the_card_follows_the_mouse(qtbot, make_window):
    window = make_window(Experiment().with_field("network.activation", "leaky_relu"))
    applied = []
    window.worker.sigApplied.connect(applied.append)
    window.worker.step(20)
    _wait_step(qtbot, window, lambda s: s.step == 20)
    view = window.activation_view
    assert view.param.isVisible() and view.param_label.text() == "negative slope s"
    view.param.setValue(0.2)
    snapshot = _wait_step(qtbot, window, lambda s: s.experiment.network.param("negative_slope") == 0.2)
    assert applied == ["hot"] and snapshot.step == 20  # same weights, same run
    network = window.network_view
    qtbot.mouseMove(network, network.neuron_rect(1, 0).center().toPoint())
    qtbot.waitUntil(network.detail.isVisible)
    assert "Layer 1, neuron 1" in network.detail.text.text()


def test_the_speed_menu_steers_the_child(qtbot, make_window):
    """The menu's pace reaches the training process (the pacing itself: test_session, on a counted clock)."""
    window = make_window()
    asked = []
    speed_of = window.worker.set_speed
    window.worker.set_speed = lambda speed: (asked.append(speed), speed_of(speed))
    window.run_bar.speed.setCurrentIndex(2)
    assert asked == [SPEEDS[2][1]] == [20.0]
    window.run_bar.speed.setCurrentIndex(len(SPEEDS) - 1)
    assert asked[-1] is None  # "max": as fast as it goes
    window.run_bar.speed.setCurrentIndex(2)
    window.set_playing(True)
    qtbot.waitUntil(lambda: window.snapshot.step >= 3, timeout=20000)  # it trains at that pace
    assert _pause(qtbot, window) >= 3


def test_a_note_from_the_worker_shows_in_the_status_bar_until_cleared(make_window):
    window = make_window()
    window.worker.sigStatus.emit("Preparing the compiled training engine")
    assert window.statusBar().currentMessage() == "Preparing the compiled training engine"
    window.worker.sigStatus.emit("")
    assert window.statusBar().currentMessage() == ""
