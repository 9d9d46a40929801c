"""The training step's maths, each piece written once: activations and their slopes, the loss
gradient, regularisation, clipping, the optimiser updates, and the compiled loop that runs them.

Two engines use these. The numpy engine (model.py, training.py, compare.py's stacked networks)
calls them on arrays; the compiled engine (kernel.py) has numba compile `run_steps`, which calls
them on one number at a time inside its loops. So each piece is either
- an expression that works on a number and on an array alike (the loss gradients, regularisers,
  clipping scale and optimiser updates): numba compiles it into its loops, numpy broadcasts it; or
- for the activations, an in-place numpy form (`*_into`: ufuncs writing into buffers the caller
  keeps, no temporaries) for the numpy engine, next to a per-number form for the kernel's loops.
  Not one body for both: numba's ufunc calls on a layer's block cost 20-100 ns each (a new array
  view per call, then a generic loop), measured in the kernel's own layout: ReLU 15 ns a layer as
  a loop, 35-55 as a ufunc call on a 1-D slice, 140-300 on a 2-D block, i.e. C3 ~10 % slower a
  step. tests/test_kernel.py holds the two forms of each activation together, code by code.
Unknown codes and names raise; nothing falls through to a default.

run_steps lives here, with the pieces it calls, because numba's disk cache re-checks only the
compiled function's own source file: a change here recompiles it, a change elsewhere would not.
"""

from __future__ import annotations

import math

import numpy as np

from .fields import ACTIVATION_NAMES, LOSS_NAMES, OPTIMIZER_NAMES, REGULARIZATION_NAMES

# torch's constants
SELU_ALPHA = 1.6732632423543772848
SELU_SCALE = 1.0507009873554804934
SOFTPLUS_THRESHOLD = 20.0  # torch: linear above beta·x > 20
SQRT_HALF = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
MOMENTUM = 0.9  # torch.optim.SGD(momentum=0.9)
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
CLIP_EPS = 1e-6  # torch's clip_grad_norm_: scale = max_norm / (total + eps), at most 1

# Codes, as the compiled loop receives them: an index into the field table's tuple of names. The
# numbers are spelt here (numba compiles them in as constants); the check below keeps them in step.
RELU, LEAKY, PRELU, ELU, SELU, GELU, SILU, MISH, SOFTPLUS, SIGMOID, TANH, LINEAR = range(12)
BCE, MSE, TANH_MSE = range(3)
SGD, MOMENTUM_SGD, ADAM = range(3)
NO_PENALTY, L1, L2 = range(3)
if (ACTIVATION_NAMES != ("relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "mish", "softplus",
                         "sigmoid", "tanh", "linear")
        or LOSS_NAMES != ("bce", "mse", "tanh_mse") or OPTIMIZER_NAMES != ("sgd", "momentum", "adam")
        or REGULARIZATION_NAMES != ("none", "l1", "l2")):
    raise ImportError("fields.py's names moved: renumber maths.py's codes to match")


ACTIVATION_CODES, LOSS_CODES, OPTIMIZER_CODES, REGULARIZATION_CODES = (
    {name: code for code, name in enumerate(names)}
    for names in (ACTIVATION_NAMES, LOSS_NAMES, OPTIMIZER_NAMES, REGULARIZATION_NAMES))


def code_of(codes: dict[str, int], name: str, what: str) -> int:
    """codes[name] (one of the *_CODES above); ValueError naming what is allowed otherwise."""
    try:
        return codes[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}: one of {', '.join(codes)}") from None


# ---- activations, numpy: in place -----------------------------------------------------------
# f_into(z, out, work, slope, alpha): out[...] = f(z). slope_into(z, a, out, work, slope, alpha):
# out[...] = f'(z), given a = f(z) too (tanh and sigmoid read it off a). z, a and out share a
# shape (any: points as rows, as columns, or stacked networks); work is scratch of shape
# (2, *out.shape) (scratch(out) makes one); slope broadcasts against z (Leaky's number, PReLU's
# per-neuron slopes); alpha is ELU's. Python numbers stay "weak": float32 arrays stay float32.

def scratch(like: np.ndarray) -> np.ndarray:
    """Work space for the *_into functions below, for arrays shaped like `like`."""
    return np.empty((2, *like.shape), like.dtype)


def relu_into(z, out, work, slope, alpha):
    np.maximum(z, 0.0, out=out)


def relu_slope_into(z, a, out, work, slope, alpha):
    np.greater(z, 0.0, out=out)  # 0 at z = 0, as torch


def relu_slope_after_f_into(z, a, out, work, slope, alpha):
    """[z > 0] as sign(a), a = max(z, 0) >= 0: at a batch's size a third of greater's time
    (whose boolean result cast into float32 takes numpy's buffered path); slower past ~5000
    numbers, so only for the training passes. (heaviside: slower still, 10-20x past 1000.)"""
    np.sign(a, out=out)


def leaky_into(z, out, work, slope, alpha):
    """max(z, 0) + s·min(z, 0): exact on both sides, for any s (PReLU's learned ones too)."""
    w = work[0]
    np.minimum(z, 0.0, out=w)
    w *= slope
    np.maximum(z, 0.0, out=out)
    out += w


def leaky_slope_into(z, a, out, work, slope, alpha):
    """g + (1 - g)·s with g = [z > 0]: exactly 1 or s."""
    g = work[0]
    np.greater(z, 0.0, out=g)
    np.subtract(1.0, g, out=out)
    out *= slope
    out += g


