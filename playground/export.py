"""Export: a Recording replayed → frames → a GIF / MP4 / PNG writer; the options and the caption.

Qt-free. The frames are drawn by a render function handed in from above (the window's own views,
offscreen: ui/export_render.py), fed with snapshots replayed from a Recording (recording.py) on a
thread of their own, and encoded on another (writers.py). The file appears only when complete
(writers.AtomicFile). `playground export` is cli_export.py.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .plane import DEFAULT_GRID
from .writers import AtomicFile, ExportError, open_writer, write_failure

FORMATS = {".gif": "gif", ".mp4": "mp4", ".png": "png"}
VIEWS = ("boundary", "network", "window")
DEFAULT_SIZE = (600, 600)
MIN_SIDE, MAX_SIDE = 32, 4096  # pixels
MAX_FPS = 60
# A frame held 10 s is a slide show already; GIF delays top out at 655.35 s (16 bits of 1/100 s),
# and Pillow failed on --fps 0.001
MIN_FPS = 0.1
GIF_MAX_FPS = 50  # GIF delays are in 1/100 s and browsers slow anything under 2/100 s to 1/10 s
MAX_FRAMES = 5000  # one export
# Pillow holds every GIF frame until the file is written (one byte a pixel), and copies each once
# more while writing: ~0.7 MB a 600x600 frame. This many frame pixels is ~1.5 GB at the peak.
GIF_MAX_PIXELS = 750_000_000
ENCODER_QUEUE = 4  # frames waiting for the encoder thread (each ~1 MB at 600x600)


@dataclass(frozen=True)
class ExportOptions:
    """What to export; the same for the window's dialog and the command line."""

    format: str = "gif"  # gif, mp4 or png
    view: str = "boundary"  # boundary, network or window
    size: tuple[int, int] = DEFAULT_SIZE  # (width, height) in pixels of the whole frame, caption included
    fps: float = 20.0
    every: int = 1  # use every k-th recorded frame
    first_step: int | None = None  # range of training steps; None = from the start / to the end
    last_step: int | None = None
    caption: bool = True  # a line with step, activation, loss, accuracy and dead fraction
    grid_size: int = DEFAULT_GRID  # resolution of the replayed decision maps (the window's default)

    def checked(self) -> ExportOptions:
        """Validated, with the size made even for MP4 (yuv420p needs even sides)."""
        if self.format not in FORMATS.values():
            raise ExportError(f"format {self.format!r} is not allowed: one of " + ", ".join(FORMATS.values()))
        if self.view not in VIEWS:
            raise ExportError(f"view {self.view!r} is not allowed: one of " + ", ".join(VIEWS))
        w, h = self.size
        if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
            raise ExportError(f"size {w}x{h} is not allowed: width and height from {MIN_SIDE} to {MAX_SIDE} pixels")
        limit = GIF_MAX_FPS if self.format == "gif" else MAX_FPS
        if not (MIN_FPS <= self.fps <= limit):
            raise ExportError(f"fps {self.fps:g} is not allowed for {self.format.upper()}: "
                              f"from {MIN_FPS:g} to {limit}")
        if self.every < 1:
            raise ExportError(f"every {self.every} is not allowed: a whole number from 1")
        if self.format == "mp4" and (w % 2 or h % 2):
            return replace(self, size=(w + w % 2, h + h % 2))
        return self


def format_for(path: str | os.PathLike) -> str:
    """The format from the file's suffix, or ExportError naming the allowed ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = repr(suffix) if suffix else "(none)"
        raise ExportError(f"{path}: unknown output type {shown}; allowed: " + ", ".join(FORMATS))
    return FORMATS[suffix]


def parse_size(text: str) -> tuple[int, int]:
    """'600x400' → (600, 400); a single number is a square."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or not all(MIN_SIDE <= v <= MAX_SIDE for v in values):
        raise ExportError(f"--size {text!r} is not allowed: WIDTHxHEIGHT in pixels, e.g. 600x600, "
                          f"each from {MIN_SIDE} to {MAX_SIDE}")
    return values[0], values[1]



