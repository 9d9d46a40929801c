"""Lessons: a demonstration a teacher opens with one click, and the check that proves its claim.

A lesson is a file in resources/lessons/ (JSON or TOML), named by its stem without a leading
"NN_" (01_linear_vs_tanh.json is the lesson `linear_vs_tanh`; the number orders the list):

    title, claim         what it shows, the claim in one sentence
    click, watch         short lines a teacher reads aloud: what to click, what to watch
    speed                steps per second the window runs it at
    seeds                the seeds the check runs over; share: how many must hold (default all)
    experiment, check    the run: an experiment (inline table, an example's name, or a path relative
                         to the lesson file) and its check
    runs                 instead, a contrast: a list of {label, experiment, check}, each checked

A check is one stage or a list: {"at_step": 300, "all": [{"metric": "dead_fraction", ">=": 0.5}, ...]},
every condition evaluated on the run's Snapshot at that step (or at the step it diverged). Metrics are
read from the Snapshot by METRICS below, the same function headless (`playground lessons --check`,
the tests) and in the window (the lesson panel, on live snapshots).

A contrast is written as `runs` and checked one run after another; when its runs differ in one field
only, the window offers to race them in compare mode over the lesson's seeds (compare_spec). The key
`compare` is reserved for lessons written as a compare spec (issue 11), which are not read yet.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import bundled
from .experiment import Experiment, ExperimentError
from .fields import FIELDS, VERSION
from .snapshot import Snapshot

MAX_STEPS = 20000  # a check's at_step; a lesson must show its effect in a class, not overnight
SHOW_WITHIN_S = 60.0  # issue 11: "the effect shows within a minute at the lesson's own speed"
MAX_SEEDS = 50
CHECK_GRID = 8  # the headless check never draws: the smallest grid keeps each snapshot cheap


# what `controls` may name: the fields a panel edits, by the paths its edits name them (not the file's
# version; an activation's parameters are edited under the activation curve, in the main view)
CONTROL_NAMES = tuple(path for path, row in FIELDS.items() if row.kind != VERSION and row.activation is None)


class LessonError(ValueError):
    """A bad lesson file: the message names the file, the field and what is allowed."""


def _fail(field_name: str, value: Any, allowed: str):
    raise LessonError(f"{field_name} = {value!r} is not allowed: {allowed}")


# ---- the figures a check can read -------------------------------------------------------------------
def _fraction(state: str) -> Callable[[Snapshot], float]:
    def read(snap: Snapshot) -> float:
        n = snap.counts()
        return n[state] / n["total"] if n["total"] else math.nan
    return read


def _grad_ratio(snap: Snapshot) -> float:
    """‖∂L/∂W‖ of the first weight layer over the output layer's, on the last step (vanishing: ≪ 1)."""
    return _ratio(snap.grad_norms)


def _slopes(snap: Snapshot) -> np.ndarray:
    parts = [s for s in snap.prelu_slopes if s is not None]
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)


def _slope_spread(snap: Snapshot) -> float:
    """Largest PReLU slope minus the smallest: every slope starts at prelu_init (spread 0)."""
    slopes = _slopes(snap)
    return float(slopes.max() - slopes.min()) if len(slopes) else math.nan


STEPS_TO_TARGET = 0.95  # the test accuracy "steps to target" counts to (SCIENCE.md: steps to 95 %)


def _steps_to(history, upto: int | None = None) -> float:
    """The first recorded step with test accuracy ≥ STEPS_TO_TARGET (every step to 100, then every 10),
    among the rows up to index `upto`; inf when not yet."""
    accuracy = np.asarray(history.test_accuracy[:None if upto is None else upto + 1])
    reached = np.flatnonzero(accuracy >= STEPS_TO_TARGET)
    return float(history.steps[reached[0]]) if len(reached) else math.inf


def _layer(field: str, reduce: Callable[[np.ndarray], float]) -> Callable[[Snapshot], float]:
    """A figure over the hidden layers' activation statistics (Snapshot.layer_mean / layer_std)."""
    def read(snap: Snapshot) -> float:
        values = getattr(snap, field)
        if values is None or not len(values):
            return math.nan
        return float(reduce(np.asarray(values, np.float64)))
    return read


