"""The experiment file: defaults, round trips, and a clear error for each kind of bad field."""

import json
import os

import pytest

from playground.experiment import Experiment, ExperimentError

DOC_EXAMPLE = {
    "version": 1, "seed": 0,
    "data": {"dataset": "circle", "noise": 0.0, "train_fraction": 0.5, "n_points": 500,
             "features": ["x1", "x2"], "points": None, "standardize": True},
    "network": {"hidden": [4, 2], "activation": "tanh", "activation_params": {},
                "init": "auto", "init_gain": 1.0, "bias_init": None, "batch_norm": False},
    "training": {"optimizer": "sgd", "learning_rate": 0.03, "batch_size": 10, "loss": "tanh_mse",
                 "regularization": "none", "regularization_rate": 0.0, "grad_clip": None},
}


def test_defaults_are_the_documented_example():
    assert Experiment().to_dict() == DOC_EXAMPLE
    assert Experiment.from_dict({}) == Experiment()
    assert Experiment.from_dict(DOC_EXAMPLE) == Experiment()


def test_partial_file_fills_defaults():
    exp = Experiment.from_dict({"network": {"activation": "relu"}})
    assert exp.network.activation == "relu" and exp.network.hidden == (4, 2) and exp.training.batch_size == 10


def test_json_round_trip(tmp_path):
    exp = Experiment.from_dict({
        "seed": 7,
        "data": {"points": [[float(i), float(-i), i % 2] for i in range(12)], "features": ["x1", "x1x2"]},
        "network": {"hidden": [3, 3], "activation": ["prelu", "elu"], "activation_params": {"alpha": 0.5},
                    "batch_norm": True},
        "training": {"optimizer": "adam", "grad_clip": 1.0, "regularization": "l2", "regularization_rate": 0.01}})
    path = tmp_path / "exp.json"
    exp.save(path)
    assert Experiment.load(path) == exp
    assert json.loads(path.read_text())["network"]["activation"] == ["prelu", "elu"]


