"""The Lessons menu and the lesson panel: one click to a demonstration, its claim checked live.

Opening a lesson starts its first run fresh (MainWindow.start_fresh), sets the lesson's speed, and
shows a panel beside the window: the claim, what to click, what to watch, a button per run of a
contrast, and the check's stages, marked ✓ or ✗ as the live snapshots decide them (lessons.LiveCheck:
the same rule `playground lessons --check` applies headless). Previous/Next step through the list.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QDockWidget, QFormLayout, QFrame, QGridLayout, QHBoxLayout, QLabel, QMenu, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from .. import lessons
from . import layer_stats_view

MARKS = {True: "✓", False: "✗", None: "…"}
MARK_COLORS = {True: "#009e73", False: "#d55e00", None: "#555555"}  # colors.SERIES' green and vermilion


def _label(text: str = "", rich: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    return label


def uses_layer_chart(lesson: lessons.Lesson) -> bool:
    """Whether a check of the lesson reads the activations-by-layer figures."""
    return any(c.metric in lessons.LAYER_METRICS for run in lesson.runs for stage in run.check
               for c in stage.conditions)


def _widgets(item) -> set:
    """The widgets of a form item: its own, or those of its layout (the clip row: a box and a spin)."""
    if item.widget() is not None:
        return {item.widget()}
    layout = item.layout()
    return {layout.itemAt(i).widget() for i in range(layout.count())} - {None} if layout else set()


class LessonPanel(QWidget):
    """A lesson's words, its runs and its live check."""

    sigRun = Signal(int)  # open run i of the lesson
    sigCompare = Signal()  # race the lesson's runs in compare mode, over its seeds
    sigPrevious = Signal()
    sigNext = Signal()
    sigClose = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = _label(rich=True)
        self.claim = _label()
        self.click = _label(rich=True)
        self.watch = _label(rich=True)
        self.runs_row = QGridLayout()  # one button per run: side by side for two, a column for more
        self.check_title = _label("<b>Check</b>", rich=True)
        self.stages: list[QLabel] = []
        self.stage_box = QVBoxLayout()
        self.note = _label()
        self.previous_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.close_button = QPushButton("Close")
        self.previous_button.clicked.connect(self.sigPrevious)
        self.next_button.clicked.connect(self.sigNext)
        self.close_button.clicked.connect(self.sigClose)
        self.run_buttons: list[QPushButton] = []
        self.compare_button = QPushButton("Race them in Compare")
        self.compare_button.clicked.connect(self.sigCompare)
        self.compare_button.hide()
        layout = QVBoxLayout(self)
        for widget in (self.title, self.claim, self.click, self.watch):
            layout.addWidget(widget)
        layout.addLayout(self.runs_row)
        layout.addWidget(self.compare_button)
        layout.addWidget(self.check_title)
        layout.addLayout(self.stage_box)
        layout.addWidget(self.note)
        layout.addStretch(1)
        buttons = QHBoxLayout()
        for button in (self.previous_button, self.next_button, self.close_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.setMinimumWidth(260)

    def set_lesson(self, lesson: lessons.Lesson, position: tuple[int, int]) -> None:
        """Show `lesson`, number position[0] of position[1] in the list."""
        self.title.setText(f"<b>Lesson {position[0]} of {position[1]}: {html.escape(lesson.title)}</b>")
        self.claim.setText(lesson.claim)
        self.click.setText("<b>Click</b><br>" + "<br>".join(html.escape(line) for line in lesson.click))
        self.watch.setText("<b>Watch</b><br>" + "<br>".join(html.escape(line) for line in lesson.watch))
        for button in self.run_buttons:
            self.runs_row.removeWidget(button)
            button.deleteLater()
        self.run_buttons = []
        if len(lesson.runs) > 1:  # a contrast: one button per side
            for i, run in enumerate(lesson.runs):
                button = QPushButton(f"{chr(ord('A') + i)}: {run.label}")
                button.setToolTip(f"start the run “{run.label}” fresh")
                button.clicked.connect(lambda checked=False, i=i: self.sigRun.emit(i))
                row, column = (0, i) if len(lesson.runs) == 2 else (i, 0)
                self.runs_row.addWidget(button, row, column)
                self.run_buttons.append(button)
        spec = lessons.compare_spec(lesson)
        self.compare_button.setVisible(spec is not None)
        if spec is not None:
            self.compare_button.setText(f"Race them in Compare ({len(lesson.seeds)} seeds)")
            self.compare_button.setToolTip(f"every run side by side over the lesson's seeds, same data and "
                                           f"start: compare {spec}")
        self.previous_button.setEnabled(position[0] > 1)
        self.next_button.setEnabled(position[0] < position[1])
        self.show_check(None, [])

    def show_check(self, live: lessons.LiveCheck | None, views: list[lessons.StageView]) -> None:
        """The stages of the run on screen, each marked ✓, ✗ or … (pending)."""
        while len(self.stages) < len(views):
            label = _label(rich=True)
            self.stage_box.addWidget(label)
            self.stages.append(label)
        for label, view in zip(self.stages, views):
            label.setText(f'<span style="color:{MARK_COLORS[view.held]}"><b>{MARKS[view.held]}</b> {html.escape(view.text)}</span>')
            label.show()
        for label in self.stages[len(views):]:
            label.hide()
        run = live.run if live else None
        if live is None:
            self.check_title.setText("<b>Check</b>")
            self.note.setText("")
        elif run is None:
            self.check_title.setText("<b>Check</b>")
            self.note.setText("These settings are none of the lesson's runs: no check. Pick a run above, or "
                              "open the lesson again.")
        else:
            several = len(live.lesson.runs) > 1
            self.check_title.setText(f"<b>Check: {html.escape(run.label)}</b>" if several else "<b>Check</b>")
            self.note.setText(f"Seen from step {live.started_at}: press Reset to check this run from the start."
                              if live.started_at > 0 else "")


class LessonDock:
    """The Lessons menu, the panel in a dock, and opening lessons in `window` (a MainWindow)."""

    def __init__(self, window, menu: QMenu):
        self.window = window
        self.menu = menu
        self.lessons: list[lessons.Lesson] = []
        self.lesson: lessons.Lesson | None = None
        self.live: lessons.LiveCheck | None = None
        self.panel = LessonPanel()
        self.dock = QDockWidget("Lesson", window)
        self.dock.setObjectName("lesson_dock")
        scroll = QScrollArea()  # long claims at presentation size scroll rather than overlap
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.panel)
        scroll.setMinimumWidth(self.panel.minimumWidth() + 20)  # the panel never wider than its dock
        self.dock.setWidget(scroll)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                              | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.panel.sigRun.connect(self.open_run)
        self.panel.sigCompare.connect(self.race_runs)
        self.panel.sigPrevious.connect(lambda: self.step_lesson(-1))
        self.panel.sigNext.connect(lambda: self.step_lesson(+1))
        self.panel.sigClose.connect(self.close)
        window.sigDrawn.connect(self.on_snapshot)
        window.presentation_action.toggled.connect(lambda on: self.fit_controls())
        self.layers_dock = layer_stats_view.install(window)  # View → Activations by layer
        window.splitDockWidget(self.dock, self.layers_dock, Qt.Orientation.Vertical)
        self.layers_dock.hide()
        self._fill_menu()

    def _fill_menu(self) -> None:
        try:
            self.lessons = lessons.all_lessons()
        except lessons.LessonError as error:  # a broken file: say which, keep the window usable
            self.lessons = []
            action = self.menu.addAction(f"(a lesson file is broken: {error})")
            action.setEnabled(False)
            return
        self.actions: list[QAction] = []
        for i, lesson in enumerate(self.lessons, start=1):
            action = self.menu.addAction(f"&{i}  {lesson.title}" if i < 10 else f"{i}  {lesson.title}")
            action.setToolTip(lesson.claim)
            action.triggered.connect(lambda checked=False, lesson=lesson: self.open_lesson(lesson))
            self.actions.append(action)

    def open_lesson(self, lesson: lessons.Lesson | str, run: int = 0) -> None:
        """Open a lesson (or its name): its run fresh at its speed, and the panel."""
        if isinstance(lesson, str):
            lesson = next(item for item in self.lessons if item.name == lesson)
        self.lesson = lesson
        self.live = lessons.LiveCheck(lesson)
        names = [item.name for item in self.lessons]
        position = (names.index(lesson.name) + 1 if lesson.name in names else 1, max(1, len(self.lessons)))
        self.panel.set_lesson(lesson, position)
        self.dock.show()
        # a quarter of the window, at least what the words need at presentation size (1280 px: 360)
        self.window.resizeDocks([self.dock], [max(360, self.window.width() // 4)], Qt.Orientation.Horizontal)
        if uses_layer_chart(lesson):  # the chart its check reads, under the panel, a third of the height
            self.layers_dock.show()
            height = self.window.height()
            self.window.resizeDocks([self.dock, self.layers_dock], [height * 2 // 3, height // 3],
                                    Qt.Orientation.Vertical)
        self._set_speed(lesson.speed)
        self.open_run(run)
        self.fit_controls()

    def open_run(self, run: int) -> None:
        """Run `run` of the open lesson, fresh from step 0 on the lesson's first seed."""
        if self.lesson is None:
            return
        window = self.window
        window.path = None  # Save must never offer to overwrite the lesson file with an experiment
        window.start_fresh(self.lesson.experiment(run))
        if self.live is not None:
            self.live.expect_fresh()
        window.setWindowTitle(f"Playground — lesson: {self.lesson.title}")

    def race_runs(self):
        """The open contrast lesson's runs in a compare window, over the lesson's seeds (its first
        seed is seed 0 there, and so on); None when its runs differ in more than one field."""
        from .compare_window import CompareWindow

        spec = lessons.compare_spec(self.lesson) if self.lesson is not None else None
        if spec is None:
            return None
        self.window.set_playing(False)  # one training at a time on a classroom laptop
        # own starts: each variant is exactly the lesson's run (auto init differs by activation)
        race = CompareWindow(self.lesson.experiment(0), spec, len(self.lesson.seeds), same_start=False)
        race.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        race.setWindowTitle(f"Compare · lesson: {self.lesson.title}")
        self.races = [w for w in getattr(self, "races", []) if w.isVisible()] + [race]
        race.show()
        return race

    def _set_speed(self, speed: float) -> None:
        combo = self.window.run_bar.speed
        index = combo.findData(speed)
        if index < 0:  # a pace the list has not got: add it, so the control says what runs
            combo.addItem(f"{speed:g} steps/s", speed)
            index = combo.count() - 1
        if combo.currentIndex() == index:
            self.window.worker.set_speed(speed)
        combo.setCurrentIndex(index)  # the run bar sends it on to the worker

    def step_lesson(self, delta: int) -> None:
        if not self.lessons or self.lesson is None:
            return
        names = [item.name for item in self.lessons]
        i = names.index(self.lesson.name) if self.lesson.name in names else 0
        self.open_lesson(self.lessons[max(0, min(len(self.lessons) - 1, i + delta))])

    def close(self) -> None:
        if self.lesson is not None and uses_layer_chart(self.lesson):
            self.layers_dock.hide()  # it came with the lesson (View → Activations by layer keeps it)
        self.lesson, self.live = None, None
        self.dock.hide()
        self.fit_controls()

    def fit_controls(self) -> None:
        """In presentation mode with a lesson open, show only the side controls the lesson names (as TF
        Playground's classroom mode hides controls): the other Training rows, a tab with none of them,
        the whole side when nothing is named there. Everything comes back outside presentation mode.
        Controls in the main views (activation, layers) always stay: they are the demonstration."""
        window = self.window
        named = set(self.lesson.controls) if self.lesson and window.presentation_action.isChecked() else None
        hyper = window.hyper_panel
        form = hyper.layout()
        keep = None if named is None else {hyper.widgets[n] for n in named if n in hyper.widgets}
        shown_rows = 0
        if isinstance(form, QFormLayout):
            for row in range(form.rowCount()):
                label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
                if label is None or field is None:  # a note under a field spans the row: it shows itself
                    continue
                visible = keep is None or bool(_widgets(field) & keep)
                form.setRowVisible(row, visible)
                shown_rows += visible
        tabs = window.tabs
        data_named = named is None or any(n.startswith("data.") for n in named)
        tabs.setTabVisible(0, data_named)
        tabs.setTabVisible(1, named is None or shown_rows > 0)
        tabs.setVisible(named is None or data_named or shown_rows > 0)

    def on_snapshot(self, snapshot) -> None:
        if self.live is None or not self.dock.isVisible():
            return
        self.panel.show_check(self.live, self.live.update(snapshot))
