"""Training in a child process: the Trainer and its Recorder run there, the window only draws.

Why a process: on the GIL, a training thread and the GUI thread share one core's worth of Python
between them. Measured on the 2-core machine with the window drawing C1: the thread trained at
~40 % of the engine's speed (117 µs a step instead of 47) and the process as a whole never used
more than one core. In a child process the Trainer has a core of its own, and the GUI's Python
never waits for it.

Protocol (multiprocessing Connection, pickled tuples): the parent sends TrainingSession's commands
and receives its messages (session.py), then ("bye", None) when the child ends. No Qt here.
"""

from __future__ import annotations

import dataclasses
import queue
import threading

import numpy as np

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
    """The child's side: a TrainingSession whose commands come down the pipe and messages go up it."""

    def __init__(self, conn, experiment, grid_size: int, record_every: int):
        from .recording import Recorder
        from .session import TrainingSession

        self.conn = conn
        # Messages leave from a thread of their own: a C3 snapshot is 2 MB, and writing it waits for
        # the window's relay to read (measured ~3 ms a snapshot that training would stand idle).
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_loop, name="send", daemon=True)
        self._sender.start()
        self.session = TrainingSession(experiment, self.send, grid_size=grid_size,
                                       recorder=Recorder(every=record_every))

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

    def receive(self, block: bool):
        """The next command from the window, or None (waiting up to 0.1 s for one with block)."""
        if self.conn.poll(0.1 if block else 0):
            return self.conn.recv()
        return None

    def run(self) -> None:
        self.session.run(self.receive)

    def close(self) -> None:
        """Send what is queued, then "bye"; returns when it is out (or the window is gone)."""
        self._outbox.put(("bye", None))
        self._outbox.put(None)
        self._sender.join(5.0)


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


# The training child yields the CPU to the window (and to the user's other work). 5, not more:
# at 10 the child got ~1/10 of the window's share and, on a loaded machine (load ~8 on 2 cores),
# trained at 24-53 epochs/s on C3 against 107-176 at 5, and its exit took so long that a window
# closing gave up on it; the timer's p99 lateness was no better at 10 than at 5 (77-167 vs 53-71 ms
# in that run; 98-214 ms at 0).
CHILD_NICENESS = 5


def lower_priority(niceness: int | None = None) -> None:
    """Run this process at a lower scheduling priority, so the window wins the CPU over its own
    training whenever both want it (bench: gui_lateness_p99_loaded_ms). Where the OS has no nice
    (Windows), training runs at the normal priority."""
    import os

    if niceness is None:  # PLAYGROUND_TRAINING_NICENESS=0 trains at the window's priority
        try:
            niceness = int(os.environ.get("PLAYGROUND_TRAINING_NICENESS", CHILD_NICENESS))
        except ValueError:
            niceness = CHILD_NICENESS
    if niceness > 0 and hasattr(os, "nice"):
        try:
            os.nice(niceness)
        except OSError:  # not allowed here: train at the normal priority
            pass


def _child_main() -> None:
    import sys
    from multiprocessing.connection import Client

    lower_priority()

    address, key = sys.stdin.readline().strip(), bytes.fromhex(sys.stdin.readline().strip())
    conn = Client(address, authkey=key)
    kind, (experiment, grid_size, record_every) = conn.recv()
    serve(conn, experiment, grid_size, record_every)


if __name__ == "__main__":
    _child_main()
