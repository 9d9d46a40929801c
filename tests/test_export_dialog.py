"""File → Export animation… / Save picture…: the dialog's choices, a background export, cancel."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QMainWindow

from playground.experiment import Data, Experiment, Network
from playground.recording import Recorder
from playground.training import Trainer
from playground.ui import export_dialog
from playground.ui.export_dialog import ExportActions, ExportDialog, write_picture
from playground.export import ExportOptions

EXP = Experiment(seed=5, data=Data(dataset="xor", n_points=120), network=Network(hidden=(4,), activation="relu"))


@pytest.fixture
def host(qtbot):
    """A window with a File menu, a recorder fed by a trainer, and the newest snapshot."""
    window = QMainWindow()
    qtbot.addWidget(window)
    trainer = Trainer(EXP, grid_size=24)
    recorder = Recorder(every=5)
    recorder.train(trainer, 60)
    state = {"snapshot": trainer.snapshot()}
    menu = window.menuBar().addMenu("&File")
    actions = ExportActions(window, menu, lambda: recorder, lambda: state["snapshot"])
    return window, actions, recorder, state


def test_menu_has_both_actions(host):
    window, actions, _, _ = host
    menu = window.menuBar().actions()[0].menu()
    texts = [a.text() for a in menu.actions()]
    assert "&Export animation…" in texts and "Save &picture…" in texts


def test_dialog_reads_back_its_choices_and_counts_frames(qtbot, tmp_path):
    steps = list(range(0, 101, 5))
    dialog = ExportDialog(steps=steps, path=str(tmp_path / "run"))
    qtbot.addWidget(dialog)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("mp4"))
    dialog.view_box.setCurrentIndex(dialog.view_box.findData("network"))
    dialog.width_box.setValue(320)
    dialog.height_box.setValue(240)
    dialog.first_box.setValue(20)
    dialog.last_box.setValue(80)
    dialog.every_box.setValue(4)
    options = dialog.options()
    assert (options.format, options.view, options.size) == ("mp4", "network", (320, 240))
    assert (options.first_step, options.last_step, options.every) == (20, 80, 4)
    assert dialog.path() == tmp_path / "run.mp4"  # the suffix follows the format
    assert dialog.frame_count() == 4  # 20, 40, 60, 80 of the 13 recorded steps in range
    assert dialog.frames_label.text().startswith("4 frames")
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("gif"))
    assert dialog.fps_box.maximum() == 50
    dialog.path_edit.setText(str(tmp_path / "run.mp4"))
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("mp4"))
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("gif"))
    assert dialog.path_edit.text().endswith("run.gif")
    dialog.path_edit.setText(str(tmp_path / "run.png"))
    dialog.accept()
    assert "does not match the format" in dialog.problem.text() and dialog.result() == 0


class CountedTime:
    """Stands for export_dialog's `time`: perf_counter() moves one second each time it is read."""

    def __init__(self):
        self.now = 0

    def perf_counter(self) -> int:
        self.now += 1
        return self.now


def test_export_runs_from_the_event_loop_and_keeps_it_responsive(host, qtbot, tmp_path, monkeypatch):
    # a turn's budget on a counted clock: 3 "seconds" read 3 times, two frames a turn, whatever
    # this machine's speed
    monkeypatch.setattr(export_dialog, "time", CountedTime())
    monkeypatch.setattr(export_dialog, "TURN_SECONDS", 3)
    window, actions, recorder, _ = host
    dialog = ExportDialog(window, steps=recorder.recording().steps, path=str(tmp_path / "live.gif"))
    dialog.width_box.setValue(160)
    dialog.height_box.setValue(160)
    events = []
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: events.append("tick"))
    heartbeat.start(0)
    job = actions.export_animation(dialog=dialog)
    assert job is not None and job.exporter.total == 13
    job.sigProgress.connect(lambda done, total: events.append(done))
    with qtbot.waitSignal(job.sigFinished, timeout=20000) as finished:
        pass
    heartbeat.stop()
    result = finished.args[0]
    frames = iio.imread(result.path, index=None)
    assert frames.shape[:3] == (13, 160, 160)
    progress = [e for e in events if e != "tick"]
    assert progress == [2, 4, 6, 8, 10, 12, 13]  # a turn drew what its budget allowed, then gave way
    turns = [i for i, e in enumerate(events) if e != "tick"]
    assert all("tick" in events[a + 1:b] for a, b in zip(turns, turns[1:]))  # other events ran between turns
    assert "Exported live.gif: 13 frames" in window.statusBar().currentMessage()


