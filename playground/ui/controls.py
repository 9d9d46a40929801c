"""The control panels: run bar, data panel and hyper-parameters.

Panels never change the experiment themselves: they emit sigEdit(path, value) and the window
validates it (Experiment.with_field) and hands the result to the worker. set_experiment() brings
the widgets back in line with the experiment, signals blocked, after every accepted or refused edit.
Each field's widget takes its range, step, label and tooltip from the field table (fields.py);
`widgets` maps each field's path to it.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox, QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox,
    QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from ..datasets import DATASETS, FEATURE_LABELS
from ..fields import DATASET_NAMES, FEATURE_NAMES, FIELDS, Field
from ..plane import EXTENT
from . import colors

SPEEDS = (("1 step/s", 1.0), ("5 steps/s", 5.0), ("20 steps/s", 20.0), ("100 steps/s", 100.0),
          ("250 steps/s", 250.0), ("500 steps/s", 500.0), ("2000 steps/s", 2000.0), ("10000 steps/s", 10000.0),
          ("max", None))
# The first Play must show learning happen. Measured (Trainer, the default experiment: circle, [4,2]
# tanh, sgd 0.03, batch 10): 95 % test accuracy at step 1,625 with seed 0 (seeds 0-4: 825-3,350), so
# 250 steps/s takes ~6.5 s (3-13 s); at "max" it was learnt within a frame or two.
DEFAULT_SPEED = "250 steps/s"
LEARNING_RATES = ("0.00001", "0.0001", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "3", "10")
REG_RATES = ("0", "0.0001", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "3", "10")


def compact(value: float) -> str:
    """1234 -> "1,234", 126625 -> "127k", 2_500_000 -> "2.5M": short labels for big counts."""
    value = float(value)
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3g}M"
    if abs(value) >= 1e5:
        return f"{value / 1e3:.0f}k"
    return f"{value:,.0f}"


def _score(value, spec: str) -> str:
    """A loss or accuracy, or "—" when there is none (None, NaN or infinite: a diverged network)."""
    return "—" if value is None or not math.isfinite(value) else format(value, spec)


def whole_box(row: Field) -> QSpinBox:
    """A spin box over a whole-number field's range, committed when the value is complete."""
    box = QSpinBox()
    box.setRange(row.low, row.high)
    box.setSingleStep(row.step or 1)
    box.setKeyboardTracking(False)
    box.setToolTip(row.tip)
    return box


class NumberBox(QDoubleSpinBox):
    """A spin box over a number field's whole range, showing the value as a person writes it ("1e-06",
    "0.5", "1000") rather than to fixed decimals: grad_clip's range spans 1e-6 to 1e6."""

    DECIMALS = 9  # Qt rounds every value to this many places: finer than any field's low end or step

    def __init__(self, row: Field, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDecimals(self.DECIMALS)
        self.setRange(row.low, row.high)
        if row.step is None:  # a range over decades: the step follows the value (1 -> 0.1, 100 -> 10)
            self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        else:
            self.setSingleStep(row.step)
        self.setKeyboardTracking(False)
        self.setToolTip(row.tip)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt override)
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):  # noqa: N802 (Qt override)
        try:
            value = float(text)
        except ValueError:  # "", "-", "1e" on the way to a number
            return QValidator.State.Intermediate, text, pos
        inside = self.minimum() <= value <= self.maximum()
        return QValidator.State.Acceptable if inside else QValidator.State.Intermediate, text, pos


def _block(widget, setter, value) -> None:
    widget.blockSignals(True)
    setter(value)
    widget.blockSignals(False)


class FieldNotes:
    """A small red note under a field, saying why what was typed there was refused.

    The window refuses a value through Experiment.with_field and puts the field back to the last
    valid one (set_experiment); the note says why, beside the field, until the next accepted edit.
    """

    def __init__(self):
        self.notes: dict[str, QLabel] = {}

    def add(self, form: QFormLayout, path: str) -> QLabel:
        note = QLabel()
        note.setObjectName(f"note:{path}")
        note.setWordWrap(True)
        note.setStyleSheet("color: #c0392b; font-size: 90%;")
        note.hide()  # a hidden widget takes no room in the form
        form.addRow(note)
        self.notes[path] = note
        return note

    def show(self, path: str, message: str, kept: str) -> bool:
        """Show `message` (an ExperimentError's text) under the field for `path`; False if none is here."""
        note = self.notes.get(path)
        if note is None:
            return False
        reason = message.split(" = ", 1)[1] if message.startswith(path + " = ") else message
        note.setText(f"{reason}; back to {kept}")
        note.setToolTip(message)
        note.show()
        return True

    def clear(self) -> None:
        for note in self.notes.values():
            note.hide()


