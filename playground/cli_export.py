"""`playground export EXPERIMENT -o OUT`: train headless, then write a GIF, MP4 or PNG (no screen needed).

Exit codes as every command's (cli.py): 0 written, 2 bad input (one line), 130/143 stopped by
SIGINT/SIGTERM between frames (a flag, never an exception through Qt: one line, no file). The
frames are drawn offscreen by the window's own views (ui/export_render.py), loaded only once
training is done, so a bad option is reported without starting Qt.
"""

from __future__ import annotations

import argparse
import sys

from .cli_common import Progress, grid_size, non_negative_int, stop_on_signals, whole_number
from .export import (GIF_MAX_FPS, MAX_FPS, MIN_FPS, VIEWS, ExportError, ExportOptions, check_frame_count, format_for,
                     parse_size)
from .inputs import BadInput, load_experiment, load_trainer, prepare_engine
from .plane import DEFAULT_GRID
from .writers import AtomicFile


def _every(text: str) -> int:
    """--every K: a whole number of steps, 1 or more ('2.5' is a number, just not a whole one)."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: a whole number of steps, 1 or more")
    return value


def _fps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not MIN_FPS <= value <= MAX_FPS:  # nan fails too
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: a number from {MIN_FPS:g} to {MAX_FPS} "
                                         f"(a GIF at most {GIF_MAX_FPS})")
    return value


def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="train headless and write a GIF, MP4 or PNG",
        description="Train EXPERIMENT for --steps steps, recording every --every-th, and write OUT "
                    "(the format follows the suffix: .gif, .mp4 or .png). No screen needed.")
    p.add_argument("experiment", help="a .json or .toml experiment")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="run.gif, run.mp4 or run.png")
    p.add_argument("--steps", type=non_negative_int, default=1000, help="training steps (default 1000)")
    p.add_argument("--every", type=_every, default=None, metavar="K",
                   help="record every K-th step, one frame each (default: steps/100, so ~100 frames)")
    p.add_argument("--fps", type=_fps, default=20.0, help="frames per second (default 20)")
    p.add_argument("--view", choices=VIEWS, default="boundary",
                   help="boundary: the decision map with points; network: neurons and their maps; window: the whole layout")
    p.add_argument("--size", default="600x600", metavar="WxH", help="pixels, caption included (default 600x600)")
    p.add_argument("--no-caption", action="store_true", help="leave out the line with step, activation, loss, accuracy, dead share")
    p.add_argument("--grid", type=grid_size, default=DEFAULT_GRID, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    try:
        fmt = format_for(args.output)
        requested = parse_size(args.size)
        options = ExportOptions(format=fmt, view=args.view, size=requested, fps=args.fps,
                                caption=not args.no_caption, grid_size=args.grid).checked()
    except ExportError as error:
        raise BadInput(str(error)) from None
    load_experiment(args.experiment)  # a bad file is refused before the frames are counted
    every = args.every or max(1, args.steps // 100)
    frames = args.steps // every + 2
    if fmt != "png":
        try:
            check_frame_count(frames - 1, options)
        except ExportError as error:
            raise BadInput(f"--steps {args.steps} with --every {every}: {error}") from None
    if options.size != requested:
        print(f"playground: MP4 needs even sides; writing {options.size[0]}x{options.size[1]}", file=sys.stderr)
    try:
        AtomicFile(args.output).discard()  # an unwritable folder fails now, before training
    except ExportError as error:
        raise BadInput(str(error)) from None

    from .recording import Recorder
    from .ui.export_render import export_recording  # Qt is loaded only when the frames are drawn

    # SIGINT / SIGTERM only set a flag, checked between chunks of training and between frames: an
    # exception raised from the handler would surface inside Qt's paint code, which swallows it
    # (the export went on) or crashed. Stopped unwinds through Exporter.run, which removes the file.
    bar = Progress()
    with stop_on_signals("no file was written") as stop:
        try:
            prepare_engine()
            trainer = load_trainer(args.experiment, options.grid_size)  # a run goes on from its step
            recorder = Recorder(every=every if fmt != "png" else max(1, args.steps), capacity=max(2, frames))

            def training_progress(done, total):
                stop.check()
                bar("training", done, total)

            recorder.train(trainer, args.steps, progress=training_progress)
            stop.check()
            recorder.record(trainer, force=True)  # the final state, also when steps is not a multiple of every
            bar.end()
            recording = recorder.recording(trainer.history())
            try:
                result = export_recording(recording, args.output, options,
                                          progress=lambda d, t: bar("rendering", d, t), stop=stop.check)
            except ExportError as error:
                stop.check()  # ffmpeg gets Ctrl+C too: its failure is the stop, not a problem to report
                raise BadInput(str(error)) from None
        except BaseException:
            bar.end()
            stop.check()  # whatever failed after a stop request failed because of it
            raise
    bar.end()
    note = f" (training diverged at step {trainer.step_count})" if trainer.diverged else ""
    print(f"{result.path}: {result.frames} frame{'s' if result.frames != 1 else ''}, "
          f"{result.size[0]}x{result.size[1]}, {result.bytes / 1024:.0f} KB in {result.seconds:.1f} s{note}")
    return 0
