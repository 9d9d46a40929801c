"""Each activation against its formula and torch; f' against autograd; the init rule per activation."""

import math

import numpy as np
import pytest
import torch

from playground.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE, weight_std
from playground.experiment import ACTIVATION_NAMES, Experiment
from playground.model import MLP

Z = np.concatenate([np.linspace(-12, 12, 481), [-1e-4, 0.0, 1e-4, 19.9, 20.1, 30.0]]).astype(np.float32)
SLOPE, ALPHA = 0.05, 0.7


def torch_f(name, z):
    module = ACTIVATIONS[name].torch_module(1, SLOPE, ALPHA)
    x = torch.tensor(z, requires_grad=True)
    y = module(x[:, None])[:, 0]
    (grad,) = torch.autograd.grad(y.sum(), x)
    return y.detach().numpy(), grad.numpy()


def test_every_listed_name_is_registered():
    assert set(ACTIVATIONS) == set(ACTIVATION_NAMES)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_f_matches_torch(name):
    expected, _ = torch_f(name, Z)
    got = ACTIVATIONS[name].f(Z, np.float32(SLOPE), ALPHA)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_derivative_matches_autograd(name):
    _, expected = torch_f(name, Z)
    got = ACTIVATIONS[name].df(Z, np.float32(SLOPE), ALPHA)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_formulas_by_hand():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], np.float32)
    f = lambda name: ACTIVATIONS[name].f(z, 0.01, 1.0)  # noqa: E731
    np.testing.assert_allclose(f("relu"), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(f("leaky_relu"), [-0.02, -0.005, 0, 0.5, 2], rtol=1e-6)
    np.testing.assert_allclose(f("elu"), [math.expm1(-2), math.expm1(-0.5), 0, 0.5, 2], rtol=1e-6)
    np.testing.assert_allclose(f("selu")[0], SELU_SCALE * SELU_ALPHA * math.expm1(-2), rtol=1e-6)
    np.testing.assert_allclose(f("sigmoid"), 1 / (1 + np.exp(-z)), rtol=1e-6)
    np.testing.assert_allclose(f("softplus"), np.log1p(np.exp(z)), rtol=1e-6)
    np.testing.assert_allclose(f("gelu")[3], 0.5 * 0.5 * (1 + math.erf(0.5 / math.sqrt(2))), rtol=1e-6)
    # the slope of ReLU at exactly 0 is 0, as in torch
    assert ACTIVATIONS["relu"].df(np.zeros(1, np.float32), 0, 1)[0] == 0


def test_prelu_takes_one_slope_per_neuron():
    z = np.array([[-1.0, -1.0], [2.0, 2.0]], np.float32)
    slopes = np.array([0.1, 0.3], np.float32)
    np.testing.assert_allclose(ACTIVATIONS["prelu"].f(z, slopes, 1.0), [[-0.1, -0.3], [2, 2]], rtol=1e-6)
    np.testing.assert_allclose(ACTIVATIONS["prelu"].df(z, slopes, 1.0), [[0.1, 0.3], [1, 1]], rtol=1e-6)


@pytest.mark.parametrize("activation, expected_std", [
    ("relu", math.sqrt(2 / 32)),
    ("elu", math.sqrt(2 / 32)),
    ("leaky_relu", math.sqrt(2 / (1 + 0.01 ** 2)) / math.sqrt(32)),
    ("prelu", math.sqrt(2 / (1 + 0.25 ** 2)) / math.sqrt(32)),
    ("selu", 1 / math.sqrt(32)),  # LeCun: not gain 3/4, which breaks self-normalisation
    ("linear", 1 / math.sqrt(32)),
    ("sigmoid", math.sqrt(2 / 64)),
    ("tanh", 1 / math.sqrt(32)),  # LeCun (issue 15's measurement), not Xavier × 5/3
])
def test_auto_init_follows_the_activation(activation, expected_std):
    network = Experiment.from_dict({"network": {"hidden": [32] * 8, "activation": activation}}).network
    model = MLP.build(2, network, seed=0)
    middle = np.concatenate([layer.W.ravel() for layer in model.layers[1:8]])  # 7 × 32×32 weights
    assert middle.std() == pytest.approx(expected_std, rel=0.03)


def test_init_gain_scales_the_std_and_explicit_schemes_apply():
    net = lambda **kw: Experiment.from_dict({"network": {"hidden": [32] * 4, "activation": "tanh", **kw}}).network  # noqa: E731
    he2 = MLP.build(2, net(init="he", init_gain=2.0), 0)
    assert he2.layers[2].W.std() == pytest.approx(2 * math.sqrt(2 / 32), rel=0.06)
    torch_init = MLP.build(2, net(init="torch"), 0)
    assert np.abs(torch_init.layers[2].W).max() <= 1 / math.sqrt(32)
    assert weight_std("lecun", 50, 10) == pytest.approx(1 / math.sqrt(50))
