"""Trainer: steps a network on an experiment's data, probes its health, and hands out snapshots.

A step is one minibatch update. Changes arrive as whole new experiments through apply(): training
settings (learning rate, optimiser, batch size, loss, regularisation, clipping) and Leaky/ELU
parameters change live; anything about the data, the seed or the network's shape rebuilds, with the
same seed, so two activations start from comparable weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .datasets import features, make_split
from .experiment import Experiment, Network
from .health import classify, fractions
from .model import MLP
from .snapshot import DEFAULT_GRID, GRID_EXTENT, History, Snapshot, frozen, render_grids

PROBE_EVERY_STEP_UNTIL = 100  # deaths happen early (SCIENCE.md): probe every step at first
PROBE_INTERVAL = 10  # then every 10 steps
HISTORY_LIMIT = 2000  # rows kept; past this the history is thinned by half and records half as often
MOMENTUM = 0.9
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def bce_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy on logits, stable for large |logit|."""
    return float(np.mean(np.logaddexp(0.0, logits) - labels * logits))


def mse_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared error of the output probability."""
    p = 0.5 + 0.5 * np.tanh(0.5 * logits)
    return float(np.mean((p - labels) ** 2))


LOSSES = {"bce": bce_loss, "mse": mse_loss}


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((logits > 0) == (labels > 0.5))) if len(labels) else float("nan")


def _structure(network: Network) -> tuple:
    """What, when changed, needs new weights (Leaky's slope and ELU's alpha do not)."""
    return (network.hidden, network.layer_activations(), network.init, network.init_gain,
            network.bias_init, network.batch_norm, network.param("prelu_init"))


@dataclass
class _Record:
    rows: list  # tuples matching History's fields
    every: int = PROBE_INTERVAL


class Trainer:
    """Trains one experiment. Not thread-safe: one thread owns it; others receive snapshots."""

    def __init__(self, experiment: Experiment, grid_size: int = DEFAULT_GRID):
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
        self._x_train = features(self.data.train_points, names)
        self._y_train = np.ascontiguousarray(self.data.train_labels)
        self._x_test = features(self.data.test_points, names)
        self._y_test = np.ascontiguousarray(self.data.test_labels)

    def reset(self) -> None:
        """Fresh weights from the seed, step 0; the data stays."""
        exp = self._experiment
        self.model = MLP.build(self._x_train.shape[1], exp.network, exp.seed)
        self._batch_rng = np.random.default_rng(np.random.SeedSequence([exp.seed, 3]))  # stream 3
        self._order = self._batch_rng.permutation(len(self._x_train))
        self._cursor = 0
        self.step_count = 0
        self.points_seen = 0
        self.diverged = False
        self.message: str | None = None
        self._optimizer_state: dict = {}
        self._adam_t = 0
        self._last_grads: dict | None = None
        self._record = _Record(rows=[])
        self.states = [np.zeros(n, np.int8) for n in exp.network.hidden]
        self._probe()

    def apply(self, experiment: Experiment) -> str:
        """Take a changed experiment. Returns "hot", "model" (new weights) or "data" (new data too)."""
        old, self._experiment = self._experiment, experiment
        if experiment.data != old.data or experiment.seed != old.seed:
            self._build_data()
            self.reset()
            return "data"
        if _structure(experiment.network) != _structure(old.network):
            self.reset()
            return "model"
        self.model.set_activation_params(experiment.network)
        if experiment.training.optimizer != old.training.optimizer:
            self._optimizer_state, self._adam_t = {}, 0  # the weights stay; the moments start over
        return "hot"

    @property
    def epoch(self) -> float:
        return self.points_seen / len(self._x_train)

    # ---- training ------------------------------------------------------------------------------
    def step(self, n: int = 1) -> int:
        """Up to n updates; fewer if the run diverges. Returns how many were done."""
        done = 0
        with np.errstate(all="ignore"):  # a diverging run makes inf/nan on purpose; it is caught below
            while done < n and not self.diverged:
                self._update()
                done += 1
                self.step_count += 1
                if self.step_count <= PROBE_EVERY_STEP_UNTIL or self.step_count % PROBE_INTERVAL == 0:
                    self._probe()
        return done

    def _next_batch(self) -> np.ndarray:
        size = self._experiment.training.batch_size
        n = len(self._order)
        if self._cursor >= n:
            self._order = self._batch_rng.permutation(n)
            self._cursor = 0
        batch = self._order[self._cursor:self._cursor + size]
        self._cursor += size
        return batch

    def _update(self) -> None:
        training = self._experiment.training
        index = self._next_batch()
        x, y = self._x_train[index], self._y_train[index]
        self.points_seen += len(index)
        logits, cache = self.model.forward_train(x)
        p = 0.5 + 0.5 * np.tanh(0.5 * logits)
        if training.loss == "bce":
            dlogits = (p - y) * (1.0 / len(y))
        else:  # d mean((p - y)²) / d logit
            dlogits = (p - y) * p * (1.0 - p) * (2.0 / len(y))
        grads = self.model.backward(cache, dlogits)
        self._last_grads = grads
        self._descend(grads, training)

    def _descend(self, grads: dict, training) -> None:
        """Regularise, clip, and take one optimiser step. New arrays only: _last_grads stays raw."""
        params = self.model.parameters()
        rate = training.regularization_rate
        if training.regularization != "none" and rate > 0:
            grads = dict(grads)
            for kind, i, p in params:
                if kind == "W":  # weights only: never biases, PReLU slopes or batch norm
                    extra = p if training.regularization == "l2" else np.sign(p)
                    grads[(kind, i)] = grads[(kind, i)] + rate * extra
        if training.grad_clip is not None:
            total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
            if total > training.grad_clip:
                scale = training.grad_clip / (total + 1e-6)  # torch's clip_grad_norm_
                grads = {k: g * scale for k, g in grads.items()}
        lr = training.learning_rate
        state = self._optimizer_state
        if training.optimizer == "sgd":
            for kind, i, p in params:
                p -= lr * grads[(kind, i)]
        elif training.optimizer == "momentum":  # torch.optim.SGD(momentum=0.9): v = μv + g
            for kind, i, p in params:
                g = grads[(kind, i)]
                v = state.get((kind, i))
                if v is None:
                    state[(kind, i)] = v = g.copy()
                else:
                    v *= MOMENTUM
                    v += g
                p -= lr * v
        else:  # adam, as torch.optim.Adam
            self._adam_t += 1
            b1, b2 = ADAM_BETAS
            c1, c2 = 1 - b1 ** self._adam_t, 1 - b2 ** self._adam_t
            for kind, i, p in params:
                g = grads[(kind, i)]
                m, v = state.get((kind, i)) or (np.zeros_like(p), np.zeros_like(p))
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * g * g
                state[(kind, i)] = (m, v)
                p -= (lr / c1) * m / (np.sqrt(v / c2) + ADAM_EPS)

    # ---- health and history --------------------------------------------------------------------
    def _probe(self) -> None:
        """Health on the whole training set; stops a diverged run; records history now and then."""
        with np.errstate(all="ignore"):
            logits, kept = self.model.forward(self._x_train, keep=True)
            loss = LOSSES[self._experiment.training.loss](logits, self._y_train)
            if not math.isfinite(loss) or not self.model.is_finite():
                self._diverge(loss)
                return
            self.states = classify(self.model, kept)
            record = self._record
            if self.step_count <= PROBE_EVERY_STEP_UNTIL or self.step_count % record.every == 0:
                test_logits = self.model.forward(self._x_test)
                shares = fractions(self.states)
                record.rows.append((
                    self.step_count, loss, LOSSES[self._experiment.training.loss](test_logits, self._y_test),
                    accuracy(logits, self._y_train), accuracy(test_logits, self._y_test),
                    shares["dead"], shares["saturated"], shares["sleeping"], self.grad_norms()))
                if len(record.rows) > HISTORY_LIMIT:
                    record.rows = record.rows[::2]
                    record.every *= 2

    def _diverge(self, loss: float) -> None:
        self.diverged = True
        lr = self._experiment.training.learning_rate
        what = "not a number" if math.isnan(loss) else ("infinite" if math.isinf(loss) else "finite but the weights are not")
        self.message = (f"Training diverged at step {self.step_count}: the loss became {what}. "
                        f"Reset, and lower the learning rate (now {lr:g}), clip gradients or turn on batch norm.")

    def grad_norms(self) -> np.ndarray:
        """‖∂L/∂W‖ per weight layer (output last) of the last step's raw gradient; NaN before any."""
        n = len(self.model.layers)
        if self._last_grads is None:
            return np.full(n, np.nan, np.float32)
        with np.errstate(all="ignore"):  # a diverging run's gradients overflow; NaN/inf is the answer
            return np.array([np.linalg.norm(self._last_grads[("W", i)]) for i in range(n)], np.float32)

    def probe_gradients(self) -> np.ndarray:
        """‖∂L/∂W‖ per weight layer on the whole training set, without changing anything."""
        with np.errstate(all="ignore"):
            logits, cache = self.model.forward_train(self._x_train, update_stats=False)
            p = 0.5 + 0.5 * np.tanh(0.5 * logits)
            if self._experiment.training.loss == "bce":
                dlogits = (p - self._y_train) / len(p)
            else:
                dlogits = (p - self._y_train) * p * (1.0 - p) * (2.0 / len(p))
            grads = self.model.backward(cache, dlogits)
        return np.array([np.linalg.norm(grads[("W", i)]) for i in range(len(self.model.layers))], np.float32)

    def history(self) -> History:
        rows = self._record.rows
        n_layers = len(self.model.layers)
        columns = list(zip(*rows)) if rows else [()] * 9
        as32 = lambda c: frozen(np.array(c, np.float32))  # noqa: E731
        return History(
            steps=frozen(np.array(columns[0], np.int64)),
            train_loss=as32(columns[1]), test_loss=as32(columns[2]),
            train_accuracy=as32(columns[3]), test_accuracy=as32(columns[4]),
            dead_fraction=as32(columns[5]), saturated_fraction=as32(columns[6]),
            sleeping_fraction=as32(columns[7]),
            grad_norms=frozen(np.array(columns[8], np.float32).reshape(len(rows), n_layers)))

    # ---- snapshots -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Everything a view needs, copied and read-only."""
        return make_snapshot(
            self._experiment, self.data, self.model, step=self.step_count, epoch=self.epoch,
            grad_norms=self.grad_norms(), history=self.history(), grid_size=self.grid_size,
            diverged=self.diverged, message=self.message, last_states=self.states)


