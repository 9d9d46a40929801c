"""The charts: the gradient-norm smoothing keeps decades apart and gaps as gaps, curves break at
non-finite values, one plot is redrawn a frame."""

import numpy as np

from playground.ui.charts import smooth_log


def test_smoothing_is_a_trailing_geometric_mean_with_gaps():
    values = np.array([1, 100, np.nan, 0, 10, 1000], np.float64)
    out = smooth_log(values, window=2)
    np.testing.assert_allclose(out[[0, 1, 4, 5]], [1, 10, 10, 100])
    assert np.isnan(out[2]) and np.isnan(out[3])


def test_smoothing_keeps_a_vanishing_layer_decades_below():
    rng = np.random.default_rng(0)
    first = 1e-6 * np.exp(rng.normal(0, 1.5, 200))  # noisy, around 1e-6
    last = np.exp(rng.normal(0, 1.5, 200))  # noisy, around 1
    a, b = smooth_log(first), smooth_log(last)
    assert np.all(b[10:] / a[10:] > 1e4)  # the raw curves overlap far less cleanly once smoothed
    assert np.std(np.log10(a[10:])) < 0.5 * np.std(np.log10(first[10:]))


def test_all_zero_gradients_are_said_in_words(qtbot):
    from pathlib import Path

    from playground.experiment import Experiment
    from playground.training import Trainer
    from playground.ui.charts import ChartsView

    examples = Path(__file__).resolve().parent.parent / "resources" / "experiments"
    view = ChartsView()
    qtbot.addWidget(view)
    view.resize(900, 220)
    view.show()
    dead = Trainer(Experiment.load(examples / "dying_relu.json"), grid_size=10)
    dead.step(20)
    view.show_snapshot(dead.snapshot())
    view.flush()
    assert not view.no_gradient.isHidden()
    alive = Trainer(Experiment(), grid_size=10)
    alive.step(20)
    view.show_snapshot(alive.snapshot())
    view.flush()
    assert view.no_gradient.isHidden()


def test_long_runs_label_steps_and_rates_in_short_form(qtbot):
    from playground.ui.charts import StepAxis
    from playground.ui.controls import RunBar, compact

    axis = StepAxis("bottom")
    assert axis.tickStrings([0, 5000, 100_000, 1_500_000], 1.0, 1.0) == ["0", "5000", "100k", "1.5M"]
    assert [compact(v) for v in (950, 12_345, 126_625, 2_500_000)] == ["950", "12,345", "127k", "2.5M"]
    bar = RunBar()
    qtbot.addWidget(bar)
    bar.set_counts(369_842, 14_793.7, 126_625.0)
    assert "Epoch <b>14,794</b>" in bar.counter.text() and "127k/s" in bar.counter.text()
    # the label is wide enough for it: nothing is cut off behind the speed control
    assert bar.counter.minimumWidth() >= bar.counter.sizeHint().width()


def test_the_window_redraws_one_plot_a_frame_in_turn_and_the_rest_when_snapshots_stop(qtbot):
    """prepare() gives one plot's step per frame, in turn (issue 15: four plots in one frame were
    ~23 ms of the GUI thread); flush() and the fallback timer bring every plot to the newest."""
    from playground.experiment import Experiment
    from playground.training import Trainer
    from playground.ui.charts import PLOTS, ChartsView

    view = ChartsView(min_interval=0.0)
    qtbot.addWidget(view)
    view.resize(900, 220)
    trainer = Trainer(Experiment(), grid_size=10)
    snapshots = []
    for _ in range(6):
        trainer.step(10)
        snapshots.append(trainer.snapshot())
    drawn = []
    for snapshot in snapshots[:4]:
        steps = view.prepare(snapshot)
        assert len(steps) == 1
        steps[0]()
        drawn.append(next(key for key in PLOTS if view._drawn.get(key) is snapshot))
    assert drawn == list(PLOTS)  # each plot once, in turn
    # a snapshot already shown by every plot gives no step
    view.prepare(snapshots[4])[0]()
    view.flush()
    assert all(view._drawn[key] is snapshots[4] for key in PLOTS)
    assert view.prepare(snapshots[4]) == []
    # snapshots stop: the timer draws what is left of the newest, one plot a pass
    view.min_interval = 3600.0  # too soon for prepare: only the timer draws
    view.prepare(snapshots[5])
    view._timer.setInterval(0)
    qtbot.waitUntil(lambda: all(view._drawn[key] is snapshots[5] for key in PLOTS), timeout=3000)
    # the curves show the newest history, as a full redraw does
    x, _ = view.curve_data("train_loss")
    assert x[-1] == snapshots[5].history.steps[-1]


