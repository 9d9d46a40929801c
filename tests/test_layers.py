"""The three layers, one way: the command line (cli*.py, __main__) above ui/ above the Qt-free core,
and no circles within a layer.

The import-linter contracts in pyproject.toml say it and are run here, so a breach fails the suite;
a plain text search of the core's files backs them up for what no import statement shows
(importlib.import_module, __import__, a name in a string)."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "playground"
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"


def core_modules() -> set[str]:
    """Every module directly under playground/ but the command line's: found on disk, so a new one is covered."""
    return {p.stem for p in PACKAGE.glob("*.py")
            if not p.stem.startswith("cli") and p.stem not in ("__main__", "__init__")}


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the package under `root` with its pyproject.toml (lint-imports puts `root` first on the path)."""
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_both_contracts_name_every_core_module():
    contracts = {c["id"]: c for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]}
    layer = {name.strip() for name in contracts["layers"]["layers"][-1].split(":")}
    forbidden = {name.removeprefix("playground.") for name in contracts["core-without-qt"]["source_modules"]}
    assert layer == forbidden == core_modules()
    assert {"PySide6", "pyqtgraph", "playground.ui"} <= set(contracts["core-without-qt"]["forbidden_modules"])


@pytest.mark.parametrize("module, breach, broken", [
    ("inputs", "from PySide6.QtCore import QTimer", "playground.inputs is not allowed to import PySide6"),
    ("inputs", "import pyqtgraph", "playground.inputs is not allowed to import pyqtgraph"),
    ("inputs", "from .ui import app", "playground.inputs is not allowed to import playground.ui"),
    ("inputs", "from . import cli", "playground.inputs is not allowed to import playground.cli"),
    ("ui/bench_live", "from ..cli import main", "playground.ui is not allowed to import playground.cli"),
    ("cli_lessons", "from .cli import main", "No cycles are allowed in playground."),
])
def test_an_import_inside_a_function_breaks_the_contracts(tmp_path, module, breach, broken):
    # the contracts as they are, on a copy of the package where one module got one import in a function
    shutil.copytree(PACKAGE, tmp_path / "playground", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "playground" / f"{module}.py", "a") as f:
        f.write(f"\n\ndef later():\n    {breach}\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1 and broken in result.stdout, result.stdout + result.stderr


QT_NAMES = re.compile(r"\b(PySide6|shiboken6|pyqtgraph)\b")
UI_IMPORT = re.compile(r"\bplayground\.ui\b|\bfrom\s+\.ui\b|\bfrom\s+\.\s+import\s+[\w\s,()]*\bui\b"
                       r"|import_module\(\s*['\"]\.ui\b")


def test_no_core_file_names_qt_or_ui():
    """git grep, in effect: not in an import at module level, not in a function, not in a string."""
    found = []
    for name in sorted(core_modules()) + ["__init__"]:
        path = PACKAGE / f"{name}.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if QT_NAMES.search(line) or UI_IMPORT.search(line):
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_search_finds_what_it_looks_for():
    for line in ("    from PySide6.QtWidgets import QApplication", "import pyqtgraph as pg",
                 "importlib.import_module('shiboken6')"):
        assert QT_NAMES.search(line), line
    for line in ("    from .ui.export_render import FrameRenderer", "from . import bundled, ui",
                 "import playground.ui.app", "importlib.import_module('.ui.app', 'playground')"):
        assert UI_IMPORT.search(line), line
    for line in ("from .inputs import BadInput", "from . import build, uid", "# the window (Qt) draws it"):
        assert not (QT_NAMES.search(line) or UI_IMPORT.search(line)), line



def test_the_readme_names_every_module_of_the_core_and_the_command_line():
    """The README's "How it is built" is drawn from the tree: a new module of the core or the
    command line must be placed in it (`bench*.py` and `cli_*.py` stand for their families)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z_]+)\.py`", section))
    families = {"bench": "`bench*.py`", "cli_": "`cli_*.py`"}
    missing = sorted(stem for stem in core_modules() | {p.stem for p in PACKAGE.glob("cli*.py")}
                     if stem not in named and not any(stem.startswith(f) and mark in section for f, mark in families.items()))
    assert not missing, f"the README's How it is built does not place {missing}"
    assert len(section.split()) < 400, "short enough to read in a minute"
