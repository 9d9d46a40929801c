"""The export's files: an atomic output file and the GIF, MP4 and PNG writers (Qt-free).

Writers receive (H, W, 3) uint8 RGB frames and know nothing of snapshots or views (export.py feeds
them). Writing is atomic: frames go to a hidden temporary file in the output's folder, renamed into
place only when complete; on any failure or cancel the temporary file is removed, so a half-written
export never exists under the requested name, and one left by a killed export (its name carries
the pid) is removed by the next export to the same place.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

GIF_END_HOLD_S = 1.5  # the last GIF frame stays this long before the loop restarts
MP4_CRF = 20  # x264 constant quality: 18 is visually lossless, 23 the default; flat maps compress well
# x264 speed: veryfast encoded 600x600 boundary frames at 111 frames/s against medium's 60, for a file
# 10 % larger (214 vs 195 KB for 60 frames) at the same constant quality
MP4_PRESET = "veryfast"


class ExportError(Exception):
    """A problem the user can fix (path, format, options); the message says what and what is allowed."""


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
