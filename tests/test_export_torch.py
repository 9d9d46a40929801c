"""`playground export … -o net.py`: the generated torch module equals the app's network on the grid,
for every activation, with and without batch norm; `python net.py` prints the app's test accuracy;
writing it imports no torch."""

import importlib.util
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from playground.activations import ACTIVATIONS
from playground.cli import main
from playground.experiment import LOSS_NAMES, Experiment
from playground.export_torch import torch_probability, write_torch
from playground.snapshot import grid_points
from playground.training import Trainer
from test_no_torch import guarded  # noqa: F401  (the fixture: a subprocess in which torch is blocked)

GRID = 40


def import_generated(path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trained(activation, batch_norm, steps=80, **data):
    exp = Experiment.from_dict({
        "seed": 3, "data": {"dataset": "xor", **data},
        "network": {"hidden": [5, 3], "activation": activation, "batch_norm": batch_norm,
                    "activation_params": {"negative_slope": 0.07, "alpha": 0.6}},
        "training": {"optimizer": "adam", "learning_rate": 0.01}})
    trainer = Trainer(exp, grid_size=GRID, engine="numpy")
    trainer.step(steps)
    return trainer


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch_norm"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_the_torch_module_equals_the_app_on_the_grid(tmp_path, activation, batch_norm):
    trainer = trained(activation, batch_norm)
    script, _ = write_torch(trainer, tmp_path / f"net_{activation}.py")
    module = import_generated(script)
    net, data = module.load()
    assert not net.training  # eval mode: batch norm on its running statistics, as the app's grids
    with torch.no_grad():
        probability = module.probability(net(torch.from_numpy(grid_points(GRID)))).numpy().reshape(GRID, GRID)
    app = trainer.snapshot().output_grid  # (G, G) P(label 1), row-major like grid_points
    np.testing.assert_allclose(probability, app, rtol=0, atol=2e-5)
    assert np.ptp(app) > 0.01  # a map that varies, not a constant both sides would agree on
    np.testing.assert_array_equal(data["test_points"].numpy(), trainer.data.test_points)


def test_mixed_activations_features_and_prelu_slopes_per_neuron(tmp_path):
    exp = Experiment.from_dict({
        "seed": 5, "data": {"dataset": "circle", "features": ["x1", "x2", "x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2"]},
        "network": {"hidden": [6, 4, 3], "activation": ["prelu", "leaky_relu", "elu"], "batch_norm": True},
        "training": {"optimizer": "adam", "learning_rate": 0.02, "loss": "bce"}})  # sigmoid's reading
    trainer = Trainer(exp, grid_size=GRID, engine="numpy")
    trainer.step(300)
    slopes = trainer.model.layers[0].slope
    assert np.ptp(slopes) > 1e-4  # learned apart, so one shared slope would not pass
    script, _ = write_torch(trainer, tmp_path / "net.py")
    module = import_generated(script)
    net, _ = module.load()
    np.testing.assert_array_equal(net.layers[2].weight.detach().numpy(), slopes)
    assert module.LOSS == "bce" and "torch.sigmoid(logits)" in script.read_text()
    with torch.no_grad():
        probability = module.probability(net(torch.from_numpy(grid_points(GRID)))).numpy().reshape(GRID, GRID)
    np.testing.assert_allclose(probability, trainer.snapshot().output_grid, atol=2e-5)


def test_unstandardised_inputs_and_no_hidden_layer(tmp_path):
    exp = Experiment.from_dict({"data": {"standardize": False, "features": ["x1", "x1x2"]},
                                "network": {"hidden": []}})
    trainer = Trainer(exp, grid_size=GRID)
    trainer.step(100)
    module = import_generated(write_torch(trainer, tmp_path / "lin.py")[0])
    assert module.MEAN is None
    net, _ = module.load()
    with torch.no_grad():
        probability = module.probability(net(torch.from_numpy(grid_points(GRID)))).numpy().reshape(GRID, GRID)
    np.testing.assert_allclose(probability, trainer.snapshot().output_grid, atol=2e-5)


def test_python_net_py_prints_the_apps_test_accuracy_and_writes_a_weights_only_pt(tmp_path, capsys):
    run = tmp_path / "r.pgrun"
    exp = tmp_path / "e.json"
    exp.write_text('{"seed": 2, "data": {"dataset": "spiral"}, "network": {"hidden": [8, 8], "activation": "prelu"}}')
    assert main(["train", str(exp), "--steps", "1500", "--save", str(run), "--json"]) == 0
    app_accuracy = __import__("json").loads(capsys.readouterr().out)["test_accuracy"]
    assert main(["export", str(run), "-o", str(tmp_path / "net.py")]) == 0
    assert "step 1500" in capsys.readouterr().out  # a run exports at its saved step
    result = subprocess.run([sys.executable, "net.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    printed = float(re.search(r"test accuracy (\S+) on 250 points", result.stdout).group(1))
    assert printed == round(app_accuracy, 4) and 0.5 < printed < 1.0
    state = torch.load(tmp_path / "net.pt", weights_only=True)
    assert state["layers.1.weight"].shape == (8,)  # PReLU: one slope per neuron


def test_exporting_an_experiment_trains_steps_and_bad_targets_exit_2(tmp_path, capsys):
    assert main(["export", "dying_relu", "-o", str(tmp_path / "d.py"), "--steps", "40"]) == 0
    assert "step 40" in capsys.readouterr().out
    assert main(["export", "dying_relu", "-o", str(tmp_path / "missing" / "d.py"), "--steps", "1"]) == 2
    assert "-o" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


def test_writing_the_pytorch_file_imports_no_torch(guarded, tmp_path):  # noqa: F811
    result, log = guarded("export", "dying_relu", "-o", str(tmp_path / "n.py"), "--steps", "20")
    assert result.returncode == 0, result.stderr
    assert log == "" and (tmp_path / "n.npz").exists()


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_the_torch_probability_is_the_apps_under_every_loss(tmp_path, loss):
    """net.py's probability() reads the logit as the app's grid does for the loss it trained with
    (tanh_mse's tanh output, the others' sigmoid); an unknown loss is refused, not read as bce."""
    exp = Experiment.from_dict({"seed": 1, "data": {"dataset": "xor"}, "network": {"hidden": [4]},
                                "training": {"loss": loss, "learning_rate": 0.05}})
    trainer = Trainer(exp, grid_size=GRID, engine="numpy")
    trainer.step(60)
    module = import_generated(write_torch(trainer, tmp_path / f"net_{loss}.py")[0])
    assert module.LOSS == loss
    net, _ = module.load()
    with torch.no_grad():
        logits = net(torch.from_numpy(grid_points(GRID)))
        probability = module.probability(logits).numpy().reshape(GRID, GRID)
    np.testing.assert_allclose(probability, trainer.snapshot().output_grid, rtol=0, atol=2e-5)
    reading = torch.tanh(logits) if loss == "tanh_mse" else 2 * torch.sigmoid(logits) - 1  # on -1 … 1
    np.testing.assert_allclose(probability.reshape(-1), ((reading + 1) / 2).numpy(), rtol=0, atol=1e-6)
    assert np.ptp(probability) > 0.1
    with pytest.raises(ValueError, match="unknown loss 'hinge': one of bce, mse, tanh_mse"):
        torch_probability("hinge")
