"""File → Export animation… and File → Save picture…: the dialog, and an export that keeps the window live.

Widgets must be drawn on the GUI thread, so an ExportJob draws a frame or two per turn of the event
loop (a zero-interval QTimer, at most ~25 ms a turn), while snapshots are replayed ahead on one
thread and frames are encoded on another (export.Exporter). The progress dialog can cancel at any
time; nothing is left on disk unless the export completes.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressDialog,
                               QPushButton, QSpinBox, QWidget)

from ..export import DEFAULT_SIZE, FORMATS, GIF_MAX_FPS, MAX_FPS, MAX_SIDE, MIN_SIDE, Exporter, ExportOptions, format_for
from ..writers import AtomicFile, ExportError, PngWriter

TURN_SECONDS = 0.025  # GUI time spent drawing frames per turn of the event loop
FORMAT_LABELS = {"gif": "Animated GIF (.gif)", "mp4": "MP4 video, H.264 (.mp4)", "png": "PNG picture (.png)"}
VIEW_LABELS = {"boundary": "Decision boundary with points", "network": "Network with neuron maps",
               "window": "Whole window"}

# A default animation a slide can hold: ~10 s (200 frames at 20 fps), a few MB as a 600×600 GIF.
# From the menu the old default took every recorded step: 799 frames, 40 s, 11.9 MB.
TARGET_SECONDS = 10.0
# File bytes per pixel per frame, measured with `playground export spiral_relu.json --steps 4000
# --every 20 --view V` (201 frames at 600×600): the busiest example, so a settled run comes out
# smaller (the default circle: GIF boundary 0.045, network 0.021, window 0.018; 400×400 is ~15 %
# more a pixel, 800×600 ~20 % less). tests/test_export_dialog.py checks a real export against it.
BYTES_PER_PIXEL_FRAME = {
    ("gif", "boundary"): 0.060, ("gif", "network"): 0.026, ("gif", "window"): 0.086,
    ("mp4", "boundary"): 0.012, ("mp4", "network"): 0.0067, ("mp4", "window"): 0.0054,
}


def default_every(n_recorded: int, fps: float, seconds: float = TARGET_SECONDS) -> int:
    """Every k-th recorded step, so the animation lasts about `seconds` at `fps`."""
    return max(1, round(n_recorded / max(1.0, fps * seconds)))  # nearest: 7-13 s once there is enough


def estimate_bytes(fmt: str, view: str, size: tuple[int, int], frames: int) -> int:
    """About how big the file will be (BYTES_PER_PIXEL_FRAME); a PNG is one frame of a GIF's size."""
    per_pixel = BYTES_PER_PIXEL_FRAME.get((fmt, view), BYTES_PER_PIXEL_FRAME[("gif", view)] if fmt == "png" else 0.06)
    return int(per_pixel * size[0] * size[1] * frames)


def describe_estimate(frames: int, fps: float, approx_bytes: int) -> str:
    """ "201 frames, 10.1 s, about 4.3 MB" """
    megabytes = approx_bytes / 1e6
    weight = f"about {megabytes:.1f} MB" if megabytes >= 0.1 else f"about {approx_bytes / 1e3:.0f} KB"
    return f"{frames:,} frames, {frames / max(fps, 1):.1f} s, {weight}"


