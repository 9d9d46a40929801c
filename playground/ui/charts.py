"""Charts over steps: loss, accuracy, neuron health, and per-layer gradient norm (log scale).

All drawn from a Snapshot's History. Each plot's curves are one Polylines item, given new data
each time the plot is redrawn; the gradient-norm plot has a curve per weight layer.
"""

from __future__ import annotations

import html
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics, QFontMetricsF, QPen
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from . import colors
from .polylines import Polylines


def _pen(index: int, dashed: bool = False, width: float = 2.0):
    from PySide6.QtCore import Qt

    return pg.mkPen(colors.SERIES[index % len(colors.SERIES)], width=width,
                    style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)


PLOTS = ("loss", "accuracy", "health", "grads")  # the window redraws one a frame, in this order
FALLBACK_DELAY = 0.15  # s after min_interval: draw the newest if no snapshot came to draw it
PX_PER_POINT = 2.0  # the curves keep about one history row per this many pixels of plot width
GRAD_SMOOTHING = 8  # records in the gradient-norm curves' trailing geometric mean
TITLE_TIPS = {
    "loss": "training and test loss over the steps",
    "accuracy": "training and test accuracy over the steps",
    "health": "the share of hidden neurons that are dead, saturated or sleeping",
    "grads": f"each weight layer's gradient norm ‖∂L/∂W‖ on a log scale, a geometric mean over the last "
             f"{GRAD_SMOOTHING} records; L1 is the first layer, out the output layer",
}


def _nice_ceil(value: float) -> float:
    """The next round number (1, 1.5, 2, 3, 4, 5, 6, 8 × 10^k) at or above value (at least 1e-3)."""
    value = max(value, 1e-3)
    decade = 10.0 ** math.floor(math.log10(value))
    for factor in (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if factor * decade >= value * (1 - 1e-9):
            return factor * decade
    return 10.0 * decade


class FollowsFont:
    """Mixin for a view whose text follows its font (presentation mode enlarges the window's): on
    every font change, the view's _apply_font() runs. Put it before the Qt class: (FollowsFont, QWidget)."""

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.FontChange:
            self._apply_font()
        super().changeEvent(event)


class FontAxis(pg.AxisItem):
    """An axis whose ticks are never closer than their labels need at the axis's own font.

    pyqtgraph picks tick spacing by axis length alone, so a 1.35x presentation font on a 1280 px
    projector ran the step labels together ("5001000"). Here the spacing is the finest 1-2-5 step
    whose labels fit with a gap of most of a character between them; in log mode, whole decades
    (1, 2, 3, 5 … apart) labelled 0.01, 0.1, 1 rather than pyqtgraph's minor 2 … 9 ticks.
    """

    def _metrics(self) -> QFontMetricsF:
        return QFontMetricsF(self.style["tickFont"] or self.font())

    def _extent(self, labels: list[str]) -> float:
        """How much of the axis a row of labels takes: their width (x) or their height (y)."""
        metrics = self._metrics()
        if self.orientation in ("top", "bottom"):
            return max((metrics.horizontalAdvance(t) for t in labels), default=0.0) + metrics.height() * 0.8
        return metrics.height() * 1.6

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph override)
        if self._tickSpacing is not None:
            return self._tickSpacing
        span = abs(maxVal - minVal)
        if span == 0 or size <= 0:
            return []
        if self.logMode:
            steps = [1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0]
        else:
            exponent = math.floor(math.log10(span)) - 3
            steps = [f * 10.0 ** e for e in range(exponent, exponent + 6) for f in (1.0, 2.0, 5.0)]
        # no label is narrower than most of a line: skip the steps that could not fit, so at most a
        # few dozen labels are ever measured (a 300k-step axis at step 100 would be 3,000)
        finest = span * self._metrics().height() * 0.8 / size
        for step in steps:
            if step < finest and step != steps[-1]:
                continue
            start = math.ceil(min(minVal, maxVal) / step) * step
            values = list(np.arange(start, max(minVal, maxVal) + step * 1e-6, step))
            labels = self.tickStrings(values, self.autoSIPrefixScale * self.scale, step)
            if step / span * size >= self._extent(labels):
                return [(step, 0.0)]
        return [(steps[-1], 0.0)]

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph override)
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        levels = self.tickSpacing(minVal, maxVal, size)
        if not levels:
            return []
        step = levels[0][0]
        low, high = sorted((minVal, maxVal))
        first = math.ceil(low / step - 1e-9) * step
        return [(step, list(np.arange(first, high + 1e-9, step)))]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph override)
        if self.logMode:
            return [f"{10.0 ** v:g}" for v in values]
        return super().tickStrings(values, scale, spacing)


