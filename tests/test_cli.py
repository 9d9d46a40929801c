"""`playground train`: the JSON contract, determinism, and exit codes with one clear line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from playground.cli import main

KEYS = {"steps", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "diverged", "seconds",
        "neurons", "layers", "prelu_slopes"}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True, text=True, timeout=120)


def test_train_json_has_every_key(tmp_path, capsys):
    path = write(tmp_path, "e.json", '{"network": {"hidden": [4, 3], "activation": "prelu"}}')
    assert main(["train", path, "--steps", "200", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == KEYS
    assert result["steps"] == 200 and result["diverged"] is False
    assert result["neurons"]["total"] == 7 and set(result["neurons"]) == {"alive", "sleeping", "saturated", "dead", "total"}
    assert [layer["units"] for layer in result["layers"]] == [4, 3]
    assert set(result["layers"][0]) == {"units", "dead", "saturated", "sleeping", "grad_norm"}
    assert [len(s) for s in result["prelu_slopes"]] == [4, 3]


def test_two_runs_of_one_file_give_identical_json_but_seconds(tmp_path):
    path = write(tmp_path, "e.toml", '[network]\nhidden = [6, 6]\nactivation = "selu"\n[training]\noptimizer = "adam"\n')
    first, second = (run_cli("train", path, "--steps", "300", "--json") for _ in range(2))
    assert first.returncode == second.returncode == 0
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    a.pop("seconds"), b.pop("seconds")
    assert a == b and a["prelu_slopes"] is None


def test_a_diverged_run_exits_zero_and_says_so(tmp_path, capsys):
    path = write(tmp_path, "boom.json", json.dumps({
        "network": {"hidden": [32] * 8, "activation": "relu", "init_gain": 2.0},
        "training": {"learning_rate": 0.05, "batch_size": 32, "loss": "bce"}}))
    assert main(["train", path, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["diverged"] is True and result["steps"] < 20 and result["train_loss"] is None
    assert main(["train", path]) == 0
    assert "DIVERGED" in capsys.readouterr().out


def test_readable_summary(tmp_path, capsys):
    path = write(tmp_path, "e.json", "{}")
    assert main(["train", path, "--steps", "50"]) == 0
    out = capsys.readouterr().out
    assert "50 steps" in out and "accuracy" in out and "layer 1: 4 units" in out


@pytest.mark.parametrize("content, expected", [
    ('{"network": {"activation": "swish"}}', "network.activation = 'swish' is not allowed: one of relu"),
    ('{"training": {"learning_rate": 99}}', "training.learning_rate = 99 is not allowed"),
    ("{not json", "not valid JSON"),
])
def test_bad_input_exits_2_with_one_line_naming_file_and_field(tmp_path, content, expected):
    path = write(tmp_path, "bad.json", content)
    result = run_cli("train", path, "--steps", "5")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.json" in lines[0] and expected in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_file_and_bad_steps(tmp_path):
    result = run_cli("train", str(tmp_path / "nope.json"))
    assert result.returncode == 2 and "nope.json: cannot read the file" in result.stderr
    result = run_cli("train", str(tmp_path / "nope.json"), "--steps", "many")
    assert result.returncode == 2 and "not a whole number" in result.stderr


def test_the_command_line_loads_no_qt_until_a_window_is_asked_for():
    """`playground train` and the others run where Qt's libraries are missing: building the parser
    (every subcommand registered) loads no Qt. That the core never imports it, not even in a
    function, is tests/test_layers.py's."""
    code = ("import sys, playground.cli; playground.cli.build_parser(); "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_version_and_top_level_help():
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"playground {__import__('playground').__version__}"
    top = run_cli("--help")
    assert top.returncode == 0
    assert "`playground FILE` opens" in top.stdout and "playground examples" in top.stdout
    examples_dir = str(Path(__file__).resolve().parent.parent / "resources" / "experiments")
    assert examples_dir in top.stdout  # where the examples are, as found by playground.bundled


def test_every_subcommand_help_opens_with_a_one_line_description():
    from playground.cli import build_parser

    commands = build_parser().commands
    assert {"gui", "train", "export", "bench", "examples"} <= commands
    for command in sorted(commands):
        result = run_cli(command, "--help")
        assert result.returncode == 0, command
        paragraphs = result.stdout.split("\n\n")
        assert paragraphs[0].startswith(f"usage: playground {command}")
        description = paragraphs[1].strip()
        assert description and not description.startswith(("positional", "options")), (command, description)


def test_examples_are_listed_and_open_by_name(capsys):
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    assert "dying_relu" in out and str(Path("resources/experiments/xor_tanh.toml")) in out
    assert main(["train", "xor_tanh", "--steps", "20", "--json"]) == 0  # an example's name, no path
    assert json.loads(capsys.readouterr().out)["steps"] == 20


@pytest.mark.parametrize("size", ["big", "1366", "10x10", "1366x768x2", "99999x768", "-1366x768"])
def test_a_bad_window_size_is_one_line_and_exit_2(size):
    result = run_cli("gui", f"--size={size}", "--screenshot", "never.png")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--size {size!r} is not allowed: WIDTHxHEIGHT" in lines[0]
    assert not Path("never.png").exists()


def test_a_usage_error_is_one_line_too():
    for args in (["gui", "--size"], ["train"], ["train", "x.json", "--stepz", "3"]):
        result = run_cli(*args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and "--help" in lines[0], (args, result.stderr)


def test_output_cut_short_by_a_pipe_is_not_an_error():
    result = subprocess.run(f"{sys.executable} -m playground examples | head -1", shell=True, capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.startswith("Example experiments in ") and result.stderr == ""
