"""CompareWindow: 2-6 variants racing side by side over many seeds, live (View → Compare, or
`playground gui EXPERIMENT --compare SPEC`).

One panel per variant with seed 0's decision boundary and its network (dead / saturated / sleeping
marks), drawn by the main window's own BoundaryView and NetworkView from real Snapshots; a table over
the seeds (loss, test accuracy mean and range, dead fraction, diverged seeds, steps to 95 %); one chart
of test accuracy over steps with a band (min to max over seeds) and a mean line per variant.

Training runs in a child process (CompareProcessWorker running compare_session.py's loop) that owns the
Comparison and sends immutable CompareFrames; the window draws the newest and tells the worker when it
has, so frames never pile up.
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QThread, QTimer, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QPainterPath, QShortcut
from PySide6.QtWidgets import (QApplication, QFileDialog, QFrame, QGraphicsPathItem, QGridLayout, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QMainWindow,
                               QPushButton, QSizePolicy, QSpacerItem, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..compare import MAX_SEEDS, TARGET_ACCURACY, CompareFrame, SpecError, parse_variants, table_csv
from ..compare_session import CompareSession, serve
from ..train_server import freeze
from ..experiment import Experiment
from . import colors
from .boundary_view import BoundaryView
from .charts import FollowsFont
from .controls import RunBar
from .network_view import NetworkView
from .window_panels import DEFAULT_SIZE, FRAME_ALLOWANCE, MINIMUM_SIZE

CHART_INTERVAL = 0.25  # s between chart redraws
CHART_POINTS = 400  # points a series at most: more than the chart's pixels across is only paint time
LINKS_INTERVAL = 1.0  # s between each panel's link redraws (NetworkView.links_interval): six panels of
# antialiased wide lines were the costliest part of a frame (at 0.5 s, ~40 % of the GUI's time at 6 × 20)
GRID = 60  # boundary and neuron maps per panel: 60×60 is plenty at panel size
TABLE_COLUMNS = ("variant", "loss", "test acc.", "min – max", "dead", "any dead", "diverged", "steps to 95%")
TABLE_TIPS = ("the variant (its panel's colour)", "training loss, mean over the seeds that have not diverged",
              "test accuracy, mean over seeds", "test accuracy of the worst and the best seed",
              "share of hidden neurons dead (SCIENCE.md's definition), mean over seeds",
              "seeds with at least one dead neuron",
              "seeds whose run diverged (non-finite loss or weights)",
              "median over seeds of the first probed step with test accuracy ≥ 95 % (reached / seeds)")


class CompareThreadWorker(QThread):
    """A CompareSession on a QThread of this process (tests; in-process use). Every public method
    is safe to call from the GUI."""

    sigFrame = Signal(object)  # CompareFrame
    sigRunning = Signal(bool)
    sigError = Signal(str)

    def __init__(self, variants, seeds: int, field: str | None, same_start: bool | None = None, grid_size: int = GRID):
        super().__init__()
        self._args = (variants, seeds, field, same_start, grid_size)
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self.steps_per_second = 0.0

    # ---- GUI thread ------------------------------------------------------------------------------
    def _send(self, command: str, value=None) -> None:
        self._commands.put((command, value))

    def play(self) -> None:
        self._send("play")

    def pause(self) -> None:
        self._send("pause")

    def step(self, n: int = 1) -> None:
        self._send("step", int(n))

    def reset(self) -> None:
        self._send("reset")

    def set_speed(self, steps_per_second: float | None) -> None:
        self._send("speed", steps_per_second)

    def frame_drawn(self) -> None:
        self._send("drawn")

    def stop(self, timeout_ms: int = 5000) -> None:
        self._send("quit")
        self.wait(timeout_ms)

    # ---- worker thread ---------------------------------------------------------------------------
    def run(self) -> None:  # Qt override
        session = CompareSession(*self._args, send=self._relay, shares_the_gil=True)

        def receive(block: bool):
            try:
                return self._commands.get(timeout=0.1) if block else self._commands.get_nowait()
            except queue.Empty:
                return None

        session.run(receive)

    def _relay(self, kind: str, value) -> None:
        if kind == "frame":
            self.sigFrame.emit(value)
        elif kind == "running":
            self.sigRunning.emit(value)
        elif kind == "error":
            self.sigError.emit(value)
        elif kind == "rate":
            self.steps_per_second = value


class CompareProcessWorker(CompareThreadWorker):
    """The same API, with the CompareSession in a child process (compare_session.serve): training
    and the window's drawing then each have a core instead of sharing one GIL. This QThread only
    relays the child's messages as signals (recv() waits without the GIL)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=serve, args=(child_conn, self._args), daemon=True,
                                        name="playground-compare")
        self._child_conn = child_conn
        self._lock = threading.Lock()

    def _send(self, command: str, value=None) -> None:
        with self._lock:
            try:
                self._conn.send((command, value))
            except (OSError, ValueError):  # the child is gone (closing): nothing to steer
                pass

    def stop(self, timeout_ms: int = 5000) -> None:
        self._send("quit")
        if self._process.pid is not None:
            self._process.join(timeout_ms / 1000)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(1.0)
        self.wait(timeout_ms)

    def run(self) -> None:  # Qt override: start the child, relay its messages
        self._process.start()
        self._child_conn.close()  # the child holds its own end now
        while True:
            try:
                kind, value = self._conn.recv()
            except (EOFError, OSError):
                if self._process.exitcode not in (0, None):
                    self.sigError.emit(f"the compare training process stopped (exit code {self._process.exitcode})")
                return
            if kind == "bye":
                return
            self._relay(kind, freeze(value) if kind == "frame" else value)


