"""TrainingSession: the window's training loop, one Trainer steered by commands (no Qt here).

It runs in the training child process (train_server.py), which pickles its messages up a pipe to
the window's worker (ui/process_worker.py); the tests drive it directly.

Commands in, as (command, argument): play, pause, step n, reset, apply experiment, speed steps/s
(None: as fast as it goes), snapshot, drawn, recording history, run_state, restore_run (experiment,
state), quit.
Messages out, through send(kind, value): snapshot Snapshot · running bool · paused step (the answer
to pause, after that step's snapshot) · applied "hot"/"model"/"data" · error text · status text
("" clears it) · rate steps/s · recording Recording · run_state (experiment, Trainer.state()).

Training runs in chunks sized to take about CHUNK_SECONDS, so commands are seen within ~10 ms. A
snapshot goes out at most MAX_FPS times a second and only once the window has drawn the previous
one (newest wins, no backlog).
"""

from __future__ import annotations

import time

from . import kernel
from .plane import DEFAULT_GRID
from .recording import Recorder
from .training import Trainer

MAX_FPS = 30  # snapshots per second, at most
CHUNK_SECONDS = 0.008  # a chunk of steps takes about this long: commands are seen within ~10 ms
MAX_CHUNK = 5000
RECORD_EVERY = 10  # record every 10th step for File → Export (measured: ~free; every step costs ~45 %)


class TrainingSession:
    """One Trainer and its Recorder, the play/step/speed state, and the loop (run)."""

    def __init__(self, experiment, send, *, grid_size: int = DEFAULT_GRID, recorder: Recorder | None = None,
                 clock=time.perf_counter, sleep=time.sleep):
        """send(kind, value) carries messages out. clock() (seconds) and sleep(seconds) pace the
        loop: the frame rate, the chunk size and the asked-for speed (tests give a counted clock)."""
        self.send = send
        self.trainer = Trainer(experiment, grid_size=grid_size)
        self.recorder = recorder if recorder is not None else Recorder(every=RECORD_EVERY)
        self.clock, self.sleep = clock, sleep
        self.playing = False
        self.speed: float | None = None  # steps per second, None = as fast as it goes
        self.pending = 0  # steps asked for while paused
        self.chunk = 16
        self.drawn = True  # the window has drawn the last snapshot ("drawn"): another may go out

    # ---- the loop ------------------------------------------------------------------------------
    def run(self, receive) -> None:
        """Until "quit" or the window goes away. receive(block) gives the next (command, argument) or
        None; with block it may wait a little (~0.1 s) for one. EOFError/OSError mean the window is gone."""
        self.emit(force=True)
        # compile (or load from numba's cache) the training kernel now, while the window shows the
        # first picture, rather than when the user first presses play; the health probe's passes
        # compile after it, beside the first steps (kernel.CompiledEngine's probes_later)
        kernel.prepare(lambda text: self.send("status", text), probes_later=True)
        last_emit = self.clock()
        rate_steps, rate_start = 0, self.clock()
        while True:
            try:
                message = receive(not self.busy)  # idle: wait for a command
                while message is not None:
                    if not self.handle(*message):
                        return
                    message = receive(False)
            except (EOFError, OSError):  # the window went away
                return
            except Exception as error:  # keep the window alive whatever the core does
                self.send("error", f"{type(error).__name__}: {error}")
                continue
            if not self.busy:
                continue
            started = self.clock()
            n = self.chunk_size()
            try:
                done = self.recorder.train(self.trainer, n)  # steps, recording due frames
            except Exception as error:  # a bug in the core must not take the window down
                self.set_playing(False)
                self.pending = 0
                self.send("error", f"training stopped: {type(error).__name__}: {error}")
                continue
            now = self.clock()
            if self.speed is None and done == n:  # adapt the chunk to about CHUNK_SECONDS
                self.chunk = int(min(MAX_CHUNK, max(1, CHUNK_SECONDS / max((now - started) / max(done, 1), 1e-7))))
            if self.pending > 0:
                self.pending = max(0, self.pending - done)
            rate_steps += done
            if now - rate_start > 0.5:
                self.send("rate", rate_steps / (now - rate_start))
                rate_steps, rate_start = 0, now
            if self.trainer.diverged:
                self.set_playing(False)
                self.pending = 0
                self.emit(force=True)
                continue
            finished = self.pending == 0 and not self.playing
            if finished:  # single steps too: an export ends where the user stopped
                self.recorder.record(self.trainer, force=True)
            if finished or (now - last_emit >= 1.0 / MAX_FPS and self.drawn):
                self.emit(force=finished)
                last_emit = now
            if self.speed is not None and self.playing:  # pace to the requested steps/s
                self.sleep(max(0.0, done / self.speed - (self.clock() - started)))

    @property
    def busy(self) -> bool:
        return self.playing or self.pending > 0

    def chunk_size(self) -> int:
        if self.speed is not None and self.playing:
            n = max(1, int(round(self.speed / MAX_FPS)))  # about one chunk a frame at the asked pace
        else:
            n = self.chunk
        if self.pending > 0 and not self.playing:
            n = min(n, self.pending)  # never more than asked for
        return n

    # ---- commands ------------------------------------------------------------------------------
    def handle(self, command: str, arg=None) -> bool:
        """One command; False means quit."""
        trainer = self.trainer
        if command == "quit":
            return False
        if command == "play":
            if not trainer.diverged:
                self.set_playing(True)
            else:  # nothing to train: put the window's play button back
                self.send("running", False)
        elif command == "pause":
            self.set_playing(False)
            self.pending = 0
            self.recorder.record(trainer, force=True)  # an export ends where the user paused
            self.emit(force=True)
            self.send("paused", trainer.step_count)  # after its snapshot: nothing trained follows it
        elif command == "step":
            if not trainer.diverged:
                self.pending += arg
            else:
                self.emit(force=True)
        elif command == "reset":
            trainer.reset()
            self.pending = 0
            self.emit(force=True)
        elif command == "apply":
            self.send("applied", trainer.apply(arg))
            self.emit(force=True)
        elif command == "speed":
            self.speed, self.chunk = arg, 16
        elif command == "snapshot":
            self.emit(force=True)
        elif command == "drawn":
            self.drawn = True
        elif command == "points":  # drawn points: new data, the same weights (Trainer.replace_data)
            self.send("applied", trainer.replace_data(arg))
            self.emit(force=True)
        elif command == "run_state":  # File → Save run (runfile.py): everything to resume from here
            self.send("run_state", (trainer.experiment, trainer.state()))
        elif command == "restore_run":  # File → Open a run: (experiment, Trainer.state()), already checked
            self.set_playing(False)
            self.pending = 0
            experiment, state = arg
            self.trainer = Trainer(experiment, grid_size=trainer.grid_size, engine=trainer.engine)
            self.trainer.restore(state)
            self.recorder.clear()  # frames of the run before are not this one's
            self.emit(force=True)
        elif command == "recording":
            self.recorder.record(trainer, force=True)  # include the step on screen, even off the schedule
            self.send("recording", self.recorder.recording(arg))
        else:
            raise ValueError(f"unknown command {command!r}")
        return True

    def set_playing(self, playing: bool) -> None:
        if playing != self.playing:
            self.playing = playing
            self.send("running", playing)

    def emit(self, force: bool = False) -> None:
        """A snapshot out, if the window has drawn the last one (or force)."""
        if force or self.drawn:
            self.drawn = False
            self.send("snapshot", self.trainer.snapshot())
