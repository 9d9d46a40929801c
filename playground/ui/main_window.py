"""MainWindow: wires controls → experiment → worker, and snapshots → views.

The window keeps the authoritative Experiment. Every edit from a panel is validated with
Experiment.with_field; a refused edit shows the message and puts the widgets back, so nothing the
user had is lost. Snapshots arrive from the worker as queued signals; only the newest is drawn, once
per pass of the event loop, and the worker makes the next one only after that (no backlog).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import (QCoreApplication, QEvent, QPoint, QRect, QSettings, QSize, QStandardPaths, QTimer, Qt,
                            Signal)
from PySide6.QtGui import QAction, QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QStyle, QWidget

from .. import bundled, runfile
from ..datasets import read_points_csv
from ..divergence import RateTrial, find_stable_rate
from ..experiment import Experiment, ExperimentError
from ..fields import FIELDS, NUMBER, WHOLE
from ..plane import DEFAULT_GRID
from .compare_window import open_compare
from .export_dialog import ExportActions
from .focus import ShortcutKeeper
from .help import HelpMenu
from .lesson_panel import LessonDock
from .point_drawing import PointDrawer
from .process_worker import ProcessTrainingWorker
from .window_panels import DEFAULT_SIZE, FRAME_ALLOWANCE, MINIMUM_SIZE, WindowPanels

PRESENTATION_SCALE = 1.35  # font scale in presentation mode (projectors)
RECENT_LIMIT = 8  # File → Open recent
AUTOSAVE_SECONDS = 5.0  # "every few seconds while it changes" (issue 12); a run file is ~5-50 KB, ~1-3 ms
SHORTCUT_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_S, Qt.Key.Key_Right, Qt.Key.Key_R)


def window_settings() -> QSettings:
    """Where the window's size and place are kept between runs (~/.config/playground/playground.conf
    on Linux). Tests point QSettings.setPath at a temporary directory (tests/conftest.py)."""
    return QSettings("playground", "playground")


def autosave_file() -> Path:
    """Where the crash-safe copy of the current run is kept (~/.local/share/playground/autosave.pgrun
    on Linux; XDG_DATA_HOME moves it, as tests do)."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(folder or Path.home() / ".playground") / "autosave.pgrun"


