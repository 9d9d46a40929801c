"""NetworkView: every neuron as a small heatmap of its activity, links coloured by sign, states marked.

Columns are the input features, each hidden layer and the output. Links are drawn with colour = sign
(blue positive, orange negative) and width = |weight|. Dead neurons get a red outline and a ✕,
saturated ones a purple outline and an S, sleeping ones a grey dashed outline and a z; a legend
says so. Hovering a neuron shows its big heatmap, its state and its incoming weights (neuron_card.py).

Standalone: show_snapshot(snapshot) draws a Snapshot; with editable=True the view also has the
architecture controls (network_edit.py: +/− layers and neurons, per-layer activation) and emits
sigEdit(path, value) for the window to validate and apply. Where the tiles and links go, and each
link's width and colour, comes from playground/network_layout.py (numbers, no Qt). Painting is one
QPainter pass over cached QImages.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QRegion
from PySide6.QtWidgets import QMenu, QToolTip, QWidget

from .. import network_layout
from ..activations import ACTIVATIONS
from ..datasets import FEATURE_LABELS
from ..health import NeuronState
from . import colors
from .help import state_tip
from .network_edit import TINY_LABELS, ArchitectureControls
from .neuron_card import NeuronDetail

# Sizes are in text lines (the font's height, 14 px at the default 9 pt), so the whole view grows
# with the font: presentation mode's 1.35x font gives 1.35x tiles, buttons, legend and hover card.
TILE_MAX_LINES = 5.4  # the largest neuron heatmap (76 px at the default font)
TILE_STRIDE = 2  # neuron heatmaps use at least every 2nd grid point: 50×50 is plenty for ≤ 76 px
LINKS_PER_TASK = 120  # links drawn per event-loop task when the window spreads a redraw (~3 ms)
LINKS_ANTIALIASED = 120  # at most this many links are drawn antialiased
# Links are redrawn at most every LINKS_EVERY_FRAMES snapshots shown (and every links_interval s). On a
# busy machine the window draws ~5-8 frames/s, so the 0.1 s interval alone redrew them every frame:
# on C3 with two busy processes, a links frame cost ~15 ms more of the GUI thread (the groups and first
# lines 5.4 ms, the other chunks ~3 ms, the under image and a whole-view repaint ~6 ms) than one that
# keeps them. Quiet (~20 frames/s) the interval already spaced them two frames apart.
LINKS_EVERY_FRAMES = 2


@dataclass
class _Layout:
    """Where everything goes for one widget size and one network shape."""

    tile: float
    columns: list[float]  # x centre of each column (inputs, hidden layers, output)
    rects: list[list[QRectF]]  # per column, per neuron
    boxes: list[np.ndarray]  # the same as numbers: per column, (neurons, 4) x, y, width, height
    widths: list[float]  # the room each column has (its share of the width)
    rows: dict[str, float]  # y of the header rows: bar, title, units, chooser; and "top" of the neurons
    legend: list[tuple[QRectF, str, object]]  # legend entries: (rect, tooltip, what)


def _weight_color(sign: int, alpha: int) -> QColor:
    color = QColor(colors.BLUE if sign > 0 else colors.ORANGE)
    color.setAlpha(alpha)
    return color


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
        self._under = None  # (links QImage, layout, background, QImage): links, titles, names, legend
        self._sprites = {}  # (column, neuron) → (layout, state, hovered, origin, QImage): its outline and mark
        self._painted_under = None  # the under image the last paint drew: while it stays, a snapshot repaints its tiles only
        self._shown_since_links = 0  # snapshots shown since the links were last drawn
        self._held_update = None  # the repaint show_snapshot(update=False) held back for release_update
        self.links_interval = 0.0  # s between link redraws; the window sets 0.1
        self._links_timer = QTimer(self)
        self._links_timer.setSingleShot(True)
        self._links_timer.timeout.connect(self._catch_up_links)
        self._stepped_links = False  # set by prepare_links: the caller draws the links ahead, in steps
        self._links_overdue = False  # the timer fired: the paint draws the newest links
        # the +/− and activation buttons (None: a picture only, as in the exporter's frames)
        self.controls = ArchitectureControls(self, self.sigEdit.emit, self._network) if editable else None
        self.detail = NeuronDetail(self)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), QColor("#ffffff"))
        self.setPalette(palette)

    # ---- public ----------------------------------------------------------------------------------
    def show_snapshot(self, snapshot, update: bool = True) -> None:
        """Draw one Snapshot (cheap: a LUT pass per layer, then one repaint). update=False: the repaint
        is asked for by release_update() (the window's next step), not here: a QWidget's update()
        posts its repaint ahead of the timers due meanwhile."""
        self._snapshot = snapshot
        self._shown_since_links += 1
        network = snapshot.experiment.network
        key = (snapshot.experiment.data.features, network.hidden, network.layer_activations())
        if key != self._shape_key:
            self._shape_key = key
            self._layout = None
            if self.controls is not None:
                self._rebuild_controls()
        if self._layout is None:
            self._relayout(self._counts(snapshot))
        self._make_images(snapshot)
        if self._hover is not None:
            self._update_detail()
        region = self._changed_region(snapshot)
        if update:
            self.update(region)
        else:
            self._held_update = region if self._held_update is None else self._held_update.united(region)

    def release_update(self) -> None:
        """Ask for the repaint show_snapshot(update=False) held back (nothing if none)."""
        region, self._held_update = self._held_update, None
        if region is not None:
            self.update(region)

    def _changed_region(self, snapshot) -> QRect:
        """What a new snapshot changes on screen: the rectangle around the tiles and their marks, while
        the links, titles and legend (the under image) stay as the last paint drew them; else all of it.

        Measured on C3 (1280x800, quiet): run bar, network and activation curve repainted as one task
        took 5.8 ms of the GUI thread, 8-10 ms with the machine busy, the longest task of a frame
        (issue 15's lateness). One rectangle, not a region of one per tile: under a clip of many
        rectangles Qt antialiases the tiles' edges differently (up to 32 levels off a full redraw).
        Deciding here which under image the paint will use (it may redraw the links) keeps the two
        in step."""
        under = self._under_image(snapshot, self._layout)
        if under is not self._painted_under or any(slopes is not None for slopes in snapshot.prelu_slopes):
            return self.rect()  # PReLU's slopes are written beside the tiles, over the links: all of it
        margin = math.ceil(1.2 * self._line()) + 5  # a mark's reach past its tile (_mark_sprite's margin) and a pixel
        boxes = np.concatenate(self._layout.boxes)  # (neurons, 4) x, y, width, height
        left, top = np.floor(boxes[:, :2].min(axis=0)) - margin
        right, bottom = np.ceil((boxes[:, :2] + boxes[:, 2:]).max(axis=0)) + margin
        return QRect(int(left), int(top), int(right - left), int(bottom - top)) & self.rect()

    def prepare_links(self, snapshot) -> list:
        """The steps of a links redraw for `snapshot`, each small enough for one event-loop task.

        For the window: it runs them one per pass of the event loop before show_snapshot, so a dense
        network's links (~12 ms for 400 wide lines) never make one long task. Empty when the links
        are not due (drawn less than links_interval ago) or the layout is not known yet.
        """
        if self._layout is None or self._shape_key is None or self.links_interval <= 0:
            return []
        self._stepped_links = True
        network = snapshot.experiment.network
        key = (snapshot.experiment.data.features, network.hidden, network.layer_activations())
        if key != self._shape_key or [len(r) for r in self._layout.rects] != self._counts(snapshot):
            return []  # a new shape: paintEvent draws its links at once, in the new layout
        links_key = self._links_key(self._layout)
        if self._links is not None and self._links[0] == links_key and not self._links_due(time.perf_counter()):
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
                self._shown_since_links = 0
                self._links_overdue = False

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
        hidden = [grids[flip] for grids in snapshot.neuron_grids]
        output = snapshot.output_grid[None][flip]
        counts = [len(features), *(len(g) for g in hidden), 1]
        h, w = output.shape[1:]
        # Every tile's values in one float32 buffer and one LUT pass: colors.to_argb's steps, to the
        # bit (a float32 copy, minus low, times 255 / (high - low), NaN mid-scale, clamped), once
        # instead of once a column.
        values = np.empty((sum(counts), h, w), np.float32)
        n_in = counts[0]
        # Inputs are raw features (about ±6 for x, ±36 for squares): scale each to its own max so
        # they read as directions. Hidden activations are shown on the fixed ±1 scale (TF Playground).
        peak = np.max(np.abs(features), axis=(1, 2), keepdims=True) + 1e-6
        np.copyto(values[:n_in], features / peak)
        if hidden:
            np.concatenate(hidden, out=values[n_in:-1])
        values[-1] = output[0]
        with np.errstate(all="ignore"):  # a diverged run's grids hold inf and NaN: drawn mid-scale or clamped
            values[:-1] -= -1.0  # inputs and hidden neurons on -1 … 1
            values[:-1] *= 255.0 / 2.0
            values[-1] *= 255.0  # the output, a probability, on 0 … 1
            np.nan_to_num(values, copy=False, nan=127.5)
            np.clip(values, 0, 255, out=values)
        argb = colors.LUT32[values.astype(np.uint8)]  # (tiles, h, w) uint32, C-contiguous
        bounds = np.cumsum([0, *counts]).tolist()
        self._images = [[QImage(argb[i].data, w, h, 4 * w, QImage.Format.Format_RGB32) for i in range(a, b)]
                        for a, b in zip(bounds[:-1], bounds[1:])]
        self._buffers = [argb]  # keeps the QImages' memory alive

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
        n_hidden = len(counts) - 2
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
        titles = (bold_metrics.horizontalAdvance("Inputs"), bold_metrics.horizontalAdvance("Output"))
        placed = network_layout.place_columns(counts, left, inner, top, avail_h, TILE_MAX_LINES * line, titles, line)
        rects = [[QRectF(*box) for box in boxes.tolist()] for boxes in placed.boxes]
        self._layout = _Layout(placed.tile, placed.centres, rects, placed.boxes, placed.widths, rows, legend)
        if self.controls is not None:
            activations = self._shape_key[2] if self._shape_key is not None else ()
            self.controls.place(placed.centres, placed.widths, rows, activations, self._button_height())

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
        # Bottom to top: what changes at most with the links (background, links, titles, feature
        # names, legend) from one cached image; then each tile and its outline / state mark, the mark
        # from a cached sprite while its state and the hover stay (the same order as drawing them,
        # so a mark still lies under the next tile); then the PReLU slopes. Drawn directly, those
        # ~60 rects, crosses, badges and texts were most of a compare panel's paint.
        under = self._under_image(snapshot, layout)
        painter.drawImage(0, 0, under)
        if under is not self._painted_under:
            self._painted_under = under
            if not (QRegion(self.rect()) - event.region()).isEmpty():  # a tiles-only paint under new links: all of it next
                self.update()
        ratio = self.devicePixelRatioF()
        for c, (images, rects) in enumerate(zip(self._images, layout.rects)):
            states = snapshot.states[c - 1] if 0 < c <= len(snapshot.states) else None
            for k, (image, rect) in enumerate(zip(images, rects)):
                painter.drawImage(rect, image)
                origin, sprite = self._mark_sprite(c, k, rect, int(states[k]) if states is not None else None, ratio)
                painter.drawImage(origin, sprite)
        self._paint_slopes(painter, snapshot, layout)
        painter.end()

    def _blank_image(self, fill) -> QImage:
        """A widget-sized image at the screen's pixel ratio, filled with `fill`."""
        ratio = self.devicePixelRatioF()
        image = QImage((self.size().toSizeF() * ratio).toSize(), QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(fill)
        return image

    def _under_image(self, snapshot, layout: _Layout) -> QImage:
        """The background, links, column titles, feature names and legend: redrawn only when the links
        image or the layout changed (titles and names follow the shape, which the layout follows)."""
        links = self._links_image(snapshot, layout)
        background = self.palette().color(self.backgroundRole())
        cached = self._under
        if cached is not None and cached[0] is links and cached[1] is layout and cached[2] == background:
            return cached[3]
        image = self._blank_image(background)  # opaque, as the widget's own background under the links
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawImage(0, 0, links)
        self._paint_titles(painter, snapshot, layout)
        self._paint_feature_labels(painter, snapshot, layout)
        self._paint_legend(painter)
        painter.end()
        self._under = (links, layout, background, image)
        return image

    def _mark_sprite(self, c: int, k: int, rect: QRectF, state: int | None, ratio: float) -> tuple[QPointF, QImage]:
        """Tile (c, k)'s outline and state mark on a small transparent image, and where it goes:
        redrawn when its state, the hover or the layout changed. The image starts on a device pixel
        and is drawn in widget coordinates, so the mark lands exactly where _paint_state puts it."""
        hovered = (c, k) == self._hover
        cached = self._sprites.get((c, k))
        if (cached is not None and cached[0] is self._layout and cached[1] == state and cached[2] == hovered
                and cached[4].devicePixelRatio() == ratio):
            return cached[3], cached[4]
        # what the mark reaches past the tile: the S / z badge ~0.6 of its size (≤ 1.15 lines); the
        # outlines 1 px out and their pens (≤ 3 px); a small sprite blends fewer pixels each paint
        badge = state in (NeuronState.SLEEPING, NeuronState.SATURATED)
        margin = 1.2 * self._line() + 4 if badge else 4
        left, top = math.floor((rect.left() - margin) * ratio), math.floor((rect.top() - margin) * ratio)
        right, bottom = math.ceil((rect.right() + margin) * ratio), math.ceil((rect.bottom() + margin) * ratio)
        image = QImage(right - left, bottom - top, QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(Qt.GlobalColor.transparent)
        origin = QPointF(left / ratio, top / ratio)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(-origin)
        self._paint_state(painter, rect, state, hovered)
        painter.end()
        self._sprites[(c, k)] = (self._layout, state, hovered, origin, image)
        return origin, image

    def _links_key(self, layout: _Layout) -> tuple:
        # the font moves the columns and header rows, the pixel ratio the image's own pixels: both
        # are in the key, or a change at the same size left links misaligned or blurry until one came
        return (self._shape_key, self.size().toTuple(), layout.tile, self.font().key(), self.devicePixelRatioF())

    def _links_image(self, snapshot, layout: _Layout) -> QImage:
        """The links, redrawn at most every links_interval s (wide lines are the costliest thing in a
        frame); always redrawn when the shape or the size changed. In the window, prepare_links
        redraws them ahead of the frame in small steps; this catches everything else."""
        now = time.perf_counter()
        key = self._links_key(layout)
        fresh = self._links is not None and self._links[0] == key
        if fresh and snapshot is self._links[1]:
            return self._links[3]
        if fresh and not self._links_overdue and (self._stepped_links or not self._links_due(now)):
            # Keep the old links for now; a later frame redraws them (in the window, prepare_links
            # does, in steps: here they would be one long task). The timer only catches the last
            # snapshot once training stops (a timer repaint mid-training would fight the worker
            # for the GIL outside the window's frame).
            self._links_timer.start(int(self.links_interval * 1000) + 150)
            return self._links[3]
        self._links_timer.stop()
        self._links_overdue = False
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
        self._shown_since_links = 0
        return image

    def _catch_up_links(self) -> None:
        self._links_overdue = True
        self.update()

    def _links_due(self, now: float) -> bool:
        """Whether links drawn for an older snapshot should be drawn again (see LINKS_EVERY_FRAMES);
        a view without an interval (the exporter's, a test's) draws them for every snapshot."""
        if self.links_interval <= 0:
            return True
        return now - self._links[2] >= self.links_interval and self._shown_since_links >= LINKS_EVERY_FRAMES

    def _link_groups(self, snapshot, layout: _Layout) -> list[tuple[QPen, list[QLineF]]]:
        """Every link as (pen, lines), thinnest first so the strong weights stay on top (network_layout)."""
        groups = network_layout.link_groups([W for W, _ in snapshot.weights], layout.boxes)
        return [(QPen(_weight_color(g.sign, g.alpha), g.width), [QLineF(*line) for line in g.lines.tolist()])
                for g in groups]

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

    def _paint_feature_labels(self, painter: QPainter, snapshot, layout: _Layout) -> None:
        painter.setFont(self.font())
        painter.setPen(QColor("#333333"))
        metrics = painter.fontMetrics()
        for k, name in enumerate(snapshot.experiment.data.features):
            rect = layout.rects[0][k]
            label = FEATURE_LABELS[name]
            room = metrics.horizontalAdvance(label) + 2
            painter.drawText(QRectF(rect.left() - room - 3, rect.top(), room, rect.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)

    def _paint_slopes(self, painter: QPainter, snapshot, layout: _Layout) -> None:
        """Each PReLU neuron's slope beside it (they change every step: drawn over the tiles each paint)."""
        if not any(slopes is not None for slopes in snapshot.prelu_slopes):
            return
        painter.setPen(QColor("#333333"))
        backdrop = QColor(255, 255, 255, 210)  # the slopes sit on the links: keep them legible over 16 × 16 of them
        small = QFont(self.font())
        small.setPointSizeF(self.font().pointSizeF() * 0.85)
        painter.setFont(small)
        metrics = painter.fontMetrics()
        h = metrics.height()
        for c, slopes in enumerate(snapshot.prelu_slopes, start=1):
            if slopes is None:
                continue
            # only where a label fits beside its neuron, under the next one and before the next layer:
            # in a small view (a compare panel of 16 × 16) they piled up over the links; the hover card
            # still shows each slope
            column = layout.rects[c]
            gap = layout.rects[c + 1][0].left() - column[0].right() if c + 1 < len(layout.rects) else float("inf")
            pitch = column[1].top() - column[0].top() if len(column) > 1 else float("inf")
            if 1.5 * h > pitch or metrics.horizontalAdvance("a=-0.00") + 6 > gap:  # a line and a half: legible
                continue
            for k, slope in enumerate(slopes):
                rect = layout.rects[c][k]
                text = f"a={0.0 if abs(slope) < 0.005 else slope:.2f}"  # no "a=-0.00"
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
            if self.controls is not None:
                self.controls.set_font(self.font())
                if self._shape_key is not None:
                    self._rebuild_controls()
            self._layout = None
            self._links = None  # the saved links image was laid out for the old font
            if self._images:
                self._relayout()
                self._make_images(self._snapshot)
            if self.controls is not None:
                self.controls.fit_bar(self._layout.rows["bar"] if self._layout is not None else 2)
            if self._hover is not None:
                self._update_detail()
            self.update()
        super().changeEvent(event)

    # ---- hover -----------------------------------------------------------------------------------
    def _neuron_at(self, pos: QPointF) -> tuple[int, int] | None:
        if self._layout is None:
            return None
        return network_layout.neuron_at(self._layout.boxes, pos.x(), pos.y())

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
        self.detail.show_neuron(snapshot, c, k, self._layout.rects[c][k])

    # ---- architecture controls (editable: network_edit.py) --------------------------------------
    def _rebuild_controls(self) -> None:
        _, hidden, activations = self._shape_key
        self.controls.rebuild(hidden, activations, self._layout.rows["bar"] if self._layout is not None else 2)

    def activation_menu(self, layer: int) -> QMenu:
        """The menu of hidden layer `layer` (0-based): one checkable action per activation."""
        return self.controls.choosers[layer].menu()

    def header_widgets(self) -> list[QWidget]:
        """The controls drawn in the header (tests check none overlaps another)."""
        return self.controls.widgets() if self.controls is not None else []

    def set_network(self, network) -> None:
        """The network edits start from (the window's newest), which may be ahead of the snapshot."""
        self._edit_base = network

    def _network(self):
        return self._edit_base if self._edit_base is not None else self._snapshot.experiment.network


if __name__ == "__main__":
    from .demo import show_alone

    raise SystemExit(show_alone(NetworkView, "NetworkView (demo)", (760, 520)))
