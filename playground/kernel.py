"""Compiled training: whole runs of minibatch steps in one numba call, when numba is installed.

Why: at TensorFlow Playground's sizes a numpy step is ~50 small calls, and each costs about a
microsecond of dispatch whatever its arithmetic (C3: ~70 µs a step for ~20k multiply-adds). Here a
step is plain loops compiled to machine code, and Python is entered once per run of steps (up to
the next epoch or health probe), not ~50 times per step.

The maths is model.py's, step for step: the same forward, f' and backward, loss gradient,
regularisation, clipping and optimisers, on the same batches (Trainer shuffles, in numpy, as
before). Only the order of the sums differs from BLAS, so the two engines agree to float32
rounding (tests/test_kernel.py runs both side by side). It is the faster engine for batches up to
32 on all but the biggest nets (see suits()); bigger batches and batch norm train on numpy.

Without numba (or with PLAYGROUND_ENGINE=numpy) `available()` is False and the Trainer uses the
numpy engine: everything works, only slower. The first call compiles (a few seconds once; numba
caches the machine code on disk: later runs import numba and load it in ~1-1.3 s).
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from .activations import ACTIVATIONS, INV_SQRT_2PI, SELU_ALPHA, SELU_SCALE, SOFTPLUS_THRESHOLD, SQRT_HALF

ACTIVATION_CODES = {name: code for code, name in enumerate(ACTIVATIONS)}  # relu 0 ... linear 11
LOSS_CODES = {"bce": 0, "mse": 1, "tanh_mse": 2}
OPTIMIZER_CODES = {"sgd": 0, "momentum": 1, "adam": 2}
REGULARIZATION_CODES = {"none": 0, "l1": 1, "l2": 2}

# The optimisers' constants (torch's defaults), for both engines: Trainer._descend imports them.
# They live here because numba freezes globals into its cached machine code and re-checks only this
# file's source; the activations' constants imported above are torch's fixed numbers.
MOMENTUM = 0.9  # torch.optim.SGD(momentum=0.9)
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
CLIP_EPS = 1e-6  # torch's clip_grad_norm_: scale = max_norm / (total + eps)

_EMPTY = np.zeros(0, np.float32)  # optimiser state an optimiser does not use
_compiled = None  # the compiled run_steps, once built; False when numba is missing or switched off


def available() -> bool:
    """Whether the compiled engine can be used here: numba imports, is not switched off, and the
    kernel compiles and runs. The first call does that work (a few seconds the first time on a
    machine, ~1-1.3 s with numba's import and disk cache later); later calls are free."""
    return _kernel() is not None


def prepare(say, after: float = 2.0) -> bool:
    """available(), telling the user through say(text) when it takes longer than `after` seconds
    (a first compile on this machine: 3-5 s here; loading numba and its cache takes ~1-1.4 s and
    goes unsaid), and say("") once done. For the training workers, which call it while the window
    shows its first picture, and the command line, before its clock starts."""
    import threading

    done = threading.Event()
    told = []

    def tell() -> None:
        if not done.is_set():
            told.append(True)
            say("Preparing the compiled training engine (once on this machine: a few seconds)…")

    timer = threading.Timer(after, tell)
    timer.daemon = True
    timer.start()
    try:
        return available()
    finally:
        done.set()
        timer.cancel()
        if told:
            say("")


def _kernel():
    global _compiled
    if _compiled is None:
        _compiled = False
        if os.environ.get("PLAYGROUND_ENGINE", "").lower() != "numpy":
            _compiled = _compile() or False
    return _compiled or None


def _compile():
    """The compiled run_steps, tried out once on a tiny problem; None (and one line on stderr) if not."""
    try:
        import numba
    except ImportError:
        return None
    try:
        try:
            compiled = _jit(numba, cache=True)
        except RuntimeError:  # numba found nowhere to write its cache: compile on every start instead
            compiled = _jit(numba, cache=False)
        _try_out(compiled)
        return compiled
    except Exception as error:  # a numba that cannot compile this: the numpy engine does the same job
        print(f"playground: training on the numpy engine (numba could not compile the kernel: "
              f"{type(error).__name__}: {error})", file=sys.stderr)
        return None


def _jit(numba, cache: bool):
    """numba compiles run_steps' callees only if they are compiled functions too: swap them in
    (from the plain ones each time, so a second try starts from Python functions again)."""
    helper = numba.njit(cache=cache)
    for name, function in _HELPERS.items():
        globals()[name] = helper(function)
    # error_model numpy: a division by zero gives inf as in numpy, no exception check per division.
    # fastmath only as far as "reassoc" (sums in any order, as BLAS adds them: the dot products
    # vectorise) and "contract" (fused multiply-adds): C3 4.2 -> 3.7 us a step, a 32x32 tanh layer
    # at batch 32 43 -> 37 us. Not "nnan"/"ninf": those assume no NaN or inf, and a diverging run
    # is exactly that.
    return numba.njit(cache=cache, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})(run_steps)


