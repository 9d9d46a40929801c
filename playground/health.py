"""Neuron health: dead, saturated, sleeping or alive, by the one definition in SCIENCE.md.

Probe: a forward pass over the whole training set (batch norm in eval mode) keeping each hidden
neuron's pre-activation z; the slope f'(z) is computed analytically. With EPS = 1e-3:
dead = |f'| < EPS on every point; saturated = on at least 99 % (not dead); sleeping = rectifier
family with max z <= 0 but a slope left; alive = the rest.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

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


def classify(model: MLP, kept: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Per hidden layer, an int8 array of NeuronState, from the probe's kept (z, a)."""
    states = []
    for layer, (z, _) in zip(model.layers, kept):
        spec = ACTIVATIONS[layer.activation]
        flat = np.abs(spec.df(z, layer.slope, layer.alpha)) < EPS  # (n, units)
        flat_share = flat.mean(0)
        state = np.full(z.shape[1], NeuronState.ALIVE, dtype=np.int8)
        if spec.rectifier:
            state[z.max(0) <= 0] = NeuronState.SLEEPING
        state[flat_share >= SATURATED_SHARE] = NeuronState.SATURATED
        state[flat_share >= 1.0] = NeuronState.DEAD
        states.append(state)
    return states


def fractions(states: list[np.ndarray]) -> dict[str, float]:
    """Share of all hidden neurons in each state (0 each when there are none)."""
    every = np.concatenate(states) if states else np.zeros(0, np.int8)
    total = max(len(every), 1)
    return {STATE_NAMES[s]: float((every == s).sum()) / total for s in NeuronState}


def counts(states: list[np.ndarray]) -> dict[str, int]:
    """Number of hidden neurons in each state, plus the total."""
    every = np.concatenate(states) if states else np.zeros(0, np.int8)
    out = {STATE_NAMES[s]: int((every == s).sum()) for s in NeuronState}
    out["total"] = int(len(every))
    return out
