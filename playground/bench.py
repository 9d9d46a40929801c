"""`playground bench`: the performance figures, measured in one run on the machine it runs on.

Every figure that has a target is a ratio or a bound measured here and now, because the machine is
shared and noisy: the engine against TF Playground's own per-point engine (bench_tfp_engine.js, run
by node when it is on PATH) and a plain torch loop, in interleaved rounds, each ratio taken round by
round. The live window's speed is set against TF Playground's page, which trains one epoch per
animation frame: a ceiling of 60 epochs/s, a constant, not a measurement. The window's figures
(live speed, timer lateness, start-up) come from child processes, so a broken or missing window
costs those keys (null, with the reason under "reasons"), never the whole bench. torch and Qt are
imported only inside the functions that need them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

from . import bench_compare

# TensorFlow Playground's settings (SCIENCE.md): 500 points, half for training, batch 10, SGD 0.03.
C1 = {"data": {"dataset": "circle"}, "network": {"hidden": [4, 2], "activation": "tanh"},
      "training": {"batch_size": 10, "learning_rate": 0.03, "optimizer": "sgd", "loss": "bce"}}
C3 = {"data": {"dataset": "spiral"}, "network": {"hidden": [8] * 6, "activation": "relu"},
      "training": {"batch_size": 10, "learning_rate": 0.03, "optimizer": "sgd", "loss": "bce"}}
CASES = {"c1": C1, "c3": C3}
# Not a measurement: TF Playground's page trains one epoch per animation frame (its player calls
# oneStep() from requestAnimationFrame), so it never goes past the display's ~60 frames/s. A live
# ratio against it compares our speed with a frame rate; the engine ratios compare engines.
TFP_PAGE_EPOCHS_PER_S = 60.0
TFP_ENGINE_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_tfp_engine.js")
BUSY_PROCESSES = 2  # background load for gui_lateness_p99_loaded_ms: two spinning processes of ours

KEYS = (
    "engine_c1_updates_per_s", "engine_c1_ratio_vs_tfp_engine", "engine_c1_ratio_vs_plain_torch",
    "engine_c3_updates_per_s", "engine_c3_ratio_vs_tfp_engine", "engine_c3_ratio_vs_plain_torch",
    "live_c1_epochs_per_s", "live_c1_ratio_vs_tfp_page_ceiling",
    "live_c3_epochs_per_s", "live_c3_ratio_vs_tfp_page_ceiling",
    "snapshot_c3_ms", "snapshot_c3_kb", "gui_lateness_p50_ms", "gui_lateness_p99_ms",
    "gui_lateness_p99_loaded_ms", "export_fps", "history_kb_per_1000_steps", "rss_growth_mb",
    "startup_s", "startup_first_picture_s", "startup_cold_s", "startup_first_picture_cold_s",
) + bench_compare.KEYS
TARGETS = {  # key: (comparison, bound) — what the issues ask for
    "engine_c1_ratio_vs_tfp_engine": (">=", 3.0), "engine_c3_ratio_vs_tfp_engine": (">=", 10.0),
    "engine_c1_ratio_vs_plain_torch": (">=", 2.0),
    "gui_lateness_p99_ms": ("<=", 16.0), "gui_lateness_p99_loaded_ms": ("<=", 16.0),
    "snapshot_c3_ms": ("<=", 3.0), "rss_growth_mb": ("<=", 50.0), "startup_s": ("<=", 3.0),
    **bench_compare.TARGETS,
}
UNITS = {  # what each figure counts, for the printed table
    "engine_c1_updates_per_s": "minibatch updates of 10 points /s", "engine_c3_updates_per_s": "updates/s",
    "engine_c1_ratio_vs_tfp_engine": "x TF Playground's engine (node), same run",
    "engine_c3_ratio_vs_tfp_engine": "x TF Playground's engine (node), same run",
    "engine_c1_ratio_vs_plain_torch": "x a plain torch loop, same run",
    "engine_c3_ratio_vs_plain_torch": "x a plain torch loop, same run",
    "live_c1_epochs_per_s": "epochs/s, the window training", "live_c3_epochs_per_s": "epochs/s",
    "live_c1_ratio_vs_tfp_page_ceiling": "x 60 epochs/s: TF's page trains one epoch per animation frame (<= 60/s)",
    "live_c3_ratio_vs_tfp_page_ceiling": "x 60 epochs/s (the page's ceiling, a constant, not measured)",
    "snapshot_c3_ms": "ms: built, pickled, piped, unpickled (median)", "snapshot_c3_kb": "KB pickled",
    "gui_lateness_p50_ms": "ms late, 5 ms timer, training", "gui_lateness_p99_ms": "ms",
    "gui_lateness_p99_loaded_ms": f"ms, with {BUSY_PROCESSES} busy processes of ours",
    "startup_s": "s to the first trained step (warm numba cache)",
    "startup_first_picture_s": "s to the first picture (warm)",
    "startup_cold_s": "s to the first trained step (empty numba cache)",
    "startup_first_picture_cold_s": "s to the first picture (empty numba cache)",
}
TIMER_MS = 5  # the GUI timer whose lateness is measured


def experiment(case: str):
    from .experiment import Experiment

    return Experiment.from_dict(CASES[case])


# ---- 1. engine -----------------------------------------------------------------------------------
def _engine_round(trainer, seconds: float) -> tuple[float, float]:
    """Updates per second of Trainer.step (health probes and history included) for about `seconds`:
    per wall-clock second and per second of this process's CPU time."""
    done, start, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        done += trainer.step(250)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, done / max(time.process_time() - cpu, 1e-9)


