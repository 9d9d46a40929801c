"""Command line: `playground [gui] [EXPERIMENT]`, `playground train`, and the other subcommands.

Exit codes: 0 success (a diverged run is a result, not a failure), 2 bad input (one clear line on
stderr naming the file, the field and what is allowed), 1 an internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from . import bench, cli_compare, export
from .experiment import Experiment, ExperimentError
from .health import counts

class BadInput(Exception):
    """A user error: the message is printed as one line and the exit code is 2."""


def load_experiment(path: str) -> Experiment:
    try:
        return Experiment.load(path)
    except ExperimentError as error:
        raise BadInput(str(error)) from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; use 0 or more")
    return value


def train_summary(trainer, seconds: float) -> dict:
    """The JSON result of `playground train` (keys are a contract)."""
    snap = trainer.snapshot()
    layers = []
    for states, norm in zip(snap.states, snap.grad_norms[:-1]):
        n = counts([states])
        layers.append({"units": n["total"], "dead": n["dead"], "saturated": n["saturated"],
                       "sleeping": n["sleeping"], "grad_norm": _finite_or_none(norm)})
    slopes = [s.tolist() for s in snap.prelu_slopes if s is not None]
    return {
        "steps": snap.step,
        "train_loss": _finite_or_none(snap.train_loss), "test_loss": _finite_or_none(snap.test_loss),
        "train_accuracy": snap.train_accuracy, "test_accuracy": snap.test_accuracy,
        "diverged": snap.diverged, "seconds": round(seconds, 4),
        "neurons": snap.counts(), "layers": layers,
        "prelu_slopes": slopes or None,
    }


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def prepare_engine() -> None:
    """Compile (or load) the training kernel, saying so on stderr when that takes a while (a first
    run on this machine: a few seconds)."""
    from . import kernel

    kernel.prepare(lambda text: text and print(f"playground: {text}", file=sys.stderr, flush=True))


def cmd_train(args) -> int:
    from .training import Trainer

    experiment = load_experiment(args.experiment)
    trainer = Trainer(experiment, grid_size=args.grid)
    prepare_engine()  # compiled before the clock starts: `seconds` is training time
    start = time.perf_counter()
    trainer.step(args.steps)
    result = train_summary(trainer, time.perf_counter() - start)
    if args.json:
        print(json.dumps(result))
        return 0
    n = result["neurons"]
    print(f"{args.experiment}: {result['steps']} steps in {result['seconds']:.2f} s")
    if trainer.diverged:
        print(f"  DIVERGED: {trainer.message}")
    else:
        print(f"  loss      train {result['train_loss']:.4f}   test {result['test_loss']:.4f}")
    print(f"  accuracy  train {result['train_accuracy']:.3f}   test {result['test_accuracy']:.3f}")
    print(f"  neurons   {n['alive']} alive, {n['sleeping']} sleeping, {n['saturated']} saturated, "
          f"{n['dead']} dead of {n['total']}")
    for i, layer in enumerate(result["layers"], start=1):
        norm = "n/a" if layer["grad_norm"] is None else f"{layer['grad_norm']:.3g}"
        print(f"  layer {i}: {layer['units']} units, {layer['dead']} dead, {layer['saturated']} saturated, "
              f"{layer['sleeping']} sleeping, |dL/dW| {norm}")
    if result["prelu_slopes"]:
        for i, slopes in enumerate(result["prelu_slopes"], start=1):
            print(f"  PReLU slopes {i}: " + " ".join(f"{s:.3f}" for s in slopes))
    return 0


def cmd_gui(args) -> int:
    from .ui.app import run

    if args.compare:
        return cli_compare.cmd_gui_compare(args)
    return run(experiment_path=args.experiment, steps=args.steps, screenshot=args.screenshot)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playground", description="A neural-network playground for activation functions.")
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("experiment", nargs="?", help="a .json or .toml experiment (default: the built-in one)")
    gui.add_argument("--steps", type=positive_int, default=0, help="train this many steps first")
    gui.add_argument("--screenshot", metavar="OUT.png", help="save a screenshot of the window after --steps, then exit")
    cli_compare.add_gui_options(gui)
    gui.set_defaults(func=cmd_gui)

    train = sub.add_parser("train", help="train headless and print a summary")
    train.add_argument("experiment", help="a .json or .toml experiment")
    train.add_argument("--steps", type=positive_int, default=1000, help="minibatch updates (default 1000)")
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.add_argument("--grid", type=int, default=100, help=argparse.SUPPRESS)
    train.set_defaults(func=cmd_train)

    export.register_cli(sub)
    bench.register_cli(sub)
    cli_compare.register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known = {"gui", "train", "export", "bench", "compare"}
    if not argv or (argv[0] not in known and argv[0] not in ("-h", "--help")):
        argv.insert(0, "gui")  # `playground` and `playground FILE` open the window
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BadInput as error:
        print(f"playground: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # an internal error (exit 1): the traceback is for the bug report
        import traceback

        traceback.print_exc()
        print(f"playground: internal error: {error!r}", file=sys.stderr)
        return 1
