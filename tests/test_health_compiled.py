"""The compiled probe (kernel.probe: one compiled pass for ReLU's family, numpy's forward and compiled
counts for the rest) gives numpy's states exactly and its history to float32 rounding, on the same
weights (the probe never changes them: both runs train alike); and the compiled row counts
(health._row_counts, for classify_columns) give exactly numpy's."""

import numpy as np
import pytest

from playground import health, kernel, maths, training
from playground.experiment import Experiment
from playground.training import Trainer

pytestmark = pytest.mark.skipif(not kernel.available(), reason="numba is not installed")

# rectifiers that die and sleep, saturating tanh and sigmoid, a plain net, PReLU's learned slopes,
# the libm activations: every state shows up
CASES = [
    ("spiral", [8] * 6, "relu", 1, "sgd", 0.3),
    ("spiral", [8] * 3, "tanh", 8, "sgd", 3.0),
    ("spiral", [8] * 4, "leaky_relu", 9, "sgd", 1.0),
    ("spiral", [8] * 3, "elu", 11, "adam", 0.3),
    ("xor", [4, 4], "relu", 12, "sgd", 10.0),
    ("circle", [4, 2], "tanh", 0, "sgd", 0.03),
    ("spiral", [8] * 3, "prelu", 2, "sgd", 0.3),
    ("spiral", [8] * 3, "sigmoid", 5, "sgd", 3.0),
    ("spiral", [8] * 3, "gelu", 3, "momentum", 0.1),
    ("spiral", [8] * 3, "softplus", 6, "sgd", 0.3),
    ("xor", [4, 3], "linear", 7, "sgd", 0.1),
]


def _run(case, monkeypatch, compiled: bool, loss: str = "bce"):
    dataset, hidden, activation, seed, optimizer, lr = case
    monkeypatch.setattr(training, "COMPILED_PROBE", compiled)
    used = []
    probe = kernel.probe
    monkeypatch.setattr(kernel, "probe", lambda *args: used.append(1) or probe(*args))
    exp = Experiment.from_dict({"seed": seed, "data": {"dataset": dataset},
                                "network": {"hidden": hidden, "activation": activation},
                                "training": {"batch_size": 10, "learning_rate": lr, "optimizer": optimizer,
                                             "loss": loss}})
    trainer, states = Trainer(exp), []
    for _ in range(12):
        trainer.step(97)
        states.append(np.concatenate(trainer.states))
    assert bool(used) == compiled  # every probe past the first step compiled, or none
    return np.array(states), trainer.history()


def _same(case, monkeypatch, loss="bce"):
    states, history = _run(case, monkeypatch, compiled=True, loss=loss)
    plain_states, plain_history = _run(case, monkeypatch, compiled=False, loss=loss)
    assert np.array_equal(states, plain_states)
    for name in ("steps", "train_accuracy", "test_accuracy", "dead_fraction", "saturated_fraction",
                 "sleeping_fraction", "grad_norms"):
        assert np.array_equal(getattr(history, name), getattr(plain_history, name), equal_nan=True), name
    for name in ("train_loss", "test_loss"):  # the compiled sums in another order: the last float32 bits
        np.testing.assert_allclose(getattr(history, name), getattr(plain_history, name), rtol=1e-5, atol=1e-7)
    return states


@pytest.mark.parametrize("case", CASES, ids=[f"{c[2]}-{c[3]}" for c in CASES])
def test_compiled_probe_gives_the_same_states_and_history(case, monkeypatch):
    _same(case, monkeypatch)


@pytest.mark.parametrize("loss", ["mse", "tanh_mse"])
def test_compiled_probe_with_the_other_losses(loss, monkeypatch):
    _same(CASES[0], monkeypatch, loss)


def test_all_cases_together_show_every_state(monkeypatch):
    seen = set()
    for case in CASES:
        seen |= set(_run(case, monkeypatch, compiled=True)[0].ravel().tolist())
    assert seen == {int(s) for s in health.NeuronState}


def test_batch_norm_probes_on_numpy(monkeypatch):
    used = []
    probe = kernel.probe
    monkeypatch.setattr(kernel, "probe", lambda *args: used.append(1) or probe(*args))
    exp = Experiment.from_dict({"network": {"hidden": [8, 8], "activation": "relu", "batch_norm": True},
                                "training": {"batch_size": 10}})
    trainer = Trainer(exp)
    trainer.step(150)
    assert not used and len(trainer.history().steps) > 100


