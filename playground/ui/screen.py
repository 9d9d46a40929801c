"""Where a window opens: whether there is a screen, what it shows first, how long a screenshot waits.

Shared by the main window's `playground gui` (app.py) and the compare window (compare_window.py),
which app.py opens through main_window: here, neither imports the other. Imports no Qt.
"""

from __future__ import annotations

import os
import sys

from ..experiment import Experiment

SCREENSHOT_TIMEOUT_S = 300  # a --steps run that takes longer than this is cut short


def default_experiment() -> Experiment:
    """The built-in experiment: TensorFlow Playground's first screen (circle, 2 features, 4-2 tanh)."""
    return Experiment()


def has_screen() -> bool:
    """Whether Qt has somewhere to show a window (an X or Wayland display, or a platform forced)."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
