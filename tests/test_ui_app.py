"""`playground gui … --steps N --screenshot OUT.png`: the window trains, and the picture saved is it."""

import subprocess
import sys

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage

from playground.experiment import Experiment
from playground.training import Trainer
from playground.ui import app, colors
from playground.ui.main_window import MainWindow


def _plane_samples(window, spacing=1.0):
    """Where the boundary heatmap shows plane points on a `spacing` lattice, away from every data
    point: [((x, y), (col, row) in window pixels)]."""
    view = window.boundary_view
    data = window.snapshot.data
    points = np.concatenate([data.train_points, data.test_points])
    e = window.snapshot.grid_extent
    out = []
    for x in np.arange(-e + spacing / 2, e, spacing):
        for y in np.arange(-e + spacing / 2, e, spacing):
            if np.min(np.hypot(points[:, 0] - x, points[:, 1] - y)) < 0.6:  # a dot drawn there
                continue
            scene = view.plot.vb.mapViewToScene(QPointF(x, y))
            at = view.graphics.mapTo(window, view.graphics.mapFromScene(scene))
            out.append(((x, y), (at.x(), at.y())))
    return out


def test_screenshot_trains_in_the_window_and_saves_it(qtbot, tmp_path, monkeypatch):
    path = tmp_path / "exp.json"
    experiment = Experiment().with_field("network.hidden", (3,))
    experiment.save(path)
    out = tmp_path / "shot.png"
    seen = {}
    shutdown = MainWindow.shutdown

    def look_then_shut(window):  # app.run closes its window: note what it showed first
        if window.snapshot is not None and "samples" not in seen:
            seen["step"], seen["samples"] = window.snapshot.step, _plane_samples(window)
        shutdown(window)

    monkeypatch.setattr(MainWindow, "shutdown", look_then_shut)
    assert app.run(str(path), steps=40, screenshot=str(out)) == 0
    image = QImage(str(out))
    assert image.width() >= 1024 and image.height() >= 640  # the whole window
    assert seen["step"] == 40
    # the picture is the run trained to step 40: each sampled pixel of the heatmap has the colour
    # the same run (same seed, in-process) gives that point, and both classes' colours are there
    trainer = Trainer(experiment)
    trainer.step(40)
    grid = trainer.snapshot().output_grid  # (G, G) P(label 1), row 0 at the bottom
    g, e = grid.shape[0], trainer.snapshot().grid_extent
    sides = set()
    for (x, y), (col, row) in seen["samples"]:
        p = grid[min(g - 1, int((y + e) / (2 * e) * g)), min(g - 1, int((x + e) / (2 * e) * g))]
        expected = colors.BOUNDARY_LUT[int(round(p * 255))][:3]
        pixel = image.pixelColor(col, row)
        assert np.abs(np.array([pixel.red(), pixel.green(), pixel.blue()], int) - expected).max() <= 12, (x, y, p)
        if abs(p - 0.5) > 0.15:
            sides.add(p > 0.5)
    assert len(seen["samples"]) > 30 and sides == {False, True}  # orange (label 0) and blue (label 1) regions


def test_bad_file_says_so_and_opens_the_default(qtbot, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = tmp_path / "shot.png"
    assert app.run(str(bad), steps=5, screenshot=str(out)) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "not valid JSON" in err and "default experiment" in err
    assert QImage(str(out)).width() > 0  # the window opened anyway


def test_cli_screenshot_offscreen(tmp_path):
    out = tmp_path / "cli.png"
    result = subprocess.run([sys.executable, "-m", "playground", "gui", "--steps", "20", "--screenshot", str(out)],
                            capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert "at step 20" in result.stdout
    assert out.stat().st_size > 10_000


def test_screenshot_at_a_size_in_presentation_mode(qtbot, tmp_path, monkeypatch):
    """--size WxH --presentation: the picture a 1280x720 projector shows, presentation mode on before training."""
    from playground.ui.main_window import MainWindow

    modes = []
    original = MainWindow.set_presentation
    monkeypatch.setattr(MainWindow, "set_presentation",
                        lambda self, on: (modes.append((on, self.snapshot.step if self.snapshot else 0)),
                                          original(self, on)))
    out = tmp_path / "projector.png"
    assert app.run(None, steps=30, screenshot=str(out), size=(1280, 720), presentation=True) == 0
    assert modes == [(True, 0)]  # switched on once, before any training step
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 720)
    plain = tmp_path / "laptop.png"
    assert app.run(None, steps=0, screenshot=str(plain), size=(1366, 768)) == 0
    assert (QImage(str(plain)).width(), QImage(str(plain)).height()) == (1366, 768) and len(modes) == 1
