"""Layout rules of the window's views, checked with geometry at a laptop's and a projector's size.

The whole window is laid out at 1280×720 and 1920×1080 with presentation mode's font and at
1366×768 with the normal font, with 1, 3 and 8 hidden layers, and drawn from a real snapshot. The
rules: nothing in the network's header overlaps anything else, every neuron is inside the view and
below the header, the activation buttons' labels fit, the activation curve keeps a useful height,
chart legends never cover the data, the "no gradient" note never covers a legend, tick labels never
run together, and the hover card grows with the font.
"""

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QRectF
from PySide6.QtGui import QFont, QFontMetricsF, QHelpEvent
from PySide6.QtWidgets import QToolTip

from playground.experiment import Experiment
from playground.training import Trainer
from playground.health import NeuronState
from playground.ui.help import state_tip
from playground.ui.charts import ChartsView
from playground.ui.main_window import PRESENTATION_SCALE, MainWindow
from playground.ui.network_view import NetworkView

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "experiments"
HIDDEN = {1: (4,), 3: (8, 8, 6), 8: (8,) * 8}
SCREENS = {"1280x720 presentation": (1280, 720, True), "1920x1080 presentation": (1920, 1080, True),
           "1366x768 normal": (1366, 768, False)}


def _experiment(layers: int) -> Experiment:
    return (Experiment().with_field("network.hidden", HIDDEN[layers])
            .with_field("network.activation", "leaky_relu" if layers == 3 else "sigmoid"))


def _snapshot(experiment: Experiment, steps: int = 30):
    trainer = Trainer(experiment, grid_size=20)
    trainer.step(steps)
    return trainer.snapshot()


@pytest.fixture
def laid_out(qtbot):
    """A window at a screen's size (and font), showing a real snapshot; no training worker."""
    windows = []

    def make(layers: int, screen: str) -> MainWindow:
        width, height, presentation = SCREENS[screen]
        experiment = _experiment(layers)
        window = MainWindow(experiment, start_worker=False, grid_size=20)
        qtbot.addWidget(window)
        windows.append(window)
        if presentation:  # what set_presentation does, minus going full screen (offscreen has no such screen)
            _scale_font(window, PRESENTATION_SCALE)
        window.setMinimumSize(100, 100)
        window.resize(width, height)
        window.show()
        qtbot.waitExposed(window)
        window.fit_side_tabs()
        window.show_snapshot(_snapshot(experiment))
        qtbot.wait(50)  # the splitters' and charts' deferred fits
        window.show_snapshot(window.snapshot)
        qtbot.wait(50)  # the titles re-wrap to the plots' final widths on the next pass of the event loop
        return window

    yield make
    for window in windows:
        window.shutdown()


