"""`playground bench`'s window figures, each measured in a child process on the real window.

Live speed, the GUI timer's lateness, start-up, export, and the compare window's drawn frames per
second. The child is a fresh `python -m playground.ui.bench_child`, offscreen when there is no
display. The parent side (measure_*) starts the child and reads its one JSON line; the child side
(in_window_*) runs in the child. Qt is imported by the child side only, so the bench's own process
never loads it, and a broken Qt costs these figures, not the bench.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from ..bench import BUSY_PROCESSES, TIMER_MS, BusyProcesses, experiment, timer_lateness, training_rates

CHILD = "playground.ui.bench_child"
READY, GO = "ready", "go"  # the --wait-for-go handshake: the child's line when it is set, the parent's answer
WINDOW_SIZE = (1280, 800)  # a laptop's screen


# ---- the parent side: one child process per measurement ------------------------------------------
def measure_live(case: str, seconds: float, loaded: bool = False, idle: bool = False) -> dict:
    """The live window on `case` for `seconds`: {"epochs_per_s", "updates_per_s", "frames_per_s",
    "lateness_ms": [...]}, training in its child process as in `playground gui`. loaded: with
    BUSY_PROCESSES spinning processes of ours beside it while it measures. idle: not training, the
    timer's lateness only ({"lateness_ms"})."""
    args = ["live", case, str(seconds)] + (["--idle"] if idle else [])
    if not loaded:
        return run_child(args, timeout=60 + 4 * seconds)
    # The busy processes start once the window is up and training (the child says "ready" and waits
    # for "go"): what is measured is the same, and the window's start-up, which they only slowed
    # (~8 s instead of ~3.5), is not spent beside them.
    busy = BusyProcesses(BUSY_PROCESSES)
    try:
        result = run_child([*args, "--wait-for-go"], timeout=90 + 6 * seconds, when_ready=busy.__enter__)
    finally:
        busy.stop()  # always, as the block did
    result["busy_processes"] = busy.count
    return result


def measure_startup() -> dict:
    """Seconds from launching a window process (Python's start and every import included) to its
    first picture and to its first trained step (the compiled engine loaded, or compiled, by then):
    {"cold": {...}, "warm": {...}}, cold with an empty numba cache, then warm with the cache that
    first run wrote."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="playground-numba-") as cache:
        for kind in ("cold", "warm"):
            start = time.time()
            result = run_child(["startup"], timeout=120, env={"NUMBA_CACHE_DIR": cache})
            out[kind] = {"first_picture_s": result["shown_at"] - start, "first_step_s": result["stepped_at"] - start}
    return out


def measure_export_fps(frames: int) -> dict:
    """Frames/s of a whole export of `frames` frames (600×600 boundary view, replay + offscreen render
    + encode) and of each part (in_window_export_fps)."""
    return run_child(["export", str(frames)], timeout=300)


def measure_compare_fps(seconds: float, warm_seconds: float = 2.0) -> dict:
    """The compare window playing issue 10's 6 × 20 networks for `seconds` (after `warm_seconds`):
    compare_bench.compare_window_fps's figures, drawn_fps first. Its training runs in a process
    of its own that the child starts (the child's __main__ guard lets it)."""
    return run_child(["compare", str(seconds), "--warm", str(warm_seconds)], timeout=90 + 2 * (seconds + warm_seconds))


def run_child(args: list[str], timeout: float, env: dict | None = None, when_ready=None) -> dict:
    """Run `python -m playground.ui.bench_child ARGS`; its last stdout line is a JSON object. -P: not
    the current folder first on the child's path (a numpy.py lying there), this tree (_child_env).
    when_ready: called when the child prints READY (it was given --wait-for-go); the child then
    goes on once told GO. Whatever happens, the child is gone when this returns."""
    cmd = [sys.executable, "-P", "-m", CHILD, *args]
    stdin = subprocess.PIPE if when_ready else subprocess.DEVNULL
    with subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**_child_env(), **(env or {})}) as proc:
        try:
            if when_ready:
                _await_ready(proc, timeout)
                when_ready()
                proc.stdin.write(GO + "\n")  # communicate() sends it and closes stdin
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            proc.kill()
            raise
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (err.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"child {' '.join(args)} failed (exit {proc.returncode}): {tail}")
    return json.loads(lines[-1])


def _await_ready(proc: subprocess.Popen, timeout: float) -> None:
    """Read the child's stdout up to its READY line (in a thread, so that a child that hangs times
    out); a child that ends or hangs first is a RuntimeError naming its last line of stderr."""
    import threading

    answered, ready = threading.Event(), []

    def read() -> None:
        for line in proc.stdout:
            if line.strip() == READY:
                ready.append(True)
                break
        answered.set()  # READY, or the end of its output: it exited first

    threading.Thread(target=read, name="bench-child-ready", daemon=True).start()
    answered.wait(timeout)
    if not ready:
        proc.kill()
        _, err = proc.communicate()
        tail = (err.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"child {' '.join(proc.args[4:])} failed before it was ready "
                           f"(exit {proc.returncode}): {tail}")


