"""Activation registry: formula, f and f' (maths.py's, for training, plots and health), torch module, init.

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

from . import maths
from .maths import INV_SQRT_2PI, SELU_ALPHA, SELU_SCALE, SOFTPLUS_THRESHOLD, SQRT_HALF  # noqa: F401 (theirs)

Array = np.ndarray

if TYPE_CHECKING:
    import torch


def _nn():
    """torch.nn, imported on first use: only reference tests and the benchmark need torch modules."""
    import torch

    return torch.nn


@dataclass(frozen=True)
class Activation:
    """One activation variant: how it computes, how it is drawn and how its weights start."""

    name: str
    label: str  # for menus
    formula: str  # for the activation panel
    torch_module: Callable[..., "torch.nn.Module"]  # torch_module(units, slope, alpha); imports torch
    init: str  # recommended init of the weights feeding it: he, leaky_he, xavier, lecun
    rectifier: bool = False  # rectifier family: a unit with max z <= 0 and non-zero slope is "sleeping"
    learned_slope: bool = False  # PReLU: one learned slope per neuron
    slope_reads_output: bool = False  # f' is read off a = f(z) (tanh 1 - a², sigmoid a(1 - a))
    needs_work: bool = True  # its maths.py functions use their scratch (ReLU, tanh, sigmoid, linear do not)

    def __post_init__(self):
        code = maths.code_of(maths.ACTIVATION_CODES, self.name, "activation")
        f_into, slope_into = maths.ACTIVATION_INTO[code]
        object.__setattr__(self, "code", code)  # looked up once: the probe calls f and df often
        # f_into(z, out, work, slope, alpha): out[...] = f(z); work = maths.scratch(out)
        object.__setattr__(self, "f_into", f_into)
        # slope_into(z, a, out, work, slope, alpha): out[...] = f'(z), given a = f(z)
        object.__setattr__(self, "slope_into", slope_into)

    def _work(self, out: Array):
        return maths.scratch(out) if self.needs_work else None

    def f(self, z, slope, alpha) -> Array:
        """f(z), a new array (for plots, statistics and tests: training writes into buffers)."""
        z = np.asarray(z)
        out = np.empty_like(z)
        self.f_into(z, out, self._work(out), slope, alpha)
        return out

    def df(self, z, slope, alpha) -> Array:
        """f'(z), a new array, equal to autograd's."""
        z = np.asarray(z)
        out = np.empty_like(z)
        work = self._work(out)
        a = None
        if self.slope_reads_output:
            a = np.empty_like(z)
            self.f_into(z, a, work, slope, alpha)
        self.slope_into(z, a, out, work, slope, alpha)
        return out


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("relu", "ReLU", "max(0, x)", lambda n, s, a: _nn().ReLU(), "he", rectifier=True, needs_work=False),
    Activation("leaky_relu", "Leaky ReLU", "max(0, x) + s·min(0, x)", lambda n, s, a: _nn().LeakyReLU(s),
               "leaky_he", rectifier=True),
    Activation("prelu", "PReLU", "max(0, x) + a·min(0, x), a learned per neuron", lambda n, s, a: _nn().PReLU(n, s),
               "leaky_he", rectifier=True, learned_slope=True),
    Activation("elu", "ELU", "x if x > 0 else α(eˣ − 1)", lambda n, s, a: _nn().ELU(a), "he", rectifier=True),
    Activation("selu", "SELU", "λ·(x if x > 0 else α(eˣ − 1))", lambda n, s, a: _nn().SELU(), "lecun",
               rectifier=True),
    Activation("gelu", "GELU", "x·Φ(x)", lambda n, s, a: _nn().GELU(), "he"),
    Activation("silu", "SiLU (swish)", "x·σ(x)", lambda n, s, a: _nn().SiLU(), "he"),
    Activation("mish", "Mish", "x·tanh(softplus(x))", lambda n, s, a: _nn().Mish(), "he"),
    Activation("softplus", "Softplus", "log(1 + eˣ)", lambda n, s, a: _nn().Softplus(), "he"),
    Activation("sigmoid", "Sigmoid", "1 / (1 + e⁻ˣ)", lambda n, s, a: _nn().Sigmoid(), "xavier",
               slope_reads_output=True, needs_work=False),
    # LeCun (1/√fan_in, Efficient BackProp's rule for tanh), not Xavier × 5/3: on TF Playground's
    # settings xor [4,2] 0.968 -> 0.996 and 7-feature spiral 0.969 -> 0.978 over 20 seeds
    # (docs/tfp_parity_20_seeds.md); a deep [16]×8 tanh net still keeps its gradients (ratio 0.54)
    Activation("tanh", "Tanh", "tanh(x)", lambda n, s, a: _nn().Tanh(), "lecun", slope_reads_output=True,
               needs_work=False),
    Activation("linear", "Linear", "x", lambda n, s, a: _nn().Identity(), "lecun", needs_work=False),
)}
assert tuple(ACTIVATIONS) == maths.ACTIVATION_NAMES  # the codes are this order


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
    raise ValueError(f"unknown init rule {rule!r}")
