"""Compare mode: the spec, and the proof that batching changes nothing (a variant's run equals a
Trainer run of the same experiment and seed) for every activation and optimiser."""

import json
import math

import numpy as np
import pytest

from playground.compare import Comparison, SpecError, parse_variants
from playground.experiment import ACTIVATION_NAMES, LOSS_NAMES, Experiment
from playground.training import Trainer

BASE = Experiment.from_dict({
    "data": {"dataset": "spiral", "noise": 0.05, "n_points": 160},
    "network": {"hidden": [6, 5]},
    "training": {"learning_rate": 0.02, "batch_size": 10}})
STEPS = 130  # past the every-step probes and into the every-10th ones; a step past a probe too


def test_spec_forms():
    field, variants = parse_variants("activation=relu,leaky_relu,elu", BASE)
    assert field == "network.activation"
    assert [v.name for v in variants] == ["relu", "leaky_relu", "elu"]
    assert variants[2].experiment.network.activation == "elu"
    field, variants = parse_variants("training.learning_rate=0.005,0.05", BASE)
    assert [v.experiment.training.learning_rate for v in variants] == [0.005, 0.05]
    assert variants[0].name == "learning_rate=0.005"
    _, variants = parse_variants("network.hidden=[8,8],[16]", BASE)
    assert [v.experiment.network.hidden for v in variants] == [(8, 8), (16,)]
    _, variants = parse_variants("training.grad_clip=null,1.0", BASE)
    assert [v.experiment.training.grad_clip for v in variants] == [None, 1.0]
    _, variants = parse_variants("network.activation_params.negative_slope=0.01,0.3", BASE)
    assert variants[1].experiment.network.param("negative_slope") == 0.3


@pytest.mark.parametrize("spec, problem", [
    ("activation=relu", "1 value"),
    ("activation=relu,elu,tanh,gelu,silu,mish,selu", "7 values"),
    ("network.colour=1,2", "unknown field 'network.colour'"),
    ("training.learning_rate=0.01,99", "training.learning_rate = 99 is not allowed"),
    ("activation=relu,swish", "network.activation = 'swish' is not allowed"),
    ("activation=relu,relu", "relu given twice"),
    ("relu,elu", "no FIELD="),
    ("network.hidden=[8,8,[16]", "unbalanced"),
])
def test_bad_spec_says_what_and_the_accepted_forms(spec, problem):
    with pytest.raises(SpecError) as error:
        parse_variants(spec, BASE)
    message = str(error.value)
    assert problem in message
    assert "activation=relu,leaky_relu,elu" in message and "\n" not in message


def _assert_matches_trainer(comparison, v, s, trainer, same_params=True):
    metrics = comparison.network_metrics(v, s)
    snap = trainer.snapshot()
    assert trainer.step_count == comparison.step_count
    np.testing.assert_allclose(comparison.network_params(v, s), trainer.model.params, rtol=1e-4, atol=2e-6)
    assert metrics["test_accuracy"] == snap.test_accuracy
    assert metrics["train_accuracy"] == snap.train_accuracy
    assert metrics["train_loss"] == pytest.approx(snap.train_loss, rel=1e-4, abs=1e-6)
    assert [s.tolist() for s in metrics["states"]] == [s.tolist() for s in snap.states]
    assert metrics["dead_fraction"] == snap.counts()["dead"] / snap.counts()["total"]
    assert metrics["diverged"] == snap.diverged


ACTIVATION_HALVES = [ACTIVATION_NAMES[:6], ACTIVATION_NAMES[6:]]


@pytest.mark.parametrize("optimizer, extra", [
    ("sgd", {}),
    ("momentum", {"regularization": "l1", "regularization_rate": 0.001}),
    ("adam", {"grad_clip": 0.5, "regularization": "l2", "regularization_rate": 0.001}),
])
@pytest.mark.parametrize("names", ACTIVATION_HALVES, ids=["relu-selu", "gelu-linear"])
def test_each_variant_equals_a_trainer_run_of_its_experiment(optimizer, extra, names):
    training = {"optimizer": optimizer, "learning_rate": 0.01 if optimizer == "adam" else 0.05, **extra}
    base = Experiment.from_dict({**BASE.to_dict(), "training": {**BASE.to_dict()["training"], **training}})
    comparison, runs = _compared_with_trainers("activation=" + ",".join(names), base)
    for v, s, trainer in runs:
        _assert_matches_trainer(comparison, v, s, trainer)


