"""The wheel holds every module and every shipped file, and the code finds the examples inside it."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import playground
from playground import bundled

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of this checkout, with a lesson added (lessons must ship the same way)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("playground", "resources"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    (source / "resources/lessons/first").mkdir(parents=True)
    (source / "resources/lessons/first/lesson.toml").write_text('title = "a lesson"\n')
    # built as `pip install .` builds it: in an isolated environment with pyproject's setuptools
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"),
                             str(source)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (path,) = (work / "dist").glob(f"playground-{playground.__version__}-*.whl")  # the version from one place
    return source, path


def test_the_wheel_holds_every_module_and_every_resource(wheel):
    source, path = wheel
    names = set(zipfile.ZipFile(path).namelist())
    modules = {p.relative_to(source).as_posix() for p in (source / "playground").rglob("*.py")}
    assert modules and modules <= names, sorted(modules - names)  # a subpackage left out of pyproject
    shipped = {"playground/" + p.relative_to(source).as_posix() for p in (source / "resources").rglob("*")
               if p.is_file()}
    assert "playground/resources/experiments/dying_relu.json" in shipped
    assert "playground/resources/lessons/first/lesson.toml" in shipped
    assert shipped <= names, sorted(shipped - names)


def test_from_the_wheel_the_examples_are_found(wheel, tmp_path):
    _, path = wheel
    site = tmp_path / "site"
    zipfile.ZipFile(path).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("from playground import bundled; print(bundled.examples_dir()); "
            "print(len(bundled.example_files())); print(bundled.lessons_dir().is_dir())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    folder, count, lessons = out.stdout.split()
    assert Path(folder) == site / "playground/resources/experiments"
    assert int(count) == len(bundled.example_files()) >= 7 and lessons == "True"
    listed = subprocess.run([sys.executable, "-m", "playground", "examples"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=60)
    assert listed.returncode == 0 and str(site / "playground/resources/experiments/spiral_relu.json") in listed.stdout


def test_in_the_checkout_the_examples_are_resources_experiments():
    assert bundled.examples_dir() == ROOT / "resources" / "experiments"
    assert {p.name for p in bundled.example_files()} >= {"dying_relu.json", "xor_tanh.toml"}
    assert bundled.find_example("xor_tanh") == ROOT / "resources/experiments/xor_tanh.toml"
    assert bundled.find_example("spiral_relu.json").name == "spiral_relu.json"
    assert bundled.find_example("nope") is None
