"""Snapshots: the grid equals a direct forward pass, arrays are read-only copies."""

import numpy as np
import pytest

from playground.datasets import features, network_inputs
from playground.experiment import Experiment
from playground.snapshot import grid_points
from playground.training import Trainer
import reference


@pytest.fixture(scope="module")
def trained():
    experiment = Experiment.from_dict({"data": {"features": ["x1", "x2", "x1x2"]},
                                       "network": {"hidden": [6, 3], "activation": "relu"}})
    trainer = Trainer(experiment, grid_size=40)
    trainer.step(200)
    return trainer, trainer.snapshot()


def test_output_grid_equals_a_direct_forward_pass(trained):
    trainer, snap = trained
    # the plane in raw coordinates, fed to the network standardised as its training data was
    inputs = network_inputs(grid_points(40), ("x1", "x2", "x1x2"), trainer.data.scaling)
    assert trainer.data.scaling is not None and not np.allclose(inputs, features(grid_points(40), ("x1", "x2", "x1x2")))
    logits, kept = reference.forward(trainer.model, inputs, keep=True)
    # P(label 1) under the default loss, tanh_mse: (tanh(logit) + 1)/2 (bce's would be sigmoid(logit))
    np.testing.assert_allclose(snap.output_grid.ravel(), (np.tanh(logits) + 1) / 2, rtol=1e-5, atol=1e-6)
    for layer_grid, (_, a) in zip(snap.neuron_grids, kept):
        np.testing.assert_allclose(layer_grid.reshape(layer_grid.shape[0], -1), a.T, rtol=1e-6)


def test_grid_orientation_row_is_y_column_is_x(trained):
    _, snap = trained
    axis = snap.grid_axis()
    x1_grid, x2_grid, x1x2_grid = snap.feature_grids
    i, j = 5, 30
    assert x1_grid[i, j] == pytest.approx(axis[j]) and x2_grid[i, j] == pytest.approx(axis[i])
    assert axis[0] == -6 and axis[-1] == 6


def test_snapshot_arrays_are_read_only_copies(trained):
    trainer, snap = trained
    with pytest.raises(ValueError):
        snap.output_grid[0, 0] = 1
    with pytest.raises(ValueError):
        snap.weights[0][0][0, 0] = 1
    before = snap.weights[0][0].copy()
    trainer.step(5)
    np.testing.assert_array_equal(snap.weights[0][0], before)


def test_snapshot_metrics_and_shapes(trained):
    _, snap = trained
    assert snap.step == 200 and snap.epoch == pytest.approx(200 * 10 / 250)
    assert [g.shape for g in snap.neuron_grids] == [(6, 40, 40), (3, 40, 40)]
    assert [s.shape for s in snap.states] == [(6,), (3,)]
    assert snap.grad_norms.shape == (3,) and np.all(np.isfinite(snap.grad_norms))
    assert snap.counts()["total"] == 9
    assert len(snap.history) > 100 and snap.history.steps[-1] == 200
    assert 0 <= snap.train_accuracy <= 1 and snap.train_loss > 0