def _scale_font(widget, scale: float) -> None:
    font = QFont(widget.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    widget.setFont(font)


def _shown(qtbot, view, width: int, height: int, font_scale: float = 1.0):
    """`view` on screen at width × height, its font `font_scale` times the usual."""
    qtbot.addWidget(view)
    _scale_font(view, font_scale)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    return view


def _widget_rect(widget) -> QRectF:
    return QRectF(widget.geometry())


def _assert_apart(rects: list[tuple[str, QRectF]]) -> None:
    for (a, ra), (b, rb) in combinations(rects, 2):
        overlap = ra.intersected(rb)
        assert overlap.isEmpty(), f"{a} {ra} overlaps {b} {rb}"


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("layers", [1, 3, 8])
def test_network_header_and_neurons_never_overlap(laid_out, layers, screen):
    window = laid_out(layers, screen)
    view = window.network_view
    bounds = QRectF(view.rect())
    titles = view.title_rects()
    assert [t for _, t in titles][0] == "Inputs" and titles[-1][1] == "Output"
    controls = [(f"control {w.objectName() or i}", _widget_rect(w)) for i, w in enumerate(view.header_widgets())]
    everything = [(f"title {t!r}", r) for r, t in titles] + controls
    _assert_apart(everything)
    for name, rect in everything:
        assert bounds.contains(rect), f"{name} {rect} is cut off by the view {bounds}"
    header_bottom = max(r.bottom() for _, r in everything)
    legend_top = min(r.top() for r, _ in view.legend_rects())
    for c, count in enumerate([2, *HIDDEN[layers], 1]):
        for k in range(count):
            rect = view.neuron_rect(c, k)
            assert bounds.contains(rect), f"neuron ({c}, {k}) {rect} is outside the view {bounds}"
            assert rect.top() > header_bottom and rect.bottom() < legend_top, f"neuron ({c}, {k}) {rect}"
    # neurons stay big enough to read on a projector: at least a line of text tall
    line = QFontMetricsF(view.font()).height()
    assert view.neuron_rect(1, 0).height() >= line
    # the activation buttons show a label that fits, never one cut to "L…y"
    for layer in range(layers):
        chooser = view.findChild(object, f"activation_layer_{layer + 1}")
        assert "…" not in chooser.text()
        assert QFontMetricsF(chooser.font()).horizontalAdvance(chooser.text()) + 6 <= chooser.width()
        assert chooser.font().pointSizeF() >= 0.7 * view.font().pointSizeF()
    # the legend fits the view and never covers a neuron
    for rect, tip in view.legend_rects():
        assert bounds.contains(rect), f"legend entry {rect} is cut off"


@pytest.mark.parametrize("screen", list(SCREENS))
def test_the_activation_curve_keeps_its_height(laid_out, screen):
    window = laid_out(3, screen)
    view = window.activation_view
    line = QFontMetricsF(view.font()).height()
    plot = view.plot.height()
    assert plot >= 6 * line - 1, f"curve plot {plot} px for {line:.0f} px text"
    assert plot >= 0.45 * view.height()
    # its legend is beside the formula, not over the curves
    assert view.key.isVisible() and not view.plot.geometry().intersects(view.key.geometry())


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("layers", [1, 8])
def test_chart_legends_sit_outside_the_data_and_fit(laid_out, layers, screen):
    window = laid_out(layers, screen)
    charts = window.charts
    for key, plot in charts.plots.items():
        legend, data = charts.legend_rect(key), charts.data_rect(key)
        assert not legend.intersects(data), f"{key}: legend {legend} covers the data area {data}"
        # every entry is there, within the plot's width
        text = plot.titleLabel.item.toPlainText()
        assert plot.titleLabel.item.boundingRect().width() <= plot.titleLabel.width() + 1, f"{key}: {text!r}"
        names = [name for name, _ in charts.keys[key]]
        shown = [name for name in names if name in text.split() or f"— {name}" in text]
        assert shown[:1] == names[:1] and shown[-1:] == names[-1:], f"{key}: {text!r}"


def _tick_labels(axis):
    """(label, centre in px along the axis, extent in px) of every tick label the axis draws."""
    low, high = axis.range
    horizontal = axis.orientation in ("top", "bottom")
    size = axis.width() if horizontal else axis.height()
    metrics = QFontMetricsF(axis.style["tickFont"] or axis.font())
    out = []
    for spacing, values in axis.tickValues(low, high, size):
        for value, label in zip(values, axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)):
            centre = (value - low) / (high - low) * size
            extent = metrics.horizontalAdvance(label) if horizontal else metrics.height()
            out.append((label, centre, extent))
    return sorted(out, key=lambda t: t[1])


@pytest.mark.parametrize("screen", list(SCREENS))
def test_tick_labels_never_run_together(laid_out, screen):
    window = laid_out(8, screen)
    window.charts.show_snapshot(_snapshot(_experiment(8), steps=1200))  # "1000" beside "500" was the bug
    window.charts.flush()
    axes = [plot.getAxis(name) for plot in window.charts.plots.values() for name in ("bottom", "left")]
    axes += [window.activation_view.plot.getAxis(name) for name in ("bottom", "left")]
    for axis in axes:
        labels = _tick_labels(axis)
        assert len(labels) >= 2, f"{axis.orientation} axis shows {labels}"
        for (a, ca, wa), (b, cb, wb) in zip(labels, labels[1:]):
            assert cb - ca >= (wa + wb) / 2 + 2, f"{a!r} and {b!r} run together on a {axis.orientation} axis"


