"""Training in a child process: the Trainer and its Recorder run there, the window only draws.

Why a process: on the GIL, a training thread and the GUI thread share one core's worth of Python
between them. Measured on the 2-core machine with the window drawing C1: the thread trained at
~40 % of the engine's speed (117 µs a step instead of 47) and the process as a whole never used
more than one core. In a child process the Trainer has a core of its own, and the GUI's Python
never waits for it.

Protocol (multiprocessing Connection, pickled tuples): the parent sends TrainingSession's commands
and receives its messages (session.py), ("alive", None) every HEARTBEAT_S, then ("bye", None) when
the child ends. Pickle travels only over this private connection (a socket with a random key, whose
peer is our own child); no file the app reads or writes is a pickle. The child runs isolated
(child_command): nothing from the folder it was started in is imported. No Qt here.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time

import numpy as np

from .plane import DEFAULT_GRID

HEARTBEAT_S = 1.0  # the child says ("alive", None) this often, so the window can tell a hung child
# Both processes hand freed heap back to the system this often. runtime.keep_freed_memory raises glibc's
# trim threshold to 64 MB so a snapshot's grids are reused without page faults; the price was RSS
# that only grew: the window +13 MB over 4 minutes at full speed (19 M steps) in steps of 4-8 MB,
# while the Python objects alive stayed flat at ~1 MB (tracemalloc). With a trim every 10 s the
# window stayed within 133.6-135.2 MB over the same run. One trim costs a few ms, and the next
# snapshot's page faults once (~1 ms).
TRIM_EVERY_S = 30.0

_libc = None


def trim_free_memory() -> bool:
    """Return freed heap pages to the system (glibc's malloc_trim); False where there is none."""
    global _libc
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        if _libc is None:
            import ctypes

            _libc = ctypes.CDLL("libc.so.6")
        return bool(_libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False

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
        self._beating = threading.Event()
        self._heart = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self._heart_started = False

    def _beat(self) -> None:
        """("alive", None) every HEARTBEAT_S while the process runs (a stopped process sends none),
        and the child's freed heap back to the system every TRIM_EVERY_S."""
        last_trim = time.monotonic()
        while not self._beating.wait(HEARTBEAT_S):
            self.send("alive", None)
            if time.monotonic() - last_trim >= TRIM_EVERY_S:
                trim_free_memory()
                last_trim = time.monotonic()

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
        if not self._heart_started:  # from the first call on: by then the kernel is compiled, which
            self._heart_started = True  # may hold the GIL for seconds
            self._heart.start()
        if self.conn.poll(0.1 if block else 0):
            return self.conn.recv()
        return None

    def run(self) -> None:
        self.session.run(self.receive)

    def close(self) -> None:
        """Send what is queued, then "bye"; returns when it is out (or the window is gone)."""
        self._beating.set()
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


# The child's first lines, run with `python -I -c`: isolated mode puts neither the current folder nor
# PYTHONPATH on the import path (a queue.py or numpy.py where `playground` was started would
# otherwise run inside the child). The playground package is then imported from the folder the
# parent imported it from, by location, without adding that folder to the path either: a developer's
# checkout gets its own copy, an installed playground the installed one.
IMPORT_BY_LOCATION = """\
import importlib.util, sys
init, extra = sys.argv[1], sys.argv[2:]
sys.path.extend(p for p in extra if p not in sys.path)
spec = importlib.util.spec_from_file_location("playground", init)
package = importlib.util.module_from_spec(spec)
sys.modules["playground"] = package
spec.loader.exec_module(package)
"""
_BOOTSTRAP = IMPORT_BY_LOCATION + "from playground.train_server import _child_main\n_child_main()\n"


def child_command() -> list[str]:
    """The training child's command line (see _BOOTSTRAP)."""
    import os
    import sys

    package_init = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__init__.py")
    # The parent's import path minus the places isolation is for: the current folder ('' or its
    # absolute path) and the folder holding the playground package. What is left (site-packages, a
    # virtualenv's, PYTHONPATH's entries) lets the child find numpy and numba wherever the parent did.
    unsafe = {"", os.getcwd(), os.path.dirname(os.path.dirname(package_init))}
    extra = [p for p in sys.path if p not in unsafe and os.path.abspath(p) not in unsafe]
    return [sys.executable, "-I", "-c", _BOOTSTRAP, package_init, *extra]


class Child:
    """The parent's handle on the training process: a subprocess and, once it has called back, its connection.

    A plain subprocess (child_command) rather than multiprocessing's spawn, which re-runs the
    parent's main script in the child unless it is guarded; the connection is a
    multiprocessing Listener (a Unix socket, or a named pipe on Windows) with a random key.
    """

    def __init__(self, experiment, grid_size: int = DEFAULT_GRID, record_every: int = 10):
        import secrets
        import subprocess
        from multiprocessing.connection import Listener

        key = secrets.token_bytes(32)
        self._listener = Listener(authkey=key)
        self._address = self._listener.address  # kept: a closed Listener no longer tells it
        self._init = (experiment, grid_size, record_every)
        self._abandoned = False
        self.process = subprocess.Popen(child_command(), stdin=subprocess.PIPE)
        try:
            self.process.stdin.write(f"{self._address}\n{key.hex()}\n".encode())
            self.process.stdin.close()
        except BrokenPipeError:  # it died at once: the relay's start watch reports it
            pass
        self.conn = None

    def accept(self):
        """Wait for the child to call back (returns None if stop_waiting() was called meanwhile)."""
        from multiprocessing import AuthenticationError

        try:
            conn = self._listener.accept()
        except (OSError, EOFError, AuthenticationError):  # stop_waiting()'s knock, or the listener closed
            return None
        finally:
            self._listener.close()
        if self._abandoned:
            conn.close()
            return None
        self.conn = conn
        self.conn.send(("init", self._init))
        return self.conn

    def stop_waiting(self) -> None:
        """Make a pending accept() give up (the child never called back, or died first).

        Closing the listener does not wake an accept() blocked in the kernel (Linux), so knock:
        a connection that hangs up at once makes accept() fail its handshake and return.
        """
        import socket
        from multiprocessing.connection import address_type

        self._abandoned = True
        address = self._address
        if address_type(address) == "AF_UNIX":
            try:
                with socket.socket(socket.AF_UNIX) as knock:
                    knock.connect(address)
            except OSError:  # closed already: nobody is waiting
                pass
        self._listener.close()

    def close(self, timeout: float = 5.0) -> None:
        """Ask the child to end, wait for it, and kill it if it does not."""
        import subprocess

        if self.conn is None:
            self.stop_waiting()  # a relay still waiting in accept() gives up
        else:
            # Hang up first: what the window sent ("quit") stays readable for the child, and a
            # snapshot it is still writing fails at once. Closed after the wait, a 2 MB snapshot
            # in flight blocked the child's sender, and closing the window took the whole 5 s.
            self.conn.close()
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


def configure_child() -> None:
    """The training child's process set-up: the playground's runtime (one BLAS thread, freed memory
    kept), and a lower priority than the window's."""
    from .runtime import configure_process

    configure_process()
    lower_priority()


def _child_main() -> None:
    import sys
    from multiprocessing.connection import Client

    configure_child()

    address, key = sys.stdin.readline().strip(), bytes.fromhex(sys.stdin.readline().strip())
    conn = Client(address, authkey=key)
    kind, (experiment, grid_size, record_every) = conn.recv()
    serve(conn, experiment, grid_size, record_every)


if __name__ == "__main__":
    _child_main()