def _try_out(compiled) -> None:
    """One step of a 2-3-1 net: compiles (or loads from the cache) the only signature train() uses."""
    f32 = np.float32
    params, grad, mask = np.zeros(13, f32), np.zeros(13, f32), np.ones(13, f32)
    layout = np.array([[0, 2, 3, 10, -1], [9, 3, 1, -1, -1]], np.int64)
    X, C = np.ones((4, 3), f32), np.ones(4, f32)
    work = np.zeros((2, 4, 3), f32)
    compiled(params, grad, layout, np.zeros(2), 1.0, X, C, C, 0, 4, 1, 0, 0, 0.1, 0, 0.0, mask, 0.0,
             _EMPTY, _EMPTY, _EMPTY, 0, work, work.copy(), work.copy())


# ---- the kernel (plain Python: numba compiles it; it also runs, slowly, uncompiled) ---------------
# Activation codes follow ACTIVATIONS' order: relu, leaky_relu, prelu, elu, selu, gelu, silu, mish,
# softplus, sigmoid, tanh, linear. Checked against the registry by tests/test_kernel.py.

def _sigmoid(z):
    return 0.5 + 0.5 * math.tanh(0.5 * z)


def _softplus(z):
    return z if z > SOFTPLUS_THRESHOLD else math.log1p(math.exp(z))


def _activate(code, z, slope, alpha):
    if code == 0:
        return z if z > 0.0 else 0.0
    if code == 1 or code == 2:
        return z if z > 0.0 else z * slope
    if code == 3:
        return z if z > 0.0 else alpha * math.expm1(z)
    if code == 4:
        return SELU_SCALE * (z if z > 0.0 else SELU_ALPHA * math.expm1(z))
    if code == 5:
        return z * 0.5 * (1.0 + math.erf(z * SQRT_HALF))
    if code == 6:
        return z * _sigmoid(z)
    if code == 7:
        return z * math.tanh(_softplus(z))
    if code == 8:
        return _softplus(z)
    if code == 9:
        return _sigmoid(z)
    if code == 10:
        return math.tanh(z)
    return z


def _derivative(code, z, a, slope, alpha):
    """f'(z), given a = f(z) too (tanh and sigmoid read it off a)."""
    if code == 0:
        return 1.0 if z > 0.0 else 0.0
    if code == 1 or code == 2:
        return 1.0 if z > 0.0 else slope
    if code == 3:
        return 1.0 if z > 0.0 else alpha * math.exp(z)
    if code == 4:
        return SELU_SCALE * (1.0 if z > 0.0 else SELU_ALPHA * math.exp(z))
    if code == 5:
        return 0.5 * (1.0 + math.erf(z * SQRT_HALF)) + z * INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if code == 6:
        g = _sigmoid(z)
        return g * (1.0 + z * (1.0 - g))
    if code == 7:
        t = math.tanh(_softplus(z))
        return t + z * _sigmoid(z) * (1.0 - t * t)
    if code == 8:
        return 1.0 if z > SOFTPLUS_THRESHOLD else _sigmoid(z)
    if code == 9:
        return a * (1.0 - a)
    if code == 10:
        return 1.0 - a * a
    return 1.0


