"""The window's worker: training in a child process, its signals, the drawn handshake, clean exit,
restarts. How often snapshots go out is the session's (test_session, on a counted clock)."""

import os
import signal

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
    qtbot.waitUntil(lambda: seen[-1].step > 100, timeout=10000)
    with qtbot.waitSignal(worker.sigPaused, timeout=5000) as paused:
        worker.pause()
    stopped = paused.args[0]
    assert stopped > 100 and seen[-1].step == stopped  # its snapshot came first, nothing after it
    with qtbot.waitSignal(worker.sigSnapshot, timeout=5000) as again:
        worker.request_snapshot()
    assert again.args[0].step == stopped  # paused: it stays there
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
                                       "training": {"learning_rate": 0.05, "batch_size": 32, "loss": "bce"}})
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
    assert "stopped unexpectedly (exit code -9); starting it again in 0.5 s (attempt 1 of 5)" in errors[0]
    assert worker.seen[-1].experiment.training.learning_rate == 0.1  # the latest experiment, not the first
    with qtbot.waitSignal(worker.sigSnapshot, timeout=10000, check_params_cb=lambda s: s.step == 3):
        worker.step(3)  # and it trains


def _kill_and_recover(qtbot, worker, how=signal.SIGKILL, timeout=30000):
    """End the child (or freeze it), then wait until a new one trains: returns the error text."""
    errors = []
    worker.sigError.connect(errors.append)
    first = worker._child.process
    os.kill(first.pid, how)
    qtbot.waitUntil(lambda: worker._child.process is not first and worker.seen[-1].step == 0 and bool(errors),
                    timeout=timeout)
    target = 3
    with qtbot.waitSignal(worker.sigSnapshot, timeout=20000, check_params_cb=lambda s: s.step == target):
        worker.step(target)
    worker.sigError.disconnect(errors.append)
    return errors[0]


def test_a_child_crashing_five_times_recovers_each_time_then_gives_up_visibly(qtbot, worker):
    worker.restart_delays_s = (0.05, 0.1, 0.2, 0.4, 0.8)  # the doubling, shortened
    worker.stable_s = 1e9  # no stable period between: five in a row
    recovered = []
    worker.sigRecovered.connect(lambda: recovered.append(True))
    for attempt in range(1, 6):
        text = _kill_and_recover(qtbot, worker)
        delay = worker.restart_delays_s[attempt - 1]
        assert f"stopped unexpectedly (exit code -9); starting it again in {delay:g} s (attempt {attempt} of 5)" in text
    assert len(recovered) == 5
    running = []
    worker.sigRunning.connect(running.append)
    with qtbot.waitSignal(worker.sigStopped, timeout=30000) as stopped:
        worker._child.process.kill()  # the sixth in a row
    assert stopped.args[0].startswith("Training has stopped: the training process stopped unexpectedly "
                                      "(exit code -9), 6 times in a row.")
    assert running and running[-1] is False  # Play is released
    qtbot.waitUntil(lambda: not worker.isRunning(), timeout=10000)
    assert worker.gave_up
    with qtbot.waitSignal(worker.sigRunning, timeout=5000, check_params_cb=lambda playing: playing is False):
        worker.play()  # nothing can train: Play is released at once, not left pressed
    with qtbot.waitSignal(worker.sigSnapshot, timeout=30000, check_params_cb=lambda s: s.step == 0):
        worker.retry()  # the window's "Try again"
    assert not worker.gave_up
    with qtbot.waitSignal(worker.sigSnapshot, timeout=20000, check_params_cb=lambda s: s.step == 4):
        worker.step(4)


def test_a_stable_period_resets_the_count(qtbot, worker):
    worker.restart_delays_s = (0.05,)  # one restart in a row allowed
    worker.stable_s = 1.0
    _kill_and_recover(qtbot, worker)
    qtbot.wait(1500)  # ran stably: the next crash is a new one, not the same one again
    text = _kill_and_recover(qtbot, worker)
    assert "(attempt 1 of 1)" in text and not worker.gave_up