class PanelBoundary(BoundaryView):
    """The main window's BoundaryView without its colour bar and axes (one scale for every panel,
    said once in the note; the plane is the main window's ±6): in a sixth of a 1366-px screen the
    bar took half the width, and the axes were half of each frame's repaint (pyqtgraph replays
    each axis picture on every scene update)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.graphics.removeItem(self.colorbar)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override): square, nothing beside it
        w, h = self.width(), self.height()
        side = max(min(w, h), 50)
        pad_x, pad_y = max(0, (w - side) // 2), max(0, (h - side) // 2)
        self.layout().setContentsMargins(pad_x, 0, pad_x, 2 * pad_y)
        QWidget.resizeEvent(self, event)


class VariantPanel(FollowsFont, QFrame):
    """One variant: its name and scores, seed 0's boundary and network."""

    def __init__(self, name: str, color: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("variantPanel")
        self.setStyleSheet(f"#variantPanel {{ border: 2px solid {color}; border-radius: 4px; background: white; }}")
        # The title sits in its row at a fixed size, outside the layout (resizeEvent places it): a
        # label in a layout asks the whole window to lay out again whenever its text changes (every
        # frame here), and then repaints in each of the frame's paint passes (~2 ms a frame at 6 × 20).
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.name = name
        self.color = color
        self.boundary = PanelBoundary()
        self.network = NetworkView(editable=False)
        self.network.links_interval = LINKS_INTERVAL
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for view in (self.boundary, self.network):  # the stretch factors decide, not the views' own hints
            view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.network.setMinimumSize(200, 150)  # its window minimum (360 × 260) left the boundary 78 px at 1366
        row.addWidget(self.boundary, 2)
        row.addWidget(self.network, 3)
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 2, 4, 2)
        column.setSpacing(0)
        self._title_row = QSpacerItem(0, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        column.addItem(self._title_row)
        column.addLayout(row, 1)
        self._fit_title_row()
        self.snapshot = None

    def _fit_title_row(self) -> None:
        """The title's row as tall as one line of the label's rich text (what its size hint was)."""
        text = self.title.text()  # measured on one line of bold rich text, then put back (a paused
        self.title.setText("<b>■</b>")  # window gets no new title to replace a blank one)
        height = self.title.sizeHint().height()
        self.title.setText(text)
        self._title_row.changeSize(0, height, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        self.layout().invalidate()
        self._place_title()

    def _place_title(self) -> None:
        self.layout().activate()
        row = self._title_row.geometry()
        self.title.setGeometry(row)
        self.title.setFixedSize(row.size())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override): the title where its row is
        super().resizeEvent(event)
        self._place_title()

    def _apply_font(self) -> None:  # FollowsFont: a new font, a new row height
        self._fit_title_row()

    def show_variant(self, snapshot, result, seeds: int) -> None:
        self.snapshot = snapshot
        self.boundary.show_snapshot(snapshot)
        self.network.show_snapshot(snapshot)
        acc = result.test_accuracy
        scores = "every seed diverged" if acc.mean is None else f"test acc. {acc.mean:.2f} ({acc.min:.2f}–{acc.max:.2f})"
        diverged = f" · <b style='color:#e0001b'>{result.diverged}/{seeds} diverged</b>" if result.diverged else ""
        seed0 = "diverged" if snapshot.diverged else f"{snapshot.test_accuracy:.2f}"
        self.title.setText(
            f"<b style='color:{self.color}'>■ {self.name}</b> &nbsp;{scores} · dead {result.dead_fraction.mean:.0%}"
            f"{diverged} · <span style='color:#666'>seed 0: {seed0}</span>")
        self.title.setToolTip(f"test accuracy: mean (worst – best) over {seeds} seeds; dead: mean share of "
                              f"hidden neurons; the pictures below are seed 0's network")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 4, 5, 6, 8 × 10^k at or above value (at least 10): the chart's
    x range moves in these steps instead of on every frame, since each change re-renders both axes
    and the grid (pyqtgraph's AxisItem picture: ~a third of a frame's drawing when done each time)."""
    value = max(float(value), 10.0)
    power = 10.0 ** math.floor(math.log10(value))
    for mantissa in (1, 1.5, 2, 3, 4, 5, 6, 8, 10):
        if mantissa * power >= value * (1 - 1e-12):
            return mantissa * power
    return 10 * power


def thinned(steps: np.ndarray, limit: int) -> np.ndarray:
    """Row indices for at most about `limit` points along a series, the last one always in."""
    if len(steps) <= limit:
        return np.arange(len(steps))
    every = -(-len(steps) // limit)
    index = np.arange(0, len(steps), every)
    return index if index[-1] == len(steps) - 1 else np.append(index, len(steps) - 1)


def band_path(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> QPainterPath:
    """The closed outline from (x, high) forward and (x, low) back, skipping rows without a value
    (every seed diverged). One arrayToQPath call: pyqtgraph's FillBetweenItem rebuilt the band
    from its two curves' paths in Python, ~2 ms a band a redraw."""
    ok = np.isfinite(low) & np.isfinite(high)
    x, low, high = x[ok], low[ok], high[ok]
    if not len(x):
        return QPainterPath()
    path = pg.arrayToQPath(np.concatenate([x, x[::-1]]), np.concatenate([high, low[::-1]]), connect="all")
    path.closeSubpath()
    return path


class AccuracyChart(pg.PlotWidget):
    """Test accuracy over steps: per variant a band from the worst to the best seed and the mean."""

    def __init__(self, names: list[str], series: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setLabel("left", "test accuracy")
        self.setLabel("bottom", "step")
        self.setYRange(0.4, 1.0, padding=0.02)
        # Horizontal guides as lines of their own, not showGrid: the grid is drawn in the axes'
        # picture, and replaying it was ~20 ms of every chart repaint here (a third of a frame).
        for level in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
            self.addItem(pg.InfiniteLine(level, angle=0, pen=pg.mkPen("#e4e4e4")))
        target = pg.InfiniteLine(TARGET_ACCURACY, angle=0, pen=pg.mkPen("#999999", style=Qt.PenStyle.DashLine))
        target.setToolTip(f"{TARGET_ACCURACY:.0%}: the table's 'steps to 95%'")
        self.addItem(target)
        self.getPlotItem().vb.disableAutoRange()
        self.addLegend(offset=(-10, 10), labelTextSize="9pt")
        self.bands, self.means = [], []
        self._drawn_at = -math.inf
        self._x_max = None
        for name, color in zip(names, series):
            base = QColor(color)
            fill = QColor(base)
            fill.setAlpha(45)
            band = QGraphicsPathItem()
            band.setPen(pg.mkPen(None))
            band.setBrush(pg.mkBrush(fill))
            self.addItem(band)
            mean = self.plot(pen=pg.mkPen(base, width=2), name=name)
            self.bands.append(band)
            self.means.append(mean)
        colors.cache_decorations(self.getPlotItem())  # axes and legend from pixmaps: each redraw repainted them

    def show_frame(self, frame: CompareFrame, force: bool = False) -> None:
        """Redraw from `frame`, at most every CHART_INTERVAL seconds unless forced."""
        now = time.perf_counter()
        if not len(frame.steps) or (not force and now - self._drawn_at < CHART_INTERVAL):
            return
        self._drawn_at = now
        rows = thinned(frame.steps, CHART_POINTS)
        steps = frame.steps[rows].astype(np.float64)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a step where every seed has diverged: all NaN
            for v, (band, mean) in enumerate(zip(self.bands, self.means)):
                acc = frame.accuracy[rows, v, :]  # (T, seeds)
                band.setPath(band_path(steps, np.nanmin(acc, axis=1), np.nanmax(acc, axis=1)))
                mean.setData(steps, np.nanmean(acc, axis=1))
        x_max = nice_ceiling(steps[-1])
        if x_max != self._x_max:
            self._x_max = x_max
            self.setXRange(0, x_max, padding=0.01)


class CompareWindow(QMainWindow):
    """The compare window: a run bar, the variant panels, the table and the accuracy chart."""

    sigDrawn = Signal(object)  # a frame has just been drawn (tests and screenshots wait on it)

    def __init__(self, experiment: Experiment, spec: str, seeds: int = 10, same_start: bool | None = None,
                 start_worker: bool = True, grid_size: int = GRID, worker_class=None):
        """spec: a --variants spec; a bad one raises compare.SpecError before any window exists."""
        field, variants = parse_variants(spec, experiment)
        if not 1 <= seeds <= MAX_SEEDS:
            raise ValueError(f"seeds = {seeds} is not allowed: 1 to {MAX_SEEDS}")
        super().__init__()
        self.experiment, self.spec, self.seeds = experiment, spec, seeds
        self.variants = variants
        self.frame: CompareFrame | None = None
        self._latest: CompareFrame | None = None
        self.setWindowTitle(f"Compare {spec} · {seeds} seeds — playground")
        series = [colors.SERIES[i % len(colors.SERIES)] for i in range(len(variants))]
        self.run_bar = RunBar()
        self.note = QLabel()
        self.note.setStyleSheet("color: #555;")
        self.panels = [VariantPanel(v.name, c) for v, c in zip(variants, series)]
        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        columns = 2 if len(variants) in (2, 4) else 3
        for i, panel in enumerate(self.panels):
            grid.addWidget(panel, i // columns, i % columns)
        self.table = QTableWidget(len(variants), len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        for column, tip in enumerate(TABLE_TIPS):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # Interactive, sized by _fit_columns when a text outgrows its column: ResizeToContents
        # measured every cell again on each setText (~1 ms each, 15-20 a frame while training)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.chart = AccuracyChart([v.name for v in variants], series)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.table)
        bottom.addWidget(self.chart)
        bottom.setStretchFactor(0, 1)
        bottom.setStretchFactor(1, 1)
        bottom.setSizes([560, 560])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(grid_widget)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([560, 220])
        # every row in sight without scrolling: the header and one line a variant
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height()
                                    + len(variants) * self.table.verticalHeader().defaultSectionSize() + 6)
        self._bottom = bottom
        self.save_button = QPushButton("Save table…")
        self.save_button.setToolTip("the table as CSV, or the table and the chart as a PNG picture")
        self.save_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.save_button.clicked.connect(self._ask_save_table)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note, 1)
        note_row.addWidget(self.save_button)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(4, 0, 4, 4)
        column.setSpacing(2)
        column.addWidget(self.run_bar)
        column.addLayout(note_row)
        column.addWidget(split, 1)
        self.setCentralWidget(central)
        # 1280 × 800, but never past the screen's free area (title bar and task bars included): at
        # 1366 × 768 a fixed 800 px cut the chart's axis off the bottom of a laptop's screen
        area = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        room = area.size() - FRAME_ALLOWANCE
        self.setMinimumSize(MINIMUM_SIZE.boundedTo(room))
        self.resize(DEFAULT_SIZE.boundedTo(room))
        self._draw_timer = QTimer(self)
        self._draw_timer.setSingleShot(True)
        self._draw_timer.setInterval(0)
        self._draw_timer.timeout.connect(self._draw_latest)

        # the app trains in a child process; tests may pass CompareThreadWorker
        self.worker = (worker_class or CompareProcessWorker)(variants, seeds, field, same_start, grid_size)
        self.worker.sigFrame.connect(self._on_frame)
        self.worker.sigRunning.connect(self.run_bar.set_playing)
        self.worker.sigError.connect(lambda text: self.statusBar().showMessage(text))
        self.run_bar.sigPlay.connect(self.set_playing)
        self.run_bar.sigStep.connect(self.step_once)
        self.run_bar.sigReset.connect(self.worker.reset)
        self.run_bar.sigSpeed.connect(self.worker.set_speed)
        self.worker.set_speed(self.run_bar.speed.currentData())  # what the speed menu shows, from the start
        for key, slot in ((Qt.Key.Key_Space, lambda: self.set_playing(not self.run_bar.play_button.isChecked())),
                          (Qt.Key.Key_S, self.step_once), (Qt.Key.Key_Right, self.step_once),
                          (Qt.Key.Key_R, self.worker.reset)):
            QShortcut(QKeySequence(key), self).activated.connect(slot)
        if start_worker:
            self.worker.start()

    # ---- run control -----------------------------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        self.run_bar.set_playing(playing)
        (self.worker.play if playing else self.worker.pause)()

    def step_once(self) -> None:
        self.set_playing(False)
        self.worker.step(1)

    def train_steps(self, n: int) -> None:
        self.worker.step(n)

    # ---- drawing ---------------------------------------------------------------------------------
    def _on_frame(self, frame: CompareFrame) -> None:
        self._latest = frame
        if not self._draw_timer.isActive():
            self._draw_timer.start()

    def _draw_latest(self) -> None:
        frame, self._latest = self._latest, None
        if frame is None:
            return
        self.show_frame(frame)
        self.worker.frame_drawn()
        self.sigDrawn.emit(frame)

    def show_frame(self, frame: CompareFrame) -> None:
        """Draw one frame on every panel, the table and the chart: all at the same step."""
        self.frame = frame
        for panel, snapshot, result in zip(self.panels, frame.snapshots, frame.results):
            panel.show_variant(snapshot, result, frame.seeds)
        grown = set()
        for row, result in enumerate(frame.results):
            grown |= self._fill_row(row, result, frame.seeds)
        self._fit_columns(grown)
        self.chart.show_frame(frame, force=not self.run_bar.play_button.isChecked())
        rate = self.worker.steps_per_second * len(self.variants) * self.seeds if self.run_bar.play_button.isChecked() else 0
        self.run_bar.set_counts(frame.step, frame.epoch)
        self.run_bar.scores.setText(
            f"{len(self.variants)} variants × {frame.seeds} seeds" + (f" · {rate:,.0f} network-updates/s" if rate else ""))
        start = ("every variant starts from the first one's weights" if frame.same_start
                 else "each variant starts from its own init")
        self.note.setText(f"Seed s: the same data and minibatches in every variant; {start}. Panels: seed 0 "
                          f"(P(label 1): orange 0 → blue 1); table and chart: all {frame.seeds} seeds.")

    def _fit_columns(self, columns) -> None:
        """Widen (never narrow, so the table does not twitch) the columns whose text outgrew them;
        the first time, fit every column to its text (Interactive starts them all at ~100 px, which
        cut "steps to 95%" off at 1366 px)."""
        header = self.table.horizontalHeader()
        if not getattr(self, "_columns_fitted", False):
            self._columns_fitted = True
            for column in range(self.table.columnCount() - 1):  # the last one stretches to the edge
                self.table.resizeColumnToContents(column)
            return
        for column in sorted(columns):
            if column < self.table.columnCount() - 1:  # the last one stretches to the table's edge
                width = max(self.table.sizeHintForColumn(column), header.sectionSizeHint(column))
                if width > header.sectionSize(column):
                    header.resizeSection(column, width)

    def _fill_row(self, row: int, result, seeds: int) -> set:
        """Set row's texts; returns the columns whose text changed length (they may need widening)."""
        acc, loss = result.test_accuracy, result.train_loss
        if result.steps_to_95 is None:  # the median seed has not got there (yet)
            steps = f"median not reached ({result.reached_95}/{seeds})" if result.reached_95 else "not reached"
        else:
            steps = f"{result.steps_to_95:,.0f} ({result.reached_95}/{seeds})"
        none = acc.mean is None  # every seed diverged
        cells = (result.name, "—" if loss.mean is None else f"{loss.mean:.3f}", "—" if none else f"{acc.mean:.3f}",
                 "—" if none else f"{acc.min:.2f} – {acc.max:.2f}", f"{result.dead_fraction.mean:.1%}",
                 f"{result.seeds_with_dead}/{seeds}", f"{result.diverged}/{seeds}", steps)
        grown = set()
        for column, text in enumerate(cells):
            item = self.table.item(row, column)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, column, item)
                if column == 0:
                    item.setForeground(QColor(self.panels[row].color))
            old = item.text()
            if old != text:  # only what changed: each setText repaints its cell
                item.setText(text)
                if len(text) > len(old):
                    grown.add(column)
        return grown

    # ---- export ----------------------------------------------------------------------------------
    def _ask_save_table(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the table", "compare.csv",
                                              "CSV table (*.csv);;PNG picture of the table and chart (*.png)")
        if path:
            problem = self.save_table(path)
            self.statusBar().showMessage(problem or f"Saved {path}", 8000)

    def save_table(self, path: str) -> str | None:
        """Write the table shown as .csv, or the table and the chart as they look as .png.
        Returns None, or what went wrong in one line (nothing half-written is left)."""
        frame = self.frame
        if frame is None:
            return "nothing to save yet: no frame has been drawn"
        suffix = Path(path).suffix.lower()
        if suffix not in (".csv", ".png"):
            return f"{path}: allowed: a .csv or a .png file"
        tmp = Path(path).with_name(Path(path).name + ".tmp" + suffix)
        try:
            if suffix == ".csv":
                tmp.write_text(table_csv(list(frame.results), frame.seeds), encoding="utf-8")
            elif not self._bottom.grab().save(str(tmp)):
                return f"{path}: cannot write the picture there"
            tmp.replace(path)
        except OSError as error:
            return f"{path}: cannot write there ({error.strerror or error})"
        finally:
            if tmp.exists():
                tmp.unlink()
        return None

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        if self.worker.isRunning():
            self.worker.stop()


def open_compare(parent: QWidget, experiment: Experiment) -> CompareWindow | None:
    """View → Compare: ask for the variants and seeds, open a CompareWindow on this experiment."""
    spec, ok = QInputDialog.getText(parent, "Compare", "Variants (FIELD=V1,V2,…):",
                                    text="activation=relu,leaky_relu,elu")
    if not ok:
        return None
    seeds, ok = QInputDialog.getInt(parent, "Compare", f"Seeds per variant (1–{MAX_SEEDS}):", 10, 1, MAX_SEEDS)
    if not ok:
        return None
    try:
        window = CompareWindow(experiment, spec, seeds)
    except (SpecError, ValueError) as error:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.warning(parent, "Compare", str(error))
        return None
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    parent._compare_windows = [w for w in getattr(parent, "_compare_windows", []) if w.isVisible()] + [window]
    window.show()
    return window


def run_compare(experiment_path: str | None, spec: str, seeds: int = 10, steps: int = 0,
                screenshot: str | None = None, size: tuple[int, int] | None = None) -> int:
    """`playground gui [EXPERIMENT] --compare SPEC`: the compare window; with --screenshot, train
    `steps`, save the window and exit. A bad spec or file: one line on stderr, exit 2."""
    import os
    import sys

    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from ..experiment import ExperimentError
    from .screen import SCREENSHOT_TIMEOUT_S, default_experiment, has_screen
    from .export_render import quiet_harmless_qt_messages

    try:
        experiment = Experiment.load(experiment_path) if experiment_path else default_experiment()
        parse_variants(spec, experiment)
    except (ExperimentError, SpecError) as error:
        print(f"playground: {error}", file=sys.stderr)
        return 2
    if not has_screen():
        if not screenshot:
            print("playground: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                  "without one: playground gui FILE --compare SPEC --steps 300 --screenshot out.png", file=sys.stderr)
            return 2
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    quiet_harmless_qt_messages()
    colors.configure_pyqtgraph()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("playground")
    try:
        window = CompareWindow(experiment, spec, seeds)
    except ValueError as error:  # e.g. --same-start with variants of different layer sizes
        print(f"playground: {error}", file=sys.stderr)
        return 2
    if size:
        window.resize(*size)
    elif screenshot:  # the picture fills the (virtual) screen, as a maximised window would
        window.resize(app.primaryScreen().availableSize())
    window.show()
    if not screenshot:
        if steps:
            window.train_steps(steps)
        code = app.exec()
        window.shutdown()
        return code
    loop = QEventLoop()
    window.sigDrawn.connect(lambda frame: frame.step >= steps and loop.quit())
    if steps:
        window.train_steps(steps)
    QTimer.singleShot(SCREENSHOT_TIMEOUT_S * 1000, loop.quit)
    if window.frame is None or window.frame.step < steps:
        loop.exec()
    for _ in range(3):
        app.processEvents()
    ok = window.grab().save(screenshot)
    window.shutdown()
    window.close()
    if not ok:
        print(f"playground: cannot write the screenshot {screenshot!r} (allowed: a writable .png path)", file=sys.stderr)
        return 1
    print(f"playground: saved {screenshot} at step {window.frame.step if window.frame else 0}")
    return 0


def export_comparison(experiment: Experiment, spec: str, seeds: int, steps: int, out: str, *, frames: int = 60,
                      size: tuple[int, int] = (1280, 720), fps: float = 10.0, same_start: bool | None = None,
                      progress=None):
    """The comparison as one side-by-side animation (GIF or MP4; PNG: the last frame): the compare
    window itself, drawn offscreen every steps/frames steps while the comparison trains here.
    Returns (the Comparison, trained to `steps`; the number of frames written). Raises
    export.ExportError (an OSError while writing too: writers.write_failure) or compare.SpecError;
    a failed export leaves no file."""
    from ..compare import Comparison, make_frame
    from ..export import ExportOptions, check_frame_count, format_for
    from ..writers import AtomicFile, open_writer, write_failure
    from .export_render import qimage_to_rgb

    fmt = format_for(out)
    field, variants = parse_variants(spec, experiment)
    every = max(1, steps // max(frames, 1))
    marks = list(range(0, steps + 1, every))
    if marks[-1] != steps:
        marks.append(steps)
    check_frame_count(len(marks), ExportOptions(format=fmt, size=size))
    target = AtomicFile(out)  # an unwritable place fails here, before any training
    window = CompareWindow(experiment, spec, seeds, same_start, start_worker=False)
    writer = None
    try:
        window.setFixedSize(*size)
        window.show()
        comparison = Comparison(variants, seeds=seeds, same_start=same_start, field=field)
        writer = open_writer(fmt, target.temp, size, fps)
        for i, mark in enumerate(marks):
            comparison.step(mark - comparison.step_count)
            comparison.finish()
            window.show_frame(make_frame(comparison, GRID))
            window.chart.show_frame(window.frame, force=True)
            QApplication.processEvents()
            writer.append(qimage_to_rgb(window.grab().toImage()))
            if progress:
                progress(i + 1, len(marks))
        writer.close()
        target.commit()
    except BaseException as error:
        if writer is not None:
            writer.abort()
        target.discard()
        if isinstance(error, OSError):  # a full disk, ffmpeg gone: one line for the user, as Exporter's
            raise write_failure(target.path, error) from None
        raise
    finally:
        window.close()
    return comparison, len(marks)