@pytest.mark.parametrize("optimizer, extra", [
    ("sgd", {}),
    ("momentum", {"batch_size": 79}),  # 80 training points: every other step a single point (running statistics)
    ("adam", {"grad_clip": 0.5, "regularization": "l2", "regularization_rate": 0.001}),
])
def test_a_batch_norm_variant_equals_a_trainer_run_of_its_experiment(optimizer, extra):
    """Batch norm's gamma and beta are trained, its running statistics move, and the probe, health
    and the snapshot's grids use them: all as the Trainer's.

    But for Adam, the biases that feed a batch norm: batch norm subtracts the batch mean, so their
    gradient is zero up to rounding (~1e-9), and Adam divides it by its own size, so they take
    learning-rate-sized steps in the direction of float32 rounding noise. No two float engines
    agree there: the Trainer against itself with one weight one ulp off differs there by as much
    (checked below), and through the running means (which follow those biases) the test
    accuracy by a point or two. Everything else is compared to float tolerance."""
    # bce: under the default tanh_mse, momentum at batch 79 of 80 amplifies rounding so that the
    # Trainer against itself one weight one ulp apart ends 5.9e-5 apart after these steps (measured),
    # beyond float tolerance; bce keeps it to rounding and lets this compare every parameter
    training = {"optimizer": optimizer, "learning_rate": 0.01 if optimizer == "adam" else 0.05, "loss": "bce", **extra}
    base = Experiment.from_dict({**BASE.to_dict(), "network": {"hidden": [6, 5], "batch_norm": True},
                                 "training": {**BASE.to_dict()["training"], **training}})
    comparison, runs = _compared_with_trainers("activation=relu,prelu,tanh,elu", base)
    for v, s, trainer in runs:
        if optimizer != "adam":
            _assert_matches_trainer(comparison, v, s, trainer)
            np.testing.assert_allclose(comparison.network_flat_state(v, s), trainer.model.flat_state(),
                                       rtol=1e-4, atol=2e-6)
            np.testing.assert_allclose(comparison.snapshot(v, s, grid_size=20).output_grid, _grid(trainer, 20),
                                       rtol=1e-3, atol=1e-5)
            continue
        noise = _biases_before_batch_norm(trainer.model)
        mine, theirs = comparison.network_params(v, s), trainer.model.params
        np.testing.assert_allclose(mine[~noise], theirs[~noise], rtol=1e-4, atol=2e-6)
        metrics, snap = comparison.network_metrics(v, s), trainer.snapshot()
        assert abs(metrics["test_accuracy"] - snap.test_accuracy) <= 2 / 80 + 1e-9  # 80 test points
        assert [x.tolist() for x in metrics["states"]] == [x.tolist() for x in snap.states]
        stats = comparison.network_flat_state(v, s)[len(mine):]  # per layer its mean, then its variance
        for layer in trainer.model.layers[:-1]:  # a bias does not move a variance
            units = len(layer.running_var)
            np.testing.assert_allclose(stats[units:2 * units], layer.running_var, rtol=1e-4, atol=2e-6)
            stats = stats[2 * units:]
    assert not np.allclose(comparison.network_flat_state(0, 0)[-5:], 1.0)  # the running variance moved
    if optimizer == "adam":  # the Trainer against itself, one weight one ulp apart: those biases part as far
        one, other = (Trainer(comparison.experiment(0, 0), engine="numpy") for _ in range(2))
        weight = other.model.layers[1].Wb
        weight[0, 0] = np.nextafter(weight[0, 0], np.float32(np.inf))
        one.step(STEPS)
        other.step(STEPS)
        noise = _biases_before_batch_norm(one.model)
        assert np.abs(one.model.params - other.model.params)[noise].max() > 0.01
        assert np.abs(one.model.params - other.model.params)[~noise].max() < 1e-5