def leaky_relu_into(z, out, work, slope, alpha):
    """Leaky ReLU's f (one fixed slope s): for 0 <= s <= 1 as max(z, s·z), two passes, bit for bit
    leaky_into's (s·z >= z below 0, <= z above); else leaky_into (s may be -1 to 1)."""
    if 0.0 <= slope <= 1.0:
        np.multiply(z, slope, out=out)
        np.maximum(out, z, out=out)
    else:
        leaky_into(z, out, work, slope, alpha)


def leaky_relu_slope_into(z, a, out, work, slope, alpha):
    """For 0 <= s <= 1 as max(sign(z), s): exactly 1 above 0 and s at or below, leaky_slope_into's
    numbers in two passes (sign is 1, 0 or -1), neither of them greater's slow cast of booleans."""
    if 0.0 <= slope <= 1.0:
        np.sign(z, out=out)
        np.maximum(out, slope, out=out)
    else:
        leaky_slope_into(z, a, out, work, slope, alpha)


def _elu_into(z, out, work, alpha, scale):
    """scale·(max(z, 0) + alpha·(e - 1)), e = e^min(z, 0), which stays in work[0] for the slope
    after f. e - 1, not expm1: numpy's float32 expm1 is not vectorised (5.5 µs on a 20 × 10 × 8
    block, exp 1.6); the price is an absolute error of about alpha·1e-7 (exp's rounding near 1), so
    relative precision is lost only where |f| < 1e-2 (measured against expm1 in float64 on [-12, 12]:
    1.1e-7 at alpha = 1, 3.4e-7 at alpha = 3; torch's tests allow 1e-6)."""
    e, w = work[0], work[1]
    np.minimum(z, 0.0, out=e)  # the positive side never reaches exp, so it never overflows
    np.exp(e, out=e)
    np.subtract(e, 1.0, out=w)
    if alpha != 1.0:
        w *= alpha
    if 0.0 <= alpha <= 1.0:  # then alpha·(e^z - 1) >= z below 0 (and is 0 above): max(z, that)
        np.maximum(z, w, out=out)
    else:
        np.maximum(z, 0.0, out=out)
        out += w
    if scale != 1.0:
        out *= scale


def _elu_slope_into(z, out, work, alpha, scale):
    """alpha·e^min(z, 0) + [z > 0]·(1 - alpha): exactly alpha·e^z at or below 0, 1 above."""
    e = work[0]
    np.minimum(z, 0.0, out=e)
    np.exp(e, out=e)
    _elu_slope_from_e(z, out, e, alpha, scale)


def _elu_slope_from_e(z, out, e, alpha, scale):
    """The slope from e = e^min(z, 0) (1 above 0; overwritten). For 0 <= alpha <= 1 as
    max(sign(z), alpha·e), two or three passes; else alpha·e + [z > 0]·(1 - alpha) (1 to a rounding above)."""
    if alpha != 1.0:
        e *= alpha
    if 0.0 <= alpha <= 1.0:
        np.sign(z, out=out)
        np.maximum(out, e, out=out)
    else:
        np.greater(z, 0.0, out=out)
        out *= 1.0 - alpha
        out += e
    if scale != 1.0:
        out *= scale


def elu_into(z, out, work, slope, alpha):
    _elu_into(z, out, work, alpha, 1.0)


def elu_slope_into(z, a, out, work, slope, alpha):
    _elu_slope_into(z, out, work, alpha, 1.0)


def selu_into(z, out, work, slope, alpha):
    _elu_into(z, out, work, SELU_ALPHA, SELU_SCALE)


def selu_slope_into(z, a, out, work, slope, alpha):
    _elu_slope_into(z, out, work, SELU_ALPHA, SELU_SCALE)


def elu_slope_after_f_into(z, a, out, work, slope, alpha):
    """From the e^min(z, 0) that elu_into(z) left in work[0] (ELU's default alpha = 1: 2 passes, not 5)."""
    _elu_slope_from_e(z, out, work[0], alpha, 1.0)


def selu_slope_after_f_into(z, a, out, work, slope, alpha):
    _elu_slope_from_e(z, out, work[0], SELU_ALPHA, SELU_SCALE)


# A&S 7.1.26's erfc as poly(t)·e^(-x²), poly(t) = Σ a_k t^k (k = 1..5), here with the 1/2 of Φ's
# h = erfc(x)/2 in the a_k and x = |z|/√2 in p. Rescaled to a monic polynomial in u = t·a5^(1/5),
# u = (a5^(1/5)/p) / (|z| + 1/p): the same polynomial, in two passes fewer (no leading multiply,
# and u by one division instead of a multiply, an add and a reciprocal).
_ERFC_P = 0.3275911 * SQRT_HALF
_ERFC_A = tuple(0.5 * a for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))  # a1..a5
_ERFC_S = _ERFC_A[4] ** -0.2  # t = s·u
_ERFC_D = tuple(a * _ERFC_S ** (k + 1) for k, a in enumerate(_ERFC_A[:4]))  # d1..d4 of the monic u^5 + d4·u^4 + ... + d1·u
_ERFC_U_NUMERATOR = 1.0 / (_ERFC_S * _ERFC_P)
_ERFC_U_OFFSET = 1.0 / _ERFC_P


