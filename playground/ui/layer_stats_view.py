"""Activations, layer by layer: each hidden layer's mean ± one standard deviation over the training set.

What makes "SELU self-normalises" visible (the band stays about 0 ± 1 from the first layer to the
last) and "sigmoid saturates" (a thin band near 0.5). Drawn from Snapshot.layer_mean / layer_std,
which the trainer computes on every snapshot from the health probe's pre-activations.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget
from PySide6.QtCore import Qt

from . import colors

TITLE = "Activations by layer: mean ± std over the training set"


class LayerStatsView(QWidget):
    """A plot: x the hidden layer (1 … L), the mean as a line with dots, ± std as error bars."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.showGrid(x=False, y=True, alpha=0.3)
        self.plot.setLabel("bottom", "hidden layer")
        self.plot.addLine(y=0.0, pen=pg.mkPen("#999999", width=1))
        self.band = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0), beam=0.25,
                                    pen=pg.mkPen(colors.SERIES[0], width=3))
        self.mean = pg.PlotDataItem(pen=pg.mkPen(colors.SERIES[1], width=2), symbol="o", symbolSize=8,
                                    symbolBrush=colors.SERIES[1], symbolPen=None)
        self.plot.addItem(self.band)
        self.plot.addItem(self.mean)
        self.caption = QLabel(TITLE)
        self.caption.setWordWrap(True)
        self.caption.setToolTip("each hidden layer's activations f(z), all its units and every training point "
                                "pooled: the dot is the mean, the bar one standard deviation either side")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.shown: tuple[np.ndarray, np.ndarray] | None = None  # (mean, std) last drawn
        self.setMinimumSize(220, 160)

    def show_snapshot(self, snapshot) -> None:
        mean, std = snapshot.layer_mean, snapshot.layer_std
        if mean is None or std is None or not len(mean):
            self.band.setData(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0))
            self.mean.setData([], [])
            self.caption.setText(TITLE + " (no hidden layer)")
            self.shown = None
            return
        x = np.arange(1, len(mean) + 1, dtype=np.float64)
        finite = np.isfinite(mean) & np.isfinite(std)
        m, s = np.where(finite, mean, 0.0), np.where(finite, std, 0.0)
        self.band.setData(x=x, y=m, height=2 * s)
        self.mean.setData(x[finite], m[finite])
        self.plot.setXRange(0.5, len(mean) + 0.5, padding=0)
        low, high = float(np.min(m - s, initial=-1.0)), float(np.max(m + s, initial=1.0))
        self.plot.setYRange(min(low, -1.2), max(high, 1.2), padding=0.05)
        self.plot.getAxis("bottom").setTicks([[(float(v), f"{int(v)}") for v in x]])
        self.caption.setText(f"{TITLE}; last layer {m[-1]:.2f} ± {s[-1]:.2f}")
        self.shown = (np.array(mean), np.array(std))


def install(window) -> QDockWidget:
    """The view in a dock of `window` (a MainWindow), hidden at first, fed by its drawn snapshots; its
    show/hide toggle goes into the View menu."""
    view = LayerStatsView()
    dock = QDockWidget("Activations by layer", window)
    dock.setObjectName("layer_stats_dock")
    dock.setWidget(view)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()
    window.sigDrawn.connect(lambda snapshot: dock.isVisible() and view.show_snapshot(snapshot))
    dock.visibilityChanged.connect(lambda visible: visible and window.snapshot is not None
                                   and view.show_snapshot(window.snapshot))
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == "View" and action.menu() is not None:
            toggle = dock.toggleViewAction()
            toggle.setText("&Activations by layer")
            action.menu().addAction(toggle)
    dock.view = view
    return dock


if __name__ == "__main__":
    from .demo import show_alone

    raise SystemExit(show_alone(LayerStatsView, "LayerStatsView (demo)", (480, 320)))
