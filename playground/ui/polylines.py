"""Polylines: a plot's several curves as one pyqtgraph item, each a plain polyline.

The charts' curves were pyqtgraph PlotDataItems, one per series. Each is a deep stack of Python
(data checks, log mapping, bounds, a PlotCurveItem inside) run on every setData and again while the
scene repaints it. On C3 the gradient chart's 7 such curves cost ~4.5 ms to set and ~4.3 ms to
repaint, one task after the other in the GUI thread (the scene repaints before the next timer),
and a busy machine stretched that task to 20–40 ms: the window timer's worst waits (issue 15).
Here the whole plot is one item: setting it makes one QPolygonF per unbroken run of finite points,
and painting it is one drawPolyline per run (~2 ms the two, measured side by side in an offscreen
window). No log mapping: a log-scale plot is given log10 values, as its axis expects.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter, QPen

PAD_PX = 3.0  # the bounding rect's margin, in pixels, for the pen's width beyond the points


class Polylines(pg.GraphicsObject):
    """Curves over one x, each in its own pen; NaN and ±inf break a curve (a gap, not a jump to 0)."""

    def __init__(self):
        super().__init__()
        self._x = np.zeros(0)
        self._ys: list[np.ndarray] = []
        self._runs: list[tuple[QPen, list]] = []  # (pen, the QPolygonFs of its finite runs)
        self._bounds: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 of every finite point
        self._rect: QRectF | None = None  # _bounds plus PAD_PX, made when asked (it needs the view's scale)

    def set_curves(self, x: np.ndarray, ys: list[np.ndarray], pens: list[QPen]) -> None:
        """Show these curves (ys[i] over x in pens[i]) in place of the ones shown."""
        x = np.asarray(x, np.float64)
        self._x, self._ys = x, [np.asarray(y, np.float64) for y in ys]
        runs, low, high = [], np.inf, -np.inf
        for y, pen in zip(self._ys, pens):
            finite = np.isfinite(y) & np.isfinite(x)
            if not finite.any():
                continue
            low, high = min(low, float(y[finite].min())), max(high, float(y[finite].max()))
            # the starts and ends of the runs of finite points, as [start, end) pairs
            edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
            runs.append((pen, [pg.functions.arrayToQPolygonF(x[a:b], y[a:b])
                               for a, b in zip(edges[::2], edges[1::2]) if b - a > 1]))
        self.prepareGeometryChange()
        self._runs = runs
        xs = x[np.isfinite(x)]
        self._bounds = (float(xs.min()), low, float(xs.max()), high) if runs and len(xs) else None
        self._rect = None
        self.update()

    def curve(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The x and y of curve `index` as last set (tests, a screenshot's check)."""
        return self._x, self._ys[index]

    def count(self) -> int:
        return len(self._ys)

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph hook): the margin's size in data units moved
        self.prepareGeometryChange()
        self._rect = None

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        if self._rect is None:
            if self._bounds is None:
                self._rect = QRectF()
            else:
                x0, y0, x1, y1 = self._bounds
                px, py = self.pixelVectors()  # one pixel along x and along y, in data units (None: not in a view yet)
                dx = abs(px.x()) * PAD_PX if px is not None else 0.0
                dy = abs(py.y()) * PAD_PX if py is not None else 0.0
                self._rect = QRectF(x0 - dx, y0 - dy, (x1 - x0) + 2 * dx, (y1 - y0) + 2 * dy)
        return self._rect

    def paint(self, painter: QPainter, *args) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, bool(pg.getConfigOption("antialias")))
        for pen, polygons in self._runs:
            painter.setPen(pen)
            for polygon in polygons:
                painter.drawPolyline(polygon)
