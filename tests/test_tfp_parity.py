"""Our default settings on TF Playground's own settings (issue 15): a fast subset of
`python -m playground.tfp_parity --seeds 20 --tf-engine`, whose full table is docs/tfp_parity_20_seeds.md."""

import shutil

import pytest

from playground import tfp_parity
from playground.tfp_parity import STEPS, config_experiment, ours, stats

CIRCLE, XOR = "circle [4,2] tanh", "xor [4,2] tanh"
SPIRAL_7, SPIRAL_RELU = "spiral 7 features [8]x6 tanh", "spiral [8]x6 relu"


def test_the_configs_are_tf_settings_and_our_defaults():
    exp = config_experiment(SPIRAL_7, seed=3)
    assert (exp.seed, exp.data.dataset, exp.data.noise, exp.data.n_points, exp.data.train_fraction) == (3, "spiral", 0.0, 500, 0.5)
    assert len(exp.data.features) == 7 and exp.network.hidden == (8,) * 6 and exp.network.activation == "tanh"
    t = exp.training
    assert (t.optimizer, t.learning_rate, t.batch_size) == ("sgd", 0.03, 10)
    # nothing else is set: the loss, init and standardisation are the defaults under test
    assert (t.loss, exp.network.init, exp.data.standardize) == ("tanh_mse", "auto", True)
    overridden = config_experiment(XOR, 0, {"training": {"loss": "bce"}, "network": {"init_gain": 0.5}})
    assert overridden.training.loss == "bce" and overridden.network.init_gain == 0.5
    assert overridden.training.learning_rate == 0.03 and overridden.data.dataset == "xor"


def test_circle_and_xor_reach_tf_playgrounds_accuracy_with_the_defaults():
    """Seeds 0-4 at TF's 12,500 updates: TF's engine (our port, the same points) has 1.000 on circle
    and 0.991 on xor over these seeds; the defaults before issue 15 had 0.941 on xor (seed 1: 0.71)."""
    circle = [ours(config_experiment(CIRCLE, seed)) for seed in range(5)]
    xor = [ours(config_experiment(XOR, seed)) for seed in range(5)]
    assert stats(circle)[0] >= 0.995 and min(circle) >= 0.99
    assert stats(xor)[0] >= 0.986 and min(xor) >= 0.98


def test_the_spirals_learn_with_the_defaults():
    """x1² and x1x2 reach 25-36 on the raw plane: standardised inputs and the tanh init still learn
    the 7-feature spiral (seeds 0-1 at a fifth of TF's updates: 0.988, 0.992); the ReLU spiral at
    TF's 12,500 updates: 0.976, 1.000 (TF's engine over seeds 0-4: 0.940)."""
    seven = [ours(config_experiment(SPIRAL_7, seed), STEPS // 5) for seed in range(2)]
    relu = [ours(config_experiment(SPIRAL_RELU, seed)) for seed in range(2)]
    assert min(seven) >= 0.95 and min(relu) >= 0.95


@pytest.mark.skipif(shutil.which("node") is None, reason="TF Playground's engine needs node")
def test_tf_playgrounds_engine_trains_the_same_raw_points():
    assert tfp_parity.tf_engine(config_experiment(XOR, 0)) >= 0.95


def test_the_table_and_bad_candidates(capsys):
    table = {XOR: {"defaults": [1.0, 0.9, float("nan")]}}
    text = tfp_parity.format_table(table, 3)
    assert "| xor [4,2] tanh | defaults | 0.633 | 0.633 | 0.000 | 1 | 0.992 |" in text
    assert tfp_parity.main(["--candidate", 'x={"training": {"loss": "nope"}}']) == 2
    assert "training.loss" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tfp_parity.main(["--candidate", "no-equals-sign"])
