"""The compare window, driven by pytest-qt: every panel, the table and the chart show the same step."""

import numpy as np
import pytest

from playground.experiment import Experiment
from playground.ui.compare_window import CompareWindow, open_compare

EXPERIMENT = Experiment.from_dict({"data": {"dataset": "circle", "n_points": 120},
                                   "network": {"hidden": [4, 3]},
                                   "training": {"learning_rate": 0.1, "batch_size": 10}})
SPEC = "activation=relu,tanh,elu"


@pytest.fixture
def window(qtbot):
    window = CompareWindow(EXPERIMENT, SPEC, seeds=3, grid_size=24)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    mismatches = []

    def check(frame):  # every drawn frame: each panel shows that frame's step, and its own variant
        for panel, result in zip(window.panels, frame.results):
            if panel.snapshot.step != frame.step or panel.boundary._snapshot is not panel.snapshot:
                mismatches.append((panel.name, panel.snapshot.step, frame.step))
            if result.name != panel.name or window.table.item(window.panels.index(panel), 0).text() != panel.name:
                mismatches.append(("row", result.name, panel.name))

    window.sigDrawn.connect(check)
    window.mismatches = mismatches
    qtbot.waitUntil(lambda: window.frame is not None, timeout=20000)
    yield window
    window.shutdown()


def test_step_updates_every_panel_to_the_same_step(qtbot, window):
    window.train_steps(25)
    qtbot.waitUntil(lambda: window.frame.step == 25, timeout=20000)
    assert [p.snapshot.step for p in window.panels] == [25, 25, 25]
    names = [p.snapshot.experiment.network.activation for p in window.panels]
    assert names == ["relu", "tanh", "elu"]
    grids = [p.snapshot.output_grid for p in window.panels]
    assert not np.array_equal(grids[0], grids[1])  # three different networks are drawn
    steps = window.chart.means[0].getData()[0]
    assert len(steps) == 26 and steps[-1] == 25  # the chart: one row a step for the first 100
    assert window.table.item(1, 2).text() == f"{window.frame.results[1].test_accuracy.mean:.3f}"
    assert not window.mismatches


def test_play_pause_and_reset_move_all_panels_together(qtbot, window):
    window.set_playing(True)
    qtbot.waitUntil(lambda: window.frame.step > 150, timeout=30000)
    window.set_playing(False)
    qtbot.waitUntil(lambda: not window.run_bar.play_button.isChecked(), timeout=5000)
    qtbot.wait(300)  # the frame sent on pause
    paused_at = window.frame.step
    assert {p.snapshot.step for p in window.panels} == {paused_at}
    qtbot.wait(300)
    assert window.frame.step == paused_at  # paused means paused
    assert window.run_bar.counter.text().startswith(f"Step <b>{paused_at:,}</b>")
    qtbot.keyClick(window, "r")
    qtbot.waitUntil(lambda: window.frame.step == 0, timeout=20000)
    assert {p.snapshot.step for p in window.panels} == {0}
    assert not window.mismatches


def test_view_compare_opens_a_window_from_the_main_windows_experiment(qtbot, monkeypatch):
    from PySide6.QtWidgets import QInputDialog, QWidget

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("training.learning_rate=0.01,0.1", True))
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (2, True))
    parent = QWidget()
    qtbot.addWidget(parent)
    compare = open_compare(parent, EXPERIMENT)
    try:
        assert [p.name for p in compare.panels] == ["learning_rate=0.01", "learning_rate=0.1"]
        qtbot.waitUntil(lambda: compare.frame is not None, timeout=20000)
        assert compare.frame.seeds == 2
    finally:
        compare.shutdown()
        compare.close()


