"""Neuron health: dead, saturated, sleeping or alive, by the one definition in SCIENCE.md.

Probe: a forward pass over the whole training set (batch norm in eval mode) keeping each hidden
neuron's pre-activation z; the slope f'(z) is computed analytically. With EPS = 1e-3:
dead = |f'| < EPS on every point; saturated = on at least 99 % (not dead); sleeping = rectifier
family with max z <= 0 but a slope left; alive = the rest.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from . import kernel
from .activations import ACTIVATIONS
from .model import MLP

EPS = 1e-3
SATURATED_SHARE = 0.99


class NeuronState(IntEnum):
    ALIVE = 0
    SLEEPING = 1
    SATURATED = 2
    DEAD = 3


STATE_NAMES = {state: state.name.lower() for state in NeuronState}
_NAMES_IN_ORDER = tuple(STATE_NAMES[state] for state in sorted(NeuronState))  # by value: bincount's order

# The states in words, exactly as README.md's "Neuron health" section has them (tests/test_help.py
# holds the two together); the window's Help menu, legend tooltips and hover card read them here.
PROBE_WORDS = ("Probed on the whole training set, from each neuron's pre-activation z and the slope f′(z) "
               f"(ε = {EPS:.0e})".replace("e-0", "e-"))  # "1e-3", as the README writes it
STATE_DEFINITIONS = {
    NeuronState.DEAD: "|f′(z)| < ε on every training point (a ReLU with max z ≤ 0; a fully saturated sigmoid/tanh)",
    NeuronState.SATURATED: "|f′(z)| < ε on at least 99 % of the points",
    NeuronState.SLEEPING: "rectifier family with max z ≤ 0 but a slope left (Leaky, PReLU, ELU): it can come back",
    NeuronState.ALIVE: "everything else",
}


def classify_columns(model: MLP, Z: np.ndarray) -> list[np.ndarray]:
    """Per hidden layer, an int8 array of NeuronState, from MLP.forward_probe's Z (hidden units, n)
    (the one definition, _states): all layers at once when they share
    their activation (the usual case), so the cost hardly grows with depth (C3: 280 -> 40 µs)."""
    hidden = model.layers[:-1]
    rows = _layer_rows(hidden)
    if len({layer.activation for layer in hidden}) == 1:
        spec, first = ACTIVATIONS[hidden[0].activation], hidden[0]
        slope = np.concatenate([layer.slope for layer in hidden])[:, None] if first.learned_slope else first.slope
        every = _states(spec, spec.df(Z, slope, first.alpha), Z, axis=1)
        return [every[r] for r in rows]
    states = []
    for layer, z in zip(hidden, [Z[r] for r in rows]):
        spec = ACTIVATIONS[layer.activation]
        slope = layer.slope[:, None] if layer.learned_slope else layer.slope
        states.append(_states(spec, spec.df(z, slope, layer.alpha), z, axis=1))
    return states


def _layer_rows(hidden) -> list[slice]:
    """Each hidden layer's rows in the stacked Z (np.split costs ~7 µs; slices ~1)."""
    rows, start = [], 0
    for layer in hidden:
        units = layer.W.shape[1]
        rows.append(slice(start, start + units))
        start += units
    return rows


def _states(spec, slope_values: np.ndarray, z: np.ndarray, axis: int) -> np.ndarray:
    """The one definition (module docstring), with points along `axis` of f'(z) and z."""
    n = z.shape[axis]
    counted = _row_counts(slope_values, z, spec.rectifier) if axis == 1 and z.ndim == 2 and n else None
    if counted is not None:  # the trainer's probe, once numba is loaded
        flat_count, nonpositive_count = counted
        # max z <= 0 is every z <= 0 (NaN fails both)
        all_nonpositive = nonpositive_count == n if nonpositive_count is not None else None
    else:
        flat_count = np.add.reduce(np.abs(slope_values) < EPS, axis=axis)
        all_nonpositive = z.max(axis) <= 0 if spec.rectifier else None
    return _states_from(flat_count / n, all_nonpositive)


def _states_from(flat_share: np.ndarray, all_nonpositive) -> np.ndarray:
    """The definition itself: per neuron, the share of points with |f'(z)| < EPS and (rectifiers
    only, else None) whether every z <= 0."""
    state = np.zeros(flat_share.shape, dtype=np.int8)  # ALIVE; any leading axes (compare's networks)
    if all_nonpositive is not None:
        state[all_nonpositive] = NeuronState.SLEEPING
    state[flat_share >= SATURATED_SHARE] = NeuronState.SATURATED
    state[flat_share >= 1.0] = NeuronState.DEAD
    return state


