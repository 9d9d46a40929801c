"""Training in a child process: the Trainer and its Recorder run there, the window only draws.

Why a process: on the GIL, a training thread and the GUI thread share one core's worth of Python
between them. Measured on the 2-core machine with the window drawing C1: the thread trained at
~40 % of the engine's speed (117 µs a step instead of 47) and the process as a whole never used
more than one core. In a child process the Trainer has a core of its own, and the GUI's Python
never waits for it.

Protocol (multiprocessing Connection, pickled tuples):
  parent -> child: (command, argument) with command in COMMANDS
  child -> parent: ("snapshot", Snapshot) · ("running", bool) · ("applied", kind) · ("error", text)
                   · ("status", text: a passing note for the status bar, "" to clear it)
                   · ("rate", steps per second) · ("recording", Recording) · ("bye", None)
Snapshots go out at most max_fps times a second, and only after the parent said "drawn" (newest
wins, no backlog), exactly as the thread worker did. No Qt here.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time

import numpy as np

from . import kernel

COMMANDS = ("quit", "play", "pause", "step", "reset", "apply", "speed", "snapshot", "drawn", "recording")
MAX_FPS = 30
CHUNK_SECONDS = 0.008  # a chunk of steps takes about this long: commands are seen within ~10 ms
MAX_CHUNK = 5000


def freeze(value):
    """Mark every array inside a received Snapshot (or Recording) read-only again (pickling drops it)."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (tuple, list)):
        for item in value:
            freeze(item)
    elif isinstance(value, dict):
        for item in value.values():
            freeze(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            freeze(getattr(value, field.name))
    return value


class _Server:
    """The child's state and loop: one Trainer, one Recorder, commands in, messages out."""

    def __init__(self, conn, experiment, grid_size: int, record_every: int):
        from .recording import Recorder
        from .training import Trainer

        self.conn = conn
        self.trainer = Trainer(experiment, grid_size=grid_size)
        self.recorder = Recorder(every=record_every)
        self.playing = False
        self.speed: float | None = None  # steps per second, None = as fast as it goes
        self.pending = 0  # steps asked for while paused
        self.chunk = 16
        self.drawn = True  # the parent has drawn the last snapshot: another may go out
        # Messages leave from a thread of their own: a C3 snapshot is 2 MB, and writing it waits for
        # the window's relay to read (measured ~3 ms a snapshot that training would stand idle).
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_loop, name="send", daemon=True)
        self._sender.start()

    def send(self, kind: str, value) -> None:
        self._outbox.put((kind, value))

    def _send_loop(self) -> None:
        while True:
            message = self._outbox.get()
            if message is None:
                return
            try:
                self.conn.send(message)
            except (OSError, ValueError):  # the window went away
                return

    def close(self) -> None:
        """Send what is queued, then "bye"; returns when it is out (or the window is gone)."""
        self._outbox.put(("bye", None))
        self._outbox.put(None)
        self._sender.join(5.0)

    def emit(self, force: bool = False) -> None:
        if force or self.drawn:
            self.drawn = False
            self.send("snapshot", self.trainer.snapshot())

    def set_playing(self, playing: bool) -> None:
        if playing != self.playing:
            self.playing = playing
            self.send("running", playing)

    def handle(self, command: str, arg) -> bool:
        """One command; False means quit."""
        trainer = self.trainer
        if command == "quit":
            return False
        if command == "play":
            if not trainer.diverged:
                self.set_playing(True)
            else:  # nothing to train: put the GUI's play button back
                self.send("running", False)
        elif command == "pause":
            self.set_playing(False)
            self.pending = 0
            self.recorder.record(trainer, force=True)  # an export ends where the user paused
            self.emit(force=True)
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
        elif command == "recording":
            self.recorder.record(trainer, force=True)  # include the step on screen, even off the schedule
            self.send("recording", self.recorder.recording(arg))
        return True

    def chunk_size(self) -> int:
        if self.speed is not None and self.playing:
            n = max(1, int(round(self.speed / MAX_FPS)))  # about one chunk a frame at the asked pace
        else:
            n = self.chunk
        if self.pending > 0 and not self.playing:
            n = min(n, self.pending)
        return n

    def run(self) -> None:
        self.emit(force=True)
        # compile (or load from numba's cache) the training kernel now, while the window shows the
        # first picture, rather than when the user first presses play: seconds once per machine
        kernel.prepare(lambda text: self.send("status", text))
        last_emit = time.perf_counter()
        rate_steps, rate_start = 0, time.perf_counter()
        while True:
            busy = self.playing or self.pending > 0
            try:
                if not busy:
                    self.conn.poll(0.1)  # idle: sleep until a command comes
                while self.conn.poll():
                    if not self.handle(*self.conn.recv()):
                        return
            except (EOFError, OSError):  # the window went away
                return
            except Exception as error:  # keep the window alive whatever the core does
                self.send("error", f"{type(error).__name__}: {error}")
                continue
            if not (self.playing or self.pending > 0):
                continue
            started = time.perf_counter()
            n = self.chunk_size()
            try:
                done = self.recorder.train(self.trainer, n)  # steps, recording due frames
            except Exception as error:  # a bug in the core must not take the window down
                self.set_playing(False)
                self.pending = 0
                self.send("error", f"training stopped: {type(error).__name__}: {error}")
                continue
            now = time.perf_counter()
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
                time.sleep(max(0.0, done / self.speed - (time.perf_counter() - started)))


