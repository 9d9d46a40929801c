"""The window's controls take their ranges, steps, labels and tooltips from the field table."""

import math

import pytest
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QLabel, QSlider, QSpinBox

from playground import fields
from playground.experiment import Experiment
from playground.fields import FIELDS
from playground.ui import controls
from playground.ui.activation_view import PARAMETERS, ActivationView
from playground.ui.controls import DataPanel, HyperPanel


@pytest.fixture
def panels(qtbot):
    hyper, data = HyperPanel(), DataPanel()
    for panel in (hyper, data):
        qtbot.addWidget(panel)
        panel.set_experiment(Experiment())
    return hyper, data


def _form_labels(panel) -> dict[str, str]:
    """Each form row's label text, by the field path of a widget in its row."""
    forms = [panel.layout()] + [panel.layout().itemAt(i).layout() for i in range(panel.layout().count())]
    labels = {}
    by_widget = {id(widget): path for path, widget in panel.widgets.items()}
    for form in forms:
        if not isinstance(form, QFormLayout):
            continue
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if label is None or field is None or not isinstance(label.widget(), QLabel):
                continue
            items = [field.widget()] if field.widget() else [field.layout().itemAt(i).widget()
                                                             for i in range(field.layout().count())]
            for widget in items:
                if id(widget) in by_widget:
                    labels[by_widget[id(widget)]] = label.widget().text()
    return labels


def test_every_widget_spans_its_fields_range_in_its_step(panels):
    hyper, data = panels
    widgets = {**hyper.widgets, **data.widgets}
    ranged = [path for path, row in FIELDS.items() if row.kind in (fields.NUMBER, fields.WHOLE)
              and not path.startswith("network.activation_params.")]
    assert set(ranged) <= set(widgets)  # every number field has its widget
    for path in ranged:
        row, widget = FIELDS[path], widgets[path]
        if isinstance(widget, QSlider):  # ticks of the field's step
            assert (widget.minimum() * row.step, widget.maximum() * row.step) == pytest.approx((row.low, row.high))
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            assert (widget.minimum(), widget.maximum()) == (row.low, row.high), path
            if row.step is not None:
                assert widget.singleStep() == row.step, path
        else:  # an editable list of usual values: each inside the range, any other typed in is validated
            presets = [float(widget.itemText(i)) for i in range(widget.count())]
            assert presets and all(row.low <= value <= row.high for value in presets), path
    for path, widget in widgets.items():
        assert FIELDS[path].help in widget.toolTip(), path
        if hasattr(widget, "count") and FIELDS[path].kind == fields.CHOICE:
            assert tuple(widget.itemText(i) for i in range(widget.count())) == FIELDS[path].choices


def test_every_form_row_is_labelled_as_its_field(panels):
    hyper, data = panels
    labels = {**_form_labels(hyper), **_form_labels(data)}
    assert len(labels) >= 12
    sliders = {"data.noise": "0%", "data.train_fraction": "50%"}  # a slider's label shows its value
    expected = {path: f"{FIELDS[path].label} {sliders[path]}" if path in sliders else FIELDS[path].label
                for path in labels}
    assert labels == expected


def test_grad_clip_reaches_the_tables_ends(panels):
    hyper, _ = panels
    hyper.clip_on.click()
    for text, value in (("1e-06", 1e-6), ("1e+06", 1e6), ("0.5", 0.5)):
        hyper.clip.lineEdit().setText(text)
        hyper.clip.interpretText()
        assert math.isclose(hyper.clip.value(), value) and hyper.clip.text() == text
    hyper.clip.lineEdit().setText("2e6")  # outside: not acceptable, the box keeps its value
    assert hyper.clip.validate("2e6", 3)[0] != controls.QValidator.State.Acceptable


def test_each_activation_parameter_takes_its_row(qtbot):
    view = ActivationView()
    qtbot.addWidget(view)
    assert set(PARAMETERS) == {"leaky_relu", "prelu", "elu"}
    for activation, row in PARAMETERS.items():
        view.set_network(Experiment().with_field("network.activation", activation).network)
        assert (view.param.minimum(), view.param.maximum(), view.param.singleStep()) == (row.low, row.high, row.step)
        assert view.param_label.text() == row.label and view.param.value() == pytest.approx(
            Experiment().network.param(row.name))
