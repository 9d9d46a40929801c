"""How fast the compare window draws while it trains: `compare_window_fps`, for bench and by hand.

`python -m playground.ui.compare_bench [SECONDS]` prints the figures as JSON (run it with
QT_QPA_PLATFORM=offscreen, or under xvfb-run). The workload is bench_compare's: issue 10's
6 activations × 20 seeds of a 2-8-8-1 net, batch 10, trained in the window's own child process.
`… compare_bench paint [FRAMES]` prints `compare_paint_ms`: the GUI's CPU time per frame on
frames made beforehand, no training beside it (old and new code compare on it in seconds).
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication

from ..bench_compare import SEEDS, SPEC
from ..experiment import Experiment


class _PaintCounter(QObject):
    """Counts paint events of the widgets it watches: a frame is drawn once they have painted."""

    def __init__(self, on_paint):
        super().__init__()
        self.on_paint = on_paint

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Paint:
            self.on_paint()
        return False


def compare_window_fps(seconds: float = 5.0, seeds: int = SEEDS, spec: str = SPEC, size=(1366, 768),
                       warm_seconds: float = 2.0, worker_class=None) -> dict:
    """Play the compare window for `seconds` (after `warm_seconds`) and count what it drew.

    Returns drawn_fps (frames the window showed and then painted, per second), show_ms_p50 and
    p90 (the GUI thread's time in show_frame per frame: updating items, before Qt paints),
    paint_ms_p50 (from show_frame's end to the paint that follows), steps_per_s and the frame
    count. A frame counts as drawn only when the first panel's boundary has painted after it."""
    from .compare_window import CompareWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    base = Experiment.from_dict({"network": {"hidden": [8, 8]}, "training": {"batch_size": 10}})
    kwargs = {"worker_class": worker_class} if worker_class else {}
    window = CompareWindow(base, spec, seeds, **kwargs)
    window.resize(*size)
    window.show()
    shows, paints, drawn = [], [], []
    state = {"pending": None, "measuring": False}

    def on_paint():  # the first paint after a show_frame: that frame is on the screen
        pending = state["pending"]
        if pending is not None:
            state["pending"] = None
            if state["measuring"]:
                now = time.perf_counter()
                paints.append(now - pending)
                drawn.append(now)

    painter = _PaintCounter(on_paint)
    viewport = window.panels[0].boundary.plot.getViewBox().scene().views()[0].viewport()
    viewport.installEventFilter(painter)
    original = window.show_frame

    def timed_show(frame):
        start = time.perf_counter()
        original(frame)
        end = time.perf_counter()
        if state["measuring"]:
            shows.append(end - start)
        state["pending"] = end

    window.show_frame = timed_show

    try:
        deadline = time.perf_counter() + 30
        while window.frame is None and time.perf_counter() < deadline:
            _spin(app, 0.02)
        if window.frame is None:
            raise RuntimeError("the compare window drew no frame in 30 s")
        window.set_playing(True)
        _spin(app, warm_seconds)
        step_from = window.frame.step
        state["measuring"] = True
        started = time.perf_counter()
        _spin(app, seconds)
        elapsed = time.perf_counter() - started
        state["measuring"] = False
        steps = window.frame.step - step_from
        window.set_playing(False)
    finally:
        window.shutdown()
        window.close()
    return {"drawn_fps": len(drawn) / elapsed, "frames": len(drawn),
            "show_ms_p50": 1000 * statistics.median(shows) if shows else float("nan"),
            "show_ms_p90": 1000 * sorted(shows)[int(0.9 * (len(shows) - 1))] if shows else float("nan"),
            "paint_ms_p50": 1000 * statistics.median(paints) if paints else float("nan"),
            "steps_per_s": steps / elapsed, "networks": len(window.variants) * seeds, "seconds": elapsed}


def compare_paint_ms(frames: int = 60, seeds: int = SEEDS, spec: str = SPEC, size=(1366, 768),
                     experiment: Experiment | None = None, steps_per_frame: int = 7, pace: float = 0.02) -> dict:
    """The GUI thread's CPU time per frame: show_frame and the paint passes that follow it.

    The frames are made here first (training not timed), then drawn one after another as if
    playing, `pace` s apart so the chart's and the links' throttles see about real time. CPU time
    of this thread (time.thread_time), not wall time: the figure hardly moves with what else the
    machine runs, so old and new code compare in a few seconds. Returns cpu_ms_mean, cpu_ms_p50,
    cpu_ms_p90 and the frame count."""
    from ..compare import Comparison, make_frame, parse_variants
    from .compare_window import GRID, CompareWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    base = experiment or Experiment.from_dict({"network": {"hidden": [8, 8]}, "training": {"batch_size": 10}})
    field, variants = parse_variants(spec, base)
    comparison = Comparison(variants, seeds=seeds, field=field)
    made = []
    for _ in range(frames + 1):
        comparison.step(steps_per_frame)
        comparison.finish()
        made.append(make_frame(comparison, GRID))
    window = CompareWindow(base, spec, seeds, start_worker=False)
    try:
        window.resize(*size)
        window.show()
        window.show_frame(made[0])
        for _ in range(3):
            app.processEvents()
        window.run_bar.set_playing(True)  # as while training: the chart redraws every CHART_INTERVAL
        cpu = []
        for frame in made[1:]:
            start = time.thread_time()
            window.show_frame(frame)
            app.processEvents()  # the widgets' paint pass
            app.processEvents()  # and the one for the plots (their scenes update on the next pass)
            cpu.append(time.thread_time() - start)
            time.sleep(pace)
    finally:
        window.close()
    ms = sorted(1000 * t for t in cpu)
    return {"cpu_ms_mean": statistics.mean(ms), "cpu_ms_p50": statistics.median(ms),
            "cpu_ms_p90": ms[int(0.9 * (len(ms) - 1))], "frames": len(ms)}


def _spin(app, seconds: float) -> None:
    """Run the event loop for `seconds`, as app.exec() would."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


if __name__ == "__main__":
    if sys.argv[1:2] == ["paint"]:  # python -m playground.ui.compare_bench paint [FRAMES]
        print(json.dumps(compare_paint_ms(int(sys.argv[2]) if len(sys.argv) > 2 else 60), indent=1))
    else:
        print(json.dumps(compare_window_fps(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0), indent=1))
