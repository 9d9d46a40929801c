"""`playground bench`'s figures and the whole bench run, with the measurements that need no window.

What each figure counts and its target; the Qt-free measurements are here (the engine's in
bench_engine.py, a snapshot's trip, memory, history).

Every figure that has a target is a ratio or a bound measured here and now, because the machine is
shared and noisy: the engine against TF Playground's own per-point engine and a plain torch loop,
side by side in interleaved rounds (bench_engine.py). The live window's speed is set against TF
Playground's page, which trains one epoch per animation frame: a ceiling of 60 epochs/s, a constant,
not a measurement. The window's figures (live speed, timer lateness, start-up, export) are measured
by what run_bench is given as `window`, from the layer above (the core imports no Qt); each part
that fails, or has no window to measure, costs its keys (null, with the reason under "reasons"),
never the whole bench.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import numpy as np

from . import bench_compare, bench_engine
from .experiment import Experiment

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
BUSY_PROCESSES = 2  # background load for gui_lateness_p99_loaded_ms: two spinning processes of ours

KEYS = (
    "engine_c1_updates_per_s", "engine_c1_ratio_vs_tfp_engine", "engine_c1_ratio_vs_plain_torch",
    "engine_c3_updates_per_s", "engine_c3_ratio_vs_tfp_engine", "engine_c3_ratio_vs_plain_torch",
    "live_c1_epochs_per_s", "live_c1_ratio_vs_tfp_page_ceiling",
    "live_c3_epochs_per_s", "live_c3_ratio_vs_tfp_page_ceiling",
    "snapshot_c3_ms", "snapshot_c3_kb", "gui_lateness_p50_ms", "gui_lateness_p99_ms",
    "gui_lateness_p99_loaded_ms", "export_fps", "history_kb_per_1000_steps", "rss_growth_mb",
    "startup_s", "startup_first_picture_s", "startup_cold_s", "startup_first_picture_cold_s",
) + bench_compare.KEYS + ("compare_drawn_fps",)
TARGETS = {  # key: (comparison, bound) — what the issues ask for
    "engine_c1_ratio_vs_tfp_engine": (">=", 3.0), "engine_c3_ratio_vs_tfp_engine": (">=", 10.0),
    "engine_c1_ratio_vs_plain_torch": (">=", 2.0),
    "gui_lateness_p99_ms": ("<=", 16.0), "gui_lateness_p99_loaded_ms": ("<=", 16.0),
    "snapshot_c3_ms": ("<=", 3.0), "rss_growth_mb": ("<=", 50.0), "startup_s": ("<=", 3.0),
    **bench_compare.TARGETS, "compare_drawn_fps": (">=", 20.0),  # issue 10: 6 x 20 live at >= 20 frames/s drawn
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
    "compare_updates_per_s": "network-updates/s, 6 x 20 nets of 2-8-8-1 stacked",
    "compare_ratio_vs_sequential": "x the same 120 nets one after another (normal engine), same run",
    "compare_drawn_fps": "frames/s the compare window drew (1366x768), 6 x 20 nets training",
}
TIMER_MS = 5  # the GUI timer whose lateness is measured


def experiment(case: str) -> Experiment:
    """The experiment of one of the bench's cases, "c1" or "c3"."""
    return Experiment.from_dict(CASES[case])


# ---- a snapshot's trip ---------------------------------------------------------------------------
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
    return {"total_ms": 1e3 * percentile(total, 50), "build_ms": 1e3 * percentile(build, 50),
            "window_ms": 1e3 * percentile(window, 50), "total_p90_ms": 1e3 * percentile(total, 90),
            "kb": size / 1024}


# ---- memory --------------------------------------------------------------------------------------
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


def measure_history_kb_per_1000_steps(exp: Experiment | None = None, steps: int = 1000) -> float:
    """KB of memory the export's Recorder holds per 1,000 recorded steps (every step recorded; C3 by default).

    Counted with tracemalloc, only allocations made by recording.py that are still alive (frames,
    flat weight vectors, states, gradient norms, the frame list), not the trainer's own.
    """
    import tracemalloc

    from . import recording as recording_module
    from .recording import Recorder
    from .training import Trainer

    trainer = Trainer(exp or experiment("c3"))
    recorder = Recorder(every=1, capacity=steps + 10)
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        recorder.train(trainer, steps)
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, recording_module.__file__)])
        total = sum(stat.size for stat in snap.statistics("filename"))
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return total / 1024 / len(recorder) * 1000


