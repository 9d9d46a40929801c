"""The main window's panels in their layout, without the window (WindowPanels, WindowPicture).

Run bar, banners, the Data and Training tabs, the network, the (square) boundary with the activation
curve under it, the charts.

MainWindow sets a WindowPanels as its central widget and wires it to training, menus and files;
the exporter's "window" view (export_render.py) draws one in a WindowPicture, a bare QMainWindow, so a
frame is the window's picture without a second window, a worker or the dialogs that opened it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, QTimer, Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMainWindow, QPushButton, QScrollArea, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from ..divergence import RateTrial, find_stable_rate
from .activation_view import ActivationView
from .boundary_view import AXIS_PX, COLORBAR_PX, BoundaryView
from .charts import ChartsView
from .controls import DataPanel, HyperPanel, RunBar
from .network_view import NetworkView

DEFAULT_SIZE = QSize(1280, 800)  # the window's first start, when it fits the screen
MINIMUM_SIZE = QSize(1024, 640)  # ... and the least, when the screen has room for it
FRAME_ALLOWANCE = QSize(16, 40)  # title bar and borders, until the window manager has framed the window


class Banner(QFrame):
    """A coloured strip above the panels: an icon, a message, and buttons (hidden until shown)."""

    def __init__(self, name: str, colour: str, background: str, icon: str, buttons: list[QPushButton],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setStyleSheet(f"#{name} {{ background: {background}; border: 2px solid {colour}; border-radius: 4px; }}")
        self.message = QLabel()
        self.message.setWordWrap(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        mark = QLabel(icon)
        mark.setStyleSheet(f"color: {colour}; font-size: 20px;")
        row.addWidget(mark)
        row.addWidget(self.message, 1)
        for button in buttons:
            row.addWidget(button)
        self.hide()


class DivergenceBanner(Banner):
    """Says plainly that the run diverged, and offers a reset or a lower learning rate."""

    sigReset = Signal()
    sigLowerRate = Signal()

    def __init__(self, parent: QWidget | None = None):
        self.reset_button = QPushButton("Reset")
        self.lower_button = QPushButton("Lower learning rate and reset")
        super().__init__("divergence", "#e0001b", "#fde8e8", "⚠", [self.reset_button, self.lower_button], parent)
        self.reset_button.clicked.connect(self.sigReset)
        self.lower_button.clicked.connect(self.sigLowerRate)

    def show_message(self, text: str, learning_rate: float, trial: RateTrial | None = None) -> None:
        """The divergence, and the lower rate on offer: measured by a trial (divergence.py) once it
        is done; until then the button runs the trial when pressed."""
        note = f" {trial.summary()}" if trial is not None else ""
        self.message.setText(f"<b>The run diverged.</b> {text} Training is paused; the experiment is kept.{note}")
        if trial is None:
            self.lower_button.setText("Lower learning rate and reset")
            self.lower_button.setToolTip("Tries lower rates from the same start and takes the first that trains")
        elif trial.rate is None:
            self.lower_button.setText(f"Learning rate → {trial.offered:g} and reset (may diverge again)")
            self.lower_button.setToolTip(trial.summary())
        else:
            self.lower_button.setText(f"Learning rate → {trial.offered:g} and reset")
            self.lower_button.setToolTip(trial.summary())
        self.lower_button.setEnabled(learning_rate > 1e-6)
        self.show()

    def show_snapshot(self, snapshot, trial: RateTrial | None = None) -> None:
        """Shown while `snapshot` is diverged, hidden otherwise."""
        if snapshot.diverged:
            self.show_message(snapshot.message or "The loss is not finite.",
                              snapshot.experiment.training.learning_rate, trial)
        elif self.isVisible():
            self.hide()


class TrainingStoppedBanner(Banner):
    """Training stopped for good (the training process kept failing): says so until Try again."""

    sigTryAgain = Signal()

    def __init__(self, parent: QWidget | None = None):
        self.retry_button = QPushButton("Try again")
        super().__init__("stopped", "#c77700", "#fff4d6", "■", [self.retry_button], parent)
        self.retry_button.clicked.connect(self.sigTryAgain)

    def show_message(self, text: str) -> None:
        self.message.setText(f"<b>{text}</b>")
        self.retry_button.setEnabled(True)
        self.show()


class WindowPanels(QWidget):
    """Every panel of the window, laid out; shows an experiment's settings and a Snapshot."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_bar = RunBar()
        self.banner = DivergenceBanner()
        self.stopped_banner = TrainingStoppedBanner()
        self.data_panel = DataPanel()
        self.hyper_panel = HyperPanel()
        self.network_view = NetworkView(editable=True)
        self.network_view.links_interval = 0.1  # links at 10 Hz, neurons at up to 30 Hz
        self.boundary_view = BoundaryView()
        self.charts = ChartsView(min_interval=0.1)  # each plot at most 10 times a second, one plot a frame
        self.activation_view = ActivationView()

        tabs = QTabWidget()
        tabs.addTab(_scrolled(self.data_panel), "Data")
        tabs.addTab(_scrolled(self.hyper_panel), "Training")
        tabs.setMinimumWidth(250)
        self.tabs = tabs

        # Network in the middle; the boundary (kept square) with the activation curve under it on
        # the right; the charts along the bottom, full width.
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.boundary_view)
        side.addWidget(self.activation_view)
        side.setStretchFactor(0, 3)
        side.setStretchFactor(1, 1)
        self.activation_view.setMinimumHeight(120)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.network_view)
        top.addWidget(side)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(top)
        right.addWidget(self.charts)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        self.charts.setMinimumHeight(150)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(tabs)
        main.addWidget(right)
        main.setStretchFactor(0, 0)
        main.setStretchFactor(1, 1)
        main.setSizes([270, 1010])
        right.setSizes([540, 190])
        top.setSizes([590, 420])
        side.setSizes([400, 140])
        self.side, self.top, self.main = side, top, main
        top.splitterMoved.connect(lambda *_: self.fit_side())

        # takes the keyboard back from a field (focus.ShortcutKeeper), so the shortcuts work again
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 0, 4, 4)
        column.setSpacing(2)
        column.addWidget(self.run_bar)
        column.addWidget(self.banner)
        column.addWidget(self.stopped_banner)
        column.addWidget(main, 1)

        self.data_panel.sigShowTest.connect(self.boundary_view.set_show_test)
        self.data_panel.sigDiscretize.connect(self.boundary_view.set_discretize)

    def set_experiment(self, experiment) -> None:
        """Every field and the network's shape as `experiment` has them."""
        self.data_panel.set_experiment(experiment)
        self.hyper_panel.set_experiment(experiment)
        self.activation_view.set_network(experiment.network)
        self.network_view.set_network(experiment.network)

    def show_main(self, snapshot) -> None:
        """The run bar, the network and the activation curve (the window draws the rest in later steps)."""
        self.run_bar.show_snapshot(snapshot)
        self.network_view.show_snapshot(snapshot)
        self.activation_view.show_snapshot(snapshot)

    def show_snapshot(self, snapshot, show_banner=None) -> None:
        """Draw one Snapshot in every panel, completely and at once. show_banner(snapshot) shows the
        divergence banner (the window's offers a measured rate); by default it says only that it diverged."""
        self.show_main(snapshot)
        (show_banner or self.banner.show_snapshot)(snapshot)
        self.boundary_view.show_snapshot(snapshot)
        self.charts.show_snapshot(snapshot)
        self.flush()

    def flush(self) -> None:
        """Bring the throttled views (charts, links) up to the newest snapshot, e.g. for a screenshot."""
        self.charts.flush()
        self.network_view.flush()

    def fit_side(self) -> None:
        """Give the (square) boundary just the height it needs; the activation curve gets the rest."""
        total = self.side.height()
        wanted = self.side.width() - COLORBAR_PX + AXIS_PX + 4
        boundary = int(min(max(wanted, 200), total - self.activation_view.minimumHeight()))
        self.side.setSizes([boundary, total - boundary])

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        QTimer.singleShot(0, self.fit_side)  # after the splitters have taken their new sizes



