"""Snapshot: an immutable picture of a run at one step, the only thing views and the exporter see.

Every array is a copy marked read-only, so a snapshot can cross from the training thread to the GUI
and be kept for export while training goes on. Grid convention: grid[i, j] is the value at
x = axis[j], y = axis[i], with axis ascending from -extent to +extent (row 0 is the bottom).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datasets import DataSplit, features
from .experiment import Experiment
from .health import NeuronState, STATE_NAMES
from .model import MLP

DEFAULT_GRID = 100
GRID_EXTENT = 6.0


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy."""
    out = np.array(array, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class History:
    """Metrics over the run, one row per recorded step; thinned as the run grows (bounded size)."""

    steps: np.ndarray  # (T,) int64
    train_loss: np.ndarray  # (T,) float32
    test_loss: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    dead_fraction: np.ndarray  # share of hidden neurons in each state
    saturated_fraction: np.ndarray
    sleeping_fraction: np.ndarray
    grad_norms: np.ndarray  # (T, n_weight_layers) ‖∂L/∂W‖ of the step recorded, output layer last

    def __len__(self) -> int:
        return len(self.steps)


@dataclass(frozen=True)
class Snapshot:
    """The state of a run after `step` updates."""

    experiment: Experiment
    step: int
    epoch: float  # passes over the training set so far
    train_loss: float
    test_loss: float
    train_accuracy: float
    test_accuracy: float
    diverged: bool
    message: str | None  # why training stopped (divergence), in words for the user
    data: DataSplit
    grid_extent: float
    feature_grids: np.ndarray  # (n_features, G, G) float32: each input feature over the plane
    output_grid: np.ndarray  # (G, G) float32 probability of label 1
    neuron_grids: tuple[np.ndarray, ...]  # per hidden layer (units, G, G) float32 activation values
    states: tuple[np.ndarray, ...]  # per hidden layer (units,) int8 NeuronState
    weights: tuple[tuple[np.ndarray, np.ndarray], ...]  # per layer (W (fan_in, fan_out), b), output last
    prelu_slopes: tuple[np.ndarray | None, ...]  # per hidden layer (units,) or None
    grad_norms: np.ndarray  # (n_weight_layers,) of the last step; NaN before the first
    history: History
    model_state: tuple  # everything needed to rebuild the model (MLP.load_state), for replay

    @property
    def layer_activations(self) -> tuple[str, ...]:
        return self.experiment.network.layer_activations()

    @property
    def grid_size(self) -> int:
        return self.output_grid.shape[0]

    def grid_axis(self) -> np.ndarray:
        """(G,) coordinates of the grid's columns (x) and rows (y)."""
        return np.linspace(-self.grid_extent, self.grid_extent, self.grid_size, dtype=np.float32)

    def counts(self) -> dict[str, int]:
        """Hidden neurons in each state, plus the total."""
        every = np.concatenate(self.states) if self.states else np.zeros(0, np.int8)
        out = {STATE_NAMES[s]: int((every == s).sum()) for s in NeuronState}
        out["total"] = int(len(every))
        return out


def grid_points(size: int, extent: float = GRID_EXTENT) -> np.ndarray:
    """(size*size, 2) float32 points of the grid, row-major (y outer, x inner)."""
    axis = np.linspace(-extent, extent, size, dtype=np.float32)
    xs, ys = np.meshgrid(axis, axis)
    return np.column_stack([xs.ravel(), ys.ravel()])


def render_grids(model: MLP, feature_names, size: int, extent: float = GRID_EXTENT):
    """The features, every hidden neuron and the output over the grid (inference mode)."""
    inputs = features(grid_points(size, extent), tuple(feature_names))
    logits, kept = model.forward(inputs, keep=True)
    with np.errstate(over="ignore"):
        output = (0.5 + 0.5 * np.tanh(0.5 * logits)).reshape(size, size)
    neuron_grids = tuple(frozen(a.T.reshape(-1, size, size)) for _, a in kept)
    feature_grids = frozen(inputs.T.reshape(-1, size, size))
    return feature_grids, frozen(output.astype(np.float32)), neuron_grids
