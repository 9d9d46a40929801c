"""The training loop both workers share, driven directly: commands in, messages out (no Qt)."""

import os
import subprocess
import sys

import pytest

from playground import train_server
from playground.experiment import Experiment
from playground.session import TrainingSession


def drive(experiment, commands, until_idle=True):
    """Run a session on `commands`, then quit once it has nothing left to train; returns (session, messages)."""
    messages = []
    script = list(commands)
    session = TrainingSession(experiment, lambda kind, value: messages.append((kind, value)), grid_size=8)

    def receive(block):
        if script:
            return script.pop(0)
        if until_idle and session.busy:
            session.drawn.set()  # the window drew what it got
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
        session.drawn.set()
        return message

    session.run(receive)
    stopped = session.trainer.step_count
    assert stopped >= 300 and not session.playing
    assert ("running", True) in messages and messages[-1][0] == "snapshot" and messages[-1][1].step == stopped
    assert session.recorder.recording().frames[-1].step == stopped


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