def _phi_into(z, phi, t, e):
    """phi = Φ(z), e = e^(-z²/2), t scratch; all shaped like z, in z's precision (float32 in training).

    erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, about float32's resolution near 1): numpy
    has no erf. With h = q/2, q = poly(t)·e^(-x²), x = |z|/√2 and t = 1/(1 + p·x): Φ = 1 - h for
    z >= 0 and h below, written Φ = max(h, copysign(1 - h, z)) (as h <= 1/2 <= 1 - h): the lower
    tail keeps its relative precision (Φ = h there, exactly), in three float passes (h + g·(1 - 2h)
    with a boolean g took five, one of them numpy's slow mixed-type path). The polynomial is the
    monic one in u above (19 passes in all, GELU's f 20)."""
    np.abs(z, out=e)
    np.add(e, _ERFC_U_OFFSET, out=t)
    np.divide(_ERFC_U_NUMERATOR, t, out=t)  # u
    d1, d2, d3, d4 = _ERFC_D
    np.add(t, d4, out=phi)  # Horner, from the (monic) highest coefficient
    phi *= t
    phi += d3
    phi *= t
    phi += d2
    phi *= t
    phi += d1
    phi *= t  # poly(t) / 2
    np.square(z, out=e)
    e *= -0.5
    np.exp(e, out=e)  # e^(-z²/2)
    phi *= e  # h
    np.subtract(1.0, phi, out=t)
    np.copysign(t, z, out=t)  # 1 - h for z >= 0, below 0 for z < 0
    np.maximum(phi, t, out=phi)


def gelu_into(z, out, work, slope, alpha):
    """z·Φ(z); leaves Φ(z) in work[0] and e^(-z²/2) in work[1] for gelu_slope_after_f_into."""
    _phi_into(z, work[0], out, work[1])
    np.multiply(work[0], z, out=out)


def gelu_slope_after_f_into(z, a, out, work, slope, alpha):
    """Φ(z) + z·φ(z), φ(z) = e^(-z²/2)/√(2π), from what gelu_into(z) left in work."""
    np.multiply(work[1], INV_SQRT_2PI, out=out)
    out *= z
    out += work[0]


def gelu_slope_into(z, a, out, work, slope, alpha):
    gelu_into(z, out, work, slope, alpha)
    gelu_slope_after_f_into(z, a, out, work, slope, alpha)


def _sigmoid_into(z, out):
    """0.5 + 0.5·tanh(z/2): no overflow for large |z|."""
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5


def silu_into(z, out, work, slope, alpha):
    """z·σ(z); leaves σ(z) in work[0] for silu_slope_after_f_into."""
    _sigmoid_into(z, work[0])
    np.multiply(work[0], z, out=out)


def silu_slope_after_f_into(z, a, out, work, slope, alpha):
    """g·(1 + z·(1 - g)), g = σ(z), from what silu_into(z) left in work."""
    g = work[0]
    np.subtract(1.0, g, out=out)
    out *= z
    out += 1.0
    out *= g


def silu_slope_into(z, a, out, work, slope, alpha):
    _sigmoid_into(z, work[0])
    silu_slope_after_f_into(z, a, out, work, slope, alpha)


def softplus_into(z, out, work, slope, alpha):
    """max(z, log1p(e^min(z, 20))): torch's z above 20 (where log1p(e^20) < z), log1p(e^z) below."""
    w = work[0]
    np.minimum(z, SOFTPLUS_THRESHOLD, out=w)
    np.exp(w, out=w)
    np.log1p(w, out=w)
    np.maximum(z, w, out=out)


def softplus_slope_into(z, a, out, work, slope, alpha):
    _sigmoid_into(z, out)  # σ(z); above 20 it is 1 in float32 already, torch's slope there


def mish_into(z, out, work, slope, alpha):
    softplus_into(z, out, work, slope, alpha)
    np.tanh(out, out=out)
    out *= z


def mish_slope_into(z, a, out, work, slope, alpha):
    """t + z·σ(z)·(1 - t²), t = tanh(softplus(z))."""
    softplus_into(z, out, work, slope, alpha)
    np.tanh(out, out=out)  # t
    w = work[1]
    np.square(out, out=w)
    np.subtract(1.0, w, out=w)
    w *= z
    _sigmoid_into(z, work[0])
    w *= work[0]
    out += w


def sigmoid_into(z, out, work, slope, alpha):
    _sigmoid_into(z, out)


def sigmoid_slope_into(z, a, out, work, slope, alpha):
    np.subtract(1.0, a, out=out)
    out *= a


def tanh_into(z, out, work, slope, alpha):
    np.tanh(z, out=out)


def tanh_slope_into(z, a, out, work, slope, alpha):
    np.square(a, out=out)
    np.subtract(1.0, out, out=out)


def linear_into(z, out, work, slope, alpha):
    np.copyto(out, z)


def linear_slope_into(z, a, out, work, slope, alpha):
    out.fill(1.0)


# per activation code: (f_into, slope_into)
ACTIVATION_INTO = (
    (relu_into, relu_slope_into), (leaky_relu_into, leaky_relu_slope_into), (leaky_into, leaky_slope_into),
    (elu_into, elu_slope_into), (selu_into, selu_slope_into), (gelu_into, gelu_slope_into),
    (silu_into, silu_slope_into), (mish_into, mish_slope_into), (softplus_into, softplus_slope_into),
    (sigmoid_into, sigmoid_slope_into), (tanh_into, tanh_slope_into), (linear_into, linear_slope_into),
)