def _child_env() -> dict:
    """This environment, offscreen when there is no display, with this tree first on the path (the
    child runs the same code as the bench, an uninstalled checkout included)."""
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# ---- the child side: the real window ---------------------------------------------------------------
def in_window_live(case: str, seconds: float, idle: bool = False, ready=None) -> dict:
    """The real window, shown, training `case` at full speed; epochs/s and a 5 ms timer's lateness.
    idle: the same window not training, for the timer's lateness alone (what the machine's
    scheduler costs a window that does nothing). ready: called once the window is set, before
    the measurement starts (it may wait: the parent starts its busy processes then)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer

    app = _application()
    window = _window(experiment(case))
    drawn: list[tuple[float, float, int]] = []  # (time, epoch, step) of each snapshot drawn
    window.sigDrawn.connect(lambda s: drawn.append((time.perf_counter(), s.epoch, s.step)))
    _wait(app, lambda: bool(drawn), 20.0)
    training = not idle
    if training:
        window.worker.set_speed(None)  # as fast as it goes
        window.set_playing(True)
        _wait(app, lambda: drawn[-1][2] > 200, 20.0)  # past the first 100 steps' every-step probing
    if ready is not None:
        ready()
        app.processEvents()  # what came in meanwhile, before the clock starts
    mark = len(drawn)

    clock = QElapsedTimer()
    ticks: list[float] = []  # ms since the clock started, at each tick
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append(clock.nsecsElapsed() / 1e6))
    clock.start()
    timer.start(TIMER_MS)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    if training:
        _wait(app, lambda: len(drawn) >= mark + 2, 30.0)  # a slow machine: at least two frames to compare
    timer.stop()
    lateness = timer_lateness(ticks)
    if not training:
        _close(window)
        return {"lateness_ms": lateness}
    window.set_playing(False)
    _close(window)
    return {**training_rates(drawn[mark - 1:]),  # from the last frame drawn before the timer started
            "lateness_ms": lateness}


def in_window_startup() -> dict:
    """Wall-clock times at which the window, started as `playground gui` does, shows its first
    snapshot, and then shows the first step trained after pressing Step."""
    from .screen import default_experiment

    app = _application()
    window = _window(default_experiment())
    drawn = []
    window.sigDrawn.connect(drawn.append)
    _wait(app, lambda: bool(drawn), 60.0)
    app.processEvents()
    shown_at = time.time()
    window.worker.step(1)
    _wait(app, lambda: drawn[-1].step >= 1, 60.0)
    app.processEvents()
    stepped_at = time.time()
    _close(window)
    return {"shown_at": shown_at, "stepped_at": stepped_at}


def in_window_export_fps(frames: int, size=(600, 600), view: str = "boundary", fmt: str = "gif") -> dict:
    """Frames per second of a whole export (replay + offscreen render + encode, as `playground
    export` runs it) and of each part on its own, on C3 trained 5 steps a frame."""
    from pathlib import Path

    from ..export import ExportOptions
    from ..recording import Recorder, Replay
    from ..training import Trainer
    from ..writers import open_writer
    from .export_render import FrameRenderer, export_recording

    trainer = Trainer(experiment("c3"))
    recorder = Recorder(every=5)
    recorder.train(trainer, 5 * (frames - 1))
    recording = recorder.recording(trainer.history())
    options = ExportOptions(format=fmt, view=view, size=tuple(size))
    renderer = FrameRenderer(view, tuple(size), caption=True)
    try:
        replay = Replay(recording)
        t0 = time.perf_counter()
        snaps = [replay.snapshot(i) for i in range(len(recording))]
        t1 = time.perf_counter()
        images = [renderer.render(s) for s in snaps]
        t2 = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / f"bench.{fmt}"
            writer = open_writer(fmt, out, options.size, options.fps, images[::max(1, len(images) // 3)])
            for image in images:
                writer.append(image)
            writer.close()
            t3 = time.perf_counter()
            result = export_recording(recording, out, options)
            size_kb = result.bytes / 1024
    finally:
        renderer.close()
    n = len(recording)
    return {"frames": n, "size": f"{size[0]}x{size[1]}", "view": view, "format": fmt,
            "fps": n / result.seconds, "replay_fps": n / (t1 - t0), "render_fps": n / (t2 - t1),
            "encode_fps": n / (t3 - t2), "file_kb": size_kb}


def in_window_compare_fps(seconds: float, warm_seconds: float) -> dict:
    """compare_bench's measurement, in this child, with the user's pyqtgraph look."""
    from .compare_bench import compare_window_fps

    _application()
    return compare_window_fps(seconds, warm_seconds=warm_seconds)


def _application():
    from PySide6.QtWidgets import QApplication

    from .colors import configure_pyqtgraph

    configure_pyqtgraph()  # the look the user's window has (runtime's split: nothing set at import)
    return QApplication.instance() or QApplication(sys.argv[:1])


def _window(exp):
    """The main window on `exp` as `playground gui` opens it (training in a child process), shown
    at WINDOW_SIZE."""
    from .main_window import MainWindow  # after the QApplication: widgets need it

    # remember_placement=False: a measurement must not leave its 796 x 796 as the size the user's
    # next `playground` opens at (it did: bench's windows saved their placement on closing)
    window = MainWindow(exp, remember_placement=False)
    window.resize(*WINDOW_SIZE)
    window.show()
    return window


def _close(window) -> None:
    window.shutdown()
    window.close()


def _wait(app, condition, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the window did not get there within {timeout} s")
        app.processEvents()
        time.sleep(0.002)
