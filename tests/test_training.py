"""The trainer: determinism, hot changes versus rebuilds, optimisers, regularisation, divergence."""

import math

import numpy as np
import pytest

from playground.experiment import Experiment
from playground.training import HISTORY_LIMIT, Trainer
import reference


def exp(**sections):
    return Experiment.from_dict(sections)


def test_same_experiment_same_numbers_bit_for_bit():
    e = exp(network={"hidden": [6, 6], "activation": "gelu", "batch_norm": True},
            training={"optimizer": "adam", "learning_rate": 0.01})
    a, b = Trainer(e), Trainer(e)
    a.step(300)
    b.step(300)
    for la, lb in zip(a.model.layers, b.model.layers):
        assert np.array_equal(la.W, lb.W) and np.array_equal(la.b, lb.b)
    assert np.array_equal(a.snapshot().output_grid, b.snapshot().output_grid)


def test_training_learns_the_default_circle():
    trainer = Trainer(Experiment())
    before = trainer.snapshot()
    trainer.step(3000)
    after = trainer.snapshot()
    assert after.train_loss < before.train_loss / 5 and after.test_accuracy > 0.97


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("momentum", 0.03), ("adam", 0.01)])
def test_every_optimizer_reduces_the_loss(optimizer, lr):
    trainer = Trainer(exp(data={"dataset": "xor"}, network={"hidden": [8, 8], "activation": "relu"},
                          training={"optimizer": optimizer, "learning_rate": lr}))
    start = trainer.snapshot().train_loss
    trainer.step(500)
    assert trainer.snapshot().train_loss < start * 0.6


def test_learning_rate_changes_without_a_reset():
    e = Experiment()
    trainer, control = Trainer(e), Trainer(e)
    trainer.step(50)
    control.step(50)
    assert trainer.apply(e.with_field("training.learning_rate", 0.3)) == "hot"
    assert trainer.step_count == 50
    np.testing.assert_array_equal(trainer.model.layers[0].W, control.model.layers[0].W)
    trainer.step(1)
    control.step(1)
    step_fast = trainer.model.layers[0].W - control.model.layers[0].W
    assert np.abs(step_fast).max() > 0  # the new rate was used at once


def test_changing_the_activation_rebuilds_from_the_same_seed():
    e = exp(network={"hidden": [8, 8], "activation": "relu"})
    trainer = Trainer(e)
    first = trainer.model.layers[0].W.copy()
    trainer.step(20)
    assert trainer.apply(e.with_field("network.activation", "elu")) == "model"
    assert trainer.step_count == 0
    np.testing.assert_array_equal(trainer.model.layers[0].W, first)  # both He: the very same weights


def test_data_change_rebuilds_data_and_weights_and_leaky_slope_is_hot():
    e = exp(network={"activation": "leaky_relu"})
    trainer = Trainer(e)
    trainer.step(10)
    assert trainer.apply(e.with_field("network.activation_params", {"negative_slope": 0.2})) == "hot"
    assert trainer.model.layers[0].slope == 0.2 and trainer.step_count == 10
    assert trainer.apply(trainer.experiment.with_field("data.dataset", "xor")) == "data"
    assert trainer.step_count == 0


def test_reset_restores_step_zero_and_initial_weights():
    trainer = Trainer(Experiment())
    start = trainer.model.layers[0].W.copy()
    trainer.step(100)
    trainer.reset()
    assert trainer.step_count == 0 and trainer.epoch == 0
    np.testing.assert_array_equal(trainer.model.layers[0].W, start)


def test_l2_shrinks_weights_over_training():
    base = exp(network={"hidden": [8], "activation": "prelu"}, training={"learning_rate": 0.05})
    plain = Trainer(base)
    decayed = Trainer(base.with_field("training.regularization", "l2").with_field("training.regularization_rate", 0.5))
    plain.step(300)
    decayed.step(300)
    norm = lambda t: sum(float(np.abs(layer.W).sum()) for layer in t.model.layers)  # noqa: E731
    assert norm(decayed) < 0.7 * norm(plain)


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_regularization_touches_weights_only(kind):
    e = exp(network={"hidden": [4], "activation": "prelu", "batch_norm": True, "bias_init": 0.5},
            training={"regularization": kind, "regularization_rate": 1.0, "learning_rate": 0.1})
    trainer = Trainer(e)
    before = {(k, i): p.copy() for k, i, p in reference.parameters(trainer.model)}
    zero = np.zeros_like(trainer.model.params)
    trainer._descend(zero, e.training)  # no data gradient: only the penalty moves anything
    for kind_, i, p in reference.parameters(trainer.model):
        if kind_ == "W":
            assert np.abs(p).sum() < np.abs(before[(kind_, i)]).sum()
        else:  # biases, PReLU slopes, batch-norm scale and shift
            np.testing.assert_array_equal(p, before[(kind_, i)])


def test_prelu_slopes_are_learned():
    trainer = Trainer(exp(data={"dataset": "xor"}, network={"hidden": [8, 8], "activation": "prelu"},
                          training={"optimizer": "adam", "learning_rate": 0.02}))
    trainer.step(400)
    slopes = trainer.snapshot().prelu_slopes
    assert slopes[0].shape == (8,) and np.abs(slopes[0] - 0.25).max() > 0.01