METRICS: dict[str, tuple[Callable[[Snapshot], float], str]] = {
    "test_accuracy": (lambda s: s.test_accuracy, "test accuracy"),
    "train_accuracy": (lambda s: s.train_accuracy, "training accuracy"),
    "test_loss": (lambda s: s.test_loss, "test loss"),
    "train_loss": (lambda s: s.train_loss, "training loss"),
    "dead_fraction": (_fraction("dead"), "dead units"),
    "saturated_fraction": (_fraction("saturated"), "saturated units"),
    "sleeping_fraction": (_fraction("sleeping"), "sleeping units"),
    "alive_fraction": (_fraction("alive"), "alive units"),
    "grad_ratio": (_grad_ratio, "gradient ratio first/last layer"),
    "diverged": (lambda s: 1.0 if s.diverged else 0.0, "diverged"),
    "prelu_slope_spread": (_slope_spread, "spread of the PReLU slopes"),
    "prelu_slope_min": (lambda s: float(_slopes(s).min()) if len(_slopes(s)) else math.nan, "smallest PReLU slope"),
    "prelu_slope_max": (lambda s: float(_slopes(s).max()) if len(_slopes(s)) else math.nan, "largest PReLU slope"),
    "steps_to_95": (lambda s: _steps_to(s.history), "steps to 95 % test accuracy"),
    "layer_std_min": (_layer("layer_std", np.min), "smallest activation std of any layer"),
    "layer_std_max": (_layer("layer_std", np.max), "largest activation std of any layer"),
    "layer_std_last": (_layer("layer_std", lambda v: v[-1]), "activation std of the last hidden layer"),
    "layer_mean_abs_max": (_layer("layer_mean", lambda v: np.abs(v).max()), "largest |activation mean| of any layer"),
}
LAYER_METRICS = {name for name in METRICS if name.startswith("layer_")}  # read from the layers chart
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b,
}
OP_WORDS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}  # as the panel and --check print them
UNIT_STATES = {"dead_fraction": "dead", "saturated_fraction": "saturated", "sleeping_fraction": "sleeping",
               "alive_fraction": "alive"}


def metric(name: str, snap: Snapshot) -> float:
    """The figure `name` of a snapshot (NaN where it has none: accuracy of a diverged run)."""
    return float(METRICS[name][0](snap))


# The figures the run's History records at every probed step (every step to 100, then every 10): a
# stage reads them from the row at exactly its step when there is one, so the window, whose newest-wins
# frames may skip step 300, judges the same numbers as the headless check that stops there.
HISTORY_METRICS: dict[str, Callable[[Any, int], float]] = {
    "test_accuracy": lambda h, i: h.test_accuracy[i], "train_accuracy": lambda h, i: h.train_accuracy[i],
    "test_loss": lambda h, i: h.test_loss[i], "train_loss": lambda h, i: h.train_loss[i],
    "dead_fraction": lambda h, i: h.dead_fraction[i], "saturated_fraction": lambda h, i: h.saturated_fraction[i],
    "sleeping_fraction": lambda h, i: h.sleeping_fraction[i],
    "alive_fraction": lambda h, i: 1.0 - h.dead_fraction[i] - h.saturated_fraction[i] - h.sleeping_fraction[i],
    "grad_ratio": lambda h, i: _ratio(h.grad_norms[i]),
    "steps_to_95": lambda h, i: _steps_to(h, i),
}


def _ratio(norms) -> float:
    norms = np.asarray(norms, np.float64)
    if len(norms) < 2 or not np.isfinite(norms).all() or norms[-1] == 0:
        return math.nan
    return float(norms[0] / norms[-1])


@dataclass(frozen=True)
class Figures:
    """A stage's figures, and the step they were measured at."""

    values: dict[str, float]
    step: int
    total_units: int  # hidden units, to say "11 of 16"


@dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    value: float

    def holds(self, figures: Figures) -> bool:
        return OPERATORS[self.op](figures.values[self.metric], self.value)  # NaN compares False

    def describe(self, figures: Figures | None = None) -> str:
        """In words, with the figure when there is one: "11 of 16 units dead (69%; needs ≥ 50%)"."""
        label = METRICS[self.metric][1]
        needs = (f"{OP_WORDS[self.op]} {_number(self.value)}" if self.metric != "diverged"
                 else ("yes" if self.value else "no"))
        if figures is None:
            return f"{label} {needs}"
        value = figures.values[self.metric]
        if self.metric == "diverged":
            return f"diverged: {'yes' if value else 'no'} (needs {needs})"
        if self.metric in UNIT_STATES and value == value:
            count, share = round(value * figures.total_units), f"{OP_WORDS[self.op]} {self.value:.0%}"
            return f"{count} of {figures.total_units} units {UNIT_STATES[self.metric]} ({value:.0%}; needs {share})"
        return f"{label} {_number(value)} (needs {needs})"


def _number(value: float) -> str:
    if value != value:
        return "—"
    if value == math.inf:
        return "not yet"
    if value != 0 and (abs(value) < 0.01 or abs(value) >= 1e4):
        return f"{value:.2g}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class Stage:
    at_step: int
    conditions: tuple[Condition, ...]

    def decided(self, snap: Snapshot) -> bool:
        """Whether this snapshot decides the stage: it reached the step, or the run stopped (diverged)."""
        return snap.step >= self.at_step or snap.diverged

    def figures(self, snap: Snapshot) -> Figures:
        """The figures at this stage's step: the history's row there when every figure is recorded in it,
        else the snapshot's own (at the step it is at)."""
        names = {c.metric for c in self.conditions}
        total = snap.counts()["total"]
        if not snap.diverged and names <= HISTORY_METRICS.keys():
            rows = np.flatnonzero(snap.history.steps == self.at_step)
            if len(rows):
                i = int(rows[-1])
                return Figures({n: float(HISTORY_METRICS[n](snap.history, i)) for n in names}, self.at_step, total)
        return Figures({n: metric(n, snap) for n in names}, snap.step, total)

    def holds(self, figures: Figures) -> bool:
        return all(c.holds(figures) for c in self.conditions)

    def describe(self, figures: Figures | None = None) -> str:
        when = f"at step {self.at_step}"
        if figures is not None and figures.step != self.at_step:
            when += f" (seen at step {figures.step})"
        return f"{when}: " + "; ".join(c.describe(figures) for c in self.conditions)


@dataclass(frozen=True)
class Run:
    label: str
    experiment: Experiment  # its seed is replaced by each of the lesson's seeds
    check: tuple[Stage, ...]  # in order of at_step

    @property
    def steps(self) -> int:
        return self.check[-1].at_step


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    claim: str
    click: tuple[str, ...]
    watch: tuple[str, ...]
    speed: float  # steps per second in the window
    seeds: tuple[int, ...]
    share: float  # of the seeds on which every run's check must hold
    runs: tuple[Run, ...]
    path: Path
    controls: tuple[str, ...] = ()  # the controls presentation mode keeps (issue 11); empty: all

    def experiment(self, run: int = 0, seed: int | None = None) -> Experiment:
        """The run's experiment on `seed` (default: the lesson's first seed)."""
        return self.runs[run].experiment.with_field("seed", self.seeds[0] if seed is None else seed)

    def needed(self) -> int:
        """How many seeds must hold."""
        return math.ceil(self.share * len(self.seeds) - 1e-9)


