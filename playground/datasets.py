"""2D classification datasets: pure numpy generators, input features, CSV import.

Generators follow TensorFlow Playground's geometry (dataset.ts): points in about [-6, 6]², raw
coordinates, labels 0/1 (TF Playground's -1 becomes 0). Each is (n, noise, rng) -> (X, y) with
X (n, 2) float32 and y (n,) float32.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .experiment import MAX_COORDINATE, MAX_POINTS, Data, ExperimentError, read_text_file, shown

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _pack(xs, ys, labels) -> tuple[np.ndarray, np.ndarray]:
    X = np.column_stack([xs, ys]).astype(np.float32)
    return X, np.asarray(labels, dtype=np.float32)


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Disc r < 2.5 (label 1) inside a ring 3.5..5 (label 0); noise moves the point used for the label."""
    radius = 5.0
    inner, outer = n // 2, n - n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, inner), rng.uniform(radius * 0.7, radius, outer)])
    angle = rng.uniform(0, 2 * math.pi, n)
    x, y = r * np.sin(angle), r * np.cos(angle)
    nx, ny = rng.uniform(-radius, radius, (2, n)) * noise
    labels = np.hypot(x + nx, y + ny) < radius * 0.5
    return _pack(x, y, labels)


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform in ±5, pushed 0.3 off the axes; label 1 where x·y ≥ 0."""
    padding = 0.3
    x, y = rng.uniform(-5, 5, (2, n))
    x = x + np.where(x > 0, padding, -padding)
    y = y + np.where(y > 0, padding, -padding)
    nx, ny = rng.uniform(-5, 5, (2, n)) * noise
    labels = (x + nx) * (y + ny) >= 0
    return _pack(x, y, labels)


def gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two blobs at (2, 2) (label 1) and (-2, -2); the variance grows from 0.5 to 4 with noise."""
    variance = 0.5 + (4.0 - 0.5) * (noise / 0.5)
    half = n // 2
    centres = np.where(np.arange(n)[:, None] < half, 2.0, -2.0)
    points = centres + rng.normal(0, math.sqrt(variance), (n, 2))
    return _pack(points[:, 0], points[:, 1], np.arange(n) < half)


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals of radius 5 and 1.75 turns; noise jitters each point by ±noise."""
    xs, ys, labels = [], [], []
    for label, delta, count in ((1, 0.0, n // 2), (0, math.pi, n - n // 2)):
        i = np.arange(count) / count
        r, t = i * 5.0, 1.75 * i * 2 * math.pi + delta
        jitter = rng.uniform(-1, 1, (2, count)) * noise
        xs.append(r * np.sin(t) + jitter[0])
        ys.append(r * np.cos(t) + jitter[1])
        labels.append(np.full(count, label))
    return _pack(np.concatenate(xs), np.concatenate(ys), np.concatenate(labels))


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles (scikit-learn's shape), scaled to the playground's plane."""
    upper, lower = n // 2, n - n // 2
    t_up, t_low = rng.uniform(0, math.pi, upper), rng.uniform(0, math.pi, lower)
    x = np.concatenate([np.cos(t_up), 1 - np.cos(t_low)])
    y = np.concatenate([np.sin(t_up), 0.5 - np.sin(t_low)])
    x, y = (x - 0.5) * 3.0, (y - 0.25) * 3.0  # centre, then scale to about ±4.5
    x = x + rng.normal(0, 1, n) * noise * 2
    y = y + rng.normal(0, 1, n) * noise * 2
    return _pack(x, y, np.arange(n) < upper)