def test_grad_clip_bounds_the_update():
    e = exp(network={"hidden": [8, 8], "activation": "relu", "init_gain": 3.0},
            training={"learning_rate": 1.0, "grad_clip": 0.01})
    trainer = Trainer(e)
    before = [p.copy() for _, _, p in reference.parameters(trainer.model)]
    trainer.step(1)
    moved = np.sqrt(sum(float(((p - b) ** 2).sum()) for (_, _, p), b in zip(reference.parameters(trainer.model), before)))
    assert moved <= 0.0101  # lr 1 × clipped norm 0.01


def test_divergence_stops_cleanly_with_a_message():
    trainer = Trainer(exp(network={"hidden": [32] * 8, "activation": "relu", "init_gain": 2.0},
                          training={"learning_rate": 0.05, "batch_size": 32, "loss": "bce"}))  # tanh_mse's
    done = trainer.step(1000)  # gradient vanishes as tanh saturates: this net would not blow up
    assert trainer.diverged and done < 20
    assert "diverged at step" in trainer.message and "learning rate" in trainer.message
    assert trainer.step(10) == 0
    snap = trainer.snapshot()
    assert snap.diverged and np.isnan(snap.train_loss) and snap.message == trainer.message
    assert np.isnan(snap.train_accuracy) and np.isnan(snap.test_accuracy)  # no accuracy from NaN outputs
    trainer.reset()
    assert not trainer.diverged and trainer.step_count == 0 and trainer.step(1) == 1


def test_history_is_bounded_on_long_runs():
    trainer = Trainer(exp(network={"hidden": [2]}))
    trainer.step(30000)
    history = trainer.history()
    assert len(history) <= HISTORY_LIMIT
    assert history.steps[0] == 0 and history.steps[-1] > 29000
    assert np.all(np.diff(history.steps) > 0)
    assert history.grad_norms.shape == (len(history), 2)


def test_batch_size_and_loss_are_hot():
    trainer = Trainer(Experiment())
    trainer.step(5)
    e = trainer.experiment.with_field("training.batch_size", 50).with_field("training.loss", "mse")
    assert trainer.apply(e) == "hot"
    seen = trainer.points_seen
    trainer.step(1)
    assert trainer.points_seen - seen == 50


def test_bce_is_never_negative_yet_lets_nan_through():
    from playground.training import bce_loss

    # all right with a wide margin: the two float32 sums cancel to -2e-6 before the clamp
    separated = np.array([28.293118, 34.68967, 34.222858, 38.641193, 22.298653, 34.580303, 38.548477], np.float32)
    assert bce_loss(separated, np.ones(7, np.float32)) == 0.0
    with np.errstate(all="ignore"):
        assert math.isnan(bce_loss(np.array([np.nan], np.float32), np.array([1.0], np.float32)))
    assert bce_loss(np.zeros(4, np.float32), np.ones(4, np.float32)) == pytest.approx(math.log(2.0))


