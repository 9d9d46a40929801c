"""Tests run Qt offscreen: no display needed, and widget.grab() still gives real pixels."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import pytest  # noqa: E402  (after the environment is set: Qt reads it on import)

from playground.runtime import configure_process  # noqa: E402

configure_process()  # as the entry points do (one BLAS thread): tests run the process users run


@pytest.fixture
def start_worker(qtbot):
    """Start a training worker as the window would, and wait for its first
    snapshot. Returns the list every snapshot is appended to; each is acknowledged as drawn."""

    def start(worker, timeout=30000):
        seen = []

        def on_snapshot(snapshot):
            seen.append(snapshot)
            worker.snapshot_drawn()

        worker.sigSnapshot.connect(on_snapshot)
        with qtbot.waitSignal(worker.sigSnapshot, timeout=timeout):
            worker.start()
        return seen

    return start


WINDOW_GRID = 40  # the boundary's grid in window tests: small keeps snapshots cheap; the views don't care


@pytest.fixture
def make_window(qtbot):
    """The main window as `playground gui` opens it (training in its child process), shown, with
    its first snapshot drawn: make_window(experiment=None, path=None, grid_size=WINDOW_GRID,
    size=None). After the test each is shut down, and its training process must have ended."""
    from playground.experiment import Experiment
    from playground.ui.main_window import MainWindow

    windows = []

    def make(experiment=None, path=None, *, grid_size=WINDOW_GRID, size=None):
        window = MainWindow(experiment or Experiment(), path, grid_size=grid_size)
        qtbot.addWidget(window)
        windows.append(window)
        if size:
            window.resize(*size)
        window.show()
        window.activateWindow()
        # the child imports numpy and the core (and may load the compiled kernel): long on a busy machine
        qtbot.waitUntil(lambda: window.snapshot is not None, timeout=60000)
        return window

    yield make
    for window in windows:
        window.ask_before_discarding = False  # no modal question that would wait forever
        window.shutdown()
    for window in windows:
        child = window.worker._child
        assert not window.worker.isRunning(), "the training relay outlived its window"
        assert child is None or child.process.poll() is not None, "a training process outlived its window"


@pytest.fixture(autouse=True)
def settings_in_tmp(tmp_path_factory):
    """The window keeps its size and place in QSettings: tests never read or write the user's own
    (~/.config/playground). Each test starts from none. Qt is imported only if a test already has."""
    import sys

    if "PySide6.QtCore" not in sys.modules:
        return
    from PySide6.QtCore import QSettings

    path = str(tmp_path_factory.mktemp("settings"))
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.NativeFormat, scope, path)
        QSettings.setPath(QSettings.Format.IniFormat, scope, path)


@pytest.fixture(autouse=True)
def playground_look():
    """pyqtgraph's options as our windows set them, for views a test builds (if it imported pyqtgraph)."""
    import sys

    if "pyqtgraph" in sys.modules:
        from playground.ui.colors import configure_pyqtgraph

        configure_pyqtgraph()
