"""Take a trained network to PyTorch: a short readable net.py, and net.npz beside it.

net.py builds the network as a torch.nn.Module (the same layers, activations with their parameters,
batch norm, PReLU's per-neuron slopes) with the input features and their standardisation as a plain
function; `python net.py` loads net.npz, prints the test accuracy on the data saved with it (and the
app's, for comparison) and writes net.pt, the state_dict, for torch.load(..., weights_only=True).

Why net.npz and not net.pt straight away: this module belongs to the app, and the app never imports
torch (seconds of start-up and ~1 GB many users do not have). torch's .pt is a pickle of torch's own
rebuild functions; writing one by hand would tie the file to torch internals. So the weights travel
as numbers (numpy's format, no pickle) and the generated file, which runs where torch is, saves the
.pt with torch.save itself: always in the format of the user's torch.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from . import maths
from .experiment import write_atomically
from .model import BN_EPS, BN_MOMENTUM, MLP

# activation name -> the torch.nn expression for it (slope: Leaky's; alpha: ELU's; n: the layer's units)
TORCH_MODULES = {
    "relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(negative_slope={slope!r})",
    "prelu": "nn.PReLU(num_parameters={n})", "elu": "nn.ELU(alpha={alpha!r})", "selu": "nn.SELU()",
    "gelu": "nn.GELU()", "silu": "nn.SiLU()", "mish": "nn.Mish()", "softplus": "nn.Softplus()",
    "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "linear": "nn.Identity()",
}
# feature name -> torch expression of x1, x2 (datasets.FEATURES)
TORCH_FEATURES = {"x1": "x1", "x2": "x2", "x1_sq": "x1 * x1", "x2_sq": "x2 * x2", "x1x2": "x1 * x2",
                  "sin_x1": "torch.sin(x1)", "sin_x2": "torch.sin(x2)"}


def layer_modules(model: MLP) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The network as torch.nn.Sequential entries, in order: (source text, {state_dict key: array})."""
    out = []
    for layer in model.layers:
        fan_in, fan_out = layer.W.shape
        out.append((f"nn.Linear({fan_in}, {fan_out})",
                    {"weight": np.ascontiguousarray(layer.W.T), "bias": np.array(layer.b)}))
        if layer.activation is None:
            break
        if layer.gamma is not None:  # eval mode uses the running statistics, as the app's grids do
            out.append((f"nn.BatchNorm1d({fan_out}, eps={BN_EPS!r}, momentum={BN_MOMENTUM!r})",
                        {"weight": np.array(layer.gamma), "bias": np.array(layer.beta),
                         "running_mean": np.array(layer.running_mean, np.float32),
                         "running_var": np.array(layer.running_var, np.float32),
                         # unused with a momentum set (torch counts batches only to average without one)
                         "num_batches_tracked": np.array(0, np.int64)}))
        source = TORCH_MODULES[layer.activation].format(
            n=fan_out, slope=float(np.float32(layer.slope)) if not layer.learned_slope else 0.0,
            alpha=float(np.float32(layer.alpha)))
        out.append((source, {"weight": np.array(layer.slope, np.float32)} if layer.learned_slope else {}))
    return out


def write_torch(trainer, path: str | Path, source_name: str = "") -> tuple[Path, Path]:
    """Write net.py and net.npz (beside it, same stem) for the trainer's network, atomically each.

    Returns their paths. Nothing here imports torch.
    """
    path = Path(path)
    weights_path = path.with_suffix(".npz")
    experiment, data = trainer.experiment, trainer.data
    snapshot = trainer.snapshot()
    arrays: dict[str, np.ndarray] = {}
    lines = []
    for index, (source, tensors) in enumerate(layer_modules(trainer.model)):
        lines.append(f"            {source},")
        for key, value in tensors.items():
            arrays[f"layers.{index}.{key}"] = value
    for key, value in (("train_points", data.train_points), ("train_labels", data.train_labels),
                       ("test_points", data.test_points), ("test_labels", data.test_labels)):
        arrays[f"data.{key}"] = np.asarray(value, np.float32)
    names = tuple(experiment.data.features)
    scaling = data.scaling
    text = _SOURCE.format(
        summary=_summary(experiment), script=path.name, pt=path.with_suffix(".pt").name, step=trainer.step_count, source=source_name or "a playground run",
        weights=weights_path.name, features=", ".join(TORCH_FEATURES[n] for n in names),
        feature_names=repr(names), n_features=len(names),
        mean=_floats(scaling.mean) if scaling else "None", std=_floats(scaling.std) if scaling else "None",
        standardised="standardised with the training split's mean and std (data.standardize)" if scaling
        else "as they are (data.standardize was off)",
        layers="\n".join(lines), app_accuracy=_number(snapshot.test_accuracy), loss=experiment.training.loss,
        probability=torch_probability(experiment.training.loss))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomically(weights_path, buffer.getvalue())
    write_atomically(path, text.encode("utf-8"))
    return path, weights_path