def _compared_with_trainers(spec: str, base: Experiment, seeds: int = 2):
    """The comparison of `spec` on `base` after STEPS, own starts, and for each (variant, seed) the
    numpy Trainer's run of that experiment after as many steps."""
    field, variants = parse_variants(spec, base)
    comparison = Comparison(variants, seeds=seeds, same_start=False, field=field)
    comparison.step(STEPS)
    comparison.finish()
    runs = []
    for v in range(len(variants)):
        for s in range(seeds):
            trainer = Trainer(comparison.experiment(v, s), engine="numpy")
            trainer.step(STEPS)
            runs.append((v, s, trainer))
    return comparison, runs


def _biases_before_batch_norm(model) -> np.ndarray:
    """A mask over model.params: the hidden layers' biases (each followed by a batch norm)."""
    mask = np.zeros(model.params.size, bool)
    for places in model.layout[:-1]:
        rows, units = places["Wb"].shape
        mask[places["Wb"].stop - units:places["Wb"].stop] = True  # Wb's last row is b
    return mask


def _grid(trainer, size):
    trainer.grid_size = size
    return trainer.snapshot().output_grid


def test_batch_norm_on_and_off_race_side_by_side():
    field, variants = parse_variants("network.batch_norm=false,true", BASE)
    comparison = Comparison(variants, seeds=2, field=field)
    assert comparison.same_start  # batch norm adds no weights to start from: the same W and b
    comparison.step(40)
    comparison.finish()
    for v in range(2):
        trainer = Trainer(comparison.experiment(v, 1), engine="numpy")
        trainer.step(40)
        _assert_matches_trainer(comparison, v, 1, trainer)


def test_same_start_gives_every_variant_the_first_ones_weights():
    field, variants = parse_variants("activation=relu,prelu,tanh", BASE)
    comparison = Comparison(variants, seeds=2, field=field)
    assert comparison.same_start  # on by default: same layer sizes, and the field is not an init one
    comparison.step(STEPS)
    comparison.finish()
    first = Trainer(comparison.experiment(0, 1), engine="numpy")
    for v in (1, 2):
        trainer = Trainer(comparison.experiment(v, 1), engine="numpy")
        for layer, ref in zip(trainer.model.layers, first.model.layers):
            layer.Wb[...] = ref.Wb  # the Trainer started from the first variant's weights, by hand
        trainer.step(STEPS)
        if v == 1:
            assert not np.allclose(trainer.model.layers[0].slope, 0.25)  # PReLU's slopes still learned
        _assert_matches_trainer(comparison, v, 1, trainer)


def test_an_init_field_variant_is_not_overwritten_by_the_same_start():
    field, variants = parse_variants("network.bias_init=0,-2", BASE)
    comparison = Comparison(variants, seeds=1, field=field)
    assert not comparison.same_start
    assert np.allclose(comparison.models[1][0].layers[0].b, -2.0)


def test_divergence_matches_the_trainer_and_freezes_the_network():
    base = Experiment.from_dict({"data": {"n_points": 100}, "network": {"hidden": [16, 16, 16], "activation": "relu",
                                                                        "init_gain": 4.0},
                                 "training": {"learning_rate": 2.0, "batch_size": 10, "loss": "bce"}})
    field, variants = parse_variants("training.grad_clip=null,1.0", base)
    comparison = Comparison(variants, seeds=2, field=field)
    comparison.step(60)
    results = comparison.results()
    assert results[0].diverged == 2 and results[1].diverged == 0
    for s in range(2):
        trainer = Trainer(comparison.experiment(0, s), engine="numpy")
        trainer.step(60)
        assert trainer.diverged
        assert comparison.diverged_at[s] == trainer.step_count  # the Trainer stops where it diverged
        metrics = comparison.network_metrics(0, s)
        snap = trainer.snapshot()
        assert _same(metrics["test_accuracy"], snap.test_accuracy)
        assert [x.tolist() for x in metrics["states"]] == [x.tolist() for x in snap.states]
    assert results[0].train_loss.mean is None  # no diverged seed has a loss to average
    json.dumps([r.to_dict() for r in results], allow_nan=False)  # valid JSON with diverged seeds


def _same(a, b) -> bool:
    """Equal, or both NaN (a diverged network's accuracy, where the Trainer says NaN)."""
    return a == b or (math.isnan(a) and math.isnan(b))


