"""Tests run Qt offscreen: no display needed, and widget.grab() still gives real pixels."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
