"""The app path never imports torch: train, export, the window (with its training child) and examples.

torch is installed for the tests, so "it ran" proves nothing by itself. Each command runs in a fresh
interpreter whose sitecustomize (on PYTHONPATH, so the window's training child gets it too) puts a
finder first on sys.meta_path: any `import torch`, even one caught by a try/except, fails and is
written to a log with the stack that asked for it.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GUARD = textwrap.dedent('''
    import os, sys, traceback

    class NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                with open(os.environ["NO_TORCH_LOG"], "a") as log:
                    log.write(f"pid {os.getpid()} imported {name}:\\n" + "".join(traceback.format_stack()))
                raise ImportError(f"{name} is blocked by tests/test_no_torch.py")
            return None

    sys.meta_path.insert(0, NoTorch())
    with open(os.environ["NO_TORCH_LOG"] + ".pids", "a") as pids:  # which processes ran guarded
        pids.write(f"{os.getpid()}\\n")
''')


@pytest.fixture
def guarded(tmp_path):
    """Run `python -m playground ARGS` (or `python -c CODE`) with torch blocked; returns (result, log)."""
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "torch-imports.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guard_dir), str(ROOT)]),
           "NO_TORCH_LOG": str(log), "QT_QPA_PLATFORM": "offscreen"}

    def run(*args, code=None):
        command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "playground", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
        run.guarded_pids = len(set(Path(f"{log}.pids").read_text().split()))
        return result, (log.read_text() if log.exists() else "")

    return run


def test_the_guard_really_blocks_torch(guarded):
    result, log = guarded(code="import torch")
    assert result.returncode == 1 and "blocked by tests/test_no_torch.py" in result.stderr
    assert "imported torch" in log


def test_train_imports_no_torch(guarded):
    result, log = guarded("train", str(ROOT / "resources/experiments/dying_relu_fixed.json"), "--steps", "300", "--json")
    assert result.returncode == 0, result.stderr
    assert '"steps": 300' in result.stdout
    assert log == ""


def test_export_imports_no_torch(guarded, tmp_path):
    out = tmp_path / "run.gif"
    result, log = guarded("export", str(ROOT / "resources/experiments/xor_tanh.toml"), "-o", str(out),
                          "--steps", "40", "--every", "10")
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000
    assert log == ""


def test_the_window_and_its_training_child_import_no_torch(guarded, tmp_path):
    out = tmp_path / "shot.png"
    result, log = guarded("spiral_relu", "--steps", "50", "--screenshot", str(out), "--size", "1366x768")
    assert result.returncode == 0, result.stderr
    assert "(1366x768) at step 50" in result.stdout  # trained in the child process, drawn in the window
    assert guarded.guarded_pids == 2  # the window's process and its training child both ran guarded
    assert log == ""


def test_importing_the_window_and_listing_examples_import_no_torch(guarded):
    result, log = guarded(code="import playground.ui.main_window, playground.cli, playground.bundled; "
                               "print(len(playground.bundled.example_files()))")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 7
    assert log == ""


def test_bench_without_torch_says_so_in_one_line(guarded):
    result, _ = guarded("bench", "--quick", "--json")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs torch" in lines[0] and "pip install torch==2.13.0" in lines[0]
