"""Every example experiment in resources/ loads, trains, and shows what its name promises."""

from pathlib import Path

import pytest

from playground.experiment import Experiment
from playground.training import Trainer
import reference

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "experiments"
FILES = sorted(EXAMPLES.glob("*.json")) + sorted(EXAMPLES.glob("*.toml"))


def test_there_are_examples():
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_loads_and_trains(path):
    trainer = Trainer(Experiment.load(path), grid_size=20)
    trainer.step(300)
    snap = trainer.snapshot()
    if path.stem == "exploding":
        assert snap.diverged  # the point of the example
    else:
        assert not snap.diverged and snap.train_loss == snap.train_loss
    if path.stem == "dying_relu":
        assert snap.counts()["dead"] / snap.counts()["total"] > 0.5 and snap.train_accuracy < 0.6
    if path.stem == "dying_relu_fixed":
        assert snap.counts()["dead"] == 0
    if path.stem == "vanishing_sigmoid":  # the first layer's gradient ~1e-5 of the last's (measured 4e-6 at step 0, 1e-4 at 300)
        norms = reference.probe_gradients(trainer)
        assert norms[0] / norms[-1] < 1e-3
