"""The experiment: one frozen, validated value that says everything about a run, seed included.

The file format (version 1) is a contract with users and with every other part of the app:
JSON or TOML, every field optional, defaults filled in, unknown keys an error. Every error names
the field, the value and what is allowed, so `playground train` and the window can show it as is.
What each field allows is its row in the field table (fields.py); the checks below read it. The
defaults are the dataclasses' own, below.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import reprlib
import stat
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fields import (  # noqa: F401 (the names and limits are the table's; importable from here as before)
    ACTIVATION_NAMES, ACTIVATION_PARAM_NAMES, DATASET_NAMES, FEATURE_NAMES, FIELDS, FORMAT_VERSION, INIT_NAMES,
    LOSS_NAMES, MAX_COORDINATE, MAX_LAYERS, MAX_POINTS, MAX_UNITS, OPTIMIZER_NAMES, REGULARIZATION_NAMES, Field,
)
from .fields import ACTIVATION, CHOICE, FEATURES, NUMBER, PARAMS, POINTS, SIZES, SWITCH, VERSION, WHOLE

# Limits on what is read, so no file can hang, exhaust memory or overflow the engine:
MAX_FILE_BYTES = 4 * 1024 * 1024  # 5,000 points written out as JSON are ~0.2 MB; 4 MB is generous
MAX_DEPTH = 16  # the format nests 3 deep (data.points[i][j]); anything deeper is not an experiment
MAX_NUMBER_DIGITS = 40  # a whole number longer than this is refused before Python converts it
SHOWN_CHARS = 80  # a refused value is echoed at most this long


class ExperimentError(ValueError):
    """A bad experiment: the message names the field, the value and what is allowed."""


class _ShortRepr(reprlib.Repr):
    """repr() that stays short on huge lists, deep nesting and long strings or numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxlist, self.maxtuple, self.maxdict = 3, 6, 6, 4
        self.maxstring, self.maxother, self.maxlong = SHOWN_CHARS, SHOWN_CHARS, 30

    def repr_int(self, x: int, level: int) -> str:
        try:
            text = repr(x)
        except ValueError:  # more digits than Python converts to text (sys.get_int_max_str_digits)
            return f"<a whole number of about {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return text if len(text) <= self.maxlong else f"{text[:12]}… ({len(text.lstrip('-'))} digits)"

    def repr_str(self, x: str, level: int) -> str:
        return repr(x[:SHOWN_CHARS + 1])  # shown() cuts it, with "…" where it was cut


_short_repr = _ShortRepr()


def shown(value: Any) -> str:
    """A value as an error message echoes it: its repr, cut to SHOWN_CHARS with "…"."""
    text = _short_repr.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…"


def _fail(field_name: str, value: Any, allowed: str) -> None:
    if not field_name.isprintable() or len(field_name) > SHOWN_CHARS:  # an unknown key is user text
        field_name = shown(field_name)
    raise ExperimentError(f"{field_name} = {shown(value)} is not allowed: {allowed}")


