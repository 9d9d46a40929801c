"""Without a display: the window says so in one line; a screenshot run goes offscreen by itself."""

import os
import subprocess
import sys


def run_without_display(*args, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)


def test_window_without_display_explains_and_exits_2(tmp_path):
    result = run_without_display(tmp_path=tmp_path)
    assert result.returncode == 2
    assert "no display" in result.stderr and "--screenshot" in result.stderr
    assert "Traceback" not in result.stderr and "plugin" not in result.stderr


def test_screenshot_without_display_goes_offscreen(tmp_path):
    out = tmp_path / "shot.png"
    result = run_without_display("gui", "--steps", "20", "--screenshot", str(out), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000
