"""Neuron states on hand-built networks: the one definition of SCIENCE.md."""

import numpy as np

from playground.experiment import Experiment
from playground.health import EPS, NeuronState, counts, fractions
from playground.model import MLP
import reference

# a fixed probe set: 200 points spread over the plane
POINTS = np.random.default_rng(0).uniform(-5, 5, (200, 2)).astype(np.float32)


def one_layer(activation, weights, biases, **params):
    """A 2-k-1 network with the given first-layer weights (2, k) and biases (k,)."""
    network = Experiment.from_dict({"network": {
        "hidden": [len(biases)], "activation": activation, "activation_params": params}}).network
    model = MLP.build(2, network, seed=0)
    model.layers[0].W[:] = np.asarray(weights, np.float32)
    model.layers[0].b[:] = np.asarray(biases, np.float32)
    return model


def states_of(model):
    _, kept = reference.forward(model, POINTS, keep=True)
    return reference.classify(model, kept)[0].tolist()


def test_relu_with_max_z_below_zero_is_dead_and_others_alive():
    # unit 0: z = x1 - 10 < 0 everywhere (dead); unit 1: z = x1 (alive); unit 2: z = -x1 + 4.9 (alive, barely)
    model = one_layer("relu", [[1, 1, -1], [0, 0, 0]], [-10, 0, 4.9])
    assert states_of(model) == [NeuronState.DEAD, NeuronState.ALIVE, NeuronState.ALIVE]


def test_leaky_relu_below_zero_is_sleeping_not_dead():
    model = one_layer("leaky_relu", [[1, 1], [0, 0]], [-10, 0])
    assert states_of(model) == [NeuronState.SLEEPING, NeuronState.ALIVE]


def test_prelu_sleeps_unless_its_slope_is_below_eps():
    model = one_layer("prelu", [[1, 1], [0, 0]], [-10, -10])
    model.layers[0].slope[:] = [0.25, EPS / 10]
    assert states_of(model) == [NeuronState.SLEEPING, NeuronState.DEAD]


def test_elu_sleeps_on_the_negative_branch_and_dies_far_below():
    model = one_layer("elu", [[0.1, 0.1], [0, 0]], [-1, -20])
    assert states_of(model) == [NeuronState.SLEEPING, NeuronState.DEAD]


def test_tanh_saturation():
    # unit 0: |z| > 4.15 on every point -> dead; unit 1: saturated on 99.5 % -> saturated;
    # unit 2: z = 0.1·x1 -> alive
    weights = [[0, 0, 0.1], [0, 0, 0]]
    model = one_layer("tanh", weights, [10, 0, 0])
    model.layers[0].W[0, 1] = 1.0
    model.layers[0].b[1] = 0.0
    # make unit 1 flat except on one point: shift that point near the boundary
    points = POINTS.copy()
    points[:, 0] = np.where(np.abs(points[:, 0]) < 4.2, 4.5 * np.sign(points[:, 0] + 1e-9), points[:, 0])
    points[0, 0] = 0.1
    _, kept = reference.forward(model, points, keep=True)
    assert reference.classify(model, kept)[0].tolist() == [NeuronState.DEAD, NeuronState.SATURATED, NeuronState.ALIVE]


def test_sigmoid_far_out_is_dead():
    model = one_layer("sigmoid", [[0, 0], [0, 0]], [8, 0])
    assert states_of(model) == [NeuronState.DEAD, NeuronState.ALIVE]


def test_counts_and_fractions():
    states = [np.array([0, 3, 3, 1], np.int8), np.array([2, 0], np.int8)]
    assert counts(states) == {"alive": 2, "sleeping": 1, "saturated": 1, "dead": 2, "total": 6}
    assert fractions(states)["dead"] == 2 / 6