def serve(conn, experiment, grid_size: int, record_every: int) -> None:
    """The child process's body."""
    server = None
    try:
        server = _Server(conn, experiment, grid_size, record_every)
        server.run()
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    finally:
        if server is not None:
            server.close()
        else:
            try:
                conn.send(("bye", None))
            except (OSError, ValueError):
                pass
        conn.close()


class Child:
    """The parent's handle on the training process: a subprocess and, once it has called back, its connection.

    A plain `python -m playground.train_server` rather than multiprocessing's spawn, which re-runs
    the parent's main script in the child unless it is guarded; the connection is a
    multiprocessing Listener (a Unix socket, or a named pipe on Windows) with a random key.
    """

    def __init__(self, experiment, grid_size: int = 100, record_every: int = 10):
        import os
        import secrets
        import subprocess
        import sys
        from multiprocessing.connection import Listener

        key = secrets.token_bytes(32)
        self._listener = Listener(authkey=key)
        self._init = (experiment, grid_size, record_every)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.process = subprocess.Popen([sys.executable, "-m", "playground.train_server"],
                                        stdin=subprocess.PIPE, env=env)
        self.process.stdin.write(f"{self._listener.address}\n{key.hex()}\n".encode())
        self.process.stdin.close()
        self.conn = None

    def accept(self):
        """Wait for the child to call back (returns None if the listener was closed meanwhile)."""
        try:
            self.conn = self._listener.accept()
        except OSError:
            return None
        finally:
            self._listener.close()
        self.conn.send(("init", self._init))
        return self.conn

    def stop_waiting(self) -> None:
        """Make a pending accept() give up (the child never called back)."""
        self._listener.close()

    def close(self, timeout: float = 5.0) -> None:
        """Ask the child to end, wait for it, and kill it if it does not."""
        import subprocess

        self._listener.close()  # a relay still waiting in accept() gives up
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(1.0)
        if self.conn is not None:
            self.conn.close()


def _child_main() -> None:
    import sys
    from multiprocessing.connection import Client

    address, key = sys.stdin.readline().strip(), bytes.fromhex(sys.stdin.readline().strip())
    conn = Client(address, authkey=key)
    kind, (experiment, grid_size, record_every) = conn.recv()
    serve(conn, experiment, grid_size, record_every)


if __name__ == "__main__":
    _child_main()