class LongNumber:
    """A JSON whole number with more than MAX_NUMBER_DIGITS digits, kept as text: no field takes it,
    so validation refuses it by name (converting 4,301+ digits would raise, and 309+ overflow float)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"{self.text[:12]}… ({len(self.text.lstrip('-'))} digits)"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)  # any int is finite (and may not fit a float)


def _check_number(row: Field, value: Any, section: Any = None) -> Any:
    if value is None and row.null is not None:
        return value
    whole = isinstance(value, int) and not isinstance(value, bool)
    if (row.kind == WHOLE and not whole) or not _is_number(value) or not row.low <= value <= row.high:
        _fail(row.path, value, row.allowed)
    return value


def _check_choice(row: Field, value: Any, section: Any = None) -> Any:
    if value not in row.choices:
        _fail(row.path, value, "one of " + ", ".join(row.choices))
    return value


def _check_switch(row: Field, value: Any, section: Any = None) -> Any:
    if not isinstance(value, bool):
        _fail(row.path, value, row.allowed)
    return value


def _check_features(row: Field, value: Any, section: Any = None) -> Any:
    names = tuple(value) if isinstance(value, list) else value
    if not isinstance(names, tuple) or not names:
        _fail(row.path, value, row.allowed)
    for name in names:
        _check_choice(row, name)
    if len(set(names)) != len(names):
        _fail(row.path, list(names), "each feature at most once")
    return names


def _check_points(row: Field, points: Any, section: Any = None) -> tuple[tuple[float, float, int], ...] | None:
    if points is None:
        return None
    if not isinstance(points, (list, tuple)) or len(points) < 10 or len(points) > MAX_POINTS:
        _fail(row.path, f"<{type(points).__name__} of {len(points) if hasattr(points, '__len__') else '?'}>",
              f"{row.allowed}, at most {MAX_POINTS} rows")
    rows = []
    for i, point in enumerate(points):
        if (not isinstance(point, (list, tuple)) or len(point) != 3 or not _is_coordinate(point[0])
                or not _is_coordinate(point[1]) or isinstance(point[2], bool) or point[2] not in (0, 1)):
            _fail(f"{row.path}[{i}]", point, row.allowed)
        rows.append((float(point[0]), float(point[1]), int(point[2])))
    if len({r[2] for r in rows}) < 2:
        _fail(row.path, "<only one label>", row.allowed)
    return tuple(rows)


_LAYER_SIZE = Field("network.hidden", WHOLE, "Neurons", None, "one hidden layer's size", 1, MAX_UNITS)


def _check_sizes(row: Field, value: Any, section: Any = None) -> Any:
    sizes = tuple(value) if isinstance(value, list) else value
    if not isinstance(sizes, tuple) or len(sizes) > MAX_LAYERS:
        _fail(row.path, value, row.allowed)
    for size in sizes:
        _check_number(_LAYER_SIZE, size)
    return sizes


def _check_activation(row: Field, value: Any, section: Any) -> Any:
    """One name for every hidden layer, or one per layer (section.hidden, checked before)."""
    names = tuple(value) if isinstance(value, list) else value
    if isinstance(names, tuple):
        if len(names) != len(section.hidden):
            _fail(row.path, list(names),
                  f"one name for all layers, or a list of {len(section.hidden)} names (one per hidden layer)")
        for name in names:
            _check_choice(row, name)
    else:
        _check_choice(row, names)
    return names


def _check_params(row: Field, value: Any, section: Any = None) -> Any:
    if not isinstance(value, dict):
        _fail(row.path, value, row.allowed)
    for key, number in value.items():
        _check_choice(row, key)
        _check_number(FIELDS[f"{row.path}.{key}"], number)
    return value


def _check_version(row: Field, value: Any, section: Any = None) -> Any:
    if not _is_version(value):
        _fail(row.path, value, row.allowed)
    return value


# each kind of row in the table (fields.py), checked: (row, value, section) -> the value (lists as tuples)
CHECKS = {NUMBER: _check_number, WHOLE: _check_number, CHOICE: _check_choice,
          SWITCH: _check_switch, FEATURES: _check_features, POINTS: _check_points,
          SIZES: _check_sizes, ACTIVATION: _check_activation, PARAMS: _check_params,
          VERSION: _check_version}


def check(path: str, value: Any, section: Any = None) -> Any:
    """`value` if the field at `path` allows it (a list made a tuple), else an ExperimentError that
    names the field, the value and what its row allows. `section` is the rest of its section, for
    the one field that depends on another (network.activation: one name per hidden layer)."""
    row = FIELDS[path]
    return CHECKS[row.kind](row, value, section)


def _check_section(section: Any, name: str) -> None:
    """Check a section's fields in their order (the first bad one is the one reported)."""
    for item in dataclasses.fields(section):
        value = getattr(section, item.name)
        checked = check(f"{name}.{item.name}", value, section)
        if checked is not value:
            object.__setattr__(section, item.name, checked)


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
    # Those were with bce and Xavier × 5/3 for tanh; with today's defaults (tanh_mse, LeCun for tanh)
    # raw -> standardised over seeds 0-19: circle 1.000 -> 1.000, xor 0.993 -> 0.996, spiral ReLU
    # 0.940 -> 0.946, 7-feature spiral 0.971 -> 0.978 (docs/tfp_parity_20_seeds.md).
    standardize: bool = True

    def __post_init__(self) -> None:
        _check_section(self, "data")