class ExportDialog(QDialog):
    """Format, view, size, fps, step range and caption; `picture=True` for a single PNG of the current state."""

    def __init__(self, parent: QWidget | None = None, *, steps: list[int] | None = None, picture: bool = False,
                 options: ExportOptions | None = None, path: str = ""):
        super().__init__(parent)
        self.picture = picture
        self.steps = list(steps or [])
        self.setWindowTitle("Save picture" if picture else "Export animation")
        if options is None:  # about TARGET_SECONDS of what was recorded, not every step of it
            options = ExportOptions()
            options = dataclasses.replace(options, every=default_every(len(self.steps), options.fps))
        form = QFormLayout(self)

        self.format_box = QComboBox()
        for key, label in FORMAT_LABELS.items():
            if not picture or key == "png":
                self.format_box.addItem(label, key)
        if not picture:
            self.format_box.setCurrentIndex(max(0, self.format_box.findData(options.format if options.format != "png" else "gif")))
        form.addRow("Format", self.format_box)

        self.view_box = QComboBox()
        for key, label in VIEW_LABELS.items():
            self.view_box.addItem(label, key)
        self.view_box.setCurrentIndex(self.view_box.findData(options.view))
        form.addRow("View", self.view_box)

        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box, value in ((self.width_box, options.size[0]), (self.height_box, options.size[1])):
            box.setRange(MIN_SIDE, MAX_SIDE)
            box.setSingleStep(10)
            box.setValue(value)
            box.setSuffix(" px")
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box)
        form.addRow("Size", size_row)

        self.fps_box = QDoubleSpinBox()
        self.fps_box.setRange(1, MAX_FPS)
        self.fps_box.setDecimals(0)
        self.fps_box.setValue(options.fps)
        self.every_box = QSpinBox()
        self.every_box.setRange(1, 10_000)
        self.every_box.setValue(options.every)
        self.first_box, self.last_box = QSpinBox(), QSpinBox()
        low, high = (self.steps[0], self.steps[-1]) if self.steps else (0, 0)
        for box, value in ((self.first_box, low), (self.last_box, high)):
            box.setRange(low, high)
            box.setGroupSeparatorShown(True)
            box.setValue(value)
        range_row = QHBoxLayout()
        range_row.addWidget(self.first_box)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.last_box)
        self.frames_label = QLabel()
        if not picture:
            form.addRow("Frames per second", self.fps_box)
            form.addRow("Steps", range_row)
            form.addRow("Every k-th recorded step", self.every_box)
            form.addRow("", self.frames_label)

        self.caption_box = QCheckBox("Caption: step, activation, loss, accuracy, dead share")
        self.caption_box.setChecked(options.caption)
        form.addRow("", self.caption_box)

        self.path_edit = QLineEdit(path)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        form.addRow("File", path_row)

        self.problem = QLabel()
        self.problem.setStyleSheet("color: #c0392b")
        self.problem.setWordWrap(True)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Save" if picture else "Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

        for box in (self.every_box, self.first_box, self.last_box, self.fps_box, self.width_box, self.height_box):
            box.valueChanged.connect(self._update_frames)
        self.view_box.currentIndexChanged.connect(self._update_frames)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    # ---- reading --------------------------------------------------------------------------------
    def options(self) -> ExportOptions:
        return ExportOptions(
            format=self.format_box.currentData(), view=self.view_box.currentData(),
            size=(self.width_box.value(), self.height_box.value()), fps=float(self.fps_box.value()),
            every=self.every_box.value(), first_step=self.first_box.value(), last_step=self.last_box.value(),
            caption=self.caption_box.isChecked())

    def path(self) -> Path:
        """The chosen file, with the format's suffix added when it has none."""
        text = self.path_edit.text().strip()
        fmt = self.format_box.currentData()
        path = Path(text).expanduser()
        if text and path.suffix.lower() not in FORMATS:
            path = path.with_name(path.name + "." + fmt)
        return path

    def frame_count(self) -> int:
        first, last = self.first_box.value(), self.last_box.value()
        chosen = [s for s in self.steps if first <= s <= last]
        every = self.every_box.value()
        return len(chosen[::every]) + (1 if chosen and (len(chosen) - 1) % every else 0)

    # ---- reacting -------------------------------------------------------------------------------
    def _format_changed(self) -> None:
        fmt = self.format_box.currentData()
        self.fps_box.setMaximum(GIF_MAX_FPS if fmt == "gif" else MAX_FPS)
        text = self.path_edit.text().strip()
        if text and Path(text).suffix.lower() in FORMATS and FORMATS[Path(text).suffix.lower()] != fmt:
            self.path_edit.setText(str(Path(text).with_suffix("." + fmt)))
        self._update_frames()

    def estimate(self) -> int:
        """About how many bytes the file will take, before anything is written."""
        size = (self.width_box.value(), self.height_box.value())
        return estimate_bytes(self.format_box.currentData(), self.view_box.currentData(), size, self.frame_count())

    def _update_frames(self) -> None:
        n = self.frame_count()
        self.frames_label.setText(describe_estimate(n, self.fps_box.value(), self.estimate())
                                  if n else "no recorded step in this range")

    def _browse(self) -> None:
        fmt = self.format_box.currentData()
        name, _ = QFileDialog.getSaveFileName(self, self.windowTitle(), self.path_edit.text() or f"playground.{fmt}",
                                              f"{FORMAT_LABELS[fmt]} (*.{fmt})")
        if name:
            self.path_edit.setText(name)

    def accept(self) -> None:  # noqa: D102 - checks before closing, says what is wrong
        try:
            if not self.path_edit.text().strip():
                raise ExportError("choose a file to write")
            if format_for(self.path()) != self.format_box.currentData():
                raise ExportError(f"{self.path().name}: the suffix does not match the format "
                                  f".{self.format_box.currentData()}")
            self.options().checked()
            if not self.picture and self.frame_count() == 0:
                raise ExportError("no recorded step in this range")
        except ExportError as error:
            self.problem.setText(str(error))
            return
        super().accept()