# ---- a busy machine ------------------------------------------------------------------------------
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


# ---- what the window's measurements report -------------------------------------------------------
def training_rates(frames: list[tuple[float, float, int]]) -> dict:
    """From the snapshots a window drew, [(time s, epoch, step)] oldest first (at least two): epochs,
    minibatch updates and frames per second between the first and the last."""
    (t0, e0, s0), (t1, e1, s1) = frames[0], frames[-1]
    seconds = t1 - t0
    return {"epochs_per_s": (e1 - e0) / seconds, "updates_per_s": (s1 - s0) / seconds,
            "frames_per_s": (len(frames) - 1) / seconds}


def timer_lateness(ticks_ms: list[float], period_ms: float = TIMER_MS) -> list[float]:
    """How late each tick of a repeating timer came, ms, from the times it fired (ms, oldest first):
    the gap to the tick before minus the period, never below 0 (Qt may fire a little early)."""
    return [max(0.0, later - earlier - period_ms) for earlier, later in zip(ticks_ms, ticks_ms[1:])]


def percentile(values, q: float) -> float:
    """The q-th percentile (0-100), linear between ranks as numpy's default; NaN for no values."""
    return float(np.percentile(values, q)) if len(values) else math.nan


def verdict(key: str, value) -> str:
    """Whether `value` meets its target in TARGETS: "met (>= 3)", "MISSED (<= 16)" or "not measured"."""
    if value is None:
        return "not measured"
    op, bound = TARGETS[key]
    met = value >= bound if op == ">=" else value <= bound
    return f"{'met' if met else 'MISSED'} ({op} {bound:g})"


# ---- the whole bench -----------------------------------------------------------------------------
NO_WINDOW = "no window to measure in (run_bench was given none)"