def test_results_over_seeds_and_steps_to_95_match_trainer_histories():
    base = Experiment.from_dict({"data": {"dataset": "circle", "n_points": 200},
                                 "network": {"hidden": [8], "activation": "tanh"},
                                 "training": {"optimizer": "adam", "learning_rate": 0.03, "batch_size": 10}})
    field, variants = parse_variants("activation=tanh,linear", base)
    comparison = Comparison(variants, seeds=3, same_start=False, field=field)
    comparison.step(300)
    results = comparison.results()
    for v, result in enumerate(results):
        accuracies, reached = [], []
        for s in range(3):
            trainer = Trainer(comparison.experiment(v, s), engine="numpy")
            trainer.step(300)
            history = trainer.history()
            hits = history.steps[history.test_accuracy >= 0.95]
            reached.append(int(hits[0]) if len(hits) else math.inf)
            accuracies.append(trainer.snapshot().test_accuracy)
        assert result.test_accuracy.mean == pytest.approx(np.mean(accuracies))
        assert (result.test_accuracy.min, result.test_accuracy.max) == (min(accuracies), max(accuracies))
        median = float(np.median(reached))
        assert result.steps_to_95 == (median if math.isfinite(median) else None)
    assert results[0].steps_to_95 is not None  # tanh learns the circle
    assert results[1].steps_to_95 is None and results[1].test_accuracy.max < 0.8  # a linear model cannot
    as_json = json.loads(json.dumps([r.to_dict() for r in results]))
    assert set(as_json[0]) == {"name", "test_accuracy", "dead_fraction", "diverged", "steps_to_95"}
    steps, accuracy = comparison.accuracy_history()
    assert accuracy.shape == (len(steps), 2, 3) and steps[0] == 0 and steps[-1] == 300


def test_results_do_not_depend_on_when_frames_look():
    field, variants = parse_variants("activation=relu,elu", BASE)
    straight = Comparison(variants, seeds=2, field=field)
    straight.step(210)
    looked = Comparison(variants, seeds=2, field=field)
    while looked.step_count < 210:
        looked.step(min(7, 210 - looked.step_count))
        looked.finish()  # as the window's frames do, off the probe schedule
    assert [r.to_dict() for r in looked.results()] == [r.to_dict() for r in straight.results()]
    assert np.array_equal(looked.reached_at, straight.reached_at)
    assert np.array_equal(looked.accuracy_history()[1], straight.accuracy_history()[1])


def test_the_session_loop_answers_step_reset_and_quit_without_qt():
    from playground.compare_session import CompareSession

    field, variants = parse_variants("activation=relu,tanh", BASE)
    sent = []
    session = CompareSession(variants, 2, field, None, 16, lambda kind, value: sent.append((kind, value)))
    commands = [("step", 12), ("drawn", None), ("reset", None), ("quit", None)]

    def receive(block):  # the next command once the step request is done (the loop trains between)
        return None if session.pending else commands.pop(0)

    session.run(receive)
    frames = [value for kind, value in sent if kind == "frame"]
    assert [f.step for f in frames] == [0, 12, 0]  # the start, the end of the step request, the reset
    assert all(len(f.snapshots) == 2 and f.snapshots[0].step == f.step for f in frames)
    assert frames[1].results[0].test_accuracy.mean is not None


