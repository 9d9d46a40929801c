"""Our default settings against TF Playground on its own settings (issue 15), Qt-free.

`python -m playground.tfp_parity --seeds 20 [--tf-engine] [--candidate NAME='{json overrides}'] …`
trains the four configs TF Playground's figures use (SCIENCE.md) over seeds 0..N-1 with the Trainer,
and with --tf-engine (node on PATH) TF's own per-point engine (bench_engine.TfpEngine, the port
bench_tfp_engine.js) on the same points, and prints the test accuracy's mean and min per config.

Each config sets only TF's settings (sgd 0.03, batch 10, 500 points, half for training, noise 0) and
the dataset, features, hidden layers and activation: everything else is our default, which is what
is measured. A candidate's overrides (a JSON object, nested as an experiment file's sections) are
laid over every config, e.g. --candidate tanh_mse='{"training": {"loss": "tanh_mse"}}'.
TF's engine sees the raw coordinates, as the page does (it has no standardisation).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from .datasets import network_inputs
from .experiment import Experiment, ExperimentError

TF_SETTINGS = {"data": {"noise": 0.0, "n_points": 500, "train_fraction": 0.5},
               "training": {"optimizer": "sgd", "learning_rate": 0.03, "batch_size": 10}}
STEPS = 12_500  # 500 epochs of 250 training points in batches of 10
SEVEN = ["x1", "x2", "x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2"]
CONFIGS = {  # name: (dataset, features, hidden, activation); TF's figures in SCIENCE.md
    "circle [4,2] tanh": ("circle", ["x1", "x2"], [4, 2], "tanh"),
    "xor [4,2] tanh": ("xor", ["x1", "x2"], [4, 2], "tanh"),
    "spiral [8]x6 relu": ("spiral", ["x1", "x2"], [8] * 6, "relu"),
    "spiral 7 features [8]x6 tanh": ("spiral", SEVEN, [8] * 6, "tanh"),
}
TF_PUBLISHED_5_SEEDS = {"circle [4,2] tanh": 0.999, "xor [4,2] tanh": 0.992,
                        "spiral [8]x6 relu": 0.986, "spiral 7 features [8]x6 tanh": 0.960}


def merged(base: dict, overrides: dict) -> dict:
    """base with overrides laid over it, section by section (a new dict)."""
    out = {key: dict(value) if isinstance(value, dict) else value for key, value in base.items()}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def config_experiment(config: str, seed: int, overrides: dict | None = None) -> Experiment:
    """One config on TF's settings, everything else our default, with `overrides` laid over it."""
    dataset, features, hidden, activation = CONFIGS[config]
    raw = merged(TF_SETTINGS, {"seed": seed, "data": {"dataset": dataset, "features": features},
                               "network": {"hidden": hidden, "activation": activation}})
    return Experiment.from_dict(merged(raw, overrides or {}))


def ours(experiment: Experiment, steps: int = STEPS) -> float:
    """Test accuracy of the Trainer after `steps` updates (NaN if the run diverged)."""
    from .snapshot import data_columns
    from .training import Trainer, accuracy

    trainer = Trainer(experiment, grid_size=2)
    trainer.step(steps)
    _, xT_test = data_columns(trainer.data, experiment.data.features)
    with np.errstate(all="ignore"):
        return accuracy(trainer.model.forward_probe(xT_test)[0], trainer.data.test_labels)


