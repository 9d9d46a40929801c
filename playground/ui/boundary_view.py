"""BoundaryView: the network's output over the input plane, with the data points and a colour bar.

Standalone: the window and the exporter both create one, call show_snapshot(snapshot) and (for
the exporter) grab(). Items are created once; each snapshot only updates the image and, when the
data changed, the points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont, QImage
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..plane import EXTENT
from . import colors
from .charts import FollowsFont

COLORBAR_PX = 100  # width of the colour bar, its labels and the y axis
AXIS_PX = 40  # height of the x axis and its label


class LutImageItem(pg.ImageItem):
    """pyqtgraph's ImageItem for a float grid through a 256-colour opaque LUT, its QImage made by
    numpy alone: pyqtgraph's own path (an nditer rescale, the colour table rebuilt from 256 qRgba
    calls) was ~0.2 ms a grid, six grids a compare frame. The result is pyqtgraph's to the bit: the
    same Indexed8 image (index = clip((v - low) * 256 / (high - low), 0, 255) truncated, in float32)
    with the same colour table, so Qt scales it the same way. Anything else (NaNs, which pyqtgraph
    draws transparent; other LUTs, levels or options) goes pyqtgraph's way."""

    def render(self):  # noqa: D102 (pyqtgraph override)
        image, lut, levels = self.image, self.lut, self.levels
        if (image is None or image.ndim != 2 or image.dtype != np.float32 or levels is None
                or np.ndim(levels) != 1 or not isinstance(lut, np.ndarray) or lut.shape != (256, 4)
                or lut.dtype != np.uint8 or self.autoDownsample or self.axisOrder != "row-major"):
            return super().render()
        table = getattr(self, "_table", None)
        if table is None or table[0] is not lut:
            argb = ((lut[:, 3].astype(np.uint32) << 24) | (lut[:, 0].astype(np.uint32) << 16)
                    | (lut[:, 1].astype(np.uint32) << 8) | lut[:, 2].astype(np.uint32))
            table = self._table = (lut, argb.tolist())  # what qRgba(r, g, b, a) gives, entry by entry
        low, high = float(levels[0]), float(levels[1])
        scaled = image.astype(np.float32)  # a copy; the steps below are pyqtgraph's rescaleData
        scaled -= low
        scaled *= 256 / (1 if high == low else high - low)
        if np.isnan(scaled).any():
            return super().render()
        np.clip(scaled, 0, 255, out=scaled)
        index = np.ascontiguousarray(scaled.astype(np.uint8))  # (H, W)
        h, w = index.shape
        self._index = index  # the QImage's memory
        self.qimage = QImage(index.data, w, h, w, QImage.Format.Format_Indexed8)
        self.qimage.setColorTable(table[1])
        self._renderRequired = False
        self._unrenderable = False