class StepAxis(FontAxis):
    """Training steps on the x axis, in short form past 10,000 (50k, 1.5M): long runs at full speed
    printed "100000200000300000" in a 250 px plot."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph override)
        return [_short_steps(v * scale) for v in values]


def _short_steps(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


class ChartsView(FollowsFont, QWidget):
    """Four small plots side by side (or in a grid): loss, accuracy, neuron states, gradient norms."""

    def __init__(self, parent: QWidget | None = None, columns: int = 4, min_interval: float = 0.0):
        super().__init__(parent)
        self.min_interval = min_interval  # s between redraws; the window uses 0.1 (charts move slowly)
        self._pending = None  # the newest snapshot given
        self._drawn: dict[str, object] = {}  # plot -> the snapshot it shows
        self._turn = 0  # the plot prepare() looks at first
        self._last_draw = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._draw_pending)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setSpacing(4)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self.plots = {}
        # Each plot's legend is part of its title ("Loss ━ train ━ test"): a strip of its own above
        # the data, so it never covers a curve, and it grows with the font like the title.
        self.titles = {"loss": "Loss", "accuracy": "Accuracy", "health": "Neurons",
                       "grads": "‖∂L/∂W‖ per layer"}
        self.keys: dict[str, list[tuple[str, str]]] = {
            "loss": [("train", colors.SERIES[0]), ("test", colors.SERIES[1])],
            "accuracy": [("train", colors.SERIES[0]), ("test", colors.SERIES[1])],
            "health": [("dead", colors.STATE_COLORS[3]), ("saturated", colors.STATE_COLORS[2]),
                       ("sleeping", colors.SERIES[8])],
            "grads": [],
        }
        self._title_lines: dict[str, list[str]] = {}
        self._titles_timer = QTimer(self)
        self._titles_timer.setSingleShot(True)
        self._titles_timer.setInterval(0)
        self._titles_timer.timeout.connect(self._render_titles)
        for i, key in enumerate(self.titles):
            if i and i % columns == 0:
                self.graphics.nextRow()
            plot = self.graphics.addPlot(title=self.titles[key],
                                         axisItems={"bottom": StepAxis("bottom"), "left": FontAxis("left")})
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(False, False)
            plot.showGrid(x=False, y=True, alpha=0.25)
            _wrapped_title(plot.titleLabel)
            plot.titleLabel.setToolTip(TITLE_TIPS[key])
            # re-wrap once the layout has given the plot its width (settles: unchanged lines return early)
            plot.titleLabel.geometryChanged.connect(self._titles_timer.start)
            self.plots[key] = plot
        for plot in self.plots.values():
            colors.cache_decorations(plot)
        if columns == 4:  # the neuron states' and a deep net's legends are the longest: a little more room
            for column, stretch in enumerate((10, 10, 12, 13)):
                self.graphics.ci.layout.setColumnStretchFactor(column, stretch)
        p = self.plots
        # each plot's curves as (History field, pen); the gradients' as (layer label, pen), one per weight layer
        self.series: dict[str, list[tuple[str, QPen]]] = {
            "loss": [("train_loss", _pen(0)), ("test_loss", _pen(1))],
            "accuracy": [("train_accuracy", _pen(0)), ("test_accuracy", _pen(1))],
            "health": [("dead_fraction", pg.mkPen(colors.STATE_COLORS[3], width=2)),
                       ("saturated_fraction", pg.mkPen(colors.STATE_COLORS[2], width=2)),
                       ("sleeping_fraction", _pen(8))],
            "grads": [],
        }
        self.lines = {key: Polylines() for key in PLOTS}  # all of a plot's curves, one item (see polylines)
        for key, lines in self.lines.items():
            p[key].addItem(lines)
        # Ranges are set by hand in coarse steps: an auto range moves every frame, and every move
        # re-renders the axes (most of a chart's drawing cost).
        for plot in p.values():
            plot.disableAutoRange()
        self._ranges: dict[str, tuple] = {}
        p["grads"].setLogMode(y=True)  # its axis labels decades; its curves are given log10 values
        # when every layer's gradient is exactly zero (all units dead) a log plot would just be empty
        self.no_gradient = QLabel("no gradient reaches any weight:\nevery layer's ‖∂L/∂W‖ is 0", self.graphics)
        self.no_gradient.setStyleSheet(f"color: {colors.STATE_COLORS[3]}; font-weight: bold; background: transparent;")
        self.no_gradient.setWordWrap(True)
        self.no_gradient.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_gradient.hide()
        self._apply_font()

    def show_snapshot(self, snapshot) -> None:
        """Draw a Snapshot's history in every plot, now (a picture, an export's frame)."""
        self._pending = snapshot
        self.flush()

    def prepare(self, snapshot) -> list:
        """The window's step of drawing `snapshot`: one plot, or [] when it is too soon.

        One plot a frame, in turn, each redrawn at most every min_interval: the four plots in one
        frame were ~23 ms of the GUI thread on C3 (pyqtgraph's Python, ~0.5-0.9 ms a curve), the
        biggest part of a frame's ~40 ms, and 2-3 times that with the machine busy (issue 15: the
        window's timer waited behind them). Quiet, a frame takes ~50 ms, so each plot still moves
        ~5 times a second (6 before). The newest snapshot is kept; the timer draws what is left of
        it, one plot a pass of the event loop, once snapshots stop coming.
        """
        self._pending = snapshot
        self._timer.start(int((self.min_interval + FALLBACK_DELAY) * 1000))
        if time.perf_counter() - self._last_draw < self.min_interval / len(PLOTS):
            return []
        key = self._next_stale()
        return [] if key is None else [lambda: self._draw_plot(key, snapshot)]

    def flush(self) -> None:
        """Draw the newest snapshot in every plot now (before a screenshot)."""
        self._timer.stop()
        while (key := self._next_stale()) is not None:
            self._draw_plot(key, self._pending)

    def _draw_pending(self) -> None:
        """The fallback timer: one plot still behind the newest snapshot, then the next in a pass of its own."""
        key = self._next_stale()
        if key is not None:
            self._draw_plot(key, self._pending)
            if self._next_stale(advance=False) is not None:
                self._timer.start(0)

    def _next_stale(self, advance: bool = True) -> str | None:
        """The next plot, in turn, that does not show the newest snapshot yet (None: all do)."""
        if self._pending is None:
            return None
        for i in range(len(PLOTS)):
            key = PLOTS[(self._turn + i) % len(PLOTS)]
            if self._drawn.get(key) is not self._pending:
                if advance:
                    self._turn = (self._turn + i + 1) % len(PLOTS)
                return key
        return None

    def _draw_plot(self, key: str, snapshot) -> None:
        self._last_draw = time.perf_counter()
        self._drawn[key] = snapshot
        history = snapshot.history
        # Up to 2,000 rows in plots ~250 px wide: wide pens cost per segment (1,000 rows made a chart
        # repaint ~25 ms), so the curves get about one row per PX_PER_POINT pixels, last row included.
        rows = self._rows(len(history.steps))
        steps = history.steps[rows].astype(np.float64)
        # at least 0-10 steps: at step 0 a zero-width range made pyqtgraph print 0.0002-wide ticks on top of each other
        x = (0.0, _nice_ceil(max(float(steps[-1]) if len(steps) else 0.0, 10.0)))

        def curves(plot: str, y) -> None:
            fields, pens = zip(*self.series[plot])
            self.lines[plot].set_curves(steps, [getattr(history, name)[rows] for name in fields], list(pens))
            self._set_range(plot, x, y() if callable(y) else y)

        def loss_top() -> tuple:
            losses = np.concatenate([history.train_loss, history.test_loss])
            losses = losses[np.isfinite(losses)]
            return (0.0, _nice_ceil(float(losses.max())) if len(losses) else 1.0)

        if key == "loss":
            curves("loss", loss_top)
        elif key in ("accuracy", "health"):
            curves(key, (0.0, 1.0))
        else:
            self._draw_grads(history, rows, steps, x)

    def _draw_grads(self, history, rows, steps: np.ndarray, x: tuple) -> None:
        norms = history.grad_norms  # (T, n_weight_layers)
        n_layers = norms.shape[1] if norms.ndim == 2 else 0
        if n_layers != len(self.series["grads"]):
            self._make_grad_series(n_layers)
        # smoothed over every row, then the rows shown; log10, as the log-scale axis expects
        columns = [np.log10(smooth_log(np.asarray(norms[:, i], np.float64))[rows]) for i in range(n_layers)]
        self.lines["grads"].set_curves(steps, columns, [pen for _, pen in self.series["grads"]])
        self._set_grads_range(history, x)
        last = norms[-1] if len(norms) else np.array([np.nan])
        self._show_no_gradient(bool(np.all(last == 0)))

    def _rows(self, n: int) -> np.ndarray | slice:
        """Which history rows the curves show: every k-th, so a curve has ~1 point per PX_PER_POINT px."""
        width = min(plot.vb.width() for plot in self.plots.values())
        keep = max(50, int(width / PX_PER_POINT))
        if n <= keep:
            return slice(None)
        rows = np.arange(0, n, int(math.ceil(n / keep)))
        if rows[-1] != n - 1:
            rows = np.append(rows, n - 1)  # the newest row always shows
        return rows

    def _show_no_gradient(self, show: bool) -> None:
        if show:
            # the data area, axes and the title strip (where the legend is) left out
            area = self.graphics.mapFromScene(self.data_rect("grads")).boundingRect()
            # as wide as it needs, but never past the plot: wrapped onto more lines when it would be
            # (presentation mode's bigger font on a 1280 px projector)
            self.no_gradient.setFixedWidth(10_000)
            natural = self.no_gradient.sizeHint().width()
            self.no_gradient.setFixedWidth(max(60, min(natural, int(area.width()) - 8)))
            height = min(self.no_gradient.heightForWidth(self.no_gradient.width()), max(area.height() - 2, 10))
            self.no_gradient.setFixedHeight(height)
            self.no_gradient.move(int(area.center().x() - self.no_gradient.width() / 2),
                                  max(area.top() + 1, int(area.center().y() - height / 2)))
        self.no_gradient.setVisible(show)

    def note_rect(self) -> QRectF:
        """Where the "no gradient" note is, in the scene's coordinates (tests)."""
        g = self.no_gradient.geometry()
        return self.graphics.mapToScene(g).boundingRect()

    def _set_range(self, key: str, x: tuple | None, y: tuple | None) -> None:
        if self._ranges.get(key) == (x, y):
            return
        self._ranges[key] = (x, y)
        if x is not None:
            self.plots[key].setXRange(*x, padding=0.02)
        if y is not None:
            self.plots[key].setYRange(*y, padding=0.04)

    def _set_grads_range(self, history, x: tuple) -> None:
        norms = np.asarray(history.grad_norms, np.float64)
        norms = norms[np.isfinite(norms) & (norms > 0)]
        # whole decades, in log10 units (the plot is in log mode); before any gradient, 0.001 to 10
        # rather than pyqtgraph's default, which labels minor ticks 2 ... 9 of a decade
        low, high = (np.floor(np.log10(norms.min())), np.ceil(np.log10(norms.max()))) if len(norms) else (-3.0, 1.0)
        high = max(high, low + 1)  # the axis labels whole decades, as many as its height holds
        self._set_range("grads", x, (float(low), float(high)))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        # the plots take their new sizes once the scene has its own: then wrap the titles and
        # follow with the note
        QTimer.singleShot(0, self, self._after_resize)

    def _after_resize(self) -> None:
        self._render_titles()
        if self.no_gradient.isVisible():
            self._show_no_gradient(True)

    def _apply_font(self) -> None:
        """Axis labels, titles and legends in the widget's font (the window's, bigger when presenting)."""
        font = QFont(self.font())
        for plot in self.plots.values():
            for name in ("bottom", "left"):
                plot.getAxis(name).setStyle(tickFont=font)
        self._fix_axis_widths(font)
        self._title_lines = {}
        self._render_titles()

    def _render_titles(self) -> None:
        """Each title with its legend: on one line when it fits the plot, else the legend on a line of
        its own under the title; every title as tall as the tallest, so the data areas line up."""
        font = self.font()
        metrics = QFontMetricsF(font)
        lines = {}
        for key, plot in self.plots.items():
            # the title spans the data column only (not the left axis); its text has a 4 px margin each side
            width = plot.titleLabel.width() or plot.geometry().width() - plot.getAxis("left").width()
            room = max(width, 40.0) - 10
            title = html.escape(self.titles[key])
            title_w = metrics.horizontalAdvance(self.titles[key] + "    ")
            key_html, key_w = _legend_line(self.keys[key], room - title_w, font)
            if key_w <= room - title_w:
                lines[key] = [f"{title}&nbsp;&nbsp;&nbsp;&nbsp;{key_html}" if key_html else title]
            else:
                lines[key] = [title, _legend_line(self.keys[key], room, font)[0]]
        if lines == self._title_lines:
            return
        self._title_lines = lines
        n_lines = max(len(v) for v in lines.values())
        height = math.ceil(metrics.lineSpacing() * n_lines + metrics.height() * 0.35)
        for key, plot in self.plots.items():
            label = plot.titleLabel
            label.setText("<br>".join(lines[key]), size=f"{font.pointSizeF():g}pt")
            label.setMaximumHeight(height)
            plot.layout.setRowFixedHeight(0, height)

    def legend_rect(self, key: str) -> QRectF:
        """Where a plot's legend is (its title strip), in the scene's coordinates."""
        return self.plots[key].titleLabel.sceneBoundingRect()

    def data_rect(self, key: str) -> QRectF:
        """A plot's data area, in the scene's coordinates."""
        return self.plots[key].vb.sceneBoundingRect()

    def _fix_axis_widths(self, font: QFont | None = None) -> None:
        """Left axes of a fixed width, wide enough for the labels each plot shows.

        By default an axis widens or narrows with its labels; each change re-lays out the whole
        strip and re-renders every cached axis and legend (a 40–50 ms repaint, e.g. each time the
        gradient plot gains a decade).
        """
        # the loss axis fits an exploding run's "4e+28" too: narrower, its labels simply vanished
        widest = {"loss": "4e+28", "accuracy": "0.8", "health": "0.8", "grads": "0.0001"}
        for key, plot in self.plots.items():
            axis = plot.getAxis("left")
            metrics = QFontMetrics(font or axis.style["tickFont"] or axis.font())  # the labels' own font
            axis.setWidth(metrics.horizontalAdvance(widest[key]) + axis.style["tickTextOffset"][0] + 2)

    def curve_data(self, field: str) -> tuple[np.ndarray, np.ndarray]:
        """The x and y a History field's curve shows now (tests)."""
        plot = next(key for key, series in self.series.items() if field in (name for name, _ in series))
        return self.lines[plot].curve([name for name, _ in self.series[plot]].index(field))

    def _make_grad_series(self, n_layers: int) -> None:
        self.series["grads"] = []
        self.keys["grads"] = []
        for i in range(n_layers):
            name = "out" if i == n_layers - 1 else f"L{i + 1}"
            # first layer to last in one palette order, so "layer 1 sinks" reads the same every time
            self.series["grads"].append((name, _pen(i, width=1.6)))
            self.keys["grads"].append((name, colors.SERIES[i % len(colors.SERIES)]))
        self._render_titles()


def _wrapped_title(label: pg.LabelItem) -> None:
    """Let a plot's title ask for no width: it is wrapped to the plot (_render_titles), and
    pyqtgraph's LabelItem would otherwise widen its plot to the title's one-line width."""

    def update_min() -> None:
        height = label.itemRect().height()
        label.setMinimumWidth(0)
        label.setMinimumHeight(height)
        label._sizeHint = {Qt.SizeHint.MinimumSize: (0, height), Qt.SizeHint.PreferredSize: (0, height),
                           Qt.SizeHint.MaximumSize: (-1, -1), Qt.SizeHint.MinimumDescent: (0, 0)}
        label.updateGeometry()

    label.updateMin = update_min


def _legend_line(entries: list[tuple[str, str]], room: float, font: QFont) -> tuple[str, float]:
    """A legend as one line of names in their curves' colours, and its width in px.

    The widest form that fits `room`: "— train   — test", then the names alone ("dead  saturated
    sleeping"), then, for a deep net's gradients, the first and last layers with "…" for the ones
    between (the palette runs first to last in the same order every time); then a smaller font.
    """
    if not entries:
        return "", 0.0
    forms = [(entries, "— ", 3), (entries, "", 2), (entries, "", 1)]
    if len(entries) > 4:  # deep nets: drop middle layers, keeping both ends
        for keep in range(len(entries) - 1, 1, -1):
            head = (keep + 1) // 2
            forms.append((entries[:head] + [("…", "#555555")] + entries[len(entries) - (keep - head):], "", 1))
    html_text, width = "", 0.0
    for scale in (1.0, 0.85, 0.75):  # 0.75 of presentation's 1.35x font is still the normal one
        bold = QFont(font)
        bold.setBold(True)
        bold.setPointSizeF(font.pointSizeF() * scale)
        metrics = QFontMetricsF(bold)
        for shown, mark, gap in forms:
            texts = [name if name == "…" else mark + name for name, _ in shown]
            width = metrics.horizontalAdvance((" " * gap).join(texts))
            size = f"; font-size:{bold.pointSizeF():.1f}pt" if scale != 1.0 else ""
            html_text = ("&nbsp;" * gap).join(  # &nbsp;: the label keeps the line whole
                f"<span style='color:{color}; font-weight:bold{size}'>{html.escape(text).replace(' ', '&nbsp;')}</span>"
                for text, (_, color) in zip(texts, shown))
            if width <= room:
                return html_text, width
    return html_text, width


def smooth_log(values: np.ndarray, window: int = GRAD_SMOOTHING) -> np.ndarray:
    """Trailing geometric mean over `window` records; zeros and NaN are gaps (log scale).

    One minibatch's gradient norm jumps by a decade from step to step; averaged in log space the
    curves keep their orders of magnitude apart, which is what vanishing and exploding look like.
    """
    ok = np.isfinite(values) & (values > 0)
    logs = np.where(ok, np.log(np.where(ok, values, 1.0)), 0.0)
    sums, counts = np.cumsum(logs), np.cumsum(ok)
    sums[window:] = sums[window:] - sums[:-window].copy()
    counts[window:] = counts[window:] - counts[:-window].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(sums / counts)
    out[~ok] = np.nan
    return out


if __name__ == "__main__":
    from .demo import show_alone

    raise SystemExit(show_alone(ChartsView, "ChartsView (demo)", (1000, 220)))
