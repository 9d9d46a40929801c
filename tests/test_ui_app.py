"""`playground gui … --steps N --screenshot OUT.png` and the worker on its own."""

import subprocess
import sys

import numpy as np
from PySide6.QtGui import QImage

from playground.experiment import Experiment
from playground.ui import app
from playground.ui.worker import TrainingWorker


def test_screenshot_trains_in_the_window_and_saves_it(qtbot, tmp_path):
    path = tmp_path / "exp.json"
    Experiment().with_field("network.hidden", (3,)).save(path)
    out = tmp_path / "shot.png"
    assert app.run(str(path), steps=40, screenshot=str(out)) == 0
    image = QImage(str(out))
    assert image.width() >= 1024 and image.height() >= 640  # the whole window
    assert image.pixelColor(10, 10).isValid()


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


def test_worker_steps_resets_and_throttles(qtbot, start_worker):
    worker = TrainingWorker(Experiment(), grid_size=20)
    seen = start_worker(worker, timeout=10000)
    try:
        assert seen[-1].step == 0
        with qtbot.waitSignal(worker.sigSnapshot, timeout=10000, check_params_cb=lambda s: s.step == 5):
            worker.step(5)
        with qtbot.waitSignal(worker.sigRunning, timeout=5000):
            worker.play()
        qtbot.wait(500)
        with qtbot.waitSignal(worker.sigRunning, timeout=5000):
            worker.pause()
        qtbot.waitUntil(lambda: seen[-1].step > 5)
        # at most ~30 snapshots a second reach the GUI, however fast it trains
        during = [s for s in seen if s.step > 5]
        assert len(during) <= 0.5 * 30 + 5
        assert seen[-1].step > 100
        with qtbot.waitSignal(worker.sigSnapshot, timeout=5000, check_params_cb=lambda s: s.step == 0):
            worker.reset()
        with qtbot.waitSignal(worker.sigApplied, timeout=5000) as applied:
            worker.apply(Experiment().with_field("training.learning_rate", 0.1))
        assert applied.args == ["hot"]
        assert np.isfinite(seen[-1].train_loss)
    finally:
        worker.stop()
    assert not worker.isRunning()


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