def test_toml_loads(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('seed = 3\n[network]\nhidden = [8, 8]\nactivation = "leaky_relu"\n'
                    '[network.activation_params]\nnegative_slope = 0.1\n[training]\noptimizer = "momentum"\n')
    exp = Experiment.load(path)
    assert exp.seed == 3 and exp.network.hidden == (8, 8) and exp.network.param("negative_slope") == 0.1
    assert exp.training.optimizer == "momentum"


@pytest.mark.parametrize("raw, field, allowed", [
    ({"data": {"dataset": "donut"}}, "data.dataset", "circle"),
    ({"data": {"noise": 0.9}}, "data.noise", "0.0 to 0.5"),
    ({"data": {"train_fraction": 0.05}}, "data.train_fraction", "0.1 to 0.9"),
    ({"data": {"n_points": 9}}, "data.n_points", "10 to 5000"),
    ({"data": {"n_points": 20.5}}, "data.n_points", "whole number"),
    ({"data": {"features": []}}, "data.features", "non-empty"),
    ({"data": {"features": ["x3"]}}, "data.features", "x1_sq"),
    ({"data": {"points": [[0, 0, 1]] * 12}}, "data.points", "both labels"),
    ({"data": {"points": [[0, 0, 2]] * 12}}, "data.points[0]", "label 0 or 1"),
    ({"network": {"hidden": [4] * 9}}, "network.hidden", "0 to 8"),
    ({"network": {"hidden": [0]}}, "network.hidden", "1 to 32"),
    ({"network": {"hidden": [33]}}, "network.hidden", "1 to 32"),
    ({"network": {"activation": "swish"}}, "network.activation", "relu"),
    ({"network": {"hidden": [2, 2], "activation": ["relu"]}}, "network.activation", "2 names"),
    ({"network": {"activation_params": {"beta": 1}}}, "network.activation_params", "negative_slope"),
    ({"network": {"activation_params": {"alpha": -1}}}, "network.activation_params.alpha", "0.0 to 10.0"),
    ({"network": {"init": "orthogonal"}}, "network.init", "xavier"),
    ({"network": {"batch_norm": "yes"}}, "network.batch_norm", "true or false"),
    ({"network": {"bias_init": 11}}, "network.bias_init", "null (the init's own rule) or a number from -10.0 to 10.0"),
    ({"network": {"bias_init": "zero"}}, "network.bias_init", "null"),
    ({"data": {"standardize": "yes"}}, "data.standardize", "true or false"),
    ({"data": {"standardize": 1}}, "data.standardize", "true or false"),
    ({"training": {"optimizer": "rmsprop"}}, "training.optimizer", "adam"),
    ({"training": {"learning_rate": 0}}, "training.learning_rate", "1e-06 to 10.0"),
    ({"training": {"learning_rate": "fast"}}, "training.learning_rate", "a number"),
    ({"training": {"batch_size": 0}}, "training.batch_size", "1 to 5000"),
    ({"training": {"loss": "hinge"}}, "training.loss", "bce, mse"),
    ({"training": {"regularization": "l3"}}, "training.regularization", "l1, l2"),
    ({"training": {"grad_clip": -1}}, "training.grad_clip", "number"),
    ({"seed": -1}, "seed", "0 to"),
    ({"version": 2}, "version", "1"),
    ({"colour": "red"}, "colour", "unknown key"),
    ({"training": {"lr": 0.1}}, "training.lr", "unknown key"),
])
def test_each_bad_field_names_the_field_and_what_is_allowed(raw, field, allowed):
    with pytest.raises(ExperimentError) as caught:
        Experiment.from_dict(raw)
    message = str(caught.value)
    assert message.startswith(field) and allowed in message


def test_file_errors_name_the_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"seed": 1,,}')
    with pytest.raises(ExperimentError, match="broken.json: not valid JSON"):
        Experiment.load(broken)
    with pytest.raises(ExperimentError, match="missing.json: cannot read"):
        Experiment.load(tmp_path / "missing.json")
    other = tmp_path / "exp.yaml"
    other.write_text("seed: 1")
    with pytest.raises(ExperimentError, match=r"exp.yaml: unknown file type '.yaml'; allowed: .json, .toml"):
        Experiment.load(other)
    bad_field = tmp_path / "bad.json"
    bad_field.write_text('{"network": {"hidden": [100]}}')
    with pytest.raises(ExperimentError, match=r"bad.json: network.hidden = 100"):
        Experiment.load(bad_field)


def test_with_field_validates_and_copies():
    exp = Experiment()
    faster = exp.with_field("training.learning_rate", 0.3)
    assert faster.training.learning_rate == 0.3 and exp.training.learning_rate == 0.03
    with pytest.raises(ExperimentError, match="training.learning_rate"):
        exp.with_field("training.learning_rate", -1)
    with pytest.raises(ExperimentError, match="training.speed"):
        exp.with_field("training.speed", 1)


def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "exp.json"
    Experiment(seed=1).save(path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # the usual rights, not mkstemp's 0600

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)  # the new file is written, then cannot take the name
    with pytest.raises(OSError):
        Experiment(seed=2).save(path)
    monkeypatch.undo()
    assert Experiment.load(path).seed == 1 and [p.name for p in tmp_path.iterdir()] == ["exp.json"]


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_bias_init_unset_is_null_and_a_given_zero_stays_given(tmp_path):
    """None means "the init's own rule"; a file written before the field could be null still reads,
    and its explicit 0.0 stays explicit (for init torch it keeps the biases at 0, as it did)."""
    assert Experiment().network.bias_init is None
    old = Experiment.from_dict({"network": {"init": "torch", "bias_init": 0.0}})
    assert old.network.bias_init == 0.0
    path = tmp_path / "old.json"
    old.save(path)
    assert json.loads(path.read_text())["network"]["bias_init"] == 0.0
    assert Experiment.load(path) == old
    unset = Experiment.from_dict({"network": {"bias_init": None}})
    assert unset == Experiment() and Experiment.from_dict(unset.to_dict()) == unset


def test_standardize_is_on_by_default_and_can_be_turned_off(tmp_path):
    assert Experiment().data.standardize is True
    path = tmp_path / "raw.toml"
    path.write_text("[data]\nstandardize = false\n")
    assert Experiment.load(path).data.standardize is False