def checkerboard(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 4×4 board of 2.5-wide squares over ±5; noise moves the point used for the label."""
    x, y = rng.uniform(-5, 5, (2, n))
    nx, ny = rng.uniform(-2.5, 2.5, (2, n)) * noise
    labels = (np.floor((x + nx) / 2.5) + np.floor((y + ny) / 2.5)) % 2 == 0
    return _pack(x, y, labels)


DATASETS: dict[str, Generator] = {
    "circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral,
    "moons": moons, "checkerboard": checkerboard,
}

FEATURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1_sq": lambda x1, x2: x1 * x1,
    "x2_sq": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sin_x1": lambda x1, x2: np.sin(x1),
    "sin_x2": lambda x1, x2: np.sin(x2),
}

FEATURE_LABELS = {
    "x1": "x₁", "x2": "x₂", "x1_sq": "x₁²", "x2_sq": "x₂²", "x1x2": "x₁x₂",
    "sin_x1": "sin(x₁)", "sin_x2": "sin(x₂)",
}


def features(points: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(n, 2) raw points -> (n, len(names)) float32 network inputs, C-contiguous."""
    x1, x2 = points[:, 0], points[:, 1]
    return np.ascontiguousarray(np.column_stack([FEATURES[name](x1, x2) for name in names]), dtype=np.float32)


@dataclass(frozen=True)
class InputScaling:
    """What the network sees of each input feature: (feature - mean) / std, measured on the training
    split and applied alike to the test split and the plotting grid (data.standardize).

    Tuples of floats, so it can key a cache. A feature constant over the training split keeps
    std 1 (as scikit-learn's StandardScaler does): shifted, never divided by zero.
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def measure(cls, points: np.ndarray, names: tuple[str, ...]) -> InputScaling:
        x = features(points, names).astype(np.float64)
        std = x.std(axis=0)
        std[std < 1e-6] = 1.0
        return cls(tuple(names), tuple(float(m) for m in x.mean(axis=0)), tuple(float(s) for s in std))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(n, n_features) float32 features -> the same standardised, float32, C-contiguous."""
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


def network_inputs(points: np.ndarray, names: tuple[str, ...], scaling: InputScaling | None) -> np.ndarray:
    """(n, 2) raw points -> (n, len(names)) float32: what the first layer sees."""
    x = features(points, names)
    if scaling is None:
        return x
    if scaling.features != tuple(names):
        raise ValueError(f"the scaling was measured on {scaling.features}, not {tuple(names)}")
    return scaling.apply(x)


@dataclass(frozen=True)
class DataSplit:
    """The points a run trains and tests on; arrays are read-only so they can cross threads."""

    train_points: np.ndarray  # (n_train, 2) float32 raw coordinates
    train_labels: np.ndarray  # (n_train,) float32 in {0, 1}
    test_points: np.ndarray
    test_labels: np.ndarray
    scaling: InputScaling | None = None  # data.standardize: measured on train_points; None = raw inputs

    def __post_init__(self):
        # what is derived from these points once and kept with them (snapshot.data_features: the
        # network's inputs per feature set), so it lives and goes exactly as long as the split
        object.__setattr__(self, "derived", {})

    def __getstate__(self) -> dict:
        """Pickled without `derived` (a snapshot crosses to the window many times a second)."""
        return {key: value for key, value in self.__dict__.items() if key != "derived"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "derived", {})


def make_split(data: Data, seed: int) -> DataSplit:
    """Generate (or take) the points, shuffle them with the data seed, split train/test."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))  # stream 1: data
    if data.points is not None:
        table = np.asarray(data.points, dtype=np.float32)
        X, y = table[:, :2], table[:, 2]
    else:
        X, y = DATASETS[data.dataset](data.n_points, data.noise, rng)
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    n_train = min(max(1, int(round(len(X) * data.train_fraction))), len(X) - 1)
    parts = [np.ascontiguousarray(a) for a in (X[:n_train], y[:n_train], X[n_train:], y[n_train:])]
    for part in parts:
        part.setflags(write=False)
    scaling = InputScaling.measure(parts[0], tuple(data.features)) if data.standardize else None
    return DataSplit(*parts, scaling=scaling)


MAX_CSV_POINTS = MAX_POINTS  # the experiment's limit on data.points
MIN_CSV_POINTS = 10  # ... and its least
SKIPPED_SHOWN = 3  # skipped lines named in a refusal; every one is in the warnings
NUMERIC_LABELS = {0.0: 0, 1.0: 1, -1.0: 0}  # TF Playground's -1 reads as class 0


@dataclass(frozen=True)
class CsvPoints:
    """What a points CSV holds: the rows, every line that is not one (and why), and the labels."""

    rows: tuple[tuple[float, float, int], ...]  # (x, y, class 0/1)
    skipped: tuple[tuple[int, str, str], ...]  # (line number from 1, the line cut to 60 characters, why)
    labels: tuple[str, str]  # what was read as class 0 and as class 1

    @property
    def warnings(self) -> list[str]:
        return [f"line {n} skipped: {reason}" for n, _, reason in self.skipped]


def _csv_row(line: str) -> tuple[list | None, str]:
    """One CSV line as [x, y, label text], or None and the reason it is not one."""
    try:
        cells = next(csv.reader([line], strict=True))
    except csv.Error as error:  # each line on its own: one stray quote cannot swallow the lines after it
        text = str(error)
        if "field larger than field limit" in text:
            return None, f"a field longer than {csv.field_size_limit():,} characters"
        return None, "an unclosed quote" if "end of data" in text or "quote" in text else text
    except StopIteration:
        return None, "no fields"
    if len(cells) != 3:
        return None, f"{len(cells)} field{'s' if len(cells) != 1 else ''}, not x,y,label"
    values = []
    for name, cell in zip(("x", "y"), cells):
        try:
            values.append(float(cell))
        except ValueError:
            return None, f"{name} = {shown(cell.strip())} is not a number"
    for name, value in zip(("x", "y"), values):
        if not (math.isfinite(value) and abs(value) <= MAX_COORDINATE):
            return None, f"{name} = {value:g} is not allowed: from -{MAX_COORDINATE:g} to {MAX_COORDINATE:g}"
    label = cells[2].strip()
    if not label:
        return None, "no label"
    return [*values, label], ""


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_points_csv(path: str | Path) -> CsvPoints:
    """Read x,y,label rows from a CSV. A header line is allowed. Labels are 0/1, TF Playground's
    -1/1, or any two names (sorted: the first is class 0).

    Every line is accounted for: a row, or in `skipped` with its number and the reason (a bad line
    never hides the ones after it). Fewer than 10 usable rows, one class, or more than 5000 rows
    raise ExperimentError naming the file, what is wrong and the first skipped lines.
    """
    path = Path(path)
    text = read_text_file(path, encoding="utf-8-sig")  # a regular file of at most a few MB
    read, skipped = [], []
    seen_content = False
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row, reason = _csv_row(line)
        first, seen_content = not seen_content, True
        if row is None:
            if first and reason.endswith("is not a number") and not any(c.isdigit() for c in line):
                continue  # a header such as x,y,label is not junk
            skipped.append((line_no, line[:60], reason))
            continue
        read.append((line_no, line, row))
    texts = {row[2] for _, _, row in read}
    rows = []
    if all(_number(t) is not None for t in texts):  # numbers: 0/1 or -1/1
        for line_no, line, (x, y, label) in read:
            value = _number(label)
            if value in NUMERIC_LABELS:
                rows.append((x, y, NUMERIC_LABELS[value]))
            else:
                skipped.append((line_no, line[:60], f"label {value:g} is not 0 or 1 (or TF Playground's -1 for 0)"))
        skipped.sort()
        zero = [t for t in sorted(texts, key=_number) if NUMERIC_LABELS.get(_number(t)) == 0]
        labels = ("/".join(zero) or "0", "1")
    else:  # names: exactly two
        names = sorted(texts)
        if len(names) != 2:
            raise ExperimentError(f"{path}: {len(names)} distinct labels ({', '.join(shown(n) for n in names[:5])}"
                                  f"{'…' if len(names) > 5 else ''}); need 0/1, -1/1 or exactly two names")
        rows = [(x, y, names.index(label)) for _, _, (x, y, label) in read]
        labels = (names[0], names[1])
    points = CsvPoints(tuple(rows), tuple(skipped), labels)

    def named_skips() -> str:
        if not skipped:
            return ""
        return (f"; {len(skipped):,} line{'s' if len(skipped) != 1 else ''} skipped, e.g. "
                + "; ".join(f"line {n}: {reason}" for n, _, reason in skipped[:SKIPPED_SHOWN]))

    if len(rows) < MIN_CSV_POINTS:
        raise ExperimentError(f"{path}: {len(rows)} usable rows; need at least {MIN_CSV_POINTS} rows of x,y,label "
                              f"with both labels 0 and 1{named_skips()}")
    classes = {r[2] for r in rows}
    if len(classes) < 2:
        raise ExperimentError(f"{path}: all {len(rows):,} usable rows have label {labels[classes.pop()]}; both "
                              f"labels 0 and 1 are needed{named_skips()}")
    if len(rows) > MAX_CSV_POINTS:
        raise ExperimentError(f"{path}: {len(rows):,} usable rows; at most {MAX_CSV_POINTS} are allowed")
    return points