# slope_into's that read what f_into(z) left in `work` instead of starting over, for the training
# passes, whose backward follows their forward on the same z and work (GELU: 3 passes, not Φ again;
# SiLU 4, not 8; ELU 2-3, not 5-6).
SLOPE_AFTER_F = {RELU: relu_slope_after_f_into, ELU: elu_slope_after_f_into, SELU: selu_slope_after_f_into,
                 GELU: gelu_slope_after_f_into, SILU: silu_slope_after_f_into}


def activation_into(name: str, after_f: bool = False):
    """(f_into, slope_into) of an activation by name; ValueError if there is none. after_f: the
    slope_into may read what f_into left in work (the caller's backward follows its forward on the
    same z and work, with nothing between)."""
    code = code_of(ACTIVATION_CODES, name, "activation")
    f_into, slope_into = ACTIVATION_INTO[code]
    return f_into, (SLOPE_AFTER_F.get(code, slope_into) if after_f else slope_into)


# ---- tanh, as the formulas below call it ----------------------------------------------------
# The scalar formulas (activate, derivative, the loss gradients) and run_steps call `tanh`: numpy's
# here, for numbers and arrays alike, and fast_tanh in the compiled engine, which binds this name
# to it (kernel.CompiledEngine). Why: numba has no vector tanh here (no SVML), so each math.tanh is
# a libm call, ~29 ns a number on this machine against ~1.4 for fast_tanh in a loop LLVM
# vectorises; C1 ([4,2] tanh) computes ~70 tanh a step.
tanh = np.tanh

# Eigen's float tanh (generic_fast_tanh_float): an odd rational of degree 13/6. Eigen clamps x to
# ±7.9053, where its rational is within a rounding of ±1; here x is clamped at ±9 and the result
# to ±1 instead, so that it is exactly ±1 from |x| ≈ 8.04 on, as a float32 tanh saturates (float32
# tanh is 1 from 9.01; np.tanh's from 10): a saturated unit's slope 1 - a² is then 0, not 5e-7.
# Within 3e-7 of tanh, ≤ 5 units in the last place compiled (np.tanh's float32 is within 1.4);
# tests/test_kernel.py checks it on a dense grid.
_TANH_CLAMP = np.float32(9.0)
_ONE = np.float32(1.0)
_TANH_P = tuple(np.float32(c) for c in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                                         5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                                         4.89352455891786e-03))
_TANH_Q = tuple(np.float32(c) for c in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                                         4.89352518554385e-03))


def fast_tanh(x):
    """tanh(x) by Eigen's rational (above) for float32 numbers or arrays: adds, multiplies and one
    division, no library call, so a loop of them vectorises. NaN stays NaN; ±inf gives ±1."""
    x = np.minimum(np.maximum(x, -_TANH_CLAMP), _TANH_CLAMP)
    x2 = x * x
    p = _TANH_P[0] * x2 + _TANH_P[1]
    p = p * x2 + _TANH_P[2]
    p = p * x2 + _TANH_P[3]
    p = p * x2 + _TANH_P[4]
    p = p * x2 + _TANH_P[5]
    p = p * x2 + _TANH_P[6]
    q = _TANH_Q[0] * x2 + _TANH_Q[1]
    q = q * x2 + _TANH_Q[2]
    q = q * x2 + _TANH_Q[3]
    return np.minimum(np.maximum(p * x / q, -_ONE), _ONE)


# ---- activations, one number at a time (the compiled loop) ----------------------------------
def _sigmoid(z):
    return 0.5 + 0.5 * tanh(0.5 * z)


def _softplus(z):
    return z if z > SOFTPLUS_THRESHOLD else math.log1p(math.exp(z))


def activate(code, z, slope, alpha):
    """f(z) of activation `code`, for one number."""
    if code == RELU:
        return z if z > 0.0 else 0.0
    if code == LEAKY or code == PRELU:
        return z if z > 0.0 else z * slope
    if code == ELU:
        return z if z > 0.0 else alpha * math.expm1(z)
    if code == SELU:
        return SELU_SCALE * (z if z > 0.0 else SELU_ALPHA * math.expm1(z))
    if code == GELU:
        return z * 0.5 * (1.0 + math.erf(z * SQRT_HALF))
    if code == SILU:
        return z * _sigmoid(z)
    if code == MISH:
        return z * tanh(_softplus(z))
    if code == SOFTPLUS:
        return _softplus(z)
    if code == SIGMOID:
        return _sigmoid(z)
    if code == TANH:
        return tanh(z)
    if code == LINEAR:
        return z
    raise ValueError("unknown activation code")


def derivative(code, z, a, slope, alpha):
    """f'(z) of activation `code` for one number, given a = f(z) too."""
    if code == RELU:
        return 1.0 if z > 0.0 else 0.0
    if code == LEAKY or code == PRELU:
        return 1.0 if z > 0.0 else slope
    if code == ELU:
        return 1.0 if z > 0.0 else alpha * math.exp(z)
    if code == SELU:
        return SELU_SCALE * (1.0 if z > 0.0 else SELU_ALPHA * math.exp(z))
    if code == GELU:
        return 0.5 * (1.0 + math.erf(z * SQRT_HALF)) + z * INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if code == SILU:
        g = _sigmoid(z)
        return g * (1.0 + z * (1.0 - g))
    if code == MISH:
        t = tanh(_softplus(z))
        return t + z * _sigmoid(z) * (1.0 - t * t)
    if code == SOFTPLUS:
        return 1.0 if z > SOFTPLUS_THRESHOLD else _sigmoid(z)
    if code == SIGMOID:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == LINEAR:
        return 1.0
    raise ValueError("unknown activation code")


