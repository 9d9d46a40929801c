"""ActivationView: the chosen activation's curve f and derivative f', with its parameters editable.

Leaky ReLU's negative slope and ELU's alpha change live (the Trainer takes them hot); PReLU's
starting slope rebuilds the model (the field table says which, and each one's range, step and label).
Edits go out as sigEdit(path, value) for the window to apply.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..activations import ACTIVATIONS
from ..fields import ACTIVATION_NAMES, FIELDS
from . import colors
from .charts import FollowsFont, FontAxis

CURVE_LINES = 6.0  # the curve's plot is at least this many text lines tall (84 px at 9 pt, 114 at 12 pt)

Z = np.linspace(-4.0, 4.0, 401, dtype=np.float32)

# activation name → the table's row of the parameter it takes (leaky_relu → negative_slope)
PARAMETERS = {row.activation: row for row in FIELDS.values() if row.activation is not None}


class ActivationView(FollowsFont, QWidget):
    """Curve and derivative of one activation; a chooser that sets it for every hidden layer."""

    sigEdit = Signal(str, object)  # ("network.activation", name) or ("network.activation_params", dict)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._network = None
        self.chooser = QComboBox()
        for name in ACTIVATION_NAMES:
            self.chooser.addItem(ACTIVATIONS[name].label, name)
        self.chooser.setToolTip(FIELDS["network.activation"].tip)
        self.chooser.activated.connect(self._choose)
        self.formula = QLabel()
        self.formula.setWordWrap(False)
        self.formula.setMinimumWidth(10)  # may be cut at the right rather than widen the panel
        # the legend sits beside the formula, in the text's font: never over the curves
        self.key = QLabel(f"<span style='color:{colors.BLUE}'><b>━ f(x)</b></span>&nbsp;&nbsp;"
                          f"<span style='color:{colors.ORANGE}'><b>╍ f′(x)</b></span>")
        self.key.setToolTip("the activation (solid) and its slope (dashed)")
        self.plot = pg.PlotWidget(axisItems={"bottom": FontAxis("bottom"), "left": FontAxis("left")})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(False, False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setXRange(-4, 4, padding=0)
        self.curve = self.plot.plot(pen=pg.mkPen(colors.BLUE, width=2.5), name="f(x)")
        self.derivative = self.plot.plot(pen=pg.mkPen(colors.ORANGE, width=2, style=Qt.PenStyle.DashLine),
                                         name="f′(x)")
        self.param = QDoubleSpinBox()
        self.param.setDecimals(3)
        self.param.setKeyboardTracking(False)  # apply when the value is complete, not per keystroke
        self.param.valueChanged.connect(self._param_changed)
        self.param_label = QLabel()
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Activation", self.chooser)
        form.addRow(self.param_label, self.param)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.formula, 1)
        row.addWidget(self.key)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        self._param_name: str | None = None
        self._apply_font()

    def _apply_font(self) -> None:
        font = QFont(self.font())
        for name in ("bottom", "left"):
            self.plot.getAxis(name).setStyle(tickFont=font)
        line = QFontMetricsF(font).height()
        self.plot.setMinimumHeight(round(CURVE_LINES * line))
        # the window sizes the boundary above from this: the curve keeps its lines at any font
        self.setMinimumHeight(self.minimumSizeHint().height())

    def show_snapshot(self, snapshot) -> None:
        self.set_network(snapshot.experiment.network)

    def set_network(self, network) -> None:
        """Show the first hidden layer's activation (all layers, unless chosen per layer)."""
        if network == self._network:
            return
        self._network = network
        names = network.layer_activations() or ("relu",)
        name = names[0]
        self.chooser.blockSignals(True)
        self.chooser.setCurrentIndex(ACTIVATION_NAMES.index(name))
        self.chooser.blockSignals(False)
        spec = ACTIVATIONS[name]
        mixed = len(set(names)) > 1
        # one line, so the curve keeps its height on a 720-pixel screen; the rest goes in the tooltip
        self.formula.setText(f"<b>{spec.label}</b>: {spec.formula}" + (" <i>(layer 1)</i>" if mixed else ""))
        self.formula.setToolTip(f"{spec.label}: {spec.formula}"
                                + ("\nThe layers use different activations; this is layer 1's." if mixed else ""))
        param = PARAMETERS.get(name)
        self._param_name = param.name if param else None
        self.param.setVisible(param is not None)
        self.param_label.setVisible(param is not None)
        if param:
            self.param.blockSignals(True)
            self.param.setRange(param.low, param.high)
            self.param.setSingleStep(param.step)
            self.param.setValue(network.param(param.name))
            self.param.blockSignals(False)
            self.param.setToolTip(param.tip)
            self.param_label.setText(param.label)
        slope = network.param("prelu_init") if name == "prelu" else network.param("negative_slope")
        alpha = network.param("alpha")
        with np.errstate(all="ignore"):
            f = np.asarray(spec.f(Z, np.float32(slope), alpha), np.float64)
            df = np.asarray(spec.df(Z, np.float32(slope), alpha), np.float64)
        self.curve.setData(Z, f)
        self.derivative.setData(Z, df)
        self.plot.setYRange(max(-2.0, float(np.min(f)) - 0.2), min(4.0, float(np.max(f)) + 0.2), padding=0)

    def _choose(self, index: int) -> None:
        self.sigEdit.emit("network.activation", ACTIVATION_NAMES[index])

    def _param_changed(self, value: float) -> None:
        if self._network is None or self._param_name is None:
            return
        params = dict(self._network.activation_params)
        params[self._param_name] = float(value)
        self.sigEdit.emit("network.activation_params", params)


if __name__ == "__main__":
    from .demo import show_alone

    raise SystemExit(show_alone(ActivationView, "ActivationView (demo)", (300, 300)))
