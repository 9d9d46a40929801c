"""`playground bench [--quick] [--json]`: measure the performance figures on this machine, print them.

As a table (what each counts, its target) or as one JSON object.

The figures and their measurements are playground.bench's (Qt-free) and playground.ui.bench_live's
(the window's, each in a child process); this module parses the options, hands the window's
measurements to the run, and prints. Exit 0 when the bench ran (a figure that could not be measured
is null with its reason, not a failure); 2 when torch, which the baseline needs, is missing.
"""

from __future__ import annotations

import argparse
import json

from . import bench
from .cli_common import Progress
from .inputs import BadInput
from .ui import bench_live  # imports no Qt: the window's figures are measured in child processes


def register_cli(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="measure the performance figures on this machine")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="shorter measurements (under a minute)")
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)  # the tests' tiny runs
    parser.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    try:  # the engine's figures are ratios to a plain torch loop
        import torch  # noqa: F401
    except ImportError:
        raise BadInput("bench needs torch (the app itself does not), and it is not installed: "
                       "pip install torch==2.13.0 (from a checkout, with the bench extra: "
                       "pip install torch==2.13.0 && pip install -e '.[bench]')") from None
    bar = Progress()
    try:
        result = bench.run_bench(quick=args.quick, scale=args.scale, window=bench_live,
                                 progress=None if args.json else lambda d, t, what: bar("measuring", d, t, part=what))
    finally:
        bar.end()
    print(json.dumps(result) if args.json else format_table(result))
    return 0


def format_table(result: dict) -> str:
    """The human-readable report: one line per key, with what it counts and its target if it has one."""
    lines = [f"{'figure':36} {'value':>12}  {'target':18} unit"]
    for key in bench.KEYS:
        value = result[key]
        text = "n/a" if value is None else f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
        target = result["targets"].get(key, "")
        lines.append(f"{key:36} {text:>12}  {target:18} {bench.UNITS.get(key, '')}".rstrip())
    detail = result.get("detail", {})
    for case in ("c1", "c3"):  # the engine's figures are the app's engine; the others side by side
        e = detail.get(f"engine_{case}")
        if e:
            tfp = (f"TF Playground's engine (node) {e['tfp_engine_updates_per_s']:,.0f}, "
                   f"ratio per round {e['ratio_vs_tfp_engine_range'][0]:.2f}-{e['ratio_vs_tfp_engine_range'][1]:.2f}, "
                   f"per CPU-second {e['ratio_vs_tfp_engine_cpu']:.2f}; "
                   if "tfp_engine_updates_per_s" in e else "")
            lines.append(f"  engine {case} ({e['engine']}), updates/s, best round: ours {e['updates_per_s']:,.0f}; "
                         f"{tfp}numpy engine {e['numpy_engine_updates_per_s']:,.0f}; "
                         f"plain torch {e['plain_torch_updates_per_s']:,.0f}")
    if "gui_lateness_p99_idle_ms" in detail and "gui_lateness_p99_loaded_idle_ms" in detail:
        lines.append(f"  GUI timer p99 with the window idle (the machine's own share): {detail['gui_lateness_p99_idle_ms']:.1f} ms, "
                     f"{detail['gui_lateness_p99_loaded_idle_ms']:.1f} ms with {bench.BUSY_PROCESSES} busy processes")
    lines.append(f"  TF Playground's page: one epoch per animation frame (<= {bench.TFP_PAGE_EPOCHS_PER_S:g}/s), "
                 "a ceiling from how it trains, not a measurement")
    for key, why in result["reasons"].items():
        lines.append(f"  {key}: {why}")
    return "\n".join(lines)