# ---- the loss gradient, regularisation, clipping, optimisers: numbers or arrays alike ---------
# Written with augmented assignments where a value is built up: on an array they work in place
# (no temporaries: the numpy engine's step is ~50 small calls, each allocation ~0.1 us), on a
# number they make a new one, as numba's loops need.

HALF32 = np.float32(0.5)  # made once: np.float32(0.5) in the function cost the numpy step ~0.1 us


def bce_gradient(logit, c, y, inv_n):
    """d mean BCE / d logit: sigmoid(l) - y = (tanh(l/2) + 1 - 2y) / 2, with c = 1 - 2y."""
    g = tanh(logit * HALF32)  # float32, as numpy's on float32 logits
    g += c
    g *= 0.5 * inv_n
    return g


def mse_gradient(logit, c, y, inv_n):
    """d mean((p - y)²) / d logit, p = sigmoid(l)."""
    p = tanh(logit * HALF32)
    p *= 0.5
    p += 0.5
    g = p - y
    g *= p
    g *= 1.0 - p
    g *= 2.0 * inv_n
    return g


def tanh_mse_gradient(logit, c, y, inv_n):
    """d mean(½(tanh(l) - t)²) / d logit, t = 2y - 1 = -c: TF Playground's loss (a tanh output unit)."""
    t = tanh(logit)
    g = t + c
    g *= 1.0 - t * t
    g *= inv_n
    return g


LOSS_GRADIENTS = (bce_gradient, mse_gradient, tanh_mse_gradient)  # by loss code, as LOSS_NAMES


# Each point's loss, numbers or arrays alike: training.LOSS_ROWS takes their mean over arrays (BCE as
# two sums, by linearity), probe_figures sums them in its loop.
def bce_point(logit, y):
    """BCE on a logit: softplus(l) - y·l, with softplus(l) = log(1 + e^l) = logaddexp(0, l) (stable
    for large |l|)."""
    return np.logaddexp(0.0, logit) - y * logit


def mse_point(logit, y):
    """(p - y)², p = P(label 1) = sigmoid(l) = (tanh(l/2) + 1)/2 (probability(), scale ½)."""
    p = tanh(logit * HALF32)
    p *= HALF32
    p += HALF32
    d = p - y
    return d * d


def tanh_mse_point(logit, y):
    """½(tanh(l) - t)², t = 2y - 1: TF Playground's error on its tanh output unit."""
    d = tanh(logit) - (2.0 * y - 1.0)
    return 0.5 * (d * d)


# P(label 1) from a logit l, by loss: (tanh(s·l) + 1)/2. s = ½ is sigmoid(l), how bce and mse read
# the logit; s = 1 is tanh_mse's tanh output unit (TF Playground's), output tanh(l) on -1 … 1. The
# one rule: the boundary grid (snapshot.render_grids), mse's loss and the exported net.py use it.
PROBABILITY_SCALES = {"bce": 0.5, "mse": 0.5, "tanh_mse": 1.0}


def probability_scale(loss: str) -> float:
    """s of P(label 1) = (tanh(s·logit) + 1)/2 under `loss`; ValueError naming the losses otherwise."""
    try:
        return PROBABILITY_SCALES[loss]
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}: one of {', '.join(PROBABILITY_SCALES)}") from None


def probability(logits: np.ndarray, loss: str) -> np.ndarray:
    """P(label 1) of each logit under `loss`, a fresh array of the logits' shape and float dtype."""
    p = np.multiply(logits, probability_scale(loss), dtype=np.result_type(logits, np.float32))
    np.tanh(p, out=p)
    p *= 0.5
    p += 0.5
    return p


def loss_gradient(code, logit, c, y, inv_n):
    """dL/dlogit of a batch's mean loss (inv_n = 1 / batch size); c = 1 - 2y, y the labels; for
    the numpy engine (the compiled loop branches on the code itself: numba cannot index a tuple of
    functions). A new loss: its gradient above, its name in LOSS_NAMES, the function in
    LOSS_GRADIENTS, its branch in run_steps, its value in training.LOSS_ROWS and its P(label 1) in
    PROBABILITY_SCALES;
    tests/test_kernel.py trains every LOSS_NAMES entry on both engines."""
    if not 0 <= code < len(LOSS_GRADIENTS):
        raise ValueError(f"unknown loss code {code}")
    return LOSS_GRADIENTS[code](logit, c, y, inv_n)


def regularised(g, w, mask, code, rate):
    """The gradient with the penalty's: L2 rate·w, L1 rate·sign(w), on weights only (mask 1)."""
    if code == NO_PENALTY or rate <= 0.0:
        return g
    if code == L2:
        return g + rate * (w * mask)
    if code == L1:
        return g + rate * (np.sign(w) * mask)
    raise ValueError("unknown regularization code")


def clip_scale(total, max_norm):
    """torch's clip_grad_norm_: the gradient's factor for its norm `total` (1 when within)."""
    return np.minimum(max_norm / (total + CLIP_EPS), 1.0)


