"""Where the files that ship with playground are: the example experiments, later the lessons.

They live in `resources/` at the top of a checkout (an editable install, or `python -m playground` run
from the checkout) and in `playground/resources/` inside an installed wheel (pyproject.toml maps the
one onto the other). Every lookup goes through resources_dir(), so both installs find the same files.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

EXPERIMENT_SUFFIXES = (".json", ".toml")


def resources_dir() -> Path:
    """The folder holding experiments/ (and lessons/): inside the installed package, else the checkout's."""
    package = Path(str(resources.files("playground")))  # a real folder: the package is never zipped
    shipped = package / "resources"  # from a wheel
    if shipped.is_dir():
        return shipped
    return package.parent / "resources"  # a checkout: resources/ beside playground/


def examples_dir() -> Path:
    """The example experiments' folder."""
    return resources_dir() / "experiments"


def lessons_dir() -> Path:
    """The lessons' folder (it may not exist yet)."""
    return resources_dir() / "lessons"


def example_files() -> list[Path]:
    """Every example experiment, sorted by name."""
    folder = examples_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in EXPERIMENT_SUFFIXES and p.is_file())


def find_example(name: str) -> Path | None:
    """The example called `name` (with or without its suffix: `spiral_relu`, `xor_tanh.toml`), or None."""
    for path in example_files():
        if name in (path.name, path.stem):
            return path
    return None
