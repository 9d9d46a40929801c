"""Synthetic snapshots for running a view on its own (`python -m playground.ui.boundary_view`)."""

from __future__ import annotations

from ..experiment import Experiment
from ..plane import DEFAULT_GRID
from ..training import Trainer


def demo_snapshot(steps: int = 300, experiment: Experiment | None = None, grid_size: int = DEFAULT_GRID):
    """A real snapshot of a small run: the default experiment with ReLU, trained a little."""
    if experiment is None:
        experiment = (Experiment().with_field("network.hidden", (6, 4))
                      .with_field("network.activation", "relu")
                      .with_field("data.dataset", "circle"))
    trainer = Trainer(experiment, grid_size=grid_size)
    trainer.step(steps)
    return trainer.snapshot()


def show_alone(widget_class, title: str, size=(640, 520)) -> int:
    """Open one view on a demo snapshot; with --screenshot OUT.png save it and exit instead."""
    import sys

    from PySide6.QtWidgets import QApplication

    from .colors import configure_pyqtgraph

    configure_pyqtgraph()
    app = QApplication.instance() or QApplication(sys.argv)
    view = widget_class()
    view.setWindowTitle(title)
    view.resize(*size)
    view.show_snapshot(demo_snapshot())
    if "--screenshot" in sys.argv:
        out = sys.argv[sys.argv.index("--screenshot") + 1]
        view.show()
        app.processEvents()
        view.grab().save(out)
        return 0
    view.show()
    return app.exec()