def test_cancel_leaves_nothing(host, qtbot, tmp_path):
    window, actions, recorder, _ = host
    dialog = ExportDialog(window, steps=recorder.recording().steps, path=str(tmp_path / "c.mp4"))
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("mp4"))
    job = actions.export_animation(dialog=dialog)
    with qtbot.waitSignal(job.sigProgress, timeout=10000):
        pass
    with qtbot.waitSignal(job.sigFailed, timeout=10000) as failed:
        actions.progress.canceled.emit()  # what the Cancel button does
    assert failed.args == ["cancelled"]
    assert list(tmp_path.iterdir()) == []
    assert "cancelled" in window.statusBar().currentMessage()


def test_save_picture_writes_the_current_state(host, qtbot, tmp_path):
    window, actions, _, state = host
    dialog = ExportDialog(window, picture=True, path=str(tmp_path / "pic"))
    assert dialog.format_box.count() == 1 and not dialog.fps_box.isVisibleTo(dialog)
    dialog.width_box.setValue(300)
    dialog.height_box.setValue(300)
    path = actions.save_picture(dialog=dialog)
    assert path == tmp_path / "pic.png"
    png = iio.imread(path)
    assert png.shape[:2] == (300, 300)
    same = write_picture(state["snapshot"], tmp_path / "again.png", ExportOptions(format="png", size=(300, 300)))
    np.testing.assert_array_equal(iio.imread(same), png)  # drawing is deterministic


def test_the_menu_defaults_to_about_ten_seconds_with_the_estimate_shown(host, qtbot, monkeypatch):
    window, actions, recorder, _ = host
    trainer = Trainer(EXP, grid_size=24)
    long_run = Recorder(every=10)
    long_run.train(trainer, 8000)  # 801 recorded steps: every one of them was 40 s at 20 fps
    actions._recorder = lambda: long_run
    seen = []

    def look(dialog):
        seen.append((dialog.options(), dialog.frame_count(), dialog.frames_label.text(), dialog.estimate()))
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(ExportDialog, "exec", look)
    assert actions.export_animation() is None
    options, frames, label, estimate = seen[0]
    assert options.format == "gif" and options.every == 4 and options.fps == 20
    assert frames == 201 and label.startswith("201 frames, 10.1 s, about ")
    assert 1e6 < estimate < 5e6 and f"{estimate / 1e6:.1f} MB" in label  # a few MB, said before writing


def test_the_estimate_matches_a_real_default_export(host, qtbot, tmp_path):
    # the calibration's own kind of run: the spiral example, a 600×600 boundary GIF of ~200 frames
    window, actions, _, _ = host
    spiral = Experiment.load(Path(__file__).resolve().parents[1] / "resources" / "experiments" / "spiral_relu.json")
    recorder = Recorder(every=10)
    recorder.train(Trainer(spiral, grid_size=100), 4000)
    dialog = ExportDialog(window, steps=recorder.recording().steps, path=str(tmp_path / "slide.gif"))
    assert dialog.frame_count() == 201 and dialog.options().size == (600, 600)
    actions._recorder = lambda: recorder
    job = actions.export_animation(dialog=dialog)
    with qtbot.waitSignal(job.sigFinished, timeout=120000) as finished:
        pass
    real = finished.args[0].path.stat().st_size
    print(f"estimate {dialog.estimate() / 1e6:.2f} MB, real {real / 1e6:.2f} MB")
    assert 0.6 * dialog.estimate() < real < 1.25 * dialog.estimate()
