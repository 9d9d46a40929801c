"""The probe's compiled row counts (health._row_counts) give exactly numpy's states and history."""

import numpy as np
import pytest

from playground import health, kernel
from playground.experiment import Experiment
from playground.training import Trainer

pytestmark = pytest.mark.skipif(not kernel.available(), reason="numba is not installed")

# rectifiers that die and sleep, saturating tanh and sigmoid, a plain net: every state shows up
CASES = [
    ("spiral", [8] * 6, "relu", 1, "sgd", 0.3),
    ("spiral", [8] * 3, "tanh", 8, "sgd", 3.0),
    ("spiral", [8] * 4, "leaky_relu", 9, "sgd", 1.0),
    ("spiral", [8] * 3, "elu", 11, "adam", 0.3),
    ("xor", [4, 4], "relu", 12, "sgd", 10.0),
    ("circle", [4, 2], "tanh", 0, "sgd", 0.03),
]


def _run(case, monkeypatch, compiled: bool):
    dataset, hidden, activation, seed, optimizer, lr = case
    monkeypatch.setattr(health, "_count_rows", None if compiled else False)
    used = []
    row_counts = health._row_counts
    monkeypatch.setattr(health, "_row_counts", lambda *args: used.append(row_counts(*args)) or used[-1])
    exp = Experiment.from_dict({"seed": seed, "data": {"dataset": dataset},
                                "network": {"hidden": hidden, "activation": activation},
                                "training": {"batch_size": 10, "learning_rate": lr, "optimizer": optimizer}})
    trainer, states = Trainer(exp), []
    for _ in range(12):
        trainer.step(97)
        states.append(np.concatenate(trainer.states))
    assert all(counted is not None for counted in used) == compiled and used  # compiled, or numpy, every probe
    return np.array(states), trainer.history()


@pytest.mark.parametrize("case", CASES, ids=[f"{c[2]}-{c[3]}" for c in CASES])
def test_compiled_counts_give_the_same_states_and_history(case, monkeypatch):
    states, history = _run(case, monkeypatch, compiled=True)
    plain_states, plain_history = _run(case, monkeypatch, compiled=False)
    assert np.array_equal(states, plain_states)
    for name in ("steps", "train_loss", "test_loss", "dead_fraction", "saturated_fraction", "sleeping_fraction"):
        assert np.array_equal(getattr(history, name), getattr(plain_history, name), equal_nan=True), name


def test_all_cases_together_show_every_state(monkeypatch):
    seen = set()
    for case in CASES:
        seen |= set(_run(case, monkeypatch, compiled=True)[0].ravel().tolist())
    assert seen == {int(s) for s in health.NeuronState}


def test_row_counts_match_numpy_at_the_threshold_and_with_nan():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 300)).astype(np.float32)
    z[2] = -np.abs(z[2])  # every z <= 0
    z[3, 5] = np.nan  # max z is NaN in numpy: not "every z <= 0"
    slopes = np.abs(rng.normal(scale=2e-3, size=(7, 300))).astype(np.float32)
    eps32 = np.float32(health.EPS)
    slopes[0, :3] = [eps32, np.nextafter(eps32, np.float32(0)), np.nextafter(eps32, np.float32(1))]
    slopes[1, 0] = np.nan
    health._row_counts(slopes, z, True)  # compiles it on first use
    flat_counts, nonpositive_counts = health._row_counts(slopes, z, True)
    assert flat_counts.tolist() == np.add.reduce(np.abs(slopes) < health.EPS, axis=1).tolist()
    assert (nonpositive_counts == z.shape[1]).tolist() == (z.max(1) <= 0).tolist()
    assert health._row_counts(slopes, z, False)[1] is None
    assert health._row_counts(slopes.astype(np.float64), z, True) is None  # not compiled for: numpy counts