def tf_engine(experiment: Experiment, steps: int = STEPS) -> float:
    """Test accuracy of TF Playground's engine (node) on the same points, raw, after `steps` updates
    (whole epochs: steps // updates per epoch)."""
    from .bench_engine import TfpEngine
    from .datasets import make_split

    data = make_split(experiment.data, experiment.seed)
    names = experiment.data.features
    x_train = network_inputs(data.train_points, names, None)
    x_test = network_inputs(data.test_points, names, None)
    engine = TfpEngine(experiment=experiment, training_set=(x_train, data.train_labels), seed=experiment.seed)
    try:
        per_epoch = len(x_train) // experiment.training.batch_size
        engine.epochs(max(1, steps // per_epoch))
        return engine.accuracy(x_test, data.test_labels)
    finally:
        engine.close()


def measure(seeds: int, candidates: dict[str, dict], with_tf: bool, steps: int = STEPS,
            configs=tuple(CONFIGS), log=None) -> dict:
    """{config: {side: [accuracy per seed]}}; sides are the candidates' names and "tf_engine"."""
    table: dict[str, dict[str, list[float]]] = {}
    for config in configs:
        row = table[config] = {}
        for name, overrides in candidates.items():
            row[name] = [ours(config_experiment(config, s, overrides), steps) for s in range(seeds)]
            if log:
                log(f"{config:<30} {name:<14} {summary(row[name])}")
        if with_tf:
            row["tf_engine"] = [tf_engine(config_experiment(config, s), steps) for s in range(seeds)]
            if log:
                log(f"{config:<30} {'tf_engine':<14} {summary(row['tf_engine'])}")
    return table


def stats(values: list[float], first: int | None = None) -> tuple[float, float, int]:
    """(mean, min, diverged) over values[:first]; a diverged seed (NaN) counts as accuracy 0."""
    chosen = values[:first] if first else values
    finite = [0.0 if math.isnan(v) else v for v in chosen]
    return sum(finite) / len(finite), min(finite), sum(math.isnan(v) for v in chosen)


def summary(values: list[float]) -> str:
    mean5, _, _ = stats(values, 5)
    mean, low, diverged = stats(values)
    return f"{min(5, len(values))} seeds {mean5:.3f}  {len(values)} seeds {mean:.3f} (min {low:.3f})" + (
        f", {diverged} diverged" if diverged else "")


def format_table(table: dict, seeds: int) -> str:
    """A markdown table: per config and side, the mean over 5 seeds, over all, and the min."""
    lines = [f"| config | side | mean, {min(5, seeds)} seeds | mean, {seeds} seeds | min | diverged | TF published (5 seeds) |",
             "|---|---|---|---|---|---|---|"]
    for config, row in table.items():
        for side, values in row.items():
            mean5, _, _ = stats(values, 5)
            mean, low, diverged = stats(values)
            lines.append(f"| {config} | {side} | {mean5:.3f} | {mean:.3f} | {low:.3f} | {diverged} | "
                         f"{TF_PUBLISHED_5_SEEDS[config]:.3f} |")
    return "\n".join(lines)


def _candidate(text: str) -> tuple[str, dict]:
    name, sep, overrides = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--candidate {text!r}: expected NAME='{{json overrides}}'")
    try:
        value = json.loads(overrides)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"--candidate {name}: the overrides are not JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"--candidate {name}: the overrides must be a JSON object")
    return name, value


def main(argv: list[str] | None = None) -> int:
    import shutil

    parser = argparse.ArgumentParser(prog="python -m playground.tfp_parity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"updates per run (default {STEPS}, TF's 500 epochs)")
    parser.add_argument("--tf-engine", action="store_true", help="also train TF Playground's engine (needs node)")
    parser.add_argument("--candidate", action="append", type=_candidate, default=[], metavar="NAME='{json}'",
                        help="overrides laid over the defaults; repeat for more (default: the defaults alone)")
    parser.add_argument("--config", action="append", choices=list(CONFIGS), help="only these configs")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    candidates = dict(args.candidate) or {"defaults": {}}
    if args.tf_engine and shutil.which("node") is None:
        print("playground: node is not on PATH: TF Playground's engine cannot run; measuring ours only",
              file=sys.stderr)
        args.tf_engine = False
    configs = tuple(args.config or CONFIGS)
    # every candidate on every config that will run, before any training: an override can suit one
    # config and not another (two activation names fit [4,2], not [8]x6), which failed an hour in
    for name, overrides in candidates.items():
        for config in configs:
            try:
                config_experiment(config, 0, overrides)
            except ExperimentError as error:
                print(f"playground: --candidate {name} on {config!r}: {error}", file=sys.stderr)
                return 2
    from .inputs import prepare_engine

    prepare_engine()
    table = measure(args.seeds, candidates, args.tf_engine, args.steps, configs,
                    log=lambda line: print(line, file=sys.stderr, flush=True))
    print(format_table(table, args.seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
