"""Missing system libraries: one line naming the Debian packages (exit 2) instead of Qt's "Aborted"."""

import os
import shutil
import signal
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from playground.ui import system_libs

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt brings its own libraries elsewhere")
QT = Path(list(find_spec("PySide6").submodule_search_locations)[0], "Qt")
# What every Python on Linux already has (glibc, the C++ runtime, zlib): not the README's business.
BASE = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1", "libzstd.so.1"}


def needed(library: Path) -> set[str]:
    """The sonames `library` links against directly (its ELF NEEDED entries)."""
    out = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True, check=True).stdout
    return {line.split("[")[1].split("]")[0] for line in out.splitlines() if "(NEEDED)" in line}


def foreign(sonames: set[str]) -> set[str]:
    """Those not shipped inside PySide6 (Qt's own libraries, its ICU) nor part of every Python."""
    return {s for s in sonames if not (QT / "lib" / s).exists() and s not in BASE}


@linux_only
@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs binutils' readelf")
def test_the_table_names_every_library_the_installed_qt_links_against():
    gui = set()
    for name in ("libQt6Core.so.6", "libQt6Gui.so.6", "libQt6Widgets.so.6", "libQt6OpenGL.so.6",
                 "libQt6Svg.so.6", "libQt6DBus.so.6"):
        gui |= foreign(needed(QT / "lib" / name))
    xcb = foreign(needed(QT / "plugins/platforms/libqxcb.so") | needed(QT / "lib/libQt6XcbQpa.so.6")) - gui
    assert gui <= set(system_libs.GUI_LIBS), gui - set(system_libs.GUI_LIBS)
    assert xcb <= set(system_libs.GUI_LIBS) | set(system_libs.XCB_LIBS), xcb - set(system_libs.XCB_LIBS)
    assert "libxcb-cursor.so.0" in xcb  # the one Qt 6.5+ added, missing on most fresh installs


def test_which_platform_qt_will_use():
    assert system_libs.qt_platform({"DISPLAY": ":0"}) == "xcb"
    assert system_libs.qt_platform({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}) == "offscreen"
    assert system_libs.qt_platform({"QT_QPA_PLATFORM": "xcb:nograb"}) == "xcb"
    assert system_libs.qt_platform({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":0"}) == "wayland"
    assert system_libs.qt_platform({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0",
                                    "XDG_SESSION_TYPE": "wayland"}) == "wayland"
    assert system_libs.qt_platform({}) is None


def fake_loader(missing):
    def load(name):
        if Path(name).name in missing:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
    return load


@linux_only
def test_missing_xcb_libraries_name_their_packages_in_one_line():
    line = system_libs.problem("xcb", load=fake_loader({"libxcb-cursor.so.0", "libxcb-icccm.so.4"}))
    assert "\n" not in line
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4 are missing" in line
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 (" in line
    assert "sudo apt-get install " + " ".join(system_libs.apt_packages()) in line
    # offscreen (a screenshot, export) needs no X11 library, only Qt's own drawing ones
    assert system_libs.problem("offscreen", load=fake_loader({"libxcb-cursor.so.0"})) is None
    assert "libegl1" in system_libs.problem("offscreen", load=fake_loader({"libEGL.so.1"}))


@linux_only
def test_a_plugin_dependency_the_table_does_not_know_is_still_caught():
    line = system_libs.problem("xcb", load=fake_loader({"libqxcb.so"}))
    assert line.startswith("Qt's xcb plugin cannot load (") and "libqxcb.so" in line


def test_an_import_error_for_a_missing_library_becomes_the_same_line():
    error = ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")
    assert "sudo apt-get install libegl1" in system_libs.problem_from_import_error(error)
    assert system_libs.problem_from_import_error(ImportError("No module named 'foo'")) is None


def test_the_packages_are_this_machines_real_libraries_and_load_here():
    assert system_libs.missing_libraries("xcb") == {}  # the test machine has them all (README's apt line)


@linux_only
def test_playground_says_what_to_install_where_qt_would_abort(tmp_path):
    """A broken libxcb-cursor.so.0 first on the library path: plain Qt aborts, playground explains."""
    broken = tmp_path / "lib"
    broken.mkdir()
    (broken / "libxcb-cursor.so.0").write_bytes(b"")  # dlopen: "file too short", as good as missing
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(LD_LIBRARY_PATH=str(broken), DISPLAY=":987")

    qt = subprocess.run([sys.executable, "-c", "from PySide6.QtWidgets import QApplication; QApplication([])"],
                        capture_output=True, text=True, timeout=60, env=env)
    assert qt.returncode == -signal.SIGABRT and "xcb" in qt.stderr  # what a user saw before

    for args in ([], ["gui", "--steps", "5"]):
        result = subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True, text=True,
                                timeout=60, env=env, cwd=Path(__file__).resolve().parent.parent)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "libxcb-cursor.so.0" in lines[0] and "sudo apt-get install libxcb-cursor0" in lines[0]
        assert "Aborted" not in result.stderr and "Traceback" not in result.stderr


def test_the_readme_apt_line_is_the_table():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "sudo apt-get install " + " ".join(system_libs.apt_packages()) + "\n" in readme