class ExportJob(QObject):
    """Runs an Exporter from the GUI thread's event loop; emits progress, then finished or failed."""

    sigProgress = Signal(int, int)  # frames done, total
    sigFinished = Signal(object)  # export.ExportResult
    sigFailed = Signal(str)  # a message for the user ("cancelled" when cancelled)

    def __init__(self, recording, path, options: ExportOptions, parent: QObject | None = None):
        super().__init__(parent)
        from .export_render import FrameRenderer

        self.options = options.checked()
        self.renderer = FrameRenderer(self.options.view, self.options.size, caption=self.options.caption)
        try:
            self.exporter = Exporter(recording, path, self.options, self.renderer.render)
        except BaseException:
            self.renderer.close()
            raise
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._turn)
        self._finisher: threading.Thread | None = None
        self._outcome = None
        self._in_turn = False
        self._cancel_requested = False

    def start(self) -> None:
        self._timer.start()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def _turn(self) -> None:
        if self._finisher is not None:  # encoding the queued frames (GIF: writing the file) off-thread
            if not self._finisher.is_alive():
                self._end()
            return
        deadline = time.perf_counter() + TURN_SECONDS
        self._in_turn = True  # drawing processes events: a Cancel click may arrive in the middle
        try:
            done = False
            while not done and time.perf_counter() < deadline and not self._cancel_requested:
                done = self.exporter.step()
        except Exception as error:  # noqa: BLE001 - any failure is the user's to read, not a crash
            self._in_turn = False
            self._fail(error)
            return
        self._in_turn = False
        if self._cancel_requested:
            self.cancel()
            return
        self.sigProgress.emit(self.exporter.done, self.exporter.total)
        if done:
            self._timer.setInterval(30)
            self._finisher = threading.Thread(target=self._finish, name="export-finish", daemon=True)
            self._finisher.start()

    def _finish(self) -> None:
        try:
            self._outcome = self.exporter.finish()
        except BaseException as error:  # noqa: BLE001
            self._outcome = error

    def _end(self) -> None:
        self._timer.stop()
        self.renderer.close()
        if isinstance(self._outcome, BaseException):
            self.sigFailed.emit(_describe(self._outcome))
        else:
            self.sigFinished.emit(self._outcome)

    def _fail(self, error: BaseException) -> None:
        self._timer.stop()
        self.exporter.cancel()
        self.renderer.close()
        self.sigFailed.emit(_describe(error))

    def cancel(self) -> None:
        """Stop now and remove the partial file (a file being finished is let finish, then removed)."""
        if not self._timer.isActive():
            return
        if self._in_turn:
            self._cancel_requested = True  # _turn stops after the frame being drawn
            return
        self._timer.stop()
        if self._finisher is not None:
            self._finisher.join()
            if not isinstance(self._outcome, BaseException) and self._outcome is not None:
                self._outcome.path.unlink(missing_ok=True)
        self.exporter.cancel()
        self.renderer.close()
        self.sigFailed.emit("cancelled")


def _describe(error: BaseException) -> str:
    if isinstance(error, ExportError):
        return str(error)
    if isinstance(error, OSError):
        return f"could not write the file: {error.strerror or error}"
    return f"the export failed: {error!r}"


