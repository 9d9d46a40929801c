"""NetworkView: every neuron as a small heatmap of its activity, links coloured by sign, states marked.

Columns are the input features, each hidden layer and the output. Links are drawn with colour = sign
(blue positive, orange negative) and width = |weight|. Dead neurons get a red outline and a ✕,
saturated ones a purple outline and an S, sleeping ones a grey dashed outline and a z; a legend
says so. Hovering a neuron shows its big heatmap, its state and its incoming weights.

Standalone: show_snapshot(snapshot) draws a Snapshot; with editable=True the view also has the
architecture controls (+/− layers and neurons, per-layer activation) and emits sigEdit(path, value)
for the window to validate and apply. Painting is one QPainter pass over cached QImages.
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QActionGroup, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QToolButton, QToolTip, QWidget

from ..activations import ACTIVATIONS
from ..datasets import FEATURE_LABELS
from ..experiment import ACTIVATION_NAMES, MAX_LAYERS, MAX_UNITS
from ..health import NeuronState
from . import colors
from .help import state_tip

# Sizes are in text lines (the font's height, 14 px at the default 9 pt), so the whole view grows
# with the font: presentation mode's 1.35x font gives 1.35x tiles, buttons, legend and hover card.
TILE_MAX_LINES = 5.4  # the largest neuron heatmap (76 px at the default font)
TILE_STRIDE = 2  # neuron heatmaps use at least every 2nd grid point: 50×50 is plenty for ≤ 76 px
LINKS_PER_TASK = 120  # links drawn per event-loop task when the window spreads a redraw (~3 ms)
LINKS_ANTIALIASED = 120  # at most this many links are drawn antialiased
CARD_IMAGE_LINES = 10.7  # the hover card's heatmap (150 px at the default font)
CARD_TEXT_LINES = 15.0  # the hover card's text column (210 px)
BUTTON_CSS = (  # flat buttons sized to their text: the default style's padding and menu arrow
    # (~19 px) did not fit 8 layers side by side at 1280×720 with the presentation font
    "QToolButton { padding: 0px 2px; border: 1px solid #a0a0a0; border-radius: 3px; background: #f7f7f7; }"
    "QToolButton:hover { background: #e3eef8; } QToolButton:pressed { background: #cfe0f0; }"
    "QToolButton:disabled { color: #b0b0b0; border-color: #d0d0d0; }"
    "QToolButton::menu-indicator { image: none; width: 0px; }")


@dataclass
class _Layout:
    """Where everything goes for one widget size and one network shape."""

    tile: float
    columns: list[float]  # x centre of each column (inputs, hidden layers, output)
    rects: list[list[QRectF]]  # per column, per neuron
    widths: list[float]  # the room each column has (its share of the width)
    rows: dict[str, float]  # y of the header rows: bar, title, units, chooser; and "top" of the neurons
    legend: list[tuple[QRectF, str, object]]  # legend entries: (rect, tooltip, what)


def _weight_color(sign: int, alpha: int) -> QColor:
    color = QColor(colors.BLUE if sign > 0 else colors.ORANGE)
    color.setAlpha(alpha)
    return color


class NeuronDetail(QFrame):
    """The hover card: a big heatmap, the neuron's state and its incoming weights."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.Box)
        self.setStyleSheet("NeuronDetail { background: #ffffff; border: 1px solid #666; }")
        self.image = QLabel()
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.addWidget(self.image)
        layout.addWidget(self.text)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.fit_font()
        self.hide()

    @property
    def size_px(self) -> int:
        """The heatmap's side: grows with the font (presentation mode)."""
        return self.image.width()

    def fit_font(self) -> None:
        self.text.setFont(self.font())  # the card's style sheet keeps its children from inheriting it
        line = QFontMetricsF(self.font()).height()
        side = round(CARD_IMAGE_LINES * line)
        self.image.setFixedSize(side, side)
        self.text.setFixedWidth(round(CARD_TEXT_LINES * line))
        margin = round(line * 0.4)
        self.layout().setContentsMargins(margin, margin, margin, margin)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.FontChange:
            self.fit_font()
        super().changeEvent(event)


