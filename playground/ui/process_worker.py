"""ProcessTrainingWorker: what trains behind the window, a Trainer in a child process (train_server).

The only worker the main window has (`playground gui` and every window test). The QThread only
relays: its run() turns the child's messages into signals (recv() waits without the GIL); commands
from the GUI go straight down the pipe. The child process is started by start(), not by the
constructor, so a window that never trains (MainWindow(start_worker=False)) starts none. See train_server
for why a process: a thread worker sharing the window's GIL trained at about half the speed
(measured by `playground bench` before it was removed) and made the loop step aside while drawing.
"""

from __future__ import annotations

import queue
import threading
import time

from PySide6.QtCore import QThread, Signal

from .. import train_server
from ..experiment import Experiment
from ..plane import DEFAULT_GRID
from ..session import RECORD_EVERY

START_TIMEOUT_S = 60  # the child imports numpy and the core first: ~0.5 s, much longer on a busy machine
# A child that dies is started again after a pause that doubles each time: a crash in compiled code
# on some input would otherwise restart in a tight loop. After MAX_RESTARTS in a row the worker gives
# up and says so (sigStopped) until the user asks to try again; a child that ran STABLE_S counts as
# recovered, so a crash an hour later starts a fresh count (it was never reset before: 3 crashes
# over a whole session stopped training for good).
RESTART_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)
MAX_RESTARTS = len(RESTART_DELAYS_S)
STABLE_S = 30.0
# The child says it is alive every train_server.HEARTBEAT_S (1 s); silence for this long (a SIGSTOP,
# a deadlock) means it stopped responding: it is killed and started again like a crash. Generous,
# because a loaded 2-core machine can hold a process off the CPU for seconds.
STALL_TIMEOUT_S = 10.0


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
    sigStopped = Signal(str)  # training has stopped and will not restart by itself: say so until retry()
    sigRecovered = Signal()  # a restarted child is training again (clears what sigStopped showed)
    sigPaused = Signal(int)  # the step training paused at, once the child has paused (after that step's snapshot)

    def __init__(self, experiment: Experiment, grid_size: int = DEFAULT_GRID):
        super().__init__()
        self.setObjectName("training-relay")
        self._experiment, self._grid_size = experiment, grid_size  # the latest applied: a restart starts there
        self._child: train_server.Child | None = None  # made by start()
        self._stopping = False
        self._restarts = 0  # in a row, without a stable period between
        self._wake = threading.Event()  # cuts a restart's pause short when stopping
        self.restart_delays_s = RESTART_DELAYS_S  # per instance: tests shorten them
        self.stable_s = STABLE_S
        self.stall_timeout_s = STALL_TIMEOUT_S
        self.gave_up = False
        self._announce_recovery = False  # set by retry(): the first snapshot then emits sigRecovered
        self.heartbeat_at: float | None = None  # time.monotonic() of the current child's last heartbeat
        self._conn = None  # set by the relay thread once the child has called back
        self._unsent: list = []  # commands given before that
        self._send_lock = threading.Lock()
        self._recordings: queue.SimpleQueue = queue.SimpleQueue()
        self._recording_lock = threading.Lock()
        self.steps_per_second = 0.0  # measured by the child while playing (for display only)
        self.recorder = RecorderProxy(self)
        self._run_states: queue.SimpleQueue = queue.SimpleQueue()  # answers to run_state()

    # ---- GUI thread API ------------------------------------------------------------------------
    def start(self, *args) -> None:  # Qt override: start the child process, then the relay thread
        with self._send_lock:
            if self._stopping:
                return
            if self._child is None:
                self._child = train_server.Child(self._experiment, self._grid_size, RECORD_EVERY)
        super().start(*args)

    def _send(self, command: str, arg=None) -> None:
        if self.gave_up and command in ("play", "step"):  # nothing trains: Play must not stay pressed
            self.sigRunning.emit(False)
            return
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
        self._wake.set()
        self._send("quit")
        if self._child is not None:
            self._child.close(timeout_ms / 1000)
        if self.isRunning():
            self.wait(timeout_ms)

    def play(self) -> None:
        self._send("play")

    def pause(self) -> None:
        """Stop playing; sigPaused(step) says when the child has, and at which step."""
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

    def retry(self) -> None:
        """After sigStopped: start a fresh training process on the latest experiment (Try again)."""
        if self.isRunning() or self._stopping:
            return
        with self._send_lock:
            self._restarts = 0
            self.gave_up = False
            self._announce_recovery = True
            self._conn = None
            self._unsent.clear()
            if self._child is not None:
                self._child.close(timeout=1.0)
            self._child = None  # start() makes a fresh one on the latest experiment
        self.start()

    # ---- relay thread --------------------------------------------------------------------------
    def run(self) -> None:  # Qt override: relay the child's messages as signals
        """Relay until the child says "bye". A child that ends without it (killed, or a crash in
        compiled code) or stops responding is started again on the latest experiment after a
        pause, and the window is told; after MAX_RESTARTS in a row it gives up and says so
        (sigStopped) until retry(). The window must never sit there with nothing training
        behind it and no word about it."""
        recovering, self._announce_recovery = self._announce_recovery, False
        while True:
            started = time.monotonic()
            outcome = self._relay(recovering)
            if self._stopping or outcome == "bye":
                return
            if outcome == "stalled":
                self._child.process.kill()  # SIGKILL works on a stopped process too
            self._child.close(timeout=5.0)  # reaped (killed if it lingers)
            code = self._child.process.returncode
            if outcome == "stalled":
                what = (f"the training process stopped responding (no sign of life for "
                        f"{self.stall_timeout_s:g} s)")
            elif outcome == "no start":
                what = f"the training process did not start (exit code {code})"
            else:
                what = f"the training process stopped unexpectedly (exit code {code})"
            if time.monotonic() - started >= self.stable_s:
                self._restarts = 0  # it had recovered: this is a new failure, not the same one again
            self.sigRunning.emit(False)
            if self._restarts >= len(self.restart_delays_s):
                self.gave_up = True
                self.sigStopped.emit(f"Training has stopped: {what}, {self._restarts + 1} times in a row. "
                                     "Your experiment is kept; save it, or try again.")
                return
            delay = self.restart_delays_s[self._restarts]
            self._restarts += 1
            self.sigError.emit(f"{what}; starting it again in {delay:g} s (attempt {self._restarts} of "
                               f"{len(self.restart_delays_s)}): same experiment, fresh weights from its seed, paused")
            self._wake.wait(delay)
            with self._send_lock:
                if self._stopping:
                    return
                self._conn = None
                self._unsent.clear()  # meant for the process that is gone
                self._child = train_server.Child(self._experiment, self._grid_size, RECORD_EVERY)
            recovering = True

    def _relay(self, recovering: bool = False) -> str:
        """One child's life: handshake, then its messages as signals, until it says "bye" ("bye"),
        ends unannounced ("crashed"), falls silent ("stalled") or never calls back ("no start")."""
        signals = {"running": self.sigRunning, "applied": self.sigApplied, "error": self.sigError,
                   "status": self.sigStatus}
        timed_out, accepted = threading.Event(), threading.Event()
        child = self._child

        def watch() -> None:  # a child that died before calling back, or never does, ends the wait
            deadline = time.monotonic() + START_TIMEOUT_S
            while not accepted.wait(0.2):
                if child.process.poll() is not None or time.monotonic() > deadline:
                    timed_out.set()
                    child.stop_waiting()
                    return

        watchdog = threading.Thread(target=watch, name="child-start-watch", daemon=True)
        watchdog.start()
        conn = child.accept()
        accepted.set()
        if conn is None:  # closed by stop(), or the child never called back
            return "no start" if timed_out.is_set() and not self._stopping else "bye"
        with self._send_lock:
            self._conn = conn
            for command in self._unsent:
                conn.send(command)
            self._unsent.clear()
        last_heard = last_trim = time.monotonic()
        self.heartbeat_at = None
        silence_limit = START_TIMEOUT_S  # until the first heartbeat: the child may be compiling its kernel
        while True:
            try:
                if not conn.poll(0.25):
                    if self._stopping:
                        return "bye"
                    if time.monotonic() - last_heard > silence_limit:
                        return "stalled"
                    continue
                kind, value = conn.recv()
            except (EOFError, OSError):
                return "bye" if self._stopping else "crashed"
            last_heard = time.monotonic()
            if kind == "alive":
                self.heartbeat_at = last_heard
                silence_limit = self.stall_timeout_s
                if last_heard - last_trim >= train_server.TRIM_EVERY_S:  # the window's own heap (see there)
                    train_server.trim_free_memory()
                    last_trim = last_heard
            elif kind == "snapshot":
                if recovering:
                    recovering = False
                    self.sigRecovered.emit()
                self.sigSnapshot.emit(train_server.freeze(value))
            elif kind in signals:
                signals[kind].emit(value)
            elif kind == "paused":
                self.sigPaused.emit(value)
            elif kind == "rate":
                self.steps_per_second = value
            elif kind == "recording":
                self._recordings.put(train_server.freeze(value))
            elif kind == "run_state":
                self._run_states.put(value)
            elif kind == "bye":
                return "bye"
