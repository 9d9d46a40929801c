"""`playground bench`: the performance figures, measured in one run on the machine it runs on.

Every figure that has a target is a ratio or a bound measured here and now, because the machine is
shared and noisy: the engine against a plain torch loop timed in the same process, rounds
interleaved and the best round of each kept; the live window against TensorFlow Playground's page
speed on this kind of machine (SCIENCE.md). The window's figures (live speed, timer lateness,
start-up) come from child processes, so a broken or missing window costs those keys (null, with the
reason under "reasons"), never the whole bench. torch and Qt are imported only inside the
functions that need them.
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
TFP_EPOCHS_PER_S = {"c1": 59.9, "c3": 29.5}  # the page on a 2-core machine (SCIENCE.md)

KEYS = (
    "engine_c1_updates_per_s", "engine_c1_ratio_vs_plain_torch",
    "engine_c3_updates_per_s", "engine_c3_ratio_vs_plain_torch",
    "live_c1_epochs_per_s", "live_c1_ratio_vs_tfp", "live_c3_epochs_per_s", "live_c3_ratio_vs_tfp",
    "snapshot_c3_ms", "gui_lateness_p50_ms", "gui_lateness_p99_ms",
    "export_fps", "history_kb_per_1000_steps", "rss_growth_mb", "startup_s",
) + bench_compare.KEYS
TARGETS = {  # key: (comparison, bound) — what the issue asks for
    "engine_c1_ratio_vs_plain_torch": (">=", 2.0),
    "live_c1_ratio_vs_tfp": (">=", 10.0), "live_c3_ratio_vs_tfp": (">=", 10.0),
    "gui_lateness_p99_ms": ("<=", 16.0), "snapshot_c3_ms": ("<=", 3.0),
    "rss_growth_mb": ("<=", 50.0), "startup_s": ("<=", 3.0),
    **bench_compare.TARGETS,
}
TIMER_MS = 5  # the GUI timer whose lateness is measured


def experiment(case: str):
    from .experiment import Experiment

    return Experiment.from_dict(CASES[case])


# ---- 1. engine -----------------------------------------------------------------------------------
def _engine_round(trainer, seconds: float) -> float:
    """Updates per second of Trainer.step (health probes and history included) for about `seconds`."""
    done, start = 0, time.perf_counter()
    while True:
        done += trainer.step(250)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


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


def measure_engine(case: str, seconds: float = 3.0, rounds: int = 3) -> dict:
    """Minibatch updates/s of the app's engine (compiled where numba is), of the numpy engine, and of
    the plain torch loop: rounds interleaved, so a noisy neighbour slows all three alike; best of each."""
    import torch

    from .training import Trainer

    trainer, numpy_trainer = Trainer(experiment(case)), Trainer(experiment(case), engine="numpy")
    for t in (trainer, numpy_trainer):
        t.step(200)  # past the every-step probing of the first 100 steps (and the kernel compiled)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny nets are fastest on one thread
    try:
        plain = _PlainTorch(trainer)
        for _ in range(200):
            plain.step()  # warm-up
        per_round = seconds / (3 * rounds)
        engine, numpy_engine, baseline = [], [], []
        for _ in range(rounds):
            engine.append(_engine_round(trainer, per_round))
            numpy_engine.append(_engine_round(numpy_trainer, per_round))
            baseline.append(plain.round(per_round))
    finally:
        torch.set_num_threads(threads)
    best, best_numpy, best_torch = max(engine), max(numpy_engine), max(baseline)
    return {"engine": "compiled" if trainer.uses_compiled_engine() else "numpy",
            "updates_per_s": best, "plain_torch_updates_per_s": best_torch, "ratio": best / best_torch,
            "us_per_step": 1e6 / best, "plain_torch_us_per_step": 1e6 / best_torch,
            "numpy_engine_updates_per_s": best_numpy, "numpy_engine_ratio": best_numpy / best_torch}


# ---- 3. snapshot ---------------------------------------------------------------------------------
def measure_snapshot_ms(case: str = "c3", count: int = 30, warm_steps: int = 2000) -> float:
    """Median ms of Trainer.snapshot() at the default grid, after some training (history included)."""
    from .training import Trainer

    trainer = Trainer(experiment(case))
    trainer.step(warm_steps)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        trainer.snapshot()
        times.append(time.perf_counter() - start)
    return 1e3 * _percentile(times, 50)


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


def _run_child(args: list[str], timeout: float) -> dict:
    """Run `python -m playground.bench --child ...`; its last stdout line is a JSON object."""
    cmd = [sys.executable, "-m", "playground.bench", "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_child_env())
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"child {' '.join(args)} failed (exit {proc.returncode}): {tail}")
    return json.loads(lines[-1])


def measure_live(case: str, seconds: float, worker: str = "app") -> dict:
    """The live window on `case`; worker "app" is what `playground gui` uses, "thread" the in-process one."""
    return _run_child(["live", case, str(seconds), worker], timeout=60 + 4 * seconds)


def measure_startup() -> dict:
    start = time.time()
    result = _run_child(["startup"], timeout=60)
    result["startup_s"] = result["shown_at"] - start
    return result


def _worker_class(worker: str):
    if worker == "thread":
        from .ui.worker import TrainingWorker

        return TrainingWorker
    from .ui import app

    if not hasattr(app, "worker_class"):  # an older app: training on a thread
        from .ui.worker import TrainingWorker

        return TrainingWorker
    return app.worker_class()


def _child_live(case: str, seconds: float, worker: str = "app") -> dict:
    """The real window, shown, training `case` at full speed; epochs/s and a 5 ms timer's lateness."""
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
    """Time (wall clock) at which the window is shown with its first snapshot drawn, as `playground gui` does."""
    from PySide6.QtWidgets import QApplication

    from .ui.app import default_experiment

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from .ui.main_window import MainWindow

    window = MainWindow(default_experiment(), worker_class=_worker_class("app"))
    window.resize(1280, 800)
    window.show()
    drawn = []
    window.sigDrawn.connect(drawn.append)
    _wait(app, lambda: bool(drawn), 30.0)
    app.processEvents()
    shown_at = time.time()
    window.shutdown()
    window.close()
    return {"shown_at": shown_at}


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
            e = measure_engine(case, seconds=max(0.06, 6.0 * s))
            result[f"engine_{case}_updates_per_s"] = e["updates_per_s"]
            result[f"engine_{case}_ratio_vs_plain_torch"] = e["ratio"]
            detail[f"engine_{case}"] = e

    samples: list[float] = []

    def live(case):
        def run():
            r = measure_live(case, seconds=max(1.0, (3.0 if quick else 5.0) * scale))  # settles in ~1 s
            result[f"live_{case}_epochs_per_s"] = r["epochs_per_s"]
            result[f"live_{case}_ratio_vs_tfp"] = r["epochs_per_s"] / TFP_EPOCHS_PER_S[case]
            samples.extend(r.pop("lateness_ms"))
            detail[f"live_{case}"] = r
        return run

    def lateness():
        if not samples:
            raise RuntimeError("no live run finished")
        result["gui_lateness_p50_ms"] = _percentile(samples, 50)
        result["gui_lateness_p99_ms"] = _percentile(samples, 99)
        detail["gui_timer_ticks"] = len(samples)

    def snapshot():
        result["snapshot_c3_ms"] = measure_snapshot_ms("c3", count=max(5, int(40 * s)),
                                                        warm_steps=max(100, int(2000 * s)))

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
        result["startup_s"] = measure_startup()["startup_s"]

    attempt(["startup_s"], "start-up", startup)  # first: a quiet machine, nothing cached by us yet
    attempt([k for k in KEYS if k.startswith("engine")], "engine", engine)
    attempt(["snapshot_c3_ms"], "snapshot", snapshot)
    for case in ("c1", "c3"):
        attempt([f"live_{case}_epochs_per_s", f"live_{case}_ratio_vs_tfp"], f"live window {case}", live(case))
    attempt(["gui_lateness_p50_ms", "gui_lateness_p99_ms"], "GUI timer", lateness)
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
    result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "quick": quick,
                         "scale": scale}
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
    """The human-readable report: one line per key, with its target when it has one."""
    lines = [f"{'figure':36} {'value':>12}  target"]
    for key in KEYS:
        value = result[key]
        text = "n/a" if value is None else f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
        target = result["targets"].get(key, "")
        lines.append(f"{key:36} {text:>12}  {target}")
    for case in ("c1", "c3"):  # the engine's figures are the app's engine; the numpy one for comparison
        e = result.get("detail", {}).get(f"engine_{case}")
        if e:
            lines.append(f"  engine {case}: {e['engine']}; the numpy engine: {e['numpy_engine_updates_per_s']:,.0f} "
                         f"updates/s ({e['numpy_engine_ratio']:.2f}x plain torch)")
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
        out = _child_live(argv[1], float(argv[2]), *argv[3:4])
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
