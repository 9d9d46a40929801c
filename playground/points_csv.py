"""Reading x, y, label points from a CSV for File → Import CSV, with every skipped line named.

Labels may be 0/1, -1/1 (TensorFlow Playground's), or any two distinct strings (sorted: the first
is class 0). A header line is not junk. What cannot be read is listed (line number and content) so
the window can ask whether to skip those lines; no usable rows, a single class, or more rows than
an experiment holds (data.points: experiment.py's 5000) is a PointsCsvError naming the file.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from .experiment import ExperimentError

MAX_ROWS = 5000  # experiment.py's _checked_points limit for data.points
MIN_ROWS = 10  # ... and its least
MAX_BYTES = 50 * 2**20  # a 5000-row file is ~100 KB; far larger is not a points file


class PointsCsvError(ExperimentError):
    """A CSV that gives no usable point set; the message names the file and what is allowed."""


@dataclass(frozen=True)
class CsvPoints:
    rows: tuple[tuple[float, float, int], ...]  # (x, y, label 0/1)
    skipped: tuple[tuple[int, str], ...]  # (line number from 1, the line's text cut to 60 characters)
    labels: tuple[str, str]  # what was read as class 0 and class 1


def read_points_csv(path: str | Path) -> CsvPoints:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise PointsCsvError(f"{path}: {path.stat().st_size:,} bytes; a points CSV of at most "
                                 f"{MAX_ROWS} rows is far smaller")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise PointsCsvError(f"{path}: cannot read the file ({error})") from None
    good, skipped = [], []
    for line_no, cells in enumerate(csv.reader(text.splitlines()), start=1):
        if not cells or all(not c.strip() for c in cells):
            continue
        try:
            if len(cells) != 3:
                raise ValueError
            x, y = float(cells[0]), float(cells[1])
            if not (math.isfinite(x) and math.isfinite(y)) or not cells[2].strip():
                raise ValueError
            good.append((line_no, x, y, cells[2].strip()))
        except ValueError:
            skipped.append((line_no, ",".join(cells)[:60]))
    if skipped and skipped[0][0] == 1 and (not good or good[0][0] > 1):
        skipped.pop(0)  # a header line
    labels = sorted({label for *_, label in good}, key=_label_order)
    if not good:
        raise PointsCsvError(f"{path}: no usable rows; need lines of x,y,label (label 0/1, -1/1 or two names)")
    if len(labels) != 2:
        raise PointsCsvError(f"{path}: {len(labels)} distinct labels ({', '.join(labels[:5])}"
                             f"{'…' if len(labels) > 5 else ''}); need exactly two: 0/1, -1/1 or two names")
    if len(good) > MAX_ROWS:
        raise PointsCsvError(f"{path}: {len(good):,} rows; at most {MAX_ROWS} points fit an experiment")
    if len(good) < MIN_ROWS:
        raise PointsCsvError(f"{path}: {len(good)} usable rows; need at least {MIN_ROWS}")
    index = {labels[0]: 0, labels[1]: 1}
    rows = tuple((x, y, index[label]) for _, x, y, label in good)
    return CsvPoints(rows, tuple(skipped), (labels[0], labels[1]))


def _label_order(label: str):
    """Numbers by value (-1 and 0 before 1), then names alphabetically."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)