def available_geometry(widget: QWidget) -> QRect:
    """The part of the widget's screen a window may use (no task bars, no docks)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The live window: run bar, data and hyper-parameter panels, network, boundary, charts."""

    sigDrawn = Signal(object)  # a snapshot has just been drawn (tests and screenshots wait on it)
    _sigRateTrial = Signal(object, object)  # (experiment, RateTrial) from the trial's thread

    def __init__(self, experiment: Experiment | None = None, path: str | None = None,
                 start_worker: bool = True, grid_size: int = DEFAULT_GRID, remember_placement: bool = True):
        """remember_placement: open at the last run's size and place and keep this one's on closing
        (QSettings); a screenshot run takes neither, so it is the same on every machine's settings.
        start_worker=False: a window that only shows what it is given (show_snapshot), for tests that
        look at it: no training process, and 1280×800 wherever the screen is (no placement)."""
        super().__init__()
        self.experiment = experiment or Experiment()
        self.path = path
        self.snapshot = None
        # unsaved work: the (step, experiment) last saved or opened; a snapshot that differs marks the
        # title. Closing or opening asks only in the app itself (app.run turns it on): never in tests,
        # where a modal question would wait forever
        self._clean = (0, self.experiment)
        self.ask_before_discarding = False
        self._autosave_path: Path | None = None  # set by start_autosave (app.run)
        self._autosaved: tuple | None = None  # (step, experiment) last written there
        self._latest = None  # newest snapshot not yet drawn
        self._draw_scheduled = False
        self._stages: list = []  # the rest of the frame being drawn, one step per pass of the event loop
        # A timer, not QTimer.singleShot(0) (a posted call): posted calls run before overdue timers,
        # so a chain of them would keep the window's other timers waiting until the frame is done.
        self._stage_timer = QTimer(self)
        self._stage_timer.setSingleShot(True)
        self._stage_timer.setInterval(0)
        self._stage_timer.timeout.connect(self._next_stage)
        self._base_font = QFont(self.font())
        self._build()
        self._build_menus()
        self._build_shortcuts()
        self.statusBar()  # made now, not by the first message: the panels must not jump when one shows
        self._update_title()
        self._live = start_worker  # a window that does not train neither restores nor keeps a placement
        self._remembers = start_worker and remember_placement
        self._fits_screen = True  # shrink into the screen (set_size turns it off)
        self._fitted_once = False  # fitted again once shown, when the frame's real size is known
        self._placement_before: tuple[QPoint, QSize] | None = None  # before presentation mode
        if self._live:
            self.restore_placement()
        else:
            self.resize(DEFAULT_SIZE)
            self.setMinimumSize(MINIMUM_SIZE)
        self.data_panel.set_experiment(self.experiment)
        self.hyper_panel.set_experiment(self.experiment)
        # Training in a child process, started with the worker (none for a window that does not train)
        self.worker = ProcessTrainingWorker(self.experiment, grid_size=grid_size)
        self.worker.sigSnapshot.connect(self._on_snapshot)
        self.worker.sigRunning.connect(self.run_bar.set_playing)
        self.worker.sigError.connect(lambda text: self.show_problem(text))
        self.worker.sigStatus.connect(self._show_status)
        self.worker.set_speed(self.run_bar.speed.currentData())  # the run bar's paced default, not "max"
        self._connect_training_trouble()
        self._rate_timer = QTimer(self)  # the measured speed, twice a second
        self._rate_timer.timeout.connect(self._show_rate)
        self._rate_timer.start(500)
        self.lesson_dock = LessonDock(self, self.lessons_menu)  # the Lessons menu and the lesson panel
        if start_worker:
            self.worker.start()

    # ---- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.panels = panels = WindowPanels()
        self.rate_trial: RateTrial | None = None  # for the diverged experiment in self._rate_trial_for
        self._rate_trial_for = None
        self._stage_failures: dict[tuple[str, str], int] = {}
        self.run_bar, self.banner, self.stopped_banner = panels.run_bar, panels.banner, panels.stopped_banner
        self.data_panel, self.hyper_panel, self.tabs = panels.data_panel, panels.hyper_panel, panels.tabs
        self.network_view, self.boundary_view = panels.network_view, panels.boundary_view
        self.charts, self.activation_view = panels.charts, panels.activation_view
        self._main = panels.main  # the side tabs | the views splitter (fit_side_tabs)
        self.setCentralWidget(panels)

        self.run_bar.sigPlay.connect(self.set_playing)
        self.run_bar.sigStep.connect(self.step_once)
        self.run_bar.sigReset.connect(self.reset)
        self.run_bar.sigSpeed.connect(lambda speed: self.worker.set_speed(speed))
        self.banner.sigReset.connect(self.reset)
        self.banner.sigLowerRate.connect(self.lower_learning_rate)
        for panel in (self.data_panel, self.hyper_panel, self.network_view, self.activation_view):
            panel.sigEdit.connect(self.edit)
        self.data_panel.sigLoadCsv.connect(self.import_csv)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open experiment…", QKeySequence.StandardKey.Open, self.open_experiment)
        self._action(file_menu, "&Save experiment…", QKeySequence.StandardKey.Save, self.save_experiment)
        self._action(file_menu, "Save &run…", QKeySequence("Ctrl+Shift+S"), self.save_run)
        self._action(file_menu, "Export as &PyTorch…", None, self.export_pytorch)
        self._action(file_menu, "Import &CSV points…", None, self.import_csv)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.examples_menu = file_menu.addMenu("&Examples")
        self.examples_menu.aboutToShow.connect(self._fill_examples_menu)
        file_menu.addSeparator()
        # Export animation… / Save picture…: replays what the worker recorded (export_dialog.py)
        self.export_actions = ExportActions(self, file_menu, lambda: self.worker.recorder, lambda: self.snapshot)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        self._build_points_menu(self.menuBar().addMenu("&Points"))
        view_menu = self.menuBar().addMenu("&View")
        self.presentation_action = self._action(view_menu, "&Presentation mode", QKeySequence(Qt.Key.Key_F11),
                                                self.set_presentation)
        self.presentation_action.setCheckable(True)
        self._action(view_menu, "&Compare…", None, lambda: open_compare(self, self.experiment))
        run_menu = self.menuBar().addMenu("&Run")
        # Shortcuts live on the window (below); the menu shows them for discoverability.
        for text, key, slot in (("Play / pause\tSpace", None, self.toggle_play),
                                ("Step\tS", None, self.step_once), ("Reset\tR", None, self.reset)):
            self._action(run_menu, text, key, slot)
        self.lessons_menu = self.menuBar().addMenu("&Lessons")  # filled by LessonDock (lesson_panel.py)
        self.help_menu = HelpMenu(self, self.menuBar().addMenu("&Help"))

    def _action(self, menu, text, key, slot) -> QAction:
        action = QAction(text, self)
        if key is not None:
            action.setShortcut(key)
        action.triggered.connect(lambda checked=False: slot(checked) if action.isCheckable() else slot())
        menu.addAction(action)
        return action

    def _build_shortcuts(self) -> None:
        for key, slot, what in ((Qt.Key.Key_Space, self.toggle_play, "play / pause"),
                                (Qt.Key.Key_S, self.step_once, "one step"),
                                (Qt.Key.Key_Right, self.step_once, "one step"),
                                (Qt.Key.Key_R, self.reset, "reset: fresh weights from the seed, same data")):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setWhatsThis(what)  # Help → Keyboard shortcuts lists it with this
            shortcut.activated.connect(slot)
        # ... wherever the focus is, except while the user types into a field
        self.shortcut_keeper = ShortcutKeeper(self, SHORTCUT_KEYS, home=self.centralWidget())
        self.centralWidget().setFocus()

    # ---- run control ---------------------------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        self.run_bar.set_playing(playing)
        if playing:
            self.worker.play()
        else:
            self.worker.pause()

    def toggle_play(self) -> None:
        self.set_playing(not self.run_bar.play_button.isChecked())

    def step_once(self) -> None:
        self.set_playing(False)
        self.worker.step(1)

    def train_steps(self, n: int) -> None:
        """Train n steps and stop (the --steps of the command line)."""
        self.worker.step(n)

    def reset(self) -> None:
        self.banner.hide()
        self.worker.reset()

    def lower_learning_rate(self) -> None:
        """The banner's one click: the rate a trial found to train from the same start (run now if
        the background trial has not finished), then reset."""
        if self.rate_trial is None or self._rate_trial_for != self.experiment:
            self.rate_trial, self._rate_trial_for = find_stable_rate(self.experiment), self.experiment
        if self.edit("training.learning_rate", self.rate_trial.offered):
            self.reset()

    # ---- editing -------------------------------------------------------------------------------
    def edit(self, path: str, value) -> bool:
        """Validate one change and hand it to the worker; a refused change is explained, not lost."""
        exp = self.experiment
        try:
            if path == "network.shape":  # sizes and activation together (a per-layer tuple must match)
                hidden, activation = value
                new = dataclasses.replace(exp, network=dataclasses.replace(
                    exp.network, hidden=tuple(hidden), activation=activation))
            elif path == "data.dataset":  # a built-in dataset replaces loaded points
                new = exp.with_field("data.points", None).with_field("data.dataset", value)
            else:
                new = exp.with_field(path, value)
        except ExperimentError as error:
            self.show_problem(str(error))
            self._sync_panels()
            self._note_refused(path, str(error))
            return False
        if new != exp:  # a field committing its unchanged value again keeps the note
            self._clear_notes()
        self.set_experiment(new)
        return True

    def _note_refused(self, path: str, message: str) -> None:
        """Say beside the field why its value was refused (the field is back at the last valid one)."""
        row = FIELDS.get(path)  # the fields with a note are number fields: "back to 0.1"
        kept = row.shown(self.experiment) if row is not None and row.kind in (NUMBER, WHOLE) else "the last value"
        for panel in (self.hyper_panel, self.data_panel):
            if panel.notes.show(path, message, kept):
                return

    def _clear_notes(self) -> None:
        self.hyper_panel.notes.clear()
        self.data_panel.notes.clear()

    def revert_fields(self) -> None:
        """Put every field back to the experiment (Escape in a field: focus.ShortcutKeeper)."""
        self._sync_panels()

    def set_experiment(self, experiment: Experiment) -> None:
        if experiment == self.experiment:
            self._sync_panels()
            return
        self.experiment = experiment
        self._sync_panels()
        self.worker.apply(experiment)

    def _sync_panels(self) -> None:
        self.panels.set_experiment(self.experiment)

    def _show_status(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    def show_problem(self, text: str, title: str = "Playground") -> None:
        """A clear message in the status bar (files that cannot be read get a dialog: warn)."""
        self.statusBar().showMessage(text, 15000)

    # ---- files ---------------------------------------------------------------------------------
    def open_experiment(self, path: str | None = None) -> bool:
        if not self.may_discard_run():
            return False
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open experiment or run", "",
                                                  "Experiments and runs (*.json *.toml *.pgrun)")
            if not path:
                return False
        if runfile.is_run_file(path):
            return self.open_run(path)
        try:
            experiment = Experiment.load(path)
        except ExperimentError as error:
            self.warn("Cannot open the experiment", f"{error}\n\nThe current experiment is unchanged.")
            return False
        self.path = path
        self._update_title()
        self.start_fresh(experiment)
        return True

    def start_fresh(self, experiment: Experiment) -> None:
        """A new run of `experiment`: paused at step 0 with its own weights from its seed, no banner
        left from the last run. Also when it equals the current one (opening the same file again)."""
        self.set_playing(False)
        self.banner.hide()
        self._clear_notes()
        self.experiment = experiment
        self._sync_panels()
        self.worker.apply(experiment)
        self.worker.reset()  # apply() keeps the weights of a "hot" change, and a diverged run
        self._mark_clean(0, experiment)

    def save_experiment(self, path: str | None = None) -> bool:
        if not path:
            start = self.path if self.path and self.path.endswith(".json") else "experiment.json"
            start = self._outside_examples(start)
            path, _ = QFileDialog.getSaveFileName(self, "Save experiment", start, "JSON experiment (*.json)")
            if not path:
                return False
        try:
            self.experiment.save(path)
        except OSError as error:
            self.warn("Cannot save the experiment", f"{path}: {error.strerror or error}")
            return False
        self.path = path
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def warn(self, title: str, text: str) -> None:
        """A problem the user must see: a non-blocking warning dialog, its first line in the status bar."""
        self.statusBar().showMessage(text.splitlines()[0], 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal but non-blocking: training and tests keep running
        self.last_warning = box

    def _update_title(self) -> None:
        name = Path(self.path).name if self.path else "default experiment"
        self.remember_recent(self.path)
        self.setWindowTitle(f"Playground — {name}[*]")  # [*]: Qt shows "*" while setWindowModified(True)

    # ---- runs: save, open, unsaved changes (runfile.py) ----------------------------------------
    def save_run(self, path: str | None = None) -> bool:
        """File → Save run: the run as it is now (weights, optimiser, step, charts) in a .pgrun."""
        if not path:
            start = self._outside_examples(str(Path(self.path).with_suffix(runfile.SUFFIX))) if self.path else "run.pgrun"
            path, _ = QFileDialog.getSaveFileName(self, "Save run", start, "Playground run (*.pgrun)")
            if not path:
                return False
        try:
            experiment, state = self.worker.run_state()
            runfile.write_run(path, experiment, state)
        except (OSError, TimeoutError) as error:
            self.warn("Cannot save the run", f"{path}: {getattr(error, 'strerror', None) or error}")
            return False
        self.path = str(path)
        self._update_title()
        self._mark_clean(int(state["counters"][0]), experiment)
        self.statusBar().showMessage(f"Saved the run at step {self._clean[0]:,} to {path}", 5000)
        return True

    def open_run(self, path: str) -> bool:
        """Go on from a saved run: its experiment, step, boundary and charts; paused. A file that
        cannot be read is explained and the current run is kept as it is."""
        try:
            trainer = runfile.load_run(path)  # every check, before anything here changes
        except runfile.RunFileError as error:
            self.warn("Cannot open the run", f"{error}\n\nThe current run is unchanged.")
            return False
        self.set_playing(False)
        self.banner.hide()
        self._clear_notes()
        self.experiment = trainer.experiment
        self._sync_panels()
        self.worker.restore_run(trainer.experiment, trainer.state())
        self.path = str(path)
        self._update_title()
        self._mark_clean(trainer.step_count, trainer.experiment)
        return True

    def export_pytorch(self, path: str | None = None) -> bool:
        """File → Export as PyTorch: net.py (a torch.nn.Module) and net.npz beside it (export_torch.py)."""
        from ..export_torch import write_torch
        from ..training import Trainer

        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export as PyTorch", "net.py", "Python (*.py)")
            if not path:
                return False
        try:
            experiment, state = self.worker.run_state()
            trainer = Trainer(experiment, grid_size=20)  # grids are not needed: the weights are
            trainer.restore(state)
            script, weights = write_torch(trainer, path, source_name=Path(self.path).name if self.path else "")
        except (OSError, TimeoutError) as error:
            self.warn("Cannot export", f"{path}: {getattr(error, 'strerror', None) or error}")
            return False
        self.statusBar().showMessage(f"Wrote {script} and {weights.name} (step {trainer.step_count:,}); "
                                     f"run: python {script.name}", 15000)
        return True

    @property
    def saved_step(self) -> int:
        """The step of the run last saved or opened: 0 for a fresh run, -1 for a recovered autosave (no file yet)."""
        return self._clean[0]

    def _mark_clean(self, step: int, experiment: Experiment) -> None:
        self._clean = (step, experiment)
        self.setWindowModified(False)

    def _note_modified(self, snapshot) -> None:
        """The title's mark: this run has moved on from what was last saved or opened."""
        modified = (snapshot.step, snapshot.experiment) != self._clean
        if modified != self.isWindowModified():
            self.setWindowModified(modified)

    def may_discard_run(self) -> bool:
        """True when the current run may go: nothing unsaved, or the user saved it or said discard."""
        if not (self.ask_before_discarding and self.isWindowModified()):
            return True
        answer = self._ask_unsaved()
        if answer == "save":
            return self.save_run()
        return answer == "discard"

    # ---- points you draw (point_drawing.py) ----------------------------------------------------
    def _build_points_menu(self, menu) -> None:
        self.drawer = PointDrawer(self.boundary_view)
        self.drawer.sigPoints.connect(self.set_drawn_points)
        self.draw_action = self._action(menu, "&Draw points on the boundary (left: class 1, right: 0, "
                                              "shift: erase)", None, self.set_drawing)
        self.draw_action.setCheckable(True)
        self.touch_action = self._action(menu, "Left click draws class &0 (touch pads)", None,
                                         lambda on: setattr(self.drawer, "left_class", 0 if on else 1))
        self.touch_action.setCheckable(True)
        self._action(menu, "&Undo drawn point", QKeySequence.StandardKey.Undo, self.drawer.undo)
        self._action(menu, "&Clear drawn points", None, self.drawer.clear)

    def set_drawing(self, on: bool) -> None:
        """Drawing on or off; it starts from the points the run trains on now."""
        self.draw_action.setChecked(on)
        self.drawer.enabled = on
        if on and self.snapshot is not None:
            data = self.snapshot.data
            rows = [(*p, int(label)) for points, labels in ((data.train_points, data.train_labels),
                                                            (data.test_points, data.test_labels))
                    for p, label in zip(points.tolist(), labels.tolist())]
            self.drawer.start_from(rows)

    def set_drawn_points(self, rows) -> bool:
        """The drawn set becomes data.points; training goes on with the weights it has."""
        try:
            new = self.experiment.with_field("data.points", [list(r) for r in rows])
        except ExperimentError as error:
            self.statusBar().showMessage(f"{len(rows)} points drawn; {error}", 15000)
            return False
        self.experiment = new
        self._sync_panels()
        self.worker.set_points(new)
        self.statusBar().showMessage(f"{len(rows)} points", 3000)
        return True

    # ---- CSV import (datasets.read_points_csv) --------------------------------------------------------------
    def import_csv(self, path: str | None = None):
        """Points from a CSV. Lines that cannot be read are listed (number and content) and the user
        skips them or cancels; a file with no usable point set is explained. Nothing changes on
        cancel or error. Returns True once imported, False if not, or the open question box."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Import points", "", "CSV (*.csv *.txt);;All files (*)")
            if not path:
                return False
        try:
            reading = read_points_csv(path)
            experiment = self.experiment.with_field("data.points", [list(r) for r in reading.rows])
        except ExperimentError as error:
            self.warn("Cannot import the points", f"{error}\n\nThe current data is unchanged.")
            return False
        note = (f"Imported {len(reading.rows)} points from {Path(path).name} "
                f"(class 0: {reading.labels[0]}, class 1: {reading.labels[1]})")
        if not reading.skipped:
            self._take_imported(experiment, note)
            return True
        listed = "\n".join(f"line {n}: {text} ({why})" for n, text, why in reading.skipped[:12])
        more = f"\n… and {len(reading.skipped) - 12} more" if len(reading.skipped) > 12 else ""
        buttons = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Question, "Lines that are not points",
                          f"{len(reading.skipped)} line(s) of {Path(path).name} are not x,y,label:\n\n{listed}{more}"
                          f"\n\nSkip them and import the other {len(reading.rows)} points?",
                          buttons.Ignore | buttons.Cancel, self)
        box.button(buttons.Ignore).setText("Skip them")
        box.buttonClicked.connect(lambda button: box.standardButton(button) == buttons.Ignore and self._take_imported(
            experiment, f"{note}; {len(reading.skipped)} line(s) skipped"))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.csv_question = box
        return box

    def _take_imported(self, experiment: Experiment, note: str) -> None:
        self.set_experiment(experiment)
        if self.drawer.enabled:
            self.drawer.start_from(experiment.data.points)  # drawing goes on from the imported set
        self.statusBar().showMessage(note, 15000)

    # ---- recent files and examples ------------------------------------------------------------
    def remember_recent(self, path: str | None) -> None:
        """Put `path` first in File → Open recent (QSettings; bundled examples have their own menu)."""
        if not path or self._is_example(path):
            return
        settings = window_settings()
        path = str(Path(path).resolve())
        files = [f for f in self.recent_files() if f != path]
        settings.setValue("recent/files", [path, *files][:RECENT_LIMIT])

    def recent_files(self) -> list[str]:
        value = window_settings().value("recent/files") or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_experiment(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _fill_examples_menu(self) -> None:
        self.examples_menu.clear()
        for path in bundled.example_files():
            action = self.examples_menu.addAction(path.stem)
            action.triggered.connect(lambda checked=False, p=str(path): self.open_experiment(p))

    @staticmethod
    def _is_example(path: str) -> bool:
        try:
            return Path(path).resolve().parent == bundled.examples_dir().resolve()
        except OSError:
            return False

    def _outside_examples(self, start: str) -> str:
        """A save dialog's suggestion: never a bundled example in place (it ships with the app)."""
        return str(Path.home() / Path(start).name) if self._is_example(start) else start

    # ---- autosave: a crash never loses more than a few seconds ----------------------------------
    def start_autosave(self, path: Path, seconds: float = AUTOSAVE_SECONDS) -> None:
        """Write the run to `path` (atomically) every `seconds` while it has unsaved changes."""
        self._autosave_path = Path(path)
        timer = self._autosave_timer = QTimer(self)
        timer.timeout.connect(self.autosave)
        timer.start(int(seconds * 1000))

    def autosave(self) -> bool:
        """One autosave, if the run changed since the last one and is not saved as it is."""
        snapshot, path = self.snapshot, self._autosave_path
        if path is None or snapshot is None or not self.isWindowModified():
            return False
        if self._autosaved == (snapshot.step, snapshot.experiment):
            return False
        try:
            experiment, state = self.worker.run_state(timeout=2.0)
            path.parent.mkdir(parents=True, exist_ok=True)
            runfile.write_run(path, experiment, state)
        except (OSError, TimeoutError) as error:
            self.statusBar().showMessage(f"Autosave to {path} failed: {error}", 10000)
            return False
        self._autosaved = (int(state["counters"][0]), experiment)
        return True

    def drop_autosave(self) -> None:
        """The run was saved or let go on purpose: no copy to offer at the next start."""
        if self._autosave_path is not None and self._autosave_path.exists():
            self._autosave_path.unlink()

    def offer_autosave(self, path: Path, then=None) -> QMessageBox | None:
        """A run autosaved before the app last ended without closing (a crash, a kill): offer it
        back (Restore / Discard, non-blocking). then() runs after the answer (app.run starts the
        autosave there, so the offered copy is not overwritten before the user has chosen)."""
        path = Path(path)
        try:
            step = runfile.read_run(path)[1]["counters"][0]
        except runfile.RunFileError as error:
            path.unlink()
            self.statusBar().showMessage(f"An autosaved run could not be read and was removed: {error}", 15000)
            return then() if then else None
        buttons = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Question, "Restore the last run?",
                          f"Playground ended last time without closing. Its run was autosaved at step "
                          f"{int(step):,}. Restore it?", buttons.Yes | buttons.Discard, self)
        box.button(buttons.Yes).setText("Restore")

        def answered(button) -> None:
            if box.standardButton(button) == buttons.Yes and self.open_run(str(path)):
                self.path = None  # a recovered run has no file of its own yet: Save asks for one
                self._update_title()
                self._clean = (-1, None)
                self.setWindowModified(True)
            else:
                path.unlink(missing_ok=True)
            if then:
                then()

        box.buttonClicked.connect(answered)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.autosave_offer = box
        return box

    def _ask_unsaved(self) -> str:
        """Save / Discard / Cancel for a run with unsaved changes: "save", "discard" or "cancel"."""
        buttons = QMessageBox.StandardButton
        step = self.snapshot.step if self.snapshot is not None else 0
        answer = QMessageBox.question(
            self, "Unsaved run", f"The run (step {step:,}) has changed since it was last saved. Save it?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    # ---- presentation --------------------------------------------------------------------------
    def set_presentation(self, on: bool) -> None:
        """Full screen with larger fonts, for a projector."""
        font = QFont(self._base_font)
        if on:
            font.setPointSizeF(self._base_font.pointSizeF() * PRESENTATION_SCALE)
        self.setFont(font)  # the views follow their font (ticks spaced by it, legends, hover card)
        self.presentation_action.setChecked(on)
        if on:
            if not self.isFullScreen():
                self._placement_before = (self.pos(), self.size())  # what save_placement keeps meanwhile
            self.showFullScreen()
        else:
            self.showNormal()
            QTimer.singleShot(0, self, self.fit_to_screen)  # the size it returns to may not fit this screen
        QTimer.singleShot(0, self, self.fit_side_tabs)  # once the new font has reached the panels

    def fit_side_tabs(self) -> None:
        """Give the Data/Training tabs the width their panels ask for at the current font: at 1.35×
        on a 1280 px projector the fixed width cut "checkerboard" and scrolled sideways."""
        panels = (self.data_panel, self.hyper_panel)
        needed = max(panel.sizeHint().width() for panel in panels) + self.style().pixelMetric(
            QStyle.PixelMetric.PM_ScrollBarExtent) + 8  # a vertical scroll bar, and the tab's frame
        sizes = self._main.sizes()
        total = sum(sizes)
        width = min(max(needed, 250), total // 3)  # never more than a third: the network comes first
        if total and width != sizes[0]:
            self._main.setSizes([width, total - width])

    # ---- snapshots -----------------------------------------------------------------------------
    def _on_snapshot(self, snapshot) -> None:
        self._note_modified(snapshot)
        self._latest = snapshot  # newest wins: older undrawn ones are simply dropped
        if not self._draw_scheduled and not self._stages:
            self._draw_scheduled = True
            QTimer.singleShot(0, self, self._draw_latest)

    def _draw_latest(self) -> None:
        """Draw the newest snapshot as a chain of short steps, each painted before the next runs.

        One frame of a deep net was one long task (links, neuron maps, boundary and a chart redraw:
        20–40 ms) that held up everything else in the GUI thread. As steps, one per pass of the event
        loop, no task is much longer than ~5 ms: timers, input and the worker's messages get in between.
        """
        self._draw_scheduled = False
        snapshot, self._latest = self._latest, None
        if snapshot is None:
            return
        steps = [
            *self._prepared("network links", self.network_view.prepare_links, snapshot),  # the network paints them
            # the run bar, the network and the activation curve, each painted on its own (together one
            # task of ~7 ms in the GUI thread on C3, 10-12 ms with the machine busy)
            lambda: self._show_run_bar(snapshot),
            lambda: self.network_view.show_snapshot(snapshot, update=False),  # the paint step asks for it
            lambda: self.activation_view.show_snapshot(snapshot),
            lambda: self.boundary_view.show_snapshot(snapshot),
            *[lambda part=part: part() for part in self._prepared("charts", self.charts.prepare, snapshot)],
        ]
        # Each step's repaint is a step of its own, after a pass of the event loop: glued to its step, a
        # chart's was one task of 4.5 + 6 ms (grads, quiet) that a busy machine stretched to 40-65 ms,
        # the worst gaps of the window's timer (issue 15). Apart, a timer due meanwhile fires between.
        self._stages = [part for step in steps for part in (step, self._paint_step)]
        self._stages.append(lambda: self._frame_done(snapshot))  # always reached: the worker waits for it
        self._next_stage()

    def _next_stage(self) -> None:
        if not self._stages:  # shut down meanwhile
            return
        stage = self._stages.pop(0)
        try:
            stage()
        except Exception as error:  # noqa: BLE001 - one view's bug must not stop every view
            self._stage_failed(getattr(stage, "__qualname__", repr(stage)), error)
        if self._stages:
            self._stage_timer.start()

    # ---- a drawing step that fails ---------------------------------------------------------------
    def _prepared(self, name: str, prepare, snapshot) -> list:
        """A view's list of drawing steps for `snapshot`, or none if preparing them fails."""
        try:
            return list(prepare(snapshot))
        except Exception as error:  # noqa: BLE001
            self._stage_failed(name, error)
            return []

    def _stage_failed(self, name: str, error: Exception) -> None:
        """Log a failed drawing step (its traceback once per kind), drop it, say so; drawing goes on.

        Before, one exception left the stage queue non-empty and no snapshot was drawn again while
        the run bar still showed "playing"."""
        key = (name, type(error).__name__)
        seen = self._stage_failures.get(key, 0)
        self._stage_failures[key] = seen + 1
        if seen == 0:
            log.error("a drawing step failed (%s); it is skipped and drawing goes on:\n%s", name,
                      "".join(traceback.format_exception(error)))
        self.statusBar().showMessage(
            f"A drawing step failed ({type(error).__name__}: {error}); it was skipped and drawing goes on "
            f"(seen {seen + 1} time{'s' if seen else ''}; details in the terminal)", 15000)

    # ---- a training process that keeps failing ---------------------------------------------------
    def _connect_training_trouble(self) -> None:
        """A training process that keeps failing says so in a banner that stays, with Try again."""
        self.stopped_banner.sigTryAgain.connect(self._try_training_again)
        self.worker.sigStopped.connect(self._on_training_stopped)
        self.worker.sigRecovered.connect(self.stopped_banner.hide)

    def _on_training_stopped(self, text: str) -> None:
        self.run_bar.set_playing(False)
        self.stopped_banner.show_message(text)

    def _try_training_again(self) -> None:
        self.stopped_banner.retry_button.setEnabled(False)
        self.stopped_banner.message.setText("<b>Starting the training process again…</b>")
        self.worker.retry()

    def _paint_step(self) -> None:
        """The drawing step after each other one: paint what it changed (and what the network view
        held back for it), so that each step's paint is a task of its own."""
        self.network_view.release_update()
        self._paint_now()

    def _paint_now(self) -> None:
        """Paint what the last step changed, now, so the next step's paint is a task of its own."""
        if not self.isVisible():
            return
        for view in (self.boundary_view.graphics, self.charts.graphics):
            # pyqtgraph scenes pass their dirty areas to the view through a posted call
            QCoreApplication.sendPostedEvents(view.scene(), QEvent.Type.MetaCall)
        QCoreApplication.sendEvent(self, QEvent(QEvent.Type.UpdateRequest))

    def _show_run_bar(self, snapshot) -> None:
        self.run_bar.show_snapshot(snapshot)
        self._show_banner(snapshot)

    def _frame_done(self, snapshot) -> None:
        # the window's snapshot is the one it shows: set once every view has it (a frame is ~20
        # steps now, each repaint one of its own; what waits for window.snapshot sees it all drawn)
        self.snapshot = snapshot
        self.sigDrawn.emit(snapshot)
        # Tell the worker once the repaint has really happened; it waits meanwhile (no backlog).
        QTimer.singleShot(0, self, self.worker.snapshot_drawn)
        if self._latest is not None and not self._draw_scheduled:  # one came in while drawing
            self._draw_scheduled = True
            QTimer.singleShot(0, self, self._draw_latest)

    def show_snapshot(self, snapshot) -> None:
        """Draw one Snapshot in every view, completely and at once (a screenshot; the live window
        draws through _draw_latest, throttled and in steps)."""
        self.snapshot = snapshot
        self.panels.show_snapshot(snapshot, self._show_banner)

    def _show_banner(self, snapshot) -> None:
        trial = self.rate_trial if snapshot.diverged and self._rate_trial_for == snapshot.experiment else None
        self.banner.show_snapshot(snapshot, trial)
        if snapshot.diverged and trial is None:
            self._start_rate_trial(snapshot.experiment)

    # ---- divergence: a measured lower rate -------------------------------------------------------
    def _start_rate_trial(self, experiment) -> None:
        """Find a rate that trains from this experiment's start, off the GUI thread (~0.1-0.5 s)."""
        if getattr(self, "_rate_trial_running", None) == experiment:
            return
        self._rate_trial_running = experiment

        def run() -> None:
            try:
                trial = find_stable_rate(experiment)
            except Exception:  # noqa: BLE001 - the button then runs it itself, and shows any error
                log.exception("the learning-rate trial failed")
                trial = None
            self._sigRateTrial.emit(experiment, trial)

        if not getattr(self, "_rate_trial_connected", False):
            self._sigRateTrial.connect(self._on_rate_trial)
            self._rate_trial_connected = True
        threading.Thread(target=run, name="rate-trial", daemon=True).start()

    def _on_rate_trial(self, experiment, trial) -> None:
        self._rate_trial_running = None
        if trial is None:
            return
        self.rate_trial, self._rate_trial_for = trial, experiment
        snapshot = self.snapshot
        if snapshot is not None and snapshot.diverged and snapshot.experiment == experiment:
            self._show_banner(snapshot)

    def flush(self) -> None:
        """Bring the throttled views (charts, links) up to the newest snapshot, e.g. for a screenshot."""
        self.panels.flush()

    def _show_rate(self) -> None:
        if self.run_bar.play_button.isChecked() and self.snapshot is not None:
            self.run_bar.set_counts(self.snapshot.step, self.snapshot.epoch, self.worker.steps_per_second)

    # ---- size and place on the screen -----------------------------------------------------------
    def restore_placement(self) -> None:
        """Open at the size and place of the last run (QSettings), or 1280×800 centred, never larger
        than the screen's available area (a 1366×768 laptop cut off the charts and status bar)."""
        settings = window_settings()
        size, pos = settings.value("window/size"), settings.value("window/pos")
        if not self._remembers:
            size = pos = None
        size = size if isinstance(size, QSize) and size.isValid() else DEFAULT_SIZE
        self.resize(size)
        if isinstance(pos, QPoint) and QGuiApplication.screenAt(pos + QPoint(40, 20)) is not None:
            self.move(pos)  # the remembered place is still on a screen (not an unplugged monitor)
        else:
            area = available_geometry(self)
            self.move(area.center() - QPoint(size.width() // 2, size.height() // 2))
        self.fit_to_screen()

    def set_size(self, width: int, height: int) -> None:
        """Exactly this size from now on, screen or not (a screenshot asked at a given size)."""
        self._fits_screen = False
        self.setMinimumSize(QSize(min(width, MINIMUM_SIZE.width()), min(height, MINIMUM_SIZE.height())))
        self.resize(width, height)

    def fit_to_screen(self) -> None:
        """Shrink (never grow) the window into its screen's available area, frame included, and
        move it inside it."""
        if self.isFullScreen() or self.isMaximized() or not self._fits_screen:
            return
        area = available_geometry(self)
        frame = self.frameGeometry().size() - self.size()
        if frame.width() <= 0 and frame.height() <= 0 and not self.isVisible():
            frame = FRAME_ALLOWANCE  # not framed yet: leave room for a title bar
        room = QSize(max(area.width() - frame.width(), 200), max(area.height() - frame.height(), 200))
        self.setMinimumSize(MINIMUM_SIZE.boundedTo(room))
        size = self.size().boundedTo(room)
        if size != self.size():
            self.resize(size)
        outer = QRect(self.frameGeometry().topLeft(), size + frame)
        x = min(max(outer.left(), area.left()), area.right() + 1 - outer.width())
        y = min(max(outer.top(), area.top()), area.bottom() + 1 - outer.height())
        if (x, y) != (outer.left(), outer.top()):
            self.move(x, y)

    def save_placement(self) -> None:
        """Remember the normal (not full-screen) size and place for the next run."""
        pos, size = self.pos(), self.size()
        if self.isFullScreen() and self._placement_before is not None:
            pos, size = self._placement_before  # as it was before presentation mode
        elif self.isMaximized() or self.isFullScreen():
            geometry = self.normalGeometry()  # the client area: a title bar's height lower than pos()
            pos, size = geometry.topLeft(), geometry.size()
        settings = window_settings()
        settings.setValue("window/size", size)
        settings.setValue("window/pos", pos)
        settings.sync()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._live and not self._fitted_once:  # once framed: the real title bar's height
            self._fitted_once = True
            QTimer.singleShot(0, self, self.fit_to_screen)

    # ---- closing -------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if not self.may_discard_run():
            event.ignore()
            return
        self.drop_autosave()
        if self._remembers and self.isVisible():
            self.save_placement()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the training process and its relay thread (idempotent)."""
        self._stages.clear()
        self._stage_timer.stop()
        if self.worker.isRunning():
            self.worker.stop()

