"""The hand-written backward against torch autograd, on the same weights, for every variant."""

import numpy as np
import pytest
import torch

from playground.experiment import ACTIVATION_NAMES, Experiment
from playground.model import MLP
import reference


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
    torch_net = model.to_torch().train()
    x, y = batch()
    logits, cache = model.forward_train(x)
    p = 1 / (1 + np.exp(-logits))
    grads = reference.backward(model, cache, (p - y) / len(y))

    out = torch_net(torch.from_numpy(x))[:, 0]
    torch.nn.functional.binary_cross_entropy_with_logits(out, torch.from_numpy(y)).backward()
    np.testing.assert_allclose(logits, out.detach().numpy(), atol=2e-6)
    linears = [m for m in torch_net if isinstance(m, torch.nn.Linear)]
    for i, linear in enumerate(linears):
        np.testing.assert_allclose(grads[("W", i)], linear.weight.grad.numpy().T, atol=1e-6)
        np.testing.assert_allclose(grads[("b", i)], linear.bias.grad.numpy(), atol=1e-6)
    if activation == "prelu":
        prelus = [m for m in torch_net if isinstance(m, torch.nn.PReLU)]
        for i, prelu in enumerate(prelus):
            np.testing.assert_allclose(grads[("slope", i)], prelu.weight.grad.numpy(), atol=1e-6)
    if batch_norm:
        norms = [m for m in torch_net if isinstance(m, torch.nn.BatchNorm1d)]
        for i, norm in enumerate(norms):
            np.testing.assert_allclose(grads[("gamma", i)], norm.weight.grad.numpy(), atol=1e-6)
            # the running statistics move exactly as torch's do
            np.testing.assert_allclose(model.layers[i].running_var, norm.running_var.numpy(), rtol=1e-5)


def test_inference_forward_matches_torch_eval_with_batch_norm():
    model = build("elu", batch_norm=True)
    x, _ = batch()
    model.forward_train(x)  # move the running statistics away from 0/1
    torch_net = model.to_torch().eval()
    np.testing.assert_allclose(reference.forward(model, x), torch_net(torch.from_numpy(x))[:, 0].detach().numpy(), atol=2e-6)


def test_forward_keeps_every_hidden_layer():
    model = build("tanh", hidden=(5, 4, 3))
    x, _ = batch()
    logits, kept = reference.forward(model, x, keep=True)
    assert [z.shape for z, _ in kept] == [(16, 5), (16, 4), (16, 3)]
    np.testing.assert_allclose(kept[0][1], np.tanh(kept[0][0]))
    np.testing.assert_allclose(logits, kept[-1][1] @ model.layers[-1].W[:, 0] + model.layers[-1].b[0], rtol=1e-5)


def test_state_round_trip_is_a_deep_copy():
    model = build("prelu", batch_norm=True)
    state = model.state()
    other = build("prelu", batch_norm=True, seed=9)
    reference.load_state(other, state)
    x, _ = batch()
    np.testing.assert_array_equal(reference.forward(model, x), reference.forward(other, x))
    model.layers[0].W += 1.0
    assert not np.array_equal(model.layers[0].W, state[0]["W"])


def test_same_seed_same_weights_different_seed_different():
    assert np.array_equal(build("relu").layers[0].W, build("relu").layers[0].W)
    assert not np.array_equal(build("relu").layers[0].W, build("relu", seed=1).layers[0].W)


def _torch_linear_draws(fan_in, fan_out, n_layers):
    """Weights and biases of n_layers fresh torch.nn.Linear(fan_in, fan_out), flattened."""
    torch.manual_seed(0)
    layers = [torch.nn.Linear(fan_in, fan_out) for _ in range(n_layers)]
    return (np.concatenate([lin.weight.detach().numpy().ravel() for lin in layers]),
            np.concatenate([lin.bias.detach().numpy().ravel() for lin in layers]))


def ks_distance(a, b) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    points = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, points, "right") / a.size
                               - np.searchsorted(b, points, "right") / b.size)))


def ks_critical(n: int, m: int, alpha: float = 0.01) -> float:
    """The asymptotic critical value of that statistic at level alpha (c(0.01) = 1.628)."""
    return float(np.sqrt(-np.log(alpha / 2) / 2) * np.sqrt((n + m) / (n * m)))


def test_init_torch_is_nn_linear_weights_and_biases():
    """init "torch" draws both weights and biases as nn.Linear does: U(±1/√fan_in). Compared with
    torch's own draws over many layers: same bounds, and a two-sample KS test cannot tell them apart."""
    network = Experiment.from_dict({"network": {"hidden": [16, 16], "activation": "relu", "init": "torch"}}).network
    ours_w, ours_b = [], []
    for seed in range(300):
        middle = MLP.build(3, network, seed).layers[1]  # a 16 -> 16 layer
        ours_w.append(middle.W.ravel())
        ours_b.append(middle.b.ravel())
    ours_w, ours_b = np.concatenate(ours_w), np.concatenate(ours_b)
    torch_w, torch_b = _torch_linear_draws(16, 16, 300)
    bound = 1 / np.sqrt(16)
    for ours, theirs in ((ours_w, torch_w), (ours_b, torch_b)):
        assert np.abs(ours).max() <= bound and np.abs(theirs).max() <= bound
        assert np.abs(ours).max() > 0.99 * bound  # the whole interval is used, not a narrower one
        assert ks_distance(ours, theirs) < ks_critical(len(ours), len(theirs))
        assert np.std(ours) == pytest.approx(bound / np.sqrt(3), rel=0.03)  # U(±a) has std a/√3
    assert np.std(ours_b) > 0.1  # biases really are random (they used to be set to 0)


def test_explicit_bias_init_wins_over_the_init_rule():
    for init in ("torch", "he", "xavier"):
        network = Experiment.from_dict({"network": {"init": init, "bias_init": 0.25}}).network
        model = MLP.build(2, network, 0)
        assert all(np.all(layer.b == np.float32(0.25)) for layer in model.layers[:-1])
    zero = MLP.build(2, Experiment.from_dict({"network": {"init": "torch", "bias_init": 0.0}}).network, 0)
    assert all(np.all(layer.b == 0) for layer in zero.layers[:-1])
    default = MLP.build(2, Experiment().network, 0)  # auto: Xavier weights, biases 0 by its rule
    assert all(np.all(layer.b == 0) for layer in default.layers)