# ---- the window's side ---------------------------------------------------------------------------
class ExportActions(QObject):
    """Adds File → Export animation… and File → Save picture… to a window.

    The window gives: `recorder` (the worker's RecorderProxy, which asks the training process for its recording) and `snapshot`
    (the newest drawn Snapshot), read through the two callables, so this module needs no other hook.
    """

    def __init__(self, window: QWidget, menu, recorder, snapshot):
        super().__init__(window)
        self.window = window
        self._recorder = recorder
        self._snapshot = snapshot
        self.options = ExportOptions()
        self.picture_options = ExportOptions(format="png", size=DEFAULT_SIZE)
        self.last_path = ""
        self.job: ExportJob | None = None
        self.progress: QProgressDialog | None = None
        self.export_action = menu.addAction("&Export animation…")
        self.export_action.triggered.connect(lambda: self.export_animation())
        self.picture_action = menu.addAction("Save &picture…")
        self.picture_action.triggered.connect(lambda: self.save_picture())

    def _say(self, text: str) -> None:
        bar = getattr(self.window, "statusBar", None)
        if bar is not None:
            bar().showMessage(text, 15000)

    def export_animation(self, *, dialog: ExportDialog | None = None) -> ExportJob | None:
        """Ask, then start an export in the background of the event loop; returns the running job."""
        if self.job is not None and self.job.running:
            self._say("An export is already running.")
            return None
        snapshot = self._snapshot()
        recording = self._recorder().recording(snapshot.history if snapshot is not None else None)
        if not len(recording):
            QMessageBox.information(self.window, "Export animation", "Nothing is recorded yet: train a few steps first.")
            return None
        if dialog is None:
            # the last choices, but about TARGET_SECONDS of this recording (it grows as training goes on)
            options = dataclasses.replace(self.options, every=default_every(len(recording.steps), self.options.fps))
            dialog = ExportDialog(self.window, steps=recording.steps, options=options, path=self.last_path)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
        self.options, path = dialog.options(), dialog.path()
        self.last_path = str(path)
        try:
            job = ExportJob(recording, path, self.options, self)
        except ExportError as error:
            QMessageBox.warning(self.window, "Export animation", str(error))
            return None
        self.job = job
        progress = QProgressDialog(f"Writing {path.name}…", "Cancel", 0, job.exporter.total, self.window)
        progress.setWindowTitle("Export animation")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        progress.canceled.connect(job.cancel)
        job.sigProgress.connect(lambda done, total: progress.setValue(min(done, total - 1)))
        job.sigFinished.connect(lambda result: self._finished(result, progress))
        job.sigFailed.connect(lambda message: self._failed(message, progress))
        self.progress = progress
        job.start()
        return job

    def _finished(self, result, progress: QProgressDialog) -> None:
        progress.reset()
        self._say(f"Exported {result.path.name}: {result.frames} frames, {result.size[0]}×{result.size[1]}, "
                  f"{result.bytes / 1024:,.0f} KB in {result.seconds:.1f} s")

    def _failed(self, message: str, progress: QProgressDialog) -> None:
        progress.reset()
        if message == "cancelled":
            self._say("Export cancelled; nothing was written.")
        else:
            QMessageBox.warning(self.window, "Export animation", f"Nothing was written: {message}")

    def save_picture(self, *, dialog: ExportDialog | None = None) -> Path | None:
        """A PNG of the current state, drawn by the chosen view at the chosen size."""
        snapshot = self._snapshot()
        if snapshot is None:
            self._say("Nothing to save yet.")
            return None
        if dialog is None:
            name = self.last_path and str(Path(self.last_path).with_suffix(".png"))
            dialog = ExportDialog(self.window, picture=True, options=self.picture_options, path=name)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
        options, path = dialog.options(), dialog.path()
        self.picture_options = options
        try:
            return write_picture(snapshot, path, options)
        except ExportError as error:
            QMessageBox.warning(self.window, "Save picture", str(error))
        except OSError as error:
            QMessageBox.warning(self.window, "Save picture", f"Nothing was written: {error.strerror or error}")
        return None


def write_picture(snapshot, path, options: ExportOptions) -> Path:
    """Draw one snapshot offscreen and write it as PNG, atomically."""
    from .export_render import FrameRenderer

    options = options.checked()
    out = AtomicFile(path)
    renderer = FrameRenderer(options.view, options.size, caption=options.caption)
    try:
        writer = PngWriter(out.temp, options.size)
        writer.append(renderer.render(snapshot))
        writer.close()
        return out.commit()
    finally:
        out.discard()
        renderer.close()
