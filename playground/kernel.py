"""Compiled training: whole runs of minibatch steps in one numba call, when numba is installed.

Why: at TensorFlow Playground's sizes a numpy step is ~50 small calls, and each costs about a
microsecond of dispatch whatever its arithmetic (C3: ~70 µs a step for ~20k multiply-adds). Here a
step is plain loops compiled to machine code, and Python is entered once per run of steps (up to
the next epoch or health probe), not ~50 times per step.

The maths is maths.py's, step for step: run_steps and the pieces it calls (the loss gradient,
regularisation, clipping and optimisers the numpy engine calls too), on the same batches (Trainer
shuffles, in numpy, as before). Only the order of the sums differs from BLAS, so the two engines agree to float32
rounding (tests/test_kernel.py runs both side by side). It is the faster engine for batches up to
32 on all but the biggest nets (see suits()); bigger batches and batch norm train on numpy.

The health probe runs compiled too when the steps do (probe(): the logits and each neuron's slope
counts in one pass; maths.probe_pass).

Without numba (or with PLAYGROUND_ENGINE=numpy) `available()` is False and the Trainer uses the
numpy engine: everything works, only slower. The first call compiles (a few seconds once; numba
caches the machine code on disk: later runs import numba and load it in ~1-1.3 s).
"""

from __future__ import annotations

import math
import os
import sys
import types

import numpy as np

from . import maths
from .maths import ACTIVATION_CODES, LOSS_CODES, OPTIMIZER_CODES, REGULARIZATION_CODES, code_of  # noqa: F401

_EMPTY = np.zeros(0, np.float32)  # optimiser state an optimiser does not use


