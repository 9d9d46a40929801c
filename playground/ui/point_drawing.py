"""Points you draw on the boundary view, with Undo and Clear.

Left click adds a point of class 1, right click class 0, shift+click erases the points near it. For
touch pads (no right click) the left button can be set to draw class 0 instead.

The drawer keeps the drawn set and an undo stack; it emits every new set as (x, y, label) rows.
The window makes them the experiment's data.points and the trainer trains on them with the weights
it has (Trainer.replace_data).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal

from ..plane import EXTENT

ERASE_RADIUS = 0.4  # input units: about a point's drawn size at the default 12-unit-wide view
UNDO_LIMIT = 200


class PointDrawer(QObject):
    """Turns clicks on a BoundaryView into a drawn point set (see the module docstring)."""

    sigPoints = Signal(object)  # tuple of (x, y, label) rows: the drawn set after a change

    def __init__(self, boundary_view, extent: float = EXTENT):
        super().__init__(boundary_view)
        self.view = boundary_view
        self.extent = extent
        self.enabled = False
        self.left_class = 1  # 0 for touch pads: the left button draws class 0
        self.points: list[tuple[float, float, int]] = []
        self._undo: list[list[tuple[float, float, int]]] = []
        boundary_view.graphics.viewport().installEventFilter(self)

    def start_from(self, rows) -> None:
        """Begin drawing on these points (the current data), with nothing to undo yet."""
        self.points = [(float(x), float(y), int(label)) for x, y, label in rows]
        self._undo.clear()

    def data_point(self, widget_pos) -> tuple[float, float]:
        """Viewport pixel -> plot coordinates (input units)."""
        scene = self.view.graphics.mapToScene(widget_pos)
        point = self.view.plot.vb.mapSceneToView(scene)
        return point.x(), point.y()

    def widget_point(self, x: float, y: float):
        """Plot coordinates -> viewport pixel (tests click there)."""
        scene = self.view.plot.vb.mapViewToScene(QPointF(x, y))
        return self.view.graphics.mapFromScene(scene)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if not self.enabled or event.type() != QEvent.Type.MouseButtonPress:
            return False
        x, y = self.data_point(event.position().toPoint())
        if abs(x) > self.extent or abs(y) > self.extent:
            return False
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.erase(x, y)
        elif event.button() == Qt.MouseButton.LeftButton:
            self.add(x, y, self.left_class)
        elif event.button() == Qt.MouseButton.RightButton:
            self.add(x, y, 1 - self.left_class)
        else:
            return False
        return True

    def add(self, x: float, y: float, label: int) -> None:
        self._change([*self.points, (round(x, 4), round(y, 4), int(label))])

    def erase(self, x: float, y: float, radius: float = ERASE_RADIUS) -> None:
        kept = [p for p in self.points if (p[0] - x) ** 2 + (p[1] - y) ** 2 > radius * radius]
        if len(kept) != len(self.points):
            self._change(kept)

    def clear(self) -> None:
        if self.points:
            self._change([])

    def undo(self) -> bool:
        if not self._undo:
            return False
        self.points = self._undo.pop()
        self.sigPoints.emit(tuple(self.points))
        return True

    def _change(self, points) -> None:
        self._undo.append(self.points)
        del self._undo[:-UNDO_LIMIT]
        self.points = points
        self.sigPoints.emit(tuple(points))
