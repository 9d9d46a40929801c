"""Compare mode: 2-6 variants of one experiment trained side by side over M seeds, in lockstep.

A variant is the experiment with one field changed (`activation=relu,leaky_relu,elu`,
`training.learning_rate=0.005,0.05`, any field by its dotted path). Seed index s runs the
experiment with seed `base seed + s` in every variant: the same data, the same minibatch order and,
by default, the same initial weights, so only the variant's difference differs.

The variants × seeds networks train as stacked weights: one (networks, parameters) float32 buffer
per group of networks that share an architecture and training settings, and numpy matmul over the
leading network axis. Measured on a 2-8-8-1 net, batch 10, 6 activations × 20 seeds: ~3.2× the
same networks trained one after another on the compiled kernel (bench_compare.py measures it).
A training step there is ~190 µs: ~85 the six activations' f and f' (GELU's f alone ~28: numpy
has no erf), ~56 seven matmuls (BLAS's call per network dominates at these sizes), ~11 the two
copies into aug, ~9 the outer product, ~6 each the loss gradient and the optimiser; the probe
(every 50 steps, 500 points) adds ~35 a step. One thread: with two, BLAS collapses when the other
core is busy with the window.

The maths is the single-network engine's (maths.py), called on stacked arrays: the activations' f
and f', the loss gradient, regularisation, clipping and optimisers (training.descend), the
init (MLP.build, the same random streams), health's definition (health.states_along). What is
written here is only the stacked forward and backward (matmul over the network axis), mirroring
MLP.forward_train / backward_into, and batch norm's (MLP._batch_norm_train / _batch_norm_backward,
running statistics per network, used by the probe, health and grids as MLP.forward_probe does);
tests/test_compare.py checks every activation and optimiser, with and without batch norm, against
a Trainer run of the same experiment and seed.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from dataclasses import dataclass

import numpy as np

from . import maths
from .activations import ACTIVATIONS
from .datasets import DataSplit, make_split
from .experiment import Experiment, ExperimentError
from .fields import FIELDS
from .health import NeuronState, states_along
from .model import BN_EPS, BN_MOMENTUM, MLP
from .plane import DEFAULT_GRID
from .snapshot import History, Snapshot, data_features
from .training import (LOSSES, PROBE_EVERY_STEP_UNTIL, PROBE_INTERVAL, Trainer, accuracy, batch_rng, descend, loss_rows,
                       make_snapshot)

MIN_VARIANTS, MAX_VARIANTS = 2, 6
MAX_SEEDS = 50
TARGET_ACCURACY = 0.95  # "steps to 95 %": the first probed step whose test accuracy reaches this
HISTORY_LIMIT = 2000  # chart rows kept; past this every other row is dropped (as the Trainer's history)
# Fields that only change the starting weights: varying one of them must not copy weights across
# variants (it would erase the difference), and variants differing only there can share a stack.
INIT_FIELDS = ("network.init", "network.init_gain", "network.bias_init", "network.activation_params.prelu_init")

ACCEPTED_FORMS = (
    "FIELD=V1,V2[,...] with 2 to 6 different values, e.g. activation=relu,leaky_relu,elu or "
    "training.learning_rate=0.005,0.05 or network.hidden=[8,8],[16] or network.batch_norm=false,true; "
    "FIELD is activation or any "
    "experiment field by its dotted path (data.*, network.*, training.*, network.activation_params.NAME)")


class SpecError(ValueError):
    """A bad --variants spec: one line naming the problem and the accepted forms."""


@dataclass(frozen=True)
class Variant:
    name: str  # for tables and panels: the value as written ("relu", "learning_rate=0.05")
    experiment: Experiment


# ---- the spec ----------------------------------------------------------------------------------
def parse_variants(spec: str, base: Experiment) -> tuple[str, tuple[Variant, ...]]:
    """`FIELD=V1,V2,...` -> (the field's dotted path, one Variant per value); SpecError if bad."""
    def fail(problem: str):
        raise SpecError(f"--variants {spec!r}: {problem}; expected {ACCEPTED_FORMS}")

    if not isinstance(spec, str) or spec.count("=") < 1:
        fail("no FIELD=")
    field, _, values_text = spec.partition("=")
    field = field.strip()
    path = "network.activation" if field == "activation" else field
    if not _known_field(path):
        fail(f"unknown field {field!r}")
    tokens = _split_values(values_text)
    if tokens is None or any(not t for t in tokens):
        fail("an empty or unbalanced value")
    if not MIN_VARIANTS <= len(tokens) <= MAX_VARIANTS:
        fail(f"{len(tokens)} value{'s' if len(tokens) != 1 else ''}")
    variants, seen = [], set()
    for token in tokens:
        value = _parse_value(token)
        key = json.dumps(value, sort_keys=True)
        if key in seen:
            fail(f"{token} given twice")
        seen.add(key)
        try:
            experiment = _with_path(base, path, value)
        except ExperimentError as error:
            fail(str(error))
        short = path.rsplit(".", 1)[1]
        name = token if path == "network.activation" else f"{short}={token}"
        variants.append(Variant(name, experiment))
    return path, tuple(variants)


def _known_field(path: str) -> bool:
    """A row of the field table, but not the seed (the seeds are the comparison's other axis) nor the
    file's version."""
    return path in FIELDS and path not in ("seed", "version")


def _split_values(text: str) -> list[str] | None:
    """Split on commas outside brackets: `[8,8],[16]` -> ['[8,8]', '[16]']; None if unbalanced."""
    tokens, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth < 0:
                return None
        if char == "," and depth == 0:
            tokens.append(current.strip())
            current = ""
        else:
            current += char
    tokens.append(current.strip())
    return tokens if depth == 0 else None


def _parse_value(token: str):
    """A JSON value (0.05, true, null, [8,8]) or else the bare word as a string (relu)."""
    try:
        return json.loads(token)
    except json.JSONDecodeError:
        return token


def _with_path(base: Experiment, path: str, value) -> Experiment:
    if FIELDS[path].activation is not None:  # one activation parameter: set in the table of them
        params = dict(base.network.activation_params)
        params[FIELDS[path].name] = value
        return base.with_field("network.activation_params", params)
    return base.with_field(path, value)


# ---- one stack of networks -----------------------------------------------------------------------
@dataclass
class _Activation:
    """One hidden layer's activation in one block of rows: (spec, slope, alpha) as MLP layers hold them."""

    spec: object  # activations.Activation
    slope: np.ndarray | float  # Leaky's slope, or PReLU's (rows, 1, units) view of params
    alpha: float
    grad_slope: np.ndarray | None  # PReLU: (rows, 1, units) view of grad

    def __post_init__(self):
        # looked up once; the backward always follows its forward on the same work arrays
        self.f_into, self.slope_into = maths.activation_into(self.spec.name, after_f=True)


@dataclass
class _Block:
    """Consecutive rows of a stack whose networks share their activations (one variant's seeds)."""

    rows: slice
    layers: list[_Activation]  # per hidden layer


def _block(rows: slice, model: MLP, params: np.ndarray, grad: np.ndarray) -> _Block:
    """The block of `rows` (networks like `model`): each hidden layer's activation, PReLU's slopes
    as (rows, 1, units) views of the stack's params and grad."""
    acts = []
    for layer, places in zip(model.layers[:-1], model.layout):
        slope, grad_slope = layer.slope, None
        if layer.learned_slope:
            where = places["slope"].where
            slope = params[rows, where].reshape(rows.stop - rows.start, 1, -1)
            grad_slope = grad[rows, where].reshape(rows.stop - rows.start, 1, -1)
        acts.append(_Activation(ACTIVATIONS[layer.activation], slope, layer.alpha, grad_slope))
    return _Block(rows, acts)


def _merged_blocks(blocks: list[_Block]) -> list[_Block]:
    """Neighbouring blocks with the same activations (and constants) as one: one numpy call per
    activation a layer, not one per variant (variants of a learning rate or an init share theirs).
    PReLU blocks stay apart: their slopes are views of their own rows."""
    def same(a: _Block, b: _Block) -> bool:
        return all(x.spec is y.spec and x.alpha == y.alpha and x.grad_slope is None and y.grad_slope is None
                   and np.array_equal(x.slope, y.slope) for x, y in zip(a.layers, b.layers))

    merged = [blocks[0]]
    for block in blocks[1:]:
        last = merged[-1]
        if last.rows.stop == block.rows.start and same(last, block):
            merged[-1] = _Block(slice(last.rows.start, block.rows.stop), last.layers)
        else:
            merged.append(block)
    return merged


class _Stack:
    """Networks of one parameter layout and one training setting, trained together.

    Row k of `params` is network k's MLP.params (the same layout), so the optimiser update is
    training.descend on the whole (N, P) buffer at once, and each layer's matmul is one call for
    every network; only the activations go block by block (one block per variant).
    """

    def __init__(self, trainings: list, models: list[MLP], datas: list[DataSplit], seeds: list[int],
                 blocks: list[tuple[slice, Experiment]], features: tuple[str, ...]):
        self.training = trainings[0]  # the same for every network, but perhaps the learning rate:
        rates = [t.learning_rate for t in trainings]
        self.learning_rate = None if len(set(rates)) == 1 else np.array(rates, np.float64)[:, None]  # (N, 1)
        first = models[0]
        self.n = len(models)
        self.params = np.stack([m.params for m in models])  # (N, P) float32
        self.grad = np.zeros_like(self.params)
        self.weight_mask = first.weight_mask
        self.Wb, self.grad_Wb, self.WT = [], [], []  # per layer (N, fan_in + 1, fan_out) views, W transposed
        for places in first.layout:  # the layout, as kernel.Plan reads it
            where, shape = places["Wb"].where, places["Wb"].shape
            self.Wb.append(self.params[:, where].reshape(self.n, *shape))
            self.grad_Wb.append(self.grad[:, where].reshape(self.n, *shape))
            self.WT.append(self.Wb[-1][:, :-1].transpose(0, 2, 1))
        self._WT_work = [np.empty(WT.shape, np.float32) for WT in self.WT]  # contiguous copies, per step
        self.blocks = _merged_blocks([_block(rows, models[rows.start], self.params, self.grad) for rows, _ in blocks])
        self._w_out = self.Wb[-1][:, :-1, 0]  # (N, last hidden units): the output layer's weights
        self._init_batch_norm(first, models)
        self._init_data(datas, seeds, features, blocks)
        self._plans: dict[int, dict] = {}  # per batch size: forward's work arrays and bound calls
        self._column_plans: dict[int, list] = {}  # per point count: forward_columns' work arrays
        self.last_logits: np.ndarray | None = None  # (N, n_train + n_test) at the last probe (Comparison keeps it)
        self.good_params = self.params.copy()  # each network's weights at its last probe with finite ones
        self.good_stats: np.ndarray | None = None  # and its batch-norm statistics then (set at the first probe)
        self.state: dict = {}
        self.adam_t = 0
        self._shuffle()

    def _init_data(self, datas: list[DataSplit], seeds: list[int], features: tuple[str, ...], blocks) -> None:
        """The data once per seed slot, not once per network: rows are variant-major (row j·M + s
        is variant j's seed s), so the networks form a (G variants, M slots) grid and every
        variant's networks read the same (M, points, F + 1) arrays, broadcast over G by matmul.
        Copying an epoch out to all 120 rows of the bench's 6 × 20 cost ~12 µs a step. When the
        rows are not in that order (a Comparison always builds them so), every row is its own slot."""
        M = blocks[0][0].stop - blocks[0][0].start
        periodic = self.n % M == 0 and all(seeds[r] == seeds[r % M] and datas[r] is datas[r % M] for r in range(self.n))
        if not periodic:
            M = self.n
        self.grid = (self.n // M, M)  # (G, M)
        x_train, x_test, y_train, y_test = [], [], [], []
        for data in datas[:M]:
            a, b = data_features(data, features)
            x_train.append(a)
            x_test.append(b)
            y_train.append(data.train_labels)
            y_test.append(data.test_labels)
        if len({len(y) for y in y_train}) != 1 or len({len(y) for y in y_test}) != 1:
            raise ValueError("compare mode needs the same number of training points for every seed")
        ones = lambda x: np.concatenate([x, np.ones((*x.shape[:2], 1), np.float32)], axis=2)
        self.x_train = ones(np.stack(x_train))  # (M, n_train, F + 1), with the bias input, as the Trainer's
        self.y_train = np.stack(y_train)  # (M, n_train)
        self.c_train = (1.0 - 2.0 * self.y_train).astype(np.float32)  # 1 - 2y, as the Trainer's
        self.x_all = np.concatenate([self.x_train, ones(np.stack(x_test))], axis=1)  # train then test points
        # the same points as columns (M, F + 1, n), for the inference forward (forward_columns)
        self.x_trainT = np.ascontiguousarray(self.x_train.transpose(0, 2, 1))
        self.x_allT = np.ascontiguousarray(self.x_all.transpose(0, 2, 1))
        slot = np.arange(self.n) % M
        self.y_test = np.stack(y_test)[slot]  # (N, n_test): per network, for the probe's accuracy
        self.seeds = seeds
        unique = sorted(set(seeds[:M]))
        self._rngs = [batch_rng(seed) for seed in unique]  # slots of one seed share its minibatch order
        self._slot_seed = np.array([unique.index(seed) for seed in seeds[:M]])  # slot -> its seed's stream
        self._first_slot_of_seed = np.array([seeds[:M].index(seed) for seed in unique])
        G = self.grid[0]
        # layer 0's weights and gradient as (G, M, fan_in + 1, fan_out): x (M, n, F + 1) broadcasts over G
        self.Wb0 = self.Wb[0].reshape(G, M, *self.Wb[0].shape[1:])
        self.grad_Wb0 = self.grad_Wb[0].reshape(G, M, *self.grad_Wb[0].shape[1:])
        # transposed views (N, fan_out, fan_in + 1) for forward_columns: z = W^T·a + b, points as columns
        self.WbT = [Wb.transpose(0, 2, 1) for Wb in self.Wb]
        self.Wb0T = self.Wb0.transpose(0, 1, 3, 2)

    def _shuffle(self) -> None:
        """A new epoch per seed, from its own stream, as Trainer._shuffle; gathered once per seed."""
        first = self._first_slot_of_seed
        order = np.stack([rng.permutation(self.x_train.shape[1]) for rng in self._rngs])  # (seeds, n_train)
        slots = self._slot_seed
        self.epoch_x = np.take_along_axis(self.x_train[first], order[:, :, None], axis=1)[slots]  # (M, n_train, F + 1)
        self.epoch_y = np.take_along_axis(self.y_train[first], order, axis=1)[slots]
        self.epoch_c = np.take_along_axis(self.c_train[first], order, axis=1)[slots]
        # points as columns for layer 0's weight gradient: a batch's (M, F + 1, n) slice of this
        # is BLAS-ready, the transposed view of epoch_x was not (9.5 -> 5.6 µs a step at 6 × 20)
        self.epoch_xT = np.ascontiguousarray(self.epoch_x.transpose(0, 2, 1))
        self.cursor = 0

    def updates(self, count: int) -> None:
        """`count` minibatch steps of every network (Trainer._update, stacked)."""
        training = self.training
        batch, adam = training.batch_size, training.optimizer == "adam"
        gradient = maths.LOSS_GRADIENTS[maths.code_of(maths.LOSS_CODES, training.loss, "loss")]  # as training.loss_gradient
        n_train = self.epoch_x.shape[1]
        G, M = self.grid
        for _ in range(count):
            if self.cursor >= n_train:
                self._shuffle()
            start, end = self.cursor, self.cursor + batch
            self.cursor = end
            plan, logits = self.forward(self.epoch_x[:, start:end], self.epoch_xT[:, :, start:end])
            n = logits.shape[1]
            dlogits = gradient(logits.reshape(G, M, n), self.epoch_c[:, start:end], self.epoch_y[:, start:end], 1.0 / n)
            self._backward(plan, dlogits.reshape(self.n, n))
            if adam:
                self.adam_t += 1
            descend(self.params, self.grad, self.weight_mask, training, self.state, self.adam_t, self.learning_rate)

    def _plan(self, n: int) -> dict:
        """Work arrays for n points, per hidden layer: z and a, contiguous (ufuncs writing into a
        strided a_aug column block ran 2-7× slower here: relu 1.3 -> 6.7 µs on 20 nets × 10 × 8),
        a copy of a with a column of ones (aug) and its transpose, the backward's dL/da (back) and
        dL/dz (delta), the activations' work space (2, *z.shape); each block's calls with their
        arguments bound (row views of those arrays, its slope and alpha), and the logits, all made
        once, not per step: a step's Python work is then the calls themselves (~100 at 6 × 20).

        Why aug: with the ones column one matmul gives z with its bias and one gives dL/dW with
        dL/db. Adding the bias apart (a (N, 1, 8) broadcast) and summing dL/db apart (np.sum over
        the points into a strided row of grad) cost ~20 and ~60 µs a layer a step at 6 × 20; the
        copy into aug costs ~5-9."""
        G, M = self.grid
        layers = []
        for i, Wb in enumerate(self.Wb[:-1]):
            z = np.empty((self.n, n, Wb.shape[2]), np.float32)
            a, back, delta = np.empty_like(z), np.empty_like(z), np.empty_like(z)
            aug = np.ones((self.n, n, Wb.shape[2] + 1), np.float32)
            work = np.empty((2, *z.shape), np.float32)
            forward, backward = [], []
            for block in self.blocks:
                act, rows = block.layers[i], block.rows
                forward.append((act.f_into, z[rows], a[rows], work[:, rows], act.slope, act.alpha))
                backward.append((act.slope_into, z[rows], a[rows], back[rows], delta[rows], work[:, rows],
                                 act.slope, act.alpha, act.grad_slope))
            layers.append({"z": z, "z_grid": z.reshape(G, M, n, z.shape[2]), "a": a, "aug": aug,
                           "aug_a": aug[..., :-1], "augT": aug.transpose(0, 2, 1), "back": back, "delta": delta,
                           "forward": forward, "backward": backward})
        logits = np.empty((self.n, n, 1), np.float32)
        return {"layers": layers, "logits": logits, "logits_grid": logits.reshape(G, M, n, 1)}

    def forward(self, x: np.ndarray, xT: np.ndarray):
        """x (M, n, F + 1), per seed slot, with a column of ones -> (the work plan holding every
        hidden layer's z and a, logits (N, n)). MLP.forward_train over a network axis: every
        layer's input carries its column of ones (x its own, a hidden layer's in its aug copy).
        The plan and the logits are reused by the next call with n points. z is the activation's
        input: after batch norm, which uses this batch's statistics and moves the running ones.
        xT: x's points as columns, contiguous (M, F + 1, n), for layer 0's weight gradient."""
        n = x.shape[1]
        plan = self._plans.get(n)
        if plan is None:
            plan = self._plans[n] = self._plan(n)
        self._xT = xT
        below = x
        for i, layer in enumerate(plan["layers"]):
            if i == 0:
                np.matmul(x, self.Wb0, out=layer["z_grid"])
            else:
                np.matmul(below, self.Wb[i], out=layer["z"])
            if self.bn:
                self._bn_train(i, layer["z"])
            for f_into, z, a, work, slope, alpha in layer["forward"]:
                f_into(z, a, work, slope, alpha)
            np.copyto(layer["aug_a"], layer["a"])
            below = layer["aug"]
        if plan["layers"]:
            np.matmul(below, self.Wb[-1], out=plan["logits"])
        else:  # no hidden layer: the output reads x
            np.matmul(x, self.Wb0, out=plan["logits_grid"])
        return plan, plan["logits"][..., 0]

    def _backward(self, plan: dict, dlogits: np.ndarray) -> None:
        """dL/dlogit (N, n) back into `grad` (MLP.backward_into over a network axis)."""
        layers = plan["layers"]
        i = len(layers)
        self._weight_grad(i, layers, dlogits[..., None])
        if not i:
            return
        # dL/da of the last hidden layer, the outer product dL/dlogit ⊗ w (einsum: ~8 µs at 6 × 20,
        # a broadcast multiply ~11, a K = 1 matmul ~13; one product a number, so the same numbers)
        np.einsum("ni,nj->nij", dlogits, self._w_out, out=layers[-1]["back"])
        for i in range(i - 1, -1, -1):
            layer = layers[i]
            # dL/dz = dL/da · f'(z) per block, in place in delta (and PReLU's dL/dslope), as MLP.backward_into
            for slope_into, z, a, back, delta, work, slope, alpha, grad_slope in layer["backward"]:
                if grad_slope is not None:  # PReLU: d a / d slope = z where z <= 0
                    np.sum(back * np.minimum(z, 0.0), axis=1, keepdims=True, out=grad_slope)
                slope_into(z, a, delta, work, slope, alpha)
                np.multiply(back, delta, out=delta)
            delta = layer["delta"]
            if self.bn:
                delta = self._bn_backward(i, delta)
            self._weight_grad(i, layers, delta)
            if i:  # W transposed copied first: the strided view made matmul slower (17 -> 11 µs at 6 × 20)
                np.copyto(self._WT_work[i], self.WT[i])
                np.matmul(delta, self._WT_work[i], out=layers[i - 1]["back"])

    def _weight_grad(self, i: int, layers: list, delta: np.ndarray) -> None:
        """dL/dW and dL/db of layer i from its delta (N, n, fan_out), into grad."""
        if i == 0:  # x is per seed slot: (M, F + 1, n) @ (G, M, n, fan_out), broadcast over G
            G, M = self.grid
            np.matmul(self._xT, delta.reshape(G, M, *delta.shape[1:]), out=self.grad_Wb0)
        else:
            np.matmul(layers[i - 1]["augT"], delta, out=self.grad_Wb[i])  # (N, fan_in + 1, n), the last row ones

    # ---- batch norm (MLP's _batch_norm_train and _batch_norm_backward over a network axis) -----
    def _init_batch_norm(self, first: MLP, models: list[MLP]) -> None:
        """gamma and beta: (N, 1, units) views of params and grad; the running statistics live in
        `stats` (N, S), laid out as MLP.flat_state appends them (per layer its mean, then its
        variance), so a network's params and stats row together are its flat_state."""
        self.bn = first.layers[0].gamma is not None
        self.gamma, self.beta, self.grad_gamma, self.grad_beta = [], [], [], []
        self.running_mean, self.running_var = [], []
        self._bn_cache: list = []
        stats = [np.concatenate([s for layer in m.layers for s in (layer.running_mean, layer.running_var)
                                 if s is not None] or [np.zeros(0, np.float32)]) for m in models]
        self.stats = np.stack(stats).astype(np.float32)  # (N, S); S = 0 without batch norm
        if not self.bn:
            return
        view = lambda buffer, where: buffer[:, where].reshape(self.n, 1, -1)
        offset = 0
        for places in first.layout[:-1]:
            self.gamma.append(view(self.params, places["gamma"].where))
            self.beta.append(view(self.params, places["beta"].where))
            self.grad_gamma.append(view(self.grad, places["gamma"].where))
            self.grad_beta.append(view(self.grad, places["beta"].where))
            units = places["gamma"].shape[0]
            self.running_mean.append(view(self.stats, slice(offset, offset + units)))
            self.running_var.append(view(self.stats, slice(offset + units, offset + 2 * units)))
            offset += 2 * units
            self._bn_cache.append(None)

    def _bn_train(self, i: int, z: np.ndarray) -> None:
        """z (N, n, units) normalised in place with this batch's statistics per network (the
        running ones for a single point); the running averages move as the Trainer's do."""
        n = z.shape[1]
        batch_stats = n > 1  # one point has no variance: the running statistics
        if batch_stats:
            mean, var = z.mean(1, keepdims=True), z.var(1, keepdims=True)
        else:
            mean, var = self.running_mean[i], self.running_var[i]
        inv_std = 1.0 / np.sqrt(var + BN_EPS)
        zhat = (z - mean) * inv_std
        if batch_stats:  # in place, rounded as MLP's (0.9 * old + 0.1 * new, in float32)
            rm, rv = self.running_mean[i], self.running_var[i]
            rm *= 1 - BN_MOMENTUM
            rm += BN_MOMENTUM * mean
            rv *= 1 - BN_MOMENTUM
            rv += BN_MOMENTUM * var * (n / (n - 1))
        np.multiply(zhat, self.gamma[i], out=z)
        z += self.beta[i]
        self._bn_cache[i] = (zhat, inv_std, batch_stats)

    def _bn_eval(self, i: int, z: np.ndarray) -> None:
        """z (N, units, n), points as columns, normalised in place with the running statistics, as
        MLP.forward_probe does (the (N, 1, units) views of the statistics and gamma, beta transposed)."""
        mean, var, gamma, beta = (v.transpose(0, 2, 1) for v in
                                  (self.running_mean[i], self.running_var[i], self.gamma[i], self.beta[i]))
        z -= mean
        z *= gamma / np.sqrt(var + BN_EPS)
        z += beta

    def _bn_backward(self, i: int, delta: np.ndarray) -> np.ndarray:
        """dL/dz after batch norm (N, n, units) -> before it; writes dL/dgamma and dL/dbeta."""
        zhat, inv_std, batch_stats = self._bn_cache[i]
        np.sum(delta * zhat, axis=1, keepdims=True, out=self.grad_gamma[i])
        np.sum(delta, axis=1, keepdims=True, out=self.grad_beta[i])
        dzhat = delta * self.gamma[i]
        if not batch_stats:
            return dzhat * inv_std
        n = zhat.shape[1]  # the batch mean and variance depend on every point too
        return (inv_std / n) * (n * dzhat - dzhat.sum(1, keepdims=True) - zhat * (dzhat * zhat).sum(1, keepdims=True))

    # ---- probing ---------------------------------------------------------------------------------
    def logits_everywhere(self) -> np.ndarray:
        """(N, n_train + n_test) logits on every point, train points first (batch norm: running statistics)."""
        return self.forward_columns(self.x_allT)[1]

    def forward_columns(self, xT: np.ndarray):
        """The inference forward with points as columns (MLP.forward_probe over a network axis):
        xT (M, F + 1, n) per seed slot, its last row ones -> (each hidden layer's z (N, units, n),
        logits (N, n)); batch norm with the running statistics. For the probe, health and grids.

        Each activation writes straight into the next layer's input A (N, units + 1, n), whose
        last row is ones: a network's rows are contiguous there, so no copy. At 500 points the rows
        layout's copy of a into its augmented (N, n, units + 1) array was ~280 µs a layer of the
        ~2.5 ms probe at 6 × 20 (the training batches stay in rows: at 10 points the transposed
        weights made matmul 3× slower). The z's are work arrays, reused by the next call with n points."""
        G, M = self.grid
        n = xT.shape[2]
        plan = self._column_plans.get(n)
        if plan is None:
            plan = self._column_plans[n] = self._column_plan(n)
        below = xT
        for i, (z, A, per_block) in enumerate(plan):
            if i == 0:
                np.matmul(self.Wb0T, xT, out=z.reshape(G, M, *z.shape[1:]))
            else:
                np.matmul(self.WbT[i], below, out=z)
            if self.bn:
                self._bn_eval(i, z)
            for block, (zb, ab, workb, slope) in zip(self.blocks, per_block):
                act = block.layers[i]
                act.f_into(zb, ab, workb, slope, act.alpha)
            below = A
        out = np.empty((self.n, 1, n), np.float32)
        if plan:
            np.matmul(self.WbT[-1], below, out=out)
        else:  # no hidden layer: the output reads x
            np.matmul(self.Wb0T, xT, out=out.reshape(G, M, 1, n))
        return [z for z, _, _ in plan], out[:, 0]

    def _column_plan(self, n: int) -> list:
        """forward_columns' work arrays for n points, per hidden layer: z (N, units, n), A (N, units
        + 1, n) with its row of ones, and per block its views of z, of A's units rows and of the
        activations' work space, with its slope as columns (PReLU's (rows, units, 1) view of params)."""
        plan = []
        for i, Wb in enumerate(self.Wb[:-1]):
            z = np.empty((self.n, Wb.shape[2], n), np.float32)
            A = np.ones((self.n, Wb.shape[2] + 1, n), np.float32)
            work = np.empty((2, *z.shape), np.float32)
            per_block = []
            for block in self.blocks:
                act, rows = block.layers[i], block.rows
                slope = act.slope.transpose(0, 2, 1) if act.grad_slope is not None else act.slope
                per_block.append((z[rows], A[rows, :-1], work[:, rows], slope))
            plan.append((z, A, per_block))
        return plan

    def states(self, params: np.ndarray, stats: np.ndarray) -> list[np.ndarray]:
        """Health on the training points (SCIENCE.md's definition, health.states_along) of the
        networks with these parameters (N, P) and batch-norm statistics (N, S): per hidden layer
        (N, units) NeuronState."""
        kept, kept_stats = self.params.copy(), self.stats.copy()
        self.params[...] = params
        self.stats[...] = stats
        states = []
        try:  # the states inside too: PReLU's slopes are views of params, and must be these ones
            zs, _ = self.forward_columns(self.x_trainT)
            for i, z in enumerate(zs):  # z (N, units, n)
                layer_states = np.empty(z.shape[:2], np.int8)
                for block, (_, _, _, slope) in zip(self.blocks, self._column_plans[z.shape[2]][i][2]):
                    act = block.layers[i]
                    layer_states[block.rows] = states_along(act.spec, z[block.rows], slope, act.alpha, axis=2)
                states.append(layer_states)
        finally:
            self.params[...] = kept
            self.stats[...] = kept_stats
        return states


# ---- the comparison ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Stats:
    """Mean, min and max over the seeds that have a value (a diverged seed has no accuracy or
    loss: it is counted under `diverged` instead); None each when no seed has one."""

    mean: float | None
    min: float | None
    max: float | None

    @classmethod
    def of(cls, values) -> Stats:
        values = np.asarray(values, np.float64)
        values = values[np.isfinite(values)]
        if not len(values):
            return cls(None, None, None)
        return cls(float(values.mean()), float(values.min()), float(values.max()))

    def to_dict(self) -> dict:
        return {"mean": self.mean, "min": self.min, "max": self.max}


@dataclass(frozen=True)
class VariantResult:
    """One variant over its seeds, at one step."""

    name: str
    train_loss: Stats  # each over the seeds that did not diverge
    test_accuracy: Stats
    dead_fraction: Stats
    diverged: int  # seeds that diverged
    steps_to_95: float | None  # median over seeds (a seed that never got there counts as never)
    reached_95: int  # seeds that got there
    seeds_with_dead: int  # seeds with at least one dead neuron ("ReLU: dead in 7 of 20 seeds")
    per_seed_test_accuracy: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"name": self.name, "test_accuracy": self.test_accuracy.to_dict(),
                "dead_fraction": self.dead_fraction.to_dict(), "diverged": self.diverged,
                "steps_to_95": self.steps_to_95}


class Comparison:
    """variants × seeds networks trained in lockstep. Not thread-safe: one thread owns it."""

    def __init__(self, variants: tuple[Variant, ...], seeds: int = 10, *, same_start: bool | None = None,
                 field: str | None = None):
        """same_start: every variant starts from the first variant's weights for each seed (its W
        and b; PReLU's slopes start from prelu_init). None: on, unless `field` only changes the
        starting weights (then the copy would erase the difference) or the shapes differ."""
        if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
            raise ValueError(f"{len(variants)} variants: compare takes {MIN_VARIANTS} to {MAX_VARIANTS}")
        if not 1 <= seeds <= MAX_SEEDS:
            raise ValueError(f"seeds = {seeds} is not allowed: 1 to {MAX_SEEDS}")
        self.variants = variants
        self.seeds = seeds
        self.field = field
        shapes_match = len({(v.experiment.network.hidden, v.experiment.data.features) for v in variants}) == 1
        if same_start is None:
            same_start = shapes_match and field not in INIT_FIELDS
        elif same_start and not shapes_match:
            raise ValueError("same start needs every variant to have the same layer sizes and inputs")
        self.same_start = same_start
        self.reset()

    def experiment(self, variant: int, seed: int) -> Experiment:
        base = self.variants[variant].experiment
        return dataclasses.replace(base, seed=base.seed + seed)

    def reset(self) -> None:
        """Fresh weights from the seeds, step 0; rebuilds everything (the data is regenerated from
        the same seeds, so it is the same)."""
        V, M = len(self.variants), self.seeds
        datas: dict[tuple, DataSplit] = {}
        self.models: list[list[MLP]] = []
        for v in range(V):
            row = []
            for s in range(M):
                exp = self.experiment(v, s)
                key = (exp.data, exp.seed)
                if key not in datas:
                    datas[key] = make_split(exp.data, exp.seed)
                x_train, _ = data_features(datas[key], exp.data.features)
                model = MLP.build(x_train.shape[1], exp.network, exp.seed)
                if self.same_start and v:
                    for layer, first in zip(model.layers, self.models[0][s].layers):
                        layer.Wb[...] = first.Wb
                row.append(model)
            self.models.append(row)
        # one stack per parameter layout and training setting: variants that differ only in their
        # activations (but PReLU, whose slopes are parameters) or their start share one
        groups: dict[tuple, list[int]] = {}
        for v, variant in enumerate(self.variants):
            groups.setdefault(_stack_key(variant.experiment), []).append(v)
        self._stacks: list[tuple[_Stack, np.ndarray]] = []  # each with its networks' indices k = v * M + s
        self._rows: list[tuple[_Stack, int]] = [None] * (V * M)  # k -> (stack, row)
        for members in groups.values():
            index = [(v, s) for v in members for s in range(M)]
            exps = [self.experiment(v, s) for v, s in index]
            blocks = [(slice(j * M, (j + 1) * M), self.variants[v].experiment) for j, v in enumerate(members)]
            stack = _Stack([e.training for e in exps], [self.models[v][s] for v, s in index],
                           [datas[(e.data, e.seed)] for e in exps], [e.seed for e in exps], blocks,
                           exps[0].data.features)
            for row, (v, s) in enumerate(index):
                self._rows[v * M + s] = (stack, row)
            self._stacks.append((stack, np.array([v * M + s for v, s in index])))
        self.datas = [[datas[(self.experiment(v, s).data, self.experiment(v, s).seed)] for s in range(M)]
                      for v in range(V)]
        n = V * M
        self.step_count = 0
        self.diverged_at = np.full(n, -1, np.int64)  # the probed step it diverged at, -1 if it has not
        self.reached_at = np.full(n, -1, np.int64)  # the first probed step at TARGET_ACCURACY or above
        self._frozen_params: dict[int, np.ndarray] = {}  # a diverged network's weights when it diverged
        self._frozen_stats: dict[int, np.ndarray] = {}  # and its batch-norm statistics
        self._accuracy = np.full(n, np.nan)  # test accuracy at the last probe
        self._history_steps: list[int] = []
        self._history_accuracy: list[np.ndarray] = []  # per row (n,) test accuracy
        self._every = 1  # history rows every PROBE_INTERVAL * this steps past the first 100
        self._probed_at = -1
        self._probe()

    # ---- training -------------------------------------------------------------------------------
    def step(self, n: int = 1) -> int:
        """n minibatch updates of every network, probing on the Trainer's schedule. Returns n."""
        done = 0
        with np.errstate(all="ignore"):  # diverging runs make inf/nan on purpose; probes catch them
            while done < n:
                run = min(n - done, Trainer._steps_to_probe(self.step_count))
                for stack, _ in self._stacks:
                    stack.updates(run)
                done += run
                self.step_count += run
                if Trainer._probe_due(self.step_count):
                    self._probe()
        return done

    def _probe(self, scheduled: bool = True) -> None:
        """Test accuracy and health of every network. One that diverged (as the Trainer says: a
        non-finite loss or weights at a probe) keeps what it had then: the Trainer stops it there.
        An unscheduled probe (finish(), a frame for the window) only refreshes what results() read:
        divergence, steps to 95 % and the chart's rows stay on the Trainer's schedule, so they do
        not depend on when frames were drawn."""
        step = self.step_count
        for stack, ks in self._stacks:
            logits = stack.logits_everywhere()
            n_train = stack.x_train.shape[1]
            finite = np.isfinite(logits).all(1) & np.isfinite(stack.params).all(1)
            test_accuracy = (np.count_nonzero((logits[:, n_train:] > 0) == (stack.y_test > 0.5), axis=1)
                             / stack.y_test.shape[1])  # training.accuracy, per network
            test_accuracy[~np.isfinite(logits[:, n_train:]).all(1)] = np.nan  # a diverged network has none
            active = self.diverged_at[ks] < 0
            newly = active & ~finite if scheduled else np.zeros_like(active)
            self.diverged_at[ks[newly]] = step
            for row in np.flatnonzero(newly):
                self._frozen_params[int(ks[row])] = stack.params[row].copy()
                self._frozen_stats[int(ks[row])] = stack.stats[row].copy()
            if stack.last_logits is None:
                stack.last_logits = logits.copy()
            stack.last_logits[active] = logits[active]
            ok = active & finite  # a diverged network's health stays that of its last finite weights (Trainer.states)
            stack.good_params[ok] = stack.params[ok]
            if stack.good_stats is None:
                stack.good_stats = stack.stats.copy()
            stack.good_stats[ok] = stack.stats[ok]
            self._accuracy[ks[active]] = test_accuracy[active]
            if scheduled:
                reached = ok & (test_accuracy >= TARGET_ACCURACY) & (self.reached_at[ks] < 0)
                self.reached_at[ks[reached]] = step
        self._states = None  # health is computed when asked for (states()), from good_params
        self._results = None  # and results() once per probe (a live window asks ~20 times a second)
        self._probed_at = step
        if not scheduled:
            return
        if step <= PROBE_EVERY_STEP_UNTIL or step % (PROBE_INTERVAL * self._every) == 0:
            self._history_steps.append(step)
            self._history_accuracy.append(self._accuracy.copy())
            if len(self._history_steps) > HISTORY_LIMIT:
                self._history_steps = self._history_steps[::2]
                self._history_accuracy = self._history_accuracy[::2]
                self._every *= 2

    # ---- results --------------------------------------------------------------------------------
    def network_params(self, variant: int, seed: int) -> np.ndarray:
        """Network (variant, seed)'s flat parameters, laid out as its MLP.params (a copy)."""
        k = variant * self.seeds + seed
        if k in self._frozen_params:
            return self._frozen_params[k].copy()
        stack, row = self._rows[k]
        return stack.params[row].copy()

    def network_flat_state(self, variant: int, seed: int) -> np.ndarray:
        """Network (variant, seed)'s MLP.flat_state(): its parameters, then its batch-norm statistics."""
        k = variant * self.seeds + seed
        stack, row = self._rows[k]
        stats = self._frozen_stats[k] if k in self._frozen_stats else stack.stats[row]
        return np.concatenate([self.network_params(variant, seed), stats])

    def network_metrics(self, variant: int, seed: int) -> dict:
        """At the last probe: train_loss, test_accuracy, train_accuracy, dead_fraction, states, diverged."""
        k = variant * self.seeds + seed
        stack, row = self._rows[k]
        logits = stack.last_logits[row]
        states = tuple(layer[row].copy() for layer in self._stack_states(stack))
        data = self.datas[variant][seed]
        n_train = len(data.train_labels)
        diverged = bool(self.diverged_at[k] >= 0)
        loss = LOSSES[self.variants[variant].experiment.training.loss]
        every = np.concatenate(states) if states else np.zeros(0, np.int8)
        return {"train_loss": math.nan if diverged else loss(logits[:n_train], data.train_labels),
                "test_accuracy": accuracy(logits[n_train:], data.test_labels),
                "train_accuracy": accuracy(logits[:n_train], data.train_labels),
                "dead_fraction": float(np.count_nonzero(every == NeuronState.DEAD) / max(len(every), 1)),
                "states": states, "diverged": diverged}

    def _stack_states(self, stack: _Stack) -> list[np.ndarray]:
        """Health of a stack's networks at the last probe (each diverged one: at its last finite
        weights, as the Trainer keeps them). Health is not probed at every probe as the Trainer's
        is: compare shows no dead-share chart, so it is computed only when results or frames need
        it (once per probe at most), which saves ~half of each probe."""
        if self._states is None:
            self._states = {}
        if id(stack) not in self._states:
            self._states[id(stack)] = stack.states(stack.good_params, stack.good_stats)
        return self._states[id(stack)]

    def results(self) -> list[VariantResult]:
        """Per variant, over its seeds, at the last probe (the last step when it ends on a probe:
        call finish() first to probe the last step)."""
        if self._results is not None:  # nothing changed since the last call: no probe since
            return list(self._results)
        out = []
        train_loss, test_accuracy, dead_fraction = self._all_metrics()
        for v, variant in enumerate(self.variants):
            ks = slice(v * self.seeds, (v + 1) * self.seeds)
            reached = np.where(self.reached_at[ks] >= 0, self.reached_at[ks], np.inf)
            median = float(np.median(reached))
            out.append(VariantResult(
                name=variant.name,
                train_loss=Stats.of(train_loss[ks]),
                test_accuracy=Stats.of(test_accuracy[ks]),
                dead_fraction=Stats.of(dead_fraction[ks]),
                diverged=int(np.count_nonzero(self.diverged_at[ks] >= 0)),
                steps_to_95=median if math.isfinite(median) else None,
                reached_95=int(np.count_nonzero(np.isfinite(reached))),
                seeds_with_dead=int(np.count_nonzero(dead_fraction[ks] > 0)),
                per_seed_test_accuracy=tuple(float(a) for a in test_accuracy[ks])))
        self._results = tuple(out)
        return out

    def _all_metrics(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """network_metrics' train_loss, test_accuracy and dead_fraction of every network k at
        once, (V·M,) float64 each: a stack's rows in a few numpy calls (network by network, 120
        calls of ~30 µs were ~3.6 ms of every frame the window draws at 6 × 20)."""
        n = len(self.variants) * self.seeds
        train_loss, test_accuracy, dead_fraction = np.empty(n), np.empty(n), np.empty(n)
        with np.errstate(all="ignore"):  # a diverged network's logits are inf/nan: its loss is NaN
            self._fill_metrics(train_loss, test_accuracy, dead_fraction)
        return train_loss, test_accuracy, dead_fraction

    def _fill_metrics(self, train_loss: np.ndarray, test_accuracy: np.ndarray, dead_fraction: np.ndarray) -> None:
        for stack, ks in self._stacks:
            G, M = stack.grid
            n_train = stack.x_train.shape[1]
            logits = stack.last_logits
            train = logits[:, :n_train].reshape(G, M, n_train)
            y = stack.y_train  # (M, n_train), broadcast over G
            loss = loss_rows(stack.training.loss)(train, y).reshape(-1)  # (G, M) -> (G·M,): the Trainer's formula
            loss[self.diverged_at[ks] >= 0] = np.nan
            train_loss[ks] = loss
            test = logits[:, n_train:]
            hits = np.count_nonzero((test > 0) == (stack.y_test > 0.5), axis=1) / max(test.shape[1], 1)
            hits[~np.isfinite(test).all(1)] = np.nan  # training.accuracy: a non-finite logit has none
            test_accuracy[ks] = hits
            states = self._stack_states(stack)
            dead = sum(np.count_nonzero(layer == NeuronState.DEAD, axis=1) for layer in states)
            units = sum(layer.shape[1] for layer in states)
            dead_fraction[ks] = dead / max(units, 1) if states else 0.0

    def finish(self) -> None:
        """Probe now if the last step was not probed, so results() speak of the last step."""
        if self._probed_at != self.step_count:
            with np.errstate(all="ignore"):
                self._probe(scheduled=False)

    def accuracy_history(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps (T,), test accuracy (T, variants, seeds)) of the recorded probes, copies."""
        steps = np.asarray(self._history_steps, np.int64)
        values = np.asarray(self._history_accuracy, np.float32).reshape(len(steps), len(self.variants), self.seeds)
        return steps, values

    def snapshot(self, variant: int, seed: int = 0, grid_size: int = DEFAULT_GRID) -> Snapshot:
        """A real Snapshot of one network (its MLP rebuilt with the stacked weights) for the views."""
        exp = self.experiment(variant, seed)
        model = self.models[variant][seed]
        model.load_flat_state(self.network_flat_state(variant, seed))
        k = variant * self.seeds + seed
        data = self.datas[variant][seed]
        diverged = bool(self.diverged_at[k] >= 0)
        n_layers = len(model.layers)
        nothing = np.zeros(0, np.float32)
        history = History(steps=np.zeros(0, np.int64), train_loss=nothing, test_loss=nothing, train_accuracy=nothing,
                          test_accuracy=nothing, dead_fraction=nothing, saturated_fraction=nothing,
                          sleeping_fraction=nothing, grad_norms=np.zeros((0, n_layers), np.float32))
        step = int(self.diverged_at[k]) if diverged else self.step_count
        epoch = step * exp.training.batch_size / len(data.train_labels)
        message = f"Diverged at step {step}." if diverged else None
        return make_snapshot(exp, data, model, step=step, epoch=epoch,
                             grad_norms=np.full(n_layers, np.nan, np.float32), history=history,
                             grid_size=grid_size, diverged=diverged, message=message,
                             last_states=self.network_metrics(variant, seed)["states"])


def _stack_key(experiment: Experiment) -> tuple:
    """What a stack's networks share: the data settings, the training settings but the learning
    rate (a column of rates, one a network, is as cheap as one), and the parameter layout (layer
    sizes; which layers are PReLU, whose slopes are parameters)."""
    network = experiment.network
    prelu = tuple(name == "prelu" for name in network.layer_activations())
    training = dataclasses.replace(experiment.training, learning_rate=1.0)
    return experiment.data, training, network.hidden, prelu, network.batch_norm


# ---- frames for the window -------------------------------------------------------------------------
@dataclass(frozen=True)
class CompareFrame:
    """Everything the compare window draws at one step; immutable, so it can cross threads."""

    step: int
    epoch: float  # passes over the training set so far (every seed's set is the same size)
    seeds: int
    results: tuple[VariantResult, ...]  # per variant, over its seeds
    steps: np.ndarray  # (T,) int64 recorded probe steps, read-only
    accuracy: np.ndarray  # (T, variants, seeds) float32 test accuracy at those steps, read-only
    snapshots: tuple[Snapshot, ...]  # per variant: seed 0's network, for its boundary and network views
    same_start: bool


def make_frame(comparison: Comparison, grid_size: int = 60) -> CompareFrame:
    """A CompareFrame of the comparison now (health computed for it; seed 0 of each variant drawn)."""
    from .snapshot import frozen

    steps, accuracy = comparison.accuracy_history()
    exp = comparison.variants[0].experiment
    n_train = len(comparison.datas[0][0].train_labels)
    return CompareFrame(
        step=comparison.step_count, epoch=comparison.step_count * exp.training.batch_size / n_train,
        seeds=comparison.seeds, results=tuple(comparison.results()), steps=frozen(steps),
        accuracy=frozen(accuracy),
        snapshots=tuple(comparison.snapshot(v, 0, grid_size) for v in range(len(comparison.variants))),
        same_start=comparison.same_start)


# ---- the table as CSV -----------------------------------------------------------------------------
CSV_COLUMNS = ("variant", "seeds", "test_accuracy_mean", "test_accuracy_min", "test_accuracy_max",
               "dead_fraction_mean", "dead_fraction_min", "dead_fraction_max", "seeds_with_dead", "diverged",
               "steps_to_95", "reached_95")


def table_csv(results: list[VariantResult], seeds: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in results:
        a, d = r.test_accuracy, r.dead_fraction
        writer.writerow([r.name, seeds, a.mean, a.min, a.max, d.mean, d.min, d.max, r.seeds_with_dead, r.diverged,
                         "" if r.steps_to_95 is None else r.steps_to_95, r.reached_95])
    return out.getvalue()
