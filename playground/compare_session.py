"""CompareSession: the compare window's training loop, one Comparison steered by commands (no Qt).

Both of the compare window's workers run it: on a QThread (tests) or in a child process (the app,
`serve`), as session.py does for the main window. Commands in, as (command, argument): play, pause,
step n, reset, speed steps/s (None: as fast as it goes), drawn, quit. Messages out through
send(kind, value): frame CompareFrame · running bool · error text · rate steps/s.

Training runs in chunks of about CHUNK_SECONDS, so commands are seen within ~20 ms; a frame goes
out at most MAX_FPS times a second, and only once the window has drawn the previous one.
"""

from __future__ import annotations

import time

from .compare import Comparison, make_frame

MAX_FPS = 30  # frames a second, at most (a 6 × 20 frame is ~7-12 ms to make): above the window's goal of 20, so the
# window, not this cap, decides how many it draws
CHUNK_SECONDS = 0.015
MAX_CHUNK = 5000


class CompareSession:
    """The loop (run) around one Comparison."""

    def __init__(self, variants, seeds: int, field: str | None, same_start: bool | None, grid_size: int, send,
                 *, shares_the_gil: bool = False):
        """shares_the_gil: the window runs in this process (the thread worker): after each frame
        the loop sleeps a little so the window can draw it."""
        self.comparison = Comparison(variants, seeds=seeds, same_start=same_start, field=field)
        self.grid_size = grid_size
        self.send = send
        self.shares_the_gil = shares_the_gil
        self.playing, self.pending, self.speed, self.chunk = False, 0, None, 4
        self.drawn = True
        self._paced_from, self._paced_steps = time.perf_counter(), 0  # the speed limit's clock
        self._last_frame = 0.0

    def run(self, receive) -> None:
        """Until "quit" (or receive raises EOFError/OSError: the window is gone). receive(block)
        gives the next (command, argument) or None; with block it may wait ~0.1 s for one."""
        self.emit(exact=True)
        while True:
            idle = not self.playing and not self.pending
            message = receive(idle)
            if message is not None:
                command, value = message
                if command == "quit":
                    return
                self._command(command, value)
                continue  # take every queued command before training on
            if self.playing and self._frame_due():  # the window drew the last one: the next now, not
                self.emit(exact=False)  # after another chunk (~15 ms more between frames, at 6 × 20)
            if self.playing or self.pending:
                self._train()

    def _command(self, command: str, value) -> None:
        if command == "play" and not self.playing:
            self.playing, self._paced_from, self._paced_steps = True, time.perf_counter(), 0
            self.send("running", True)
        elif command == "pause" and self.playing:
            self.playing = False
            self.send("running", False)
            self.emit(exact=True)
        elif command == "step":
            self.pending += value
        elif command == "reset":
            self.comparison.reset()
            self.pending = 0
            self.emit(exact=True)
        elif command == "speed":
            self.speed, self._paced_from, self._paced_steps = value, time.perf_counter(), 0
        elif command == "drawn":
            self.drawn = True

    def _train(self) -> None:
        n = min(self.pending or self.chunk, self.chunk)
        if self.playing and self.speed:
            allowed = int(self.speed * (time.perf_counter() - self._paced_from)) - self._paced_steps
            if allowed <= 0:
                time.sleep(0.005)
                return
            n = min(n, allowed)
        started = time.perf_counter()
        try:
            self.comparison.step(n)
        except Exception as error:  # an unexpected failure: say so and stop; the window stays
            self.playing, self.pending = False, 0
            self.send("running", False)
            self.send("error", f"compare training failed: {error!r}")
            return
        took = time.perf_counter() - started
        self.chunk = max(1, min(MAX_CHUNK, int(self.chunk * CHUNK_SECONDS / took) if took > 0 else self.chunk * 2))
        self._paced_steps += n
        self.send("rate", n / max(took, 1e-9))
        if self.pending:
            self.pending -= n
            if not self.pending:  # a step request ends with the picture of that step
                self.emit(exact=True)
                return
        if self._frame_due():
            self.emit(exact=not self.playing)

    def _frame_due(self) -> bool:
        """The window drew the last frame, and 1 / MAX_FPS has passed since it was sent."""
        return self.drawn and time.perf_counter() - self._last_frame >= 1.0 / MAX_FPS

    def emit(self, exact: bool) -> None:
        """Send a frame. exact: probe the step shown first, so the table speaks of it (paused, or
        at the end of a step request); while playing, the table and chart speak of the last
        scheduled probe (at most 50 steps back) and the panels of the step itself: an extra probe
        of 120 networks on every frame took ~15 of each 50 ms."""
        if exact:
            self.comparison.finish()
        self.drawn = False
        self._last_frame = time.perf_counter()
        self.send("frame", make_frame(self.comparison, self.grid_size))
        if self.shares_the_gil:
            time.sleep(0.01)  # step aside: the window draws on the GUI thread of this process


def serve(conn, args: tuple) -> None:
    """A child process's body: a CompareSession steered down `conn`, its messages sent up it."""
    session = CompareSession(*args, send=lambda kind, value: conn.send((kind, value)))

    def receive(block: bool):
        if conn.poll(0.1 if block else 0):
            return conn.recv()
        return None

    try:
        session.run(receive)
    except (EOFError, OSError, BrokenPipeError):
        pass  # the window went away
    finally:
        try:
            conn.send(("bye", None))
        except (OSError, BrokenPipeError):
            pass
        conn.close()
