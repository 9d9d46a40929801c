"""CSV import: good, mixed and bad files; the window lists junk lines and skips or cancels."""

import pytest
from PySide6.QtWidgets import QMessageBox

from playground.datasets import read_points_csv
from playground.experiment import ExperimentError

GOOD = "x,y,label\n" + "".join(f"{i * 0.3 - 3},{(i % 5) - 2},{i % 2}\n" for i in range(20))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_files_with_each_kind_of_label(tmp_path):
    assert len(read_points_csv(write(tmp_path, "a.csv", GOOD)).rows) == 20
    tf = read_points_csv(write(tmp_path, "b.csv", GOOD.replace(",0\n", ",-1\n")))
    assert tf.labels == ("-1", "1") and {r[2] for r in tf.rows} == {0, 1} and not tf.skipped
    names = read_points_csv(write(tmp_path, "c.csv", GOOD.replace(",0\n", ",cat\n").replace(",1\n", ",dog\n")))
    assert names.labels == ("cat", "dog") and names.rows[1][2] == 1


def test_a_mixed_file_names_its_junk_lines(tmp_path):
    text = GOOD + "oops\n1,2\nnan,1,0\n4,5,1\n"
    reading = read_points_csv(write(tmp_path, "m.csv", text))
    assert [n for n, _, _ in reading.skipped] == [22, 23, 24] and reading.skipped[0][1] == "oops"
    assert len(reading.rows) == 21


@pytest.mark.parametrize("text, words", [
    ("", "0 usable rows"), ("a,b,c\nd,e,f\n", "0 usable rows"),
    (GOOD.replace(",1\n", ",0\n"), "all 20 usable rows have label 0"),
    (GOOD.replace(",1\n", ",cat\n").replace(",0\n", ",dog\n") + "1,1,bird\n", "3 distinct labels"),
    ("x,y,l\n1,2,0\n3,4,1\n", "2 usable rows"),
    ("".join(f"{i},{i},{i % 2}\n" for i in range(100_001)), "100,001 usable rows"),
])
def test_bad_files_get_one_clear_error(tmp_path, text, words):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(ExperimentError) as caught:
        read_points_csv(path)
    assert str(path) in str(caught.value) and words in str(caught.value)


@pytest.fixture
def window(make_window):
    return make_window(grid_size=30)


def test_window_skip_or_cancel_and_nothing_is_lost_on_cancel(qtbot, window, tmp_path):
    mixed = write(tmp_path, "m.csv", GOOD + "junk line\n")
    drawn = [[i * 0.5 - 3, 1.0, i % 2] for i in range(12)]
    window.set_drawing(True)
    assert window.set_drawn_points(drawn)
    box = window.import_csv(str(mixed))
    assert "line 22: junk line" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert [list(p) for p in window.experiment.data.points] == drawn  # the drawn points are kept
    box = window.import_csv(str(mixed))
    box.button(QMessageBox.StandardButton.Ignore).click()
    assert len(window.experiment.data.points) == 20 and len(window.drawer.points) == 20
    assert "1 line(s) skipped" in window.statusBar().currentMessage()
    assert window.import_csv(str(write(tmp_path, "empty.csv", ""))) is False
    assert "0 usable rows" in window.last_warning.text()
    assert len(window.experiment.data.points) == 20