def _is_coordinate(value: Any) -> bool:
    return _is_number(value) and abs(value) <= MAX_COORDINATE


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
        _check_section(self, "network")

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
    # bce on the logit, mse on the output probability, or tanh_mse (TF Playground's, the default: with
    # it our defaults reach TF's accuracy on its own settings; docs/tfp_parity_20_seeds.md)
    loss: str = "tanh_mse"
    regularization: str = "none"  # on weights only: never on biases, PReLU slopes or batch norm
    regularization_rate: float = 0.0
    grad_clip: float | None = None  # max total gradient norm, or None

    def __post_init__(self) -> None:
        _check_section(self, "training")


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
        check("seed", self.seed)
        check("version", self.version)

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
        if path.suffix.lower() not in (".json", ".toml"):  # before reading: it may be anything
            raise ExperimentError(f"{path}: unknown file type {path.suffix!r}; allowed: .json, .toml")
        text = read_text_file(path)
        try:
            return cls.from_dict(parse_text(text, path.suffix))
        except ExperimentError as error:
            raise ExperimentError(f"{path}: {error}") from None

    def save(self, path: str | Path) -> None:
        """Write JSON atomically, so a failed save never destroys the file that was there."""
        write_atomically(path, (json.dumps(self.to_dict(), indent=2) + "\n").encode("utf-8"))


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring an older file up to FORMAT_VERSION. Version 1 is the first, so only checks it."""
    version = raw.get("version", FORMAT_VERSION)
    if not _is_version(version):
        _fail("version", version, f"{FORMAT_VERSION} (this playground reads version {FORMAT_VERSION} files)")
    return raw


def _is_version(value: Any) -> bool:
    """The version this playground reads (true == 1 in Python, but is not a version)."""
    return isinstance(value, int) and not isinstance(value, bool) and value == FORMAT_VERSION


# ---- reading files -------------------------------------------------------------------------------
_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a device"),
               (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def open_regular_file(path: str | Path):
    """A binary file object on a regular file, or an ExperimentError naming the file.

    Pipes, devices (a symlink to /dev/zero) and folders are refused before they are opened, and
    opened non-blocking in case one appears meanwhile, so nothing can hang the reader. Every reader
    of a user's file (experiments, run files) opens it here.
    """
    path = Path(path)

    def refuse_kind(mode: int) -> None:
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
            raise ExperimentError(f"{path}: cannot read {kind}; give a regular file")

    try:
        refuse_kind(os.stat(path).st_mode)
        file = os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb")
    except OSError as error:
        raise ExperimentError(f"{path}: cannot read the file ({error.strerror or error})") from None
    try:
        refuse_kind(os.fstat(file.fileno()).st_mode)
    except BaseException:
        file.close()
        raise
    return file


def read_text_file(path: str | Path, limit: int = MAX_FILE_BYTES, encoding: str = "utf-8") -> str:
    """The text of a regular file of at most `limit` bytes (open_regular_file), or an ExperimentError."""
    path = Path(path)
    with open_regular_file(path) as file:
        try:
            data = file.read(limit + 1)
        except OSError as error:
            raise ExperimentError(f"{path}: cannot read the file ({error.strerror or error})") from None
    if len(data) > limit:
        raise ExperimentError(f"{path}: larger than {limit / 2**20:g} MB, which is the most allowed")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise ExperimentError(f"{path}: not a text file (expected UTF-8 text)") from None


def write_atomically(path: str | Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it onto `path`: a failed write
    never destroys the file that was there, nor leaves a half-written one. Every writer of a user's
    file but the export's (writers.AtomicFile) writes here: experiments, run files, the torch export,
    compare's CSV. OSError as the system raised it."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the user's file gets the usual rights
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _json_int(text: str) -> int | LongNumber:
    return LongNumber(text) if len(text) > MAX_NUMBER_DIGITS else int(text)


def _depth(value: Any) -> int:
    """How deeply lists and tables nest (iteratively: a deep document must not overflow the stack)."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (list, dict)):
            level += 1
            if level > MAX_DEPTH:
                return level
            deepest = max(deepest, level)
            todo.extend((child, level) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_text(text: str, suffix: str) -> Any:
    """Parse an experiment file's text (".json" or ".toml") into plain values, or ExperimentError
    saying why in one line. Huge numbers and deep nesting are refused, never raised."""
    kind = suffix.lower()
    try:
        if kind == ".toml":
            raw = tomllib.loads(text)
        elif kind == ".json":
            raw = json.loads(text, parse_int=_json_int)
        else:
            raise ExperimentError(f"unknown file type {suffix!r}; allowed: .json, .toml")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        reason = " ".join(str(error).split())  # one line
        raise ExperimentError(f"not valid {kind[1:].upper()}: {shown(reason)[1:-1]}") from None
    except RecursionError:
        raise ExperimentError(f"not an experiment: lists or tables nested more than {MAX_DEPTH} deep") from None
    except ValueError:  # tomllib: a whole number of more digits than Python converts
        raise ExperimentError(f"not valid {kind[1:].upper()}: a number has more digits than Python reads "
                              f"(at most {sys.get_int_max_str_digits():,})") from None
    if _depth(raw) > MAX_DEPTH:
        raise ExperimentError(f"not an experiment: lists or tables nested more than {MAX_DEPTH} deep")
    return raw