def test_a_child_that_stops_responding_is_restarted_with_a_message(qtbot, worker):
    worker.stall_timeout_s = 3.0
    qtbot.waitUntil(lambda: worker.heartbeat_at is not None, timeout=60000)  # the short limit is in force
    frozen = worker._child.process
    try:
        text = _kill_and_recover(qtbot, worker, how=signal.SIGSTOP, timeout=40000)
    finally:
        if frozen.poll() is None:
            frozen.kill()
    assert text.startswith("the training process stopped responding (no sign of life for 3 s); starting it again")
    assert frozen.wait(5) == -signal.SIGKILL


def test_a_child_that_dies_before_calling_back_is_reported_at_once(qtbot, monkeypatch):
    """No minute-long wait for a child that could not even start."""
    import sys
    import time

    monkeypatch.setattr(train_server, "child_command", lambda: [sys.executable, "-c", "raise SystemExit(3)"])
    worker = ProcessTrainingWorker(Experiment(), grid_size=10)
    worker.restart_delays_s = (0.05,)
    started = time.monotonic()
    try:
        with qtbot.waitSignal(worker.sigStopped, timeout=20000) as stopped:
            worker.start()
    finally:
        worker.stop()
    assert "did not start (exit code 3), 2 times in a row" in stopped.args[0]
    assert time.monotonic() - started < 15


def test_the_window_process_returns_freed_heap_while_the_child_trains(qtbot, worker, monkeypatch):
    """The relay trims the window's heap every TRIM_EVERY_S (memory that only grew: train_server)."""
    trims = []
    monkeypatch.setattr(train_server, "TRIM_EVERY_S", 0.5)
    monkeypatch.setattr(train_server, "trim_free_memory", lambda: trims.append(1) or True)
    qtbot.waitUntil(lambda: len(trims) >= 2, timeout=30000)


def test_trim_free_memory_gives_freed_pages_back(tmp_path):
    """Free 40 MB of small blocks (below the raised mmap threshold: they stay in the heap) and trim."""
    import sys

    if not sys.platform.startswith("linux"):
        assert train_server.trim_free_memory() is False
        return

    def rss_mb():
        return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS")) / 1024

    blocks = [bytearray(b"x" * 4096) for _ in range(10_000)]  # ~40 MB in 4 KB blocks, touched
    held = rss_mb()
    del blocks
    train_server.trim_free_memory()
    assert rss_mb() < held - 20  # most of it went back


def test_a_worker_never_started_starts_no_process():
    """The exporter's display window has a worker it never starts: no training process for it."""
    worker = ProcessTrainingWorker(Experiment(), grid_size=10)
    worker.set_speed(20.0)  # held until a child calls back
    worker.stop()
    assert worker._child is None and not worker.isRunning()


def test_a_child_writing_a_snapshot_nobody_reads_ends_on_quit_without_being_killed():
    """Closing the window while a snapshot is on its way: the child still ends by itself.

    Its sender was blocked writing a 2 MB snapshot the window no longer read, and the child waited
    for it 5 s before ending, so closing the window took the whole 5 s and then killed it (seen as
    5 s teardowns in the window tests). The parent now hangs up first; "quit" stays readable."""
    from playground.bench import experiment

    child = train_server.Child(experiment("c3"), grid_size=100, record_every=10)  # ~2 MB snapshots
    try:
        conn = child.accept()
        assert conn is not None
        while conn.recv()[0] != "alive":  # past the kernel's loading: the child reads its commands
            pass
        for _ in range(4):  # far more than a socket holds, and nobody reads them
            conn.send(("snapshot", None))
        conn.send(("quit", None))
        child.close(timeout=3.0)  # the sender's 5 s wait would outlast this: killed, -9
        assert child.process.returncode == 0
    finally:
        if child.process.poll() is None:
            child.process.kill()