class CompiledEngine:
    """maths.run_steps compiled by numba, with the helpers it calls, and the health probe's
    passes (maths.probe_pass and maths.probe_counts for the trainer's probe, probe(); maths.count_rows
    for health.classify_columns; maths.probe_figures for a history row's losses and accuracies,
    figures()); all five are None when numba is missing or cannot compile them (the numpy engine
    does the same job).

    The helpers are compiled from copies of maths.py's functions that share one namespace of
    their own, so maths.py keeps its plain Python functions (tests and the numpy engine call
    them) whatever was compiled, and in whatever order."""

    def __init__(self, probes_later: bool = False):
        """probes_later: compile the probe's passes in a thread of their own, after run_steps,
        instead of before returning (the window's training process: on a machine's first start
        they are ~5 of ~14 s of compiling here, and the first steps need only run_steps; the
        probe runs on numpy until they are ready, the same figures up to float32 rounding)."""
        self.run_steps = self.probe_pass = self.probe_counts = self.count_rows = self.probe_figures = None
        self.probes_compiling = None  # the thread compiling the probe's passes, if probes_later
        try:
            import numba
        except ImportError:
            return
        try:
            try:
                compiled = self._jit(numba, cache=True)
            except RuntimeError:  # numba found nowhere to write its cache: compile on every start instead
                compiled = self._jit(numba, cache=False)
            _try_out_steps(compiled[0])
        except Exception as error:  # a numba that cannot compile this: the numpy engine does the same job
            print(f"playground: training on the numpy engine (numba could not compile the kernel: "
                  f"{type(error).__name__}: {error})", file=sys.stderr)
            return
        self.run_steps = compiled[0]
        if probes_later:
            import threading

            self.probes_compiling = threading.Thread(target=self._compile_probes, args=(compiled[1:],),
                                                     name="compile-probes", daemon=True)
            self.probes_compiling.start()
        else:
            self._compile_probes(compiled[1:])

    def _compile_probes(self, probes) -> None:
        try:
            _try_out_probes(probes)
        except Exception as error:  # noqa: BLE001 - the numpy probe does the same job
            print(f"playground: the health probe runs on numpy (numba could not compile it: "
                  f"{type(error).__name__}: {error})", file=sys.stderr)
            return
        # probe_pass last: training takes the compiled probe once it is set (probes_ready())
        self.probe_figures, self.count_rows, self.probe_counts = probes[3], probes[2], probes[1]
        self.probe_pass = probes[0]

    @staticmethod
    def _jit(numba, cache: bool):
        # LLVM's loop vectoriser interleaves 8-float AVX loops up to 4 times, so a loop shorter than
        # 32 numbers runs one float at a time; at these widths (TF Playground's layers have at most
        # 8 units) nearly every loop is. Not interleaving, loops of 8 take one vector step: C3
        # 7.30-7.46 -> 6.64-6.76 us a Trainer.step, C1 unchanged (2.28-2.29 -> 2.30-2.32), side by
        # side. A process-wide LLVM option: only this module compiles with numba in the app. numba's
        # disk cache does not key on it (code cached without it loads as it was, as fast as before).
        import llvmlite.binding

        llvmlite.binding.set_option("playground", "-force-vector-interleave=1")
        namespace = dict(vars(maths))  # the module's globals, copied: compiled helpers go in here only
        helper = numba.njit(cache=cache)
        # the formulas' `tanh` is fast_tanh here (maths.py says why). LLVM inlines it where it is
        # called, so the loops around it vectorise; numba's own inline="always" did the same but
        # copied it into every call site before LLVM saw it: the first compile took ~2.5 s longer.
        namespace["tanh"] = numba.njit(cache=cache)(_rebound(maths.fast_tanh, namespace))
        for name in maths.COMPILED_HELPERS:
            namespace[name] = helper(_rebound(getattr(maths, name), namespace))
        # error_model numpy: a division by zero gives inf as in numpy, no exception check per division.
        # fastmath only as far as "reassoc" (sums in any order, as BLAS adds them: the dot products
        # vectorise) and "contract" (fused multiply-adds): C3 4.2 -> 3.7 us a step, a 32x32 tanh layer
        # at batch 32 43 -> 37 us. Not "nnan"/"ninf": those assume no NaN or inf, and a diverging run
        # is exactly that.
        loop = numba.njit(cache=cache, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
        return tuple(loop(_rebound(function, namespace)) for function in
                     (maths.run_steps, maths.probe_pass, maths.probe_counts, maths.count_rows, maths.probe_figures))


def _rebound(function, namespace: dict):
    """`function` with `namespace` as its globals (same code, file and name: numba's disk cache
    finds it as it finds the original)."""
    copy = types.FunctionType(function.__code__, namespace, function.__name__, function.__defaults__,
                              function.__closure__)
    copy.__qualname__ = function.__qualname__
    return copy


_engine: CompiledEngine | None = None  # built on first use: the process's one compiled engine


def engine(probes_later: bool = False) -> CompiledEngine:
    """The compiled engine, built on the first call (numba's import and the compile or cache load;
    probes_later as CompiledEngine's, for that first call); switched off (run_steps None) by
    PLAYGROUND_ENGINE=numpy."""
    global _engine
    if _engine is None:
        if os.environ.get("PLAYGROUND_ENGINE", "").lower() == "numpy":
            off = CompiledEngine.__new__(CompiledEngine)
            off.run_steps = off.probe_pass = off.probe_counts = off.count_rows = off.probe_figures = None
            off.probes_compiling = None
            _engine = off
        else:
            _engine = CompiledEngine(probes_later)
    return _engine


def available(probes_later: bool = False) -> bool:
    """Whether the compiled engine can be used here: numba imports, is not switched off, and the
    kernel compiles and runs. The first call does that work (a few seconds the first time on a
    machine, ~1-1.3 s with numba's import and disk cache later); later calls are free."""
    return engine(probes_later).run_steps is not None


def probes_ready() -> bool:
    """Whether the health probe's compiled passes are ready (never waits, never builds the engine)."""
    return _engine is not None and _engine.probe_pass is not None


def prepare(say, after: float = 2.0, probes_later: bool = False) -> bool:
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
        return available(probes_later)
    finally:
        done.set()
        timer.cancel()
        if told:
            say("")


def built() -> CompiledEngine | None:
    """The compiled engine if it has been built already (never builds it: for the health probe,
    which stays on numpy rather than wait seconds for numba before the first picture)."""
    return _engine


_TRY_LAYOUT = np.array([[0, 2, 3, 10, -1], [9, 3, 1, -1, -1]], np.int64)  # a 2-3-1 net


def _try_out_steps(run_steps) -> None:
    """One step of a 2-3-1 net: compiles (or loads from the cache) the only signature train() uses."""
    f32 = np.float32
    params, grad, mask = np.zeros(13, f32), np.zeros(13, f32), np.ones(13, f32)
    X, C = np.ones((4, 3), f32), np.ones(4, f32)
    work = np.zeros((2, 4, 3), f32)
    run_steps(params, grad, _TRY_LAYOUT, np.zeros(2), 1.0, X, C, C, 0, 4, 1, 0, 0, 0.1, 0, 0.0, mask, 0.0,
              _EMPTY, _EMPTY, _EMPTY, 0, work, work.copy(), work.copy())


def _try_out_probes(probes) -> None:
    """One probe of a 2-3-1 net: compiles (or loads) the only signatures the health probe uses."""
    probe_pass, probe_counts, count_rows, probe_figures = probes
    f32 = np.float32
    params, layout, X = np.zeros(13, f32), _TRY_LAYOUT, np.ones((4, 3), f32)
    counts = np.zeros(3, np.int64)
    probe_pass(params, layout, np.zeros(2), 1.0, X.T.copy(), 4, 4, f32(1e-3), np.zeros((2, 3, 4), f32),
               np.zeros(4, f32), counts, counts.copy(), np.zeros(4, f32))
    probe_counts(params, layout, np.zeros(2), 1.0, np.zeros((3, 4), f32), np.zeros((4, 4), f32), 4, f32(1e-3),
                 counts, counts.copy())
    count_rows(np.zeros((3, 4), f32), np.zeros((3, 4), bool), f32(1e-3), counts, counts.copy())
    probe_figures(np.zeros(4, f32), np.zeros(4, f32), 2, 0, np.zeros(4))


class Plan:
    """run_steps' fixed arguments for one model and batch size: its layout and work arrays; and
    probe_pass' work arrays (probe())."""

    def __init__(self, model, batch: int):
        layers = model.layers
        widths = [layers[0].W.shape[0]] + [layer.W.shape[1] for layer in layers]
        width = max(widths)
        hidden_units = sum(widths[1:-1])
        self.probe_z = np.zeros(0, np.float32)  # one unit's z on every point: grown to the most points probed
        self.probe_A = np.zeros((2, width, 0), np.float32)  # layers' inputs and outputs, grown with probe_z
        self.flat_counts, self.nonpositive_counts = np.zeros(hidden_units, np.int64), np.zeros(hidden_units, np.int64)
        self.logits = np.zeros(0, np.float32)  # grown with probe_z
        self.figures = np.zeros(4)  # probe_figures' losses and accuracies
        self.layout = np.zeros((len(layers), 5), np.int64)
        self.slopes = np.zeros(len(layers), np.float64)
        for i, layer in enumerate(layers):
            fan_in, fan_out = layer.W.shape
            places = model.layout[i]
            self.layout[i] = (places["Wb"].start, fan_in, fan_out,
                              -1 if layer.activation is None else code_of(ACTIVATION_CODES, layer.activation,
                                                                          "activation"),
                              places["slope"].start if "slope" in places else -1)
            if layer.activation is not None and not layer.learned_slope:
                self.slopes[i] = float(layer.slope)
        self.alpha = float(layers[0].alpha)
        # every hidden activation computed per number without libm: the probe's forward compiled too
        self.cheap = all(code in maths.CHEAP_ACTIVATIONS for code in self.layout[:-1, 3])
        self.A = np.zeros((len(layers), batch, width), np.float32)
        self.Z = np.zeros((len(layers), batch, width), np.float32)
        self.back = np.zeros((2, batch, width), np.float32)
        self.settings_of = self.state_of = None  # train()'s arguments from the training settings (_settle)


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
    if plan.settings_of is not training or plan.state_of is not state:
        _settle(plan, model, training, state)
    loss, optimizer, lr, regularization, rate, clip, velocity, m, v = plan.settings
    plan.run_steps(model.params, model.grad, plan.layout, plan.slopes, plan.alpha, X, C, Y, start, batch, n_steps,
                   loss, optimizer, lr, regularization, rate, model.weight_mask, clip, velocity, m, v, adam_t,
                   plan.A, plan.Z, plan.back)


def _settle(plan: Plan, model, training, state: dict) -> None:
    """run_steps' arguments that come from `training` and the optimiser `state`, kept in the plan
    until either is another object (the Trainer makes a new plan, or a new state dict, on every change
    of either): worked out on every call, they were ~1.5 µs of the ~4.5 a call costs before its
    first step (C1 calls the kernel every 25 steps, at each epoch's end and each health probe)."""
    size = model.params.size
    optimizer = training.optimizer
    if optimizer == "momentum" and "velocity" not in state:
        state["velocity"] = np.zeros(size, np.float32)  # v = μ·0 + g: numpy's first v = g
    if optimizer == "adam" and "m" not in state:
        state["m"], state["v"] = np.zeros(size, np.float32), np.zeros(size, np.float32)
    plan.settings = (code_of(LOSS_CODES, training.loss, "loss"), code_of(OPTIMIZER_CODES, optimizer, "optimizer"),
                     float(training.learning_rate),
                     code_of(REGULARIZATION_CODES, training.regularization, "regularization"),
                     float(training.regularization_rate), float(training.grad_clip or 0.0),
                     state.get("velocity", _EMPTY), state.get("m", _EMPTY), state.get("v", _EMPTY))
    plan.settings_of, plan.state_of = training, state
    plan.run_steps = engine().run_steps


def probe(plan: Plan, model, xT: np.ndarray, points: int, counted: int,
          eps: np.float32) -> tuple[np.ndarray, bool, float]:
    """The health probe, compiled, over the first `points` columns of xT (inputs + 1, n) float32
    C-contiguous and writable (MLP.forward_probe's): returns the logits (points,), a work array
    reused by the next call; whether the counts changed; and the largest |logit| or |parameter|
    (NaN as inf; inf, "not looked at", after numpy's forward); leaves in plan.flat_counts and
    plan.nonpositive_counts, per hidden unit, how many of the first `counted` points have
    |f'(z)| < eps and z <= 0 (zeros in a new plan). One compiled pass (maths.probe_pass) when
    every hidden activation is cheap to compute per number (ReLU's family, linear: C3 forward and
    classification ~50 -> ~13 µs; tanh, as maths.fast_tanh: C1's recording probe 115 -> 52 µs),
    else numpy's forward (its SIMD exp, erf, ...: a libm call per number here made C1's pass ~60 µs)
    and the compiled counts from its Z and A (maths.probe_counts)."""
    compiled = engine()
    if not plan.cheap:
        logits, Z, A = model.forward_probe(xT if points == xT.shape[1] else xT[:, :points], with_activations=True)
        return logits, compiled.probe_counts(model.params, plan.layout, plan.slopes, plan.alpha, Z, A, int(counted),
                                             eps, plan.flat_counts, plan.nonpositive_counts), math.inf
    if len(plan.logits) < points:
        plan.logits, plan.probe_z = np.zeros(points, np.float32), np.zeros(points, np.float32)
        plan.probe_A = np.zeros((2, plan.probe_A.shape[1], points), np.float32)
    logits = plan.logits[:points]
    changed, largest = compiled.probe_pass(model.params, plan.layout, plan.slopes, plan.alpha, xT, int(points),
                                           int(counted), eps, plan.probe_A, plan.probe_z, plan.flat_counts,
                                           plan.nonpositive_counts, logits)
    return logits, changed, largest


def figures(plan: Plan, logits: np.ndarray, labels: np.ndarray, n_train: int, loss: int) -> tuple[float, ...]:
    """The history row's train loss, test loss, train accuracy and test accuracy from the logits of
    the training points then the test points (float32 (n,)), their labels, and the loss code: one
    compiled loop (maths.probe_figures), the figures training.LOSSES and training.accuracy give."""
    out = plan.figures
    engine().probe_figures(logits, labels, int(n_train), int(loss), out)
    return float(out[0]), float(out[1]), float(out[2]), float(out[3])