def compare_spec(lesson: Lesson) -> str | None:
    """For a contrast whose runs differ in one field only: the compare-mode spec that races them
    over the lesson's seeds (`FIELD=V1,V2,…`, e.g. "activation=linear,tanh"), else None.

    A spec is offered only when compare.parse_variants turns it back into exactly the runs'
    experiments, so the race trains what the lesson checks.
    """
    from .compare import SpecError, parse_variants  # the core's compare mode; imported when asked

    if not 2 <= len(lesson.runs) <= 6:
        return None
    flat = [_flat(run.experiment.to_dict()) for run in lesson.runs]
    keys = sorted(set().union(*flat))
    differing = [key for key in keys if len({json.dumps(f.get(key), sort_keys=True) for f in flat}) > 1]
    if len(differing) != 1:
        return None
    path = differing[0]
    values = [json.dumps(f.get(path), separators=(",", ":")) for f in flat]
    values = [v[1:-1] if v.startswith('"') else v for v in values]  # names as the spec writes them
    spec = f"{'activation' if path == 'network.activation' else path}={','.join(values)}"
    base = lesson.experiment(0)
    try:
        _, variants = parse_variants(spec, base)
    except SpecError:
        return None
    wanted = [lesson.experiment(i) for i in range(len(lesson.runs))]
    return spec if [v.experiment for v in variants] == wanted else None


