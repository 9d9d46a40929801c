"""The default settings on TensorFlow Playground's own configurations (issue 15), and a diverged run
that reports no accuracy.

TF's settings: SGD 0.03, batch 10, 500 points half for training, noise 0; everything else our
defaults (loss tanh_mse, init auto, standardised inputs).
TF Playground's 5-seed test accuracy after 12,500 updates (SCIENCE.md): circle 0.999, xor 0.992,
spiral [8]×6 ReLU 0.986, spiral with 7 features [8]×6 tanh 0.960. The floors below are what the
defaults measured here (seeds and steps as in each test), a little under, so a change that breaks
the defaults fails; the full 20-seed table, against TF's engine on the same points, is
docs/tfp_parity_20_seeds.md (python -m playground.tfp_parity; tests/test_tfp_parity.py).
"""

import json

import numpy as np
import pytest

from playground.cli import main
from playground.experiment import Experiment
from playground.training import Trainer

ALL_FEATURES = ["x1", "x2", "x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2"]
TF_CONFIGS = {
    "circle": {"data": {"dataset": "circle"}, "network": {"hidden": [4, 2], "activation": "tanh"}},
    "xor": {"data": {"dataset": "xor"}, "network": {"hidden": [4, 2], "activation": "tanh"}},
    "spiral_relu": {"data": {"dataset": "spiral"}, "network": {"hidden": [8] * 6, "activation": "relu"}},
    "spiral7_tanh": {"data": {"dataset": "spiral", "features": ALL_FEATURES},
                     "network": {"hidden": [8] * 6, "activation": "tanh"}},
}


def mean_test_accuracy(config: str, seeds, steps: int) -> float:
    accuracies = []
    for seed in seeds:
        trainer = Trainer(Experiment.from_dict({**TF_CONFIGS[config], "seed": seed}), grid_size=10)
        trainer.step(steps)
        accuracies.append(trainer.snapshot().test_accuracy)
    return float(np.mean(accuracies))


# (config, floor of the 5-seed mean): measured with the defaults over seeds 0-4 at 12,500 steps
# (compiled engine): circle 0.999, xor 0.999 (0.941 with bce and Xavier × 5/3 for tanh: seed 1 ended
# in a 0.71 local minimum), spiral ReLU 0.956, spiral 7-feature tanh 0.986. TF's engine (our port,
# the same points) over these seeds: 1.000, 0.991, 0.940, 0.976; the floors are those minus 0.005.
@pytest.mark.parametrize("config, floor", [
    ("circle", 0.994),  # TF Playground 0.999 published: a tie within 0.005
    ("xor", 0.986),  # TF 0.992 published
    ("spiral_relu", 0.935),  # TF 0.986 published (lucky seeds: its engine gives 0.940 on ours); chaotic
    ("spiral7_tanh", 0.971),  # TF 0.960 published
])
def test_defaults_on_tensorflow_playgrounds_settings(config, floor):
    assert mean_test_accuracy(config, range(5), 12500) >= floor


def test_standardising_is_what_rescues_the_seven_feature_spiral():
    """Same seeds, same run: raw inputs (x1² and x1x2 reach 25-36) saturate tanh from the start at
    Xavier × 5/3 (torch's tanh gain, the auto init before issue 15). Measured over seeds 0-5: 0.985
    standardised; raw 0.889 on the compiled engine with libm's tanh, 0.912 with maths.fast_tanh,
    0.913 on the numpy engine (a saturated run is chaotic: a rounding difference steers a seed to
    another end, ±0.1, so six seeds, not three). With the defaults' LeCun init for tanh the gap is
    smaller (20 seeds: 0.971 raw, 0.978 standardised) but standardising still wins on all four TF configs."""
    saturating = {"init": "xavier", "init_gain": 5 / 3}
    base = dict(TF_CONFIGS["spiral7_tanh"], network={**TF_CONFIGS["spiral7_tanh"]["network"], **saturating})
    TF_CONFIGS["spiral7_tanh_std"] = base
    TF_CONFIGS["spiral7_tanh_raw"] = dict(base, data={**base["data"], "standardize": False})
    try:
        assert mean_test_accuracy("spiral7_tanh_std", range(6), 12500) > mean_test_accuracy("spiral7_tanh_raw", range(6), 12500) + 0.05
    finally:
        del TF_CONFIGS["spiral7_tanh_raw"], TF_CONFIGS["spiral7_tanh_std"]


def test_a_diverged_run_reports_no_accuracy(tmp_path, capsys):
    """Non-finite outputs have no accuracy: JSON null, not the share of label 0 (~0.5)."""
    path = tmp_path / "boom.json"
    path.write_text(json.dumps({"data": {"dataset": "circle", "n_points": 400, "noise": 0.1},
                                "network": {"hidden": [32] * 8, "activation": "relu", "init_gain": 2.0},
                                "training": {"learning_rate": 0.05, "batch_size": 32, "loss": "bce"}}))
    assert main(["train", str(path), "--steps", "100", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["diverged"] is True
    for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        assert result[key] is None, key
    assert main(["train", str(path), "--steps", "100"]) == 0
    assert "accuracy  train —   test —" in capsys.readouterr().out
