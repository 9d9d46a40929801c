"""Export: record → replay → frames → GIF / MP4 / PNG, with no screen needed; `playground export`.

Frames are drawn by the window's own views (ui/export_render.py, offscreen), fed with snapshots
replayed from a Recording (recording.py), so an export looks like the app. This module itself
imports no Qt at import time (the CLI registers it for every command); the renderer is loaded only
when frames are drawn.

Writing is atomic: frames go to a hidden temporary file in the output's folder, renamed into place
only when complete; on any failure or cancel the temporary file is removed, so a half-written
export never exists under the requested name, and one left by a killed export (its name carries
the pid) is removed by the next export to the same place. `playground export` stops on SIGINT or
SIGTERM between frames (a flag, never an exception through Qt): exit 130/143, one line, no file.
"""

from __future__ import annotations

import os
import queue
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .plane import DEFAULT_GRID

FORMATS = {".gif": "gif", ".mp4": "mp4", ".png": "png"}
VIEWS = ("boundary", "network", "window")
DEFAULT_SIZE = (600, 600)
MIN_SIDE, MAX_SIDE = 32, 4096  # pixels
MAX_FPS = 60
# A frame held 10 s is a slide show already; GIF delays top out at 655.35 s (16 bits of 1/100 s),
# and Pillow failed on --fps 0.001
MIN_FPS = 0.1
GIF_MAX_FPS = 50  # GIF delays are in 1/100 s and browsers slow anything under 2/100 s to 1/10 s
GIF_END_HOLD_S = 1.5  # the last GIF frame stays this long before the loop restarts
MP4_CRF = 20  # x264 constant quality: 18 is visually lossless, 23 the default; flat maps compress well
# x264 speed: veryfast encoded 600x600 boundary frames at 111 frames/s against medium's 60, for a file
# 10 % larger (214 vs 195 KB for 60 frames) at the same constant quality
MP4_PRESET = "veryfast"
MAX_FRAMES = 5000  # one export
# Pillow holds every GIF frame until the file is written (one byte a pixel), and copies each once
# more while writing: ~0.7 MB a 600x600 frame. This many frame pixels is ~1.5 GB at the peak.
GIF_MAX_PIXELS = 750_000_000
ENCODER_QUEUE = 4  # frames waiting for the encoder thread (each ~1 MB at 600x600)


class ExportError(Exception):
    """A problem the user can fix (path, format, options); the message says what and what is allowed."""


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


# ---- atomic output -------------------------------------------------------------------------------
class AtomicFile:
    """A temporary file next to `path`, renamed onto it by commit() and removed by discard().

    Created at once, so an unwritable folder is reported before any work is done. Its name,
    `.<stem>.<pid>.<random>.part<suffix>`, says which process writes it: a temporary left by an
    export that was killed (SIGKILL, a power cut) is removed by the next export to the same place,
    once its process is gone.
    """

    STEM_CHARS = 60  # of the output's name in the temporary's, so a long name leaves room for the rest

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        parent = self.path.parent
        _check_name_length(self.path)  # first: stat() itself fails on such a name
        if self.path.is_dir():
            raise ExportError(f"{self.path}: is a folder; give a file name such as {self.path / 'run.gif'}")
        remove_stale_parts(self.path)
        try:
            fd, name = tempfile.mkstemp(dir=parent, prefix=_part_prefix(self.path), suffix=".part" + self.path.suffix)
        except OSError as error:
            reason = error.strerror or str(error)
            if not parent.exists():
                reason = "the folder does not exist"
            elif not parent.is_dir():
                reason = "it is not a folder"
            raise ExportError(f"{self.path}: cannot write in {parent} ({reason})") from None
        os.close(fd)
        self.temp = Path(name)
        self.done = False

    def commit(self) -> Path:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.temp, 0o666 & ~umask)  # mkstemp makes 0600; an export is meant to be shared
        os.replace(self.temp, self.path)
        self.done = True
        return self.path

    def discard(self) -> None:
        if not self.done:
            self.temp.unlink(missing_ok=True)
            self.done = True