class _PlainTorch:
    """The baseline: nn.Sequential + torch.optim.SGD + BCEWithLogitsLoss, same weights, same batches."""

    def __init__(self, trainer):
        import numpy as np
        import torch

        self.torch, self.np = torch, np
        exp = trainer.experiment
        self.model = trainer.model.to_torch()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=exp.training.learning_rate)
        self.loss = torch.nn.BCEWithLogitsLoss()
        self.x = torch.from_numpy(np.array(trainer._x_train))
        self.y = torch.from_numpy(np.array(trainer._y_train))
        self.batch = exp.training.batch_size
        self.rng = np.random.default_rng(np.random.SeedSequence([exp.seed, 3]))  # the trainer's stream
        self._new_epoch()

    def _new_epoch(self) -> None:
        order = self.torch.from_numpy(self.rng.permutation(len(self.x)))
        self.xs, self.ys, self.cursor = self.x[order], self.y[order], 0  # batches are then slices

    def step(self) -> None:
        if self.cursor >= len(self.xs):
            self._new_epoch()
        end = self.cursor + self.batch
        x, y = self.xs[self.cursor:end], self.ys[self.cursor:end]
        self.cursor = end
        self.optimizer.zero_grad()
        self.loss(self.model(x)[:, 0], y).backward()
        self.optimizer.step()

    def round(self, seconds: float) -> float:
        done, start = 0, time.perf_counter()
        while True:
            for _ in range(100):
                self.step()
            done += 100
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return done / elapsed