def run_steps(params, grad, layout, slopes, alpha, X, C, Y, start, batch, n_steps, loss_code,
              optimizer_code, lr, reg_code, reg_rate, mask, clip, velocity, m, v, adam_t, A, Z, back):
    """n_steps minibatch updates on X[start:], batch rows at a time; params and grad change in place.

    params, grad, mask: the model's flat buffers (float32). layout (weight layers, 5) int64: offset
    of Wb in params, fan_in, fan_out, activation code (-1 for the output), offset of PReLU's slopes
    (-1 if none). slopes (weight layers,) float: Leaky's constant slope per layer. X (points,
    inputs + 1): the epoch's shuffled inputs with a column of ones; C = 1 - 2y and Y = y in the
    same order. clip <= 0 means no clipping. velocity, m, v: optimiser state (zeros to begin).
    adam_t: Adam's step count before this call. Work arrays: A (layers, batch, width + 1) inputs to
    each weight layer, Z (layers, batch, width) pre-activations, back (2, batch, width) dL/da.
    """
    n_layers = layout.shape[0]
    size = params.shape[0]
    n_in = X.shape[1] - 1
    pos = start
    for step in range(n_steps):
        n = min(batch, X.shape[0] - pos)
        # forward: A[l] holds the inputs of weight layer l (A[0] the batch), Z[l] its pre-activations.
        # No views per row: each costs an atomic reference count up and down, and per row they were
        # most of a step at TF Playground's sizes (views per layer instead: C1 3.75 -> 2.3 us a step,
        # C3 9.9 -> 6.2, CPU time). The work arrays are indexed directly, every index a loop counter
        # so loops still vectorise (a further C1 2.04 -> 1.8, C3 3.9 -> 3.5); the weights keep one
        # 2-D view per layer (flat indexing there cost C3 +40 %).
        for r in range(n):
            for k in range(n_in):
                A[0, r, k] = X[pos + r, k]
        for l in range(n_layers):
            woff, fan_in, fan_out, code, soff = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3], layout[l, 4]
            bias = woff + fan_in * fan_out
            W = params[woff:bias].reshape((fan_in, fan_out))
            b = params[bias:bias + fan_out]
            for r in range(n):
                for j in range(fan_out):
                    Z[l, r, j] = b[j]
                for k in range(fan_in):
                    a = A[l, r, k]
                    for j in range(fan_out):
                        Z[l, r, j] += a * W[k, j]
                # ReLU and tanh on their own loops: no call and no branch on the code per unit, so
                # they vectorise (C3 6.4 -> 4.6 us a step; a 32x32 tanh layer 60 -> 45 us at batch 32)
                if code == 0:
                    for j in range(fan_out):
                        z = Z[l, r, j]
                        A[l + 1, r, j] = z if z > 0.0 else np.float32(0.0)
                elif code == 10:  # tanh likewise
                    for j in range(fan_out):
                        A[l + 1, r, j] = math.tanh(Z[l, r, j])
                elif code > 0:
                    for j in range(fan_out):
                        slope = params[soff + j] if soff >= 0 else slopes[l]
                        A[l + 1, r, j] = _activate(code, Z[l, r, j], slope, alpha)
        # dL/dlogit for the mean loss over the batch
        out = n_layers - 1
        for r in range(n):
            logit = Z[out, r, 0]
            if loss_code == 0:  # sigmoid(l) - y = (tanh(l/2) + 1 - 2y) / 2
                back[0, r, 0] = (math.tanh(np.float32(0.5) * logit) + C[pos + r]) * 0.5 / n  # float32 as numpy's
            elif loss_code == 2:  # tanh_mse: (tanh(l) - t)(1 - tanh²(l)), t = 2y - 1 = -C
                t = math.tanh(logit)
                back[0, r, 0] = (t + C[pos + r]) * (1.0 - t * t) / n
            else:
                p = _sigmoid(logit)
                back[0, r, 0] = (p - Y[pos + r]) * p * (1.0 - p) * 2.0 / n
        # backward: back[cur] holds dL/dz of layer l (after f'), back[1 - cur] receives dL/da below
        cur = 0
        for l in range(n_layers - 1, -1, -1):
            woff, fan_in, fan_out, code, soff = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3], layout[l, 4]
            bias = woff + fan_in * fan_out
            if code == 0:  # ReLU: dL/dz = dL/da where z > 0
                for r in range(n):
                    for j in range(fan_out):
                        if not Z[l, r, j] > 0.0:  # (NaN too, as f' = 0 times dL/da)
                            back[cur, r, j] *= np.float32(0.0)
            elif code == 10:  # tanh: f' = 1 - a²
                for r in range(n):
                    for j in range(fan_out):
                        a = A[l + 1, r, j]
                        back[cur, r, j] *= np.float32(1.0) - a * a
            elif code > 0:  # dL/da -> dL/dz in place
                if soff >= 0:
                    for j in range(fan_out):
                        grad[soff + j] = 0.0
                for r in range(n):
                    for j in range(fan_out):
                        z = Z[l, r, j]
                        slope = params[soff + j] if soff >= 0 else slopes[l]
                        if soff >= 0 and z < 0.0:  # PReLU: d a / d slope = z where z <= 0
                            grad[soff + j] += back[cur, r, j] * z
                        back[cur, r, j] *= _derivative(code, z, A[l + 1, r, j], slope, alpha)
            # dL/dW[k, j] = sum over r of A[r, k] · dL/dz[r, j]; dL/db[j] = sum of dL/dz[r, j]
            W = params[woff:bias].reshape((fan_in, fan_out))
            gW = grad[woff:bias].reshape((fan_in, fan_out))
            gb = grad[bias:bias + fan_out]
            for i in range(woff, bias + fan_out):  # plain loop: slice assignment costs more here
                grad[i] = 0.0
            for r in range(n):
                for k in range(fan_in):
                    a = A[l, r, k]
                    for j in range(fan_out):
                        gW[k, j] += a * back[cur, r, j]
                for j in range(fan_out):
                    gb[j] += back[cur, r, j]
            if l > 0:  # dL/da below: a dot product along each weight row
                for r in range(n):
                    for k in range(fan_in):
                        s = np.float32(0.0)
                        for j in range(fan_out):
                            s += back[cur, r, j] * W[k, j]
                        back[1 - cur, r, k] = s
                cur = 1 - cur
        # plain SGD, TF Playground's case: one float32 loop numba vectorises, as numpy's
        # `params -= lr * g` (a float32 product), without the per-parameter branches below
        if optimizer_code == 0 and clip <= 0.0 and (reg_code == 0 or reg_rate <= 0.0):
            lr32 = np.float32(lr)
            for i in range(size):
                params[i] -= lr32 * grad[i]
            pos += n
            continue
        # regularise (weights only), clip, step: Trainer._descend's order
        scale = 1.0
        if clip > 0.0:
            total = 0.0
            for i in range(size):
                g = _regularised(grad[i], params[i], mask[i], reg_code, reg_rate)
                total += g * g
            total = math.sqrt(total)
            if total > clip:
                scale = clip / (total + CLIP_EPS)
        t = adam_t + step + 1
        c1 = 1.0 - ADAM_BETA1 ** t
        c2 = 1.0 - ADAM_BETA2 ** t
        for i in range(size):
            g = _regularised(grad[i], params[i], mask[i], reg_code, reg_rate) * scale
            if optimizer_code == 0:
                params[i] -= lr * g
            elif optimizer_code == 1:  # v = μv + g
                velocity[i] = MOMENTUM * velocity[i] + g
                params[i] -= lr * velocity[i]
            else:  # torch.optim.Adam
                m[i] = ADAM_BETA1 * m[i] + (1.0 - ADAM_BETA1) * g
                v[i] = ADAM_BETA2 * v[i] + (1.0 - ADAM_BETA2) * g * g
                params[i] -= (lr / c1) * m[i] / (math.sqrt(v[i] / c2) + ADAM_EPS)
        pos += n


