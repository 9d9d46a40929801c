"""Trainer: steps a network on an experiment's data, probes its health, and hands out snapshots.

A step is one minibatch update. Changes arrive as whole new experiments through apply(): training
settings (learning rate, optimiser, batch size, loss, regularisation, clipping) and Leaky/ELU
parameters change live; anything about the data, the seed or the network's shape rebuilds, with the
same seed, so two activations start from comparable weights.
"""

from __future__ import annotations

import math

import numpy as np

from . import fields, kernel, maths
from .datasets import make_split
from .experiment import Experiment
from .health import COMPILED_EPS, CountedStates, classify_columns, fractions, shares_of
from .model import MLP
from .plane import DEFAULT_GRID, EXTENT as GRID_EXTENT
from .snapshot import (History, Snapshot, data_columns, data_features, frozen, layer_statistics,
                       render_grids)

PROBE_EVERY_STEP_UNTIL = 100  # deaths happen early (SCIENCE.md): probe every step at first
PROBE_INTERVAL = 10  # then every 10 steps
PROBE_SETTLED_AFTER = 1000  # past this step states change slowly: probe every PROBE_SETTLED_INTERVAL
PROBE_SETTLED_INTERVAL = 50  # a C1 probe costs ~110 µs, a C1 step ~45 µs: every 10 is ~20 % of training
COMPILED_PROBE = True  # probe with kernel.probe when the steps run compiled (tests switch it off to compare)
HISTORY_LIMIT = 2000  # rows kept; past this the history is thinned by half and records half as often
# Below this every |logit| and |parameter|: then each loss (at most MAX_POINTS terms, each under
# 1e31) and the parameters' sum (at most ~9k) are finite in float32 (< 3.4e38), so the compiled
# probe's largest magnitude stands in for the numpy divergence check (C1: 10 of a 19 µs probe).
SURELY_FINITE = 1e30
ENGINES = ("auto", "numpy", "compiled")


# Each loss once, as the mean over the last axis: logits (..., n) and labels broadcasting against
# them -> (...), summed in the logits' float type (float32: pairwise sums, ~1e-7 relative), so one
# network's (n,) logits and compare's stacked (G, M, n) take the same formula. n = 0 gives NaN.

def bce_losses(logits: np.ndarray, labels: np.ndarray, softplus: np.ndarray | None = None) -> np.ndarray:
    """Mean binary cross-entropy on logits, stable for large |logit|: the mean of maths.bce_point,
    softplus(l) − y·l, taken as Σ softplus(l) − Σ y·l.

    softplus, if given, is logaddexp(0, logits) (the probe takes it for train and test at once).
    Two sums, not np.mean of a difference (250 points: 20 -> 12 µs); float32 sums and np.maximum,
    not float64 sums and np.where (1.7× the time).
    """
    if softplus is None:
        softplus = np.logaddexp(0.0, logits)
    n = logits.shape[-1]
    if not n:
        return np.full(logits.shape[:-1], math.nan)
    # Σ y·l: np.dot for one network (~1 µs less than einsum at 250 points), einsum over stacked rows
    dots = np.dot(logits, labels) if logits.ndim == 1 else np.einsum("...n,...n->...", logits, labels)
    loss = (np.add.reduce(softplus, axis=-1) - dots) / n
    # never below 0: on a well-separated set the two float32 sums cancel to a rounding error
    # (-2e-6); np.maximum lets NaN through (it flags divergence)
    return np.maximum(loss, 0.0)


def mse_losses(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean squared error of the output probability, P(label 1) = sigmoid(logit): the mean of maths.mse_point."""
    return _mean_last(maths.mse_point(logits, labels))


def tanh_mse_losses(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """TF Playground's loss: mean ½(tanh(logit) − target)², targets 2y − 1 = ±1 (its output unit is
    tanh and its error ½(output − target)²). Its probability of label 1 is (tanh(logit) + 1)/2."""
    return _mean_last(maths.tanh_mse_point(logits, labels))


def _mean_last(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis; NaN for none (np.mean would warn)."""
    n = values.shape[-1]
    return np.add.reduce(values, axis=-1) / n if n else np.full(values.shape[:-1], math.nan)


LOSS_ROWS = {"bce": bce_losses, "mse": mse_losses, "tanh_mse": tanh_mse_losses}  # by name, as maths.LOSS_NAMES