class WindowPicture(QMainWindow):
    """The whole window's picture (the exporter's "window" view): the panels in a bare QMainWindow
    with a status bar, as the window has them, and no menu bar (it says nothing in a picture), no
    worker, no dialogs. Follows the settings of each Snapshot's experiment (they can change mid-run)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.panels = WindowPanels()
        self.setCentralWidget(self.panels)
        self.statusBar()  # the window makes its own at once: the panels get the window's height
        self.resize(DEFAULT_SIZE)  # sized as the window is: its panels were laid out from these
        self.setMinimumSize(MINIMUM_SIZE)
        self.experiment = None  # whose settings the panels show

        self._trial: tuple | None = None  # (experiment, its RateTrial or None): the banner's offer

    def show_snapshot(self, snapshot) -> None:
        if snapshot.experiment != self.experiment:
            self.experiment = snapshot.experiment
            self.panels.set_experiment(snapshot.experiment)
        self.panels.show_snapshot(snapshot, self._show_banner)

    def _show_banner(self, snapshot) -> None:
        """The divergence banner with the rate the window offers: the window measures it on a thread
        and shows it when done (~0.1-0.5 s); a picture waits for it, so every frame is the same."""
        trial = None
        if snapshot.diverged:
            if self._trial is None or self._trial[0] != snapshot.experiment:
                try:
                    found = find_stable_rate(snapshot.experiment)
                except Exception:  # noqa: BLE001 - as in the window: the banner then offers the trial itself
                    found = None
                self._trial = (snapshot.experiment, found)
            trial = self._trial[1]
        self.panels.banner.show_snapshot(snapshot, trial)


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area