class BoundaryView(FollowsFont, QWidget):
    """The decision boundary as a large heatmap (P(label 1)), points on top, axes in input units."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.show_test = False  # draw the test points too (outlined in black)
        self.discretize = False  # show the predicted class instead of the probability
        self._snapshot = None
        self._data = None  # the DataSplit whose points are drawn (redrawn only when they change)

        # white all round: the square plot leaves margins, and a grey one shows in exports and slides
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), QColor("#ffffff"))
        self.setPalette(palette)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

        self.plot = self.graphics.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "x₁")
        self.plot.setLabel("left", "x₂")
        self.image = LutImageItem(axisOrder="row-major")
        self.image.setLookupTable(colors.BOUNDARY_LUT)
        self.image.setLevels((0.0, 1.0))
        self.plot.addItem(self.image)
        self.train_points = pg.ScatterPlotItem(size=8, pen=pg.mkPen("w", width=1.2))
        self.test_points = pg.ScatterPlotItem(size=8, pen=pg.mkPen("k", width=1.4))
        for points in (self.train_points, self.test_points):
            # the points stay while the image changes under them: painted from a pixmap of the view's
            # pixels (dropped when they change, or the view's size), not ~200 symbols each repaint
            points.setCacheMode(points.CacheMode.DeviceCoordinateCache)
            self.plot.addItem(points)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=colors.colormap(colors.BOUNDARY_LUT), interactive=False,
                                        width=14, label="P(label 1)")
        self.graphics.addItem(self.colorbar)
        colors.cache_decorations(self.plot)
        self.colorbar.setCacheMode(self.colorbar.CacheMode.DeviceCoordinateCache)  # it never changes
        self._set_extent(EXTENT)
        self._apply_font()
        self._brushes = (pg.mkBrush(colors.ORANGE), pg.mkBrush(colors.BLUE))

    def _set_extent(self, extent: float) -> None:
        self._extent = extent
        self.plot.setRange(xRange=(-extent, extent), yRange=(-extent, extent), padding=0)

    # ---- public ----------------------------------------------------------------------------------
    def show_snapshot(self, snapshot) -> None:
        """Draw one Snapshot: the output grid and (if the data changed) the points."""
        self._snapshot = snapshot
        if snapshot.grid_extent != self._extent:
            self._set_extent(snapshot.grid_extent)
            self.image.clear()  # forces setRect below
        grid = snapshot.output_grid  # (G, G) float32 probability of label 1, row 0 at the bottom
        if self.discretize:
            grid = (grid > 0.5).astype(np.float32)
        shape_changed = self.image.image is None or self.image.image.shape != grid.shape
        self.image.setImage(np.ascontiguousarray(grid, np.float32), autoLevels=False, levels=(0.0, 1.0))
        if shape_changed:  # setRect scales by the image's size, so it must follow the first image
            e = self._extent
            self.image.setRect(QRectF(-e, -e, 2 * e, 2 * e))
        if snapshot.data is not self._data and not _same_points(snapshot.data, self._data):
            self._data = snapshot.data
            self._draw_points()

    def set_show_test(self, show: bool) -> None:
        self.show_test = bool(show)
        self._draw_points()

    def set_discretize(self, discretize: bool) -> None:
        self.discretize = bool(discretize)
        if self._snapshot is not None:
            self.show_snapshot(self._snapshot)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        # Keep the plot square: an aspect-locked plot in a tall or wide box would show far more than
        # the ±6 plane, so pad the box instead. COLORBAR_PX is the colour bar and the y axis.
        w, h = self.width(), self.height()
        side = max(min(w - COLORBAR_PX, h - AXIS_PX), 50)
        pad_x = max(0, (w - side - COLORBAR_PX) // 2)
        pad_y = max(0, (h - side - AXIS_PX) // 2)
        self.layout().setContentsMargins(pad_x, 0, pad_x, 2 * pad_y)  # top-aligned, like the network
        super().resizeEvent(event)

    def _apply_font(self) -> None:
        font = QFont(self.font())
        for name in ("bottom", "left"):
            self.plot.getAxis(name).setStyle(tickFont=font)
            self.plot.getAxis(name).label.setFont(font)
        self.colorbar.axis.setStyle(tickFont=font)
        self.colorbar.getAxis("left").label.setFont(font)  # "P(label 1)"

    def _draw_points(self) -> None:
        data = self._data
        if data is None:
            return
        self._scatter(self.train_points, data.train_points, data.train_labels)
        if self.show_test:
            self._scatter(self.test_points, data.test_points, data.test_labels)
        else:
            self.test_points.clear()

    def _scatter(self, item: pg.ScatterPlotItem, points: np.ndarray, labels: np.ndarray) -> None:
        brushes = [self._brushes[int(label > 0.5)] for label in labels]
        item.setData(x=points[:, 0], y=points[:, 1], brush=brushes)


def _same_points(a, b) -> bool:
    """Whether two DataSplits hold the same points. Snapshots from the training process arrive
    unpickled, each with its own DataSplit: comparing 500 points costs µs, redrawing them ~2.5 ms."""
    if a is None or b is None:
        return False
    return all(np.array_equal(getattr(a, name), getattr(b, name))
               for name in ("train_points", "train_labels", "test_points", "test_labels"))


if __name__ == "__main__":
    from .demo import show_alone

    raise SystemExit(show_alone(BoundaryView, "BoundaryView (demo)", (560, 480)))
