"""TrainingWorker: the training loop (session.TrainingSession) on a QThread, steered from the window.

The window steers it through a thread-safe command queue (the loop has no event loop of its own
while it trains) and receives immutable Snapshots through sigSnapshot. The loop, its chunking and
its snapshot rate are the session's; this class only carries commands in and turns messages into
signals. `playground gui` uses the process worker instead (process_worker.py), which runs the same
session in a child process; this one serves tests and in-process use.
"""

from __future__ import annotations

import queue

from PySide6.QtCore import QThread, Signal

from ..experiment import Experiment
from ..plane import DEFAULT_GRID
from ..recording import Recorder
from ..session import RECORD_EVERY, TrainingSession


class TrainingWorker(QThread):
    """Runs a TrainingSession on its own thread (run()). Every public method is safe to call from the GUI.

    A QThread subclass with run() rather than moveToThread: the loop never returns to an event loop
    while training, so there is nothing for queued slots to run in; commands go through the queue,
    and signals emitted from run() reach GUI objects as queued calls.
    """

    sigSnapshot = Signal(object)  # Snapshot
    sigRunning = Signal(bool)  # playing or not (the worker pauses itself when a run diverges)
    sigApplied = Signal(str)  # "hot", "model" or "data": how the last experiment change was taken
    sigError = Signal(str)  # an unexpected failure in the trainer, in words (the worker keeps going)
    sigStatus = Signal(str)  # a passing note for the status bar ("" clears it)

    def __init__(self, experiment: Experiment, grid_size: int = DEFAULT_GRID):
        super().__init__()
        self._experiment = experiment
        self._grid_size = grid_size
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._session: TrainingSession | None = None  # made on the worker thread, in run()
        self.setObjectName("training")
        self.steps_per_second = 0.0  # measured while playing (read by the GUI for display only)
        # Fed on the worker thread, read by the exporter from any (Recorder.recording() takes a lock).
        self.recorder = Recorder(every=RECORD_EVERY)
        self._run_states: queue.SimpleQueue = queue.SimpleQueue()  # answers to run_state()

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

    def run_state(self, timeout: float = 10.0):
        """(experiment, Trainer.state()) of the run now, for File → Save run (TimeoutError if none)."""
        self._commands.put(("run_state", None))
        try:
            return self._run_states.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("the training thread did not hand over its state") from None

    def set_points(self, experiment: Experiment) -> None:
        """Drawn points: train on the experiment's new data.points with the weights as they are."""
        self._experiment = experiment
        self._commands.put(("points", experiment))

    def restore_run(self, experiment: Experiment, state: dict) -> None:
        """Go on from a saved run (runfile.load_run checked it): its step, weights and history."""
        self._experiment = experiment
        self._commands.put(("restore_run", (experiment, state)))

    def snapshot_drawn(self) -> None:
        """The GUI calls this after drawing a snapshot, so the next one may be made.

        Straight to the session's event, not through the queue: the loop waits on it while the
        window draws (TrainingSession._after_emit)."""
        session = self._session
        if session is not None:
            session.drawn.set()

    # ---- worker thread -------------------------------------------------------------------------
    def run(self) -> None:  # Qt override: the worker thread's body
        self._session = TrainingSession(self._experiment, self._relay, grid_size=self._grid_size,
                                        recorder=self.recorder, shares_the_gil=True)
        self._session.run(self._receive)

    def _receive(self, block: bool):
        try:
            return self._commands.get(timeout=0.1) if block else self._commands.get_nowait()
        except queue.Empty:
            return None

    def _relay(self, kind: str, value) -> None:
        """A session message as a signal (queued across to the GUI thread)."""
        if kind == "snapshot":
            self.sigSnapshot.emit(value)
        elif kind == "running":
            self.sigRunning.emit(value)
        elif kind == "applied":
            self.sigApplied.emit(value)
        elif kind == "error":
            self.sigError.emit(value)
        elif kind == "status":
            self.sigStatus.emit(value)
        elif kind == "rate":
            self.steps_per_second = value
        elif kind == "run_state":
            self._run_states.put(value)
