"""The gradient-norm chart's smoothing keeps decades apart and gaps as gaps."""

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
