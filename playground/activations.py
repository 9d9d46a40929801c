"""Activation registry: formula, f and f' in numpy (for training, plots and health), torch module, init.

f and f' are the engine's own: training backpropagates with f' directly instead of through autograd,
which is what makes tiny networks fast. Tests check f against torch and f' against autograd.
Constants are PyTorch's. `slope` is Leaky ReLU's negative slope or PReLU's per-neuron slopes,
`alpha` is ELU's alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

SELU_ALPHA = 1.6732632423543772848
SELU_SCALE = 1.0507009873554804934
SOFTPLUS_THRESHOLD = 20.0  # torch: linear above beta·x > 20
SQRT_HALF = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

Array = np.ndarray

if TYPE_CHECKING:
    import torch


def _sigmoid(z: Array) -> Array:
    # tanh form: no overflow for large |z|, one ufunc
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _softplus(z: Array) -> Array:
    return np.where(z > SOFTPLUS_THRESHOLD, z, np.log1p(np.exp(np.minimum(z, SOFTPLUS_THRESHOLD))))


def _erf(x: Array) -> Array:
    """erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32's resolution near 1).

    numpy has no erf, and importing torch for it would add seconds to start-up.
    """
    t64 = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.3275911 * t64)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (np.sign(x) * (1.0 - poly * np.exp(-t64 * t64))).astype(x.dtype)


def _phi_cdf(z: Array) -> Array:
    return 0.5 * (1.0 + _erf(z * SQRT_HALF))


def _nn():
    """torch.nn, imported on first use: only reference tests and the benchmark need torch modules."""
    import torch

    return torch.nn


def _expm1_neg(z: Array) -> Array:
    return np.expm1(np.minimum(z, 0.0))  # clamp so the positive branch never overflows


@dataclass(frozen=True)
class Activation:
    """One activation variant: how it computes, how it is drawn and how its weights start."""

    name: str
    label: str  # for menus
    formula: str  # for the activation panel
    f: Callable[..., Array]  # f(z, slope, alpha)
    df: Callable[..., Array]  # f'(z, slope, alpha), equal to autograd's
    torch_module: Callable[..., "torch.nn.Module"]  # torch_module(units, slope, alpha); imports torch
    init: str  # recommended init of the weights feeding it: he, leaky_he, xavier, xavier_tanh, lecun
    rectifier: bool  # rectifier family: a unit with max z <= 0 and non-zero slope is "sleeping"
    learned_slope: bool = False  # PReLU: one learned slope per neuron
    # Fast paths for training's hot loop (None: use f / df). Per-op overhead is the whole cost at
    # this size, so each saved numpy call is ~1 µs a layer a step.
    f_out: Callable[..., None] | None = None  # f_out(z, out, slope, alpha): out[...] = f(z), no temporary
    df_from_output: Callable[..., Array] | None = None  # f'(z) from z and a = f(z): tanh 1 - a² needs no tanh

    def f_into(self, z: Array, out: Array, slope, alpha) -> None:
        """out[...] = f(z)."""
        if self.f_out is not None:
            self.f_out(z, out, slope, alpha)
        else:
            out[...] = self.f(z, slope, alpha)

    def slope_at(self, z: Array, a: Array, slope, alpha) -> Array:
        """f'(z) given a = f(z) too (equal to df(z); a boolean array for ReLU's 0/1)."""
        if self.df_from_output is not None:
            return self.df_from_output(z, a, slope, alpha)
        return self.df(z, slope, alpha)

    def backprop(self, back: Array, z: Array, a: Array, slope, alpha) -> Array:
        """dL/dz = dL/da · f'(z), a new array."""
        if self.name == "linear":
            return back
        return back * self.slope_at(z, a, slope, alpha)


def _def(name, label, formula, f, df, module, init, rectifier=False, learned=False, f_out=None, df_a=None):
    return name, Activation(name, label, formula, f, df, module, init, rectifier, learned, f_out, df_a)


def _sigmoid_out(z: Array, out: Array, s, a) -> None:
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5


def _copy_out(z: Array, out: Array, s, a) -> None:
    out[...] = z


