"""Autosave: the run is written every few seconds while it changes, removed on a deliberate close,
survives the app being killed (a real `playground gui` subprocess), and is offered back."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from playground.experiment import Experiment
from playground.runfile import RunFileError, load_run
from playground.training import Trainer

ROOT = Path(__file__).resolve().parent.parent
from conftest import WINDOW_GRID as GRID  # noqa: E402  (the windows' grid, as make_window makes them)
EXPERIMENT = '{"seed": 9, "data": {"dataset": "moons"}, "network": {"hidden": [5, 3], "activation": "elu"}}'


@pytest.fixture
def window(make_window):
    return make_window(Experiment.from_dict({"seed": 9}))


def test_autosave_writes_while_the_run_changes_and_a_deliberate_close_removes_it(qtbot, window, tmp_path):
    path = tmp_path / "auto" / "autosave.pgrun"
    window.start_autosave(path, seconds=0.1)
    qtbot.wait(400)
    assert not path.exists()  # nothing changed yet: nothing to keep
    window.train_steps(150)
    qtbot.waitUntil(lambda: path.exists() and load_run(path).step_count == 150, timeout=10000)
    written = path.stat().st_mtime_ns
    qtbot.wait(400)
    assert path.stat().st_mtime_ns == written  # paused: not written again
    window.close()
    assert not path.exists()


def test_killed_app_leaves_its_autosave_and_the_next_start_offers_it_back(qtbot, window, tmp_path):
    exp = tmp_path / "e.json"
    exp.write_text(EXPERIMENT)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "QT_QPA_PLATFORM": "offscreen",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHONPATH": str(ROOT)}
    app = subprocess.Popen([sys.executable, "-m", "playground", "gui", str(exp), "--steps", "400"],
                           env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    autosave = tmp_path / "data" / "playground" / "autosave.pgrun"
    try:
        deadline = time.monotonic() + 120
        step = None
        while time.monotonic() < deadline and step != 400:
            time.sleep(0.5)
            try:
                step = load_run(autosave).step_count if autosave.exists() else None
            except RunFileError:  # never partial: os.replace; but say so if it ever is
                pytest.fail("an autosave was read half-written")
        assert step == 400, app.stderr.read1().decode() if app.poll() is not None else "no autosave at 400"
    finally:
        app.kill()  # as a crash would: no closeEvent, nothing cleaned up
        app.wait(10)
    assert autosave.exists()
    straight = Trainer(Experiment.from_dict(__import__("json").loads(EXPERIMENT)), grid_size=GRID)
    straight.step(400)
    np.testing.assert_allclose(load_run(autosave, grid_size=GRID).model.flat_state(), straight.model.flat_state(),
                               atol=1e-6)

    started = []
    box = window.offer_autosave(autosave, then=lambda: started.append(True))
    assert "step 400" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: window.snapshot.step == 400, timeout=20000)
    assert started and window.isWindowModified() and "default experiment" in window.windowTitle()
    assert window.snapshot.experiment.data.dataset == "moons"


def test_discarding_the_offer_removes_the_copy_and_a_broken_one_is_removed(qtbot, window, tmp_path):
    trainer = Trainer(Experiment(), grid_size=GRID)
    trainer.step(20)
    from playground.runfile import save_run

    path = save_run(trainer, tmp_path / "autosave.pgrun")
    box = window.offer_autosave(path)
    box.button(QMessageBox.StandardButton.Discard).click()
    assert not path.exists() and window.snapshot.step == 0
    path.write_bytes(b"garbage")
    started = []
    assert window.offer_autosave(path, then=lambda: started.append(True)) is None
    assert not path.exists() and started and "could not be read" in window.statusBar().currentMessage()
