"""The engine's fast paths give the same numbers as the plain ones (no timing here)."""

import numpy as np
import pytest

from playground import maths
from playground.activations import ACTIVATIONS
from playground.experiment import ACTIVATION_NAMES, Experiment
from playground.health import classify_columns
from playground.model import MLP
from playground.training import Trainer
import reference

Z = np.linspace(-8, 8, 161, dtype=np.float32).reshape(7, 23)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_slope_from_the_output_and_in_place_f_match_f_and_df(name):
    spec = ACTIVATIONS[name]
    a = spec.f(Z, np.float32(0.05), 0.7)
    out, work = np.empty_like(Z), np.full((2, *Z.shape), np.nan, np.float32)  # scratch: never read first
    spec.slope_into(Z, a, out, work, np.float32(0.05), 0.7)
    np.testing.assert_allclose(out, spec.df(Z, np.float32(0.05), 0.7), rtol=1e-6, atol=1e-7)
    strided = np.full((Z.shape[0], Z.shape[1] + 1), 7.0, np.float32)  # a view with a column left alone
    spec.f_into(Z, strided[:, :-1], work, np.float32(0.05), 0.7)
    np.testing.assert_array_equal(strided[:, :-1], a)
    assert (strided[:, -1] == 7.0).all()


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_the_training_slope_after_the_forward_matches_df(name):
    """What the training passes use: slope_into right after f_into on the same z and work."""
    f_into, slope_into = maths.activation_into(name, after_f=True)
    a, out, work = np.empty_like(Z), np.empty_like(Z), np.empty((2, *Z.shape), np.float32)
    f_into(Z, a, work, np.float32(0.05), 0.7)
    slope_into(Z, a, out, work, np.float32(0.05), 0.7)
    np.testing.assert_allclose(out, ACTIVATIONS[name].df(Z, np.float32(0.05), 0.7), rtol=1e-6, atol=1e-7)


def build(activation, batch_norm=False, hidden=(5, 4, 3)):
    network = Experiment.from_dict({"network": {"hidden": list(hidden), "activation": activation,
                                                "batch_norm": batch_norm, "bias_init": 0.1}}).network
    model = MLP.build(3, network, seed=1)
    x = np.random.default_rng(0).normal(0, 2, (40, 3)).astype(np.float32)
    if batch_norm:
        model.forward_train(x)  # move the running statistics
    return model, x


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("activation", ["relu", "prelu", "tanh", ("elu", "sigmoid", "leaky_relu")])
def test_column_forwards_and_stacked_classify_match_the_row_forward(activation, batch_norm):
    model, x = build(activation, batch_norm)
    logits, kept = reference.forward(model, x, keep=True)
    columns_logits, columns_kept = model.forward_columns(np.ascontiguousarray(x.T))
    np.testing.assert_allclose(columns_logits, logits, rtol=1e-5, atol=1e-5)
    for a_t, (_, a) in zip(columns_kept, kept):
        np.testing.assert_allclose(a_t, a.T, rtol=1e-5, atol=1e-5)
    xT = np.vstack([x.T, np.ones((1, len(x)), np.float32)])
    probe_logits, stacked = model.forward_probe(xT)
    np.testing.assert_allclose(probe_logits, logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stacked, np.vstack([z.T for z, _ in kept]), rtol=1e-5, atol=1e-5)
    for fast, plain in zip(classify_columns(model, stacked), reference.classify(model, kept)):
        np.testing.assert_array_equal(fast, plain)


def test_parameters_are_views_of_one_buffer_and_state_is_one_read_only_copy():
    model, x = build("prelu", batch_norm=True)
    for _, _, array in reference.parameters(model):
        assert np.shares_memory(array, model.params)
    state = model.state()
    assert not state[0]["W"].flags.writeable and not np.shares_memory(state[0]["W"], model.params)
    model.params += 1.0  # an update through the buffer moves the layers' arrays
    assert np.array_equal(model.layers[0].W, state[0]["W"] + 1.0)
    reference.load_state(model, state)  # copied back in place: the views stay views
    assert np.array_equal(model.layers[0].W, state[0]["W"]) and np.shares_memory(model.layers[0].W, model.params)


def test_augmented_and_plain_training_forwards_agree():
    model, x = build("gelu")
    logits, cache = model.forward_train(x)
    plain = reference.backward(model, cache, np.full(len(x), 0.1, np.float32))
    aug = np.column_stack([x, np.ones(len(x), np.float32)])
    logits2, cache2 = model.forward_train(aug, augmented=True)
    np.testing.assert_array_equal(logits, logits2)
    fast = reference.backward(model, cache2, np.full(len(x), 0.1, np.float32))
    for key in plain:
        np.testing.assert_array_equal(plain[key], fast[key])


def test_every_snapshot_array_is_read_only():
    snap = Trainer(Experiment(), grid_size=20).snapshot()
    arrays = [snap.feature_grids, snap.output_grid, *snap.neuron_grids, *snap.states, snap.grad_norms,
              *(a for pair in snap.weights for a in pair), snap.history.steps, snap.history.grad_norms]
    assert not any(a.flags.writeable for a in arrays)
