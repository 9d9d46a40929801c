"""Every example experiment in resources/ loads, trains, and shows what the README says of it
("Example experiments"). Numbers measured with seed 0 (the files' own seeds), grid 20."""

from pathlib import Path

import pytest

from playground.experiment import Experiment
from playground.training import Trainer
import reference

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "experiments"
FILES = sorted(EXAMPLES.glob("*.json")) + sorted(EXAMPLES.glob("*.toml"))


def trained(name: str, steps: int):
    trainer = Trainer(Experiment.load(next(p for p in FILES if p.stem == name)), grid_size=20)
    first = trainer.snapshot()
    trainer.step(steps)
    return trainer, first, trainer.snapshot()


def test_there_are_examples():
    assert len(FILES) >= 5


def test_every_example_has_its_claim_checked():
    assert {p.stem for p in FILES} == set(CLAIMS)


def _dying_relu(trainer, first, last):  # "a bias init of -2 kills most ReLUs; accuracy stays at chance"
    assert last.counts()["dead"] / last.counts()["total"] > 0.5 and last.test_accuracy < 0.6


def _dying_relu_fixed(trainer, first, last):  # "the same with PReLU": none dead, and it learns the spiral
    assert last.counts()["dead"] == 0 and last.test_accuracy >= 0.85  # measured 0.91 (dying_relu: 0.50)


def _vanishing_sigmoid(trainer, first, last):  # "the first layer's gradient is ~1e-5 of the last's"
    norms = reference.probe_gradients(trainer)  # measured 4e-6 at step 0, 1e-4 at 300
    assert norms[0] / norms[-1] < 1e-3


def _exploding(trainer, first, last):  # "2x He init diverges within a few steps"
    assert last.diverged and last.step < 50


def _exploding_clipped(trainer, first, last):  # "gradient clipping tames it": finite, and it learns
    assert not last.diverged
    assert last.train_loss < first.train_loss / 10 and last.test_accuracy >= 0.8  # measured 43.8 → 1.04, 0.855


def _spiral_relu(trainer, first, last):  # the README's screenshot: the spiral learnt by step 3,000
    assert not last.diverged and last.test_accuracy >= 0.9  # measured 0.99 (0.5 at step 0)


def _xor_tanh(trainer, first, last):  # TF Playground's xor with its small tanh net
    assert not last.diverged and last.test_accuracy >= 0.85  # measured 0.91 (0.52 at step 0)


CLAIMS = {  # example → (steps to train, what must then hold)
    "dying_relu": (300, _dying_relu),
    "dying_relu_fixed": (300, _dying_relu_fixed),
    "vanishing_sigmoid": (300, _vanishing_sigmoid),
    "exploding": (300, _exploding),
    "exploding_clipped": (1000, _exploding_clipped),
    "spiral_relu": (3000, _spiral_relu),
    "xor_tanh": (1000, _xor_tanh),
}


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_example_shows_what_the_readme_says(name):
    steps, claim = CLAIMS[name]
    claim(*trained(name, steps))