def check_frame_count(frames: int, options: ExportOptions) -> None:
    """An ExportError when one export would make too many frames (or, for a GIF, too many pixels to
    hold in memory), saying how many are allowed and how to get there."""
    if frames > MAX_FRAMES:
        raise ExportError(f"{frames} frames are too many for one export (at most {MAX_FRAMES}); "
                          "take every k-th step or a shorter range")
    w, h = options.size
    if options.format == "gif" and frames * w * h > GIF_MAX_PIXELS:
        allowed = GIF_MAX_PIXELS // (w * h)
        raise ExportError(f"a {w}x{h} GIF of {frames} frames would need ~{frames * w * h * 2 / 1e9:.1f} GB of "
                          f"memory while it is written; at that size at most {allowed} frames are allowed: "
                          "take every k-th step, a smaller size, or MP4 (written as it goes)")



class EncoderThread:
    """Runs a writer on its own thread, so encoding overlaps rendering (which must stay on the GUI
    thread). A bounded queue: put() waits when the encoder is behind. Errors surface on put()/close()."""

    _STOP = object()

    def __init__(self, writer, maxsize: int = ENCODER_QUEUE):
        self.writer = writer
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="export-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._STOP:
                return
            if self._error is None:
                try:
                    self.writer.append(item)
                except BaseException as error:  # noqa: BLE001 - handed to the caller
                    self._error = error

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, frame: np.ndarray) -> None:
        self._raise()
        self._queue.put(frame)

    def close(self) -> None:
        self._queue.put(self._STOP)
        self._thread.join()
        self._raise()
        self.writer.close()

    def abort(self) -> None:
        self._error = self._error or ExportError("cancelled")
        self._queue.put(self._STOP)
        self._thread.join()
        self.writer.abort()