class CountedStates:
    """Per hidden layer, an int8 array of NeuronState from the compiled probe's counts over n points
    (kernel.probe: per hidden unit in layer order, how many |f'(z)| < EPS and how many z <= 0):
    classify_columns' states, by the same definition (_states_from), over all layers at once. Made
    once per network layout: the layers' rows and which units are rectifiers are looked up here,
    not at every probe (C3 in training: states and shares ~27 -> ~14 µs a probe)."""

    def __init__(self, model: MLP):
        hidden = model.layers[:-1]
        self.rows = _layer_rows(hidden)
        rectifier = np.concatenate([np.full(layer.W.shape[1], ACTIVATIONS[layer.activation].rectifier)
                                    for layer in hidden]) if hidden else np.zeros(0, bool)
        # None: no rectifier; True: all of them (the usual case: no mask to apply)
        self.rectifier = True if rectifier.all() and len(rectifier) else (rectifier if rectifier.any() else None)

    def __call__(self, flat_counts: np.ndarray, nonpositive_counts: np.ndarray, n: int):
        """(states per hidden layer, every state in one array: shares_of's argument)."""
        all_nonpositive = None  # NaN z counts in neither
        if self.rectifier is not None:
            all_nonpositive = nonpositive_counts == n
            if self.rectifier is not True:
                all_nonpositive &= self.rectifier
        every = _states_from(flat_counts / n, all_nonpositive)
        return [every[r] for r in self.rows], every


_NO_ROWS = np.zeros((0, 0), bool)
COMPILED_EPS = np.float32(EPS)  # numpy compares float32 with EPS as float32 too; no float32 lies between


def _row_counts(slope_values: np.ndarray, z: np.ndarray, rectifier: bool):
    """(np.add.reduce(|f'| < EPS, axis=1), np.add.reduce(z <= 0, axis=1) or None) in one compiled
    pass (maths.count_rows) once the training engine is built (C3's 48 units x 250 points: numpy
    ~13 µs, compiled ~2 µs); None when it cannot (no compiled engine yet, or arrays it was not
    compiled for): the caller counts in numpy. Never builds the engine itself: a probe before the
    engine is ready stays on numpy rather than wait for it."""
    engine = kernel.built()
    count_rows = engine.count_rows if engine is not None else None
    if count_rows is None or slope_values.dtype != np.float32 or not slope_values.flags.c_contiguous:
        return None
    flat_counts = np.empty(len(slope_values), np.int64)
    if not rectifier:
        count_rows(slope_values, _NO_ROWS, COMPILED_EPS, flat_counts, flat_counts[:0])
        return flat_counts, None
    nonpositive_counts = np.empty(len(z), np.int64)
    count_rows(slope_values, z <= 0, COMPILED_EPS, flat_counts, nonpositive_counts)
    return flat_counts, nonpositive_counts


def states_along(spec, z: np.ndarray, slope, alpha: float, axis: int) -> np.ndarray:
    """NeuronState of each neuron from its z with points along `axis`; other axes (e.g. compare
    mode's stacked networks) are kept. The one definition, for activation `spec`."""
    return _states(spec, spec.df(z, slope, alpha), z, axis=axis)


def fractions(states: list[np.ndarray]) -> dict[str, float]:
    """Share of all hidden neurons in each state (0 each when there are none)."""
    return shares_of(np.concatenate(states) if states else np.zeros(0, np.int8))


def shares_of(every: np.ndarray) -> dict[str, float]:
    """fractions() of every hidden neuron's state in one int8 array."""
    shares = (np.bincount(every, minlength=len(NeuronState)) / max(len(every), 1)).tolist()
    return dict(zip(_NAMES_IN_ORDER, shares))  # not a loop over the enum: that costs ~2 µs a probe


def counts(states: list[np.ndarray]) -> dict[str, int]:
    """Number of hidden neurons in each state, plus the total."""
    every = np.concatenate(states) if states else np.zeros(0, np.int8)
    out = {STATE_NAMES[s]: int((every == s).sum()) for s in NeuronState}
    out["total"] = int(len(every))
    return out
