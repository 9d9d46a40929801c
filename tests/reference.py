"""Reference paths only tests use: a plain row forward that keeps every layer, a backward that
hands out copies per array, parameters by name, load_state, health from a row forward, and the
gradient norms on the whole training set. The app itself trains and probes through MLP's fast
paths (forward_train, backward_into, forward_probe, forward_columns); these check them."""

from __future__ import annotations

import numpy as np

from playground.activations import ACTIVATIONS
from playground.health import _states
from playground.model import BN_EPS, MLP
from playground.training import _weight_norms, loss_gradient


def forward(model: MLP, x: np.ndarray, *, keep: bool = False):
    """Inference: x (n, n_inputs) -> logits (n,); with keep, also [(z, a)] per hidden layer.

    z is the input to the activation (after batch norm, which uses its running averages here, as
    torch's eval()). Fresh arrays."""
    a = x
    kept = []
    for layer in model.layers[:-1]:
        z = a @ layer.W
        z += layer.b
        if layer.gamma is not None:
            z = (z - layer.running_mean) / np.sqrt(layer.running_var + BN_EPS) * layer.gamma + layer.beta
        a = ACTIVATIONS[layer.activation].f(z, layer.slope, layer.alpha)
        if keep:
            kept.append((z, a))
    last = model.layers[-1]
    logits = (a @ last.W)[:, 0] + last.b[0]
    return (logits, kept) if keep else logits


def backward(model: MLP, cache, dlogits: np.ndarray) -> dict[tuple[str, int], np.ndarray]:
    """Backpropagate dL/dlogit (n,) through the cached forward: {(kind, layer): gradient}, copies."""
    model.backward_into(cache, dlogits)
    return {key: view.copy() for key, view in model._grad_views.items() if key[0] != "Wb"}


def parameters(model: MLP) -> list[tuple[str, int, np.ndarray]]:
    """(kind, layer index, array) of everything trained; kind is W, b, slope, gamma or beta (views of params)."""
    out = []
    for i, layer in enumerate(model.layers):
        out += [("W", i, layer.W), ("b", i, layer.b)]
        if layer.learned_slope:
            out.append(("slope", i, layer.slope))
        if layer.gamma is not None:
            out += [("gamma", i, layer.gamma), ("beta", i, layer.beta)]
    return out


def load_state(model: MLP, state: list[dict[str, np.ndarray]]) -> None:
    """Put back arrays taken with model.state() (same architecture); trained arrays are copied in place."""
    for layer, entry in zip(model.layers, state):
        for key, value in entry.items():
            target = getattr(layer, key)
            if key in ("W", "b", "slope", "gamma", "beta") and isinstance(target, np.ndarray):
                target[...] = value
            else:
                setattr(layer, key, np.array(value, dtype=np.float32))


def classify(model: MLP, kept: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Per hidden layer, an int8 array of NeuronState, from forward(keep=True)'s (z, a), points as rows."""
    states = []
    for layer, (z, a) in zip(model.layers, kept):
        spec = ACTIVATIONS[layer.activation]
        states.append(_states(spec, spec.df(z, layer.slope, layer.alpha), z, axis=0))
    return states


def probe_gradients(trainer) -> np.ndarray:
    """‖∂L/∂W‖ per weight layer on the whole training set, without changing anything."""
    model = trainer.model
    last_step = model.grad.copy()  # the backward below writes where the last step's gradient is
    x, y = trainer.training_set
    with np.errstate(all="ignore"):
        logits, cache = model.forward_train(x, update_stats=False)
        dlogits = loss_gradient(logits, (1.0 - 2.0 * y).astype(np.float32), y, trainer.experiment.training.loss)
        norms = _weight_norms(model, model.backward_into(cache, dlogits))
    model.grad[:] = last_step
    return norms