# ---- run bar ------------------------------------------------------------------------------------
class RunBar(QWidget):
    """Play/pause, step, reset, the step and epoch counter, the speed, and the current scores."""

    sigPlay = Signal(bool)
    sigStep = Signal()
    sigReset = Signal()
    sigSpeed = Signal(object)  # steps per second, or None for as fast as it goes

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.play_button = QPushButton("▶ Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("play / pause (Space)")
        self.play_button.toggled.connect(self._toggled)
        self.step_button = QPushButton("Step ▸")
        self.step_button.setToolTip("one step (S or →)")
        self.step_button.clicked.connect(self.sigStep)
        self.reset_button = QPushButton("⟲ Reset")
        self.reset_button.setToolTip("new weights from the seed, same data (R)")
        self.reset_button.clicked.connect(self.sigReset)
        self.counter = QLabel()
        self.counter.setObjectName("counter")
        # wide enough for a long run at full speed, so the row does not shift as the numbers grow
        self.counter.setMinimumWidth(self.counter.fontMetrics().horizontalAdvance(
            "Step 99,999,999 · Epoch 9,999,999 · 999k/s") + 8)
        self.speed = QComboBox()
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.speed.setCurrentIndex(self.speed.findText(DEFAULT_SPEED))
        self.speed.setToolTip("training speed in steps (minibatch updates) per second")
        self.speed.currentIndexChanged.connect(lambda i: self.sigSpeed.emit(self.speed.itemData(i)))
        self.scores = QLabel()
        self.scores.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        for widget in (self.play_button, self.step_button, self.reset_button):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep Space for the window's shortcut
            row.addWidget(widget)
        row.addSpacing(10)
        row.addWidget(self.counter)
        row.addWidget(QLabel("Speed"))
        row.addWidget(self.speed)
        row.addSpacing(10)
        row.addWidget(self.scores, 1)
        self.set_counts(0, 0.0)

    def _toggled(self, playing: bool) -> None:
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")
        self.sigPlay.emit(playing)

    def set_playing(self, playing: bool) -> None:
        """Follow the worker (it pauses itself on divergence) without echoing a command."""
        _block(self.play_button, self.play_button.setChecked, playing)
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")

    def set_counts(self, step: int, epoch: float, rate: float | None = None) -> None:
        # compact past a thousand epochs and for the rate: at full speed the long forms outgrew the
        # label and the rate was cut off behind the speed control
        epochs = f"{epoch:,.1f}" if epoch < 1000 else f"{epoch:,.0f}"
        text = f"Step <b>{step:,}</b> · Epoch <b>{epochs}</b>"
        if rate:
            text += f" <span style='color:#777'>· {compact(rate)}/s</span>"
        self.counter.setText(text)

    def show_snapshot(self, snapshot) -> None:
        self.set_counts(snapshot.step, snapshot.epoch)
        if snapshot.diverged:
            self.scores.setText("<span style='color:#e0001b'><b>diverged</b></span> · Loss — · Accuracy —")
            return
        # test accuracy first: where the bar is narrow (a lesson's panel beside it on a projector) the
        # end of the line is what is cut, and the figure a class watches stays in view
        self.scores.setText(
            f"Accuracy test <b>{_score(snapshot.test_accuracy, '.0%')}</b> "
            f"train <b>{_score(snapshot.train_accuracy, '.0%')}</b> · "
            f"Loss test <b>{_score(snapshot.test_loss, '.3f')}</b> train <b>{_score(snapshot.train_loss, '.3f')}</b>")


# ---- data panel ---------------------------------------------------------------------------------
def dataset_icon(name: str, size: int = 44) -> QIcon:
    """A thumbnail of a built-in dataset: its points on a light square, orange/blue by label."""
    X, y = DATASETS[name](200, 0.0, np.random.default_rng(0))
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(colors.MIDDLE))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    scale = size / (2 * EXTENT)
    for (px, py), label in zip(X, y):
        painter.setBrush(QColor(colors.BLUE if label > 0.5 else colors.ORANGE))
        painter.drawEllipse(int((px + EXTENT) * scale) - 1, int((EXTENT - py) * scale) - 1, 3, 3)
    painter.end()
    return QIcon(pixmap)


