"""ShortcutKeeper: one-key shortcuts (Space, S, →, R) work anywhere but in a field being typed in.

Qt hands a printable key to a focused line edit or spin box before any shortcut (the field accepts
the ShortcutOverride), so once the learning-rate box had been used, Space/S/R typed "3  sr" into it,
and Play, the plots and the network view take no focus to end that. The rules here:

- a field is *being typed in* from the first key that edits it until it commits (Return/Enter/Tab,
  focus leaving, a pick from a combo box's list) or is reverted (Escape); only meanwhile do the
  shortcut keys go to the field, as text;
- Return/Enter and Escape also hand the focus back to the window;
- a click anywhere in the window outside the focused field (Play, a plot, the network) hands the focus
  back too; the field then commits what it holds (editingFinished), or the window reverts it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QWidget

# keys that edit a field's text without typing a character
_EDITING_KEYS = {Qt.Key.Key_Backspace, Qt.Key.Key_Delete}
_COMMIT_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter}


def text_field(widget) -> QWidget | None:
    """The field (spin box, editable combo box or line edit) that `widget` belongs to, or None."""
    field = None
    while isinstance(widget, QWidget):
        if isinstance(widget, (QAbstractSpinBox, QLineEdit)) or (isinstance(widget, QComboBox) and widget.isEditable()):
            field = widget  # keep climbing: a combo's or spin box's own line edit belongs to it
        elif field is not None:
            break
        widget = widget.parentWidget()
    return field


def _inside(widget, field: QWidget) -> bool:
    """Whether `widget` is `field` or one of its descendants (across popups, unlike isAncestorOf)."""
    while isinstance(widget, QWidget):
        if widget is field:
            return True
        widget = widget.parentWidget()
    return False


class ShortcutKeeper(QObject):
    """An application event filter for one window; `keys` are its single-key shortcuts."""

    def __init__(self, window: QWidget, keys, home: QWidget):
        """home: the widget that takes the focus back (it needs a focus policy other than NoFocus)."""
        super().__init__(window)
        self.window = window
        self.keys = set(keys)
        self.home = home
        self.typing: QWidget | None = None  # the field being typed in, if any
        QApplication.instance().installEventFilter(self)
        window.destroyed.connect(self.remove)

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def hand_back(self) -> None:
        """End any typing and give the keyboard back to the window's shortcuts."""
        self.typing = None
        field = text_field(QApplication.focusWidget())
        if field is not None and field.window() is self.window:
            self.home.setFocus(Qt.FocusReason.OtherFocusReason)  # the field's editingFinished commits

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress,
                        QEvent.Type.FocusIn):
            return False
        if not isinstance(obj, QWidget) or obj.window() is not self.window:
            return False
        if kind == QEvent.Type.MouseButtonPress:
            field = text_field(QApplication.focusWidget())
            if field is not None and field.window() is self.window and not _inside(obj, field):
                self.hand_back()
            return False
        field = text_field(obj)
        if field is None:
            return False
        if kind == QEvent.Type.FocusIn:
            # back from the combo's list (a value was picked) or into another field: typing is over
            if self.typing is not field or event.reason() == Qt.FocusReason.PopupFocusReason:
                self.typing = None
            return False
        key = event.key()
        if kind == QEvent.Type.ShortcutOverride:
            # Swallowing the override leaves it unaccepted, so the window's shortcut fires instead
            # of the field taking the key. Only plain keys, and only when nothing is being typed.
            plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
            return plain and key in self.keys and self.typing is not field
        # KeyPress reaching the field
        if key in _COMMIT_KEYS or key == Qt.Key.Key_Escape:
            if key == Qt.Key.Key_Escape and self.typing is field:
                self._revert(field)
            QTimer.singleShot(0, self, self.hand_back)  # after the field has taken the Return
        elif key == Qt.Key.Key_Tab or key == Qt.Key.Key_Backtab:
            self.typing = None
        elif key in _EDITING_KEYS or (event.text() and event.text().isprintable()):
            self.typing = field
        return False

    def _revert(self, field: QWidget) -> None:
        """Escape: ask the window to put the field back to the experiment's value (sync_panels)."""
        self.typing = None
        revert = getattr(self.window, "revert_fields", None)
        if revert is not None:
            revert()
