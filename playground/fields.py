"""The experiment's fields in one table: type and range, label, live or rebuild, and a line of help.

Everything else reads its field facts from here, as TF Playground's `State.PROPS` drives its state:
experiment.py validates each field by its row (an error says "field = value is not allowed: " and the
row's `allowed`, word for word what the README lists); the window's panels take their ranges, steps,
labels and tooltips from it; Trainer.apply asks change() whether an edit applies live, needs new
weights or new data; and markdown() writes the README's field list.

The defaults are not here: they stay in experiment.py's dataclasses, the one place a reader of the
file format looks first. The table reads them from an experiment (`Field.stored`), so the README's
default column is always the code's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
LOSS_NAMES = ("bce", "mse", "tanh_mse")
REGULARIZATION_NAMES = ("none", "l1", "l2")

MAX_LAYERS = 8
MAX_UNITS = 32
MAX_POINTS = 5000  # custom points, generated points and the batch size alike
# Coordinates of custom points: the engine works in float32 (max 3.4e38) and squares its inputs
# (x1_sq, x1x2), so |x| must stay far below sqrt(3.4e38) = 1.8e19; 1e6 leaves the network's sums
# room too. TF Playground's own data lies within ±6.
MAX_COORDINATE = 1e6
MAX_SEED = 2**31 - 1

# How a run takes a changed field (the words Trainer.apply returns):
HOT = "hot"  # live: the weights, the optimiser's state and the step go on
MODEL = "model"  # new weights from the same seed, same data
DATA = "data"  # new data and new weights
CHANGE_WORDS = {HOT: "live", MODEL: "new weights", DATA: "new data and weights", None: "—"}

# Kinds of field, each with its own check in experiment.py:
CHOICE, NUMBER, WHOLE, SWITCH = "choice", "number", "whole", "switch"
FEATURES, POINTS, SIZES, ACTIVATION, PARAMS, VERSION = "features", "points", "sizes", "activation", "params", "version"


@dataclass(frozen=True)
class Field:
    """One row: what a field takes, how it is shown and how a run takes a change to it."""

    path: str  # as the file nests it and the panels' edits name it: "training.learning_rate"
    kind: str  # CHOICE, NUMBER, WHOLE, SWITCH, or one of the structured kinds above
    label: str  # the window's name for it
    change: str | None  # HOT, MODEL or DATA; None where its parts say (activation_params) or never (version)
    help: str  # one line: what it does
    low: float | int | None = None  # NUMBER and WHOLE: the closed range; the numbers as errors print them
    high: float | int | None = None
    choices: tuple[str, ...] = ()  # CHOICE, FEATURES, ACTIVATION, PARAMS
    step: float | int | None = None  # the widgets' step; None: adaptive (a range over decades)
    null: str | None = None  # null is allowed and means this ("the init's own rule")
    activation: str | None = None  # an activation parameter: the activation that uses it

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def allowed(self) -> str:
        """What the field takes, as an error names it after "is not allowed: "."""
        if self.kind in (NUMBER, WHOLE):
            numbers = f"{'a whole number' if self.kind == WHOLE else 'a number'} from {self.low} to {self.high}"
            return numbers if self.null is None else f"null ({self.null}) or {numbers}"
        if self.kind in (CHOICE, ACTIVATION):
            return "one of " + ", ".join(self.choices)
        if self.kind == SWITCH:
            return "true or false"
        if self.kind == FEATURES:
            return "a non-empty list of " + ", ".join(self.choices)
        if self.kind == SIZES:
            return f"a list of 0 to {MAX_LAYERS} layer sizes"
        if self.kind == PARAMS:
            return "a table with any of " + ", ".join(self.choices)
        if self.kind == POINTS:
            return (f"a list of at least 10 [x, y, label] rows with x and y from -{MAX_COORDINATE:g} to "
                    f"{MAX_COORDINATE:g} and label 0 or 1, both labels present")
        if self.kind == VERSION:
            return f"{FORMAT_VERSION}"
        raise ValueError(f"field kind {self.kind!r} is unknown")

    @property
    def summary(self) -> str:
        """`allowed` with the limits that only an error of their own names (the README's column)."""
        extra = {FEATURES: ", each at most once", POINTS: f", at most {MAX_POINTS} rows",
                 SIZES: f", each a whole number from 1 to {MAX_UNITS}",
                 ACTIVATION: " (all hidden layers), or a list of one per hidden layer"}
        return self.allowed + extra.get(self.kind, "")

    @property
    def tip(self) -> str:
        """The widget's tooltip: the help, and how a change applies."""
        return f"{self.help} ({CHANGE_WORDS[self.change]})" if self.change else self.help

    def stored(self, experiment) -> Any:
        """The value as the experiment holds it (an activation parameter: its default filled in)."""
        if self.activation is not None:
            return experiment.network.param(self.name)
        value = experiment
        for part in self.path.split("."):
            value = getattr(value, part)
        return value

    def shown(self, experiment) -> str:
        """A number field's value as a person reads it ("0.03", "10"), or what its null means."""
        value = self.stored(experiment)
        if value is None:
            return self.null or "null"
        return f"{value:g}" if self.kind == NUMBER else str(value)

    def seen(self, experiment) -> Any:
        """The value as a run sees it: "tanh" and ("tanh", "tanh") on two layers are the same network."""
        if self.kind == ACTIVATION:
            return experiment.network.layer_activations()
        return self.stored(experiment)


def _params() -> tuple[Field, ...]:
    base = "network.activation_params."
    return (
        Field(base + "negative_slope", NUMBER, "negative slope s", HOT, "Leaky ReLU's slope for z < 0",
              -1.0, 1.0, step=0.01, activation="leaky_relu"),
        Field(base + "alpha", NUMBER, "α", HOT, "ELU's α: f(z) tends to −α for very negative z",
              0.0, 10.0, step=0.1, activation="elu"),
        Field(base + "prelu_init", NUMBER, "starting slope a", MODEL,
              "PReLU's slope for z < 0 at the start; each neuron then learns its own", -1.0, 1.0, step=0.05,
              activation="prelu"),
    )


TABLE: tuple[Field, ...] = (
    Field("version", VERSION, "Format", None, "the file format's version; older files are brought up to it"),
    Field("seed", WHOLE, "Seed", DATA, "draws the data, the first weights and the minibatch order: the same "
          "seed gives the same run", 0, MAX_SEED, step=1),
    # ---- data
    Field("data.dataset", CHOICE, "Dataset", DATA, "a built-in generator (TF Playground's geometry, points in "
          "about ±6); ignored when points are given", choices=DATASET_NAMES),
    Field("data.noise", NUMBER, "Noise", DATA, "how far the labels stray across the boundary, as TF "
          "Playground's 0–50 %", 0.0, 0.5, step=0.01),
    Field("data.train_fraction", NUMBER, "Train", DATA, "the share of the points trained on; the rest is "
          "the test set", 0.1, 0.9, step=0.01),
    Field("data.n_points", WHOLE, "Points", DATA, "how many points are generated; ignored when points are "
          "given", 10, MAX_POINTS, step=50),
    Field("data.features", FEATURES, "Input features", DATA, "what the first layer sees, computed from the "
          "point (x1, x2)", choices=FEATURE_NAMES),
    Field("data.points", POINTS, "Custom points", DATA, "your own [[x, y, label], …] instead of the dataset "
          "(File → Import CSV writes them); null: the dataset's"),
    Field("data.standardize", SWITCH, "Standardise inputs", DATA, "the network sees each feature at mean 0, "
          "std 1 of the training split; the views keep the data's own coordinates"),
    # ---- network
    Field("network.hidden", SIZES, "Hidden layers", MODEL, "neurons per hidden layer"),
    Field("network.activation", ACTIVATION, "Activation", MODEL, "the hidden layers' activation: one for all, or one per layer",
          choices=ACTIVATION_NAMES),
    Field("network.activation_params", PARAMS, "Activation parameters", None, "the parameters below; one "
          "left out takes its default (PyTorch's)", choices=ACTIVATION_PARAM_NAMES),
    *_params(),
    Field("network.init", CHOICE, "Init", MODEL, "how the weights start; auto: each layer's recommended one (He "
          "for the ReLU family, LeCun for SELU and tanh, Xavier for sigmoid); torch: nn.Linear's own", choices=INIT_NAMES),
    Field("network.init_gain", NUMBER, "Init gain", MODEL, "multiplies every weight's standard deviation",
          0.0, 10.0, step=0.1),
    Field("network.bias_init", NUMBER, "Bias init", MODEL, "every hidden bias starts here (strongly negative "
          "kills ReLUs); null: 0, or U(±1/√fan_in) for init torch", -10.0, 10.0, step=0.5,
          null="the init's own rule"),
    Field("network.batch_norm", SWITCH, "Batch norm", MODEL, "batch norm after each hidden linear layer, "
          "before the activation"),
    # ---- training
    Field("training.optimizer", CHOICE, "Optimiser", HOT, "how a gradient moves the weights; a change starts "
          "momentum and Adam's moments afresh", choices=OPTIMIZER_NAMES),
    Field("training.learning_rate", NUMBER, "Learning rate", HOT, "the size of each update", 1e-6, 10.0),
    Field("training.batch_size", WHOLE, "Batch size", HOT, "points per update; a step is one update",
          1, MAX_POINTS, step=1),
    Field("training.loss", CHOICE, "Loss", HOT, "bce on the logit, mse on the output probability, or tanh_mse (TF Playground's): "
          "½(tanh(logit) − target)² against targets ±1, probability (tanh + 1)/2",
          choices=LOSS_NAMES),
    Field("training.regularization", CHOICE, "Regularisation", HOT, "a penalty on the weights only: never on "
          "biases, PReLU slopes or batch norm", choices=REGULARIZATION_NAMES),
    Field("training.regularization_rate", NUMBER, "Reg. rate", HOT, "the penalty's weight in the loss",
          0.0, 10.0),
    Field("training.grad_clip", NUMBER, "Grad clip", HOT, "the largest total gradient norm an update may have",
          1e-6, 1e6, null="no clipping"),
)

FIELDS: dict[str, Field] = {row.path: row for row in TABLE}


def change(old, new) -> str:
    """How a run takes the edit from experiment `old` to `new`: DATA, MODEL or HOT, the most that any
    changed field needs."""
    needed = {row.change for row in TABLE if row.change is not None and row.seen(old) != row.seen(new)}
    return DATA if DATA in needed else MODEL if MODEL in needed else HOT


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(defaults) -> str:
    """The README's field list: a Markdown table of every field, its defaults read from `defaults`
    (an Experiment())."""
    lines = ["| field | allowed | default | a change takes | what it does |", "|---|---|---|---|---|"]
    for row in TABLE:
        default = json.dumps(row.stored(defaults), ensure_ascii=False)
        lines.append(f"| `{row.path}` | {_cell(row.summary)} | `{default}` | {CHANGE_WORDS[row.change]} "
                     f"| {_cell(row.help)} |")
    return "\n".join(lines) + "\n"
