"""The child process of `playground bench`'s window figures: one measurement, one JSON line out.

    python -m playground.ui.bench_child live CASE SECONDS [--idle] [--wait-for-go]
    python -m playground.ui.bench_child startup
    python -m playground.ui.bench_child export FRAMES
    python -m playground.ui.bench_child compare SECONDS [--warm SECONDS]

Started by playground.ui.bench_live, not by hand; a child has its own entry point rather than going
through the command line. Exit 0 with the result as the last stdout line; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..bench import CASES
from ..runtime import configure_process
from . import bench_live


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m playground.ui.bench_child")
    sub = parser.add_subparsers(dest="what", required=True)
    live = sub.add_parser("live", help="the window training CASE for SECONDS, a 5 ms timer beside it")
    live.add_argument("case", choices=sorted(CASES))
    live.add_argument("seconds", type=float)
    live.add_argument("--idle", action="store_true", help="the window not training: the timer alone")
    live.add_argument("--wait-for-go", action="store_true",
                      help=f"print {bench_live.READY!r} once the window is set, then wait for a {bench_live.GO!r} line on stdin")
    sub.add_parser("startup", help="launch to the first picture and the first trained step")
    export = sub.add_parser("export", help="a whole export of FRAMES frames")
    export.add_argument("frames", type=int)
    compare = sub.add_parser("compare", help="the compare window training 6 x 20 networks: frames drawn per second")
    compare.add_argument("seconds", type=float)
    compare.add_argument("--warm", type=float, default=2.0, help="seconds played before the count starts")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    configure_process()  # as the window it measures: one BLAS thread, malloc kept
    if args.what == "live":
        out = bench_live.in_window_live(args.case, args.seconds, idle=args.idle,
                                        ready=_wait_for_go if args.wait_for_go else None)
    elif args.what == "startup":
        out = bench_live.in_window_startup()
    elif args.what == "compare":
        out = bench_live.in_window_compare_fps(args.seconds, args.warm)
    else:
        out = bench_live.in_window_export_fps(args.frames)
    print(json.dumps(out), flush=True)
    return 0


def _wait_for_go() -> None:
    print(bench_live.READY, flush=True)
    if sys.stdin.readline().strip() != bench_live.GO:
        raise SystemExit("bench_child: the parent went away before saying go")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
