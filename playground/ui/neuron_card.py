"""The network view's hover card: a neuron's big heatmap, its state and its incoming weights."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from ..activations import ACTIVATIONS
from ..datasets import FEATURE_LABELS
from . import colors

CARD_IMAGE_LINES = 10.7  # the card's heatmap (150 px at the default font)
CARD_TEXT_LINES = 15.0  # the card's text column (210 px)


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

    def show_neuron(self, snapshot, c: int, k: int, tile: QRectF) -> None:
        """Show neuron k of column c (0 = inputs, last = output) beside its tile, inside the parent."""
        self.image.setPixmap(QPixmap.fromImage(heatmap(snapshot, c, k, self.size_px)))
        self.text.setText(describe(snapshot, c, k))
        self.adjustSize()
        room = self.parentWidget()
        x = tile.right() + 12 if tile.right() + 12 + self.width() <= room.width() else tile.left() - 12 - self.width()
        x = min(max(x, 0), max(0, room.width() - self.width()))
        y = min(max(tile.top() - 20, 0), room.height() - self.height())
        self.move(int(x), int(max(0, y)))
        self.show()
        self.raise_()


def heatmap(snapshot, c: int, k: int, side: int) -> QImage:
    """The neuron's activity over the whole grid as a side × side image (inputs scaled to their peak)."""
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
    return image.scaled(side, side)


def describe(snapshot, c: int, k: int) -> str:
    """The card's text: what the neuron is, its state and why, its incoming weights (first 12) and bias."""
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