ACTIVATIONS: dict[str, Activation] = dict([
    _def("relu", "ReLU", "max(0, x)",
         lambda z, s, a: np.maximum(z, 0.0),
         lambda z, s, a: (z > 0).astype(z.dtype),
         lambda n, s, a: _nn().ReLU(), "he", rectifier=True,
         f_out=lambda z, out, s, a: np.maximum(z, 0.0, out=out),
         df_a=lambda z, a, s, al: z > 0),
    _def("leaky_relu", "Leaky ReLU", "max(0, x) + s·min(0, x)",
         lambda z, s, a: np.where(z > 0, z, z * s),
         lambda z, s, a: np.where(z > 0, np.float32(1.0), np.float32(s)).astype(z.dtype),
         lambda n, s, a: _nn().LeakyReLU(s), "leaky_he", rectifier=True),
    _def("prelu", "PReLU", "max(0, x) + a·min(0, x), a learned per neuron",
         lambda z, s, a: np.where(z > 0, z, z * s),
         lambda z, s, a: np.where(z > 0, np.ones_like(z), np.broadcast_to(s, z.shape)).astype(z.dtype),
         lambda n, s, a: _nn().PReLU(n, s), "leaky_he", rectifier=True, learned=True),
    _def("elu", "ELU", "x if x > 0 else α(eˣ − 1)",
         lambda z, s, a: np.where(z > 0, z, a * _expm1_neg(z)),
         lambda z, s, a: np.where(z > 0, 1.0, a * np.exp(np.minimum(z, 0.0))).astype(z.dtype),
         lambda n, s, a: _nn().ELU(a), "he", rectifier=True),
    _def("selu", "SELU", "λ·(x if x > 0 else α(eˣ − 1))",
         lambda z, s, a: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * _expm1_neg(z)),
         lambda z, s, a: (SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0.0)))).astype(z.dtype),
         lambda n, s, a: _nn().SELU(), "lecun", rectifier=True),
    _def("gelu", "GELU", "x·Φ(x)",
         lambda z, s, a: z * _phi_cdf(z),
         lambda z, s, a: _phi_cdf(z) + z * INV_SQRT_2PI * np.exp(-0.5 * z * z),
         lambda n, s, a: _nn().GELU(), "he"),
    _def("silu", "SiLU (swish)", "x·σ(x)",
         lambda z, s, a: z * _sigmoid(z),
         lambda z, s, a: (lambda g: g * (1.0 + z * (1.0 - g)))(_sigmoid(z)),
         lambda n, s, a: _nn().SiLU(), "he"),
    _def("mish", "Mish", "x·tanh(softplus(x))",
         lambda z, s, a: z * np.tanh(_softplus(z)),
         lambda z, s, a: (lambda t: t + z * _sigmoid(z) * (1.0 - t * t))(np.tanh(_softplus(z))),
         lambda n, s, a: _nn().Mish(), "he"),
    _def("softplus", "Softplus", "log(1 + eˣ)",
         lambda z, s, a: _softplus(z),
         lambda z, s, a: np.where(z > SOFTPLUS_THRESHOLD, 1.0, _sigmoid(z)).astype(z.dtype),
         lambda n, s, a: _nn().Softplus(), "he"),
    _def("sigmoid", "Sigmoid", "1 / (1 + e⁻ˣ)",
         lambda z, s, a: _sigmoid(z),
         lambda z, s, a: (lambda g: g * (1.0 - g))(_sigmoid(z)),
         lambda n, s, a: _nn().Sigmoid(), "xavier",
         f_out=_sigmoid_out, df_a=lambda z, a, s, al: a * (1.0 - a)),
    _def("tanh", "Tanh", "tanh(x)",
         lambda z, s, a: np.tanh(z),
         lambda z, s, a: (lambda t: 1.0 - t * t)(np.tanh(z)),
         # LeCun (1/√fan_in, Efficient BackProp's rule for tanh), not Xavier × 5/3: on TF Playground's
         # settings xor [4,2] 0.968 -> 0.996 and 7-feature spiral 0.969 -> 0.978 over 20 seeds
         # (docs/tfp_parity_20_seeds.md); a deep [16]×8 tanh net still keeps its gradients (ratio 0.54)
         lambda n, s, a: _nn().Tanh(), "lecun",
         f_out=lambda z, out, s, a: np.tanh(z, out=out), df_a=lambda z, a, s, al: 1.0 - a * a),
    _def("linear", "Linear", "x",
         lambda z, s, a: z,
         lambda z, s, a: np.ones_like(z),
         lambda n, s, a: _nn().Identity(), "lecun", f_out=_copy_out),
])


def weight_std(rule: str, fan_in: int, fan_out: int, slope: float = 0.0) -> float:
    """Standard deviation of a normal init (PyTorch's kaiming_normal_ / xavier_normal_ formulas)."""
    if rule == "he":
        return math.sqrt(2.0 / fan_in)
    if rule == "leaky_he":
        return math.sqrt(2.0 / (1.0 + slope * slope)) / math.sqrt(fan_in)
    if rule == "lecun":
        return 1.0 / math.sqrt(fan_in)
    if rule == "xavier":
        return math.sqrt(2.0 / (fan_in + fan_out))
    if rule == "xavier_tanh":
        return (5.0 / 3.0) * math.sqrt(2.0 / (fan_in + fan_out))
    raise ValueError(f"unknown init rule {rule!r}")