def _regularised(g, w, mask, reg_code, reg_rate):
    if reg_code == 0 or reg_rate <= 0.0:
        return g
    if reg_code == 2:
        return g + reg_rate * w * mask
    return g + reg_rate * (1.0 if w > 0.0 else (-1.0 if w < 0.0 else 0.0)) * mask


_HELPERS = {"_sigmoid": _sigmoid, "_softplus": _softplus, "_activate": _activate, "_derivative": _derivative,
            "_regularised": _regularised}  # the plain functions, before any compiled stand-ins


class Plan:
    """run_steps' fixed arguments for one model and batch size: its layout and work arrays."""

    def __init__(self, model, batch: int):
        layers = model.layers
        widths = [layers[0].W.shape[0]] + [layer.W.shape[1] for layer in layers]
        width = max(widths)
        self.layout = np.zeros((len(layers), 5), np.int64)
        self.slopes = np.zeros(len(layers), np.float64)
        for i, layer in enumerate(layers):
            fan_in, fan_out = layer.W.shape
            places = model._places[i]
            self.layout[i] = (places["Wb"][0].start, fan_in, fan_out,
                              -1 if layer.activation is None else ACTIVATION_CODES[layer.activation],
                              places["slope"][0].start if "slope" in places else -1)
            if layer.activation is not None and not layer.learned_slope:
                self.slopes[i] = float(layer.slope)
        self.alpha = float(layers[0].alpha)
        self.A = np.zeros((len(layers), batch, width), np.float32)
        self.Z = np.zeros((len(layers), batch, width), np.float32)
        self.back = np.zeros((2, batch, width), np.float32)


