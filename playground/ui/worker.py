"""TrainingWorker: the only place where Qt meets the Trainer. It owns the Trainer on its own thread.

The GUI steers it through a thread-safe command queue (it has no event loop of its own while it
trains) and receives immutable Snapshots through sigSnapshot. Training runs in chunks sized to take
about CHUNK_SECONDS, the queue is checked between chunks, and a snapshot goes out at most
MAX_FPS times a second and only once the GUI has drawn the previous one (newest wins; no backlog).
"""

from __future__ import annotations

import queue
import threading
import time

from PySide6.QtCore import QThread, Signal

from .. import kernel
from ..experiment import Experiment
from ..recording import Recorder
from ..training import Trainer

MAX_FPS = 30  # snapshots per second, at most
MIN_FPS = 8  # ... and at least, while training (slow frames lower the rate down to this)
CHUNK_SECONDS = 0.008  # a chunk of steps takes about this long: commands are seen within ~10 ms
MAX_CHUNK = 5000
RECORD_EVERY = 10  # record every 10th step for File → Export (measured: ~free; every step costs ~45 %)
DRAW_WAIT = 0.05  # s: the most the worker waits for the GUI to draw a snapshot before going on


class TrainingWorker(QThread):
    """Runs a Trainer on its own thread (run()). Every public method is safe to call from the GUI.

    A QThread subclass with run() rather than moveToThread: the loop never returns to an event loop
    while training, so there is nothing for queued slots to run in; commands go through the queue,
    and signals emitted from run() reach GUI objects as queued calls.
    """

    sigSnapshot = Signal(object)  # Snapshot
    sigRunning = Signal(bool)  # playing or not (the worker pauses itself when a run diverges)
    sigApplied = Signal(str)  # "hot", "model" or "data": how the last experiment change was taken
    sigError = Signal(str)  # an unexpected failure in the trainer, in words (the worker keeps going)
    sigStatus = Signal(str)  # a passing note for the status bar ("" clears it)

    def __init__(self, experiment: Experiment, grid_size: int = 100):
        super().__init__()
        self._experiment = experiment
        self._grid_size = grid_size
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._drawn = threading.Event()  # the GUI has drawn the last snapshot: another may go out
        self._drawn.set()
        self.setObjectName("training")
        # Worker state: touched only on the worker thread.
        self._trainer: Trainer | None = None
        self._playing = False
        self._speed: float | None = None  # steps per second, None = as fast as it goes
        self._pending_steps = 0  # single steps / "train N steps" requested while paused
        self._chunk = 16
        self.steps_per_second = 0.0  # measured while playing (read by the GUI for display only)
        # Fed on this thread, read by the exporter from any (Recorder.recording() takes a lock).
        self.recorder = Recorder(every=RECORD_EVERY)

    # ---- GUI thread API ------------------------------------------------------------------------
    def stop(self, timeout_ms: int = 5000) -> None:
        """Finish the current chunk and end the thread."""
        self._commands.put(("quit", None))
        self.wait(timeout_ms)

    def play(self) -> None:
        self._commands.put(("play", None))

    def pause(self) -> None:
        self._commands.put(("pause", None))

    def step(self, n: int = 1) -> None:
        """Train n steps (then stop), whether playing or not."""
        self._commands.put(("step", int(n)))

    def reset(self) -> None:
        self._commands.put(("reset", None))

    def apply(self, experiment: Experiment) -> None:
        self._commands.put(("apply", experiment))

    def set_speed(self, steps_per_second: float | None) -> None:
        self._commands.put(("speed", steps_per_second))

    def request_snapshot(self) -> None:
        self._commands.put(("snapshot", None))

    def snapshot_drawn(self) -> None:
        """The GUI calls this after drawing a snapshot, so the next one may be made."""
        self._drawn.set()

    # ---- worker thread -------------------------------------------------------------------------
    def run(self) -> None:  # Qt override: the worker thread's body
        self._trainer = Trainer(self._experiment, grid_size=self._grid_size)
        self._emit(force=True)
        kernel.prepare(self.sigStatus.emit)  # compile the training kernel now, not at the first play
        last_emit = time.perf_counter()
        frame_interval = 1.0 / MAX_FPS
        rate_steps, rate_start = 0, time.perf_counter()
        while True:
            busy = self._playing or self._pending_steps > 0
            try:
                if not self._handle_commands(block=not busy):
                    return
            except Exception as error:  # keep the window alive whatever the core does
                self.sigError.emit(f"{type(error).__name__}: {error}")
                continue
            if not (self._playing or self._pending_steps > 0):
                continue
            started = time.perf_counter()
            n = self._chunk_size()
            try:
                done = self.recorder.train(self._trainer, n)  # steps, recording due frames
            except Exception as error:  # a bug in the core must not take the window down
                self._set_playing(False)
                self._pending_steps = 0
                self.sigError.emit(f"training stopped: {type(error).__name__}: {error}")
                continue
            took = time.perf_counter() - started
            if self._speed is None and done == n:  # adapt the chunk to about CHUNK_SECONDS
                per_step = took / max(done, 1)
                self._chunk = int(min(MAX_CHUNK, max(1, CHUNK_SECONDS / max(per_step, 1e-7))))
            if self._pending_steps > 0:
                self._pending_steps = max(0, self._pending_steps - done)
            rate_steps += done
            now = time.perf_counter()
            if now - rate_start > 0.5:
                self.steps_per_second = rate_steps / (now - rate_start)
                rate_steps, rate_start = 0, now
            if self._trainer.diverged:
                self._set_playing(False)
                self._pending_steps = 0
                self._emit(force=True)
                continue
            finished = self._pending_steps == 0 and not self._playing
            if finished:  # single steps too: an export ends where the user stopped
                self.recorder.record(self._trainer, force=True)
            if finished or (now - last_emit >= frame_interval and self._drawn.is_set()):
                self._emit(force=finished)
                last_emit = now
                # Step aside while the GUI draws it. Drawing is many short Python↔Qt calls, and each
                # one waits for the GIL (up to the 5 ms switch interval) while this thread is busy:
                # measured, a frame took ~200 ms with the worker running and ~15 ms without.
                waited = time.perf_counter()
                self._drawn.wait(DRAW_WAIT)
                waited = time.perf_counter() - waited
                # Slow frames (big nets, a busy machine) come less often, so waiting stays at about a
                # third of the time, but never fewer than MIN_FPS: the picture must stay alive.
                frame_interval = min(max(1.0 / MAX_FPS, 2 * waited), 1.0 / MIN_FPS)
            if self._speed is not None and self._playing:  # pace to the requested steps/s
                time.sleep(max(0.0, done / self._speed - (time.perf_counter() - started)))

    def _chunk_size(self) -> int:
        if self._speed is not None and self._playing:
            # about one chunk per frame at the requested pace, and never more than asked for
            n = max(1, int(round(self._speed / MAX_FPS)))
        else:
            n = self._chunk
        if self._pending_steps > 0 and not self._playing:
            n = min(n, self._pending_steps)
        return n

    def _handle_commands(self, block: bool) -> bool:
        """Run queued commands; False means quit. Blocks for the first one when idle."""
        while True:
            try:
                command, arg = self._commands.get(timeout=0.1) if block else self._commands.get_nowait()
            except queue.Empty:
                return True
            block = False
            if command == "quit":
                return False
            if command == "play":
                if not self._trainer.diverged:
                    self._set_playing(True)
                else:  # nothing to train: put the GUI's play button back
                    self.sigRunning.emit(False)
            elif command == "pause":
                self._set_playing(False)
                self._pending_steps = 0
                self.recorder.record(self._trainer, force=True)  # an export ends where the user paused
                self._emit(force=True)
            elif command == "step":
                if not self._trainer.diverged:
                    self._pending_steps += arg
                else:
                    self._emit(force=True)
            elif command == "reset":
                self._trainer.reset()
                self._pending_steps = 0
                self._emit(force=True)
            elif command == "apply":
                kind = self._trainer.apply(arg)
                self.sigApplied.emit(kind)
                self._emit(force=True)
            elif command == "speed":
                self._speed = arg
                self._chunk = 16
            elif command == "snapshot":
                self._emit(force=True)

    def _set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self.sigRunning.emit(playing)

    def _emit(self, force: bool = False) -> None:
        if not force and not self._drawn.is_set():
            return
        self._drawn.clear()
        self.sigSnapshot.emit(self._trainer.snapshot())