def make_snapshot(experiment: Experiment, data, model: MLP, *, step: int, epoch: float,
                  grad_norms: np.ndarray, history: History, grid_size: int = DEFAULT_GRID,
                  diverged: bool = False, message: str | None = None, last_states=None) -> Snapshot:
    """A Snapshot of `model` on `data`: metrics, health and grids are computed here, fresh.

    The trainer uses it live; the exporter uses it to replay recorded weights (MLP.load_state),
    so an exported frame is drawn from exactly what the window would have shown.
    """
    names = experiment.data.features
    x_train, y_train = features(data.train_points, names), data.train_labels
    x_test, y_test = features(data.test_points, names), data.test_labels
    loss_fn = LOSSES[experiment.training.loss]
    with np.errstate(all="ignore"):
        train_logits, kept = model.forward(x_train, keep=True)
        test_logits = model.forward(x_test)
        feature_grids, output, neuron_grids = render_grids(model, names, grid_size, GRID_EXTENT)
        # a diverged model is all NaN: keep the last states that were measured on finite weights
        states = last_states if diverged and last_states is not None else classify(model, kept)
    layers = model.layers
    nan = float("nan")
    return Snapshot(
        experiment=experiment, step=step, epoch=epoch,
        train_loss=nan if diverged else loss_fn(train_logits, y_train),
        test_loss=nan if diverged else loss_fn(test_logits, y_test),
        train_accuracy=accuracy(train_logits, y_train), test_accuracy=accuracy(test_logits, y_test),
        diverged=diverged, message=message, data=data, grid_extent=GRID_EXTENT,
        feature_grids=feature_grids, output_grid=output, neuron_grids=neuron_grids,
        states=tuple(frozen(s) for s in states),
        weights=tuple((frozen(layer.W), frozen(layer.b)) for layer in layers),
        prelu_slopes=tuple(frozen(layer.slope) if layer.learned_slope else None for layer in layers[:-1]),
        grad_norms=frozen(grad_norms), history=history, model_state=tuple(model.state()))