class ReplayThread:
    """Replays snapshots for the given frame indices, in order, on its own thread (Qt-free work).

    Only drawing must happen on the GUI thread; rebuilding a snapshot (forward passes over the grid
    and the data) is the slowest part of an export, so it runs ahead here, a few frames at most.
    """

    _END = object()

    def __init__(self, recording, grid_size: int, indices: list[int], ahead: int = ENCODER_QUEUE):
        from .recording import Replay

        self._replay = Replay(recording, grid_size)  # its own model: Replay is not shared between threads
        self._indices = list(indices)
        self._queue: queue.Queue = queue.Queue(ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="export-replay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for index in self._indices:
            try:
                item = (index, self._replay.snapshot(index), None)
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                item = (index, None, error)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if self._stop.is_set() or item[2] is not None:
                return

    def next(self, index: int):
        """The snapshot of frame `index`, which must be the next one in order."""
        got, snapshot, error = self._queue.get()
        if error is not None:
            raise error
        if got != index:
            raise RuntimeError(f"replay out of order: wanted frame {index}, got {got}")
        return snapshot

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# ---- captions ------------------------------------------------------------------------------------
def caption_text(snapshot) -> str:
    """'step 1,200 · ReLU · loss 0.231 · accuracy 91.2 % · dead 12 %' (test set; train when there is none)."""
    from .activations import ACTIVATIONS

    names = snapshot.layer_activations
    labels = [ACTIVATIONS[n].label if n in ACTIVATIONS else n for n in dict.fromkeys(names)]
    activation = "/".join(labels) if labels else "no hidden layer"
    loss = snapshot.test_loss if np.isfinite(snapshot.test_loss) else snapshot.train_loss
    acc = snapshot.test_accuracy if np.isfinite(snapshot.test_accuracy) else snapshot.train_accuracy
    counts = snapshot.counts()
    dead = counts["dead"] / counts["total"] if counts["total"] else 0.0
    parts = [f"step {snapshot.step:,}", activation]
    if snapshot.diverged:
        parts.append("diverged")
    else:
        parts.append(f"loss {loss:.3f}")
    parts += [f"accuracy {100 * acc:.1f} %", f"dead {100 * dead:.0f} %"]
    return "  ·  ".join(parts)


# ---- the export itself ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportResult:
    path: Path
    frames: int
    size: tuple[int, int]
    bytes: int
    seconds: float


class Exporter:
    """Replays a Recording into a file, one frame per step() call (so a GUI can interleave events).

    render(snapshot) -> (H, W, 3) uint8 draws one frame (ui.export_render.FrameRenderer.render).
    The output file appears only after finish(); cancel() (or any error) leaves nothing behind.
    """

    def __init__(self, recording, path: str | os.PathLike, options: ExportOptions,
                 render: Callable[[object], np.ndarray]):
        from .recording import Replay

        self.options = options = options.checked()
        if not len(recording.frames):
            raise ExportError("nothing was recorded yet: train for a few steps first")
        self.indices = recording.select(options.every, options.first_step, options.last_step)
        if not self.indices:
            raise ExportError(f"no recorded step in the range {options.first_step}..{options.last_step}; "
                              f"recorded steps are {recording.frames[0].step}..{recording.frames[-1].step}")
        if options.format == "png":
            self.indices = self.indices[-1:]
        check_frame_count(len(self.indices), options)
        self.render = render
        self.recording = recording
        self.replay = Replay(recording, options.grid_size)  # for the palette sample, out of order
        self._start = time.perf_counter()
        self._out = AtomicFile(path)  # fails here, before any work, if the folder is not writable
        self._encoder: EncoderThread | None = None
        self._prefetch: ReplayThread | None = None
        self._cache: dict[int, np.ndarray] = {}
        self.done = 0
        self.finished = False

    @property
    def total(self) -> int:
        return len(self.indices)

    def _frame(self, index: int, *, in_order: bool = True) -> np.ndarray:
        if index in self._cache:
            if in_order:
                self._prefetch.next(index)  # keep the replay thread in step; the frame is drawn already
            return self._cache.pop(index)
        snapshot = self._prefetch.next(index) if in_order else self.replay.snapshot(index)
        frame = self.render(snapshot)
        if frame.shape[1::-1] != tuple(self.options.size):
            raise ExportError(f"the renderer drew {frame.shape[1]}x{frame.shape[0]}, "
                              f"not {self.options.size[0]}x{self.options.size[1]}")
        return frame

    def _open(self) -> None:
        sample = None
        if self.options.format == "gif":  # the palette comes from the first, middle and last frames
            picks = sorted({self.indices[0], self.indices[len(self.indices) // 2], self.indices[-1]})
            for i in picks:
                self._cache[i] = self._frame(i, in_order=False)
            sample = [self._cache[i] for i in picks]
        # the writer first: starting ffmpeg must not race our own replay thread (see Mp4Writer)
        writer = open_writer(self.options.format, self._out.temp, self.options.size, self.options.fps, sample)
        self._encoder = EncoderThread(writer)
        self._prefetch = ReplayThread(self.recording, self.options.grid_size, self.indices)

    def step(self) -> bool:
        """Render and queue the next frame; True when every frame is queued (then call finish())."""
        try:
            if self._encoder is None:
                self._open()
            if self.done < self.total:
                self._encoder.put(self._frame(self.indices[self.done]))
                self.done += 1
        except OSError as error:  # a full disk, ffmpeg gone: the user's to read, in one line
            self.cancel()
            raise write_failure(self._out.path, error) from None
        except BaseException:
            self.cancel()
            raise
        return self.done >= self.total

    def finish(self, stop: Callable[[], None] | None = None) -> ExportResult:
        """Encode what is queued and move the file into place. `stop()` is called just before the
        file is moved into place and may raise to prevent that (a stop requested meanwhile)."""
        try:
            while not self.step():
                pass
            self._encoder.close()
            self._prefetch.stop()
            if stop is not None:
                stop()
            path = self._out.commit()
        except OSError as error:
            self.cancel()
            raise write_failure(self._out.path, error) from None
        except BaseException:
            self.cancel()
            raise
        self.finished = True
        return ExportResult(path=path, frames=self.total, size=self.options.size,
                            bytes=path.stat().st_size, seconds=time.perf_counter() - self._start)

    def cancel(self) -> None:
        """Stop and remove the temporary file (safe to call twice, or after a failure)."""
        if self._prefetch is not None:
            prefetch, self._prefetch = self._prefetch, None
            prefetch.stop()
        if self._encoder is not None:
            encoder, self._encoder = self._encoder, None
            encoder.abort()
        self._out.discard()
        self._cache.clear()

    def run(self, progress: Callable[[int, int], None] | None = None,
            stop: Callable[[], None] | None = None) -> ExportResult:
        """Everything at once (the command line). `stop()` is called between frames and before the
        file is moved into place; whatever it raises cancels the export (nothing is left behind)."""
        try:
            while not self.step():
                if progress is not None:
                    progress(self.done, self.total)
                if stop is not None:
                    stop()
            if progress is not None:
                progress(self.done, self.total)
        except BaseException:
            self.cancel()
            raise
        return self.finish(stop)
