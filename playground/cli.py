"""Command line: `playground [gui] [EXPERIMENT]`, `playground train`, and the other subcommands.

Exit codes: 0 success (a diverged run is a result, not a failure), 2 bad input (one clear line on
stderr naming the file, the field and what is allowed), 1 an internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from . import __version__, bundled, cli_bench, cli_compare, cli_export, cli_lessons
from .cli_common import Stopped, check_writable, grid_size, non_negative_int
from .health import counts
from .inputs import BadInput, experiment_path, lesson_for, load_trainer, prepare_engine
from .lessons import LessonError
from .plane import DEFAULT_GRID

WINDOW_MIN, WINDOW_MAX = (640, 480), (7680, 4320)  # gui --size: a small laptop's screen up to 8K


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
        "train_accuracy": _finite_or_none(snap.train_accuracy), "test_accuracy": _finite_or_none(snap.test_accuracy),
        "diverged": snap.diverged, "seconds": round(seconds, 4),
        "neurons": snap.counts(), "layers": layers,
        "prelu_slopes": slopes or None,
    }


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def cmd_train(args) -> int:
    check_writable(args.save, "--save", "run.pgrun")
    trainer = load_trainer(args.experiment, args.grid)
    prepare_engine()  # compiled before the clock starts: `seconds` is training time
    start = time.perf_counter()
    trainer.step(args.steps)
    result = train_summary(trainer, time.perf_counter() - start)
    if args.save:
        from .runfile import save_run

        try:
            save_run(trainer, args.save)
        except OSError as error:
            raise BadInput(f"--save {args.save}: cannot write the run ({error.strerror or error})") from None
    if args.json:
        print(json.dumps(result))
        return 0
    n = result["neurons"]
    print(f"{args.experiment}: {result['steps']} steps in {result['seconds']:.2f} s")
    if trainer.diverged:
        print(f"  DIVERGED: {trainer.message}")
    else:
        print(f"  loss      train {result['train_loss']:.4f}   test {result['test_loss']:.4f}")
    print("  accuracy  " + "   ".join(
        f"{part} " + ("—" if result[f"{part}_accuracy"] is None else f"{result[f'{part}_accuracy']:.3f}")
        for part in ("train", "test")))
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


def window_size(text: str | None) -> tuple[int, int] | None:
    """`--size 1366x768` → (1366, 768); BadInput naming what is allowed otherwise."""
    if text is None:
        return None
    parts = text.lower().replace("×", "x").split("x")
    try:
        size = tuple(int(part) for part in parts)
    except ValueError:
        size = ()
    if len(size) != 2 or not all(lo <= v <= hi for v, lo, hi in zip(size, WINDOW_MIN, WINDOW_MAX)):
        raise BadInput(f"--size {text!r} is not allowed: WIDTHxHEIGHT in pixels, e.g. 1366x768, width "
                       f"{WINDOW_MIN[0]}-{WINDOW_MAX[0]}, height {WINDOW_MIN[1]}-{WINDOW_MAX[1]}")
    return size


def cmd_gui(args) -> int:
    size = window_size(args.size)
    try:  # a lesson's name opens the lesson (its experiment, speed and panel)
        lesson = lesson_for(args.experiment) if args.experiment else None
    except LessonError as error:
        raise BadInput(str(error)) from None
    path = experiment_path(args.experiment) if args.experiment and not lesson else None
    from .ui import app, system_libs  # system_libs imports no Qt: it runs before Qt can abort

    platform = system_libs.qt_platform()
    if platform is None and args.screenshot:
        platform = "offscreen"  # app.run takes a screenshot offscreen when there is no screen
    if platform is not None and (problem := system_libs.problem(platform)):
        raise BadInput(problem)
    if args.compare:
        return cli_compare.cmd_gui_compare(args, path, size)
    return app.run(experiment_path=path, steps=args.steps, screenshot=args.screenshot, size=size,
                   presentation=args.presentation, **({"lesson": lesson} if lesson else {}))


def cmd_examples(args) -> int:
    files = bundled.example_files()
    if not files:
        raise BadInput(f"no example experiments in {bundled.examples_dir()} (a broken install?)")
    print(f"Example experiments in {bundled.examples_dir()} (open one: playground NAME):")
    for path in files:
        print(f"  {path.stem:<22} {path}")
    return 0


def export_to_torch_too(parser) -> None:
    """`playground export RUN_OR_EXPERIMENT -o net.py` writes the network for PyTorch (export_torch.py);
    every other -o goes to cli_export.py as before. --steps defaults to none given, so a run exports at
    its saved step unless told to train on; an experiment trains cli_export.py's 1000."""
    video = parser.get_default("func")
    for action in parser._actions:
        if action.dest == "output":
            action.help += ", or net.py (the network for PyTorch, its weights and data in net.npz)"
        elif action.dest == "experiment":
            action.help += ", or a .pgrun run"
        elif action.dest == "steps":
            action.help += "; for net.py from a run: 0, the step it was saved at"
    steps_default = parser.get_default("steps")

    def cmd_export_any(args) -> int:
        if not str(args.output).lower().endswith(".py"):
            args.steps = steps_default if args.steps is None else args.steps
            return video(args)
        return cmd_export_torch(args, steps_default)

    parser.set_defaults(func=cmd_export_any, steps=None)


