"""`playground gui`: open the window, optionally train N steps and save a screenshot, then exit."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from .. import runfile
from ..experiment import ExperimentError
from .screen import SCREENSHOT_TIMEOUT_S, default_experiment, has_screen


def run(experiment_path: str | None = None, steps: int = 0, screenshot: str | None = None,
        size: tuple[int, int] | None = None, presentation: bool = False, lesson=None) -> int:
    """Open the window; returns the exit code (2 when the file was bad and a screenshot was asked for).

    `size` (width, height) resizes the window; `presentation` turns presentation mode on first. With both
    and a screenshot the window keeps presentation mode's text but takes `size` instead of the screen's:
    the picture a projector of that size would show. `lesson` (a lessons.Lesson) opens that lesson."""
    from .export_render import quiet_harmless_qt_messages

    if not has_screen():
        if not screenshot:  # Qt would abort with a wall of plugin text; say what is wrong instead
            print("playground: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset). "
                  "Run it in a desktop session, or without one: playground gui --steps 300 --screenshot out.png",
                  file=sys.stderr)
            return 2
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    quiet_harmless_qt_messages()
    from .colors import configure_pyqtgraph
    configure_pyqtgraph()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("playground")
    from .main_window import MainWindow  # after QApplication: widgets need it

    experiment, problem = default_experiment(), None
    if experiment_path:
        try:
            experiment = runfile.load_experiment(experiment_path)  # a .pgrun too: opened at its step below
        except ExperimentError as error:
            problem = f"{error}. Opened the default experiment instead."
            print(f"playground: {problem}", file=sys.stderr)
            experiment_path = None
    window = MainWindow(experiment, experiment_path, remember_placement=not screenshot)
    window.ask_before_discarding = not screenshot  # unsaved runs: Save / Discard / Cancel on closing
    start = 0  # the step training starts from: a run's saved step
    if experiment_path and runfile.is_run_file(experiment_path) and window.open_run(experiment_path):
        start = window.saved_step
    if not screenshot:  # a crash-safe copy of the run; the last one offered back if the app was killed
        from .main_window import autosave_file

        saved = autosave_file()
        begin = lambda: window.start_autosave(saved)  # noqa: E731
        if saved.exists():
            QTimer.singleShot(0, window, lambda: window.offer_autosave(saved, then=begin))
        else:
            begin()
    if screenshot and app.platformName() == "offscreen":
        window.set_size(1280, 800)  # no real screen to fit: take it at a laptop's size
    if lesson is not None:  # a lessons.Lesson (`playground gui LESSON`): its run, speed and panel
        window.lesson_dock.open_lesson(lesson)
    window.show()
    if presentation:
        window.set_presentation(True)
        if screenshot and not size:  # full screen even where no window manager obeys (Xvfb, offscreen)
            size = window.screen().geometry().width(), window.screen().geometry().height()
    if size:
        if presentation:
            window.showNormal()  # leave full screen only: the larger text stays
        window.resize(*size)
    if problem and not screenshot:
        window.warn("Cannot open the experiment", problem)
    elif problem:
        window.show_problem(problem)
    if screenshot:
        ok = _train_and_grab(app, window, steps, screenshot, start)
        window.shutdown()
        window.close()
        if not ok:
            return 1
        return 2 if problem else 0
    if steps:
        window.train_steps(steps)
    code = app.exec()
    window.shutdown()
    return code


def _train_and_grab(app, window, steps: int, out: str, start: int = 0) -> bool:
    """Train `steps` in the window (from step `start`), wait for that snapshot to be drawn, save the
    whole window."""
    loop = QEventLoop()

    def check(snapshot) -> None:
        if snapshot.step >= start + steps or snapshot.diverged:
            loop.quit()

    window.sigDrawn.connect(check)
    if window.snapshot is not None:
        check(window.snapshot)
    if steps:
        window.train_steps(steps)
    QTimer.singleShot(SCREENSHOT_TIMEOUT_S * 1000, loop.quit)
    if window.snapshot is None or window.snapshot.step < start + steps:
        loop.exec()
    window.sigDrawn.disconnect(check)
    window.flush()
    for _ in range(3):  # let layouts and repaints settle before grabbing
        app.processEvents()
    if not window.grab().save(out):
        print(f"playground: cannot write the screenshot {out!r} (allowed: a writable .png path)", file=sys.stderr)
        return False
    print(f"playground: saved {out} ({window.width()}x{window.height()}) at step "
          f"{window.snapshot.step if window.snapshot else 0}")
    return True
