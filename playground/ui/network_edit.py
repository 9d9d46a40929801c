"""The network view's architecture controls: +/− layers and neurons, each layer's activation.

ArchitectureControls puts its buttons on the NetworkView (the layer count at the top left, each hidden
layer's +/− and activation in that layer's column) and turns a click into one edit,
("network.shape", (hidden, activation)), which the view emits for the window to validate and apply.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QActionGroup, QFont, QFontMetricsF
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QToolButton, QWidget

from ..activations import ACTIVATIONS
from ..experiment import ACTIVATION_NAMES, MAX_LAYERS, MAX_UNITS

BUTTON_CSS = (  # flat buttons sized to their text: the default style's padding and menu arrow
    # (~19 px) did not fit 8 layers side by side at 1280×720 with the presentation font
    "QToolButton { padding: 0px 2px; border: 1px solid #a0a0a0; border-radius: 3px; background: #f7f7f7; }"
    "QToolButton:hover { background: #e3eef8; } QToolButton:pressed { background: #cfe0f0; }"
    "QToolButton:disabled { color: #b0b0b0; border-color: #d0d0d0; }"
    "QToolButton::menu-indicator { image: none; width: 0px; }")
# the layer's activation button: short enough for 8 layers side by side at 1280×720
SHORT_LABELS = {"leaky_relu": "Leaky", "softplus": "Softplus", "sigmoid": "Sigmoid", "linear": "Linear",
                "silu": "SiLU"}
TINY_LABELS = {"leaky_relu": "Leaky", "softplus": "Soft+", "sigmoid": "σ", "linear": "lin", "prelu": "PReL",
               "gelu": "GELU", "selu": "SELU", "mish": "Mish", "tanh": "tanh"}


def shape_edit(hidden: tuple[int, ...], activations: tuple[str, ...], fallback: str) -> tuple:
    """The ("network.shape", value) edit for new hidden sizes and per-layer activations.

    One name when all layers agree keeps files tidy; with no hidden layer left, the activation the
    network had (`fallback`) stays, ready for a layer added back.
    """
    activation = activations[0] if activations and len(set(activations)) == 1 else tuple(activations)
    if not hidden:
        activation = fallback
    return "network.shape", (tuple(hidden), activation)


class ArchitectureControls:
    """The buttons on a NetworkView that edit its network's shape: `emit(path, value)` sends an edit of `network()`."""

    def __init__(self, view: QWidget, emit: Callable[[str, object], None], network: Callable[[], object]):
        self.view = view
        self.emit = emit
        self.network = network  # the network edits start from (the window's newest, or the snapshot's)
        self.headers: list[QWidget] = []  # per hidden layer: its +/− buttons
        self.choosers: list[QToolButton] = []  # per hidden layer: its activation button
        self.bar = QWidget(view)
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        minus = _small_button("−", "remove the last hidden layer")
        plus = _small_button("+", "add a hidden layer")
        minus.clicked.connect(lambda: self.edit_layers(-1))
        plus.clicked.connect(lambda: self.edit_layers(+1))
        self.layers_label = QLabel("hidden layers")
        row.addWidget(minus)
        row.addWidget(plus)
        row.addSpacing(4)
        row.addWidget(self.layers_label)
        self.layer_buttons = (minus, plus)
        self.fit_bar(2)

    # ---- the view calls these --------------------------------------------------------------------
    def widgets(self) -> list[QWidget]:
        """Every control drawn in the view's header (tests check none overlaps another)."""
        return [self.bar, *self.headers, *self.choosers]

    def set_font(self, font: QFont) -> None:
        """Presentation mode: buttons with a style sheet do not inherit a font change, so hand it over."""
        for button in self.layer_buttons:
            button.setFont(font)

    def fit_bar(self, y: float) -> None:
        for button in self.layer_buttons:
            _fit_small_button(button)
        self.bar.adjustSize()
        self.bar.move(4, int(y))

    def rebuild(self, hidden: tuple[int, ...], activations: tuple[str, ...], bar_y: float) -> None:
        """New buttons for a new shape (the old ones go, outside their own click's signal)."""
        for widget in (*self.headers, *self.choosers):
            widget.hide()
            widget.setParent(None)  # out of findChild's reach now; deleted later, outside its own signal
            widget.deleteLater()
        self.headers, self.choosers = [], []
        self.layers_label.setText(f"{len(hidden)} hidden layer{'s' if len(hidden) != 1 else ''}")
        self.layer_buttons[0].setEnabled(len(hidden) > 0)
        self.layer_buttons[1].setEnabled(len(hidden) < MAX_LAYERS)
        self.fit_bar(bar_y)
        for i, (units, name) in enumerate(zip(hidden, activations)):
            header = QWidget(self.view)
            row = QHBoxLayout(header)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(2)
            minus = _small_button("−", f"one neuron fewer in layer {i + 1}")
            plus = _small_button("+", f"one neuron more in layer {i + 1}")
            minus.setEnabled(units > 1)
            plus.setEnabled(units < MAX_UNITS)
            minus.clicked.connect(lambda _=False, i=i: self.edit_units(i, -1))
            plus.clicked.connect(lambda _=False, i=i: self.edit_units(i, +1))
            for button in (minus, plus):
                button.setFont(self.view.font())
            row.addWidget(minus)
            row.addWidget(plus)
            header.adjustSize()
            header.show()
            self.headers.append(header)
            self.choosers.append(self._make_chooser(i, name))

    def place(self, centres: list[float], widths: list[float], rows: dict[str, float],
              activations: tuple[str, ...], height: int) -> None:
        """Each hidden layer's buttons inside its own column, in the header rows the view laid out."""
        self.fit_bar(rows["bar"])
        for i, (header, chooser) in enumerate(zip(self.headers, self.choosers)):
            x, room = centres[i + 1], widths[i + 1] - 4
            for button in header.findChildren(QToolButton):
                _fit_small_button(button)
                if 2 * button.width() + 2 > room:  # very narrow columns: narrower signs, still a line high
                    button.setFixedWidth(max(8, int((room - 2) / 2)))
            header.adjustSize()
            header.move(round(x - header.width() / 2), round(rows["units"]))
            name = activations[i]
            self._fit_chooser(chooser, name, room, height)
            chooser.move(round(x - chooser.width() / 2), round(rows["chooser"]))
            # the menu follows an edit made elsewhere (the Activation box sets every layer)
            for action in chooser.menu().actions():
                action.setChecked(action.data() == name)

    # ---- the edits -------------------------------------------------------------------------------
    def edit_layers(self, delta: int) -> None:
        """One hidden layer more (a copy of the last) or fewer (the last goes)."""
        hidden = list(self.network().hidden)
        activations = list(self.network().layer_activations())
        if delta > 0 and len(hidden) < MAX_LAYERS:
            hidden.append(hidden[-1] if hidden else 4)
            activations.append(activations[-1] if activations else "relu")
        elif delta < 0 and hidden:
            hidden.pop()
            activations.pop()
        else:
            return
        self._emit(tuple(hidden), tuple(activations))

    def edit_units(self, layer: int, delta: int) -> None:
        """`delta` neurons more in hidden layer `layer` (0-based), within 1 and MAX_UNITS."""
        hidden = list(self.network().hidden)
        hidden[layer] = min(MAX_UNITS, max(1, hidden[layer] + delta))
        self._emit(tuple(hidden), self.network().layer_activations())

    def edit_activation(self, layer: int, name: str) -> None:
        """Hidden layer `layer` (0-based) takes activation `name`."""
        activations = list(self.network().layer_activations())
        activations[layer] = name
        self._emit(self.network().hidden, tuple(activations))

    def _emit(self, hidden: tuple[int, ...], activations: tuple[str, ...]) -> None:
        fallback = self.network().layer_activations()[0] if self.network().hidden else "relu"
        self.emit(*shape_edit(hidden, activations, fallback))

    # ---- the activation button -------------------------------------------------------------------
    def _make_chooser(self, layer: int, current: str) -> QToolButton:
        """The layer's activation button; its menu ticks the activation the layer has."""
        chooser = QToolButton(self.view)
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
            action.triggered.connect(lambda _=False, i=layer, option=option: self.edit_activation(i, option))
        chooser.setMenu(menu)
        chooser.show()
        return chooser

    def _fit_chooser(self, chooser: QToolButton, name: str, room: float, height: int) -> None:
        """The longest label that fits the column: the short name, a tiny one, then a smaller font."""
        chooser.setToolTip(f"activation of this layer: {ACTIVATIONS[name].label} (click to change)")
        font = QFont(self.view.font())
        pad = 8  # the flat style's padding and border, both sides
        candidates = [SHORT_LABELS.get(name, ACTIVATIONS[name].label), TINY_LABELS.get(name, ACTIVATIONS[name].label)]
        for scale in (1.0, 0.9, 0.8, 0.7):  # never below 0.7 of the view's text
            font.setPointSizeF(self.view.font().pointSizeF() * scale)
            metrics = QFontMetricsF(font)
            text = next((t for t in candidates if metrics.horizontalAdvance(t) + pad <= room), None)
            if text is not None:
                break
        else:
            text = metrics.elidedText(candidates[1], Qt.TextElideMode.ElideRight, max(1, int(room - pad)))
        chooser.setFont(font)
        chooser.setText(text)
        chooser.setFixedSize(round(min(max(metrics.horizontalAdvance(text) + pad, height), max(room, 1))), height)


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
