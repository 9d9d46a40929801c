"""The standalone views draw real snapshots offscreen (what the exporter relies on)."""

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from playground.experiment import Experiment
from playground.health import NeuronState
from playground.training import Trainer
from playground.ui import colors
from playground.ui.boundary_view import BoundaryView
from playground.ui.network_view import NetworkView


def _snapshot(experiment=None, steps=0, grid=40):
    trainer = Trainer(experiment or Experiment(), grid_size=grid)
    trainer.step(steps)
    return trainer.snapshot()


def _pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB32)
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine() // 4, 4)[:, :w, :3].copy()


def _dead_experiment():
    # bias -10 with ReLU: first-layer units with small weights never see z > 0 on the data
    return (Experiment().with_field("network.activation", "relu")
            .with_field("network.bias_init", -10.0).with_field("network.hidden", (4, 2)))


def test_boundary_view_draws_the_output_and_changes_with_training(qtbot):
    view = BoundaryView()
    qtbot.addWidget(view)
    view.resize(400, 360)
    view.show_snapshot(_snapshot())
    before = _pixels(view)
    view.show_snapshot(_snapshot(steps=400))
    after = _pixels(view)
    assert np.mean(np.any(before != after, axis=2)) > 0.02
    # both classes' colours are on screen somewhere (orange and blue dominate the plot)
    blue, orange = QColor(colors.BLUE), QColor(colors.ORANGE)
    flat = after.reshape(-1, 3)[:, ::-1]  # BGRA memory → RGB
    assert np.any(np.all(np.abs(flat - [blue.red(), blue.green(), blue.blue()]) < 30, axis=1))
    assert np.any(np.all(np.abs(flat - [orange.red(), orange.green(), orange.blue()]) < 30, axis=1))


def test_boundary_view_discretize_and_test_points(qtbot):
    view = BoundaryView()
    qtbot.addWidget(view)
    snapshot = _snapshot(steps=50)
    view.show_snapshot(snapshot)
    view.set_discretize(True)
    assert set(np.unique(view.image.image)) <= {0.0, 1.0}
    view.set_show_test(True)
    assert len(view.test_points.data) == len(snapshot.data.test_points)
    view.set_show_test(False)
    assert len(view.test_points.data) == 0


@pytest.mark.parametrize("editable", [True, False])
def test_network_view_draws_every_neuron(qtbot, editable):
    view = NetworkView(editable=editable)
    qtbot.addWidget(view)
    view.resize(700, 480)
    snapshot = _snapshot(Experiment().with_field("network.hidden", (5, 3)), steps=20)
    view.show_snapshot(snapshot)
    pixels = _pixels(view)
    assert pixels.std() > 10  # not blank
    rect = view.neuron_rect(1, 4)  # layer 1, neuron 5 exists and is on screen
    assert view.rect().contains(rect.center().toPoint())
    assert len(view._layout.rects) == 4  # inputs, 2 hidden, output


def test_dead_neurons_are_drawn_with_a_red_outline(qtbot):
    snapshot = _snapshot(_dead_experiment())
    dead = [k for k, s in enumerate(snapshot.states[0]) if s == NeuronState.DEAD]
    alive = [k for k, s in enumerate(snapshot.states[0]) if s != NeuronState.DEAD]
    assert dead, "the hand-made situation must have a dead first-layer unit"
    view = NetworkView(editable=False)
    qtbot.addWidget(view)
    view.resize(700, 480)
    view.show_snapshot(snapshot)
    pixels = _pixels(view)[:, :, ::-1]  # RGB
    red = np.array([0xE0, 0x00, 0x1B])

    def red_share(k):
        r = view.neuron_rect(1, k).adjusted(-2, -2, 2, 2).toRect()
        patch = pixels[r.top():r.bottom() + 1, r.left():r.right() + 1].reshape(-1, 3).astype(int)
        return np.mean(np.all(np.abs(patch - red) < 40, axis=1))

    assert all(red_share(k) > 0.05 for k in dead)
    assert all(red_share(k) < 0.01 for k in alive)


