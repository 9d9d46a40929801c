"""`playground compare EXPERIMENT --variants SPEC [--seeds M] [--steps N] [--json] [--csv OUT]`.

Trains every variant × seed in lockstep (compare.py) and prints one table: final test accuracy and
dead fraction (mean, min, max over seeds), diverged seeds, median steps to 95 % test accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .cli_common import Progress, check_writable, non_negative_int, whole_number
from .compare import MAX_SEEDS, Comparison, SpecError, VariantResult, parse_variants, table_csv
from .experiment import write_atomically
from .inputs import BadInput, load_experiment

PROGRESS_CHUNK = 50  # steps between progress-bar updates (a 6 × 20 step is ~1 ms: ~20 updates/s)


def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="train variants of an experiment side by side over many seeds",
        description="Train each variant of EXPERIMENT (one field changed) over --seeds seeds in lockstep, "
                    "on the same data, minibatches and (by default) starting weights per seed, and print "
                    "a table of final test accuracy, dead fraction, diverged seeds and steps to 95%.")
    p.add_argument("experiment", help="a .json or .toml experiment")
    p.add_argument("--variants", required=True, metavar="SPEC",
                   help="FIELD=V1,V2,... e.g. activation=relu,leaky_relu,elu or training.learning_rate=0.005,0.05 "
                        "or network.batch_norm=false,true")
    p.add_argument("--seeds", type=_seeds, default=10, metavar="M", help=f"seeds per variant, 1-{MAX_SEEDS} (default 10)")
    p.add_argument("--steps", type=non_negative_int, default=1000, help="minibatch updates (default 1000)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--same-start", dest="same_start", action="store_true", default=None,
                       help="every variant starts from the first one's weights (the default where shapes allow "
                            "and the field is not an init one)")
    start.add_argument("--own-start", dest="same_start", action="store_false",
                       help="each variant starts from its own init")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--csv", metavar="OUT.csv", help="also write the table as CSV")
    p.add_argument("--export", metavar="OUT", help="also write the compare window side by side as it trains: "
                                                   ".gif or .mp4 (about 60 frames), or .png (the last one)")
    p.add_argument("--size", default="1280x720", metavar="WxH", help="with --export: pixels (default 1280x720)")
    p.set_defaults(func=cmd_compare)


def add_gui_options(gui) -> None:
    """`playground gui EXPERIMENT --compare SPEC [--seeds M]`: the compare window instead."""
    gui.add_argument("--compare", metavar="SPEC", help="open the compare window on these variants, "
                                                       "e.g. activation=relu,leaky_relu,elu")
    gui.add_argument("--seeds", type=_seeds, default=10, metavar="M", help="with --compare: seeds per variant (default 10)")


def cmd_gui_compare(args, path: str | None = None, size: tuple[int, int] | None = None) -> int:
    """From cmd_gui, after its checks: path is the experiment file (an example's name resolved)."""
    from .ui.compare_window import run_compare

    return run_compare(path, args.compare, seeds=args.seeds, steps=args.steps, screenshot=args.screenshot, size=size)


def _seeds(text: str) -> int:
    value = whole_number(text)
    if not 1 <= value <= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: 1 to {MAX_SEEDS}")
    return value


def cmd_compare(args) -> int:
    experiment = load_experiment(args.experiment)
    try:
        field, variants = parse_variants(args.variants, experiment)
        comparison = Comparison(variants, seeds=args.seeds, same_start=args.same_start, field=field)
    except (SpecError, ValueError) as error:
        raise BadInput(str(error)) from None
    check_writable(args.csv, "--csv", "table.csv")
    started = time.perf_counter()
    if args.export:
        comparison = _export(args, experiment)
    else:
        _train(comparison, args.steps)
    seconds = time.perf_counter() - started
    results = comparison.results()
    if args.csv:
        try:
            write_atomically(args.csv, table_csv(results, args.seeds).encode("utf-8"))
        except OSError as error:  # a full disk after the check before training
            raise BadInput(f"--csv {args.csv}: cannot write the table ({error.strerror or error})") from None
    if args.json:
        print(json.dumps({"variants": [r.to_dict() for r in results], "seeds": args.seeds}))
        return 0
    networks = len(variants) * args.seeds
    rate = ("training and drawing the animation" if args.export
            else f"{networks * comparison.step_count / max(seconds, 1e-9):,.0f} network-updates/s")
    print(f"{args.experiment}: {len(variants)} variants × {args.seeds} seeds, {comparison.step_count} steps "
          f"in {seconds:.2f} s ({rate}); "
          f"start: {'the same weights for every variant' if comparison.same_start else 'each its own init'}")
    print(table_text(results, args.seeds))
    return 0


def _export(args, experiment) -> Comparison:
    """Train through the exporter (it draws the window every steps/60 steps); its Comparison."""
    from .export import ExportError, format_for, parse_size

    try:
        format_for(args.export)
        size = parse_size(args.size)
    except ExportError as error:
        raise BadInput(str(error)) from None
    from .ui.compare_window import export_comparison
    from .ui.export_render import ensure_app

    app = ensure_app()  # noqa: F841 (widgets need it; offscreen when there is no display)
    bar = Progress()
    try:
        comparison, frames = export_comparison(
            experiment, args.variants, args.seeds, args.steps, args.export, size=size, same_start=args.same_start,
            progress=lambda done, total: bar("rendering", done, total))
    except ExportError as error:
        raise BadInput(str(error)) from None
    finally:
        bar.end()
    print(f"playground: wrote {args.export} ({frames} frames)", file=sys.stderr)
    return comparison


def _train(comparison: Comparison, steps: int) -> None:
    """Step to `steps` in chunks, with cli_common's progress bar on stderr."""
    bar = Progress()
    try:
        while comparison.step_count < steps:
            comparison.step(min(PROGRESS_CHUNK, steps - comparison.step_count))
            bar("training", comparison.step_count, steps)
    finally:
        bar.end()
    comparison.finish()


def _steps_text(result: VariantResult, seeds: int) -> str:
    if result.steps_to_95 is None:  # the median seed did not get there in the steps trained
        return f"median not reached ({result.reached_95}/{seeds} did)" if result.reached_95 else "not reached"
    return f"{result.steps_to_95:g} ({result.reached_95}/{seeds} reached)"


def table_text(results: list[VariantResult], seeds: int) -> str:
    width = max(8, *(len(r.name) for r in results))
    lines = [f"{'':{width}}  {'test accuracy':^20}  {'dead fraction':^20}  {'any dead':>8}  {'diverged':>8}  median steps to 95%",
             f"{'variant':{width}}  {'mean':>6} {'min':>6} {'max':>6}  {'mean':>6} {'min':>6} {'max':>6}  {'(seeds)':>8}"]
    for r in results:
        a, d = r.test_accuracy, r.dead_fraction
        lines.append(f"{r.name:{width}}  {_three(a)}  {_three(d)}  {f'{r.seeds_with_dead}/{seeds}':>8}"
                     f"  {f'{r.diverged}/{seeds}':>8}  {_steps_text(r, seeds)}")
    return "\n".join(lines)


def _three(stats) -> str:
    """mean, min, max in 20 characters; dashes when every seed diverged (no value to show)."""
    if stats.mean is None:
        return f"{'—':>6} {'—':>6} {'—':>6}"
    return f"{stats.mean:6.3f} {stats.min:6.3f} {stats.max:6.3f}"

