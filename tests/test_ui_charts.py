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
