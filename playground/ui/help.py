"""The Help menu: what the neuron marks mean, the keyboard shortcuts, and About with the version.

The marks' definitions come from health.STATE_DEFINITIONS (the README's words), the shortcuts from
the window's own bindings (its QShortcuts and menu actions), so neither can drift from what is true.
"""

from __future__ import annotations

import html
from importlib import metadata

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMessageBox, QWidget

from ..health import PROBE_WORDS, STATE_DEFINITIONS, NeuronState
from . import colors

STATE_ORDER = (NeuronState.DEAD, NeuronState.SATURATED, NeuronState.SLEEPING, NeuronState.ALIVE)
FIELD_KEYS = (("Return in a field", "use the value typed (a refused one goes back, with the reason under it)"),
              ("Escape in a field", "go back to the last valid value"))


def version() -> str:
    """The installed package's version (pyproject.toml), or "unknown" when run from an uninstalled copy."""
    import playground

    found = getattr(playground, "__version__", None)
    if found:
        return str(found)
    try:
        return metadata.version("playground")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def state_tip(state: NeuronState) -> str:
    """One line for a legend mark's tooltip: the state's name and its definition."""
    return f"{colors.STATE_LABELS[state]}: {STATE_DEFINITIONS[state]} ({PROBE_WORDS[0].lower()}{PROBE_WORDS[1:]})"


def marks_html() -> str:
    rows = []
    for state in STATE_ORDER:
        mark = colors.STATE_MARKS[state] or "no mark"
        rows.append(f"<tr><td><b style='color:{colors.STATE_COLORS[state]}'>{html.escape(mark)}</b></td>"
                    f"<td><b>{colors.STATE_LABELS[state]}</b>: {html.escape(STATE_DEFINITIONS[state])}</td></tr>")
    return (f"<p>{html.escape(PROBE_WORDS)}:</p><table cellspacing='6'>{''.join(rows)}</table>"
            "<p>Hover a neuron for its state, its heatmap and its incoming weights.</p>")


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(keys, what they do) from the window's single-key shortcuts and its menu actions."""
    rows: dict[str, list[str]] = {}
    for shortcut in window.findChildren(QShortcut):
        what = shortcut.whatsThis() or "?"
        rows.setdefault(what, []).append(shortcut.key().toString(QKeySequence.SequenceFormat.NativeText))
    found = [(" or ".join(keys), what) for what, keys in rows.items()]
    for action in window.findChildren(QAction):
        if not action.shortcut().isEmpty() and action.text():
            what = action.text().replace("&", "").split("\t")[0].rstrip("…")
            found.append((action.shortcut().toString(QKeySequence.SequenceFormat.NativeText), what))
    return found + list(FIELD_KEYS)


def shortcuts_html(window: QWidget) -> str:
    rows = "".join(f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(what)}</td></tr>"
                   for keys, what in shortcut_rows(window))
    return (f"<table cellspacing='6'>{rows}</table><p>The single keys work wherever the focus is, except "
            "while you type into a field.</p>")


def about_html() -> str:
    return (f"<p><b>playground {html.escape(version())}</b></p><p>A desktop neural-network playground for "
            "teaching how activation functions shape learning.</p>")


class HelpMenu(QObject):
    """Fills the window's Help menu; each entry opens a non-blocking message (training keeps going)."""

    def __init__(self, window: QWidget, menu):
        super().__init__(window)
        self.window = window
        self.last_box: QMessageBox | None = None
        self.marks_action = menu.addAction("What the neuron &marks mean")
        self.marks_action.triggered.connect(lambda: self._show("What the neuron marks mean", marks_html()))
        self.keys_action = menu.addAction("&Keyboard shortcuts")
        self.keys_action.triggered.connect(lambda: self._show("Keyboard shortcuts", shortcuts_html(window)))
        menu.addSeparator()
        self.about_action = menu.addAction("&About playground")
        self.about_action.triggered.connect(lambda: self._show("About playground", about_html()))

    def _show(self, title: str, text: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.NoIcon, title, text, QMessageBox.StandardButton.Close, self.window)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_box = box
        return box
