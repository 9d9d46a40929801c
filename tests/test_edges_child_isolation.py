"""The training child imports the playground package the window imported, the standard library
and installed packages: never a module lying in the folder where `playground` was started."""

import os
import subprocess
import sys
from pathlib import Path

import playground
from playground import train_server
from playground.experiment import Experiment
from playground.ui.process_worker import ProcessTrainingWorker

PACKAGE = Path(playground.__file__).resolve().parent


def plant(folder: Path) -> Path:
    """A queue.py and a numpy.py that leave a marker file when imported, and a fake playground."""
    markers = folder / "markers"
    markers.mkdir()
    for name in ("queue", "numpy", "secrets"):
        (folder / f"{name}.py").write_text(
            f"open({str(markers / name)!r}, 'w').write('imported')\nraise SystemExit('planted {name} ran')\n")
    (folder / "playground").mkdir()
    (folder / "playground" / "__init__.py").write_text(
        f"open({str(markers / 'playground')!r}, 'w').write('imported')\n")
    return markers


def test_the_child_bootstrap_imports_only_the_parents_package_and_the_stdlib(tmp_path, monkeypatch):
    markers = plant(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # isolation ignores it as well
    command = train_server.child_command()
    probe = command[3].replace("_child_main()", "import queue, numpy\n"
                               "print(sys.modules['playground.train_server'].__file__)\n"
                               "print(queue.__file__); print(numpy.__file__)")
    done = subprocess.run([*command[:3], probe, *command[4:]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    package_file, queue_file, numpy_file = done.stdout.split()
    assert Path(package_file).resolve() == PACKAGE / "train_server.py"  # this checkout's copy, not an installed one
    assert Path(queue_file).parent != tmp_path and Path(numpy_file).parent.parent != tmp_path
    assert list(markers.iterdir()) == []


def test_a_training_child_started_in_a_folder_with_planted_modules_runs_none_of_them(
        qtbot, tmp_path, monkeypatch, start_worker):
    """As `playground gui` started in that folder: the current folder is first on the parent's path."""
    markers = plant(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # `python -m playground` puts the folder first
    monkeypatch.setattr(sys, "path", ["", *sys.path])
    worker = ProcessTrainingWorker(Experiment(), grid_size=10)
    try:
        seen = start_worker(worker)
        with qtbot.waitSignal(worker.sigSnapshot, timeout=20000, check_params_cb=lambda s: s.step == 5):
            worker.step(5)
        assert seen[-1].step == 5
    finally:
        worker.stop()
    assert worker._child.process.returncode == 0
    assert list(markers.iterdir()) == [], [p.name for p in markers.iterdir()]


def test_the_child_finds_packages_from_the_parents_path_outside_the_current_folder(tmp_path, monkeypatch):
    """A package the parent can import from an extra path entry (a virtualenv, PYTHONPATH) is found."""
    extra = tmp_path / "site"
    extra.mkdir()
    (extra / "extra_package_for_test.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(extra))
    monkeypatch.chdir(os.path.dirname(PACKAGE))  # a developer in the checkout: not a reason to drop entries
    command = train_server.child_command()
    probe = command[3].replace("_child_main()", "import extra_package_for_test as e; print(e.VALUE)")
    done = subprocess.run([*command[:3], probe, *command[4:]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "42", done.stderr