def cmd_export_torch(args, steps_default: int) -> int:
    from . import runfile
    from .export_torch import write_torch

    source = experiment_path(args.experiment)
    steps = args.steps if args.steps is not None else (0 if runfile.is_run_file(source) else steps_default)
    check_writable(args.output, "-o", "net.py")
    trainer = load_trainer(source, args.grid)
    prepare_engine()
    trainer.step(steps)
    try:
        script, weights = write_torch(trainer, args.output, source_name=str(args.experiment))
    except OSError as error:
        raise BadInput(f"-o {args.output}: cannot write ({error.strerror or error})") from None
    print(f"wrote {script} and {weights} (step {trainer.step_count}, test accuracy "
          f"{trainer.snapshot().test_accuracy:.4f}); run: python {script}")
    return 0


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (not the usage block first), still exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="playground", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A neural-network playground for activation functions: train small 2-D classifiers "
                    "live and watch their neurons.",
        epilog=f"`playground` opens the window on the built-in experiment; `playground FILE` opens it on\n"
               f"a .json or .toml experiment, a .pgrun run saved at a step (File → Save run, or\n"
               f"train --save), or an example by name (`playground dying_relu`).\n"
               f"Examples: {bundled.examples_dir()}  (list them: playground examples)\n"
               f"Each command's options: playground COMMAND --help")
    parser.add_argument("--version", action="version", version=f"playground {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_parser = sub.add_parser

    def add_with_description(name, **kwargs):  # `playground X --help` opens with the same line as the list
        kwargs.setdefault("description", kwargs.get("help"))
        return add_parser(name, **kwargs)

    sub.add_parser = add_with_description

    gui = sub.add_parser("gui", help="open the window on an experiment (the default command)")
    gui.add_argument("experiment", nargs="?", help="a .json or .toml experiment, an example's or a lesson's "
                                                  "name, or a .pgrun run (opens at its step; default: the built-in one)")
    gui.add_argument("--steps", type=non_negative_int, default=0, help="train this many steps first")
    gui.add_argument("--screenshot", metavar="OUT.png", help="save a screenshot of the window after --steps, then exit")
    cli_compare.add_gui_options(gui)
    gui.add_argument("--size", metavar="WxH", help="the window's size in pixels, e.g. 1366x768")
    gui.add_argument("--presentation", action="store_true",
                     help="start in presentation mode (larger text; full screen, or --size)")
    gui.set_defaults(func=cmd_gui)

    examples = sub.add_parser("examples", help="list the example experiments and where they are")
    examples.set_defaults(func=cmd_examples)

    train = sub.add_parser("train", help="train headless and print a summary")
    train.add_argument("experiment", help="a .json or .toml experiment, an example's or a lesson's name, or a "
                                          ".pgrun run (goes on from its step)")
    train.add_argument("--steps", type=non_negative_int, default=1000, help="minibatch updates (default 1000)")
    train.add_argument("--save", metavar="RUN.pgrun", help="save the run afterwards (weights, optimiser, "
                                                          "step, history): open it with gui or train")
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.add_argument("--grid", type=grid_size, default=DEFAULT_GRID, help=argparse.SUPPRESS)
    train.set_defaults(func=cmd_train)

    cli_export.register_cli(sub)
    export_to_torch_too(sub.choices["export"])
    cli_lessons.register_cli(sub)
    cli_bench.register_cli(sub)
    cli_compare.register_cli(sub)
    parser.commands = set(sub.choices)  # main(): any other first word is a file for the window
    return parser


def main(argv: list[str] | None = None) -> int:
    from .runtime import configure_process  # the one process set-up (one BLAS thread, malloc), never at import
    configure_process()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or (argv[0] not in parser.commands and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "gui")  # `playground` and `playground FILE` open the window
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BadInput as error:
        print(f"playground: {error}", file=sys.stderr)
        return 2
    except Stopped as stopped:
        print(f"playground: {stopped}", file=sys.stderr)
        return 128 + stopped.signum
    except KeyboardInterrupt:
        print("playground: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `playground examples | head`: the reader left early, nothing went wrong
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0
    except Exception as error:  # an internal error (exit 1): the traceback is for the bug report
        if isinstance(error, ImportError):  # Qt's own libraries missing (export, a view): one line
            from .ui.system_libs import problem_from_import_error

            if problem := problem_from_import_error(error):
                print(f"playground: {problem}", file=sys.stderr)
                return 2
        import traceback

        traceback.print_exc()
        print(f"playground: internal error: {error!r}", file=sys.stderr)
        return 1