def torch_probability(loss: str) -> str:
    """P(label 1) of `logits` under `loss` as a torch expression: maths.probability's rule, the one
    the app's boundary shows ((tanh(s·l) + 1)/2: s = ½ a sigmoid, s = 1 tanh_mse's tanh output).
    ValueError naming the losses for an unknown one."""
    scale = maths.probability_scale(loss)
    if scale == 0.5:  # (tanh(l/2) + 1)/2 is sigmoid(l): written as a reader knows it
        return "torch.sigmoid(logits)"
    return "(torch.tanh(logits) + 1) / 2" if scale == 1.0 else f"(torch.tanh({scale!r} * logits) + 1) / 2"


def _summary(experiment) -> str:
    net = experiment.network
    sizes = "-".join(str(n) for n in (len(experiment.data.features), *net.hidden, 1))
    acts = ", ".join(dict.fromkeys(net.layer_activations()))
    return f"{sizes} {acts}{' with batch norm' if net.batch_norm else ''} on {experiment.data.dataset}"


def _number(value) -> str:
    value = float(value)
    return repr(value) if np.isfinite(value) else f"float({str(value)!r})"  # a diverged run: nan


def _floats(values) -> str:
    return "(" + ", ".join(repr(float(np.float32(v))) for v in values) + ("," if len(values) == 1 else "") + ")"


_SOURCE = '''"""A playground network in PyTorch: {summary}, trained {step} steps.

Written by `playground export` from {source}. The weights and the data it trained and tested on are
in {weights} beside this file (numpy's format: numbers only). `python {script}` prints the test
accuracy and writes the weights as a state_dict, {pt}: torch.load("{pt}", weights_only=True).
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

FEATURES = {feature_names}  # the network's {n_features} inputs, computed from a point (x1, x2)
# the inputs are {standardised}
MEAN = {mean}
STD = {std}
APP_TEST_ACCURACY = {app_accuracy}  # what the playground showed for this network
LOSS = "{loss}"  # the loss it trained with; it says how a logit reads as a probability


def features(points: torch.Tensor) -> torch.Tensor:
    """(n, 2) float32 points -> (n, {n_features}) the network's inputs."""
    x1, x2 = points[:, 0], points[:, 1]
    x = torch.stack([{features}], dim=1)
    if MEAN is not None:
        x = (x - torch.tensor(MEAN)) / torch.tensor(STD)
    return x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
{layers}
        )

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """(n, 2) points -> (n,) logits; P(label 1) = probability(logits)."""
        return self.layers(features(points)).squeeze(1)


def probability(logits: torch.Tensor) -> torch.Tensor:
    """P(label 1) of each logit, as the playground's boundary showed it (the loss was {loss})."""
    return {probability}


def load(weights=Path(__file__).with_name("{weights}")):
    """Net with the saved weights, in eval mode (batch norm uses its running statistics), and the
    saved data as a dict of tensors: train_points, train_labels, test_points, test_labels."""
    with np.load(weights, allow_pickle=False) as saved:
        arrays = {{key: torch.from_numpy(saved[key]) for key in saved.files}}
    net = Net()
    net.load_state_dict({{key: value for key, value in arrays.items() if key.startswith("layers.")}})
    data = {{key[len("data."):]: value for key, value in arrays.items() if key.startswith("data.")}}
    return net.eval(), data


if __name__ == "__main__":
    net, data = load()
    with torch.no_grad():
        logits = net(data["test_points"])
    accuracy = ((logits > 0) == (data["test_labels"] > 0.5)).float().mean().item()
    print(f"test accuracy {{accuracy:.4f}} on {{len(logits)}} points (the playground showed {{APP_TEST_ACCURACY:.4f}})")
    pt = Path(__file__).with_suffix(".pt")
    torch.save(net.state_dict(), pt)
    print(f"wrote {{pt}}: torch.load({{str(pt)!r}}, weights_only=True)")
'''