def test_the_table_saves_as_csv_and_png(qtbot, window, tmp_path):
    window.train_steps(10)
    qtbot.waitUntil(lambda: window.frame.step == 10, timeout=20000)
    assert window.save_table(str(tmp_path / "t.csv")) is None
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].startswith("variant,seeds,test_accuracy_mean") and [l.split(",")[0] for l in lines[1:]] == ["relu", "tanh", "elu"]
    assert window.save_table(str(tmp_path / "t.png")) is None
    from PySide6.QtGui import QImage
    assert QImage(str(tmp_path / "t.png")).width() > 300
    assert "allowed: a .csv or a .png" in window.save_table(str(tmp_path / "t.txt"))
    assert "cannot write" in window.save_table(str(tmp_path / "missing" / "t.csv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.png"]


def test_the_speed_menu_is_what_the_worker_runs_at(qtbot, window):
    sent, send = [], window.worker._send
    window.worker._send = lambda command, value=None: (sent.append((command, value)), send(command, value))
    try:
        window.run_bar.speed.setCurrentIndex(0)  # "1 step/s"
    finally:
        window.worker._send = send
    assert sent == [("speed", window.run_bar.speed.itemData(0))]


def test_compare_window_fps_counts_frames_that_were_painted(qtbot):
    """bench's figure: frames shown and then painted while playing, with the GUI's time per frame."""
    from playground.ui.compare_bench import compare_window_fps
    from playground.ui.compare_window import CompareThreadWorker

    result = compare_window_fps(seconds=1.0, seeds=2, spec="activation=relu,tanh", warm_seconds=0.3,
                                size=(1024, 640), worker_class=CompareThreadWorker)
    assert result["networks"] == 4 and result["frames"] >= 1 and result["steps_per_s"] > 0
    assert result["drawn_fps"] == pytest.approx(result["frames"] / result["seconds"])
    assert 0 < result["show_ms_p50"] <= result["show_ms_p90"]


def test_chart_helpers():
    from playground.ui.compare_window import band_path, nice_ceiling, thinned

    assert [nice_ceiling(v) for v in (3, 10, 11, 149, 151, 999, 1001, 7000)] == [10, 10, 15, 150, 200, 1000, 1500, 8000]
    index = thinned(np.arange(1000), 400)
    assert len(index) <= 401 and index[0] == 0 and index[-1] == 999
    assert list(thinned(np.arange(5), 400)) == [0, 1, 2, 3, 4]
    x = np.array([0.0, 1.0, 2.0])
    path = band_path(x, np.array([0.5, np.nan, 0.6]), np.array([0.7, np.nan, 0.9]))  # row 1: every seed diverged
    rect = path.boundingRect()
    assert (rect.left(), rect.right(), rect.top(), rect.bottom()) == pytest.approx((0, 2, 0.5, 0.9))
    assert band_path(x, np.full(3, np.nan), np.full(3, np.nan)).isEmpty()


def test_it_opens_inside_the_screens_free_area(qtbot):
    # a fixed 1280 × 800 ran off a 1366 × 768 laptop's screen and cut the chart's axis off
    window = CompareWindow(EXPERIMENT, SPEC, seeds=2, grid_size=24)
    qtbot.addWidget(window)
    area = window.screen().availableGeometry()
    assert window.width() <= area.width() and window.height() <= area.height() - 40
    assert window.minimumHeight() <= window.height()
    window.shutdown()


def test_compare_paint_ms_times_every_frame_drawn(qtbot):
    """compare_bench's paint cost: the GUI thread's CPU time for each of the frames it drew."""
    from playground.ui.compare_bench import compare_paint_ms

    result = compare_paint_ms(frames=3, seeds=2, spec="activation=relu,tanh", size=(1024, 640), pace=0.0)
    assert result["frames"] == 3
    assert 0 < result["cpu_ms_p50"] <= result["cpu_ms_p90"]


def test_panel_titles_sit_in_their_row_above_the_pictures_at_any_size(qtbot, window):
    """The titles live outside the panels' layouts (a new text each frame must not lay the window
    out again): each still spans its panel's width, one line tall, right above the pictures."""
    for size in ((1280, 800), (1024, 640)):
        window.resize(*size)
        qtbot.wait(50)
        for panel in window.panels:
            title, boundary = panel.title.geometry(), panel.boundary.geometry()
            assert title.height() >= panel.title.fontMetrics().height()  # one line of its text
            assert title.bottom() + 1 == boundary.top() and title.left() == boundary.left()
            assert title.right() == panel.network.geometry().right()
            assert panel.title.minimumSize() == panel.title.maximumSize() == title.size()


def test_a_font_change_keeps_each_panels_title(qtbot, window):
    # the row's height is measured on a sample text: a paused window gets no new title to put back
    titles = [panel.title.text() for panel in window.panels]
    assert all("test acc." in text for text in titles)
    bigger = window.font()
    bigger.setPointSizeF(bigger.pointSizeF() * 1.35)
    for panel in window.panels:
        panel.setFont(bigger)
        panel._apply_font()
    assert [panel.title.text() for panel in window.panels] == titles