def momentum_velocity(v, g):
    """torch.optim.SGD(momentum=0.9): v = μv + g (the step is lr·v). An array v (the optimiser's
    state) is updated in place and returned; a number, returned new."""
    v *= MOMENTUM
    v += g
    return v


def adam_first(m, g):
    """Adam's first moment m = β1·m + (1 - β1)·g (an array in place, as momentum_velocity)."""
    m *= ADAM_BETA1
    m += (1.0 - ADAM_BETA1) * g
    return m


def adam_second(v, g):
    """Adam's second moment v = β2·v + (1 - β2)·g² (an array in place)."""
    v *= ADAM_BETA2
    v += (1.0 - ADAM_BETA2) * (g * g)
    return v


def adam_corrections(t):
    """Adam's bias corrections (1 - β1^t, 1 - β2^t) at step count t (from 1)."""
    return 1.0 - ADAM_BETA1 ** t, 1.0 - ADAM_BETA2 ** t


def adam_step(m, v, step_size, c2):
    """torch.optim.Adam's step from the updated moments; step_size = lr / c1, with (c1, c2) =
    adam_corrections(t) (torch divides lr by c1 once too)."""
    return step_size * m / (np.sqrt(v / c2) + ADAM_EPS)


# ---- the compiled loop (plain Python: numba compiles it; it also runs, slowly, uncompiled) ------
def run_steps(params, grad, layout, slopes, alpha, X, C, Y, start, batch, n_steps, loss_code,
              optimizer_code, lr, reg_code, reg_rate, mask, clip, velocity, m, v, adam_t, A, Z, back):
    """n_steps minibatch updates on X[start:], batch rows at a time; params and grad change in place.

    params, grad, mask: the model's flat buffers (float32). layout (weight layers, 5) int64: offset
    of Wb in params, fan_in, fan_out, activation code (-1 for the output), offset of PReLU's slopes
    (-1 if none). slopes (weight layers,) float: Leaky's constant slope per layer. X (points,
    inputs + 1): the epoch's shuffled inputs with a column of ones; C = 1 - 2y and Y = y in the
    same order. clip <= 0 means no clipping. velocity, m, v: optimiser state (zeros to begin).
    adam_t: Adam's step count before this call. Work arrays, width the widest layer: A (layers,
    batch, width) inputs to each weight layer, Z (layers, batch, width) pre-activations, zeros to
    begin (the columns past a layer's units are never written: they must stay 0), back (2, batch,
    width) dL/da.
    Codes come from kernel.train and kernel.Plan, which turn names into codes with code_of (an
    unknown name raises there); an unknown code raises in activate, derivative and regularised,
    and leaves the loss and optimiser branches below untaken. No check here: any raise on the
    step's path, even one test of every code before the first step, made numba's code for the
    whole loop slower (C3 3-5 % a step).
    """

    n_layers = layout.shape[0]
    size = params.shape[0]
    n_in = X.shape[1] - 1
    pos = start
    # each layer's block of the work arrays as one row, for the ReLU and tanh loops: a batch's
    # layer in one loop of batch x width numbers vectorises, where a row's loop of 4 or 2 units
    # (C1) ran one number at a time. The columns past a layer's units are never read; their Z
    # stays 0 (so their a is 0, f'(0)·dL/da leaves back's as it was).
    width = A.shape[2]
    flat_A = A.reshape((A.shape[0], A.shape[1] * width))
    flat_Z = Z.reshape((Z.shape[0], Z.shape[1] * width))
    flat_back = back.reshape((2, back.shape[1] * width))
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
            if code == RELU:
                for i in range(n * width):
                    z = flat_Z[l, i]
                    flat_A[l + 1, i] = z if z > 0.0 else np.float32(0.0)
            elif code == TANH:
                for i in range(n * width):
                    flat_A[l + 1, i] = tanh(flat_Z[l, i])
            elif code >= 0:
                for r in range(n):
                    for j in range(fan_out):
                        slope = params[soff + j] if soff >= 0 else slopes[l]
                        A[l + 1, r, j] = activate(code, Z[l, r, j], slope, alpha)
        # dL/dlogit for the mean loss over the batch: LOSS_GRADIENTS by code, one row loop each (no
        # raise for an unknown code: a raise on this path, here or in a callee, cost C3 ~3 % a step;
        # the third branch inside one row loop, ~4 %)
        out = n_layers - 1
        inv_n = 1.0 / n
        if loss_code == BCE:
            for r in range(n):
                back[0, r, 0] = bce_gradient(Z[out, r, 0], C[pos + r], Y[pos + r], inv_n)
        elif loss_code == MSE:
            for r in range(n):
                back[0, r, 0] = mse_gradient(Z[out, r, 0], C[pos + r], Y[pos + r], inv_n)
        elif loss_code == TANH_MSE:
            for r in range(n):
                back[0, r, 0] = tanh_mse_gradient(Z[out, r, 0], C[pos + r], Y[pos + r], inv_n)
        # backward: back[cur] holds dL/dz of layer l (after f'), back[1 - cur] receives dL/da below
        cur = 0
        for l in range(n_layers - 1, -1, -1):
            woff, fan_in, fan_out, code, soff = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3], layout[l, 4]
            bias = woff + fan_in * fan_out
            if code == RELU:  # dL/dz = dL/da where z > 0
                for i in range(n * width):
                    if not flat_Z[l, i] > 0.0:  # (NaN too, as f' = 0 times dL/da)
                        flat_back[cur, i] *= np.float32(0.0)
            elif code == TANH:  # f' = 1 - a²
                for i in range(n * width):
                    a = flat_A[l + 1, i]
                    flat_back[cur, i] *= np.float32(1.0) - a * a
            elif code >= 0 and code != LINEAR:  # dL/da -> dL/dz in place
                if soff >= 0:
                    for j in range(fan_out):
                        grad[soff + j] = 0.0
                for r in range(n):
                    for j in range(fan_out):
                        z = Z[l, r, j]
                        slope = params[soff + j] if soff >= 0 else slopes[l]
                        if soff >= 0 and z < 0.0:  # PReLU: d a / d slope = z where z <= 0
                            grad[soff + j] += back[cur, r, j] * z
                        back[cur, r, j] *= derivative(code, z, A[l + 1, r, j], slope, alpha)
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
        if optimizer_code == SGD and clip <= 0.0 and (reg_code == NO_PENALTY or reg_rate <= 0.0):
            lr32 = np.float32(lr)
            for i in range(size):
                params[i] -= lr32 * grad[i]
            pos += n
            continue
        # regularise (weights only), clip, step: training.descend's order
        scale = 1.0
        if clip > 0.0:
            total = 0.0
            for i in range(size):
                g = regularised(grad[i], params[i], mask[i], reg_code, reg_rate)
                total += g * g
            scale = clip_scale(math.sqrt(total), clip)
        c1, c2 = adam_corrections(adam_t + step + 1)
        step_size = lr / c1
        for i in range(size):
            g = regularised(grad[i], params[i], mask[i], reg_code, reg_rate) * scale
            if optimizer_code == SGD:
                params[i] -= lr * g
            elif optimizer_code == MOMENTUM_SGD:
                velocity[i] = momentum_velocity(velocity[i], g)
                params[i] -= lr * velocity[i]
            elif optimizer_code == ADAM:
                m[i] = adam_first(m[i], g)
                v[i] = adam_second(v[i], g)
                params[i] -= adam_step(m[i], v[i], step_size, c2)
        pos += n


