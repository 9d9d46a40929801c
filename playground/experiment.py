"""The experiment: one frozen, validated value that says everything about a run, seed included.

The file format (version 1) is a contract with users and with every other part of the app:
JSON or TOML, every field optional, defaults filled in, unknown keys an error. Every error names
the field, the value and what is allowed, so `playground train` and the window can show it as is.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1

DATASET_NAMES = ("circle", "xor", "gauss", "spiral", "moons", "checkerboard")
FEATURE_NAMES = ("x1", "x2", "x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2")
ACTIVATION_NAMES = (
    "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "mish", "softplus",
    "sigmoid", "tanh", "linear",
)
ACTIVATION_PARAM_NAMES = ("negative_slope", "alpha", "prelu_init")
INIT_NAMES = ("auto", "he", "xavier", "lecun", "torch")
OPTIMIZER_NAMES = ("sgd", "momentum", "adam")
LOSS_NAMES = ("bce", "mse")
REGULARIZATION_NAMES = ("none", "l1", "l2")

MAX_LAYERS = 8
MAX_UNITS = 32


class ExperimentError(ValueError):
    """A bad experiment: the message names the field, the value and what is allowed."""


def _fail(field_name: str, value: Any, allowed: str) -> None:
    raise ExperimentError(f"{field_name} = {value!r} is not allowed: {allowed}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_number(name: str, value: Any, low: float, high: float, *, integer: bool = False) -> None:
    kind = "a whole number" if integer else "a number"
    if integer and not (isinstance(value, int) and not isinstance(value, bool)):
        _fail(name, value, f"{kind} from {low} to {high}")
    if not _is_number(value) or not (low <= value <= high):
        _fail(name, value, f"{kind} from {low} to {high}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(name, value, "one of " + ", ".join(choices))


@dataclass(frozen=True)
class Data:
    """Which points the network learns from."""

    dataset: str = "circle"  # a built-in generator; ignored when points are given
    noise: float = 0.0  # 0..0.5, as TensorFlow Playground's 0-50 %
    train_fraction: float = 0.5  # the rest is the test set
    n_points: int = 500  # generated points; ignored when points are given
    features: tuple[str, ...] = ("x1", "x2")  # what the first layer sees, computed from (x, y)
    points: tuple[tuple[float, float, int], ...] | None = None  # custom data: (x, y, label 0/1)
    # the network sees each input feature at mean 0, std 1 over the training split (the same shift
    # and scale on the test split and the plotting grid: datasets.InputScaling); every view still
    # draws raw coordinates. On by default: raw points span ±6 and x1² reaches 36, which saturates
    # tanh at the default init. Measured over seeds 0-59 on TF Playground's settings (issue 15):
    # spiral 7 features [8]×6 tanh 0.911 raw -> 0.973, [8]×6 ReLU 0.927 -> 0.941, circle and xor
    # within noise (0.994 -> 0.995, 0.964 -> 0.950). After feature expansion, not before: the same
    # accuracy (0.973 both), and each feature keeps its meaning (sin x1 of the plane's x1).
    standardize: bool = True

    def __post_init__(self) -> None:
        _check_choice("data.dataset", self.dataset, DATASET_NAMES)
        _check_number("data.noise", self.noise, 0.0, 0.5)
        _check_number("data.train_fraction", self.train_fraction, 0.1, 0.9)
        _check_number("data.n_points", self.n_points, 10, 5000, integer=True)
        features = self.features
        if isinstance(features, list):
            object.__setattr__(self, "features", tuple(features))
        if not isinstance(self.features, tuple) or not self.features:
            _fail("data.features", features, "a non-empty list of " + ", ".join(FEATURE_NAMES))
        for name in self.features:
            _check_choice("data.features", name, FEATURE_NAMES)
        if len(set(self.features)) != len(self.features):
            _fail("data.features", list(self.features), "each feature at most once")
        if self.points is not None:
            object.__setattr__(self, "points", _checked_points(self.points))
        if not isinstance(self.standardize, bool):
            _fail("data.standardize", self.standardize, "true or false")


def _checked_points(points: Any) -> tuple[tuple[float, float, int], ...]:
    allowed = "a list of at least 10 [x, y, label] rows with finite x, y and label 0 or 1, both labels present"
    if not isinstance(points, (list, tuple)) or len(points) < 10 or len(points) > 5000:
        _fail("data.points", f"<{type(points).__name__} of {len(points) if hasattr(points, '__len__') else '?'}>",
              allowed + ", at most 5000 rows")
    rows = []
    for i, row in enumerate(points):
        if (not isinstance(row, (list, tuple)) or len(row) != 3 or not _is_number(row[0])
                or not _is_number(row[1]) or row[2] not in (0, 1) or isinstance(row[2], bool)):
            _fail(f"data.points[{i}]", row, allowed)
        rows.append((float(row[0]), float(row[1]), int(row[2])))
    if len({r[2] for r in rows}) < 2:
        _fail("data.points", "<only one label>", allowed)
    return tuple(rows)


@dataclass(frozen=True)
class Network:
    """The shape of the network and how its weights start."""

    hidden: tuple[int, ...] = (4, 2)  # neurons per hidden layer
    activation: str | tuple[str, ...] = "tanh"  # one for all hidden layers, or one per layer
    activation_params: dict[str, float] = field(default_factory=dict)  # negative_slope, alpha, prelu_init
    init: str = "auto"  # auto = the recommended init for each layer's activation (SCIENCE.md)
    init_gain: float = 1.0  # multiplies every weight's standard deviation
    # every hidden bias starts here (a strongly negative one kills ReLUs); None = the init's own
    # rule: 0, or torch's U(±1/√fan_in) for init "torch" (what nn.Linear does)
    bias_init: float | None = None
    batch_norm: bool = False  # BatchNorm1d after each hidden linear, before the activation

    def __post_init__(self) -> None:
        hidden = self.hidden
        if isinstance(hidden, list):
            object.__setattr__(self, "hidden", tuple(hidden))
        if not isinstance(self.hidden, tuple) or len(self.hidden) > MAX_LAYERS:
            _fail("network.hidden", hidden, f"a list of 0 to {MAX_LAYERS} layer sizes")
        for size in self.hidden:
            _check_number("network.hidden", size, 1, MAX_UNITS, integer=True)
        activation = self.activation
        if isinstance(activation, list):
            object.__setattr__(self, "activation", tuple(activation))
        if isinstance(self.activation, tuple):
            if len(self.activation) != len(self.hidden):
                _fail("network.activation", list(self.activation),
                      f"one name for all layers, or a list of {len(self.hidden)} names (one per hidden layer)")
            for name in self.activation:
                _check_choice("network.activation", name, ACTIVATION_NAMES)
        else:
            _check_choice("network.activation", self.activation, ACTIVATION_NAMES)
        if not isinstance(self.activation_params, dict):
            _fail("network.activation_params", self.activation_params,
                  "a table with any of " + ", ".join(ACTIVATION_PARAM_NAMES))
        for key, value in self.activation_params.items():
            _check_choice("network.activation_params", key, ACTIVATION_PARAM_NAMES)
            low, high = (0.0, 10.0) if key == "alpha" else (-1.0, 1.0)
            _check_number(f"network.activation_params.{key}", value, low, high)
        _check_choice("network.init", self.init, INIT_NAMES)
        _check_number("network.init_gain", self.init_gain, 0.0, 10.0)
        if self.bias_init is not None and not (_is_number(self.bias_init) and -10.0 <= self.bias_init <= 10.0):
            _fail("network.bias_init", self.bias_init, "null (the init's own rule) or a number from -10.0 to 10.0")
        if not isinstance(self.batch_norm, bool):
            _fail("network.batch_norm", self.batch_norm, "true or false")

    def __hash__(self) -> int:  # the params dict would make the generated hash fail
        return hash((self.hidden, self.activation, tuple(sorted(self.activation_params.items())),
                     self.init, self.init_gain, self.bias_init, self.batch_norm))

    def layer_activations(self) -> tuple[str, ...]:
        """The activation name of each hidden layer."""
        if isinstance(self.activation, tuple):
            return self.activation
        return (self.activation,) * len(self.hidden)

    def param(self, name: str) -> float:
        """An activation parameter, or its default (PyTorch's)."""
        defaults = {"negative_slope": 0.01, "alpha": 1.0, "prelu_init": 0.25}
        return float(self.activation_params.get(name, defaults[name]))


@dataclass(frozen=True)
class Training:
    """How the weights are updated; every field here can change mid-run without a reset."""

    optimizer: str = "sgd"
    learning_rate: float = 0.03
    batch_size: int = 10  # points per update; a step is one update
    loss: str = "bce"  # bce on the logit, or mse on the output probability
    regularization: str = "none"  # on weights only: never on biases, PReLU slopes or batch norm
    regularization_rate: float = 0.0
    grad_clip: float | None = None  # max total gradient norm, or None

    def __post_init__(self) -> None:
        _check_choice("training.optimizer", self.optimizer, OPTIMIZER_NAMES)
        _check_number("training.learning_rate", self.learning_rate, 1e-6, 10.0)
        _check_number("training.batch_size", self.batch_size, 1, 5000, integer=True)
        _check_choice("training.loss", self.loss, LOSS_NAMES)
        _check_choice("training.regularization", self.regularization, REGULARIZATION_NAMES)
        _check_number("training.regularization_rate", self.regularization_rate, 0.0, 10.0)
        if self.grad_clip is not None:
            _check_number("training.grad_clip", self.grad_clip, 1e-6, 1e6)


SECTIONS = {"data": Data, "network": Network, "training": Training}


@dataclass(frozen=True)
class Experiment:
    """Everything about a run. The same experiment gives the same numbers, bit for bit."""

    seed: int = 0
    data: Data = field(default_factory=Data)
    network: Network = field(default_factory=Network)
    training: Training = field(default_factory=Training)
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        _check_number("seed", self.seed, 0, 2**31 - 1, integer=True)
        if self.version != FORMAT_VERSION:
            _fail("version", self.version, f"{FORMAT_VERSION}")

    # ---- editing -------------------------------------------------------------------------------
    def with_field(self, path: str, value: Any) -> Experiment:
        """A copy with one field changed, e.g. with_field("training.learning_rate", 0.1); validated."""
        if "." not in path:
            if path != "seed":
                _fail(path, value, "seed, or a section field such as training.learning_rate")
            return dataclasses.replace(self, seed=value)
        section_name, name = path.split(".", 1)
        section = getattr(self, section_name, None)
        if section_name not in SECTIONS or name not in {f.name for f in dataclasses.fields(section)}:
            _fail(path, value, "a known field")
        return dataclasses.replace(self, **{section_name: dataclasses.replace(section, **{name: value})})

    # ---- files ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plain JSON form, complete (every default written out)."""
        out: dict[str, Any] = {"version": self.version, "seed": self.seed}
        for name in SECTIONS:
            section = dataclasses.asdict(getattr(self, name))
            for key, value in section.items():
                if isinstance(value, tuple):
                    section[key] = [list(v) if isinstance(v, tuple) else v for v in value]
            out[name] = section
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> Experiment:
        """Build and validate; unknown keys are an error, missing ones take their defaults."""
        if not isinstance(raw, dict):
            raise ExperimentError("the experiment must be a table (JSON object) with version, seed, data, network, training")
        raw = migrate(dict(raw))
        known = {"version", "seed", *SECTIONS}
        for key in raw:
            if key not in known:
                _fail(key, raw[key], "an unknown key; the top level has " + ", ".join(sorted(known)))
        sections = {}
        for name, section_cls in SECTIONS.items():
            values = raw.get(name, {})
            if not isinstance(values, dict):
                _fail(name, values, "a table of fields")
            names = {f.name for f in dataclasses.fields(section_cls)}
            for key in values:
                if key not in names:
                    _fail(f"{name}.{key}", values[key], f"an unknown key; {name} has " + ", ".join(sorted(names)))
            try:
                sections[name] = section_cls(**values)
            except TypeError as error:  # e.g. an unhashable value where a name was expected
                raise ExperimentError(f"{name}: {error}") from None
        return cls(seed=raw.get("seed", 0), version=raw.get("version", FORMAT_VERSION), **sections)

    @classmethod
    def load(cls, path: str | Path) -> Experiment:
        """Read a .json or .toml file; every problem becomes an ExperimentError naming the file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ExperimentError(f"{path}: cannot read the file ({error.strerror or error})") from None
        except UnicodeDecodeError:
            raise ExperimentError(f"{path}: not a text file (expected JSON or TOML)") from None
        try:
            if path.suffix.lower() == ".toml":
                raw = tomllib.loads(text)
            elif path.suffix.lower() == ".json":
                raw = json.loads(text)
            else:
                raise ExperimentError(f"{path}: unknown file type {path.suffix!r}; allowed: .json, .toml")
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
            raise ExperimentError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from None
        try:
            return cls.from_dict(raw)
        except ExperimentError as error:
            raise ExperimentError(f"{path}: {error}") from None

    def save(self, path: str | Path) -> None:
        """Write JSON atomically, so a failed save never destroys the file that was there."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
            tmp.replace(path)
        except OSError:
            if tmp.is_file():  # nothing half-written left beside the user's file
                tmp.unlink()
            raise


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring an older file up to FORMAT_VERSION. Version 1 is the first, so only checks it."""
    version = raw.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        _fail("version", version, f"{FORMAT_VERSION} (this playground reads version {FORMAT_VERSION} files)")
    return raw