def _flat(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{"network": {"hidden": [8]}} -> {"network.hidden": [8]} (lists and activation_params kept whole)."""
    out = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and key != "activation_params":
            out.update(_flat(value, f"{path}."))
        else:
            out[path] = value
    return out


# ---- reading and validating ---------------------------------------------------------------------
LESSON_KEYS = ("title", "claim", "click", "watch", "speed", "seeds", "share", "experiment", "check", "runs",
               "controls", "compare")
RUN_KEYS = ("label", "experiment", "check")


def _text(field_name: str, value: Any, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        _fail(field_name, value, f"a non-empty text of at most {limit} characters")
    return value.strip()


def _lines(field_name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or len(value) > 8:
        _fail(field_name, value, "a list of 1 to 8 short lines (texts)")
    return tuple(_text(f"{field_name}[{i}]", line, 120) for i, line in enumerate(value))


def _number_in(field_name: str, value: Any, low: float, high: float, integer: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low <= value <= high or (integer and not isinstance(value, int)):
        _fail(field_name, value, f"{'a whole number' if integer else 'a number'} from {low} to {high}")
    return value


def _condition(field_name: str, raw: Any) -> Condition:
    allowed = ('a table {"metric": NAME, OP: NUMBER} with OP one of ' + ", ".join(OPERATORS))
    if not isinstance(raw, dict) or "metric" not in raw or len(raw) != 2:
        _fail(field_name, raw, allowed)
    name = raw["metric"]
    if name not in METRICS:
        _fail(f"{field_name}.metric", name, "one of " + ", ".join(METRICS))
    (op, value), = ((k, v) for k, v in raw.items() if k != "metric")
    if op not in OPERATORS:
        _fail(f"{field_name}.{op}", value, "one operator of " + ", ".join(OPERATORS))
    if isinstance(value, bool) and name == "diverged" and op == "==":
        value = float(value)
    _number_in(f"{field_name}.{op}", value, -1e9, 1e9)
    return Condition(name, op, float(value))


def _check(field_name: str, raw: Any) -> tuple[Stage, ...]:
    stages = raw if isinstance(raw, list) else [raw]
    if not stages:
        _fail(field_name, raw, 'a stage {"at_step": N, "all": [conditions]} or a list of them')
    out = []
    for i, stage in enumerate(stages):
        name = f"{field_name}[{i}]" if isinstance(raw, list) else field_name
        if not isinstance(stage, dict) or set(stage) != {"at_step", "all"}:
            _fail(name, stage, 'a table with exactly at_step (a step) and all (a list of conditions)')
        at = int(_number_in(f"{name}.at_step", stage["at_step"], 0, MAX_STEPS, integer=True))
        conditions = stage["all"]
        if not isinstance(conditions, list) or not conditions:
            _fail(f"{name}.all", conditions, 'a non-empty list of {"metric": NAME, OP: NUMBER}')
        out.append(Stage(at, tuple(_condition(f"{name}.all[{j}]", c) for j, c in enumerate(conditions))))
    if [s.at_step for s in out] != sorted(s.at_step for s in out):
        _fail(field_name, [s.at_step for s in out], "stages in the order of their at_step")
    return tuple(out)


def _experiment(field_name: str, raw: Any, folder: Path) -> Experiment:
    try:
        if isinstance(raw, dict):
            return Experiment.from_dict(raw)
        if isinstance(raw, str) and raw:
            path = bundled.find_example(raw) or (folder / raw)
            return Experiment.load(path)
    except ExperimentError as error:
        raise LessonError(f"{field_name}: {error}") from None
    _fail(field_name, raw, "an experiment table, an example's name or a path relative to the lesson file")


def lesson_name(path: Path) -> str:
    """01_linear_vs_tanh.json -> linear_vs_tanh: the number only orders the list."""
    return re.sub(r"^\d+[_-]", "", path.stem)


def from_dict(raw: Any, path: Path) -> Lesson:
    """Build and validate a lesson; unknown keys are an error."""
    if not isinstance(raw, dict):
        raise LessonError("a lesson must be a table (JSON object) with title, claim, click, watch, speed, "
                          "seeds, and experiment + check (or runs)")
    for key in raw:
        if key not in LESSON_KEYS:
            _fail(key, raw[key], "an unknown key; a lesson has " + ", ".join(LESSON_KEYS))
    if "compare" in raw:
        _fail("compare", raw["compare"], "not yet: write the contrast as runs (runs that differ in one "
                                         "field race in compare mode from the lesson panel)")
    for key in ("title", "claim", "click", "watch", "speed", "seeds"):
        if key not in raw:
            raise LessonError(f"{key} is missing: a lesson needs title, claim, click, watch, speed and seeds")
    if ("runs" in raw) == ("experiment" in raw or "check" in raw):
        raise LessonError("a lesson has either experiment and check (one run) or runs (a contrast), not both")
    if "runs" in raw:
        raw_runs = raw["runs"]
        if not isinstance(raw_runs, list) or not 1 <= len(raw_runs) <= 4:
            _fail("runs", raw_runs, "a list of 1 to 4 tables {label, experiment, check}")
    else:
        if "experiment" not in raw or "check" not in raw:
            raise LessonError("a one-run lesson needs both experiment and check")
        raw_runs = [{"label": raw["title"], "experiment": raw["experiment"], "check": raw["check"]}]
    runs = []
    for i, run in enumerate(raw_runs):
        name = f"runs[{i}]" if "runs" in raw else ""
        prefix = f"{name}." if name else ""
        if not isinstance(run, dict) or set(run) != set(RUN_KEYS):
            _fail(name, run, "a table with exactly label, experiment and check")
        runs.append(Run(_text(f"{prefix}label", run["label"], 60),
                        _experiment(f"{prefix}experiment", run["experiment"], path.parent),
                        _check(f"{prefix}check", run["check"])))
    speed = float(_number_in("speed", raw["speed"], 1, 10000))
    for run in runs:
        if run.steps / speed > SHOW_WITHIN_S:
            _fail("speed", raw["speed"], f"at least {math.ceil(run.steps / SHOW_WITHIN_S)} steps/s: "
                                         f"{run.label!r} checks step {run.steps}, and a lesson shows within "
                                         f"{SHOW_WITHIN_S:.0f} s")
    seeds = raw["seeds"]
    if (not isinstance(seeds, list) or not 1 <= len(seeds) <= MAX_SEEDS
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31 for s in seeds)
            or len(set(seeds)) != len(seeds)):
        _fail("seeds", seeds, f"a list of 1 to {MAX_SEEDS} different whole numbers from 0 to 2147483647")
    share = float(_number_in("share", raw.get("share", 1.0), 0.01, 1.0))
    controls = raw.get("controls", [])
    if not isinstance(controls, list):
        _fail("controls", controls, "a list of experiment fields, e.g. [\"training.learning_rate\"]")
    for i, name in enumerate(controls):
        if name not in CONTROL_NAMES:
            _fail(f"controls[{i}]", name, "one of " + ", ".join(CONTROL_NAMES))
    return Lesson(name=lesson_name(path), title=_text("title", raw["title"], 80), claim=_text("claim", raw["claim"], 240),
                  click=_lines("click", raw["click"]), watch=_lines("watch", raw["watch"]), speed=speed,
                  seeds=tuple(seeds), share=share, runs=tuple(runs), path=path, controls=tuple(controls))


def load(path: str | Path) -> Lesson:
    """Read a lesson file; every problem is one LessonError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except OSError as error:
        raise LessonError(f"{path}: cannot read the file ({error.strerror or error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise LessonError(f"{path}: not valid {path.suffix[1:].upper() or 'JSON'}: {error}") from None
    try:
        return from_dict(raw, path)
    except LessonError as error:
        raise LessonError(f"{path}: {error}") from None


def lesson_files() -> list[Path]:
    """The shipped lesson files, in their order."""
    folder = bundled.lessons_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in bundled.EXPERIMENT_SUFFIXES and p.is_file())


def all_lessons() -> list[Lesson]:
    """Every shipped lesson, loaded and validated, in order."""
    return [load(p) for p in lesson_files()]


def find(name: str) -> Path | None:
    """The shipped lesson called `name` (as listed, or its file's name or stem), or None."""
    for path in lesson_files():
        if name in (lesson_name(path), path.stem, path.name):
            return path
    return None


# ---- checking -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageResult:
    stage: Stage
    held: bool
    step: int
    figures: dict[str, float]  # each condition's metric, at the step it was decided


@dataclass(frozen=True)
class RunResult:
    run: Run
    seed: int
    stages: tuple[StageResult, ...]

    @property
    def held(self) -> bool:
        return all(s.held for s in self.stages)


def evaluate(run: Run, snapshots: Callable[[int], Snapshot]) -> tuple[StageResult, ...]:
    """Each stage of run's check on snapshot_at(step): the one rule headless and live share."""
    results = []
    for stage in run.check:
        figures = stage.figures(snapshots(stage.at_step))
        results.append(StageResult(stage, stage.holds(figures), figures.step, figures.values))
    return tuple(results)


def check_run(run: Run, seed: int) -> RunResult:
    """Train the run headless on `seed` and evaluate its check at each stage's step."""
    from .training import Trainer  # the core's trainer; imported here so listing lessons stays light

    trainer = Trainer(run.experiment.with_field("seed", seed), grid_size=CHECK_GRID)

    def snapshot_at(step: int) -> Snapshot:
        trainer.step(max(0, step - trainer.step_count))  # stops early when the run diverges
        return trainer.snapshot()

    return RunResult(run, seed, evaluate(run, snapshot_at))


@dataclass(frozen=True)
class LessonResult:
    lesson: Lesson
    seeds: tuple[int, ...]
    results: tuple[RunResult, ...]  # every run on every seed

    def seeds_held(self) -> int:
        """Seeds on which every run's check held."""
        return sum(all(r.held for r in self.results if r.seed == seed) for seed in self.seeds)

    def needed(self) -> int:
        return math.ceil(self.lesson.share * len(self.seeds) - 1e-9)

    @property
    def held(self) -> bool:
        return self.seeds_held() >= self.needed()


def check(lesson: Lesson, seeds: tuple[int, ...] | None = None) -> LessonResult:
    """Every run of the lesson on each of its seeds (or `seeds`)."""
    seeds = lesson.seeds if seeds is None else seeds
    return LessonResult(lesson, tuple(seeds), tuple(check_run(run, seed) for run in lesson.runs for seed in seeds))


def summary(result: LessonResult) -> list[str]:
    """Lines for `playground lessons --check`: the claim, per run and stage the figures over the seeds
    (median [min, max]) and how many seeds held, then the verdict."""
    lesson = result.lesson
    lines = [f"{lesson.name}: {lesson.claim}"]
    for run in lesson.runs:
        mine = [r for r in result.results if r.run is run]
        for k, stage in enumerate(run.check):
            held = sum(r.stages[k].held for r in mine)
            parts = []
            for c in stage.conditions:
                values = np.array([r.stages[k].figures[c.metric] for r in mine], np.float64)
                finite = values[~np.isnan(values)]  # inf stays: "not yet" reached (steps_to_95)
                spread = (f"{_number(float(np.median(finite)))} [{_number(float(finite.min()))}, "
                          f"{_number(float(finite.max()))}]" if len(finite) else "—")
                parts.append(f"{c.metric} {spread} (needs {OP_WORDS[c.op]} {_number(c.value)})")
            lines.append(f"  {run.label}, step {stage.at_step}: " + "; ".join(parts)
                         + f" — held on {held} of {len(mine)} seeds")
    verdict = "HELD" if result.held else "DID NOT HOLD"
    lines.append(f"  {verdict}: {result.seeds_held()} of {len(result.seeds)} seeds (needs {result.needed()})")
    return lines


# ---- live, in the window ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StageView:
    """One stage as the lesson panel shows it: held True/False once decided, None while pending."""

    held: bool | None
    text: str  # e.g. "at step 0: 11 of 16 units dead (needs >= 0.5 of them)"


LATE_SLACK = 10  # steps a live snapshot may come after a stage's step and still judge it (or 10 %)


class LiveCheck:
    """A lesson's check on the window's snapshots as they arrive, with the rule check_run uses: a stage
    is decided by the first snapshot at or past its step (or a diverged one), and then stays.

    The snapshot's experiment says which run it is (the teacher may switch by hand: activation to tanh
    gives the tanh run); settings that match no run show no verdict. A reset (the step going back)
    starts the stages over; a run reached mid-way without a reset is flagged, its figures still shown."""

    def __init__(self, lesson: Lesson):
        self.lesson = lesson
        self.run_index: int | None = None
        self.decided: list[tuple[bool, str] | None] = []
        self.last_step = -1
        self.started_at = 0  # the step the run was first seen at, when it was not from a reset (else 0)
        self.fresh = True  # the next run seen was started fresh (a lesson opened, a run picked)

    def expect_fresh(self) -> None:
        """The window has just started a run fresh: however late its first snapshot is drawn (newest
        wins, a step-0 frame may be skipped), it was checked from step 0."""
        self.fresh = True

    def run_for(self, experiment: Experiment) -> int | None:
        """The index of the lesson's run that `experiment` is (any seed), or None."""
        for i, run in enumerate(self.lesson.runs):
            if run.experiment.with_field("seed", experiment.seed) == experiment:
                return i
        return None

    def update(self, snap: Snapshot) -> list[StageView]:
        index = self.run_for(snap.experiment)
        if index != self.run_index or snap.step < self.last_step:
            # from the start when the window reset it, or the step went back (a reset, a rebuild);
            # a run reached by a live change (the learning rate mid-run) carries the old run's steps
            from_start = self.fresh or snap.step < self.last_step or self.last_step < 0
            self.run_index = index
            self.decided = [None] * (len(self.lesson.runs[index].check) if index is not None else 0)
            self.started_at = 0 if from_start else snap.step
            self.fresh = index is None and self.fresh  # settings of no run do not use the promise up
        self.last_step = snap.step
        if index is None:
            return []
        views = []
        for k, stage in enumerate(self.lesson.runs[index].check):
            if self.decided[k] is None and stage.decided(snap):
                figures = stage.figures(snap)
                if not snap.diverged and figures.step - stage.at_step > max(LATE_SLACK, stage.at_step // 10):
                    # a figure the history does not keep, first seen long after its step: no verdict
                    views.append(StageView(None, f"at step {stage.at_step}: not seen (the first picture came at "
                                                 f"step {figures.step}); press Reset to watch it"))
                    continue
                self.decided[k] = (stage.holds(figures), stage.describe(figures))
            if self.decided[k] is None:  # pending: the figures now, against what the stage needs
                now = Figures({c.metric: metric(c.metric, snap) for c in stage.conditions}, stage.at_step,
                              snap.counts()["total"])
                views.append(StageView(None, stage.describe(now) + f" — now at step {snap.step}"))
            else:
                views.append(StageView(*self.decided[k]))
        return views

    @property
    def run(self) -> Run | None:
        return None if self.run_index is None else self.lesson.runs[self.run_index]
