"""Offscreen rendering of the app's own views into numpy frames, for export.

The views are the window's (BoundaryView, NetworkView, or all its panels: WindowPanels), created hidden
(WA_DontShowOnScreen), sized to the frame, fed a Snapshot and grabbed. Works under
QT_QPA_PLATFORM=offscreen, so exporting needs no screen. GUI thread only, like every widget.
"""

from __future__ import annotations

import os
import sys

import numpy as np


# Qt's offscreen platform warns about this on every top-level widget; it means nothing to a user
_HARMLESS_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)
_quieted = False


def quiet_harmless_qt_messages() -> None:
    """Drop Qt's harmless platform chatter from stderr; every other message still goes through."""
    global _quieted
    if _quieted:
        return
    _quieted = True
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message):
        if message in _HARMLESS_QT_MESSAGES:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)


def ensure_app():
    """The running QApplication, or a new one (offscreen when there is no display)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    quiet_harmless_qt_messages()
    from .colors import configure_pyqtgraph
    configure_pyqtgraph()
    app = QApplication.instance()
    if app is None:
        app = QApplication(["playground-export"])
    return app


def _make_view(view: str):
    """A fresh widget for one of export.VIEWS."""
    if view == "boundary":
        from .boundary_view import BoundaryView

        return BoundaryView()
    if view == "network":
        from .network_view import NetworkView

        return NetworkView(editable=False)  # no layer buttons or menus in a picture
    if view == "window":
        from .window_panels import WindowPicture

        return WindowPicture()
    raise ValueError(f"view {view!r} is not one of boundary, network, window")


# Smallest size each view is laid out at; a smaller frame is that layout scaled down (a thumbnail),
# because below it the axes, colour bar and labels would leave no room for the picture itself. The
# window's picture has its own minimum size, the window's (window_panels.MINIMUM_SIZE).
MIN_LAYOUT = {"boundary": (300, 280), "network": (360, 260)}


def qimage_to_rgb(image) -> np.ndarray:
    """(H, W, 3) uint8 copy of a QImage."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    buffer = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buffer[:, :3 * w].reshape(h, w, 3).copy()


def caption_metrics(width: int, height: int) -> tuple[int, int]:
    """(font pixel size, caption band height) for a frame: about 1/40 of the smaller side."""
    font_px = int(np.clip(round(min(width, height) / 40), 9, 28))
    return font_px, int(round(font_px * 1.8))


class FrameRenderer:
    """Draws Snapshots with one of the app's views at a fixed size, optionally with a caption band."""

    def __init__(self, view: str, size: tuple[int, int], *, caption: bool = True, widget=None):
        from PySide6.QtCore import Qt

        self.app = ensure_app()
        self.size = (int(size[0]), int(size[1]))
        self.caption = caption
        self.font_px, band = caption_metrics(*self.size)
        self.band = band if caption else 0
        self.view_name = view
        self.widget = widget if widget is not None else _make_view(view)
        self._owned = widget is None
        w, h = self.size
        self.view_size = (w, h - self.band)
        self.widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        self._fit()
        self.widget.show()
        self.app.processEvents()

    def _fit(self) -> None:
        """Size the widget to the view area; a view that cannot be that small is drawn larger and scaled."""
        w, h = self.view_size
        hint = self.widget.minimumSizeHint()
        minimum = self.widget.minimumSize()
        floor_w, floor_h = MIN_LAYOUT.get(self.view_name, (1, 1))
        min_w = max(hint.width(), minimum.width(), floor_w)
        min_h = max(hint.height(), minimum.height(), floor_h)
        scale = max(1.0, min_w / w, min_h / h)
        self.render_size = (int(round(w * scale)), int(round(h * scale)))
        self.widget.resize(*self.render_size)

    def render(self, snapshot) -> np.ndarray:
        """(H, W, 3) uint8 RGB of the view showing `snapshot`, caption included, exactly self.size."""
        from PySide6.QtCore import QRect, Qt
        from PySide6.QtGui import QColor, QFont, QImage, QPainter

        self.widget.show_snapshot(snapshot)
        self.app.processEvents()
        image = self.widget.grab().toImage()
        vw, vh = self.view_size
        if (image.width(), image.height()) != (vw, vh):  # a large minimum size, or a high-DPI screen
            image = image.scaled(vw, vh, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        if not self.band:
            return qimage_to_rgb(image)
        from ..export import caption_text

        w, h = self.size
        frame = QImage(w, h, QImage.Format.Format_RGB888)
        background = image.pixelColor(0, image.height() - 1)  # the view's own background, for a seamless band
        frame.fill(background)
        painter = QPainter(frame)
        try:
            painter.drawImage(0, 0, image)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            font = QFont()
            font.setPixelSize(self.font_px)
            painter.setFont(font)
            text = caption_text(snapshot)
            metrics = painter.fontMetrics()
            if metrics.horizontalAdvance(text) > w - 8:  # narrow frames: the short form
                text = text.replace("accuracy", "acc").replace("  ·  ", " · ")
            text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, w - 8)
            luminance = background.lightnessF()
            painter.setPen(QColor(20, 20, 20) if luminance > 0.5 else QColor(235, 235, 235))
            painter.drawText(QRect(4, vh, w - 8, self.band), Qt.AlignmentFlag.AlignCenter, text)
        finally:
            painter.end()
        return qimage_to_rgb(frame)

    def close(self) -> None:
        if self._owned and self.widget is not None:
            self.widget.close()
            self.widget.deleteLater()
        self.widget = None


def export_recording(recording, path, options, *, progress=None, stop=None):
    """Render a Recording offscreen with the app's views and write it (blocking; needs no screen):
    export.Exporter, handed this module's renderer. Returns the export.ExportResult."""
    from ..export import Exporter

    options = options.checked()
    renderer = FrameRenderer(options.view, options.size, caption=options.caption)
    try:
        return Exporter(recording, path, options, renderer.render).run(progress, stop)
    finally:
        renderer.close()