def test_the_network_trains_on_standardised_inputs_and_the_views_keep_raw_coordinates():
    """data.standardize: the trainer's inputs (both engines read them) are the training split's
    features at mean 0, std 1; the grid stays the raw plane and its feature maps the raw features."""
    names = ["x1", "x2", "x1_sq"]
    on = Trainer(exp(data={"dataset": "spiral", "features": names}, network={"hidden": [5]},
                     training={"loss": "bce"}), grid_size=30)  # the grid is sigmoid(logit)
    off = Trainer(exp(data={"dataset": "spiral", "features": names, "standardize": False}, network={"hidden": [5]}),
                  grid_size=30)
    np.testing.assert_allclose(on._x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(on._x_train.std(axis=0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(on._x_train_aug[:, :-1], on._x_train)
    assert off._x_train.std(axis=0)[2] > 5  # x1² raw
    a, b = on.snapshot(), off.snapshot()
    np.testing.assert_array_equal(a.data.train_points, b.data.train_points)  # the points drawn are raw
    np.testing.assert_array_equal(a.feature_grids, b.feature_grids)  # so are the input maps and the axis
    assert a.grid_axis()[0] == -6.0 and a.feature_grids[0][0, -1] == pytest.approx(6.0)
    # what the network sees at the grid's corner (6, -6) is that point standardised, not the raw point
    mean, std = np.array(on.data.scaling.mean), np.array(on.data.scaling.std)
    corner = (np.array([6.0, -6.0, 36.0]) - mean) / std
    np.testing.assert_allclose(reference.forward(on.model, corner[None].astype(np.float32))[0],
                               np.log(a.output_grid[0, -1] / (1 - a.output_grid[0, -1])), rtol=1e-3, atol=1e-3)


def test_tanh_mse_is_tf_playgrounds_loss_checked_against_torch():
    """tanh_mse: ½(tanh(logit) − (2y − 1))² averaged, its gradient as torch's autograd, and its
    probability (tanh + 1)/2 on the boundary grid."""
    torch = pytest.importorskip("torch")
    from playground.training import LOSSES, loss_gradient

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, 32).astype(np.float32)
    y = (rng.random(32) > 0.5).astype(np.float32)
    ref = torch.from_numpy(logits.copy()).requires_grad_()
    loss = 0.5 * torch.nn.functional.mse_loss(torch.tanh(ref), torch.from_numpy(2 * y - 1))
    loss.backward()
    assert LOSSES["tanh_mse"](logits, y) == pytest.approx(loss.item(), rel=1e-6)
    np.testing.assert_allclose(loss_gradient(logits, 1 - 2 * y, y, "tanh_mse"), ref.grad.numpy(), rtol=1e-5, atol=1e-8)
    # batched as compare mode stacks networks: the same gradient row by row
    stacked = loss_gradient(np.stack([logits, logits]), np.stack([1 - 2 * y] * 2), np.stack([y] * 2), "tanh_mse")
    np.testing.assert_allclose(stacked[1], ref.grad.numpy(), rtol=1e-5, atol=1e-8)


def test_tanh_mse_trains_and_its_boundary_shows_probabilities():
    trainer = Trainer(exp(data={"dataset": "xor"}, training={"loss": "tanh_mse"}))
    trainer.step(2000)
    snap = trainer.snapshot()
    assert snap.test_accuracy > 0.9 and 0.0 <= snap.train_loss < 0.2
    grid = snap.output_grid
    assert grid.min() >= 0.0 and grid.max() <= 1.0 and grid.min() < 0.05 and grid.max() > 0.95
    # the grid's probability is (tanh(logit) + 1)/2: the grid's quadrant signs follow xor's labels
    g = len(grid)
    assert grid[g // 8, g // 8] > 0.9 and grid[g // 8, -g // 8] < 0.1  # (−,−) is label 1, (+,−) label 0
    assert math.isfinite(reference.probe_gradients(trainer).sum())
    # exactly: the grid's corner (-6, -6) holds (tanh(logit) + 1)/2 of that point standardised
    scaling = trainer.data.scaling
    corner = ((np.array([-6.0, -6.0]) - np.array(scaling.mean)) / np.array(scaling.std)).astype(np.float32)
    logit = reference.forward(trainer.model, corner[None])[0]
    assert grid[0, 0] == pytest.approx((np.tanh(logit) + 1) / 2, abs=1e-5)


def test_each_loss_is_one_formula_for_one_network_and_for_stacked_rows():
    """LOSS_ROWS takes compare's stacked (G, M, n) logits with (M, n) labels; each row's value is
    LOSSES' float for that one network, and both are the loss written out here independently."""
    from playground import maths
    from playground.training import LOSS_ROWS, LOSSES, loss_rows

    assert tuple(LOSS_ROWS) == tuple(LOSSES) == maths.LOSS_NAMES
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 3, (3, 2, 25)).astype(np.float32)
    y = (rng.random((2, 25)) > 0.5).astype(np.float32)
    l64, p = logits.astype(np.float64), 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = {"bce": np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)), axis=2),
                "mse": np.mean((p - y) ** 2, axis=2),
                "tanh_mse": np.mean(0.5 * (np.tanh(l64) - (2 * y - 1)) ** 2, axis=2)}
    for name in maths.LOSS_NAMES:
        rows = loss_rows(name)(logits, y)
        assert rows.shape == (3, 2)
        np.testing.assert_allclose(rows, expected[name], rtol=1e-5)
        for g in range(3):
            for m in range(2):
                assert LOSSES[name](logits[g, m], y[m]) == pytest.approx(rows[g, m], rel=1e-6)  # float32 sums
        assert math.isnan(LOSSES[name](np.zeros(0, np.float32), np.zeros(0, np.float32)))
    with pytest.raises(ValueError, match="unknown loss 'hinge': one of bce, mse, tanh_mse"):
        loss_rows("hinge")


def test_one_rule_reads_a_logit_as_the_probability_of_label_1_and_the_grid_needs_the_loss():
    from playground import maths
    from playground.snapshot import render_grids

    assert tuple(maths.PROBABILITY_SCALES) == maths.LOSS_NAMES
    logits = np.array([-30.0, -2.0, 0.0, 0.5, 3.0, 30.0], np.float32)
    sigmoid = 1 / (1 + np.exp(-logits.astype(np.float64)))
    for name in ("bce", "mse"):
        np.testing.assert_allclose(maths.probability(logits, name), sigmoid, atol=1e-7)
    np.testing.assert_allclose(maths.probability(logits, "tanh_mse"), (np.tanh(logits) + 1) / 2, atol=1e-7)
    assert maths.probability(logits, "bce").dtype == np.float32
    with pytest.raises(ValueError, match="unknown loss 'hinge': one of bce, mse, tanh_mse"):
        maths.probability(logits, "hinge")
    trainer = Trainer(exp(network={"hidden": [3]}), grid_size=8)
    with pytest.raises(TypeError, match="loss"):  # no default: the app's default is tanh_mse, not bce
        render_grids(trainer.model, trainer.experiment.data.features, 8)
