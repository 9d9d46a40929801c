"""Before Qt starts: are the system libraries it needs there? If not, say which packages to install.

PySide6's wheel carries Qt but not the X11/OpenGL/font libraries Qt links against; pip cannot install
those. Without them Qt does not fail politely: a missing xcb library makes QApplication() call
qFatal ("Could not load the Qt platform plugin "xcb"", then Aborted), a missing libEGL makes
`import PySide6.QtGui` raise. So the command line asks here first, with no Qt imported: each library is
opened with dlopen (ctypes), which is what Qt's loader does. Linux only; elsewhere Qt brings its own.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import sys
from pathlib import Path

# soname -> the Debian/Ubuntu package that ships it. The sonames are the NEEDED entries (readelf -d) of
# PySide6-Essentials 6.11's libQt6Gui/Widgets/OpenGL/Svg/DBus and plugins/platforms/libqxcb.so +
# libQt6XcbQpa, without libc/libstdc++/zlib, which every Python has; each mapped to its package with
# `dpkg -S`. In a bare `debootstrap --variant=minbase bookworm` every one of them was missing, and after
# `apt-get install` of these packages `ldd` found every library the open window had loaded.
# tests/test_system_libs.py checks this table against `ldd` of the installed PySide6.
GUI_LIBS = {  # any Qt picture needs these, offscreen too (loaded by libQt6Gui itself)
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11.so.6": "libx11-6",  # libQt6Gui links it whatever the platform
}
XCB_LIBS = {  # the X11 window: plugins/platforms/libqxcb.so and libQt6XcbQpa
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def apt_packages() -> list[str]:
    """Every package above once, in order: the README's apt-get line."""
    return list(dict.fromkeys([*GUI_LIBS.values(), *XCB_LIBS.values()]))


def qt_platform(environ=os.environ) -> str | None:
    """The platform plugin Qt will start with, as Qt picks it on Linux; None when there is no screen."""
    forced = environ.get("QT_QPA_PLATFORM", "")
    if forced:  # "xcb", "wayland;xcb", "offscreen:fontengine=freetype", ...
        return re.split("[;:]", forced, maxsplit=1)[0].strip()
    if environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"  # Qt 6 tries wayland first on a Wayland session (and falls back to xcb)
    if environ.get("DISPLAY"):
        return "xcb"
    return None


def missing_libraries(platform: str | None, load=ctypes.CDLL) -> dict[str, str]:
    """{soname: package} of the libraries that `platform` needs and that do not load here."""
    if not sys.platform.startswith("linux"):
        return {}
    wanted = {**GUI_LIBS, **(XCB_LIBS if platform == "xcb" else {})}
    missing = {}
    for soname, package in wanted.items():
        try:
            load(soname)
        except OSError:
            missing[soname] = package
    return missing


def xcb_plugin_error(load=ctypes.CDLL) -> str | None:
    """dlopen's message when Qt's xcb plugin itself cannot load (a library the table does not know)."""
    spec = importlib.util.find_spec("PySide6")  # finds the folder without importing Qt
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0], "Qt", "plugins", "platforms", "libqxcb.so")
    if not plugin.is_file():
        return None
    try:
        load(str(plugin))
    except OSError as error:
        return str(error)
    return None


def problem(platform: str | None, load=ctypes.CDLL) -> str | None:
    """One line saying what to install when Qt cannot start on `platform` here, else None."""
    if not sys.platform.startswith("linux"):
        return None
    missing = missing_libraries(platform, load)
    where = "open a window" if platform == "xcb" else "draw"
    if missing:
        return (f"Qt cannot {where}: the system libraries {', '.join(missing)} are missing. On Debian/Ubuntu: "
                f"sudo apt-get install {' '.join(dict.fromkeys(missing.values()))} "
                f"(every library Qt needs: sudo apt-get install {' '.join(apt_packages())})")
    if platform == "xcb":
        error = xcb_plugin_error(load)
        if error:
            return (f"Qt's xcb plugin cannot load ({error}). On Debian/Ubuntu: "
                    f"sudo apt-get install {' '.join(apt_packages())}")
    return None


def problem_from_import_error(error: ImportError) -> str | None:
    """The same line for `import PySide6.QtGui` failing on a missing library (export, a view on its own)."""
    found = re.search(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file", str(error))
    if not found:
        return None
    soname = found.group(1)
    package = {**GUI_LIBS, **XCB_LIBS}.get(soname)
    install = f"sudo apt-get install {package}" if package else f"the package that has {soname}"
    return (f"Qt cannot start: the system library {soname} is missing. On Debian/Ubuntu: {install} "
            f"(every library Qt needs: sudo apt-get install {' '.join(apt_packages())})")
