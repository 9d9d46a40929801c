"""The window's training loop (run in its child process), driven directly: commands in, messages
out (no Qt). Its pacing is checked on a counted clock, never on the wall clock."""

import os
import subprocess
import sys

import pytest

from playground import train_server
from playground.experiment import Experiment
from playground.session import MAX_FPS, TrainingSession


def drive(experiment, commands, until_idle=True):
    """Run a session on `commands`, then quit once it has nothing left to train; returns (session, messages)."""
    messages = []
    script = list(commands)
    session = TrainingSession(experiment, lambda kind, value: messages.append((kind, value)), grid_size=8)

    def receive(block):
        if script:
            return script.pop(0)
        if until_idle and session.busy:
            session.drawn = True  # the window drew what it got
            return None
        return ("quit", None)

    session.run(receive)
    return session, messages


def snapshots(messages):
    return [value for kind, value in messages if kind == "snapshot"]


def test_steps_are_exact_and_the_last_one_is_shown_and_recorded():
    session, messages = drive(Experiment(), [("step", 25), ("step", 5)])
    assert session.trainer.step_count == 30
    assert snapshots(messages)[0].step == 0 and snapshots(messages)[-1].step == 30
    assert session.recorder.recording().frames[-1].step == 30


def test_play_trains_until_paused_and_pause_records_where_it_stopped():
    messages = []
    session = TrainingSession(Experiment(), lambda kind, value: messages.append((kind, value)), grid_size=8)

    def commands():
        yield ("play", None)
        while session.trainer.step_count < 300:
            yield None
        yield ("pause", None)

    script = commands()

    def receive(block):
        message = next(script, ("quit", None))
        session.drawn = True
        return message

    session.run(receive)
    stopped = session.trainer.step_count
    assert stopped >= 300 and not session.playing
    assert ("running", True) in messages and ("running", False) in messages
    # the answer to pause: that step's snapshot, then the step itself, and nothing after
    (kind, last), answer = messages[-2], messages[-1]
    assert kind == "snapshot" and last.step == stopped and answer == ("paused", stopped)
    assert session.recorder.recording().frames[-1].step == stopped


class CountedClock:
    """A clock that moves only when told: by sleep(), and by `per_step` seconds for each step trained."""

    def __init__(self, per_step: float = 0.0):
        self.now, self.per_step, self.sleeps = 0.0, per_step, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def play_for(seconds, *, speed=None, per_step=0.0, draws=True):
    """Play the default experiment for `seconds` of a counted clock; returns (session, messages, clock).
    draws: the window acknowledges every snapshot as drawn (else it never does)."""
    messages, clock = [], CountedClock(per_step)
    session = TrainingSession(Experiment(), lambda kind, value: messages.append((kind, value)), grid_size=8,
                              clock=clock, sleep=clock.sleep)
    train = session.recorder.train

    def timed_train(trainer, n):  # training takes per_step of the counted clock per step
        done = train(trainer, n)
        clock.now += done * clock.per_step
        return done

    session.recorder.train = timed_train
    script = [("speed", speed), ("play", None)]

    def receive(block):
        if script:
            return script.pop(0)
        if clock.now >= seconds:
            return ("quit", None)
        if draws and not session.drawn:
            return ("drawn", None)
        return None

    session.run(receive)
    return session, messages, clock


def test_a_paced_run_trains_at_the_asked_speed():
    session, messages, clock = play_for(2.0, speed=20.0)
    assert session.trainer.step_count == 40  # 20 steps/s for 2 s of the clock, one step a chunk
    assert clock.sleeps[:3] == [pytest.approx(0.05)] * 3  # each step's share of the second, slept
    faster, _, clock = play_for(2.0, speed=500.0)
    # 17 steps a chunk (500 steps/s over 30 frames), each followed by its 34 ms: exactly 500 steps/s
    assert faster.trainer.step_count == 1003 and faster.trainer.step_count / clock.now == pytest.approx(500.0)


def test_snapshots_go_out_at_most_max_fps_and_only_once_the_last_is_drawn():
    # 0.5 ms a step: chunks of 16 steps (8 ms), 250 chunks in 2 s of the clock
    session, messages, clock = play_for(2.0, per_step=0.0005)
    sent = snapshots(messages)
    assert session.trainer.step_count / clock.now == pytest.approx(2000.0) and clock.now < 2.01
    steps = [s.step for s in sent]
    assert MAX_FPS <= len(sent) <= 2 * MAX_FPS + 1  # not every chunk's (250): about a frame apart
    assert min(b - a for a, b in zip(steps, steps[1:])) >= 2000 / MAX_FPS  # never two within 1/MAX_FPS s
    _, undrawn, _ = play_for(2.0, per_step=0.0005, draws=False)
    assert [s.step for s in snapshots(undrawn)] == [0]  # the window never drew the first: no more sent


def test_a_bad_command_is_reported_and_the_loop_goes_on():
    session, messages = drive(Experiment(), [("fly", None), ("step", 3)])
    assert ("error", "ValueError: unknown command 'fly'") in messages
    assert session.trainer.step_count == 3


def test_a_diverging_run_pauses_itself_and_says_so_in_its_snapshot():
    exploding = Experiment.load("resources/experiments/exploding.json")
    session, messages = drive(exploding, [("play", None)])
    assert [value for kind, value in messages if kind == "running"] == [True, False]
    last = snapshots(messages)[-1]
    assert last.diverged and "diverged" in last.message
    messages.clear()
    session.handle("play")  # nothing left to train: the play button is put back
    assert messages == [("running", False)] and not session.playing


def test_a_recording_request_includes_the_step_on_screen():
    session, messages = drive(Experiment(), [("step", 7)])
    session.trainer.step(2)  # as if trained past the last recorded frame, off the every-10 schedule
    session.handle("recording", None)
    recording = [value for kind, value in messages if kind == "recording"][-1]
    assert [frame.step for frame in recording.frames] == [0, 7, 9]


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no nice on this OS")
def test_the_training_child_runs_at_a_lower_priority_than_the_window():
    # in a process of its own: nice cannot be undone
    code = ("import os; from playground import train_server as t; before = os.nice(0); t.lower_priority(); "
            "after = os.nice(0); os.environ['PLAYGROUND_TRAINING_NICENESS'] = '0'; t.lower_priority(); "
            "print(after - before, os.nice(0) - after)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True,
                         env={**os.environ, "PLAYGROUND_TRAINING_NICENESS": ""})
    lowered, again = map(int, out.stdout.split())
    assert lowered == min(train_server.CHILD_NICENESS, 19 - os.nice(0)) > 0
    assert again == 0  # PLAYGROUND_TRAINING_NICENESS=0: left alone
