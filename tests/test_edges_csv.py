"""CSV points: every line is loaded or named with its reason; a refusal says what is wrong."""

import os

import pytest

from playground.datasets import read_points_csv
from playground.experiment import ExperimentError


def load_points_csv(path) -> tuple[list[list[float]], list[str]]:
    """read_points_csv as (rows as [x, y, label] lists, one warning a skipped line)."""
    points = read_points_csv(path)
    return [list(row) for row in points.rows], points.warnings


def good_rows(n: int, start: int = 0) -> list[str]:
    return [f"{i * 0.001:.3f},{-i * 0.001:.3f},{i % 2}" for i in range(start, start + n)]


def write(tmp_path, name: str, lines: list[str]) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_a_stray_quote_hides_no_rows_after_it(tmp_path):
    path = write(tmp_path, "quote.csv", ['"oops', *good_rows(4000)])
    rows, warnings = load_points_csv(path)
    assert len(rows) == 4000
    assert warnings == ["line 1 skipped: an unclosed quote"]


def test_a_huge_field_is_a_skipped_line_not_an_error(tmp_path):
    path = write(tmp_path, "huge.csv", [*good_rows(10), "1," + "9" * 200_000 + ",0", *good_rows(5, 10)])
    rows, warnings = load_points_csv(path)
    assert len(rows) == 15 and warnings == ["line 11 skipped: a field longer than 131,072 characters"]


def test_every_skipped_line_is_named_with_its_reason(tmp_path):
    lines = ["x,y,label", *good_rows(12), "hello,world,1", "1,2", "3,4,7", "5,6,-1", "1e39,0,1", "nan,0,0",
             "", "1,2,3,4", '"a,b",1,0']
    rows, warnings = load_points_csv(write(tmp_path, "mixed.csv", lines))
    assert len(rows) == 13 and rows[-1] == [5.0, 6.0, 0]  # TF Playground's -1 reads as 0
    assert warnings == [
        "line 14 skipped: x = 'hello' is not a number",
        "line 15 skipped: 2 fields, not x,y,label",
        "line 16 skipped: label 7 is not 0 or 1 (or TF Playground's -1 for 0)",
        "line 18 skipped: x = 1e+39 is not allowed: from -1e+06 to 1e+06",
        "line 19 skipped: x = nan is not allowed: from -1e+06 to 1e+06",
        "line 21 skipped: 4 fields, not x,y,label",
        "line 22 skipped: x = 'a,b' is not a number",
    ]
    # every non-empty line is a row, the header, or a warning
    non_empty = [line for line in lines if line.strip()]
    assert len(rows) + 1 + len(warnings) == len(non_empty)


def test_labels_one_and_two_say_what_is_wrong(tmp_path):
    lines = [f"{i},{i},{1 + i % 2}" for i in range(20)]  # labels 1 and 2: half unusable, one label left
    with pytest.raises(ExperimentError) as refused:
        load_points_csv(write(tmp_path, "labels.csv", lines))
    message = str(refused.value)
    assert message.endswith("labels.csv: all 10 usable rows have label 1; both labels 0 and 1 are needed; "
                            "10 lines skipped, e.g. line 2: label 2 is not 0 or 1 (or TF Playground's -1 for 0); "
                            "line 4: label 2 is not 0 or 1 (or TF Playground's -1 for 0); "
                            "line 6: label 2 is not 0 or 1 (or TF Playground's -1 for 0)")


def test_too_few_rows_name_the_skipped_ones(tmp_path):
    with pytest.raises(ExperimentError, match=r"few.csv: 2 usable rows; need at least 10 rows of x,y,label "
                                              r"with both labels 0 and 1; 1 line skipped, e.g. line 2: 2 fields"):
        load_points_csv(write(tmp_path, "few.csv", ["1,2,0", "1,2", "3,4,1"]))


def test_too_many_rows_and_odd_files_are_refused(tmp_path):
    with pytest.raises(ExperimentError, match="5,001 usable rows; at most 5000 are allowed"):
        load_points_csv(write(tmp_path, "many.csv", good_rows(5001)))
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ExperimentError, match="cannot read a named pipe"):
        load_points_csv(fifo)
    big = tmp_path / "big.csv"
    big.write_text("1,2,0\n" * 1_000_000)  # 6 MB
    with pytest.raises(ExperimentError, match="larger than 4 MB"):
        load_points_csv(big)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 10)
    with pytest.raises(ExperimentError, match="not a text file"):
        load_points_csv(binary)


def test_a_header_is_not_junk_but_a_later_one_is(tmp_path):
    rows, warnings = load_points_csv(write(tmp_path, "h.csv", ["", "x,y,label", *good_rows(10), "x,y,label"]))
    assert len(rows) == 10 and warnings == ["line 13 skipped: x = 'x' is not a number"]