def test_a_chart_curve_breaks_at_a_non_finite_value_and_is_drawn_in_its_pen(qtbot):
    """Polylines (each plot's curves as one item): a NaN or inf is a gap, not a line to 0 or off
    the plot; the curve is painted where its points are, in its own colour, in data coordinates."""
    import pyqtgraph as pg
    from PySide6.QtGui import QColor

    from playground.ui.polylines import Polylines

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.setBackground("w")
    plot = widget.getPlotItem()
    plot.setXRange(0, 10, padding=0)
    plot.setYRange(0, 10, padding=0)
    lines = Polylines()
    plot.addItem(lines)
    x = np.arange(11, dtype=np.float64)
    flat = np.full(11, 5.0)
    flat[5] = np.nan  # the run 0-4 and the run 6-10
    rising = x.copy()
    rising[8] = np.inf
    lines.set_curves(x, [flat, rising], [pg.mkPen("#ff0000", width=3), pg.mkPen("#0000ff", width=3)])
    widget.show()
    qtbot.waitExposed(widget)
    assert lines.count() == 2 and np.array_equal(lines.curve(0)[1], flat, equal_nan=True)
    image = widget.grab().toImage()
    view = plot.vb

    def colour_at(px: float, py: float) -> QColor:
        point = widget.mapFromScene(view.mapViewToScene(pg.Point(px, py)))
        # the colour most like red or blue within 2 px, so a line's exact row does not matter
        best = None
        for dx in range(-2, 3):
            for dy in range(-2, 3):
                c = image.pixelColor(point.x() + dx, point.y() + dy)
                if best is None or (c.red() - c.blue()) ** 2 > (best.red() - best.blue()) ** 2:
                    best = c
        return best

    def red(c: QColor) -> bool:
        return c.red() > 200 and c.green() < 60 and c.blue() < 60

    def blue(c: QColor) -> bool:
        return c.blue() > 200 and c.red() < 60 and c.green() < 60

    assert red(colour_at(2.0, 5.0)) and red(colour_at(4.0, 5.0)) and red(colour_at(6.0, 5.0))
    assert blue(colour_at(3.0, 3.0)) and blue(colour_at(7.0, 7.0)) and blue(colour_at(9.5, 9.5))
    def column_has(px: float, colour) -> bool:
        """Whether any pixel of the plot's column at x = px is of `colour` (a line through it,
        wherever it goes: to 0, off the plot)."""
        top = widget.mapFromScene(view.mapViewToScene(pg.Point(px, 10.0)))
        bottom = widget.mapFromScene(view.mapViewToScene(pg.Point(px, 0.0)))
        return any(colour(image.pixelColor(top.x(), y)) for y in range(top.y(), bottom.y() + 1))

    # NaN at x = 5: no red line anywhere between 4 and 6 (to 0, say)
    assert not column_has(4.6, red) and not column_has(5.0, red) and not column_has(5.4, red)
    # inf at x = 8: the rising line stops at 7 and starts again at 9 (no line up off the plot, or down)
    assert not column_has(7.6, blue) and not column_has(8.4, blue)
    empty = Polylines()
    empty.set_curves(x, [np.full(11, np.nan)], [pg.mkPen("#00ff00")])
    assert empty.boundingRect().isEmpty()  # nothing finite: nothing to paint, no area to repaint