def test_the_no_gradient_note_stays_in_the_data_area_off_the_legend(qtbot):
    view = _shown(qtbot, ChartsView(), 900, 190, PRESENTATION_SCALE)
    dead = Trainer(Experiment.load(EXAMPLES / "dying_relu.json"), grid_size=10)
    dead.step(20)
    view.show_snapshot(dead.snapshot())
    view.flush()
    qtbot.wait(20)
    assert not view.no_gradient.isHidden()
    note = view.note_rect()
    for key in view.plots:
        assert not note.intersects(view.legend_rect(key)), f"the note {note} covers the {key} legend"
    assert view.data_rect("grads").adjusted(-1, -1, 1, 1).contains(note)


def test_activation_menu_ticks_the_layers_choice(qtbot):
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(700, 480)
    experiment = Experiment().with_field("network.hidden", (4, 3)).with_field("network.activation", ("relu", "tanh"))
    view.show_snapshot(_snapshot(experiment, steps=0))
    for layer, name in enumerate(("relu", "tanh")):
        actions = view.activation_menu(layer).actions()
        assert all(a.isCheckable() for a in actions)
        assert [a.data() for a in actions if a.isChecked()] == [name]
        assert actions[0].actionGroup().isExclusive()
    # choosing another ticks it and unticks the old one; the edit goes out for the window to apply
    with qtbot.waitSignal(view.sigEdit) as blocker:
        next(a for a in view.activation_menu(1).actions() if a.data() == "elu").trigger()
    assert blocker.args == ["network.shape", ((4, 3), ("relu", "elu"))]
    assert [a.data() for a in view.activation_menu(1).actions() if a.isChecked()] == ["elu"]
    # an edit from elsewhere (the window applying a file) is what the menu shows once drawn
    view.show_snapshot(_snapshot(experiment.with_field("network.activation", "gelu"), steps=0))
    assert [a.data() for a in view.activation_menu(0).actions() if a.isChecked()] == ["gelu"]


def test_legend_marks_explain_the_states(qtbot):
    view = _shown(qtbot, NetworkView(), 700, 480)
    view.show_snapshot(_snapshot(Experiment(), steps=0))
    tips = [tip for _, tip in view.legend_rects()]
    for state in NeuronState:
        assert state_tip(state) in tips
    dead_rect = next(rect for rect, tip in view.legend_rects() if tip.startswith("dead"))
    pos = dead_rect.center().toPoint()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, view.mapToGlobal(pos))
    assert view.event(event)
    assert QToolTip.text() == state_tip(NeuronState.DEAD)
    assert "every training point" in QToolTip.text()
    QToolTip.hideText()


def test_hover_card_and_legend_grow_with_the_font(qtbot):
    snapshot = _snapshot(Experiment().with_field("network.hidden", (6, 4)), steps=10)
    sizes = {}
    for scale in (1.0, PRESENTATION_SCALE):
        view = _shown(qtbot, NetworkView(), 900, 600, scale)
        view.show_snapshot(snapshot)
        view.hover_neuron(2, 3)
        card = view.detail
        assert card.isVisible()
        assert QRectF(view.rect()).contains(QRectF(card.geometry()))
        assert not QRectF(card.geometry()).intersects(view.neuron_rect(2, 3))  # beside the neuron, not on it
        legend_height = np.mean([r.height() for r, _ in view.legend_rects()])
        text_line = QFontMetricsF(card.text.font()).height()
        sizes[scale] = (card.image.width(), card.text.width(), text_line, legend_height)
    for small, big in zip(sizes[1.0], sizes[PRESENTATION_SCALE]):
        assert big / small == pytest.approx(PRESENTATION_SCALE, rel=0.12)