class NetworkView(QWidget):
    """Draws a Snapshot's network; optionally offers the architecture controls."""

    # ("network.shape", (hidden, activation)): hidden sizes and activation change together, because a
    # per-layer activation tuple must match the number of layers (Experiment validates the pair).
    sigEdit = Signal(str, object)

    def __init__(self, parent: QWidget | None = None, editable: bool = True):
        super().__init__(parent)
        self.editable = editable
        self.setMouseTracking(True)
        self.setMinimumSize(360, 260)
        self._snapshot = None
        self._shape_key = None  # (features, hidden, activations): controls and layout follow it
        self._layout: _Layout | None = None
        self._images: list[list[QImage]] = []  # per column, per neuron
        self._buffers: list[np.ndarray] = []  # keep the QImages' memory alive
        self._hover: tuple[int, int] | None = None  # (column, neuron) under the mouse
        self._edit_base = None  # the network edits apply to; None = the snapshot's
        self._links = None  # (layout key, snapshot, time, QImage) of the last links drawing
        self.links_interval = 0.0  # s between link redraws; the window sets 0.1
        self._links_timer = QTimer(self)
        self._links_timer.setSingleShot(True)
        self._links_timer.timeout.connect(self.update)
        self._headers: list[QWidget] = []  # per hidden layer: its +/− buttons
        self._choosers: list[QToolButton] = []  # per hidden layer: its activation button
        self._layer_buttons: tuple = ()
        self._layer_bar = None
        self._layer_bar = self._make_layer_bar() if editable else None
        self.detail = NeuronDetail(self)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), QColor("#ffffff"))
        self.setPalette(palette)

    # ---- public ----------------------------------------------------------------------------------
    def show_snapshot(self, snapshot) -> None:
        """Draw one Snapshot (cheap: a LUT pass per layer, then one repaint)."""
        self._snapshot = snapshot
        network = snapshot.experiment.network
        key = (snapshot.experiment.data.features, network.hidden, network.layer_activations())
        if key != self._shape_key:
            self._shape_key = key
            self._layout = None
            if self.editable:
                self._rebuild_headers()
        if self._layout is None:
            self._relayout(self._counts(snapshot))
        self._make_images(snapshot)
        if self._hover is not None:
            self._update_detail()
        self.update()

    def prepare_links(self, snapshot) -> list:
        """The steps of a links redraw for `snapshot`, each small enough for one event-loop task.

        For the window: it runs them one per pass of the event loop before show_snapshot, so a dense
        network's links (~12 ms for 400 wide lines) never make one long task. Empty when the links
        are not due (drawn less than links_interval ago) or the layout is not known yet.
        """
        if self._layout is None or self._shape_key is None or self.links_interval <= 0:
            return []
        network = snapshot.experiment.network
        key = (snapshot.experiment.data.features, network.hidden, network.layer_activations())
        if key != self._shape_key or [len(r) for r in self._layout.rects] != self._counts(snapshot):
            return []  # a new shape: paintEvent draws its links at once, in the new layout
        links_key = self._links_key(self._layout)
        if (self._links is not None and self._links[0] == links_key
                and time.perf_counter() - self._links[2] < self.links_interval):
            return []
        groups = self._link_groups(snapshot, self._layout)
        ratio = self.devicePixelRatioF()
        size = (self.size().toSizeF() * ratio).toSize()
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(Qt.GlobalColor.transparent)
        antialias = sum(len(lines) for _, lines in groups) <= LINKS_ANTIALIASED
        chunks, current, count = [], [], 0
        for pen, lines in groups:
            for start in range(0, len(lines), LINKS_PER_TASK):
                part = lines[start:start + LINKS_PER_TASK]
                current.append((pen, part))
                count += len(part)
                if count >= LINKS_PER_TASK:
                    chunks.append(current)
                    current, count = [], 0
        if current or not chunks:
            chunks.append(current)

        def draw(chunk, last: bool) -> None:
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, antialias)
            for pen, lines in chunk:
                painter.setPen(pen)
                painter.drawLines(lines)
            painter.end()
            if last and self._layout is not None and self._links_key(self._layout) == links_key:
                self._links_timer.stop()
                self._links = (links_key, snapshot, time.perf_counter(), image)

        return [lambda c=c, last=(i == len(chunks) - 1): draw(c, last) for i, c in enumerate(chunks)]

    def flush(self) -> None:
        """Redraw everything from the newest snapshot now, links included (before a screenshot)."""
        self._links = None
        self.update()

    def neuron_rect(self, column: int, neuron: int) -> QRectF:
        """Where a neuron's heatmap is drawn (column 0 = inputs, 1.. = hidden layers, last = output)."""
        if self._layout is None:
            self._relayout(self._counts(self._snapshot))
        return QRectF(self._layout.rects[column][neuron])

    # ---- images ----------------------------------------------------------------------------------
    @staticmethod
    def _counts(snapshot) -> list[int]:
        """Neurons per column: inputs, each hidden layer, the output."""
        if snapshot is None:
            return [2, 1]
        return [len(snapshot.feature_grids), *(len(g) for g in snapshot.neuron_grids), 1]

    def _stride(self, grid_size: int) -> int:
        """Every how many grid points a thumbnail samples: about one per screen pixel of the tile.

        A 100×100 grid in a 32 px tile is ~10 samples a pixel; converting them all cost ~3 ms a frame
        for 48 neurons. The hover card and the boundary keep the full grid.
        """
        pixels = max(1.0, (self._layout.tile if self._layout else TILE_MAX_LINES * self._line()) * self.devicePixelRatioF())
        return max(TILE_STRIDE, int(grid_size // math.ceil(pixels)))

    def _make_images(self, snapshot) -> None:
        s = self._stride(snapshot.grid_size)
        # QImage row 0 is the top, grid row 0 the bottom: flipped views, so the LUT's output is
        # already in QImage order (no extra copy).
        flip = (slice(None), slice(None, None, -s), slice(None, None, s))
        features = snapshot.feature_grids[flip]
        # Inputs are raw features (about ±6 for x, ±36 for squares): scale each to its own max so
        # they read as directions. Hidden activations are shown on the fixed ±1 scale (TF Playground).
        peak = np.max(np.abs(features), axis=(1, 2), keepdims=True) + 1e-6
        columns = [colors.to_argb(features / peak, -1.0, 1.0)]
        hidden = [grids[flip] for grids in snapshot.neuron_grids]
        if hidden:  # one LUT pass over every hidden neuron
            argb = colors.to_argb(np.concatenate(hidden), -1.0, 1.0)
            bounds = np.cumsum([0] + [len(g) for g in hidden])
            columns += [argb[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        columns.append(colors.to_argb(snapshot.output_grid[None][flip], 0.0, 1.0))
        images = []
        for argb in columns:
            h, w = argb.shape[1:]
            images.append([QImage(argb[i].data, w, h, 4 * w, QImage.Format.Format_RGB32) for i in range(len(argb))])
        self._images, self._buffers = images, columns  # the buffers keep the QImages' memory alive

    # ---- layout ----------------------------------------------------------------------------------
    def _line(self) -> float:
        """One line of the view's text in px: the unit every size here is measured in."""
        return QFontMetricsF(self.font()).height()

    def _button_height(self) -> int:
        return round(self._line() + 6)

    def _relayout(self, counts: list[int] | None = None) -> None:
        if counts is None:
            counts = [len(col) for col in self._images] if self._images else [2, 1]
        line = self._line()
        bold = QFont(self.font())
        bold.setBold(True)
        bold_metrics = QFontMetricsF(bold)
        width, height = max(self.width(), 100), max(self.height(), 100)
        n_cols, n_hidden = len(counts), len(counts) - 2
        pad = max(2.0, round(line * 0.15))
        button = self._button_height()
        # Header rows, top to bottom: the layer count, every column's title, a layer's +/-, its
        # activation; each in a row of its own so nothing shares a line with anything else.
        rows, y = {}, pad
        if self.editable:
            rows["bar"] = y
            y += button + pad
        rows["title"] = y
        y += line
        if self.editable and n_hidden:
            rows["units"] = y + 1
            rows["chooser"] = y + 2 + button
            y += 2 + 2 * button
        elif n_hidden:
            rows["label"] = y
            y += line
        top = y + line * 0.7  # the S / z badges stand out above a tile by ~0.4 of a line
        legend, legend_height = self._legend_layout(width, height, line)
        bottom = height - legend_height - pad
        rows["top"], rows["bottom"] = top, bottom
        avail_h = max(bottom - top, 40)

        features = self._snapshot.experiment.data.features if self._snapshot is not None else ("x1", "x2")
        side_metrics = QFontMetricsF(self.font())
        left = max(side_metrics.horizontalAdvance(FEATURE_LABELS[f]) for f in features) + line * 0.5
        inner = width - left - pad
        tile = min(TILE_MAX_LINES * line, avail_h / (max(counts) * 1.25))
        # Inputs and Output need only their tile and title; when the columns are tight (many layers,
        # big font) the hidden layers share what is left, so their controls get the room.
        io = [max(tile, bold_metrics.horizontalAdvance(t)) + line * 0.8 for t in ("Inputs", "Output")]
        uniform = inner / n_cols
        if n_hidden == 0 or uniform >= max(io):
            widths = [uniform] * n_cols
        else:
            rest = (inner - io[0] - io[1]) / n_hidden
            widths = [io[0], *[rest] * n_hidden, io[1]]
        tile = max(6.0, min(tile, min(widths) * 0.5))
        columns = list(left + np.cumsum([0.0, *widths[:-1]]) + np.asarray(widths) / 2)
        rects = []
        for x, count in zip(columns, counts):
            gap = min(tile * 0.25 + (avail_h - count * tile * 1.25) / max(count, 1), tile * 0.6)
            pitch = tile + gap
            y0 = top + (avail_h - (count * pitch - gap)) / 2
            rects.append([QRectF(x - tile / 2, y0 + k * pitch, tile, tile) for k in range(count)])
        self._layout = _Layout(tile, [float(c) for c in columns], rects, widths, rows, legend)
        self._place_headers()

    def _legend_entries(self) -> list[tuple[str, str, object]]:
        states = [(colors.STATE_LABELS[s], state_tip(s), s)
                  for s in (NeuronState.ALIVE, NeuronState.SLEEPING, NeuronState.SATURATED, NeuronState.DEAD)]
        return states + [("± weight", "a link's colour is its weight's sign (blue +, orange −), "
                                      "its width the weight's size |w|", 0)]

    def _legend_layout(self, width: float, height: float, line: float) -> tuple[list, float]:
        """The legend's entries flowed into as many rows as the width needs, at the bottom."""
        metrics = QFontMetricsF(self.font())
        box, gap, row_h = line * 0.95, line * 0.9, line * 1.35
        placed, x, row = [], 8.0, 0
        for label, tip, what in self._legend_entries():
            w = box + line * 0.4 + metrics.horizontalAdvance(label)
            if x > 8.0 and x + w > width - 8:
                x, row = 8.0, row + 1
            placed.append((x, row, w, label, tip, what))
            x += w + gap
        n_rows = row + 1
        y0 = height - n_rows * row_h
        legend = [(QRectF(x, y0 + r * row_h, w, row_h), tip, (label, what)) for x, r, w, label, tip, what in placed]
        return legend, n_rows * row_h

    def title_rects(self) -> list[tuple[QRectF, str]]:
        """Every column's title and where it is drawn (hidden layers: "8 neurons", or "8" when narrow)."""
        layout = self._layout
        if layout is None or self._snapshot is None:
            return []
        bold = QFont(self.font())
        bold.setBold(True)
        metrics = QFontMetricsF(bold)
        n_hidden = len(layout.columns) - 2
        out = []
        for c, (x, room) in enumerate(zip(layout.columns, layout.widths)):
            if c == 0:
                title = "Inputs"
            elif c == n_hidden + 1:
                title = "Output"
            else:
                units = len(layout.rects[c])
                title = f"{units} {'neuron' if units == 1 else 'neurons'}"
                if metrics.horizontalAdvance(title) > room - 4:
                    title = str(units)  # narrow columns (many layers, big fonts): the number alone
            w = metrics.horizontalAdvance(title) + 2
            left = min(max(x - w / 2, 0.0), self.width() - w)  # never cut at the widget's edges
            out.append((QRectF(left, layout.rows["title"], w, metrics.height()), title))
        return out

    def legend_rects(self) -> list[tuple[QRectF, str]]:
        """The legend's entries (mark and label) and their tooltips."""
        return [(QRectF(r), tip) for r, tip, _ in (self._layout.legend if self._layout else [])]

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._layout = None
        if self._images:
            self._relayout()
            self._make_images(self._snapshot)  # the thumbnails' sampling follows the tile size
        super().resizeEvent(event)

    # ---- painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        snapshot = self._snapshot
        if snapshot is None or not self._images:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no network yet")
            return
        if self._layout is None:
            self._relayout()
        layout = self._layout
        painter.drawImage(0, 0, self._links_image(snapshot, layout))
        self._paint_titles(painter, snapshot, layout)
        for c, (images, rects) in enumerate(zip(self._images, layout.rects)):
            states = snapshot.states[c - 1] if 0 < c <= len(snapshot.states) else None
            for k, (image, rect) in enumerate(zip(images, rects)):
                painter.drawImage(rect, image)
                self._paint_state(painter, rect, int(states[k]) if states is not None else None,
                                  (c, k) == self._hover)
        self._paint_side_labels(painter, snapshot, layout)
        self._paint_legend(painter)
        painter.end()

    def _links_key(self, layout: _Layout) -> tuple:
        return (self._shape_key, self.size().toTuple(), layout.tile)

    def _links_image(self, snapshot, layout: _Layout) -> QImage:
        """The links, redrawn at most every links_interval s (wide lines are the costliest thing in a
        frame); always redrawn when the shape or the size changed. In the window, prepare_links
        redraws them ahead of the frame in small steps; this catches everything else."""
        now = time.perf_counter()
        key = self._links_key(layout)
        fresh = self._links is not None and self._links[0] == key
        if fresh and snapshot is self._links[1]:
            return self._links[3]
        if fresh and now - self._links[2] < self.links_interval:
            # Keep the old links for now; a later frame redraws them. The timer only catches the
            # last snapshot once training stops (a timer repaint mid-training would fight the worker
            # for the GIL outside the window's frame).
            self._links_timer.start(int(self.links_interval * 1000) + 150)
            return self._links[3]
        self._links_timer.stop()
        ratio = self.devicePixelRatioF()
        image = QImage((self.size().toSizeF() * ratio).toSize(), QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        n_links = sum(W.size for W, _ in snapshot.weights)
        # antialiased wide lines cost ~50 µs each: dense networks (where jaggies hide anyway) go without
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, n_links <= LINKS_ANTIALIASED)
        for pen, lines in self._link_groups(snapshot, layout):
            painter.setPen(pen)
            painter.drawLines(lines)
        painter.end()
        self._links = (key, snapshot, now, image)
        return image

    def _link_groups(self, snapshot, layout: _Layout) -> list[tuple[QPen, list[QLineF]]]:
        """Every link as (pen, lines), thinnest first so the strong weights stay on top."""
        # Lines grouped by (sign, width bucket): one pen and one drawLines call per group. Separate
        # lines stroke far faster than one long QPainterPath (which the raster engine strokes whole).
        groups: dict[tuple[int, int], list[QLineF]] = {}
        for c, (W, _) in enumerate(snapshot.weights):
            src, dst = layout.rects[c], layout.rects[c + 1]
            magnitude = np.abs(np.nan_to_num(W, nan=0.0, posinf=1e3, neginf=-1e3))
            buckets = np.clip(np.round((0.5 + 1.2 * magnitude) * 2), 1, 12).astype(int).tolist()  # half-px
            positive = (W >= 0).tolist()
            starts = [(r.right(), r.center().y()) for r in src]
            ends = [(r.left(), r.center().y()) for r in dst]
            for i, (x0, y0) in enumerate(starts):
                row_b, row_p = buckets[i], positive[i]
                for j, (x1, y1) in enumerate(ends):
                    key = (1 if row_p[j] else -1, row_b[j])
                    groups.setdefault(key, []).append(QLineF(x0, y0, x1, y1))
        return [(QPen(_weight_color(sign, 110 + min(bucket, 12) * 10), bucket / 2), lines)
                for (sign, bucket), lines in sorted(groups.items(), key=lambda kv: kv[0][1])]

    def _paint_state(self, painter: QPainter, rect: QRectF, state: int | None, hovered: bool) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if state is None or state == NeuronState.ALIVE:
            painter.setPen(QPen(QColor("#000000" if hovered else "#b0b0b0"), 2 if hovered else 1))
            painter.drawRect(rect)
            return
        color = QColor(colors.STATE_COLORS[state])
        width = 3.0 if state == NeuronState.DEAD else 2.5
        pen = QPen(color, width)
        if state == NeuronState.SLEEPING:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(rect.adjusted(-1, -1, 1, 1))
        if state == NeuronState.DEAD:  # a cross over the whole tile: unmistakable even when small
            painter.setPen(QPen(color, max(2.0, rect.width() / 14)))
            inset = rect.adjusted(3, 3, -3, -3)
            painter.drawLine(inset.topLeft(), inset.bottomRight())
            painter.drawLine(inset.topRight(), inset.bottomLeft())
        else:
            self._badge(painter, rect, colors.STATE_MARKS[state], color)

    def _badge(self, painter: QPainter, rect: QRectF, mark: str, color: QColor) -> None:
        line = self._line()
        size = max(line * 0.8, min(line * 1.15, rect.width() * 0.42))
        badge = QRectF(rect.right() - size * 0.6, rect.top() - size * 0.4, size, size)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(badge)
        painter.setPen(QColor("#ffffff"))
        font = QFont(self.font())
        font.setPixelSize(int(size * 0.75))
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, mark)
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_titles(self, painter: QPainter, snapshot, layout: _Layout) -> None:
        painter.setPen(QColor("#333333"))
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        for rect, title in self.title_rects():
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, title)
        if not self.editable and "label" in layout.rows:  # the exporter's frames: the activation as text
            painter.setFont(self.font())
            metrics = painter.fontMetrics()
            for c, name in enumerate(snapshot.layer_activations, start=1):
                room = layout.widths[c] - 2
                label = ACTIVATIONS[name].label
                if metrics.horizontalAdvance(label) > room:
                    label = TINY_LABELS.get(name, label)
                label = metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(room))
                painter.drawText(QRectF(layout.columns[c] - room / 2, layout.rows["label"], room, self._line()),
                                 Qt.AlignmentFlag.AlignCenter, label)

    def _paint_side_labels(self, painter: QPainter, snapshot, layout: _Layout) -> None:
        painter.setFont(self.font())
        painter.setPen(QColor("#333333"))
        metrics = painter.fontMetrics()
        for k, name in enumerate(snapshot.experiment.data.features):
            rect = layout.rects[0][k]
            label = FEATURE_LABELS[name]
            room = metrics.horizontalAdvance(label) + 2
            painter.drawText(QRectF(rect.left() - room - 3, rect.top(), room, rect.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        backdrop = QColor(255, 255, 255, 210)  # the slopes sit on the links: keep them legible over 16 × 16 of them
        small = QFont(self.font())
        small.setPointSizeF(self.font().pointSizeF() * 0.85)
        painter.setFont(small)
        metrics = painter.fontMetrics()
        for c, slopes in enumerate(snapshot.prelu_slopes, start=1):
            if slopes is None:
                continue
            for k, slope in enumerate(slopes):
                rect = layout.rects[c][k]
                text = f"a={0.0 if abs(slope) < 0.005 else slope:.2f}"  # no "a=-0.00"
                h = metrics.height()
                box = QRectF(rect.right() + 2, rect.bottom() - h, metrics.horizontalAdvance(text) + 4, h)
                painter.fillRect(box, backdrop)
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_legend(self, painter: QPainter) -> None:
        painter.setFont(self.font())
        line = self._line()
        box = line * 0.95
        for rect, _, (label, what) in self._layout.legend:
            mark = QRectF(rect.left(), rect.center().y() - box / 2, box, box)
            if isinstance(what, NeuronState):
                painter.fillRect(mark, QColor(colors.MIDDLE))
                self._paint_state(painter, mark, int(what), False)
            else:  # the weights: a blue line over an orange one
                pen_width = max(2.0, line * 0.2)
                for sign, dy in ((1, -box * 0.22), (-1, box * 0.22)):
                    painter.setPen(QPen(_weight_color(sign, 255), pen_width))
                    y = mark.center().y() + dy
                    painter.drawLine(QPointF(mark.left(), y), QPointF(mark.right(), y))
            painter.setPen(QColor("#333333"))
            painter.setFont(self.font())
            text = QRectF(mark.right() + line * 0.4, rect.top(), rect.right() - mark.right(), rect.height())
            painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)

    def event(self, event) -> bool:  # noqa: D102 (Qt override): the legend's marks explain themselves
        if event.type() == QEvent.Type.ToolTip and self._layout is not None:
            for rect, tip, _ in self._layout.legend:
                if rect.contains(QPointF(event.pos())):
                    QToolTip.showText(event.globalPos(), tip, self, rect.toRect())
                    return True
            QToolTip.hideText()
            event.ignore()
            return True
        return super().event(event)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.FontChange:  # presentation mode: everything follows the font
            # (children with a style sheet do not inherit a font change: hand it over)
            self.detail.setFont(self.font())
            for button in self._layer_buttons:
                button.setFont(self.font())
            if self._shape_key is not None and self.editable:
                self._rebuild_headers()
            self._layout = None
            if self._images:
                self._relayout()
                self._make_images(self._snapshot)
            if self._layer_bar is not None:
                self._fit_layer_bar()
            if self._hover is not None:
                self._update_detail()
            self.update()
        super().changeEvent(event)

    # ---- hover -----------------------------------------------------------------------------------
    def _neuron_at(self, pos: QPointF) -> tuple[int, int] | None:
        if self._layout is None:
            return None
        for c, rects in enumerate(self._layout.rects):
            for k, rect in enumerate(rects):
                if rect.adjusted(-2, -2, 2, 2).contains(pos):
                    return c, k
        return None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        hit = self._neuron_at(event.position())
        if hit != self._hover:
            self._hover = hit
            if hit is None:
                self.detail.hide()
            else:
                self._update_detail()
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._hover = None
        self.detail.hide()
        self.update()
        super().leaveEvent(event)

    def hover_neuron(self, column: int, neuron: int) -> None:
        """Show the hover card for one neuron (what the mouse does; also for tests and the exporter)."""
        self._hover = (column, neuron)
        self._update_detail()
        self.update()

    def _update_detail(self) -> None:
        snapshot, hit = self._snapshot, self._hover
        if snapshot is None or hit is None or self._layout is None:
            return
        c, k = hit
        if c >= len(self._images) or k >= len(self._images[c]):
            self.detail.hide()
            return
        pixmap = QPixmap.fromImage(self._big_image(snapshot, c, k))
        self.detail.image.setPixmap(pixmap)
        self.detail.text.setText(self._describe(snapshot, c, k))
        self.detail.adjustSize()
        rect = self._layout.rects[c][k]
        card = self.detail
        x = rect.right() + 12 if rect.right() + 12 + card.width() <= self.width() else rect.left() - 12 - card.width()
        x = min(max(x, 0), max(0, self.width() - card.width()))
        y = min(max(rect.top() - 20, 0), self.height() - card.height())
        self.detail.move(int(x), int(max(0, y)))
        self.detail.show()
        self.detail.raise_()

    def _big_image(self, snapshot, c: int, k: int) -> QImage:
        n_hidden = len(snapshot.neuron_grids)
        if c == 0:
            grid = snapshot.feature_grids[k]
            argb = colors.to_argb(grid / (np.max(np.abs(grid)) + 1e-6), -1.0, 1.0)
        elif c <= n_hidden:
            argb = colors.to_argb(snapshot.neuron_grids[c - 1][k], -1.0, 1.0)
        else:
            argb = colors.to_argb(snapshot.output_grid, 0.0, 1.0)
        argb = np.ascontiguousarray(argb[::-1])
        h, w = argb.shape
        image = QImage(argb.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()  # copy: own the memory
        return image.scaled(self.detail.size_px, self.detail.size_px)

    def _describe(self, snapshot, c: int, k: int) -> str:
        n_hidden = len(snapshot.neuron_grids)
        features = snapshot.experiment.data.features
        if c == 0:
            return f"<b>Input {FEATURE_LABELS[features[k]]}</b><br>the feature's value over the plane"
        W, b = snapshot.weights[c - 1]
        sources = [FEATURE_LABELS[f] for f in features] if c == 1 else [f"n{i + 1}" for i in range(W.shape[0])]
        weights = "<br>".join(f"{src}: {W[i, k]:+.3f}" for i, src in enumerate(sources[:12]))
        if W.shape[0] > 12:
            weights += f"<br>… {W.shape[0] - 12} more"
        if c > n_hidden:
            head = "<b>Output</b> (probability of label 1)<br>"
        else:
            activation = ACTIVATIONS[snapshot.layer_activations[c - 1]].label
            state = int(snapshot.states[c - 1][k])
            color = colors.STATE_COLORS[state]
            head = (f"<b>Layer {c}, neuron {k + 1}</b> · {activation}<br>"
                    f"<span style='color:{color}'><b>{colors.STATE_LABELS[state]}</b></span>: "
                    f"{html.escape(colors.STATE_HINTS[state].split(': ', 1)[1])}<br>")
            slopes = snapshot.prelu_slopes[c - 1]
            if slopes is not None:
                head += f"PReLU slope a = {float(slopes[k]):.3f}<br>"
        return f"{head}<i>incoming weights</i><br>{weights}<br>bias: {float(b[k]):+.3f}"

    # ---- architecture controls (editable) --------------------------------------------------------
    def _make_layer_bar(self) -> QWidget:
        bar = QWidget(self)
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        minus = _small_button("−", "remove the last hidden layer")
        plus = _small_button("+", "add a hidden layer")
        minus.clicked.connect(lambda: self._edit_layers(-1))
        plus.clicked.connect(lambda: self._edit_layers(+1))
        self._layers_label = QLabel("hidden layers")
        row.addWidget(minus)
        row.addWidget(plus)
        row.addSpacing(4)
        row.addWidget(self._layers_label)
        self._layer_buttons = (minus, plus)
        self._fit_layer_bar()
        bar.adjustSize()
        bar.move(4, 2)
        return bar

    def _fit_layer_bar(self) -> None:
        bar = self._layer_bar if hasattr(self, "_layer_bar") and self._layer_bar is not None else None
        for button in self._layer_buttons:
            _fit_small_button(button)
        if bar is not None:
            bar.adjustSize()
            bar.move(4, int(self._layout.rows["bar"]) if self._layout is not None else 2)

    def _rebuild_headers(self) -> None:
        for widget in (*self._headers, *self._choosers):
            widget.hide()
            widget.setParent(None)  # out of findChild's reach now; deleted later, outside its own signal
            widget.deleteLater()
        self._headers, self._choosers = [], []
        _, hidden, activations = self._shape_key
        self._layers_label.setText(f"{len(hidden)} hidden layer{'s' if len(hidden) != 1 else ''}")
        self._layer_buttons[0].setEnabled(len(hidden) > 0)
        self._layer_buttons[1].setEnabled(len(hidden) < MAX_LAYERS)
        self._fit_layer_bar()
        for i, (units, name) in enumerate(zip(hidden, activations)):
            header = QWidget(self)
            row = QHBoxLayout(header)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(2)
            minus = _small_button("−", f"one neuron fewer in layer {i + 1}")
            plus = _small_button("+", f"one neuron more in layer {i + 1}")
            minus.setEnabled(units > 1)
            plus.setEnabled(units < MAX_UNITS)
            minus.clicked.connect(lambda _=False, i=i: self._edit_units(i, -1))
            plus.clicked.connect(lambda _=False, i=i: self._edit_units(i, +1))
            for button in (minus, plus):
                button.setFont(self.font())
            row.addWidget(minus)
            row.addWidget(plus)
            header.adjustSize()
            header.show()
            self._headers.append(header)
            self._choosers.append(self._make_chooser(i, name))

    def _make_chooser(self, layer: int, current: str) -> QToolButton:
        """The layer's activation button; its menu ticks the activation the layer has."""
        chooser = QToolButton(self)
        chooser.setStyleSheet(BUTTON_CSS)
        chooser.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        chooser.setObjectName(f"activation_layer_{layer + 1}")
        menu = QMenu(chooser)
        group = QActionGroup(menu)
        group.setExclusive(True)
        for option in ACTIVATION_NAMES:
            action = menu.addAction(ACTIVATIONS[option].label)
            action.setCheckable(True)
            action.setChecked(option == current)
            action.setData(option)
            group.addAction(action)
            action.triggered.connect(lambda _=False, i=layer, option=option: self._edit_activation(i, option))
        chooser.setMenu(menu)
        chooser.show()
        return chooser

    def activation_menu(self, layer: int) -> QMenu:
        """The menu of hidden layer `layer` (0-based): one checkable action per activation."""
        return self._choosers[layer].menu()

    def _place_headers(self) -> None:
        if not self.editable or self._layout is None:
            return
        layout = self._layout
        self._fit_layer_bar()
        height = self._button_height()
        for i, (header, chooser) in enumerate(zip(self._headers, self._choosers)):
            x, room = layout.columns[i + 1], layout.widths[i + 1] - 4  # each inside its own column
            buttons = header.findChildren(QToolButton)
            for button in buttons:
                _fit_small_button(button)
                if 2 * button.width() + 2 > room:  # very narrow columns: narrower signs, still a line high
                    button.setFixedWidth(max(8, int((room - 2) / 2)))
            header.adjustSize()
            header.move(round(x - header.width() / 2), round(layout.rows["units"]))
            name = self._shape_key[2][i]
            self._fit_chooser(chooser, name, room, height)
            chooser.move(round(x - chooser.width() / 2), round(layout.rows["chooser"]))
            # the menu follows an edit made elsewhere (the Activation box sets every layer)
            for action in chooser.menu().actions():
                action.setChecked(action.data() == name)

    def _fit_chooser(self, chooser: QToolButton, name: str, room: float, height: int) -> None:
        """The longest label that fits the column: the short name, a tiny one, then a smaller font."""
        chooser.setToolTip(f"activation of this layer: {ACTIVATIONS[name].label} (click to change)")
        font = QFont(self.font())
        pad = 8  # the flat style's padding and border, both sides
        candidates = [SHORT_LABELS.get(name, ACTIVATIONS[name].label), TINY_LABELS.get(name, ACTIVATIONS[name].label)]
        for scale in (1.0, 0.9, 0.8, 0.7):  # never below 0.7 of the view's text
            font.setPointSizeF(self.font().pointSizeF() * scale)
            metrics = QFontMetricsF(font)
            text = next((t for t in candidates if metrics.horizontalAdvance(t) + pad <= room), None)
            if text is not None:
                break
        else:
            text = metrics.elidedText(candidates[1], Qt.TextElideMode.ElideRight, max(1, int(room - pad)))
        chooser.setFont(font)
        chooser.setText(text)
        chooser.setFixedSize(round(min(max(metrics.horizontalAdvance(text) + pad, height), max(room, 1))), height)

    def header_widgets(self) -> list[QWidget]:
        """The controls drawn in the header (tests check none overlaps another)."""
        bar = [self._layer_bar] if self._layer_bar is not None else []
        return [*bar, *self._headers, *self._choosers]

    def set_network(self, network) -> None:
        """The network edits start from (the window's newest), which may be ahead of the snapshot."""
        self._edit_base = network

    def _network(self):
        return self._edit_base if self._edit_base is not None else self._snapshot.experiment.network

    def _edit_layers(self, delta: int) -> None:
        network = self._network()
        hidden = list(network.hidden)
        activations = list(network.layer_activations())
        if delta > 0 and len(hidden) < MAX_LAYERS:
            hidden.append(hidden[-1] if hidden else 4)
            activations.append(activations[-1] if activations else "relu")
        elif delta < 0 and hidden:
            hidden.pop()
            activations.pop()
        else:
            return
        self._emit_shape(tuple(hidden), tuple(activations))

    def _edit_units(self, layer: int, delta: int) -> None:
        hidden = list(self._network().hidden)
        hidden[layer] = min(MAX_UNITS, max(1, hidden[layer] + delta))
        self._emit_shape(tuple(hidden), self._network().layer_activations())

    def _edit_activation(self, layer: int, name: str) -> None:
        activations = list(self._network().layer_activations())
        activations[layer] = name
        self._emit_shape(self._network().hidden, tuple(activations))

    def _emit_shape(self, hidden: tuple[int, ...], activations: tuple[str, ...]) -> None:
        # One name when all layers agree keeps files tidy; the pair goes out as one edit.
        activation = activations[0] if activations and len(set(activations)) == 1 else activations
        if not hidden:
            activation = self._network().layer_activations()[0] if self._network().hidden else "relu"
        self.sigEdit.emit("network.shape", (hidden, activation))


# the layer's activation button: short enough for 8 layers side by side at 1280×720
SHORT_LABELS = {"leaky_relu": "Leaky", "softplus": "Softplus", "sigmoid": "Sigmoid", "linear": "Linear",
                "silu": "SiLU"}
TINY_LABELS = {"leaky_relu": "Leaky", "softplus": "Soft+", "sigmoid": "σ", "linear": "lin", "prelu": "PReL",
               "gelu": "GELU", "selu": "SELU", "mish": "Mish", "tanh": "tanh"}


def _small_button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setStyleSheet(BUTTON_CSS)
    return button


def _fit_small_button(button: QToolButton) -> None:
    """A +/− button sized by its font: one line high, a sign wide."""
    metrics = QFontMetricsF(button.font())
    button.setFixedSize(round(metrics.horizontalAdvance("+") + 8), round(metrics.height() + 6))


if __name__ == "__main__":
    from .demo import show_alone

    raise SystemExit(show_alone(NetworkView, "NetworkView (demo)", (760, 520)))
