"""Training in a child process behind TrainingWorker's API: same signals, same handshake, clean exit."""

import numpy as np
import pytest

from playground import train_server
from playground.experiment import Experiment
from playground.ui.process_worker import ProcessTrainingWorker


@pytest.fixture
def worker(start_worker):
    worker = ProcessTrainingWorker(Experiment(), grid_size=20)
    worker.seen = start_worker(worker)
    yield worker
    worker.stop()
    assert not worker.isRunning() and worker._child.process.poll() is not None  # no child left behind


def test_steps_plays_pauses_resets_and_applies(qtbot, worker):
    seen = worker.seen
    assert seen[-1].step == 0
    with pytest.raises(ValueError):  # arrays arrive read-only, as a snapshot made in-process
        seen[-1].output_grid[0, 0] = 1.0
    with qtbot.waitSignal(worker.sigSnapshot, timeout=10000, check_params_cb=lambda s: s.step == 5):
        worker.step(5)
    with qtbot.waitSignal(worker.sigRunning, timeout=5000):
        worker.play()
    qtbot.wait(500)
    with qtbot.waitSignal(worker.sigRunning, timeout=5000):
        worker.pause()
    qtbot.waitUntil(lambda: seen[-1].step > 100, timeout=10000)
    during = [s for s in seen if s.step > 5]
    assert len(during) <= 0.5 * 30 + 5  # throttled at the source: at most ~30 snapshots a second
    with qtbot.waitSignal(worker.sigSnapshot, timeout=5000, check_params_cb=lambda s: s.step == 0):
        worker.reset()
    with qtbot.waitSignal(worker.sigApplied, timeout=5000) as applied:
        worker.apply(Experiment().with_field("training.learning_rate", 0.1))
    assert applied.args == ["hot"] and np.isfinite(seen[-1].train_loss)


def test_recorder_hands_over_the_childs_recording(qtbot, worker):
    with qtbot.waitSignal(worker.sigSnapshot, timeout=10000, check_params_cb=lambda s: s.step == 30):
        worker.step(30)
    recording = worker.recorder.recording()
    assert [f.step for f in recording.frames][-1] == 30 and recording.data is not None


def test_single_steps_off_the_recording_schedule_are_recorded(qtbot, worker):
    """Three presses of Step: an export must be able to end at step 3, not find nothing."""
    for target in (1, 2, 3):
        with qtbot.waitSignal(worker.sigSnapshot, timeout=10000, check_params_cb=lambda s, t=target: s.step == t):
            worker.step(1)
    assert [f.step for f in worker.recorder.recording().frames] == [0, 1, 2, 3]


def test_divergence_pauses_in_the_child(qtbot):
    experiment = Experiment.from_dict({"network": {"hidden": [32] * 8, "activation": "relu", "init_gain": 2.0},
                                       "training": {"learning_rate": 0.05, "batch_size": 32}})
    worker = ProcessTrainingWorker(experiment, grid_size=10)
    worker.sigSnapshot.connect(lambda s: worker.snapshot_drawn())
    try:
        with qtbot.waitSignal(worker.sigSnapshot, timeout=30000):
            worker.start()
        with qtbot.waitSignal(worker.sigSnapshot, timeout=10000, check_params_cb=lambda s: s.diverged):
            worker.play()
    finally:
        worker.stop()


def test_freeze_marks_nested_arrays_read_only():
    value = {"a": (np.zeros(2), [np.ones(1)])}
    train_server.freeze(value)
    assert not value["a"][0].flags.writeable and not value["a"][1][0].flags.writeable


def test_a_training_process_that_dies_is_started_again_and_the_window_told(qtbot, worker):
    lr = Experiment().with_field("training.learning_rate", 0.1)
    with qtbot.waitSignal(worker.sigApplied, timeout=10000):
        worker.apply(lr)
    worker.step(20)
    qtbot.waitUntil(lambda: worker.seen[-1].step == 20, timeout=10000)
    errors = []
    worker.sigError.connect(errors.append)
    first = worker._child.process
    first.kill()  # as a crash in compiled code would end it
    qtbot.waitUntil(lambda: bool(errors) and worker.seen[-1].step == 0 and worker._child.process is not first,
                    timeout=30000)
    assert "stopped unexpectedly (exit code -9) and was started again" in errors[0]
    assert worker.seen[-1].experiment.training.learning_rate == 0.1  # the latest experiment, not the first
    with qtbot.waitSignal(worker.sigSnapshot, timeout=10000, check_params_cb=lambda s: s.step == 3):
        worker.step(3)  # and it trains
