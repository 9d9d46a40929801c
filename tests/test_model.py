"""The hand-written backward against torch autograd, on the same weights, for every variant."""

import numpy as np
import pytest
import torch

from playground.experiment import ACTIVATION_NAMES, Experiment
from playground.model import MLP


def build(activation, batch_norm=False, hidden=(5, 4), seed=0):
    network = Experiment.from_dict({"network": {
        "hidden": list(hidden), "activation": activation, "batch_norm": batch_norm, "bias_init": 0.1}}).network
    return MLP.build(3, network, seed)


def batch(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 2, (n, 3)).astype(np.float32), (rng.random(n) > 0.5).astype(np.float32)


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_gradients_match_autograd(activation, batch_norm):
    model = build(activation, batch_norm)
    reference = model.to_torch().train()
    x, y = batch()
    logits, cache = model.forward_train(x)
    p = 1 / (1 + np.exp(-logits))
    grads = model.backward(cache, (p - y) / len(y))

    out = reference(torch.from_numpy(x))[:, 0]
    torch.nn.functional.binary_cross_entropy_with_logits(out, torch.from_numpy(y)).backward()
    np.testing.assert_allclose(logits, out.detach().numpy(), atol=2e-6)
    linears = [m for m in reference if isinstance(m, torch.nn.Linear)]
    for i, linear in enumerate(linears):
        np.testing.assert_allclose(grads[("W", i)], linear.weight.grad.numpy().T, atol=1e-6)
        np.testing.assert_allclose(grads[("b", i)], linear.bias.grad.numpy(), atol=1e-6)
    if activation == "prelu":
        prelus = [m for m in reference if isinstance(m, torch.nn.PReLU)]
        for i, prelu in enumerate(prelus):
            np.testing.assert_allclose(grads[("slope", i)], prelu.weight.grad.numpy(), atol=1e-6)
    if batch_norm:
        norms = [m for m in reference if isinstance(m, torch.nn.BatchNorm1d)]
        for i, norm in enumerate(norms):
            np.testing.assert_allclose(grads[("gamma", i)], norm.weight.grad.numpy(), atol=1e-6)
            # the running statistics move exactly as torch's do
            np.testing.assert_allclose(model.layers[i].running_var, norm.running_var.numpy(), rtol=1e-5)


def test_inference_forward_matches_torch_eval_with_batch_norm():
    model = build("elu", batch_norm=True)
    x, _ = batch()
    model.forward_train(x)  # move the running statistics away from 0/1
    reference = model.to_torch().eval()
    np.testing.assert_allclose(model.forward(x), reference(torch.from_numpy(x))[:, 0].detach().numpy(), atol=2e-6)


def test_forward_keeps_every_hidden_layer():
    model = build("tanh", hidden=(5, 4, 3))
    x, _ = batch()
    logits, kept = model.forward(x, keep=True)
    assert [z.shape for z, _ in kept] == [(16, 5), (16, 4), (16, 3)]
    np.testing.assert_allclose(kept[0][1], np.tanh(kept[0][0]))
    np.testing.assert_allclose(logits, kept[-1][1] @ model.layers[-1].W[:, 0] + model.layers[-1].b[0], rtol=1e-5)


def test_state_round_trip_is_a_deep_copy():
    model = build("prelu", batch_norm=True)
    state = model.state()
    other = build("prelu", batch_norm=True, seed=9)
    other.load_state(state)
    x, _ = batch()
    np.testing.assert_array_equal(model.forward(x), other.forward(x))
    model.layers[0].W += 1.0
    assert not np.array_equal(model.layers[0].W, state[0]["W"])


def test_same_seed_same_weights_different_seed_different():
    assert np.array_equal(build("relu").layers[0].W, build("relu").layers[0].W)
    assert not np.array_equal(build("relu").layers[0].W, build("relu", seed=1).layers[0].W)