def test_row_counts_match_numpy_at_the_threshold_and_with_nan():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 300)).astype(np.float32)
    z[2] = -np.abs(z[2])  # every z <= 0
    z[3, 5] = np.nan  # max z is NaN in numpy: not "every z <= 0"
    slopes = np.abs(rng.normal(scale=2e-3, size=(7, 300))).astype(np.float32)
    eps32 = np.float32(health.EPS)
    slopes[0, :3] = [eps32, np.nextafter(eps32, np.float32(0)), np.nextafter(eps32, np.float32(1))]
    slopes[1, 0] = np.nan
    flat_counts, nonpositive_counts = health._row_counts(slopes, z, True)
    assert flat_counts.tolist() == np.add.reduce(np.abs(slopes) < health.EPS, axis=1).tolist()
    assert (nonpositive_counts == z.shape[1]).tolist() == (z.max(1) <= 0).tolist()
    assert health._row_counts(slopes, z, False)[1] is None
    assert health._row_counts(slopes.astype(np.float64), z, True) is None  # not compiled for: numpy counts


def test_the_probes_largest_magnitude_counts_nan_as_inf():
    f32 = np.float32
    assert maths._largest_magnitude(np.array([1, -3, 2], f32), 3) == 3.0
    assert maths._largest_magnitude(np.array([1, -3, 7], f32), 2) == 3.0  # only the first n
    assert maths._largest_magnitude(np.array([np.nan, 1], f32), 2) == np.inf
    assert maths._largest_magnitude(np.array([-np.inf, 1], f32), 2) == np.inf
    assert maths._largest_magnitude(np.array([1, np.nan, 5], f32), 3) == np.inf  # a NaN is not forgotten


def test_the_compiled_probe_reports_the_largest_logit_or_weight():
    trainer = Trainer(Experiment.from_dict({"data": {"dataset": "spiral"},
                                            "network": {"hidden": [8] * 3, "activation": "relu"}}))
    trainer.step(300)
    plan, n = trainer._kernel_plan, len(trainer._y_train)
    logits, _, largest = kernel.probe(plan, trainer.model, trainer._xT_both, n, n, health.COMPILED_EPS)
    assert largest == max(np.abs(trainer.model.params).max(), np.abs(logits).max())


@pytest.mark.parametrize("compiled", [True, False])
def test_a_nan_weight_that_relu_hides_from_the_logits_still_stops_the_run(compiled, monkeypatch):
    """Past step 1000 the probe that does not record history skips the loss when every |logit| and
    |weight| is small. A NaN weight in the first layer gives the compiled pass finite logits (its
    ReLU turns the unit's NaN z into 0) but must still count: on either probe the run stops at the
    next probe (the compiled one says the weights are not finite; numpy's forward keeps the NaN)."""
    monkeypatch.setattr(training, "COMPILED_PROBE", compiled)
    trainer = Trainer(Experiment.from_dict({"data": {"dataset": "spiral"},
                                            "network": {"hidden": [8] * 3, "activation": "relu"}}))
    trainer.step(1200)
    trainer._record.every = 20  # as after ~90k steps (the history thinned once): 1250 does not record
    trainer.model.params[0] = np.nan  # a weight of the first layer's first unit
    n = len(trainer._y_train)
    logits, _, largest = kernel.probe(trainer._kernel_plan, trainer.model, trainer._xT_both, n, n,
                                      health.COMPILED_EPS)
    assert np.isfinite(logits).all() and largest == np.inf
    assert trainer.step(200) == training.PROBE_SETTLED_INTERVAL and trainer.diverged
    assert "diverged at step 1250" in trainer.message
    # numpy's forward keeps the NaN (np.maximum lets it through): its loss is not a number
    assert ("finite but the weights are not" if compiled else "not a number") in trainer.message


@pytest.mark.parametrize("loss", maths.LOSS_NAMES)
def test_the_compiled_history_figures_are_the_losses_and_accuracies_numpy_gives(loss):
    rng = np.random.default_rng(4)
    logits = (rng.standard_normal(300) * 4).astype(np.float32)
    labels = (rng.random(300) > 0.5).astype(np.float32)
    plan = kernel.Plan(Trainer(Experiment.from_dict({})).model, 10)
    code = maths.LOSS_CODES[loss]
    train_loss, test_loss, train_accuracy, test_accuracy = kernel.figures(plan, logits, labels, 200, code)
    np.testing.assert_allclose([train_loss, test_loss], [training.LOSSES[loss](logits[:200], labels[:200]),
                                                         training.LOSSES[loss](logits[200:], labels[200:])], rtol=1e-6)
    assert train_accuracy == training.accuracy(logits[:200], labels[:200])
    assert test_accuracy == training.accuracy(logits[200:], labels[200:])
    logits[250] = np.nan  # a diverged test point: the test figures are NaN, the training ones stand
    figures = kernel.figures(plan, logits, labels, 200, code)
    assert figures[0] == train_loss and figures[2] == train_accuracy
    assert np.isnan(figures[1]) and np.isnan(figures[3])
    assert np.isnan(kernel.figures(plan, logits[:200], labels[:200], 200, code)[3])  # no test points
    assert np.isnan(kernel.figures(plan, logits, labels, 200, 99)[0])  # no such loss: no figure