def test_hover_card_shows_state_and_weights(qtbot):
    snapshot = _snapshot(_dead_experiment())
    dead = int(np.flatnonzero(snapshot.states[0] == NeuronState.DEAD)[0])
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(700, 480)
    view.show()
    view.show_snapshot(snapshot)
    view.hover_neuron(1, dead)
    assert view.detail.isVisible()
    text = view.detail.text.text()
    assert "dead" in text and "incoming weights" in text and "bias: -10.000" in text


def test_network_view_architecture_edits_emit_field_changes(qtbot):
    view = NetworkView()
    qtbot.addWidget(view)
    view.show_snapshot(_snapshot(Experiment().with_field("network.hidden", (4, 2))))
    with qtbot.waitSignal(view.sigEdit) as blocker:
        view.controls.edit_units(0, +1)
    assert blocker.args == ["network.shape", ((5, 2), "tanh")]
    with qtbot.waitSignal(view.sigEdit) as blocker:
        view.controls.edit_activation(1, "relu")
    assert blocker.args == ["network.shape", ((4, 2), ("tanh", "relu"))]
    with qtbot.waitSignal(view.sigEdit) as blocker:
        view.controls.edit_layers(+1)
    assert blocker.args == ["network.shape", ((4, 2, 2), "tanh")]


def _on_screen(widget) -> np.ndarray:
    """What the widget's window shows now (the backing store as painted so far, not a fresh render)."""
    image = widget.screen().grabWindow(widget.winId()).toImage().convertToFormat(QImage.Format.Format_RGB32)
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine() // 4, 4)[:, :w, :3].copy()


def test_network_view_repaints_only_its_tiles_while_the_links_stay_and_shows_the_same_picture(qtbot):
    """A new snapshot under the same links repaints the tiles and marks only (issue 15: the whole view
    was the longest task of a frame); what the window then shows equals a full redraw."""
    view = NetworkView(editable=False)
    qtbot.addWidget(view)
    view.resize(520, 380)
    view.links_interval = 3600.0  # the links stay while the tiles change
    relu = Experiment().with_field("network.activation", "relu").with_field("network.hidden", (6, 4))
    first, later = _snapshot(relu, steps=0), _snapshot(relu, steps=300)
    view.show_snapshot(first)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view._painted_under is not None)
    region = view._changed_region(later)
    assert region != view.rect()
    for rects in view._layout.rects:
        for rect in rects:
            assert region.contains(rect.toAlignedRect())
    assert region.width() * region.height() < 0.9 * view.width() * view.height()  # header, labels and legend left out
    view.show_snapshot(later)
    qtbot.wait(50)  # the partial repaint happens
    assert (_on_screen(view) == _pixels(view)).all()
    view.links_interval = 0.0  # links due again: all of it
    assert view._changed_region(later) == view.rect()


def test_window_links_are_redrawn_every_other_frame_in_steps_and_caught_up_when_training_stops(qtbot):
    """Issue 15: on a busy machine (5-8 frames/s) the 0.1 s interval alone redrew the links every
    frame; now at most every LINKS_EVERY_FRAMES snapshots, and only by prepare_links' steps while
    the window trains; the timer brings them to the last snapshot once training stops."""
    from playground.ui.network_view import LINKS_EVERY_FRAMES

    assert LINKS_EVERY_FRAMES == 2
    view = NetworkView(editable=False)
    qtbot.addWidget(view)
    view.resize(520, 380)
    view.links_interval = 1e-9  # the frame count alone decides
    relu = Experiment().with_field("network.activation", "relu").with_field("network.hidden", (6, 4))
    trainer = Trainer(relu, grid_size=20)
    snapshots = []
    for _ in range(6):
        trainer.step(20)
        snapshots.append(trainer.snapshot())
    view.show_snapshot(snapshots[0])
    _pixels(view)  # painted once: links for snapshot 0, drawn after it was shown
    assert view._links[1] is snapshots[0]
    drew = []
    for snapshot in snapshots[1:5]:  # as the window: the links' steps first, then the frame
        steps = view.prepare_links(snapshot)
        for step in steps:
            step()
        drew.append(bool(steps))
        view.show_snapshot(snapshot)
        _pixels(view)  # a paint in between never redraws them itself
    assert drew == [False, False, True, False]  # then every other frame
    assert view._links[1] is snapshots[3]
    view._catch_up_links()  # the timer: training has stopped
    _pixels(view)
    assert view._links[1] is snapshots[4]