class TfpEngine:
    """TF Playground's per-point engine (bench_tfp_engine.js) in a node process, on a trainer's data.

    Its rate counts the same unit as Trainer.step: minibatch updates of `batch_size` points per
    second (TF applies the accumulated derivatives every batch_size points). The process waits on
    its stdin between rounds, so it takes no CPU while the other engines run.
    """

    def __init__(self, trainer, node: str | None = None, seed: int = 0):
        import shutil

        node = node or shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH: TF Playground's engine (JavaScript) cannot run")
        exp = trainer.experiment
        if exp.network.activation not in ("tanh", "relu", "sigmoid", "linear"):
            raise ValueError(f"TF Playground has no {exp.network.activation!r}")
        self.process = subprocess.Popen([node, TFP_ENGINE_JS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        try:
            reply = self.ask({"inputs": trainer._x_train.tolist(), "labels": trainer._y_train.tolist(),
                              "hidden": list(exp.network.hidden), "activation": exp.network.activation,
                              "batch": exp.training.batch_size, "lr": exp.training.learning_rate, "seed": seed})
            if not reply.get("ready"):
                raise RuntimeError(f"TF Playground's engine did not start: {reply}")
        except BaseException:
            self.close()
            raise

    def ask(self, message: dict) -> dict:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"TF Playground's engine (node) ended (exit {self.process.poll()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"TF Playground's engine: {reply['error']}")
        return reply

    def round(self, seconds: float) -> tuple[float, float]:
        """Minibatch updates per second for about `seconds` (whole epochs, as the page trains): per
        wall-clock second and per second of node's CPU time."""
        reply = self.ask({"run": seconds})
        return reply["updates"] / reply["seconds"], reply["updates"] / max(reply["cpu_seconds"], 1e-9)

    def epochs(self, n: int) -> dict:
        return self.ask({"epochs": int(n)})

    def accuracy(self, x, y) -> float:
        return self.ask({"accuracy": {"inputs": x.tolist(), "labels": y.tolist()}})["accuracy"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(1)
        self.process.stdout.close()


def measure_engine(case: str, seconds: float = 3.0, rounds: int = 5) -> dict:
    """Minibatch updates/s of the app's engine (Trainer.step: compiled where numba is, health probes
    and history included), the numpy engine, a plain torch loop and TF Playground's engine (node),
    in interleaved rounds so a noisy neighbour slows all of them alike. The ratios are the median of
    each round's ratio (the two sides measured next to each other); the rates are each one's best."""
    import statistics

    import torch

    from .training import Trainer

    trainer, numpy_trainer = Trainer(experiment(case)), Trainer(experiment(case), engine="numpy")
    for t in (trainer, numpy_trainer):
        t.step(200)  # past the every-step probing of the first 100 steps (and the kernel compiled)
    tfp, tfp_missing = None, None
    try:
        tfp = TfpEngine(trainer)
        tfp.epochs(200)  # node's JIT warmed up
    except (RuntimeError, OSError, ValueError) as error:
        tfp_missing = str(error)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny nets are fastest on one thread
    try:
        plain = _PlainTorch(trainer)
        for _ in range(200):
            plain.step()  # warm-up
        per_round = seconds / ((4 if tfp else 3) * rounds)
        rates: dict[str, list[float]] = {"engine": [], "numpy": [], "torch": [], "tfp": []}
        cpu_rates: dict[str, list[float]] = {"engine": [], "tfp": []}  # per CPU-second: the two processes
        for _ in range(rounds):
            wall, cpu = _engine_round(trainer, per_round)
            rates["engine"].append(wall)
            cpu_rates["engine"].append(cpu)
            if tfp is not None:
                wall, cpu = tfp.round(per_round)
                rates["tfp"].append(wall)
                cpu_rates["tfp"].append(cpu)
            rates["numpy"].append(_engine_round(numpy_trainer, per_round)[0])
            rates["torch"].append(plain.round(per_round))
    finally:
        torch.set_num_threads(threads)
        if tfp is not None:
            tfp.close()

    def paired(other: str) -> list[float]:
        return [mine / theirs for mine, theirs in zip(rates["engine"], rates[other])]

    best = {name: max(values) if values else None for name, values in rates.items()}
    out = {"engine": "compiled" if trainer.uses_compiled_engine() else "numpy",
           "unit": f"minibatch updates of {trainer.experiment.training.batch_size} points per second",
           "updates_per_s": best["engine"], "us_per_step": 1e6 / best["engine"],
           "plain_torch_updates_per_s": best["torch"], "ratio": statistics.median(paired("torch")),
           "numpy_engine_updates_per_s": best["numpy"], "numpy_engine_ratio": best["numpy"] / best["torch"],
           "rounds": rates}
    if tfp is not None:
        ratios = paired("tfp")
        cpu_ratios = [mine / theirs for mine, theirs in zip(cpu_rates["engine"], cpu_rates["tfp"])]
        out.update(tfp_engine_updates_per_s=best["tfp"], ratio_vs_tfp_engine=statistics.median(ratios),
                   ratio_vs_tfp_engine_range=(min(ratios), max(ratios)),
                   # the same rounds counted per CPU-second of each process: what a busy machine's
                   # scheduler does to either side drops out (node's own helper threads count for it)
                   ratio_vs_tfp_engine_cpu=statistics.median(cpu_ratios),
                   updates_per_cpu_s=max(cpu_rates["engine"]), tfp_engine_updates_per_cpu_s=max(cpu_rates["tfp"]))
    else:
        out["tfp_engine_missing"] = tfp_missing
    return out


# ---- 3. snapshot ---------------------------------------------------------------------------------
def measure_snapshot(case: str = "c3", count: int = 30, warm_steps: int = 2000) -> dict:
    """What a snapshot costs on its way to the window, median ms: built (Trainer.snapshot at the
    default grid, after some training), pickled and written to a multiprocessing Connection, read,
    unpickled and marked read-only (train_server.freeze) on the other end, as `playground gui`
    does between its training child and the window. Both ends run here, so "total_ms" is the sum
    of what the child and the window pay; "window_ms" is the window's part once the bytes are in
    (unpickling and freezing, which hold its GIL); "kb" the pickled size.

    Measured while choosing how to send it: the hidden neurons' maps are ~95 % of a C3 snapshot
    (48 maps of 100x100, 1.9 MB in float32) and change every time; the unchanged data and input
    maps are ~4 %. Sending the maps as float16 halved the bytes but made the trip slower (C3:
    3.0-3.3 ms against 1.5-2.3 ms, medians): numpy's float16 conversions cost more than the copies
    they save, and the window would pay for the conversion back. So snapshots go as they are.
    """
    import pickle
    import queue
    import threading
    from multiprocessing import Pipe

    from .train_server import freeze
    from .training import Trainer

    trainer = Trainer(experiment(case))
    trainer.step(warm_steps)
    sender, receiver = Pipe()
    received: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        while True:
            data = receiver.recv_bytes()  # Connection.recv() is recv_bytes() then pickle.loads()
            started = time.perf_counter()
            message = pickle.loads(data)
            if message is None:
                return
            freeze(message)
            received.put(time.perf_counter() - started)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    build, window, total = [], [], []
    try:
        for _ in range(count):
            started = time.perf_counter()
            snapshot = trainer.snapshot()
            built = time.perf_counter()
            sender.send(snapshot)
            window.append(received.get(timeout=30))
            total.append(time.perf_counter() - started)
            build.append(built - started)
    finally:
        sender.send(None)
        reader.join(5)
        sender.close()
        receiver.close()
    size = len(pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL))
    return {"total_ms": 1e3 * _percentile(total, 50), "build_ms": 1e3 * _percentile(build, 50),
            "window_ms": 1e3 * _percentile(window, 50), "total_p90_ms": 1e3 * _percentile(total, 90),
            "kb": size / 1024}


# ---- 5. memory -----------------------------------------------------------------------------------
def rss_mb() -> float:
    """Resident set size now, in MB (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


def measure_rss_growth_mb(case: str = "c1", first: int = 10_000, last: int = 100_000,
                          snapshot_every: int = 500) -> dict:
    """RSS after `last` steps minus after `first`, training as the window does: every 10th step
    recorded for export, a snapshot now and then."""
    import gc

    from .recording import Recorder
    from .training import Trainer

    trainer = Trainer(experiment(case))
    recorder = Recorder(every=10)

    def train_to(target: int) -> None:
        while trainer.step_count < target and not trainer.diverged:
            recorder.train(trainer, min(snapshot_every, target - trainer.step_count))
            trainer.snapshot()

    train_to(first)
    gc.collect()
    before = rss_mb()
    train_to(last)
    gc.collect()
    after = rss_mb()
    return {"growth_mb": after - before, "rss_at_first_mb": before, "steps": (first, last)}


# ---- 4. export -----------------------------------------------------------------------------------
def measure_export(quick: bool) -> dict:
    """Export frames/s (600×600 boundary view) and history KB per 1,000 recorded steps, from export.py."""
    from . import export

    out = {}
    fps = export.measure_export_fps(size=(600, 600), view="boundary", frames=15 if quick else 40)
    out["export_fps"] = fps["fps"]
    out["export_detail"] = fps
    out["history_kb_per_1000_steps"] = export.measure_history_kb_per_1000_steps()
    return out


# ---- 2, 3 and 5: the window, in child processes --------------------------------------------------
def _child_env() -> dict:
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _run_child(args: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run `python -m playground.bench --child ...`; its last stdout line is a JSON object."""
    cmd = [sys.executable, "-m", "playground.bench", "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**_child_env(), **(env or {})})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"child {' '.join(args)} failed (exit {proc.returncode}): {tail}")
    return json.loads(lines[-1])


_SPIN = ("import os, sys\nparent = int(sys.argv[1])\n"
         "while os.getppid() == parent:  # ends by itself if the bench is gone\n"
         "    for _ in range(200_000):\n        pass\n")


class BusyProcesses:
    """`count` processes spinning on the CPU while the block runs, as other work on a busy machine;
    always stopped on the way out (an error or Ctrl-C included), and they end by themselves if this
    process dies first."""

    def __init__(self, count: int = BUSY_PROCESSES):
        self.count = count
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> "BusyProcesses":
        try:
            for _ in range(self.count):
                self.processes.append(subprocess.Popen([sys.executable, "-c", _SPIN, str(os.getpid())]))
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            process.wait()
        self.processes.clear()


def measure_live(case: str, seconds: float, worker: str = "app", loaded: bool = False, idle: bool = False) -> dict:
    """The live window on `case`; worker "app" is what `playground gui` uses, "thread" the in-process
    one. loaded: with BUSY_PROCESSES spinning processes of ours beside it. idle: not training (the
    timer's lateness only)."""
    args = ["live", case, str(seconds), worker, "idle" if idle else "play"]
    if not loaded:
        return _run_child(args, timeout=60 + 4 * seconds)
    with BusyProcesses() as busy:
        result = _run_child(args, timeout=90 + 6 * seconds)
        result["busy_processes"] = busy.count
        return result


def measure_startup() -> dict:
    """Seconds from launching a window process (Python's start and every import included) to its
    first picture and to its first trained step (the compiled engine loaded, or compiled, by then):
    cold with an empty numba cache, then warm with the cache that first run wrote."""
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory(prefix="playground-numba-") as cache:
        for kind in ("cold", "warm"):
            start = time.time()
            result = _run_child(["startup"], timeout=120, env={"NUMBA_CACHE_DIR": cache})
            out[kind] = {"first_picture_s": result["shown_at"] - start, "first_step_s": result["stepped_at"] - start}
    return out


def _worker_class(worker: str):
    if worker == "thread":
        from .ui.worker import TrainingWorker

        return TrainingWorker
    from .ui import app

    if not hasattr(app, "worker_class"):  # an older app: training on a thread
        from .ui.worker import TrainingWorker

        return TrainingWorker
    return app.worker_class()


def _child_live(case: str, seconds: float, worker: str = "app", play: str = "play") -> dict:
    """The real window, shown, training `case` at full speed; epochs/s and a 5 ms timer's lateness.
    play "idle": the same window not training, for the timer's lateness alone (what the machine's
    scheduler costs a window that does nothing)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from .ui.main_window import MainWindow

    window = MainWindow(experiment(case), worker_class=_worker_class(worker))
    window.resize(1280, 800)
    window.show()
    drawn: list[tuple[float, float, int]] = []  # (time, epoch, step) of each snapshot drawn
    window.sigDrawn.connect(lambda s: drawn.append((time.perf_counter(), s.epoch, s.step)))
    _wait(app, lambda: bool(drawn), 20.0)
    training = play != "idle"
    if training:
        window.worker.set_speed(None)  # as fast as it goes
        window.set_playing(True)
        _wait(app, lambda: drawn[-1][2] > 200, 20.0)  # past the first 100 steps' every-step probing
    mark = len(drawn)

    clock = QElapsedTimer()
    lateness: list[float] = []
    last = [0.0]

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        lateness.append(max(0.0, now - last[0] - TIMER_MS))
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    clock.start()
    timer.start(TIMER_MS)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    if not training:
        timer.stop()
        window.shutdown()
        window.close()
        return {"lateness_ms": lateness[1:]}
    _wait(app, lambda: len(drawn) >= mark + 2, 30.0)  # a slow machine: at least two frames to compare
    timer.stop()
    window.set_playing(False)
    frames = drawn[mark - 1:]  # from the last frame drawn before the timer started
    window.shutdown()
    window.close()
    (t0, e0, s0), (t1, e1, s1) = frames[0], frames[-1]
    return {"epochs_per_s": (e1 - e0) / (t1 - t0), "updates_per_s": (s1 - s0) / (t1 - t0),
            "frames_per_s": (len(frames) - 1) / (t1 - t0), "lateness_ms": lateness[1:]}


def _child_startup() -> dict:
    """Wall-clock times at which the window, started as `playground gui` does, shows its first
    snapshot, and then shows the first step trained after pressing Step."""
    from PySide6.QtWidgets import QApplication

    from .ui.app import default_experiment

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from .ui.main_window import MainWindow

    window = MainWindow(default_experiment(), worker_class=_worker_class("app"))
    window.resize(1280, 800)
    window.show()
    drawn = []
    window.sigDrawn.connect(drawn.append)
    _wait(app, lambda: bool(drawn), 60.0)
    app.processEvents()
    shown_at = time.time()
    window.worker.step(1)
    _wait(app, lambda: drawn[-1].step >= 1, 60.0)
    app.processEvents()
    stepped_at = time.time()
    window.shutdown()
    window.close()
    return {"shown_at": shown_at, "stepped_at": stepped_at}


def _wait(app, condition, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the window did not get there within {timeout} s")
        app.processEvents()
        time.sleep(0.002)


# ---- the whole bench -----------------------------------------------------------------------------
def run_bench(quick: bool = False, scale: float = 1.0, log=None) -> dict:
    """Every figure of the issue, in one run: {key: number or None, "reasons": {key: why None}, ...}.

    `scale` shrinks every duration and step count (tests run with a tiny one: the figures are then
    rough, but every key is produced by the same code).
    """
    s = scale * (0.3 if quick else 1.0)
    result: dict = {key: None for key in KEYS}
    reasons: dict = {}
    detail: dict = {}
    say = log or (lambda text: None)

    def attempt(keys, what, fn):
        say(f"measuring {what} ...")
        try:
            fn()
        except Exception as error:  # one broken part costs its keys, not the bench
            for key in keys:
                if result.get(key) is None:
                    reasons[key] = f"{what}: {type(error).__name__}: {error}"

    def engine():
        for case in ("c1", "c3"):
            e = measure_engine(case, seconds=max(0.1, 8.0 * s))
            result[f"engine_{case}_updates_per_s"] = e["updates_per_s"]
            result[f"engine_{case}_ratio_vs_plain_torch"] = e["ratio"]
            if "ratio_vs_tfp_engine" in e:
                result[f"engine_{case}_ratio_vs_tfp_engine"] = e["ratio_vs_tfp_engine"]
            else:
                reasons[f"engine_{case}_ratio_vs_tfp_engine"] = e["tfp_engine_missing"]
            detail[f"engine_{case}"] = e

    samples: dict[bool, list[float]] = {False: [], True: []}  # loaded or not: the 5 ms timer's lateness

    def live(case, loaded=False):
        def run():
            r = measure_live(case, seconds=max(1.0, (3.0 if quick else 5.0) * scale), loaded=loaded)  # settles in ~1 s
            samples[loaded].extend(r.pop("lateness_ms"))
            if loaded:
                detail[f"live_{case}_loaded"] = r
                return
            result[f"live_{case}_epochs_per_s"] = r["epochs_per_s"]
            result[f"live_{case}_ratio_vs_tfp_page_ceiling"] = r["epochs_per_s"] / TFP_PAGE_EPOCHS_PER_S
            detail[f"live_{case}"] = r
        return run

    def lateness():
        if not samples[False]:
            raise RuntimeError("no live run finished")
        result["gui_lateness_p50_ms"] = _percentile(samples[False], 50)
        result["gui_lateness_p99_ms"] = _percentile(samples[False], 99)
        detail["gui_timer_ticks"] = len(samples[False])

    def lateness_loaded():
        if not samples[True]:
            raise RuntimeError("no loaded live run finished")
        result["gui_lateness_p99_loaded_ms"] = _percentile(samples[True], 99)
        detail["gui_lateness_p50_loaded_ms"] = _percentile(samples[True], 50)
        detail["gui_timer_ticks_loaded"] = len(samples[True])

    def snapshot():
        r = measure_snapshot("c3", count=max(5, int(40 * s)), warm_steps=max(100, int(2000 * s)))
        result["snapshot_c3_ms"], result["snapshot_c3_kb"] = r["total_ms"], r["kb"]
        detail["snapshot_c3"] = r

    def export():
        out = measure_export(quick or scale < 1)
        result["export_fps"] = out["export_fps"]
        result["history_kb_per_1000_steps"] = out["history_kb_per_1000_steps"]
        detail["export"] = out["export_detail"]

    def memory():
        first, last = (10_000, 100_000) if scale >= 1 else (max(100, int(10_000 * scale)), max(200, int(100_000 * scale)))
        r = measure_rss_growth_mb("c1", first, last)
        result["rss_growth_mb"] = r["growth_mb"]
        detail["rss"] = r

    def startup():
        r = measure_startup()
        result["startup_s"], result["startup_first_picture_s"] = r["warm"]["first_step_s"], r["warm"]["first_picture_s"]
        result["startup_cold_s"], result["startup_first_picture_cold_s"] = (r["cold"]["first_step_s"],
                                                                            r["cold"]["first_picture_s"])

    startup_keys = ["startup_s", "startup_first_picture_s", "startup_cold_s", "startup_first_picture_cold_s"]
    attempt(startup_keys, "start-up", startup)  # first: a quiet machine, nothing of ours running yet
    attempt([k for k in KEYS if k.startswith("engine")], "engine", engine)
    attempt(["snapshot_c3_ms", "snapshot_c3_kb"], "snapshot", snapshot)
    for case in ("c1", "c3"):
        attempt([f"live_{case}_epochs_per_s", f"live_{case}_ratio_vs_tfp_page_ceiling"], f"live window {case}",
                live(case))
    attempt(["gui_lateness_p50_ms", "gui_lateness_p99_ms"], "GUI timer", lateness)
    for case in ("c1", "c3"):
        attempt([], f"live window {case} with {BUSY_PROCESSES} busy processes", live(case, loaded=True))
    attempt(["gui_lateness_p99_loaded_ms"], "GUI timer on a busy machine", lateness_loaded)

    def idle(loaded):  # the floor under the lateness figures: the same window, not training
        def run():
            lat = measure_live("c3", seconds=max(1.0, (3.0 if quick else 5.0) * scale), loaded=loaded, idle=True)
            name = "loaded_idle" if loaded else "idle"
            detail[f"gui_lateness_p99_{name}_ms"] = _percentile(lat["lateness_ms"], 99)
            detail[f"gui_lateness_p50_{name}_ms"] = _percentile(lat["lateness_ms"], 50)
        return run
    attempt([], "GUI timer, window idle", idle(False))
    attempt([], f"GUI timer, window idle, with {BUSY_PROCESSES} busy processes", idle(True))
    if not quick and scale >= 1:  # for comparison only: the same window with training on a thread
        for case in ("c1", "c3"):
            def thread_live(case=case):
                r = measure_live(case, seconds=5.0, worker="thread")
                lat = r.pop("lateness_ms")
                r["lateness_p99_ms"] = _percentile(lat, 99)
                detail[f"live_{case}_thread_worker"] = r
            attempt([], f"live window {case} (thread worker)", thread_live)
    attempt(["export_fps", "history_kb_per_1000_steps"], "export", export)
    attempt(["rss_growth_mb"], "memory", memory)
    attempt(bench_compare.KEYS, "compare mode", lambda: result.update(bench_compare.bench_keys(s)))
    result["reasons"] = reasons
    result["detail"] = detail
    result["targets"] = {key: _verdict(key, result[key]) for key in TARGETS}
    result["constants"] = {"tfp_page_epochs_per_s": {
        "value": TFP_PAGE_EPOCHS_PER_S, "source": "TF Playground's page trains one epoch per animation frame "
        "(requestAnimationFrame, <= 60/s); a ceiling, not measured"}}
    result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "quick": quick,
                         "scale": scale, "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}
    return result


def _percentile(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low = int(math.floor(rank))
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _verdict(key: str, value) -> str:
    if value is None:
        return "not measured"
    op, bound = TARGETS[key]
    met = value >= bound if op == ">=" else value <= bound
    return f"{'met' if met else 'MISSED'} ({op} {bound:g})"


def format_table(result: dict) -> str:
    """The human-readable report: one line per key, with what it counts and its target if it has one."""
    lines = [f"{'figure':36} {'value':>12}  {'target':18} unit"]
    for key in KEYS:
        value = result[key]
        text = "n/a" if value is None else f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
        target = result["targets"].get(key, "")
        lines.append(f"{key:36} {text:>12}  {target:18} {UNITS.get(key, '')}".rstrip())
    detail = result.get("detail", {})
    for case in ("c1", "c3"):  # the engine's figures are the app's engine; the others side by side
        e = detail.get(f"engine_{case}")
        if e:
            tfp = (f"TF Playground's engine (node) {e['tfp_engine_updates_per_s']:,.0f}, "
                   f"ratio per round {e['ratio_vs_tfp_engine_range'][0]:.2f}-{e['ratio_vs_tfp_engine_range'][1]:.2f}, "
                   f"per CPU-second {e['ratio_vs_tfp_engine_cpu']:.2f}; "
                   if "tfp_engine_updates_per_s" in e else "")
            lines.append(f"  engine {case} ({e['engine']}), updates/s, best round: ours {e['updates_per_s']:,.0f}; "
                         f"{tfp}numpy engine {e['numpy_engine_updates_per_s']:,.0f}; "
                         f"plain torch {e['plain_torch_updates_per_s']:,.0f}")
    if "gui_lateness_p99_idle_ms" in detail and "gui_lateness_p99_loaded_idle_ms" in detail:
        lines.append(f"  GUI timer p99 with the window idle (the machine's own share): {detail['gui_lateness_p99_idle_ms']:.1f} ms, "
                     f"{detail['gui_lateness_p99_loaded_idle_ms']:.1f} ms with {BUSY_PROCESSES} busy processes")
    lines.append(f"  TF Playground's page: one epoch per animation frame (<= {TFP_PAGE_EPOCHS_PER_S:g}/s), "
                 "a ceiling from how it trains, not a measurement")
    for key, why in result["reasons"].items():
        lines.append(f"  {key}: {why}")
    return "\n".join(lines)


# ---- command line --------------------------------------------------------------------------------
def register_cli(subparsers) -> None:
    bench = subparsers.add_parser("bench", help="measure the performance figures on this machine")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--quick", action="store_true", help="shorter measurements (under a minute)")
    bench.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    bench.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    try:  # the engine's figures are ratios to a plain torch loop
        import torch  # noqa: F401
    except ImportError:
        from .cli import BadInput

        raise BadInput("bench needs torch (the app itself does not), and it is not installed: "
                       "pip install torch==2.13.0 (from a checkout, with the bench extra: "
                       "pip install torch==2.13.0 && pip install -e '.[bench]')") from None
    log = None if args.json else (lambda text: print(text, file=sys.stderr, flush=True))
    result = run_bench(quick=args.quick, scale=args.scale, log=log)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


def _child_main(argv: list[str]) -> int:
    what = argv[0]
    if what == "live":
        out = _child_live(argv[1], float(argv[2]), *argv[3:5])
    elif what == "startup":
        out = _child_startup()
    else:
        raise SystemExit(f"unknown child {what!r}")
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2:]))
    from .cli import main

    sys.exit(main(["bench", *sys.argv[1:]]))