# Where the kernel is the faster engine (measured on the 2-core machine, Trainer.step, compiled/numpy):
# small batches, where numpy's ~1 µs per call is the cost: 8x6 ReLU batch 10 4.6x, 16x3 batch 10 2.7x,
# 16x6 tanh batch 10 1.7x, 8x6 tanh batch 32 1.3x, 32x3 tanh batch 10 1.3x, 16x4 ReLU batch 32 1.2x,
# 32x8 ReLU batch 10 1.0-1.5x. Big batches go to numpy's BLAS and SIMD element-wise functions:
# 4-2 tanh on the whole set (batch 250) 0.75x, 8x8 tanh batch 100 0.7x, 32x8 ReLU batch 32 0.5x.
MAX_BATCH = 32
MAX_MULTIPLY_ADDS = 64_000  # per step: batch x the network's weights


def covers(model) -> bool:
    """Whether the kernel can train this network: everything but batch norm."""
    return all(layer.gamma is None for layer in model.layers)


def suits(model, batch: int) -> bool:
    """Whether the kernel is the faster engine for this network size and batch size."""
    weights = sum(layer.W.size for layer in model.layers)
    return batch <= MAX_BATCH and batch * weights <= MAX_MULTIPLY_ADDS


def train(model, plan: Plan, X, C, Y, start: int, batch: int, n_steps: int, training, state: dict,
          adam_t: int) -> None:
    """n_steps updates of `model` on X[start:] (see run_steps); optimiser state lives in `state`."""
    kernel = _kernel()
    size = model.params.size
    optimizer = training.optimizer
    if optimizer == "momentum" and "velocity" not in state:
        state["velocity"] = np.zeros(size, np.float32)  # v = μ·0 + g: numpy's first v = g
    if optimizer == "adam" and "m" not in state:
        state["m"], state["v"] = np.zeros(size, np.float32), np.zeros(size, np.float32)
    kernel(model.params, model.grad, plan.layout, plan.slopes, plan.alpha, X, C, Y, int(start), int(batch),
           int(n_steps), LOSS_CODES[training.loss], OPTIMIZER_CODES[optimizer], float(training.learning_rate),
           REGULARIZATION_CODES[training.regularization], float(training.regularization_rate),
           model.weight_mask, float(training.grad_clip or 0.0), state.get("velocity", _EMPTY),
           state.get("m", _EMPTY), state.get("v", _EMPTY), int(adam_t), plan.A, plan.Z, plan.back)
