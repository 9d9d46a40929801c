"""ProcessTrainingWorker: TrainingWorker's API, with the Trainer in a child process (train_server).

Drop-in for worker.TrainingWorker: the same signals and methods. The QThread only relays: its
run() starts the child and turns the child's messages into signals (recv() waits without the GIL);
commands from the GUI go straight down the pipe. See train_server for why a process.
"""

from __future__ import annotations

import queue
import threading

from PySide6.QtCore import QThread, Signal

from .. import train_server
from ..experiment import Experiment
from ..session import RECORD_EVERY

MAX_RESTARTS = 3  # a child that keeps dying is not restarted forever
START_TIMEOUT_S = 60  # the child imports numpy and the core first: ~0.5 s, much longer on a busy machine


class RecorderProxy:
    """Stands for the child's Recorder in the GUI process: recording() asks the child for a copy."""

    def __init__(self, worker: ProcessTrainingWorker):
        self._worker = worker

    def recording(self, history=None, timeout: float = 30.0):
        return self._worker._request_recording(history, timeout)


class ProcessTrainingWorker(QThread):
    """Runs a Trainer in a child process. Every public method is safe to call from the GUI."""

    sigSnapshot = Signal(object)  # Snapshot
    sigRunning = Signal(bool)  # playing or not (training pauses itself when a run diverges)
    sigApplied = Signal(str)  # "hot", "model" or "data": how the last experiment change was taken
    sigError = Signal(str)  # an unexpected failure in the trainer, in words (training keeps going)
    sigStatus = Signal(str)  # a passing note for the status bar ("" clears it)

    def __init__(self, experiment: Experiment, grid_size: int = 100):
        super().__init__()
        self.setObjectName("training-relay")
        self._experiment, self._grid_size = experiment, grid_size  # the latest applied: a restart starts there
        self._child = train_server.Child(experiment, grid_size, RECORD_EVERY)
        self._stopping = False
        self._restarts = 0
        self._conn = None  # set by the relay thread once the child has called back
        self._unsent: list = []  # commands given before that
        self._send_lock = threading.Lock()
        self._recordings: queue.SimpleQueue = queue.SimpleQueue()
        self._recording_lock = threading.Lock()
        self.steps_per_second = 0.0  # measured by the child while playing (for display only)
        self.recorder = RecorderProxy(self)
        self._run_states: queue.SimpleQueue = queue.SimpleQueue()  # answers to run_state()

    # ---- GUI thread API ------------------------------------------------------------------------
    def _send(self, command: str, arg=None) -> None:
        with self._send_lock:
            if self._conn is None:
                self._unsent.append((command, arg))
                return
            try:
                self._conn.send((command, arg))
            except (OSError, ValueError):  # the child is gone (closing): nothing to steer
                pass

    def stop(self, timeout_ms: int = 5000) -> None:
        """End the child and the relay thread."""
        with self._send_lock:  # the relay thread starts no new child from here on
            self._stopping = True
        self._send("quit")
        self._child.close(timeout_ms / 1000)
        if self.isRunning():
            self.wait(timeout_ms)

    def play(self) -> None:
        self._send("play")

    def pause(self) -> None:
        self._send("pause")

    def step(self, n: int = 1) -> None:
        """Train n steps (then stop), whether playing or not."""
        self._send("step", int(n))

    def reset(self) -> None:
        self._send("reset")

    def apply(self, experiment: Experiment) -> None:
        self._experiment = experiment
        self._send("apply", experiment)

    def set_speed(self, steps_per_second: float | None) -> None:
        self._send("speed", steps_per_second)

    def request_snapshot(self) -> None:
        self._send("snapshot")

    def snapshot_drawn(self) -> None:
        """The GUI calls this after drawing a snapshot, so the next one may be made."""
        self._send("drawn")

    def run_state(self, timeout: float = 10.0):
        """(experiment, Trainer.state()) of the child's run now, for File → Save run."""
        with self._recording_lock:  # one question at a time, so the answer is ours
            self._send("run_state")
            try:
                return self._run_states.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError("the training process did not hand over its state") from None

    def set_points(self, experiment: Experiment) -> None:
        """Drawn points: train on the experiment's new data.points with the weights as they are."""
        self._experiment = experiment
        self._send("points", experiment)

    def restore_run(self, experiment: Experiment, state: dict) -> None:
        """Go on from a saved run (runfile.load_run checked it): its step, weights and history."""
        self._experiment = experiment
        self._send("restore_run", (experiment, state))

    def _request_recording(self, history, timeout: float):
        with self._recording_lock:  # one question at a time, so the answer is ours
            self._send("recording", history)
            try:
                return self._recordings.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError("the training process did not hand over its recording") from None

    # ---- relay thread --------------------------------------------------------------------------
    def run(self) -> None:  # Qt override: relay the child's messages as signals
        """Relay until the child says "bye". A child that ends without it (killed, or a crash in
        compiled code) is started again on the latest experiment, and the window is told: the
        window must never sit there with nothing training behind it."""
        while self._relay():
            if self._stopping:
                return
            self._child.close(timeout=5.0)  # reaped (killed if it lingers)
            code = self._child.process.returncode
            if self._restarts >= MAX_RESTARTS:
                self.sigError.emit(f"the training process stopped unexpectedly again (exit code {code}); "
                                   "save your experiment and restart playground (details in the terminal)")
                return
            self._restarts += 1
            with self._send_lock:
                if self._stopping:
                    return
                self._conn = None
                self._unsent.clear()  # meant for the process that is gone
                self._child = train_server.Child(self._experiment, self._grid_size, RECORD_EVERY)
            self.sigRunning.emit(False)
            self.sigError.emit(f"the training process stopped unexpectedly (exit code {code}) and was "
                               "started again: same experiment, fresh weights from its seed, paused")

    def _relay(self) -> bool:
        """One child's life: handshake, then its messages as signals. True if it ended unannounced."""
        signals = {"running": self.sigRunning, "applied": self.sigApplied, "error": self.sigError,
                   "status": self.sigStatus}
        timed_out = threading.Event()

        def give_up() -> None:
            timed_out.set()
            self._child.stop_waiting()

        watchdog = threading.Timer(START_TIMEOUT_S, give_up)
        watchdog.start()
        conn = self._child.accept()
        watchdog.cancel()
        if conn is None:  # closed by stop(), or the child never called back
            if timed_out.is_set():
                code = self._child.process.poll()
                self.sigError.emit(f"the training process did not start (exit code {code}); see the terminal")
            return False
        with self._send_lock:
            self._conn = conn
            for command in self._unsent:
                conn.send(command)
            self._unsent.clear()
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                return not self._stopping
            if kind == "snapshot":
                self.sigSnapshot.emit(train_server.freeze(value))
            elif kind in signals:
                signals[kind].emit(value)
            elif kind == "rate":
                self.steps_per_second = value
            elif kind == "recording":
                self._recordings.put(train_server.freeze(value))
            elif kind == "run_state":
                self._run_states.put(value)
            elif kind == "bye":
                return False