def run_bench(quick: bool = False, scale: float = 1.0, progress=None, window=None) -> dict:
    """Every figure, in one run: {key: number or None, "reasons": {key: why it is None}, "detail",
    "targets", "constants", "machine"}. A part with no key of its own (the loaded and idle
    runs) that fails is named under "reasons" too.

    `scale` shrinks every duration and step count (tests run with a tiny one: the figures are then
    rough, but every key is produced by the same code). `window` measures the window's figures, each
    in a child process: measure_startup(), measure_live(case, seconds, loaded=False,
    idle=False), measure_export_fps(frames) and measure_compare_fps(seconds, warm_seconds)
    (`playground bench` gives the window's own); with
    None those figures are null and their reason says so. `progress(done, total, what)` is told as
    each part starts (`done` parts of `total` behind it).
    """
    s = scale * (0.3 if quick else 1.0)
    result: dict = {key: None for key in KEYS}
    reasons: dict = {}
    detail: dict = {}
    live_seconds = max(1.0, (3.0 if quick else 5.0) * scale)  # a live run settles in ~1 s

    def attempt(keys, what, fn):
        try:
            fn()
        except Exception as error:  # one broken part costs its keys, not the bench
            why = f"{what}: {type(error).__name__}: {error}"
            for key in keys:
                if result.get(key) is None:
                    reasons[key] = why
            if not keys:
                reasons[what] = why

    def the_window():
        if window is None:
            raise RuntimeError(NO_WINDOW)
        return window

    def startup():
        r = the_window().measure_startup()
        result["startup_s"], result["startup_first_picture_s"] = r["warm"]["first_step_s"], r["warm"]["first_picture_s"]
        result["startup_cold_s"], result["startup_first_picture_cold_s"] = (r["cold"]["first_step_s"],
                                                                            r["cold"]["first_picture_s"])

    def engine():
        for case in ("c1", "c3"):
            e = bench_engine.measure_engine(experiment(case), seconds=max(0.1, 8.0 * s))
            result[f"engine_{case}_updates_per_s"] = e["updates_per_s"]
            result[f"engine_{case}_ratio_vs_plain_torch"] = e["ratio"]
            if "ratio_vs_tfp_engine" in e:
                result[f"engine_{case}_ratio_vs_tfp_engine"] = e["ratio_vs_tfp_engine"]
            else:
                reasons[f"engine_{case}_ratio_vs_tfp_engine"] = e["tfp_engine_missing"]
            detail[f"engine_{case}"] = e

    def snapshot():
        r = measure_snapshot("c3", count=max(5, int(40 * s)), warm_steps=max(100, int(2000 * s)))
        result["snapshot_c3_ms"], result["snapshot_c3_kb"] = r["total_ms"], r["kb"]
        detail["snapshot_c3"] = r

    samples: dict[bool, list[float]] = {False: [], True: []}  # loaded or not: the 5 ms timer's lateness

    def live(case, loaded=False):
        def run():
            r = the_window().measure_live(case, live_seconds, loaded=loaded)
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
        result["gui_lateness_p50_ms"] = percentile(samples[False], 50)
        result["gui_lateness_p99_ms"] = percentile(samples[False], 99)
        detail["gui_timer_ticks"] = len(samples[False])

    def lateness_loaded():
        if not samples[True]:
            raise RuntimeError("no loaded live run finished")
        result["gui_lateness_p99_loaded_ms"] = percentile(samples[True], 99)
        detail["gui_lateness_p50_loaded_ms"] = percentile(samples[True], 50)
        detail["gui_timer_ticks_loaded"] = len(samples[True])

    def idle(loaded):  # the floor under the lateness figures: the same window, not training
        def run():
            lat = the_window().measure_live("c3", live_seconds, loaded=loaded, idle=True)["lateness_ms"]
            name = "loaded_idle" if loaded else "idle"
            detail[f"gui_lateness_p99_{name}_ms"] = percentile(lat, 99)
            detail[f"gui_lateness_p50_{name}_ms"] = percentile(lat, 50)
        return run

    def export():
        fps = the_window().measure_export_fps(15 if quick or scale < 1 else 40)
        result["export_fps"] = fps["fps"]
        detail["export"] = fps

    def compare_window():
        r = the_window().measure_compare_fps(live_seconds, warm_seconds=min(2.0, live_seconds))
        result["compare_drawn_fps"] = r["drawn_fps"]
        detail["compare_window"] = r

    def history():
        result["history_kb_per_1000_steps"] = measure_history_kb_per_1000_steps()

    def memory():
        first, last = (10_000, 100_000) if scale >= 1 else (max(100, int(10_000 * scale)), max(200, int(100_000 * scale)))
        r = measure_rss_growth_mb("c1", first, last)
        result["rss_growth_mb"] = r["growth_mb"]
        detail["rss"] = r

    startup_keys = ["startup_s", "startup_first_picture_s", "startup_cold_s", "startup_first_picture_cold_s"]
    parts = [(startup_keys, "start-up", startup),  # first: a quiet machine, nothing of ours running yet
             ([k for k in KEYS if k.startswith("engine")], "engine", engine),
             (["snapshot_c3_ms", "snapshot_c3_kb"], "snapshot", snapshot)]
    parts += [([f"live_{case}_epochs_per_s", f"live_{case}_ratio_vs_tfp_page_ceiling"], f"live window {case}",
               live(case)) for case in ("c1", "c3")]
    parts.append((["gui_lateness_p50_ms", "gui_lateness_p99_ms"], "GUI timer", lateness))
    parts += [([], f"live window {case} with {BUSY_PROCESSES} busy processes", live(case, loaded=True))
              for case in ("c1", "c3")]
    parts += [(["gui_lateness_p99_loaded_ms"], "GUI timer on a busy machine", lateness_loaded),
              ([], "GUI timer, window idle", idle(False)),
              ([], f"GUI timer, window idle, with {BUSY_PROCESSES} busy processes", idle(True)),
              (["export_fps"], "export", export),
              (["history_kb_per_1000_steps"], "export's history", history),
              (["rss_growth_mb"], "memory", memory),
              (bench_compare.KEYS, "compare mode", lambda: result.update(bench_compare.bench_keys(s))),
              (["compare_drawn_fps"], "compare window", compare_window)]
    for done, (keys, what, fn) in enumerate(parts):
        if progress is not None:
            progress(done, len(parts), what)
        attempt(keys, what, fn)
    result["reasons"] = reasons
    result["detail"] = detail
    result["targets"] = {key: verdict(key, result[key]) for key in TARGETS}
    result["constants"] = {"tfp_page_epochs_per_s": {
        "value": TFP_PAGE_EPOCHS_PER_S, "source": "TF Playground's page trains one epoch per animation frame "
        "(requestAnimationFrame, <= 60/s); a ceiling, not measured"}}
    result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "quick": quick,
                         "scale": scale, "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}
    return result
