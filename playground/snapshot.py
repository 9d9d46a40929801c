"""Snapshot: an immutable picture of a run at one step, the only thing views and the exporter see.

Every array is a copy marked read-only, so a snapshot can cross from the training process to the
window (pickled) and be kept for export while training goes on. Grid convention: grid[i, j] is the value at
x = axis[j], y = axis[i], with axis ascending from -extent to +extent (row 0 is the bottom).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .activations import ACTIVATIONS
from .datasets import DataSplit, InputScaling, features, network_inputs
from .experiment import Experiment
from .health import counts
from .maths import probability
from .model import MLP
from .plane import EXTENT as GRID_EXTENT


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
    # each hidden layer's activations f(z) over the training set, all its units pooled: (n_hidden,)
    # float32 mean and standard deviation (SELU keeps them near 0 and 1 layer after layer; sigmoid
    # squeezes them to about 0.5 ± 0.1). None where a snapshot was made without them.
    layer_mean: np.ndarray | None = None
    layer_std: np.ndarray | None = None

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
        return counts(self.states)


def layer_statistics(model: MLP, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per hidden layer of the activations, from MLP.forward_probe's stacked Z (units, n).

    f is applied again here rather than read from the probe's work arrays (private to the model):
    Measured (SELU, 200 training points, a loaded 2-core machine): 8 layers of 32 units ~250 µs, 8-8-6
    ~56 µs; once per snapshot (a few dozen a second in the window), never per step."""
    means, stds, start = [], [], 0
    for layer in model.layers[:-1]:
        units = layer.W.shape[1]
        z = Z[start:start + units]
        start += units
        slope = layer.slope[:, None] if layer.learned_slope else layer.slope
        a = ACTIVATIONS[layer.activation].f(z, slope, layer.alpha)
        means.append(a.mean(dtype=np.float64))
        stds.append(a.std(dtype=np.float64))
    return frozen(np.array(means, np.float32)), frozen(np.array(stds, np.float32))


def grid_points(size: int, extent: float = GRID_EXTENT) -> np.ndarray:
    """(size*size, 2) float32 points of the grid, row-major (y outer, x inner)."""
    axis = np.linspace(-extent, extent, size, dtype=np.float32)
    xs, ys = np.meshgrid(axis, axis)
    return np.column_stack([xs.ravel(), ys.ravel()])


@functools.lru_cache(maxsize=16)
def grid_inputs(feature_names: tuple[str, ...], size: int, extent: float = GRID_EXTENT) -> np.ndarray:
    """(n_features, size*size) float32, read-only: the network's inputs over the grid, one row a feature.

    Cached: they change only with the features and the grid, not as the network trains.
    """
    return frozen(np.ascontiguousarray(features(grid_points(size, extent), feature_names).T))


@functools.lru_cache(maxsize=16)
def grid_network_inputs(feature_names: tuple[str, ...], size: int, extent: float,
                        scaling: InputScaling | None) -> np.ndarray:
    """grid_inputs as the network sees them (standardised with the split's scaling), read-only."""
    if scaling is None:
        return grid_inputs(feature_names, size, extent)
    return frozen(np.ascontiguousarray(network_inputs(grid_points(size, extent), feature_names, scaling).T))


def _cached_for(data: DataSplit, key: tuple, make):
    """make() once per split and key, kept in the split's own `derived` (it goes with the split)."""
    value = data.derived.get(key)
    if value is None:
        value = data.derived[key] = make()
    return value


def data_features(data: DataSplit, feature_names) -> tuple[np.ndarray, np.ndarray]:
    """(x_train, x_test) network inputs of a split (standardised when the split says so), computed
    once per split and features (read-only)."""
    names = tuple(feature_names)
    return _cached_for(data, (names, "rows"), lambda: (
        frozen(network_inputs(data.train_points, names, data.scaling)),
        frozen(network_inputs(data.test_points, names, data.scaling))))


def data_columns(data: DataSplit, feature_names) -> tuple[np.ndarray, np.ndarray]:
    """(xT_train, xT_test): inputs as columns with a last row of ones, for MLP.forward_probe (cached)."""
    names = tuple(feature_names)
    return _cached_for(data, (names, "columns"), lambda: tuple(
        frozen(np.vstack([x.T, np.ones((1, len(x)), np.float32)])) for x in data_features(data, names)))


def _read_only(array: np.ndarray) -> np.ndarray:
    """Mark a fresh array (nobody else holds it) read-only, without copying it."""
    array.setflags(write=False)
    return array


def render_grids(model: MLP, feature_names, size: int, extent: float = GRID_EXTENT,
                 scaling: InputScaling | None = None, *, loss: str):
    """The features, every hidden neuron and the output over the grid (inference mode).

    The grid is the plane in raw coordinates, and the feature maps returned are the raw features
    (x₁² looks like x₁²); the network is fed them through `scaling` (the split's standardisation).
    Points as columns (MLP.forward_columns): each neuron's map is a reshape of a fresh array.
    The output is P(label 1) under `loss` (maths.probability: a sigmoid, or tanh_mse's tanh). C3
    at 100×100: ~1 ms.
    """
    names = tuple(feature_names)
    inputs = grid_inputs(names, size, extent)  # (n_features, G²)
    logits, kept = model.forward_columns(grid_network_inputs(names, size, extent, scaling))
    with np.errstate(over="ignore"):
        output = probability(logits, loss).astype(np.float32, copy=False)
    neuron_grids = tuple(_read_only(a.reshape(-1, size, size)) for a in kept)
    return inputs.reshape(-1, size, size), _read_only(output.reshape(size, size)), neuron_grids
