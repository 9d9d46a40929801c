"""Exports drawn by the app's own views, offscreen: GIF / MP4 / PNG from the command line and the Exporter."""

import json

import imageio.v2 as imageio_v2
import imageio.v3 as iio
import numpy as np
import pytest

from playground import cli
from playground.experiment import Data, Experiment, Network
from playground.export import Exporter, ExportOptions, check_frame_count
from playground.recording import Recorder
from playground.training import Trainer
from playground.writers import ExportError

EXP = {"seed": 4, "data": {"dataset": "circle", "n_points": 120},
       "network": {"hidden": [5], "activation": "tanh"}, "training": {"learning_rate": 0.3}}


@pytest.fixture
def experiment_file(tmp_path):
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(EXP))
    return path


def map_area(frame):
    """The decision map's part of a 120-pixel boundary frame (clear of axes, colour bar and caption)."""
    h, w = frame.shape[:2]
    return frame[int(0.15 * h):int(0.6 * h), int(0.3 * w):int(0.6 * w), :3].astype(int)


def test_cli_writes_a_gif_whose_frames_follow_training(experiment_file, tmp_path, qapp, capsys):
    out = tmp_path / "run.gif"
    code = cli.main(["export", str(experiment_file), "-o", str(out), "--steps", "40", "--every", "10",
                     "--size", "120x120", "--fps", "10"])
    assert code == 0, capsys.readouterr().err
    frames = iio.imread(out, index=None)
    assert frames.shape[:3] == (5, 120, 120)  # steps 0, 10, 20, 30, 40
    assert iio.immeta(out, index=0)["loop"] == 0 and iio.immeta(out, index=0)["duration"] == 100
    # the map changes as the network learns, most between the first and the last frame
    changes = [np.abs(map_area(frames[i + 1]) - map_area(frames[i])).mean() for i in range(4)]
    assert all(c > 0.5 for c in changes), changes
    assert np.abs(map_area(frames[-1]) - map_area(frames[0])).mean() > 5
    assert "run.gif: 5 frames, 120x120" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_cli_writes_an_mp4_with_every_frame(experiment_file, tmp_path, qapp, capsys):
    out = tmp_path / "run.mp4"
    code = cli.main(["export", str(experiment_file), "-o", str(out), "--steps", "35", "--every", "10",
                     "--size", "121x96", "--view", "network", "--fps", "12"])
    assert code == 0, capsys.readouterr().err
    assert "MP4 needs even sides; writing 122x96" in capsys.readouterr().err
    reader = imageio_v2.get_reader(out, "ffmpeg")
    try:
        frames = [f for f in reader]
        fps = reader.get_meta_data()["fps"]
    finally:
        reader.close()
    assert len(frames) == 5  # 0, 10, 20, 30 and the final step 35
    assert frames[0].shape == (96, 122, 3) and fps == 12
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 0.5


def boundary_png_and_widget(tmp_path, size=(320, 300)):  # no scaling: pixels map 1:1
    """Train a little, export a PNG of the boundary (no caption); also the renderer, to map coordinates."""
    from playground.ui.export_render import FrameRenderer

    trainer = Trainer(Experiment.from_dict(EXP), grid_size=40)
    recorder = Recorder(every=50)
    recorder.train(trainer, 150)
    options = ExportOptions(format="png", view="boundary", size=size, caption=False, grid_size=40)
    renderer = FrameRenderer("boundary", size, caption=False)
    result = Exporter(recorder.recording(trainer.history()), tmp_path / "b.png", options, renderer.render).run()
    return trainer.snapshot(), iio.imread(result.path), renderer


def test_png_of_the_boundary_shows_the_snapshots_sign(tmp_path, qapp):
    from PySide6.QtCore import QPointF

    snapshot, png, renderer = boundary_png_and_widget(tmp_path)
    assert png.shape[:2] == (300, 320)
    view = renderer.widget
    axis = snapshot.grid_axis()
    points = np.concatenate([snapshot.data.train_points])
    checked = {0: 0, 1: 0}
    for i in range(2, len(axis) - 2, 3):
        for j in range(2, len(axis) - 2, 3):
            x, y, p = float(axis[j]), float(axis[i]), float(snapshot.output_grid[i, j])
            if abs(p - 0.5) < 0.2 or np.min(np.hypot(*(points - (x, y)).T)) < 0.8:
                continue  # near the boundary, or under a data point
            scene = view.plot.vb.mapViewToScene(QPointF(x, y))
            pos = view.graphics.mapTo(view, view.graphics.mapFromScene(scene))
            r, _, b = png[pos.y(), pos.x(), :3].astype(int)
            assert (b > r) == (p > 0.5), (x, y, p, png[pos.y(), pos.x()])  # blue is label 1, orange 0
            checked[int(p > 0.5)] += 1
    assert checked[0] >= 5 and checked[1] >= 5, checked
    renderer.close()


