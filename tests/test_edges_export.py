"""Stopping an export and writing onto a full disk: one line, the right exit code, no file left behind.

The signal tests run the real command line and signal it while it renders (after it says
"rendering" on stderr), ten times for SIGTERM and ten for SIGINT, GIF and MP4 in turn.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from playground import cli, writers
from playground.writers import AtomicFile, remove_stale_parts

ROOT = Path(__file__).resolve().parents[1]
# ~300 frames of 120x120: training ~0.5 s, rendering ~1-2 s on the 2-core machine
EXPERIMENT = {"seed": 1, "data": {"dataset": "spiral", "n_points": 200},
              "network": {"hidden": [8, 8], "activation": "relu"}}
ARGS = ["--size", "120x120", "--steps", "3000", "--every", "10"]


@pytest.fixture
def experiment_file(tmp_path):
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(EXPERIMENT))
    return path


# the numpy engine: no numba to load in each of the two dozen processes (the engine is not under test)
ENV = {**os.environ, "PLAYGROUND_ENGINE": "numpy"}


def start_export(experiment_file, out, *extra, new_session=False):
    return subprocess.Popen([sys.executable, "-m", "playground", "export", str(experiment_file), "-o", str(out),
                             *ARGS, *extra], cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            start_new_session=new_session, env=ENV)


def wait_for_rendering(process) -> list[str]:
    """stderr lines up to the one that says rendering has started."""
    lines = []
    while True:
        line = process.stderr.readline()
        assert line, f"the export ended before rendering: {lines} (exit {process.wait()})"
        lines.append(line.rstrip("\n"))
        if line.startswith("playground: rendering"):
            return lines


def folder_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "exp.json")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_render_stops_the_export_every_time(tmp_path, experiment_file, sig):
    for attempt in range(10):
        fmt = ("gif", "mp4")[attempt % 2]
        out = tmp_path / f"run{attempt}.{fmt}"
        process = start_export(experiment_file, out)
        try:
            wait_for_rendering(process)
            time.sleep(0.05 * attempt)  # spread over the render: early frames, later frames
            process.send_signal(sig)
            _, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        name = signal.Signals(sig).name
        assert process.returncode == 128 + sig, (attempt, fmt, process.returncode, err)
        assert err.strip().splitlines()[-1] == f"playground: stopped by {name}; no file was written", err
        assert "Traceback" not in err
        assert folder_names(tmp_path) == [], (attempt, fmt, folder_names(tmp_path))


def test_ctrl_c_in_a_terminal_reaches_ffmpeg_too_and_is_still_a_stop(tmp_path, experiment_file):
    """Ctrl+C signals the whole foreground process group: the export and (if it shared it) ffmpeg."""
    for attempt in range(3):
        out = tmp_path / "run.mp4"
        process = start_export(experiment_file, out, new_session=True)
        try:
            wait_for_rendering(process)
            time.sleep(0.1 * attempt)
            os.killpg(process.pid, signal.SIGINT)
            _, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 130, err
        assert err.strip().splitlines()[-1] == "playground: stopped by SIGINT; no file was written", err
        assert folder_names(tmp_path) == []


def test_a_killed_exports_part_file_is_removed_by_the_next_export_to_the_same_place(tmp_path, experiment_file):
    out = tmp_path / "run.gif"
    process = start_export(experiment_file, out)
    wait_for_rendering(process)
    process.kill()  # SIGKILL: nothing of ours runs, the temporary stays
    process.wait(30)
    left = folder_names(tmp_path)
    assert len(left) == 1 and left[0].startswith(f".run.{process.pid}.") and left[0].endswith(".part.gif")
    done = subprocess.run([sys.executable, "-m", "playground", "export", str(experiment_file), "-o", str(out),
                           "--size", "64x64", "--steps", "20"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert folder_names(tmp_path) == ["run.gif"]


def test_stale_parts_of_other_names_or_live_processes_are_left_alone(tmp_path):
    target = tmp_path / "run.gif"
    dead_pid = 2**22 + 12345  # above Linux's largest pid: no such process
    stale = tmp_path / f".run.{dead_pid}.abc_12.part.gif"
    live = tmp_path / f".run.{os.getppid()}.xyz.part.gif"  # our parent is running
    other_name = tmp_path / f".walk.{dead_pid}.abc.part.gif"
    other_kind = tmp_path / f".run.{dead_pid}.abc.part.mp4"
    users = tmp_path / ".run.gif.part"  # not our naming
    for path in (stale, live, other_name, other_kind, users):
        path.write_bytes(b"x")
    assert remove_stale_parts(target) == [stale]
    out = AtomicFile(target)  # creating one cleans as well; its own temporary carries our pid
    assert out.temp.name.startswith(f".run.{os.getpid()}.")
    out.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (live, other_name, other_kind, users))


def test_a_file_name_too_long_is_one_line_and_a_long_allowed_one_works(tmp_path, experiment_file, capsys, qapp):
    too_long = tmp_path / ("x" * 300 + ".gif")
    code = cli.main(["export", str(experiment_file), "-o", str(too_long), "--steps", "5", "--size", "64x64"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "the file name is too long (304 bytes); at most 255 are allowed here" in err
    longest = tmp_path / ("y" * 251 + ".gif")  # 255 bytes: the temporary's name uses a shortened stem
    code = cli.main(["export", str(experiment_file), "-o", str(longest), "--steps", "5", "--size", "64x64"])
    assert code == 0, capsys.readouterr().err
    assert folder_names(tmp_path) == [longest.name]


# ---- a full disk -----------------------------------------------------------------------------------
def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("fmt", ["gif", "mp4", "png"])
def test_a_full_disk_is_one_line_exit_2_and_the_old_file_survives(tmp_path, experiment_file, capsys, qapp,
                                                                  monkeypatch, fmt):
    """ENOSPC injected where each format meets the disk: Pillow's save (GIF, PNG), ffmpeg's pipe (MP4)."""
    out = tmp_path / f"run.{fmt}"
    out.write_bytes(b"the user's earlier export")
    if fmt == "mp4":
        real_append = writers.Mp4Writer.append

        def append(self, frame):
            if self.frames == 3:
                self._process.kill()  # ffmpeg gone mid-stream, as when it fails to write
                self._process.wait()
                self._log.write(b"Error writing trailer: No space left on device\n")
            real_append(self, frame)

        monkeypatch.setattr(writers.Mp4Writer, "append", append)
    else:
        from PIL import Image

        real_save = Image.Image.save

        def save(self, fp, *args, **kwargs):
            Path(fp).write_bytes(b"half a file")  # what a full disk leaves
            no_space()

        monkeypatch.setattr(Image.Image, "save", save)
    code = cli.main(["export", str(experiment_file), "-o", str(out), "--steps", "20", "--every", "2",
                     "--size", "64x64"])
    err = capsys.readouterr().err
    assert code == 2, err
    last = err.strip().splitlines()[-1]
    assert last == f"playground: {out}: cannot write the file (No space left on device); nothing was written"
    assert [line for line in err.splitlines() if not line.startswith("playground: ")] == [], err
    assert out.read_bytes() == b"the user's earlier export"
    assert folder_names(tmp_path) == [out.name]
    if fmt != "mp4":
        monkeypatch.setattr(Image.Image, "save", real_save)


def _tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.mark.parametrize("fmt, size", [("gif", "200k"), ("mp4", "200k"), ("png", "40k")])
def test_a_real_full_disk(tmp_path, experiment_file, fmt, size):
    """A small tmpfs (needs root; skipped where mounting is not allowed, e.g. most CI)."""
    disk = tmp_path / "disk"
    if not _tmpfs(disk, size):
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = disk / f"run.{fmt}"
        out.write_bytes(b"kept")
        done = subprocess.run([sys.executable, "-m", "playground", "export", str(experiment_file), "-o", str(out),
                               "--size", "600x600", "--steps", "3000", "--every", "10"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines()[-1] == (
            f"playground: {out}: cannot write the file (No space left on device); nothing was written")
        assert out.read_bytes() == b"kept" and sorted(p.name for p in disk.iterdir()) == [out.name]
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True, timeout=30)


def test_the_window_export_job_reports_a_full_disk_in_words(tmp_path, qtbot, monkeypatch):
    """The window's export (ExportJob) gets the same one-line reason."""
    from PIL import Image

    from playground.experiment import Experiment
    from playground.export import ExportOptions
    from playground.recording import Recorder
    from playground.training import Trainer
    from playground.ui.export_dialog import ExportJob

    trainer = Trainer(Experiment.from_dict(EXPERIMENT), grid_size=20)
    recorder = Recorder(every=5)
    recorder.train(trainer, 20)
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: no_space())
    out = tmp_path / "run.gif"
    job = ExportJob(recorder.recording(trainer.history()), out, ExportOptions(size=(64, 64)))
    with qtbot.waitSignal(job.sigFailed, timeout=30000) as failed:
        job.start()
    assert failed.args == [f"{out}: cannot write the file (No space left on device); nothing was written"]
    assert list(tmp_path.iterdir()) == []


def test_fps_edges_are_written(tmp_path, experiment_file, capsys, qapp):
    """The ends of the range work: 0.1 fps (10 s a frame) and the GIF's 50."""
    for fps, fmt in (("0.1", "gif"), ("0.1", "mp4"), ("50", "gif"), ("60", "mp4")):
        out = tmp_path / f"r{fps}.{fmt}"
        code = cli.main(["export", str(experiment_file), "-o", str(out), "--steps", "4", "--every", "2",
                         "--size", "64x64", "--fps", fps])
        assert code == 0 and out.stat().st_size > 0, capsys.readouterr().err
    import imageio.v3 as iio

    assert iio.immeta(tmp_path / "r0.1.gif", index=0)["duration"] == 10000
    assert np.asarray(iio.imread(tmp_path / "r50.gif", index=None)).shape[0] == 3
