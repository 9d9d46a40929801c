"""One colour scheme for the boundary, neuron heatmaps, links and charts.

Orange/blue (TensorFlow Playground's pair) is safe for the common colour-blind types and reads on a
projector. Label 0 and negative values are orange, label 1 and positive values are blue. Neuron
states never rely on colour alone: each has a mark too (dead ✕, saturated S, sleeping z).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

# Light background: projectors wash out dark themes. Row-major images match the Snapshot grids.
# Antialiased curves cost ~10x; the plots are small.
PYQTGRAPH_OPTIONS = {"background": "w", "foreground": "#333333", "imageAxisOrder": "row-major", "antialias": False}


def configure_pyqtgraph() -> None:
    """Give pyqtgraph the playground's look (its options are global: set where our windows start,
    never at import, so a program that only embeds a view keeps its own)."""
    pg.setConfigOptions(**PYQTGRAPH_OPTIONS)


ORANGE = "#f59322"  # label 0, negative value, negative weight
BLUE = "#0877bd"  # label 1, positive value, positive weight
MIDDLE = "#f4f4f2"  # zero / probability 0.5

# Neuron states (health.NeuronState order: alive, sleeping, saturated, dead).
STATE_COLORS = ("#555555", "#7f7f7f", "#8e44ad", "#e0001b")  # alive is only ever text: dark enough to read
STATE_MARKS = ("", "z", "S", "✕")
STATE_LABELS = ("alive", "sleeping", "saturated", "dead")
STATE_HINTS = (
    "alive: its slope is non-zero on enough training points to learn",
    "sleeping: z ≤ 0 on every training point, but the slope is not zero; it can still come back",
    "saturated: slope < 1e-3 on at least 99 % of the training points",
    "dead: slope < 1e-3 on every training point; it gets no gradient and may never recover",
)
# Chart series, from the Okabe-Ito palette so lines stay apart for colour-blind viewers.
SERIES = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000", "#999999")


def cache_decorations(plot: pg.PlotItem) -> None:
    """Paint a plot's axes, title and legend from pixmap caches.

    pyqtgraph repaints the whole scene whenever a curve changes; the decorations around the data
    (axes with their grid, titles, legends) were most of that cost (measured: a 4-plot chart strip
    18 ms → 9 ms a repaint). Each cache is dropped automatically when its item changes.
    """
    from PySide6.QtWidgets import QGraphicsItem

    mode = QGraphicsItem.CacheMode.DeviceCoordinateCache
    for name in ("left", "bottom", "top", "right"):
        plot.getAxis(name).setCacheMode(mode)
    plot.titleLabel.setCacheMode(mode)
    if plot.legend is not None:
        plot.legend.setCacheMode(mode)


def _rgb(name: str) -> np.ndarray:
    c = QColor(name)
    return np.array([c.red(), c.green(), c.blue()], np.float64)


def diverging_lut() -> np.ndarray:
    """(256, 4) uint8 orange → near white → blue, for values mapped from [low, high]."""
    t = np.linspace(0.0, 1.0, 256)[:, None]
    low, mid, high = _rgb(ORANGE), _rgb(MIDDLE), _rgb(BLUE)
    rgb = np.where(t < 0.5, low + (mid - low) * (t / 0.5), mid + (high - mid) * ((t - 0.5) / 0.5))
    out = np.empty((256, 4), np.uint8)
    out[:, :3] = np.round(rgb).astype(np.uint8)
    out[:, 3] = 255
    return out


LUT = diverging_lut()
# The same table packed as 0xAARRGGBB, for building QImages (Format_ARGB32) with one take().
LUT32 = ((LUT[:, 3].astype(np.uint32) << 24) | (LUT[:, 0].astype(np.uint32) << 16)
         | (LUT[:, 1].astype(np.uint32) << 8) | LUT[:, 2].astype(np.uint32))


def washed(lut: np.ndarray, amount: float) -> np.ndarray:
    """The LUT mixed with white: the same hues, lighter, so full-colour points stand out on it."""
    out = lut.copy()
    out[:, :3] = np.round(lut[:, :3] * (1 - amount) + 255 * amount).astype(np.uint8)
    return out


BOUNDARY_LUT = washed(LUT, 0.3)  # the decision boundary under the data points


def colormap(lut: np.ndarray = LUT) -> pg.ColorMap:
    """A LUT as a pyqtgraph ColorMap (for colour bars)."""
    return pg.ColorMap(np.linspace(0.0, 1.0, 256), lut)


def to_argb(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values of any shape → uint32 ARGB through the LUT, clamped to [low, high]."""
    with np.errstate(all="ignore"):  # a diverged run's grids hold inf and NaN: drawn mid-scale or clamped
        scaled = (np.asarray(values, np.float32) - low) * (255.0 / (high - low))
        index = np.clip(np.nan_to_num(scaled, nan=127.5), 0, 255).astype(np.uint8)
    return LUT32[index]
