"""The MLP: numpy parameters in one flat buffer (MLP.layout says where each array lives), the
training forward and a hand-written backward, and the probe's and the grids' forwards (tests/reference.py
holds a plain row forward the tests check these against).

Rows are points: z = a_prev @ W + b, W of shape (fan_in, fan_out). The last layer has one unit whose
output is a logit. Gradients come from the activations' f' (no autograd): at this size per-op overhead
is the whole cost, and numpy's is a fraction of torch's. tests/test_model.py checks every gradient
against torch autograd on the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import maths
from .activations import ACTIVATIONS, weight_std
from .experiment import Network

BN_EPS = 1e-5  # torch.nn.BatchNorm1d defaults
BN_MOMENTUM = 0.1


class Place(NamedTuple):
    """Where one trained array lives in MLP.params (and its gradient in MLP.grad): [start:stop], shaped."""

    start: int
    stop: int
    shape: tuple

    @property
    def where(self) -> slice:
        return slice(self.start, self.stop)


@dataclass
class Layer:
    """One linear layer and what follows it. Arrays are float32; `activation` None means the output.

    W and b are views of Wb, which is itself a view of the model's one flat parameter buffer: the
    forward computes a_aug @ Wb (a with a column of ones) and the backward a_aug.T @ delta, so one
    matmul gives z, and one gives both dL/dW and dL/db.
    """

    W: np.ndarray  # (fan_in, fan_out)
    b: np.ndarray  # (fan_out,)
    activation: str | None
    slope: np.ndarray | float = 0.0  # Leaky's slope, or PReLU's learned (fan_out,) slopes
    alpha: float = 1.0  # ELU's alpha
    gamma: np.ndarray | None = None  # batch norm scale and shift, when batch norm is on
    beta: np.ndarray | None = None
    running_mean: np.ndarray | None = None
    running_var: np.ndarray | None = None
    Wb: np.ndarray | None = None  # (fan_in + 1, fan_out): W with b as its last row (set by MLP)

    @property
    def learned_slope(self) -> bool:
        return self.activation == "prelu"


class MLP:
    """A multilayer perceptron for 2D binary classification.

    Every trained array lives in one flat float32 buffer (`params`), and the backward writes into a
    matching one (`grad`): an optimiser step is then one fused numpy expression over the whole net
    instead of one per array (SGD on 2-4-2-1: 1.5 µs instead of 12 µs).
    """

    def __init__(self, layers: list[Layer]):
        self.layers = layers
        self._pack()
        self._plans: dict[int, tuple] = {}  # batch size -> forward_train's work arrays
        self._probe_buffers: dict[int, tuple] = {}  # points -> forward_probe's work arrays

    def _pack(self) -> None:
        """Move every trained array into views of one flat buffer; lay out a matching gradient buffer."""
        arrays = []
        for layer in self.layers:
            arrays.append(np.vstack([layer.W, layer.b[None, :]]))
            if layer.learned_slope:
                arrays.append(np.asarray(layer.slope, np.float32))
            if layer.gamma is not None:
                arrays += [layer.gamma, layer.beta]
        self.params = np.concatenate([a.ravel() for a in arrays]).astype(np.float32)
        self.grad = np.zeros_like(self.params)
        self.weight_mask = np.zeros_like(self.params)  # 1 on W entries: what regularisation touches
        self._grad_views: dict[tuple[str, int], np.ndarray] = {}
        self.weight_segments: list[int] = []  # where each layer's W starts and ends in the buffers
        offset = 0

        # per layer: Wb (fan_in + 1, fan_out), and PReLU's slope, batch norm's gamma and beta (fan_out,)
        self.layout: list[dict[str, Place]] = []

        def take(shape, key):
            nonlocal offset
            size = int(np.prod(shape))
            self.layout[-1][key] = Place(offset, offset + size, shape)
            views = (self.params[offset:offset + size].reshape(shape), self.grad[offset:offset + size].reshape(shape))
            offset += size
            return views

        for i, layer in enumerate(self.layers):
            fan_in, fan_out = layer.W.shape
            self.weight_segments += [offset, offset + fan_in * fan_out]
            self.weight_mask[offset:offset + fan_in * fan_out] = 1.0
            self.layout.append({})
            layer.Wb, gWb = take((fan_in + 1, fan_out), "Wb")
            layer.W, layer.b = layer.Wb[:-1], layer.Wb[-1]
            self._grad_views.update({("Wb", i): gWb, ("W", i): gWb[:-1], ("b", i): gWb[-1]})
            if layer.learned_slope:
                layer.slope, self._grad_views[("slope", i)] = take((fan_out,), "slope")
            if layer.gamma is not None:
                layer.gamma, self._grad_views[("gamma", i)] = take((fan_out,), "gamma")
                layer.beta, self._grad_views[("beta", i)] = take((fan_out,), "beta")

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
            if name is not None and network.bias_init is not None:  # given: it wins over the init's rule
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
        self._plans.clear()  # their activation functions hold the old constants

    # ---- parameters ----------------------------------------------------------------------------
    def state(self) -> list[dict[str, np.ndarray]]:
        """A deep copy of every array (weights and batch-norm statistics), e.g. for a snapshot.

        One copy of the flat buffer, handed out as read-only views (17-42 µs of copies become ~3).
        """
        flat = self.params.copy()
        flat.setflags(write=False)
        out = []
        for layer, places in zip(self.layers, self.layout):
            entry = {}
            for key, (start, stop, shape) in places.items():
                where = slice(start, stop)
                if key == "Wb":
                    Wb = flat[where].reshape(shape)
                    entry["W"], entry["b"] = Wb[:-1], Wb[-1]
                else:
                    entry[key] = flat[where]
            for key in ("running_mean", "running_var"):
                if getattr(layer, key) is not None:
                    entry[key] = frozen_copy(getattr(layer, key))
            out.append(entry)
        return out

    def flat_state(self) -> np.ndarray:
        """Everything a replay needs as one fresh float32 vector: the parameter buffer, then each
        batch-norm layer's running mean and variance. A copy of `params` costs ~0.6 µs; state()
        with its dict of views ~19 µs (the recorder takes one every 10 steps)."""
        stats = [s for layer in self.layers for s in (layer.running_mean, layer.running_var) if s is not None]
        return np.concatenate([self.params, *stats]) if stats else self.params.copy()

    def load_flat_state(self, flat: np.ndarray) -> None:
        """Put back a vector taken with flat_state() (same architecture)."""
        n = self.params.size
        self.params[...] = flat[:n]
        offset = n
        for layer in self.layers:
            if layer.running_mean is not None:
                size = layer.running_mean.size
                layer.running_mean = np.array(flat[offset:offset + size], np.float32)
                layer.running_var = np.array(flat[offset + size:offset + 2 * size], np.float32)
                offset += 2 * size
        if offset != flat.size:
            raise ValueError(f"a state of {flat.size} values does not fit this network ({offset} values)")

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.params.sum()))

    # ---- forward and backward ------------------------------------------------------------------
    def forward_columns(self, xT: np.ndarray):
        """Inference with points as columns: xT (n_inputs, n) -> (logits (n,), [aT (units, n)] per hidden layer).

        For the grids: each neuron's values come out contiguous, so (units, G, G) maps are reshapes
        of fresh arrays, with no transposed copies. Each layer's output is written under a row of
        ones and z goes to one reused work array: two passes over memory a layer, not four
        (C3 at 100×100: 2.5 -> ~1 ms).
        """
        n = xT.shape[1]
        a_aug = np.vstack([xT, np.ones((1, n), np.float32)])
        work = np.empty((max((layer.W.shape[1] for layer in self.layers), default=1), n), np.float32)
        scratch = np.empty((2, *work.shape), np.float32)  # the activations' work space
        kept = []
        for layer in self.layers[:-1]:
            units = layer.W.shape[1]
            z = np.dot(layer.Wb.T, a_aug, out=work[:units])  # W.T @ a + b
            if layer.gamma is not None:
                scale = layer.gamma / np.sqrt(layer.running_var + BN_EPS)
                z -= layer.running_mean[:, None]
                z *= scale[:, None]
                z += layer.beta[:, None]
            slope = layer.slope[:, None] if layer.learned_slope else layer.slope
            a_aug = np.empty((units + 1, n), np.float32)
            a_aug[units] = 1.0
            ACTIVATIONS[layer.activation].f_into(z, a_aug[:units], scratch[:, :units], slope, layer.alpha)
            kept.append(a_aug[:units])
        logits = np.dot(self.layers[-1].Wb.T, a_aug)[0]
        return logits, kept

    def forward_probe(self, xT: np.ndarray, with_activations: bool = False):
        """Inference for the health probe, points as columns: xT (n_inputs + 1, n) with a last row of ones.

        Returns (logits (n,), Z (hidden units, n)): every hidden layer's z stacked in one array, so
        the probe classifies all neurons in a few numpy calls instead of a dozen per layer (C3: ~8×
        fewer calls). Z is a work array reused by the next call with the same n: use it before then.
        with_activations: (logits, Z, A) with A (hidden units + hidden layers, n) each hidden
        layer's f(z) followed by a row of ones, a work array too (kernel.probe counts from Z and A).
        """
        n = xT.shape[1]
        buffers = self._probe_buffers.get(n)
        if buffers is None:
            buffers = self._probe_buffers[n] = self._make_probe_buffers(n)
        Z, A, rows = buffers
        a_aug = xT
        for layer, (z_rows, a_rows, scratch) in zip(self.layers, rows):
            z = Z[z_rows]
            np.dot(layer.Wb.T, a_aug, out=z)  # (fan_out, n) = W.T @ a + b
            if layer.gamma is not None:  # eval mode: the running statistics
                scale = layer.gamma / np.sqrt(layer.running_var + BN_EPS)
                z -= layer.running_mean[:, None]
                z *= scale[:, None]
                z += layer.beta[:, None]
            slope = layer.slope[:, None] if layer.learned_slope else layer.slope
            a_aug = A[a_rows]
            ACTIVATIONS[layer.activation].f_into(z, a_aug[:-1], scratch, slope, layer.alpha)
        logits = np.dot(self.layers[-1].Wb.T, a_aug)[0]
        return (logits, Z, A) if with_activations else (logits, Z)

    def _make_probe_buffers(self, n: int):
        """Z (hidden units, n) and A (hidden units + layers, n), each layer's outputs a row block,
        each followed in A by a row of ones (the next layer's bias input); with each layer's rows,
        its view of the activations' work space (2, units, n)."""
        units = [layer.W.shape[1] for layer in self.layers[:-1]]
        Z = np.empty((sum(units), n), np.float32)
        A = np.ones((sum(units) + len(units), n), np.float32)
        rows, z0, a0 = [], 0, 0
        for u in units:
            rows.append((slice(z0, z0 + u), slice(a0, a0 + u + 1)))
            z0, a0 = z0 + u, a0 + u + 1
        scratch = np.empty((2, max(units, default=1), n), np.float32)
        return Z, A, [(z_rows, a_rows, scratch[:, :u]) for (z_rows, a_rows), u in zip(rows, units)]

    def forward_train(self, x: np.ndarray, *, update_stats: bool = True, augmented: bool = False):
        """Training forward: x (n, n_inputs) -> (logits (n,), cache for backward).

        With `augmented`, x already carries a last column of ones (n, n_inputs + 1): the trainer
        keeps its data that way, so a batch is a slice with no copy. Batch norm uses this batch's
        statistics (and, with update_stats, moves its running averages). The cache lives in work
        arrays reused by the next call with the same batch size: use it before then.
        """
        n = len(x)
        plan = self._plans.get(n)
        if plan is None:
            plan = self._plans[n] = _Plan(self, n)
        if not augmented:
            plan.inputs[:, :-1] = x
            x = plan.inputs
        if plan.plain:
            return self._forward_plain(x, plan)
        acts, zs, bn_cache = [x], [], []
        a_aug = x
        for layer, step in zip(self.layers, plan.steps):
            z = np.dot(a_aug, layer.Wb, out=step.z)  # (n, fan_out): a @ W + b in one call
            cached = None
            if layer.gamma is not None:
                z, cached = _batch_norm_train(layer, z, update_stats)
            bn_cache.append(cached)
            zs.append(z)
            step.activate(z, step.a)
            acts.append(step.a_aug)
            a_aug = step.a_aug
        logits = np.dot(a_aug, self.layers[-1].Wb)[:, 0]
        return logits, (acts, zs, bn_cache)

    def _forward_plain(self, x: np.ndarray, plan: _Plan):
        """forward_train without batch norm: nothing left in the loop but two numpy calls a layer."""
        dot = np.dot
        acts = [x]
        a_aug = x
        for step in plan.steps:
            dot(a_aug, step.Wb, out=step.z)
            step.activate(step.z, step.a)
            a_aug = step.a_aug
            acts.append(a_aug)
        return dot(a_aug, plan.last_Wb)[:, 0], (acts, plan.zs, plan.no_bn)

    def backward_into(self, cache, dlogits: np.ndarray) -> np.ndarray:
        """Backpropagate dL/dlogit (n,) through the cached forward into `grad`, and return it.

        The hot path of training: one matmul per layer for dL/dW and dL/db together (a_aug.T @ delta,
        written straight into the flat buffer), one for dL/da below, and f' from the cached output
        where it is cheaper (tanh: 1 - a², ReLU: z > 0). Everything per layer that does not change
        between steps is looked up once, in a _Plan.
        """
        acts, zs, bn_cache = cache
        plan = self._plans[len(dlogits)]
        dot = np.dot
        delta = dlogits.reshape(-1, 1)  # (n, 1)
        dot(acts[-1].T, delta, out=plan.last_grad)
        back = dot(delta, plan.last_WT)  # dL/da of the last hidden layer
        for i in range(len(plan.steps) - 1, -1, -1):
            step = plan.steps[i]
            z = zs[i]
            if step.grad_slope is not None:  # PReLU: d a / d slope = z where z <= 0
                np.sum(back * np.minimum(z, 0.0), axis=0, out=step.grad_slope)
            delta = step.backprop(back, z, step.a)
            if bn_cache[i] is not None:
                delta = _batch_norm_backward(step.layer, delta, bn_cache[i], *step.grad_bn)
            dot(acts[i].T, delta, out=step.grad_Wb)
            if i:
                back = dot(delta, step.WT)
        return self.grad

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


class _LayerStep:
    """One hidden layer's part of a _Plan: its arrays and functions, looked up once."""

    def __init__(self, model: MLP, i: int, n: int):
        layer = model.layers[i]
        fan_out = layer.W.shape[1]
        self.layer, self.Wb, self.WT = layer, layer.Wb, layer.W.T
        self.z = np.empty((n, fan_out), np.float32)
        self.a_aug = _ones_column(n, fan_out)  # the activation, and a column of ones for the next bias
        self.a = self.a_aug[:, :-1]
        self.grad_Wb = model._grad_views[("Wb", i)]
        self.grad_slope = model._grad_views.get(("slope", i))
        self.grad_bn = (model._grad_views.get(("gamma", i)), model._grad_views.get(("beta", i)))
        slope, alpha = layer.slope, layer.alpha  # PReLU's slope is a view: it follows training
        f_into, slope_into = maths.activation_into(layer.activation, after_f=True)  # backward after forward
        work = np.empty((2, n, fan_out), np.float32)  # the activations' scratch
        dz = np.empty((n, fan_out), np.float32)  # f'(z), then dL/dz: backward's result, reused
        multiply = np.multiply
        self.activate = lambda z, out: f_into(z, out, work, slope, alpha)
        if layer.activation == "linear":
            self.backprop = lambda back, z, a: back
        else:
            def backprop(back, z, a):
                slope_into(z, a, dz, work, slope, alpha)
                return multiply(back, dz, out=dz)
            self.backprop = backprop


class _Plan:
    """forward_train's and backward_into's work arrays and per-layer functions for a batch of n.

    Per-op overhead is the whole cost at this size: every attribute lookup, dict lookup and method
    call saved in the per-layer loops is ~0.1-0.5 µs a layer a step. Rebuilt when Leaky's slope or
    ELU's alpha change (MLP.set_activation_params).
    """

    def __init__(self, model: MLP, n: int):
        hidden = len(model.layers) - 1
        self.inputs = _ones_column(n, model.layers[0].W.shape[0])
        self.steps = [_LayerStep(model, i, n) for i in range(hidden)]
        last = model.layers[-1]
        self.last_Wb, self.last_WT, self.last_grad = last.Wb, last.W.T, model._grad_views[("Wb", hidden)]
        self.plain = all(layer.gamma is None for layer in model.layers)  # no batch norm: the short loop
        self.zs = [step.z for step in self.steps]
        self.no_bn = [None] * hidden


def _batch_norm_train(layer: Layer, z: np.ndarray, update_stats: bool):
    """Normalise z (n, units) with this batch's statistics (the running ones for a single point)."""
    batch_stats = len(z) > 1  # one point has no variance: use the running statistics
    mean, var = (z.mean(0), z.var(0)) if batch_stats else (layer.running_mean, layer.running_var)
    inv_std = 1.0 / np.sqrt(var + BN_EPS)
    zhat = (z - mean) * inv_std
    if batch_stats and update_stats:
        n = len(z)
        layer.running_mean = (1 - BN_MOMENTUM) * layer.running_mean + BN_MOMENTUM * mean
        layer.running_var = (1 - BN_MOMENTUM) * layer.running_var + BN_MOMENTUM * var * (n / (n - 1))
    return zhat * layer.gamma + layer.beta, (zhat, inv_std, batch_stats)


def _batch_norm_backward(layer: Layer, delta, cached, ggamma: np.ndarray, gbeta: np.ndarray) -> np.ndarray:
    """dL/dz after batch norm -> dL/dz before it; writes dL/dgamma and dL/dbeta."""
    zhat, inv_std, batch_stats = cached
    np.sum(delta * zhat, axis=0, out=ggamma)
    np.sum(delta, axis=0, out=gbeta)
    dzhat = delta * layer.gamma
    if not batch_stats:
        return dzhat * inv_std
    n = len(zhat)  # the batch mean and variance depend on every point too
    return (inv_std / n) * (n * dzhat - dzhat.sum(0) - zhat * (dzhat * zhat).sum(0))


def _ones_column(n: int, width: int) -> np.ndarray:
    """(n, width + 1) float32 work array whose last column is 1 (the bias input)."""
    out = np.empty((n, width + 1), np.float32)
    out[:, -1] = 1.0
    return out


def frozen_copy(array: np.ndarray) -> np.ndarray:
    out = np.array(array, dtype=np.float32, copy=True)
    out.setflags(write=False)
    return out


def _init_weights(rng, fan_in, fan_out, activation, network: Network, slope):
    """Weights per the init scheme (times init_gain), and biases by the scheme's own rule (zero, or
    torch's uniform); an explicit network.bias_init replaces the hidden ones afterwards."""
    if network.init == "torch":
        # nn.Linear.reset_parameters: kaiming_uniform_(a=√5) has bound gain·√(3/fan_in) with gain
        # √(2/(1+5)), i.e. 1/√fan_in; the bias is U(±1/√fan_in) too (torch/nn/modules/linear.py)
        bound = 1.0 / np.sqrt(fan_in)
        W = rng.uniform(-bound, bound, (fan_in, fan_out)) * network.init_gain
        b = rng.uniform(-bound, bound, fan_out)
        return W.astype(np.float32), b.astype(np.float32)
    if network.init == "auto":
        # the output feeds a sigmoid (bce, mse) or a tanh (tanh_mse) in the loss: Xavier, gain 1, either
        # way (tanh's 5/3 on the output too measured worse on TF's xor: 0.943 against 0.968, 20 seeds)
        rule = ACTIVATIONS[activation].init if activation is not None else "xavier"
    else:
        rule = {"he": "he", "xavier": "xavier", "lecun": "lecun"}[network.init]
    std = weight_std(rule, fan_in, fan_out, slope) * network.init_gain
    W = rng.normal(0.0, std, (fan_in, fan_out)).astype(np.float32)
    return W, np.zeros(fan_out, np.float32)