# ---- the health probe's pass (compiled with run_steps' helpers; health.py says what it counts) ----
def count_rows(slopes, nonpositive, eps, flat_counts, nonpositive_counts):
    """Per row (a neuron; points along the row): how many |f'(z)| < eps in slopes (float32), and
    how many True in nonpositive (bool, z <= 0; no rows when not asked). For health's numpy probe
    (MLP.forward_probe's Z), compiled: C3's 48 units x 250 points ~2 µs, numpy's abs, compare and
    axis-1 reduction ~13."""
    for i in range(slopes.shape[0]):
        count = 0
        for j in range(slopes.shape[1]):
            count += abs(slopes[i, j]) < eps
        flat_counts[i] = count
    for i in range(nonpositive.shape[0]):
        count = 0
        for j in range(nonpositive.shape[1]):
            count += nonpositive[i, j]
        nonpositive_counts[i] = count


def probe_pass(params, layout, slopes, alpha, X, points, counted, eps, A, z, flat_counts, nonpositive_counts,
               logits):
    """The health probe's forward over the first `points` columns of X: logits[p] for each, and
    over the first `counted` (the training points) per hidden unit (in layer order) how many have
    |f'(z)| < eps (flat_counts) and z <= 0 (nonpositive_counts), with f' = derivative() cast to
    float32, as numpy's probe computes it. health.CountedStates turns them into states.
    Returns whether any count changed from what the arrays held (the states need no new look then),
    and the largest |logit| or |parameter|, NaN counted as inf (the trainer's divergence check:
    below training.SURELY_FINITE every loss and the parameters' sum are finite, and it need not
    compute them).

    params, layout, slopes, alpha: as run_steps. X (inputs + 1, points) float32, points as columns
    (MLP.forward_probe's xT). Work arrays: A (2, width, points) each layer's inputs and outputs in
    turn, z (points,) one unit's z. Unit by unit with the points innermost: every loop over points
    vectorises (one point at a time, with loops as long as a layer is wide, was ~3x slower).
    ReLU and tanh have loops of their own, as in run_steps (a branch on the code per number would
    cost more than the arithmetic); each calls activate() and derivative() with its code fixed, so
    the formulas stay the ones above.
    """
    n_layers = layout.shape[0]
    zero = np.float32(0.0)
    row = 0
    cur = 0
    changed = False
    for l in range(n_layers):
        woff, fan_in, fan_out, code, soff = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3], layout[l, 4]
        bias = woff + fan_in * fan_out
        W = params[woff:bias].reshape((fan_in, fan_out))
        for j in range(fan_out):
            b = params[bias + j]
            for p in range(points):
                z[p] = b
            for k in range(fan_in):
                w = W[k, j]
                if l == 0:
                    for p in range(points):
                        z[p] += w * X[k, p]
                else:
                    for p in range(points):
                        z[p] += w * A[cur, k, p]
            if code < 0:  # the output layer
                for p in range(points):
                    logits[p] = z[p]
                continue
            slope = params[soff + j] if soff >= 0 else slopes[l]
            if code == RELU:
                for p in range(points):
                    A[1 - cur, j, p] = activate(RELU, z[p], zero, alpha)
            elif code == TANH:
                for p in range(points):
                    A[1 - cur, j, p] = activate(TANH, z[p], zero, alpha)
            else:
                for p in range(points):
                    A[1 - cur, j, p] = activate(code, z[p], slope, alpha)
            flat, nonpositive = 0, 0
            if code == RELU:
                for p in range(counted):
                    flat += abs(np.float32(derivative(RELU, z[p], A[1 - cur, j, p], zero, alpha))) < eps
            elif code == TANH:
                for p in range(counted):
                    flat += abs(np.float32(derivative(TANH, z[p], A[1 - cur, j, p], zero, alpha))) < eps
            else:
                for p in range(counted):
                    flat += abs(np.float32(derivative(code, z[p], A[1 - cur, j, p], slope, alpha))) < eps
            for p in range(counted):
                nonpositive += z[p] <= zero
            changed |= flat_counts[row + j] != flat or nonpositive_counts[row + j] != nonpositive
            flat_counts[row + j] = flat
            nonpositive_counts[row + j] = nonpositive
        if code >= 0:
            row += fan_out
            cur = 1 - cur
    return changed, max(_largest_magnitude(params, params.shape[0]), _largest_magnitude(logits, points))


