"""Points you draw: clicks add the right classes, shift+click erases, undo restores, and training
goes on with the weights it had."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from playground.experiment import Experiment
from playground.training import Trainer
from conftest import WINDOW_GRID as GRID


@pytest.fixture
def window(make_window):
    return make_window(size=(1280, 800))


def click(qtbot, window, x, y, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    pos = window.drawer.widget_point(x, y)
    qtbot.mouseClick(window.boundary_view.graphics.viewport(), button, modifier, pos)


def points(window):
    return window.experiment.data.points


def test_clicks_add_classes_shift_erases_undo_restores_and_the_weights_stay(qtbot, window):
    window.train_steps(60)
    qtbot.waitUntil(lambda: window.snapshot.step == 60, timeout=10000)
    weights = [w.copy() for w, _ in window.snapshot.weights]
    window.set_drawing(True)
    n = len(window.drawer.points)
    assert n == 500  # it starts from the points the run trains on
    click(qtbot, window, 4.5, 4.5)
    click(qtbot, window, -4.5, 4.5, Qt.MouseButton.RightButton)
    assert len(points(window)) == n + 2
    (x1, y1, c1), (x2, y2, c2) = points(window)[-2:]
    assert c1 == 1 and c2 == 0
    assert abs(x1 - 4.5) < 0.1 and abs(y1 - 4.5) < 0.1 and abs(x2 + 4.5) < 0.1 and abs(y2 - 4.5) < 0.1
    qtbot.waitUntil(lambda: window.snapshot.experiment.data.points == points(window), timeout=10000)
    assert window.snapshot.step == 60  # not reset
    for w, before in zip((w for w, _ in window.snapshot.weights), weights):
        np.testing.assert_array_equal(w, before)  # the network keeps its weights
    assert len(window.snapshot.data.train_points) + len(window.snapshot.data.test_points) == n + 2

    click(qtbot, window, 4.5, 4.5, modifier=Qt.KeyboardModifier.ShiftModifier)
    assert len(points(window)) == n + 1 and all(abs(x - 4.5) > 0.3 or abs(y - 4.5) > 0.3 for x, y, _ in points(window))
    assert window.drawer.undo()
    assert len(points(window)) == n + 2 and points(window)[-2][2] == 1
    window.touch_action.trigger()  # touch pads: the left button draws class 0
    click(qtbot, window, 0.5, -5.0)
    assert points(window)[-1][2] == 0

    window.train_steps(50)  # training goes on, on the drawn data
    qtbot.waitUntil(lambda: window.snapshot.step == 110, timeout=10000)


def test_off_by_default_and_too_few_points_are_explained(qtbot, window):
    click(qtbot, window, 1.0, 1.0)
    assert window.experiment.data.points is None  # not drawing: clicks do nothing
    window.set_drawing(True)
    window.drawer.clear()
    assert "at least 10" in window.statusBar().currentMessage()
    for i in range(10):
        click(qtbot, window, -4 + i * 0.8, 0.0, Qt.MouseButton.LeftButton if i % 2 else Qt.MouseButton.RightButton)
    assert len(points(window)) == 10 and {c for _, _, c in points(window)} == {0, 1}


def test_replace_data_keeps_weights_optimiser_and_step():
    exp = Experiment.from_dict({"training": {"optimizer": "adam"}})
    trainer = Trainer(exp, grid_size=GRID)
    trainer.step(40)
    before = trainer.model.params.copy()
    rows = [[x, y, int(x * y > 0)] for x in np.linspace(-4, 4, 8) for y in np.linspace(-4, 4, 8)]
    assert trainer.replace_data(exp.with_field("data.points", rows)) == "data"
    np.testing.assert_array_equal(trainer.model.params, before)
    assert trainer.step_count == 40 and "m" in trainer._optimizer_state
    assert len(trainer.data.train_points) + len(trainer.data.test_points) == 64
    assert trainer.step(10) == 10 and not np.array_equal(trainer.model.params, before)