@pytest.mark.parametrize("size", [(1100, 700), (500, 400)])  # 1:1, and a thumbnail of the least layout
def test_the_window_view_is_the_windows_own_picture(qapp, size):
    """The "window" view draws the window's panels (window_panels.WindowPicture), not a MainWindow:
    its frame is pixel for pixel a real MainWindow's, fed the same snapshot (also after the
    settings change mid-run)."""
    from playground.recording import Replay
    from playground.ui.export_render import FrameRenderer
    from playground.ui.main_window import MainWindow

    snapshots = []
    for exp in (EXP, {**EXP, "network": {"hidden": [3, 2], "activation": "relu"}}):  # the settings change
        trainer = Trainer(Experiment.from_dict(exp), grid_size=20)
        recorder = Recorder(every=10)
        recorder.train(trainer, 20)
        replay = Replay(recorder.recording(), 20)
        snapshots += [replay.snapshot(0), replay.snapshot(len(recorder) - 1)]
    picture = FrameRenderer("window", size, caption=True)
    window = MainWindow(snapshots[0].experiment, start_worker=False)  # no child: a display only
    window.menuBar().hide()
    drawn = FrameRenderer("window", size, caption=True, widget=window)
    try:
        for snapshot in snapshots:
            if snapshot.experiment != window.experiment:
                window.experiment = snapshot.experiment  # what set_experiment does, without a worker
            window.revert_fields()
            assert np.array_equal(picture.render(snapshot), drawn.render(snapshot)), snapshot.step
    finally:
        picture.close()
        drawn.close()
        window.shutdown()
        window.close()


def test_network_view_marks_dead_neurons(tmp_path, qapp):
    from playground.ui.export_render import export_recording

    exp = Experiment(seed=1, data=Data(dataset="circle", n_points=100),
                     network=Network(hidden=(4, 4), activation="relu", bias_init=-10.0))
    trainer = Trainer(exp, grid_size=20)
    assert trainer.snapshot().counts()["dead"] == 8  # every hidden bias starts at -10: no ReLU ever fires
    recorder = Recorder()
    recorder.train(trainer, 3)
    export_recording(recorder.recording(), tmp_path / "n.png",
                     ExportOptions(format="png", view="network", size=(400, 300), grid_size=20))
    png = iio.imread(tmp_path / "n.png")[..., :3].astype(int)
    red = (np.abs(png - (0xe0, 0x00, 0x1b)).sum(axis=2) < 60).sum()  # colors.STATE_COLORS dead
    assert red > 2000, red  # eight boxes and crosses in the dead colour (4,509 px when written)
    caption = png[-14:]  # the caption band: dark text on the view's background
    assert (caption.sum(axis=2) < 200).sum() > 20


def test_cancel_and_failure_leave_nothing(tmp_path, qapp):
    trainer = Trainer(Experiment.from_dict(EXP), grid_size=20)
    recorder = Recorder(every=5)
    recorder.train(trainer, 30)
    recording = recorder.recording()
    blank = lambda snapshot: np.zeros((64, 64, 3), np.uint8)  # noqa: E731
    for fmt in ("gif", "mp4"):
        exporter = Exporter(recording, tmp_path / f"c.{fmt}", ExportOptions(format=fmt, size=(64, 64)), blank)
        assert exporter.total == 7
        exporter.step()
        exporter.step()
        exporter.cancel()
    calls = []

    def failing(snapshot):
        calls.append(snapshot.step)
        if len(calls) > 4:
            raise RuntimeError("boom")
        return np.zeros((64, 64, 3), np.uint8)

    exporter = Exporter(recording, tmp_path / "f.gif", ExportOptions(format="gif", size=(64, 64)), failing)
    with pytest.raises(RuntimeError, match="boom"):
        exporter.run()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match="no recorded step in the range 100..200"):
        Exporter(recording, tmp_path / "r.gif", ExportOptions(first_step=100, last_step=200), blank)


def test_range_and_every_pick_frames(tmp_path, qapp):
    trainer = Trainer(Experiment.from_dict(EXP), grid_size=16)
    recorder = Recorder(every=5)
    recorder.train(trainer, 50)
    recording = recorder.recording()
    seen = []

    def render(snapshot):
        seen.append(snapshot.step)
        return np.full((32, 32, 3), snapshot.step, np.uint8)

    options = ExportOptions(format="mp4", size=(32, 32), every=2, first_step=10, last_step=42)
    result = Exporter(recording, tmp_path / "r.mp4", options, render).run()
    assert seen == [10, 20, 30, 40] and result.frames == 4


def test_a_gif_too_big_to_hold_in_memory_is_refused_before_training(experiment_file, tmp_path, qapp, capsys):
    out = tmp_path / "huge.gif"
    code = cli.main(["export", str(experiment_file), "-o", str(out), "--steps", "2000", "--every", "1",
                     "--size", "2000x2000"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert "a 2000x2000 GIF of 2001 frames would need ~16.0 GB" in err and "at most 187 frames" in err
    assert len(err.splitlines()) == 1
    # the same frames as MP4 are written as they go: only the frame count limits them
    with pytest.raises(ExportError, match="at most 187 frames"):
        check_frame_count(2001, ExportOptions(format="gif", size=(2000, 2000)))
    check_frame_count(2001, ExportOptions(format="mp4", size=(2000, 2000)))