def test_the_speed_limit_holds_the_session_to_its_steps_per_second():
    import time

    from playground.compare_session import CompareSession

    field, variants = parse_variants("activation=relu,tanh", BASE)
    sent = []
    session = CompareSession(variants, 1, field, None, 8, lambda kind, value: sent.append((kind, value)))
    commands = [("speed", 40.0), ("play", None)]
    started = []

    def receive(block):
        if commands:
            return commands.pop(0)
        if not started:
            started.append(time.perf_counter())
        if time.perf_counter() - started[0] > 0.5:
            return ("quit", None)
        return ("drawn", None) if sent and sent[-1][0] == "frame" else None

    session.run(receive)
    elapsed = time.perf_counter() - started[0]
    # never ahead of the limit, however fast the machine (a slow one only does fewer)
    assert 0 < session.comparison.step_count <= 40.0 * elapsed + 1
    assert ("running", True) in sent


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_learning_rate_variants_share_one_stack_and_still_equal_their_trainer_runs(optimizer):
    base = BASE.with_field("training.optimizer", optimizer)
    # (Adam at 0.3 on this spiral is chaotic: there float rounding alone, batched or not, moves weights
    # ~1e-4; momentum at 0.3, a step of ~3 g, grows a 1e-7 rounding difference to 1.5e-5 by step 130)
    rates = {"adam": "0.001,0.01,0.03", "momentum": "0.003,0.03,0.1"}.get(optimizer, "0.003,0.03,0.3")
    field, variants = parse_variants("training.learning_rate=" + rates, base)
    comparison = Comparison(variants, seeds=2, field=field)
    assert len(comparison._stacks) == 1  # one (6, P) stack with a column of rates
    comparison.step(STEPS)
    for v in range(3):
        for s in range(2):
            trainer = Trainer(comparison.experiment(v, s), engine="numpy")
            trainer.step(STEPS)
            _assert_matches_trainer(comparison, v, s, trainer)


def test_bench_quick_measures_the_issue_workload():
    """bench --quick (scale 0.3) times the same 6 × 20 networks as a full run, only in fewer
    rounds: its compare_ratio_vs_sequential must not come from 12 networks."""
    from playground import bench_compare

    full, quick = bench_compare.run_settings(1.0), bench_compare.run_settings(0.3)
    assert full["seeds"] == quick["seeds"] == 20 and full["warm_steps"] == quick["warm_steps"]
    assert quick["rounds"] * quick["steps"] < full["rounds"] * full["steps"]
    assert bench_compare.run_settings(0.01)["seeds"] == 2  # bench's plumbing tests only
    assert len(bench_compare.workload().variants) == 6


def test_variants_that_share_an_activation_share_its_call_and_still_equal_trainer_runs():
    """Learning-rate variants of one activation are one block of rows (one activation call a layer
    for all of them); no hidden layer at all works too."""
    for hidden, activation in (([6, 5], "leaky_relu"), ([], "relu")):
        base = Experiment.from_dict({**BASE.to_dict(), "network": {"hidden": hidden, "activation": activation},
                                     "training": {**BASE.to_dict()["training"], "optimizer": "adam"}})
        field, variants = parse_variants("training.learning_rate=0.005,0.02,0.08", base)
        comparison = Comparison(variants, seeds=2, field=field)
        (stack, _), = comparison._stacks
        assert len(stack.blocks) == 1 and stack.grid == (3, 2)  # 3 variants × 2 seed slots, one block
        comparison.step(STEPS)
        comparison.finish()
        for v in range(3):
            trainer = Trainer(comparison.experiment(v, 1), engine="numpy")
            trainer.step(STEPS)
            if hidden:
                _assert_matches_trainer(comparison, v, 1, trainer)
            else:  # no neurons to be dead: the weights and the accuracy
                np.testing.assert_allclose(comparison.network_params(v, 1), trainer.model.params, rtol=1e-4, atol=2e-6)
                assert comparison.network_metrics(v, 1)["test_accuracy"] == trainer.snapshot().test_accuracy


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_the_results_loss_is_the_trainers_loss_under_every_loss(loss):
    """results()' train_loss (the compare window's loss column) is the loss the Trainer reports
    for the same network under each loss, not one formula for all (tanh_mse was read as mse)."""
    base = Experiment.from_dict({**BASE.to_dict(), "training": {**BASE.to_dict()["training"], "loss": loss}})
    comparison, runs = _compared_with_trainers("activation=tanh,relu", base)
    results = comparison.results()
    for v, result in enumerate(results):
        metrics = [comparison.network_metrics(v, s)["train_loss"] for s in range(comparison.seeds)]
        trainers = [trainer.snapshot().train_loss for w, _, trainer in runs if w == v]
        assert metrics == pytest.approx(trainers, rel=1e-4)
        assert [result.train_loss.min, result.train_loss.max] == pytest.approx([min(metrics), max(metrics)], rel=1e-6)
        assert result.train_loss.mean == pytest.approx(np.mean(metrics), rel=1e-6)
        assert 0.0 < result.train_loss.min < 0.75  # learning, and a loss (bce starts near log 2)