def _part_prefix(path: Path, pid: int | None = None) -> str:
    return f".{path.stem[:AtomicFile.STEM_CHARS]}.{os.getpid() if pid is None else pid}."


def _check_name_length(path: Path) -> None:
    try:
        limit = os.pathconf(path.parent if str(path.parent) else ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no such folder (reported later), or no pathconf
        limit = 255
    if len(os.fsencode(path.name)) > limit:
        raise ExportError(f"{shown_name(path.name)}: the file name is too long ({len(os.fsencode(path.name))} "
                          f"bytes); at most {limit} are allowed here")


def shown_name(name: str, limit: int = 60) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: no signal, only whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, another user's
        return True
    return True


def remove_stale_parts(path: Path) -> list[Path]:
    """Remove the temporaries of earlier exports to `path` whose process has gone; returns them."""
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows
        return []
    stem = re.escape(path.stem[:AtomicFile.STEM_CHARS])
    pattern = re.compile(rf"\.{stem}\.(\d+)\.[A-Za-z0-9_]+\.part{re.escape(path.suffix)}")
    removed = []
    try:
        candidates = list(path.parent.glob(".*.part" + path.suffix))
    except OSError:
        return []
    for candidate in candidates:
        match = pattern.fullmatch(candidate.name)
        if match and int(match.group(1)) != os.getpid() and not _process_alive(int(match.group(1))):
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:
                pass
    return removed


def write_failure(path: str | os.PathLike, error: OSError) -> ExportError:
    """An OSError while writing (a full disk, a name the file system refuses) as one line for the user."""
    reason = error.strerror
    if not reason:  # ffmpeg's failures arrive as text, its own output included: take its last line
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(error).__name__
        for known in ("No space left on device", "File name too long", "Permission denied"):
            if known in str(error):
                reason = known
    return ExportError(f"{path}: cannot write the file ({shown_name(reason, 120)}); nothing was written")


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


# ---- writers (Qt-free: they receive (H, W, 3) uint8 RGB frames) ----------------------------------
class GifWriter:
    """Animated GIF through Pillow: one adaptive 256-colour palette for all frames, looping forever.

    One palette (from sample frames spread over the animation) keeps colours from flickering between
    frames, and no dithering keeps flat areas flat, which is what makes Pillow's frame differencing
    (only the changed rectangle is stored) and LZW small. Fast octree beat median cut on our frames:
    mean error 1.8 vs 2.5 levels (max 16 vs 65) and half the file (boundary, 51 frames of 600x600:
    0.98 vs 1.8 MB). Pillow holds every frame until close().
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, palette_sample: list[np.ndarray] | None = None):
        self.path, self.size, self.fps = path, size, fps
        self._palette = self._make_palette(palette_sample) if palette_sample else None
        self._frames: list = []

    @staticmethod
    def _make_palette(sample: list[np.ndarray]):
        from PIL import Image

        montage = np.concatenate([np.ascontiguousarray(f[..., :3]) for f in sample], axis=0)
        step = max(1, int(np.sqrt(montage.shape[0] * montage.shape[1] / 600_000)))  # ≤ ~0.6 Mpx is plenty
        return Image.fromarray(montage[::step, ::step]).quantize(colors=256, method=Image.Quantize.FASTOCTREE)

    def append(self, frame: np.ndarray) -> None:
        from PIL import Image

        image = Image.fromarray(np.ascontiguousarray(frame[..., :3]))
        if self._palette is None:
            self._palette = self._make_palette([frame])
        self._frames.append(image.quantize(palette=self._palette, dither=Image.Dither.NONE))

    def close(self) -> None:
        if not self._frames:
            raise ExportError("no frames to write")
        delay = 1000.0 / self.fps  # ms; Pillow rounds to the GIF's 1/100 s
        durations = [delay] * len(self._frames)
        durations[-1] = max(delay, GIF_END_HOLD_S * 1000.0)
        first, *rest = self._frames
        first.save(self.path, format="GIF", save_all=True, append_images=rest, duration=durations,
                   loop=0)  # Pillow's default optimize stores only each frame's changed rectangle
        self._frames = []

    def abort(self) -> None:
        self._frames = []


class Mp4Writer:
    """H.264 MP4 through imageio-ffmpeg's bundled ffmpeg: yuv420p and +faststart, so it plays in
    browsers and slide software. Frames stream to ffmpeg's stdin; nothing is kept in memory.

    ffmpeg is started here, not through imageio_ffmpeg.write_frames, for three reasons:
    - write_frames passes preexec_fn, which forces a real fork(); fork runs OpenBLAS's atfork
      handler, which stops its thread pool under any thread inside a numpy matmul at that moment,
      and that thread then spins forever (seen: `playground export -o x.mp4` hung at 100 % CPU).
      Without preexec_fn (start_new_session is done by the C child code) subprocess uses vfork.
    - its own session: Ctrl+C in a terminal reaches only us, and we stop ffmpeg ourselves, so a
      stop is a stop and not an ffmpeg failure;
    - its stderr goes to a file we read when it fails (a full disk is then one line, not ffmpeg's
      dozen lines on the user's terminal).
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float):
        import subprocess

        import imageio_ffmpeg

        w, h = size
        if w % 2 or h % 2:
            raise ExportError(f"MP4 needs an even width and height, not {w}x{h}")
        self.path, self.size = path, size
        self._log = tempfile.TemporaryFile()
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo", "-vcodec", "rawvideo",
                   "-s", f"{w}x{h}", "-pix_fmt", "rgb24", "-r", f"{fps:g}", "-i", "-", "-an",
                   "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", str(MP4_CRF), "-preset", MP4_PRESET,
                   "-movflags", "+faststart", "-f", "mp4", str(path)]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._log, start_new_session=True)
        self.frames = 0

    def _failure(self) -> OSError:
        """ffmpeg's reason, as an OSError (ENOSPC for a full disk)."""
        import errno

        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        for code in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.ENAMETOOLONG, errno.EROFS):
            if os.strerror(code) in text:
                return OSError(code, os.strerror(code))
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return OSError(f"ffmpeg failed: {lines[-1] if lines else f'exit code {self._process.poll()}'}")

    def append(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        if (w, h) != self.size:
            raise ExportError(f"frame of {w}x{h} does not match the video's {self.size[0]}x{self.size[1]}")
        try:
            self._process.stdin.write(np.ascontiguousarray(frame[..., :3], dtype=np.uint8).tobytes())
        except (BrokenPipeError, ValueError):  # ffmpeg has ended: it says why in its log
            self._process.wait()
            raise self._failure() from None
        self.frames += 1

    def close(self) -> None:
        if not self.frames:
            self.abort()
            raise ExportError("no frames to write")
        try:
            self._process.stdin.close()
        except BrokenPipeError:
            pass
        if self._process.wait() != 0:
            raise self._failure()
        self._log.close()

    def abort(self) -> None:
        if self._process.poll() is None:
            self._process.kill()  # a cancelled encode's file is removed anyway
        try:
            self._process.stdin.close()
        except OSError:
            pass
        self._process.wait()
        self._log.close()


class PngWriter:
    """One PNG: the last frame it was given."""

    def __init__(self, path: Path, size: tuple[int, int]):
        self.path = path
        self._frame: np.ndarray | None = None

    def append(self, frame: np.ndarray) -> None:
        self._frame = frame

    def close(self) -> None:
        from PIL import Image

        if self._frame is None:
            raise ExportError("no frame to write")
        Image.fromarray(np.ascontiguousarray(self._frame[..., :3])).save(self.path, format="PNG", optimize=False)

    def abort(self) -> None:
        self._frame = None


def open_writer(fmt: str, path: Path, size: tuple[int, int], fps: float, palette_sample=None):
    if fmt == "gif":
        return GifWriter(path, size, fps, palette_sample)
    if fmt == "mp4":
        return Mp4Writer(path, size, fps)
    return PngWriter(path, size)


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


def export_recording(recording, path, options: ExportOptions, *, progress=None, stop=None) -> ExportResult:
    """Render a Recording offscreen with the app's views and write it (blocking; needs no screen)."""
    from .ui.export_render import FrameRenderer

    options = options.checked()
    renderer = FrameRenderer(options.view, options.size, caption=options.caption)
    try:
        exporter = Exporter(recording, path, options, renderer.render)
        return exporter.run(progress, stop)
    finally:
        renderer.close()


# ---- command line --------------------------------------------------------------------------------
class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal; redrawn at most 10 times a second."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self._last = 0.0
        self._open = False
        self._phases: set[str] = set()

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.enabled:  # a log, not a terminal: one line as each phase starts
            if label not in self._phases:
                self._phases.add(label)
                unit = "frames" if label == "rendering" else "steps"
                self.stream.write(f"playground: {label} {total:,} {unit}\n")
                self.stream.flush()
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        share = done / total if total else 1.0
        filled = int(round(share * self.width))
        bar = "█" * filled + "·" * (self.width - filled)
        self.stream.write(f"\r{label:<10} {bar} {100 * share:5.1f}%  {done:,}/{total:,}")
        self.stream.flush()
        self._open = True
        if done >= total:
            self.end()

    def end(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


def _positive(kind):
    def parse(text: str):
        import argparse

        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text} is not allowed: more than 0")
        return value
    return parse


def _fps(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not MIN_FPS <= value <= MAX_FPS:  # nan fails too
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: a number from {MIN_FPS:g} to {MAX_FPS} "
                                         f"(a GIF at most {GIF_MAX_FPS})")
    return value


def register_cli(subparsers) -> None:
    from .cli import grid_size, positive_int

    p = subparsers.add_parser(
        "export", help="train headless and write a GIF, MP4 or PNG",
        description="Train EXPERIMENT for --steps steps, recording every --every-th, and write OUT "
                    "(the format follows the suffix: .gif, .mp4 or .png). No screen needed.")
    p.add_argument("experiment", help="a .json or .toml experiment")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="run.gif, run.mp4 or run.png")
    p.add_argument("--steps", type=positive_int, default=1000, help="training steps (default 1000)")
    p.add_argument("--every", type=_positive(int), default=None, metavar="K",
                   help="record every K-th step, one frame each (default: steps/100, so ~100 frames)")
    p.add_argument("--fps", type=_fps, default=20.0, help="frames per second (default 20)")
    p.add_argument("--view", choices=VIEWS, default="boundary",
                   help="boundary: the decision map with points; network: neurons and their maps; window: the whole layout")
    p.add_argument("--size", default="600x600", metavar="WxH", help="pixels, caption included (default 600x600)")
    p.add_argument("--no-caption", action="store_true", help="leave out the line with step, activation, loss, accuracy, dead share")
    p.add_argument("--grid", type=grid_size, default=DEFAULT_GRID, help=__import__("argparse").SUPPRESS)
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from .cli import BadInput, load_experiment, load_trainer, prepare_engine

    try:
        fmt = format_for(args.output)
        options = ExportOptions(format=fmt, view=args.view, size=parse_size(args.size), fps=args.fps,
                                caption=not args.no_caption, grid_size=args.grid).checked()
    except ExportError as error:
        raise BadInput(str(error)) from None
    experiment = load_experiment(args.experiment)
    every = args.every or max(1, args.steps // 100)
    frames = args.steps // every + 2
    if fmt != "png":
        try:
            check_frame_count(frames - 1, options)
        except ExportError as error:
            raise BadInput(f"--steps {args.steps} with --every {every}: {error}") from None
    requested = parse_size(args.size)
    if options.size != requested:
        print(f"playground: MP4 needs even sides; writing {options.size[0]}x{options.size[1]}", file=sys.stderr)
    try:
        AtomicFile(args.output).discard()  # an unwritable folder fails now, before training
    except ExportError as error:
        raise BadInput(str(error)) from None

    from .cli import stop_on_signals
    from .recording import Recorder

    # SIGINT / SIGTERM only set a flag, checked between chunks of training and between frames: an
    # exception raised from the handler would surface inside Qt's paint code, which swallows it
    # (the export went on) or crashed. Stopped unwinds through Exporter.run, which removes the file.
    bar = Progress()
    with stop_on_signals("no file was written") as stop:
        try:
            prepare_engine()
            trainer = load_trainer(args.experiment, options.grid_size)  # a run goes on from its step
            recorder = Recorder(every=every if fmt != "png" else max(1, args.steps), capacity=max(2, frames))

            def training_progress(done, total):
                stop.check()
                bar("training", done, total)

            recorder.train(trainer, args.steps, progress=training_progress)
            stop.check()
            recorder.record(trainer, force=True)  # the final state, also when steps is not a multiple of every
            bar.end()
            recording = recorder.recording(trainer.history())
            try:
                result = export_recording(recording, args.output, options,
                                          progress=lambda d, t: bar("rendering", d, t), stop=stop.check)
            except ExportError as error:
                stop.check()  # ffmpeg gets Ctrl+C too: its failure is the stop, not a problem to report
                raise BadInput(str(error)) from None
        except BaseException:
            bar.end()
            stop.check()  # whatever failed after a stop request failed because of it
            raise
    bar.end()
    note = f" (training diverged at step {trainer.step_count})" if trainer.diverged else ""
    print(f"{result.path}: {result.frames} frame{'s' if result.frames != 1 else ''}, "
          f"{result.size[0]}x{result.size[1]}, {result.bytes / 1024:.0f} KB in {result.seconds:.1f} s{note}")
    return 0


# ---- measurements (for `playground bench`) -------------------------------------------------------
def c3_experiment():
    """The benchmark's C3 case: spiral, six hidden layers of 8 ReLUs."""
    from .experiment import Data, Experiment, Network

    return Experiment(data=Data(dataset="spiral"), network=Network(hidden=(8,) * 6, activation="relu"))


def measure_history_kb_per_1000_steps(experiment=None, steps: int = 1000) -> float:
    """KB of memory the Recorder holds per 1,000 recorded steps (every step recorded; C3 by default).

    Counted with tracemalloc, only allocations made by recording.py that are still alive (frames,
    flat weight vectors, states, gradient norms, the frame list), not the trainer's own.
    """
    import tracemalloc

    from . import recording as recording_module
    from .recording import Recorder
    from .training import Trainer

    trainer = Trainer(experiment or c3_experiment())
    recorder = Recorder(every=1, capacity=steps + 10)
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        recorder.train(trainer, steps)
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, recording_module.__file__)])
        total = sum(stat.size for stat in snap.statistics("filename"))
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return total / 1024 / len(recorder) * 1000