class DataPanel(QWidget):
    """Dataset thumbnails, noise, train fraction, points, regenerate, features, display options."""

    sigEdit = Signal(str, object)
    sigShowTest = Signal(bool)
    sigDiscretize = Signal(bool)
    sigLoadCsv = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._experiment = None
        self.widgets: dict[str, QWidget] = {}  # field path -> its widget
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)

        grid = QGridLayout()
        grid.setSpacing(3)
        self.datasets = QButtonGroup(self)
        self.datasets.setExclusive(True)
        for i, name in enumerate(DATASET_NAMES):
            button = QToolButton()
            button.setIcon(dataset_icon(name))
            button.setIconSize(QSize(44, 44))
            button.setText(name)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setCheckable(True)
            button.setObjectName(f"dataset_{name}")
            self.datasets.addButton(button, i)
            grid.addWidget(button, i // 3, i % 3)
        self.datasets.idClicked.connect(lambda i: self.sigEdit.emit("data.dataset", DATASET_NAMES[i]))
        layout.addLayout(grid)
        self.custom = QLabel()
        self.custom.setWordWrap(True)
        layout.addWidget(self.custom)
        load = QPushButton("Import CSV…")
        load.setToolTip("points from a CSV file of x,y,label rows (label 0 or 1)")
        load.clicked.connect(self.sigLoadCsv)
        layout.addWidget(load)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.noise = self._slider(FIELDS["data.noise"])
        self.noise_label = QLabel()
        self.train_fraction = self._slider(FIELDS["data.train_fraction"])
        self.train_label = QLabel()
        self._fix_label_widths()
        form.addRow(self.noise_label, self.noise)
        form.addRow(self.train_label, self.train_fraction)
        self.n_points = self._whole(FIELDS["data.n_points"])
        form.addRow(FIELDS["data.n_points"].label, self.n_points)
        self.notes = FieldNotes()
        self.notes.add(form, "data.n_points")
        layout.addLayout(form)
        regenerate = QPushButton("Regenerate")
        regenerate.setToolTip("new random points: the next seed (the weights change with it)")
        regenerate.clicked.connect(lambda: self.sigEdit.emit("seed", (self._experiment.seed + 1) % (FIELDS["seed"].high + 1)))
        layout.addWidget(regenerate)

        box = QGroupBox(FIELDS["data.features"].label)
        box.setToolTip(FIELDS["data.features"].tip)
        features = QGridLayout(box)
        features.setSpacing(2)
        self.features: dict[str, QCheckBox] = {}
        for i, name in enumerate(FEATURE_NAMES):
            check = QCheckBox(FEATURE_LABELS[name])
            check.toggled.connect(self._features_changed)
            features.addWidget(check, i // 4, i % 4)
            self.features[name] = check
        self.standardize = QCheckBox(FIELDS["data.standardize"].label)
        self.standardize.setToolTip(FIELDS["data.standardize"].tip)
        self.standardize.toggled.connect(lambda v: self.sigEdit.emit("data.standardize", bool(v)))
        features.addWidget(self.standardize, (len(FEATURE_NAMES) + 3) // 4, 0, 1, 4)
        layout.addWidget(box)

        self.show_test = QCheckBox("Show test data")
        self.show_test.toggled.connect(self.sigShowTest)
        self.discretize = QCheckBox("Discretize output")
        self.discretize.toggled.connect(self.sigDiscretize)
        layout.addWidget(self.show_test)
        layout.addWidget(self.discretize)
        layout.addStretch(1)
        self.widgets.update({"data.features": box, "data.standardize": self.standardize})

    def _slider(self, row: Field) -> QSlider:
        """A slider in ticks of the field's step over its range (noise 0..0.5 in 0.01: 0..50)."""
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(round(row.low / row.step), round(row.high / row.step))
        slider.setTracking(False)  # rebuild the data once on release, not on every pixel
        slider.setToolTip(row.tip)
        slider.valueChanged.connect(lambda v: self.sigEdit.emit(row.path, round(v * row.step, 4)))
        slider.sliderMoved.connect(lambda v: self._label_slider(row.path, v * row.step))
        self.widgets[row.path] = slider
        return slider

    def _whole(self, row: Field) -> QSpinBox:
        box = whole_box(row)
        box.valueChanged.connect(lambda v: self.sigEdit.emit(row.path, int(v)))
        self.widgets[row.path] = box
        return box

    def _fix_label_widths(self) -> None:
        """Both slider labels as wide as their widest text ("Noise 50%" vs "Noise 5%" shifted both
        sliders as the value changed); again whenever the font changes (presentation mode)."""
        metrics = self.noise_label.fontMetrics()
        width = max(metrics.horizontalAdvance(f"{FIELDS[path].label} 100%")
                    for path in ("data.noise", "data.train_fraction")) + 4
        for label in (self.noise_label, self.train_label):
            label.setFixedWidth(width)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fix_label_widths()

    def _label_slider(self, path: str, value: float) -> None:
        label = self.noise_label if path == "data.noise" else self.train_label
        label.setText(f"{FIELDS[path].label} {value:.0%}")

    def _features_changed(self) -> None:
        chosen = tuple(name for name in FEATURE_NAMES if self.features[name].isChecked())
        self.sigEdit.emit("data.features", chosen)

    def set_experiment(self, experiment) -> None:
        self._experiment = experiment
        data = experiment.data
        custom = data.points is not None
        self.datasets.setExclusive(not custom)
        for i, button in enumerate(self.datasets.buttons()):
            _block(button, button.setChecked, not custom and DATASET_NAMES[i] == data.dataset)
        self.datasets.setExclusive(True)
        self.custom.setVisible(custom)
        if custom:
            self.custom.setText(f"<b>Custom points</b> ({len(data.points)}); pick a dataset to go back")
        _block(self.noise, self.noise.setValue, round(data.noise / FIELDS["data.noise"].step))
        _block(self.train_fraction, self.train_fraction.setValue,
               round(data.train_fraction / FIELDS["data.train_fraction"].step))
        self._label_slider("data.noise", data.noise)
        self._label_slider("data.train_fraction", data.train_fraction)
        _block(self.n_points, self.n_points.setValue, data.n_points)
        for widget in (self.noise, self.n_points):
            widget.setEnabled(not custom)
        for name, check in self.features.items():
            _block(check, check.setChecked, name in data.features)
        _block(self.standardize, self.standardize.setChecked, data.standardize)


# ---- hyper-parameters ---------------------------------------------------------------------------
class HyperPanel(QWidget):
    """Learning rate, optimiser, batch size, loss, regularisation, clipping, batch norm, init, seed."""

    sigEdit = Signal(str, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.widgets: dict[str, QWidget] = {}  # field path -> its widget (an optional field: the number box)
        form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        self.notes = FieldNotes()

        def row(path: str, widget, note: bool = False) -> None:
            form.addRow(FIELDS[path].label, widget)
            if note:
                self.notes.add(form, path)

        self.learning_rate = self._number_combo(LEARNING_RATES, "training.learning_rate")
        row("training.learning_rate", self.learning_rate, note=True)
        self.optimizer = self._choice("training.optimizer")
        row("training.optimizer", self.optimizer)
        self.batch_size = self._whole("training.batch_size")
        row("training.batch_size", self.batch_size, note=True)
        self.loss = self._choice("training.loss")
        row("training.loss", self.loss)
        self.regularization = self._choice("training.regularization")
        row("training.regularization", self.regularization)
        self.regularization_rate = self._number_combo(REG_RATES, "training.regularization_rate")
        row("training.regularization_rate", self.regularization_rate, note=True)
        self.clip_on, self.clip, clip_row = self._optional("training.grad_clip",
                                                           "clip the total gradient norm; off: no clipping")
        row("training.grad_clip", clip_row, note=True)
        self.batch_norm = QCheckBox("after each hidden layer")
        self.batch_norm.setToolTip(FIELDS["network.batch_norm"].tip)
        self.batch_norm.toggled.connect(lambda v: self.sigEdit.emit("network.batch_norm", bool(v)))
        self.widgets["network.batch_norm"] = self.batch_norm
        row("network.batch_norm", self.batch_norm)
        self.init = self._choice("network.init")
        row("network.init", self.init)
        self.init_gain = self._number("network.init_gain")
        row("network.init_gain", self.init_gain, note=True)
        # off: the init's own rule (0, or nn.Linear's random biases for torch); on: every hidden bias
        self.bias_on, self.bias_init, bias_row = self._optional(
            "network.bias_init", "set every hidden bias; off: the init's own rule (0; torch: U(±1/√fan_in))")
        row("network.bias_init", bias_row, note=True)
        self.seed = self._whole("seed")
        row("seed", self.seed, note=True)

    def _choice(self, path: str) -> QComboBox:
        names = FIELDS[path].choices
        combo = QComboBox()
        combo.addItems(names)
        combo.setToolTip(FIELDS[path].tip)
        combo.activated.connect(lambda i: self.sigEdit.emit(path, names[i]))
        self.widgets[path] = combo
        return combo

    def _number_combo(self, values: tuple[str, ...], path: str) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)  # pick a usual value or type any other
        # Return must not add what was typed to the list (it added "3  sr" for good): a typed value
        # is committed through the experiment, which refuses junk, and the list stays as it is
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.addItems(values)
        combo.setToolTip(FIELDS[path].tip)
        combo.setObjectName(path)

        def commit() -> None:
            text = combo.currentText().strip()
            try:
                value = float(text)
            except ValueError:
                value = text  # let the experiment say what is allowed
            self.sigEdit.emit(path, value)

        combo.activated.connect(lambda _i: commit())
        combo.lineEdit().editingFinished.connect(commit)
        self.widgets[path] = combo
        return combo

    def _whole(self, path: str) -> QSpinBox:
        box = whole_box(FIELDS[path])
        box.valueChanged.connect(lambda v: self.sigEdit.emit(path, int(v)))
        self.widgets[path] = box
        return box

    def _number(self, path: str, emit: bool = True) -> NumberBox:
        """A number field's box; emit=False where a checkbox beside it decides (an optional field)."""
        box = NumberBox(FIELDS[path])
        if emit:
            box.valueChanged.connect(lambda v: self.sigEdit.emit(path, float(v)))
        self.widgets[path] = box
        return box

    def _optional(self, path: str, tip: str) -> tuple[QCheckBox, NumberBox, QHBoxLayout]:
        """A number field whose null means something (FIELDS[path].null): a box beside a checkbox,
        off: null. Returns (the checkbox, the box, the row holding both)."""
        on, box = QCheckBox(), self._number(path, emit=False)
        on.setToolTip(tip)

        def changed() -> None:
            box.setEnabled(on.isChecked())
            self.sigEdit.emit(path, float(box.value()) if on.isChecked() else None)

        on.toggled.connect(changed)
        box.valueChanged.connect(changed)
        line = QHBoxLayout()
        line.addWidget(on)
        line.addWidget(box, 1)
        return on, box, line

    @staticmethod
    def _show_optional(on: QCheckBox, box: NumberBox, value: float | None, off_value: float) -> None:
        """Show an optional field's value: null as the checkbox off and the box disabled at off_value."""
        _block(on, on.setChecked, value is not None)
        _block(box, box.setValue, off_value if value is None else value)
        box.setEnabled(value is not None)

    def set_experiment(self, experiment) -> None:
        t, n = experiment.training, experiment.network
        _block(self.learning_rate, self.learning_rate.setCurrentText, f"{t.learning_rate:g}")
        _block(self.optimizer, self.optimizer.setCurrentText, t.optimizer)
        _block(self.batch_size, self.batch_size.setValue, t.batch_size)
        _block(self.loss, self.loss.setCurrentText, t.loss)
        _block(self.regularization, self.regularization.setCurrentText, t.regularization)
        _block(self.regularization_rate, self.regularization_rate.setCurrentText, f"{t.regularization_rate:g}")
        self._show_optional(self.clip_on, self.clip, t.grad_clip, 1.0)
        _block(self.batch_norm, self.batch_norm.setChecked, n.batch_norm)
        _block(self.init, self.init.setCurrentText, n.init)
        _block(self.init_gain, self.init_gain.setValue, n.init_gain)
        self._show_optional(self.bias_on, self.bias_init, n.bias_init, 0.0)  # off: the init's own rule
        _block(self.seed, self.seed.setValue, experiment.seed)
