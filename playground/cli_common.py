"""What the commands share: argument types, output checks, stopping on a signal, a progress bar.

The command line's layer (argparse, exit codes, stderr): cli.py and each cli_*.py take these from
here, so no command module imports cli.py, which registers them all.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import stat
import sys
import threading
from pathlib import Path

from .inputs import BadInput


class Stopped(Exception):
    """SIGINT or SIGTERM asked a command to stop: one line, exit 128 + the signal's number."""

    def __init__(self, signum: int, outcome: str):
        super().__init__(f"stopped by {signal.Signals(signum).name}; {outcome}")
        self.signum = signum


class StopFlag:
    """Set by SIGINT/SIGTERM; the work checks it where stopping is safe (check() raises Stopped)."""

    def __init__(self, outcome: str):
        self.outcome = outcome
        self.signum: int | None = None

    def __call__(self, signum, frame) -> None:  # the signal handler: no exception from here
        if self.signum is None:
            self.signum = signum

    def check(self) -> None:
        if self.signum is not None:
            raise Stopped(self.signum, self.outcome)


@contextlib.contextmanager
def stop_on_signals(outcome: str):
    """SIGINT and SIGTERM set a StopFlag instead of interrupting, for the duration (main thread)."""
    flag = StopFlag(outcome)
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {sig: signal.signal(sig, flag) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


SHOWN_PATH_CHARS = 80  # a refused path is cut to this in the one line (a 4,000-character name would wrap it)


def check_writable(path: str | None, option: str, example: str) -> None:
    """OPTION PATH names a file that can be written (its folder exists and takes files), checked
    before the work starts, so a long run is not lost at the end; None: the option was not given."""
    if path is None:
        return
    target = Path(path)
    folder = target.parent  # Path("t.csv").parent is Path(".")
    try:
        # os.stat, not Path.is_dir: on Python 3.11 is_dir() raises for a name the OS refuses (a
        # 300-character name: ENAMETOOLONG), which reached the user as an internal error
        is_folder = stat.S_ISDIR(os.stat(target).st_mode)
    except (FileNotFoundError, NotADirectoryError):  # a new file; or a.txt/b.csv: the folder check says why
        is_folder = False
    except OSError as error:  # a name too long for the system, a symlink loop
        shown = path if len(path) <= SHOWN_PATH_CHARS else path[:SHOWN_PATH_CHARS - 1] + "…"
        raise BadInput(f"{option} {shown}: cannot write there ({error.strerror or error}); "
                       f"give a file name the system allows, such as {example}") from None
    if is_folder:
        raise BadInput(f"{option} {path}: is a folder; give a file name such as {example}")
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise BadInput(f"{option} {path}: cannot write there (the folder {folder} does not exist or is read-only)")


def whole_number(text: str) -> int:
    """An option's whole number, or the argparse error "'x' is not a whole number"."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def non_negative_int(text: str) -> int:
    """0 or more (--steps): the argparse error says which rule a value broke."""
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; use 0 or more")
    return value


GRID_RANGE = (2, 400)  # the decision map's points per side: the window uses 100; 400² is 160,000 a forward pass


def grid_size(text: str) -> int:
    """The hidden --grid option: a whole number in GRID_RANGE (0 crashed, 10⁶ would exhaust memory)."""
    low, high = GRID_RANGE
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: a whole number from {low} to {high}")
    return value


UNITS = {"rendering": "frames", "measuring": "figures"}  # what each phase counts; any other: steps


class Progress:
    """A tqdm bar on stderr per phase ("training", "rendering") when stderr is a terminal; on a log,
    one line as each phase starts (`playground: rendering 300 frames`, which tests wait for), or, for
    a phase whose parts are named (the bench's figures), one line as each part starts."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar = None
        self._label: str | None = None
        self._phases: set[str] = set()  # phases begun; a finished one is not drawn again

    def __call__(self, label: str, done: int, total: int, part: str | None = None) -> None:
        """`done` of `total` in phase `label`; `part`: what is under way now, the (done + 1)th."""
        unit = UNITS.get(label, "steps")
        if not self.enabled:
            if part is not None:
                self._line(f"{label} {part} ({done + 1} of {total})")
            elif label not in self._phases:
                self._phases.add(label)
                self._line(f"{label} {total:,} {unit}")
            return
        if label != self._label:
            self.end()
            if label in self._phases:  # called once more after its bar was full
                return
            from tqdm import tqdm

            self._phases.add(label)
            self._label = label
            self._bar = tqdm(total=total, desc=label, unit=unit[:-1], file=self.stream, leave=False,
                             mininterval=0.1, dynamic_ncols=True)
        if self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)
        if part is not None:
            self._bar.set_postfix_str(part)
        if done >= total:
            self.end()

    def _line(self, text: str) -> None:
        self.stream.write(f"playground: {text}\n")
        self.stream.flush()

    def end(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._label = None