def probe_figures(logits, labels, n_train, loss_code, out):
    """The history row's loss and accuracy of the training points (the first n_train logits) and
    the test points (the rest), in one compiled loop instead of ~8 numpy calls (a recording probe:
    C3 ~30 of its ~64 µs): out[0], out[1] the mean loss (bce_point, mse_point or tanh_mse_point by
    loss code; BCE never below 0, as training.bce_losses), out[2], out[3] the share with
    (logit > 0) == (label > 0.5), NaN when any logit is not finite (training.accuracy's rule). NaN
    for a part with no points. Sums in float64 (numpy's: float32 pairwise; the last float32 bits)."""
    for part in range(2):
        low, high = (0, n_train) if part == 0 else (n_train, logits.shape[0])
        total = 0.0
        right = 0
        finite = True
        for p in range(low, high):
            logit, y = logits[p], labels[p]
            if loss_code == BCE:
                total += bce_point(logit, y)
            elif loss_code == MSE:
                total += mse_point(logit, y)
            elif loss_code == TANH_MSE:
                total += tanh_mse_point(logit, y)
            else:  # no such loss (kernel.train checks the name): no figure rather than another loss's
                total += np.nan
            finite &= abs(logit) < np.inf  # NaN too: it compares False
            right += (logit > 0.0) == (y > 0.5)
        n = high - low
        loss = total / n if n else np.nan
        if loss_code == BCE and loss < 0.0:  # a rounding error on a well-separated set; NaN stays
            loss = 0.0
        out[part] = loss
        out[2 + part] = right / n if n and finite else np.nan


def _largest_magnitude(values, n):
    """max |values[i]| over the first n, NaN counted as inf (a NaN is as diverged as an inf)."""
    largest = 0.0
    for i in range(n):
        m = abs(values[i])
        if not m <= largest:  # NaN too: it compares False
            largest = m if m == m else np.inf
    return largest


def probe_counts(params, layout, slopes, alpha, Z, A, counted, eps, flat_counts, nonpositive_counts):
    """probe_pass' counts from a forward numpy has done (MLP.forward_probe's Z (hidden units, n) and
    A (hidden units + hidden layers, n), each layer's a followed by a row of ones), over the first
    `counted` columns: for networks whose activation costs a libm call per number here (tanh,
    sigmoid, ELU, GELU, ...), which numpy's SIMD functions compute ~10x faster (C1: this ~2 µs
    after numpy's forward, against ~60 µs for probe_pass). Returns whether any count changed."""
    row = 0
    changed = False
    for l in range(layout.shape[0] - 1):
        fan_out, code, soff = layout[l, 2], layout[l, 3], layout[l, 4]
        for j in range(fan_out):
            slope = params[soff + j] if soff >= 0 else slopes[l]
            r = row + j
            flat, nonpositive = 0, 0
            if code == TANH:
                for p in range(counted):
                    flat += abs(np.float32(derivative(TANH, Z[r, p], A[r + l, p], slope, alpha))) < eps
            else:
                for p in range(counted):
                    flat += abs(np.float32(derivative(code, Z[r, p], A[r + l, p], slope, alpha))) < eps
            for p in range(counted):
                nonpositive += Z[r, p] <= 0.0
            changed |= flat_counts[r] != flat or nonpositive_counts[r] != nonpositive
            flat_counts[r] = flat
            nonpositive_counts[r] = nonpositive
        row += fan_out
    return changed


# activations probe_pass computes itself (no libm call per number: tanh is fast_tanh there); the
# others go through numpy's forward and probe_counts
CHEAP_ACTIVATIONS = (RELU, LEAKY, PRELU, LINEAR, TANH)


# what run_steps and the probe's passes call, compiled with them (kernel.CompiledEngine)
COMPILED_HELPERS = ("_sigmoid", "_softplus", "activate", "derivative", "bce_gradient", "mse_gradient",
                    "tanh_mse_gradient", "bce_point", "mse_point", "tanh_mse_point", "_largest_magnitude",
                    "regularised", "clip_scale", "momentum_velocity", "adam_first",
                    "adam_second", "adam_corrections", "adam_step")
