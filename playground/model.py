"""The MLP: numpy parameters, a forward that can keep every layer's z and a, and a hand-written backward.

Rows are points: z = a_prev @ W + b, W of shape (fan_in, fan_out). The last layer has one unit whose
output is a logit. Gradients come from the activations' f' (no autograd): at this size per-op overhead
is the whole cost, and numpy's is a fraction of torch's. tests/test_model.py checks every gradient
against torch autograd on the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import ACTIVATIONS, weight_std
from .experiment import Network

BN_EPS = 1e-5  # torch.nn.BatchNorm1d defaults
BN_MOMENTUM = 0.1


@dataclass
class Layer:
    """One linear layer and what follows it. Arrays are float32; `activation` None means the output."""

    W: np.ndarray  # (fan_in, fan_out)
    b: np.ndarray  # (fan_out,)
    activation: str | None
    slope: np.ndarray | float = 0.0  # Leaky's slope, or PReLU's learned (fan_out,) slopes
    alpha: float = 1.0  # ELU's alpha
    gamma: np.ndarray | None = None  # batch norm scale and shift, when batch norm is on
    beta: np.ndarray | None = None
    running_mean: np.ndarray | None = None
    running_var: np.ndarray | None = None

    @property
    def learned_slope(self) -> bool:
        return self.activation == "prelu"


class MLP:
    """A multilayer perceptron for 2D binary classification."""

    def __init__(self, layers: list[Layer]):
        self.layers = layers

    # ---- construction --------------------------------------------------------------------------
    @classmethod
    def build(cls, n_inputs: int, network: Network, seed: int) -> MLP:
        """Initialise per the network settings; the same seed gives the same weights."""
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))  # stream 2: weights
        sizes = [n_inputs, *network.hidden, 1]
        names = [*network.layer_activations(), None]
        slope_default = network.param("negative_slope")
        layers = []
        for fan_in, fan_out, name in zip(sizes[:-1], sizes[1:], names):
            if name == "prelu":
                slope = np.full(fan_out, network.param("prelu_init"), dtype=np.float32)
                init_slope = network.param("prelu_init")
            else:
                slope = slope_default
                init_slope = slope_default
            W, b = _init_weights(rng, fan_in, fan_out, name, network, init_slope)
            if name is not None:
                b[:] = network.bias_init
            layer = Layer(W, b, name, slope, network.param("alpha"))
            if network.batch_norm and name is not None:
                layer.gamma = np.ones(fan_out, np.float32)
                layer.beta = np.zeros(fan_out, np.float32)
                layer.running_mean = np.zeros(fan_out, np.float32)
                layer.running_var = np.ones(fan_out, np.float32)
            layers.append(layer)
        return cls(layers)

    def set_activation_params(self, network: Network) -> None:
        """Leaky's slope and ELU's alpha change live; PReLU's learned slopes are kept."""
        for layer in self.layers:
            if layer.activation is not None and not layer.learned_slope:
                layer.slope = network.param("negative_slope")
            layer.alpha = network.param("alpha")

    # ---- parameters ----------------------------------------------------------------------------
    def parameters(self) -> list[tuple[str, int, np.ndarray]]:
        """(kind, layer index, array) of everything trained; kind is W, b, slope, gamma or beta."""
        out = []
        for i, layer in enumerate(self.layers):
            out += [("W", i, layer.W), ("b", i, layer.b)]
            if layer.learned_slope:
                out.append(("slope", i, layer.slope))
            if layer.gamma is not None:
                out += [("gamma", i, layer.gamma), ("beta", i, layer.beta)]
        return out

    def state(self) -> list[dict[str, np.ndarray]]:
        """A deep copy of every array (weights and batch-norm statistics), e.g. for a snapshot."""
        keys = ("W", "b", "gamma", "beta", "running_mean", "running_var")
        out = []
        for layer in self.layers:
            entry = {k: getattr(layer, k).copy() for k in keys if getattr(layer, k) is not None}
            if layer.learned_slope:
                entry["slope"] = layer.slope.copy()
            out.append(entry)
        return out

    def load_state(self, state: list[dict[str, np.ndarray]]) -> None:
        """Put back arrays taken with state() (same architecture)."""
        for layer, entry in zip(self.layers, state):
            for key, value in entry.items():
                setattr(layer, key, np.array(value, dtype=np.float32))

    def is_finite(self) -> bool:
        return all(np.isfinite(p.sum()) for _, _, p in self.parameters())

    # ---- forward and backward ------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, keep: bool = False):
        """Inference: x (n, n_inputs) -> logits (n,); with keep, also [(z, a)] per hidden layer.

        z is the input to the activation (after batch norm, which uses its running averages here, as
        torch's eval()). Used for health probes, metrics and grids, never for updates.
        """
        a = x
        kept = []
        for layer in self.layers[:-1]:
            z = a @ layer.W
            z += layer.b
            if layer.gamma is not None:
                z = (z - layer.running_mean) / np.sqrt(layer.running_var + BN_EPS) * layer.gamma + layer.beta
            a = ACTIVATIONS[layer.activation].f(z, layer.slope, layer.alpha)
            if keep:
                kept.append((z, a))
        last = self.layers[-1]
        logits = (a @ last.W)[:, 0] + last.b[0]
        return (logits, kept) if keep else logits

    def forward_train(self, x: np.ndarray, *, update_stats: bool = True):
        """Training forward: x (n, n_inputs) -> (logits (n,), cache for backward).

        Batch norm uses this batch's statistics (and, with update_stats, moves its running averages).
        """
        acts, zs, bn_cache = [x], [], []
        a = x
        for layer in self.layers[:-1]:
            z = a @ layer.W
            z += layer.b
            if layer.gamma is not None:
                batch_stats = len(z) > 1  # one point has no variance: use the running statistics
                mean, var = (z.mean(0), z.var(0)) if batch_stats else (layer.running_mean, layer.running_var)
                inv_std = 1.0 / np.sqrt(var + BN_EPS)
                zhat = (z - mean) * inv_std
                bn_cache.append((zhat, inv_std, batch_stats))
                if batch_stats and update_stats:
                    n = len(z)
                    layer.running_mean = (1 - BN_MOMENTUM) * layer.running_mean + BN_MOMENTUM * mean
                    layer.running_var = (1 - BN_MOMENTUM) * layer.running_var + BN_MOMENTUM * var * (n / (n - 1))
                z = zhat * layer.gamma + layer.beta
            else:
                bn_cache.append(None)
            zs.append(z)
            a = ACTIVATIONS[layer.activation].f(z, layer.slope, layer.alpha)
            acts.append(a)
        last = self.layers[-1]
        logits = (a @ last.W)[:, 0] + last.b[0]
        return logits, (acts, zs, bn_cache)

    def backward(self, cache, dlogits: np.ndarray) -> dict[tuple[str, int], np.ndarray]:
        """Backpropagate dL/dlogit (n,) through the cached forward: {(kind, layer): gradient}."""
        acts, zs, bn_cache = cache
        grads = {}
        out = len(self.layers) - 1
        delta = dlogits[:, None]  # (n, 1)
        grads[("W", out)] = acts[-1].T @ delta
        grads[("b", out)] = delta.sum(0)
        back = delta @ self.layers[out].W.T  # dL/da of the last hidden layer
        for i in range(out - 1, -1, -1):
            layer, z = self.layers[i], zs[i]
            if layer.learned_slope:  # d a / d slope = z where z <= 0
                grads[("slope", i)] = (back * np.minimum(z, 0.0)).sum(0)
            delta = back * ACTIVATIONS[layer.activation].df(z, layer.slope, layer.alpha)  # dL/dz
            if bn_cache[i] is not None:
                zhat, inv_std, batch_stats = bn_cache[i]
                grads[("gamma", i)] = (delta * zhat).sum(0)
                grads[("beta", i)] = delta.sum(0)
                dzhat = delta * layer.gamma
                if batch_stats:  # the batch mean and variance depend on every point too
                    n = len(z)
                    delta = (inv_std / n) * (n * dzhat - dzhat.sum(0) - zhat * (dzhat * zhat).sum(0))
                else:
                    delta = dzhat * inv_std
            grads[("W", i)] = acts[i].T @ delta
            grads[("b", i)] = delta.sum(0)
            if i > 0:
                back = delta @ layer.W.T
        return grads

    # ---- reference -----------------------------------------------------------------------------
    def to_torch(self):
        """The same network as a torch.nn.Sequential with the same weights (reference tests, bench)."""
        import torch  # lazily: seconds of start-up the app itself does not need

        modules: list[torch.nn.Module] = []
        for layer in self.layers:
            fan_in, fan_out = layer.W.shape
            linear = torch.nn.Linear(fan_in, fan_out)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.W.T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.b.copy()))
            modules.append(linear)
            if layer.activation is None:
                break
            if layer.gamma is not None:
                bn = torch.nn.BatchNorm1d(fan_out, eps=BN_EPS, momentum=BN_MOMENTUM)
                with torch.no_grad():
                    bn.weight.copy_(torch.from_numpy(layer.gamma))
                    bn.bias.copy_(torch.from_numpy(layer.beta))
                    bn.running_mean.copy_(torch.from_numpy(layer.running_mean))
                    bn.running_var.copy_(torch.from_numpy(layer.running_var))
                modules.append(bn)
            spec = ACTIVATIONS[layer.activation]
            slope = float(np.mean(layer.slope)) if layer.learned_slope else float(layer.slope)
            module = spec.torch_module(fan_out, slope, layer.alpha)
            if layer.learned_slope:
                with torch.no_grad():
                    module.weight.copy_(torch.from_numpy(layer.slope))
            modules.append(module)
        return torch.nn.Sequential(*modules)


def _init_weights(rng, fan_in, fan_out, activation, network: Network, slope):
    """Weights per the init scheme (times init_gain); biases zero for now."""
    if network.init == "torch":  # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both
        bound = 1.0 / np.sqrt(fan_in)
        W = rng.uniform(-bound, bound, (fan_in, fan_out)) * network.init_gain
        b = rng.uniform(-bound, bound, fan_out)
        return W.astype(np.float32), b.astype(np.float32)
    if network.init == "auto":
        # the output feeds a sigmoid (in the loss), so it takes the sigmoid's rule
        rule = ACTIVATIONS[activation].init if activation is not None else "xavier"
    else:
        rule = {"he": "he", "xavier": "xavier", "lecun": "lecun"}[network.init]
    std = weight_std(rule, fan_in, fan_out, slope) * network.init_gain
    W = rng.normal(0.0, std, (fan_in, fan_out)).astype(np.float32)
    return W, np.zeros(fan_out, np.float32)