def loss_rows(name: str):
    """LOSS_ROWS[name]; ValueError naming the losses otherwise."""
    maths.code_of(maths.LOSS_CODES, name, "loss")
    return LOSS_ROWS[name]


def _one(rows):
    """The float loss of one network's (n,) logits from a LOSS_ROWS function."""
    def loss(logits: np.ndarray, labels: np.ndarray) -> float:
        return float(rows(logits, labels))
    loss.__name__, loss.__doc__ = rows.__name__.replace("losses", "loss"), rows.__doc__
    return loss


LOSSES = {name: _one(rows) for name, rows in LOSS_ROWS.items()}  # one network: a float
bce_loss, mse_loss, tanh_mse_loss = LOSSES["bce"], LOSSES["mse"], LOSSES["tanh_mse"]


def _bce_from(softplus: np.ndarray, logits: np.ndarray, labels: np.ndarray) -> float:
    """bce_loss given softplus(logits) = logaddexp(0, logits) (the probe takes it for train and test at once)."""
    return float(bce_losses(logits, labels, softplus))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Share of points on the right side of 0 (count_nonzero, not np.mean: 13 -> 4 µs).

    NaN when any logit is not finite: a diverged network has no accuracy (NaN > 0 is False, so it
    would otherwise score the share of label 0, about 0.5).
    """
    if not len(labels):
        return float("nan")
    return _accuracy_from(np.isfinite(logits), (logits > 0) == (labels > 0.5))


def _accuracy_from(finite: np.ndarray, correct: np.ndarray) -> float:
    """accuracy() given which logits are finite and which points are on the right side (bool, (n,))."""
    if not len(correct) or not finite.all():
        return float("nan")
    return np.count_nonzero(correct) / len(correct)


class _HistoryBuffer:
    """The run's metric rows in preallocated arrays: appending is a few stores, and a snapshot's
    History is a handful of slice copies (a list of tuples cost ~1.5 ms a snapshot to convert)."""

    COLUMNS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy",
               "dead_fraction", "saturated_fraction", "sleeping_fraction")

    def __init__(self, n_layers: int):
        capacity = HISTORY_LIMIT + 1
        self.steps = np.zeros(capacity, np.int64)
        self.values = np.zeros((len(self.COLUMNS), capacity), np.float32)
        self.grad_norms = np.zeros((capacity, n_layers), np.float32)
        self.n = 0
        self.every = PROBE_INTERVAL  # record every this many steps once past the first 100

    def append(self, step: int, values: tuple, grad_norms: np.ndarray) -> None:
        i = self.n
        self.steps[i] = step
        self.values[:, i] = values
        self.grad_norms[i] = grad_norms
        self.n = i + 1
        if self.n > HISTORY_LIMIT:  # thin by half, and record half as often from now on
            kept = (self.n + 1) // 2
            self.steps[:kept] = self.steps[:self.n:2]
            self.values[:, :kept] = self.values[:, :self.n:2]
            self.grad_norms[:kept] = self.grad_norms[:self.n:2]
            self.n = kept
            self.every *= 2

    def history(self) -> History:
        n = self.n
        columns = {name: frozen(self.values[j, :n]) for j, name in enumerate(self.COLUMNS)}
        return History(steps=frozen(self.steps[:n]), grad_norms=frozen(self.grad_norms[:n]), **columns)


class Trainer:
    """Trains one experiment. Not thread-safe: one thread owns it; others receive snapshots."""

    def __init__(self, experiment: Experiment, grid_size: int = DEFAULT_GRID, engine: str = "auto"):
        """engine: "auto" (compiled where kernel.py can, numpy otherwise), "numpy", or "compiled"
        (an error when numba is missing). Both give the same run up to float32 rounding."""
        if engine not in ENGINES:
            raise ValueError(f"engine = {engine!r} is not allowed: one of {', '.join(ENGINES)}")
        if engine == "compiled" and not kernel.available():
            raise RuntimeError("the compiled engine needs numba (pip install numba), or PLAYGROUND_ENGINE is numpy")
        self.engine = engine
        self.grid_size = grid_size
        self._experiment = experiment
        self._build_data()
        self.reset()

    # ---- set-up --------------------------------------------------------------------------------
    @property
    def experiment(self) -> Experiment:
        return self._experiment

    def _build_data(self) -> None:
        exp = self._experiment
        self.data = make_split(exp.data, exp.seed)
        names = exp.data.features
        self._x_train = data_features(self.data, names)[0]  # shared with make_snapshot (cached)
        self._y_train, self._y_test = self.data.train_labels, self.data.test_labels
        # with a column of ones (the bias input) and 1 - 2y (BCE's gradient is (tanh(l/2) + 1 - 2y) / 2n):
        # batches are then slices of an epoch's shuffled copy, nothing is computed twice
        self._x_train_aug = np.column_stack([self._x_train, np.ones(len(self._x_train), np.float32)])
        self._c_train = (1.0 - 2.0 * self._y_train).astype(np.float32)
        self._xT_train, self._xT_test = data_columns(self.data, names)  # for the probe: points as columns
        # train and test side by side: a probe that records history runs one forward, not two (C3: -40 µs)
        self._xT_both = np.ascontiguousarray(np.hstack([self._xT_train, self._xT_test]))
        self._y_both = np.concatenate([self._y_train, self._y_test])  # kernel.figures' labels
        self._positive_both = self._y_both > 0.5  # accuracy's labels > 0.5
        # _shuffle's work array: an epoch's order is written in place (C1: 8.7 -> 6 µs an epoch)
        n = len(self._x_train)
        self._points = np.arange(n)
        self._order_buffer = np.empty(n, self._points.dtype)

    def reset(self) -> None:
        """Fresh weights from the seed, step 0; the data stays."""
        exp = self._experiment
        self.model = MLP.build(self._x_train.shape[1], exp.network, exp.seed)
        self._batch_rng = batch_rng(exp.seed)
        self._shuffle()
        self.step_count = 0
        self.points_seen = 0
        self.diverged = False
        self.message: str | None = None
        self._optimizer_state: dict = {}
        self._adam_t = 0
        self._has_grad = False  # model.grad holds the last step's raw gradient
        self._record = _HistoryBuffer(len(self.model.layers))
        self._compiled: tuple[int, bool] | None = None  # (batch size, compiled?), decided at the first step
        self._kernel_plan = None
        self.states = [np.zeros(n, np.int8) for n in exp.network.hidden]
        self._states_plan = None  # the kernel Plan whose probe counts self.states come from, if any
        self._probe()

    def apply(self, experiment: Experiment) -> str:
        """Take a changed experiment. Returns "hot", "model" (new weights) or "data" (new data too)."""
        old, self._experiment = self._experiment, experiment
        change = fields.change(old, experiment)  # the field table says what each field needs
        if change == fields.DATA:
            self._build_data()
            self.reset()
            return "data"
        if change == fields.MODEL:
            self.reset()
            return "model"
        self.model.set_activation_params(experiment.network)
        self._kernel_plan = None  # it holds Leaky's slope and ELU's alpha
        if experiment.training.optimizer != old.training.optimizer:
            self._optimizer_state, self._adam_t = {}, 0  # the weights stay; the moments start over
        return "hot"

    def replace_data(self, experiment: Experiment) -> str:
        """New points (drawn on the boundary), the same network: weights, optimiser state, step
        and history go on, trained on the new data from here. Anything else changed goes through
        apply(). Returns what apply() would: "data" here."""
        old = self._experiment
        if (experiment.network != old.network or experiment.seed != old.seed
                or experiment.data.features != old.data.features):
            return self.apply(experiment)
        self._experiment = experiment
        self._build_data()
        self._shuffle()  # a new epoch over the new points, from the same minibatch stream
        self._compiled, self._kernel_plan = None, None
        self.model.set_activation_params(experiment.network)
        self._probe()
        return "data"

    @property
    def training_set(self) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, labels) the network trains on: (n, features) float32 and (n,) float32 in {0, 1}.
        Read-only; for other engines trained side by side on the same points (`playground bench`)."""
        return self._x_train, self._y_train

    @property
    def epoch(self) -> float:
        return self.points_seen / len(self._x_train)

    # ---- training ------------------------------------------------------------------------------
    def step(self, n: int = 1) -> int:
        """Up to n updates; fewer if the run diverges. Returns how many were done."""
        done = 0
        with np.errstate(all="ignore"):  # a diverging run makes inf/nan on purpose; it is caught below
            while done < n and not self.diverged:
                run = min(n - done, self._steps_to_probe(self.step_count))
                self._updates(run)
                done += run
                self.step_count += run
                if self._probe_due(self.step_count):
                    self._probe_unguarded()
        return done

    @staticmethod
    def _steps_to_probe(step: int) -> int:
        """How many steps from `step` to the next one _probe_due says yes to (at least 1)."""
        following = step + 1
        if following <= PROBE_EVERY_STEP_UNTIL:
            return 1
        interval = PROBE_INTERVAL if following <= PROBE_SETTLED_AFTER else PROBE_SETTLED_INTERVAL
        return -(-following // interval) * interval - step

    @staticmethod
    def _probe_due(step: int) -> bool:
        """Every step up to 100, every 10th up to 1000, then every 50th (history rows need a probe,
        so they land on steps that are multiples of both their interval and this one)."""
        if step <= PROBE_EVERY_STEP_UNTIL:
            return True
        return step % (PROBE_INTERVAL if step <= PROBE_SETTLED_AFTER else PROBE_SETTLED_INTERVAL) == 0

    def _shuffle(self) -> None:
        """A new epoch: a fresh order, and the training set copied in it (batches are then slices)."""
        order = self._order_buffer
        order[:] = self._points
        self._batch_rng.shuffle(order)  # exactly permutation(n), which shuffles a fresh arange(n)
        self._epoch_order = order  # kept for state(): a saved run resumes mid-epoch on the same batches
        # ndarray.take allocating: ~0.7 µs; np.take into a kept buffer ~1.6 (numpy buffers `out` when
        # mode="raise", to leave it untouched on a bad index), ~1.1 with mode="clip"
        self._epoch_x = self._x_train_aug.take(order, 0)
        self._epoch_y = self._y_train[order]
        self._epoch_c = self._c_train[order]
        self._cursor = 0

    def _updates(self, count: int) -> None:
        """`count` minibatch steps: in runs of compiled steps (kernel.py) when it can, else one by one."""
        training = self._experiment.training
        batch = training.batch_size
        if self._compiled is None or self._compiled[0] != batch:
            self._compiled = (batch, self.uses_compiled_engine())
        if not self._compiled[1]:
            self._kernel_plan = None  # numpy's steps replace the optimiser's arrays the plan keeps (kernel._settle)
            for _ in range(count):
                self._update()
            return
        if self._kernel_plan is None or self._kernel_plan.A.shape[1] != batch:
            self._kernel_plan = kernel.Plan(self.model, batch)
        while count > 0:  # one kernel call per stretch of the epoch (Python shuffles, as _update does)
            if self._cursor >= len(self._epoch_x):
                self._shuffle()
            left = len(self._epoch_x) - self._cursor
            run = min(count, -(-left // batch))
            kernel.train(self.model, self._kernel_plan, self._epoch_x, self._epoch_c, self._epoch_y,
                         self._cursor, batch, run, training, self._optimizer_state, self._adam_t)
            moved = min(run * batch, left)
            self._cursor += moved
            self.points_seen += moved
            if training.optimizer == "adam":
                self._adam_t += run
            count -= run
        self._has_grad = True

    def uses_compiled_engine(self) -> bool:
        """Whether steps run compiled (kernel.py) at the current batch size: asked for ("compiled":
        whenever the kernel covers the net), or left to "auto" and the kernel is the faster engine
        here (kernel.suits: small batches), and numba at hand. The first answer in a
        process may take seconds: it compiles the kernel."""
        if self.engine == "numpy" or not kernel.covers(self.model):
            return False
        if self.engine == "auto" and not kernel.suits(self.model, self._experiment.training.batch_size):
            return False
        return kernel.available()

    def _update(self) -> None:
        """One minibatch step: forward, dL/dlogit, backward into model.grad, optimiser step (C1 ≈ 35 µs)."""
        training = self._experiment.training
        if self._cursor >= len(self._epoch_x):
            self._shuffle()
        start, end = self._cursor, self._cursor + training.batch_size
        self._cursor = end
        x = self._epoch_x[start:end]
        n = len(x)
        self.points_seen += n
        logits, cache = self.model.forward_train(x, augmented=True)
        # the loss's gradient function straight (loss_gradient() with its look-ups: ~0.2 us of a ~17 us step)
        dlogits = maths.LOSS_GRADIENTS[maths.LOSS_CODES[training.loss]](
            logits, self._epoch_c[start:end], self._epoch_y[start:end], 1.0 / n)
        grad = self.model.backward_into(cache, dlogits)
        self._has_grad = True
        self._descend(grad, training)

    def _descend(self, grads, training) -> None:
        """Regularise, clip, and take one optimiser step over the flat parameter buffer (descend())."""
        if training.optimizer == "adam":
            self._adam_t += 1
        descend(self.model.params, grads, self.model.weight_mask, training, self._optimizer_state, self._adam_t)

    # ---- saving and resuming (runfile.py) ------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """Everything that makes the next steps what they would have been, as plain numeric arrays
        (no objects, so np.load(allow_pickle=False) reads it back): weights and batch-norm statistics,
        the last raw gradient, optimiser moments and step count, the minibatch stream's generator and
        the current epoch's order and position, counters, neuron states and the metric history."""
        record = self._record
        n = record.n
        out = {
            "flat_state": self.model.flat_state(), "grad": self.model.grad.copy(),
            "counters": np.array([self.step_count, self.points_seen, self._adam_t, self._cursor,
                                  int(self._has_grad), int(self.diverged), record.every], np.int64),
            "batch_rng": _generator_state(self._batch_rng), "epoch_order": self._epoch_order.astype(np.int64),
            "neuron_states": np.concatenate(self.states).astype(np.int8) if self.states else np.zeros(0, np.int8),
            "history_steps": record.steps[:n].copy(), "history_values": record.values[:, :n].copy(),
            "history_grad_norms": record.grad_norms[:n].copy(),
            "message": np.frombuffer((self.message or "").encode("utf-8"), np.uint8).copy(),
        }
        for key in OPTIMIZER_STATE_KEYS:
            if key in self._optimizer_state:
                out[f"optimizer_{key}"] = self._optimizer_state[key].copy()
        return out

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Put back a state() of a trainer on the same experiment. ValueError naming the array
        when something does not fit (this trainer is then left as it was)."""
        def get(key, dtype, shape=None):
            if key not in state:
                raise ValueError(f"{key} is missing")
            value = np.asarray(state[key])
            if value.dtype.kind not in "biuf" or not np.can_cast(value.dtype, dtype, "same_kind"):
                raise ValueError(f"{key} has type {value.dtype}, expected {np.dtype(dtype)}")
            if shape is not None and value.shape != shape:
                raise ValueError(f"{key} has shape {value.shape}, this network needs {shape}")
            return np.array(value, dtype)

        size, n_train = self.model.params.size, len(self._x_train)
        stats = sum(2 * layer.running_mean.size for layer in self.model.layers if layer.running_mean is not None)
        flat = get("flat_state", np.float32, (size + stats,))
        grad = get("grad", np.float32, (size,))
        counters = get("counters", np.int64, (7,))
        step, points, adam_t, cursor, has_grad, diverged, every = (int(c) for c in counters)
        order = get("epoch_order", np.int64, (n_train,))
        if not np.array_equal(np.sort(order), np.arange(n_train)):
            raise ValueError("epoch_order is not an order of the training points")
        if min(step, points, adam_t, cursor) < 0 or cursor > n_train or every < 1:
            raise ValueError(f"counters {counters.tolist()} are out of range")
        rng = _generator_from(get("batch_rng", np.uint64, (6,)))
        neuron_states = get("neuron_states", np.int8, (sum(self._experiment.network.hidden),))
        history_steps = get("history_steps", np.int64)
        rows = len(history_steps) if history_steps.ndim == 1 else -1
        if not 0 <= rows <= HISTORY_LIMIT:
            raise ValueError(f"history_steps has shape {history_steps.shape}, expected up to {HISTORY_LIMIT} rows")
        values = get("history_values", np.float32, (len(_HistoryBuffer.COLUMNS), rows))
        history_norms = get("history_grad_norms", np.float32, (rows, len(self.model.layers)))
        optimizer = {key: get(f"optimizer_{key}", np.float32, (size,))
                     for key in OPTIMIZER_STATE_KEYS if f"optimizer_{key}" in state}
        message = get("message", np.uint8) if "message" in state else np.zeros(0, np.uint8)
        # all checked: now change the trainer
        self.model.load_flat_state(flat)
        self.model.grad[:] = grad
        self.step_count, self.points_seen, self._adam_t = step, points, adam_t
        self._has_grad, self.diverged = bool(has_grad), bool(diverged)
        self.message = message.tobytes().decode("utf-8", "replace") or None
        self._batch_rng = rng
        self._epoch_order = order
        self._epoch_x, self._epoch_y = self._x_train_aug[order], self._y_train[order]
        self._epoch_c = self._c_train[order]
        self._cursor = cursor
        self._optimizer_state = optimizer
        self._compiled, self._kernel_plan = None, None
        bounds = np.cumsum((0, *self._experiment.network.hidden))
        self.states = [neuron_states[a:b].copy() for a, b in zip(bounds[:-1], bounds[1:])]
        self._states_plan = None
        record = self._record = _HistoryBuffer(len(self.model.layers))
        record.steps[:rows], record.values[:, :rows], record.grad_norms[:rows] = history_steps, values, history_norms
        record.n, record.every = rows, every

    # ---- health and history --------------------------------------------------------------------
    def _probe(self) -> None:
        """Health on the whole training set; stops a diverged run; records history now and then."""
        with np.errstate(all="ignore"):
            self._probe_unguarded()

    def _probe_unguarded(self) -> None:
        """_probe() for step(), which has numpy's warnings off already (a second errstate: ~1 µs)."""
        record = self._record
        recording = self.step_count <= PROBE_EVERY_STEP_UNTIL or self.step_count % record.every == 0
        n = len(self._y_train)
        loss_name = self._experiment.training.loss
        # the steps' engine: compiled, one pass gives the logits and the slope counts (kernel.probe);
        # numpy, a forward keeping Z, then classify_columns. In training, a probe with its history row:
        # C3 ~70 -> ~52 µs, C1 ~45 -> ~32 (Trainer.step with and without probes, side by side).
        plan = self._kernel_plan if (COMPILED_PROBE and self._compiled is not None and self._compiled[1]
                                     and kernel.probes_ready()) else None
        largest = math.inf  # the largest |logit| or |parameter| if the compiled probe found it
        if recording:  # train and test in one forward
            if plan is not None:  # and the figures in one compiled loop (C3: ~30 µs less a row)
                both, changed, largest = kernel.probe(plan, self.model, self._xT_both, self._xT_both.shape[1], n,
                                                      COMPILED_EPS)
                loss_code = maths.code_of(maths.LOSS_CODES, loss_name, "loss")
                figures = kernel.figures(plan, both, self._y_both, n, loss_code)
                loss = figures[0]
            else:  # and their figures from whole-array calls
                both, Z = self.model.forward_probe(self._xT_both)
                Z = Z[:, :n]
                logits, test_logits = both[:n], both[n:]
                softplus = np.logaddexp(0.0, both) if loss_name == "bce" else None
                loss = _bce_from(softplus[:n], logits, self._y_train) if softplus is not None else \
                    LOSSES[loss_name](logits, self._y_train)
        else:
            if plan is not None:
                logits, changed, largest = kernel.probe(plan, self.model, self._xT_both, n, n, COMPILED_EPS)
            else:
                logits, Z = self.model.forward_probe(self._xT_train)
            # the loss only tells divergence here: not computed when the magnitudes prove it finite
            loss = None if largest < SURELY_FINITE else LOSSES[loss_name](logits, self._y_train)
        if largest >= SURELY_FINITE and (not math.isfinite(loss) or not self.model.is_finite()):
            self._diverge(loss)
            return
        if plan is None:
            self.states, self._states_plan = classify_columns(self.model, Z), None
            shares = fractions(self.states) if recording else None
        elif changed or self._states_plan is not plan:  # the same counts give the same states
            if self._states_plan is not plan:
                self._counted_states = CountedStates(self.model)
            self.states, every = self._counted_states(plan.flat_counts, plan.nonpositive_counts, n)
            self._states_plan, self._shares = plan, shares_of(every)  # states from this plan's counts
            shares = self._shares
        else:
            shares = self._shares
        if recording:
            if plan is None:
                test_loss = _bce_from(softplus[n:], test_logits, self._y_test) if softplus is not None else \
                    LOSSES[loss_name](test_logits, self._y_test)
                finite, correct = np.isfinite(both), (both > 0) == self._positive_both
                figures = (loss, test_loss, _accuracy_from(finite[:n], correct[:n]),
                           _accuracy_from(finite[n:], correct[n:]))
            record.append(self.step_count, (*figures, shares["dead"], shares["saturated"], shares["sleeping"]),
                          self.grad_norms())

    def _diverge(self, loss: float) -> None:
        self.diverged = True
        lr = self._experiment.training.learning_rate
        what = "not a number" if math.isnan(loss) else ("infinite" if math.isinf(loss) else "finite but the weights are not")
        self.message = (f"Training diverged at step {self.step_count}: the loss became {what}. "
                        f"Reset, and lower the learning rate (now {lr:g}), clip gradients or turn on batch norm.")

    def grad_norms(self) -> np.ndarray:
        """‖∂L/∂W‖ per weight layer (output last) of the last step's raw gradient; NaN before any."""
        if not self._has_grad:
            return np.full(len(self.model.layers), np.nan, np.float32)
        return _weight_norms(self.model, self.model.grad)

    def history(self) -> History:
        return self._record.history()

    # ---- snapshots -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Everything a view needs, copied and read-only."""
        return make_snapshot(
            self._experiment, self.data, self.model, step=self.step_count, epoch=self.epoch,
            grad_norms=self.grad_norms(), history=self.history(), grid_size=self.grid_size,
            diverged=self.diverged, message=self.message, last_states=self.states)


def batch_rng(seed: int) -> np.random.Generator:
    """The minibatch order's random stream (stream 3 of the seed; data is 1, weights 2)."""
    return np.random.default_rng(np.random.SeedSequence([seed, 3]))


def loss_gradient(logits: np.ndarray, c: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """dL/dlogit of the batch's mean loss (maths.loss_gradient), a new array; points along the last
    axis (any leading axes, e.g. compare mode's networks). c is 1 - 2y, y the labels, both shaped
    like logits."""
    code = maths.code_of(maths.LOSS_CODES, loss, "loss")
    return maths.loss_gradient(code, logits, c, y, 1.0 / logits.shape[-1])


def clip_gradient(g: np.ndarray, max_norm: float) -> np.ndarray:
    """torch's clip_grad_norm_ on a flat gradient (P,), or on each row of stacked ones (networks, P)."""
    if g.ndim == 1:
        return g * float(maths.clip_scale(math.sqrt(float(np.dot(g, g))), max_norm))  # a float: g stays float32
    total = np.sqrt(np.einsum("ij,ij->i", g, g))[:, None]  # float32, as np.dot's
    return g * maths.clip_scale(total, max_norm).astype(np.float32)


def _rate(rate):
    """A step size as the update uses it: a Python float multiplies float32 arrays in float32; a
    float64 column of rates is cast the same way, so each row's step equals a single run's."""
    return rate if np.ndim(rate) == 0 else rate.astype(np.float32)


def descend(params: np.ndarray, grads: np.ndarray, weight_mask: np.ndarray, training, state: dict,
            adam_t: int, learning_rate=None) -> None:
    """Regularise, clip, and take one optimiser step in place (maths.py's pieces, as the compiled
    engine's): params (P,) flat, or (networks, P) stacked with every row one network (compare
    mode). New arrays only: `grads` stays as it is, for the gradient norms. `state` holds the
    optimiser's moments; adam_t counts Adam's steps, this one included. learning_rate: instead of
    training's, a (networks, 1) float64 column, one rate a row."""
    # plain dict look-ups (a KeyError for an unknown name, which Experiment refuses first): per step
    g = grads
    if training.regularization != "none":
        g = maths.regularised(g, params, weight_mask, maths.REGULARIZATION_CODES[training.regularization],
                              training.regularization_rate)
    if training.grad_clip is not None:
        g = clip_gradient(g, training.grad_clip)
    lr = training.learning_rate if learning_rate is None else learning_rate
    optimizer = maths.OPTIMIZER_CODES[training.optimizer]
    if optimizer == maths.SGD:
        params -= _rate(lr) * g
    elif optimizer == maths.MOMENTUM_SGD:
        v = state.get("velocity")
        state["velocity"] = v = g.copy() if v is None else maths.momentum_velocity(v, g)
        params -= _rate(lr) * v
    elif optimizer == maths.ADAM:
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(params), np.zeros_like(params)
        m = state["m"] = maths.adam_first(state["m"], g)
        v = state["v"] = maths.adam_second(state["v"], g)
        c1, c2 = maths.adam_corrections(adam_t)
        params -= maths.adam_step(m, v, _rate(lr / c1), c2)


OPTIMIZER_STATE_KEYS = ("velocity", "m", "v")  # momentum's and Adam's moments (_descend, kernel.train)


def _generator_state(rng: np.random.Generator) -> np.ndarray:
    """A PCG64 generator's whole state as six uint64: its 128-bit state and increment in halves,
    and the buffered 32-bit draw (numpy's Generator has no other hidden state)."""
    raw = rng.bit_generator.state
    if raw["bit_generator"] != "PCG64":
        raise ValueError(f"cannot save a {raw['bit_generator']} generator, only PCG64")
    mask = (1 << 64) - 1
    s, inc = raw["state"]["state"], raw["state"]["inc"]
    return np.array([s >> 64, s & mask, inc >> 64, inc & mask, raw["has_uint32"], raw["uinteger"]], np.uint64)


def _generator_from(words: np.ndarray) -> np.random.Generator:
    """The generator _generator_state() described."""
    hi, lo, inc_hi, inc_lo, has_uint32, uinteger = (int(w) for w in words)
    if has_uint32 not in (0, 1) or uinteger >= 1 << 32 or not inc_lo & 1:
        raise ValueError("batch_rng is not a PCG64 generator's state")
    bit_generator = np.random.PCG64()
    bit_generator.state = {"bit_generator": "PCG64", "state": {"state": hi << 64 | lo, "inc": inc_hi << 64 | inc_lo},
                           "has_uint32": has_uint32, "uinteger": uinteger}
    return np.random.Generator(bit_generator)


def _weight_norms(model: MLP, grad: np.ndarray) -> np.ndarray:
    """‖g_W‖ per layer from a flat gradient: one reduceat over the W segments instead of a norm per layer."""
    with np.errstate(all="ignore"):  # a diverging run's gradients overflow; NaN/inf is the answer
        squares = np.add.reduceat(np.square(grad, dtype=np.float64), model.weight_segments)[::2]
        return np.sqrt(squares).astype(np.float32)


def make_snapshot(experiment: Experiment, data, model: MLP, *, step: int, epoch: float,
                  grad_norms: np.ndarray, history: History, grid_size: int = DEFAULT_GRID,
                  diverged: bool = False, message: str | None = None, last_states=None) -> Snapshot:
    """A Snapshot of `model` on `data`: metrics, health and grids are computed here, fresh.

    The trainer uses it live; the exporter uses it to replay recorded weights (MLP.load_flat_state),
    so an exported frame is drawn from exactly what the window would have shown.
    """
    names = experiment.data.features
    (xT_train, xT_test), y_train, y_test = data_columns(data, names), data.train_labels, data.test_labels
    loss_fn = LOSSES[experiment.training.loss]
    with np.errstate(all="ignore"):
        train_logits, Z = model.forward_probe(xT_train)
        # a diverged model is all NaN: keep the last states that were measured on finite weights
        states = last_states if diverged and last_states is not None else classify_columns(model, Z)
        layer_mean, layer_std = layer_statistics(model, Z)  # before the test pass reuses Z's memory
        test_logits, _ = model.forward_probe(xT_test)  # after classifying: it may reuse Z's memory
        feature_grids, output, neuron_grids = render_grids(model, names, grid_size, GRID_EXTENT, data.scaling,
                                                                 loss=experiment.training.loss)
    state = model.state()  # one read-only copy of every array; the weights below are views of it
    nan = float("nan")
    return Snapshot(
        experiment=experiment, step=step, epoch=epoch,
        train_loss=nan if diverged else loss_fn(train_logits, y_train),
        test_loss=nan if diverged else loss_fn(test_logits, y_test),
        train_accuracy=accuracy(train_logits, y_train), test_accuracy=accuracy(test_logits, y_test),
        diverged=diverged, message=message, data=data, grid_extent=GRID_EXTENT,
        feature_grids=feature_grids, output_grid=output, neuron_grids=neuron_grids,
        states=tuple(frozen(s) for s in states),
        weights=tuple((entry["W"], entry["b"]) for entry in state),
        prelu_slopes=tuple(entry.get("slope") for entry in state[:-1]),
        grad_norms=frozen(grad_norms), history=history, layer_mean=layer_mean, layer_std=layer_std)