def measure_export_fps(size=(600, 600), view: str = "boundary", frames: int = 40, fmt: str = "gif",
                       experiment=None) -> dict:
    """Frames per second of a whole export (replay + offscreen render + encode) and of each part."""
    from .recording import Recorder, Replay
    from .training import Trainer
    from .ui.export_render import FrameRenderer

    trainer = Trainer(experiment or c3_experiment())
    recorder = Recorder(every=5)
    recorder.train(trainer, 5 * (frames - 1))
    recording = recorder.recording(trainer.history())
    options = ExportOptions(format=fmt, view=view, size=tuple(size))
    renderer = FrameRenderer(view, tuple(size), caption=True)
    try:
        replay = Replay(recording)
        t0 = time.perf_counter()
        snaps = [replay.snapshot(i) for i in range(len(recording))]
        t1 = time.perf_counter()
        images = [renderer.render(s) for s in snaps]
        t2 = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / f"bench.{fmt}"
            writer = open_writer(fmt, out, options.size, options.fps, images[::max(1, len(images) // 3)])
            for image in images:
                writer.append(image)
            writer.close()
            t3 = time.perf_counter()
            result = export_recording(recording, out, options)
            size_kb = result.bytes / 1024
    finally:
        renderer.close()
    n = len(recording)
    return {"frames": n, "size": f"{size[0]}x{size[1]}", "view": view, "format": fmt,
            "fps": n / result.seconds, "replay_fps": n / (t1 - t0), "render_fps": n / (t2 - t1),
            "encode_fps": n / (t3 - t2), "file_kb": size_kb}
