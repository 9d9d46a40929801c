"""The experiment loader at its edges: every bad file is refused in one line (exit 2), never a traceback.

The table reproduces what issue 13 found (huge numbers, deep nesting, huge values echoed, coordinates
beyond float32, `"version": true`, pipes and devices, oversized files); the fuzz tests throw a few
hundred generated documents at the same function the command line uses.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import cli, inputs
from playground.experiment import MAX_FILE_BYTES, SHOWN_CHARS, Experiment, ExperimentError, shown

ROOT = Path(__file__).resolve().parents[1]
POINTS = [[0.0, 0.0, 0]] * 5 + [[1.0, 1.0, 1]] * 5


def run_cli(capsys, *argv) -> tuple[int, str]:
    """cli.main in-process: (exit code, stderr)."""
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


def assert_one_line_refusal(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[:2000]
    assert "Traceback" not in err and len(lines[0]) < 400, lines[0][:500]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# name, file suffix, text, what the one line must say
EDGES = [
    ("int_309_digits", ".json", '{"seed": 1' + "0" * 309 + "}", ["seed = 100000000000… (310 digits)", "0 to 2147483647"]),
    ("int_4301_digits", ".json", '{"seed": 1' + "0" * 4301 + "}", ["(4302 digits)", "a whole number"]),
    ("float_1e400", ".json", '{"training": {"learning_rate": 1e400}}', ["training.learning_rate = inf"]),
    ("nan", ".json", '{"data": {"noise": NaN}}', ["data.noise = nan"]),
    ("toml_int_309_digits", ".toml", "seed = 1" + "0" * 309, ["seed = 100000000000… (310 digits)", "0 to 2147483647"]),
    ("toml_int_4301_digits", ".toml", "seed = 1" + "0" * 4301, ["more digits than Python reads"]),
    ("json_nested_1000", ".json", '{"data": {"points": ' + "[" * 1000 + "]" * 1000 + "}}", ["nested more than"]),
    ("json_nested_100", ".json", '{"x": ' + "[" * 100 + "]" * 100 + "}", ["nested more than"]),
    ("toml_nested_500", ".toml", "x = " + "[" * 500 + "]" * 500, ["nested more than"]),
    ("huge_list_echo", ".json", json.dumps({"network": {"hidden": [4] * 200_000}}), ["network.hidden = [4, 4", "...]"]),
    ("long_string_echo", ".json", json.dumps({"network": {"activation": "r" * 100_000}}), ["network.activation = 'rrr", "…"]),
    ("long_unknown_key", ".json", json.dumps({"k" * 10_000: 1}), ["an unknown key"]),
    ("newline_in_key", ".json", json.dumps({"a\nb": 1}), ["'a\\nb'", "an unknown key"]),
    ("coordinate_1e39", ".json", json.dumps({"data": {"points": [[1e39, 0, 1]] + POINTS}}), ["data.points[0]", "-1e+06 to 1e+06"]),
    ("coordinate_inf", ".json", '{"data": {"points": [[Infinity, 0, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]]}}', ["data.points[0]"]),
    ("label_true", ".json", json.dumps({"data": {"points": [[0, 0, True]] + POINTS}}), ["data.points[0]", "label 0 or 1"]),
    ("version_true", ".json", '{"version": true}', ["version = True"]),
    ("version_1_0", ".json", '{"version": 1.0}', ["version = 1.0"]),
    ("seed_true", ".json", '{"seed": true}', ["seed = True"]),
    ("not_a_table", ".json", "[1, 2]", ["must be a table"]),
    ("broken_json", ".json", '{"seed": ', ["not valid JSON"]),
    ("broken_toml", ".toml", "seed = = 1", ["not valid TOML"]),
    ("not_utf8", ".json", b"\xff\xfe{}", ["not a text file"]),
]


@pytest.mark.parametrize("name, suffix, text, fragments", EDGES, ids=[e[0] for e in EDGES])
def test_a_bad_file_is_refused_in_one_line(capsys, tmp_path, name, suffix, text, fragments):
    path = tmp_path / f"{name}{suffix}"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    code, err = run_cli(capsys, "train", str(path), "--steps", "0", "--grid", "10")
    assert_one_line_refusal(code, err, str(path), *fragments)


def test_a_refused_value_is_echoed_cut_short():
    assert shown(list(range(100_000))).endswith("...]") and len(shown(list(range(100_000)))) <= SHOWN_CHARS
    assert shown("x" * 1000) == "'" + "x" * (SHOWN_CHARS - 2) + "…"
    assert shown(10 ** 5000) == "<a whole number of about 5001 digits>"  # more digits than repr() makes
    assert shown([[[[[[1]]]]]]) == "[[[[...]]]]"


def test_pipes_devices_and_folders_are_refused_without_reading(capsys, tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # a reader would wait here forever for a writer
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")  # a reader would never reach the end
    folder = tmp_path / "folder.json"
    folder.mkdir()
    for path, kind in ((fifo, "a named pipe"), (zero, "a device"), (folder, "a folder")):
        code, err = run_cli(capsys, "train", str(path), "--steps", "0")
        assert_one_line_refusal(code, err, str(path), f"cannot read {kind}")
        code, err = run_cli(capsys, "export", str(path), "-o", str(tmp_path / "out.gif"))
        assert_one_line_refusal(code, err, f"cannot read {kind}")
    assert not (tmp_path / "out.gif").exists()


def test_a_file_over_the_size_cap_is_refused(capsys, tmp_path):
    path = tmp_path / "huge.json"
    path.write_text('{"seed": 0}' + " " * MAX_FILE_BYTES)  # valid JSON, but no experiment is 4 MB
    code, err = run_cli(capsys, "train", str(path), "--steps", "0")
    assert_one_line_refusal(code, err, "larger than 4 MB")


def test_a_good_file_just_under_the_limits_still_loads(tmp_path):
    points = [[1e6, -1e6, 0]] * 5 + [[0.5, 0.5, 1]] * 5  # the coordinate limit itself is allowed
    path = tmp_path / "edge.json"
    path.write_text(json.dumps({"seed": 2**31 - 1, "data": {"points": points}}) + " " * 1000)
    experiment = Experiment.load(path)
    assert experiment.seed == 2**31 - 1 and experiment.data.points[0] == (1e6, -1e6, 0)


@pytest.mark.parametrize("argv, fragment", [
    (["train"], "the following arguments are required: experiment"),
    (["train", "x.json", "--steps", "-1"], "argument --steps: -1 is negative"),
    (["train", "x.json", "--steps", "1e999"], "argument --steps: '1e999' is not a whole number"),
    (["export", "x.json"], "the following arguments are required: -o/--output"),
    (["export", "x.json", "-o", "x.gif", "--view", "side"], "argument --view: invalid choice: 'side'"),
    (["train", "x.json", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "x.json", "--grid", "0"], "argument --grid: '0' is not allowed: a whole number from 2 to 400"),
    (["export", "x.json", "-o", "x.gif", "--grid", "100000"], "argument --grid: '100000' is not allowed"),
    (["export", "x.json", "-o", "x.gif", "--every", "2.5"], "argument --every: '2.5' is not a whole number"),
    (["export", "x.json", "-o", "x.gif", "--every", "0"], "argument --every: 0 is not allowed: a whole number of steps, 1 or more"),
    (["export", "x.json", "-o", "x.gif", "--every", "-3"], "argument --every: -3 is not allowed"),
])
def test_argparse_errors_are_one_line(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert_one_line_refusal(2, err, fragment, "--help")


@pytest.mark.parametrize("fps", ["0.001", "0.05", "51", "nan", "inf"])
def test_export_fps_has_a_range(capsys, tmp_path, fps):
    out = tmp_path / "run.gif"
    try:
        code, err = run_cli(capsys, "export", str(ROOT / "resources/experiments/xor_tanh.toml"), "-o", str(out),
                            "--fps", fps, "--steps", "2")
    except SystemExit as exited:  # refused by argparse
        code, err = exited.code, capsys.readouterr().err
    assert code == 2 and not out.exists(), err
    assert len(err.strip().splitlines()) == 1 and "fps" in err and "Traceback" not in err


def test_the_real_command_line_refuses_in_one_line(tmp_path):
    """A handful of the table through a real process: exit 2, one line on stderr, nothing on stdout."""
    cases = {"big.json": '{"seed": 1' + "0" * 4400 + "}", "deep.json": "[" * 5000 + "]" * 5000,
             "v.json": '{"version": true}', "deep.toml": "x = " + "[" * 500 + "]" * 500}
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        done = subprocess.run([sys.executable, "-m", "playground", "train", str(path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and done.stdout == "", done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and str(path) in done.stderr, done.stderr[:2000]


def test_file_open_in_the_window_shows_the_refusal(qtbot, tmp_path):
    from playground.ui.main_window import MainWindow

    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    before = window.experiment
    for name, text in (("big.json", '{"seed": 1' + "0" * 5000 + "}"), ("deep.json", "[" * 3000 + "]" * 3000)):
        path = tmp_path / name
        path.write_text(text)
        assert window.open_experiment(str(path)) is False  # refused, nothing raised out of the slot
        assert str(path) in window.last_warning.text() and window.experiment is before
        window.last_warning.close()
    window.shutdown()


# ---- fuzz -----------------------------------------------------------------------------------------
FIELD_NAMES = {
    "data": ["dataset", "noise", "train_fraction", "n_points", "features", "points"],
    "network": ["hidden", "activation", "activation_params", "init", "init_gain", "bias_init", "batch_norm"],
    "training": ["optimizer", "learning_rate", "batch_size", "loss", "regularization",
                 "regularization_rate", "grad_clip"],
}
names = st.sampled_from(["circle", "spiral", "relu", "tanh", "adam", "sgd", "l2", "he", "x1", "x2", "bce", ""])
numbers = st.one_of(
    st.integers(-3, 40), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10 ** 309, -(10 ** 400), 2**31, 1e39, 1e-320, 0.5, 5000, 5001]))
scalars = st.one_of(st.none(), st.booleans(), numbers, names, st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=12), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=40)
point_rows = st.lists(st.lists(numbers, min_size=2, max_size=4), min_size=0, max_size=30)


@st.composite
def experiment_documents(draw):
    """Mostly near-valid documents (known keys, plausible values) with a few mistakes in them."""
    doc = {}
    if draw(st.booleans()):
        doc["seed"] = draw(numbers)
    if draw(st.integers(0, 9)) == 0:
        doc["version"] = draw(scalars)
    for section, fields in FIELD_NAMES.items():
        if draw(st.booleans()):
            table = {}
            for name in draw(st.lists(st.sampled_from(fields), max_size=4, unique=True)):
                table[name] = draw(point_rows if name == "points" else st.one_of(scalars, values))
            doc[section] = table
    if draw(st.integers(0, 9)) == 0:
        doc[draw(st.text(max_size=10))] = draw(values)
    return doc


def toml_value(value) -> str:
    """A TOML rendering of a plain value (inline tables and arrays); None has no TOML form: a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10 ** 4000 else "1" + "0" * 4400
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps("" if value is None else value)


def to_toml(doc: dict) -> str:
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(key)}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def load_or_refuse(path: Path) -> None:
    """What `playground train` does first: the experiment, or BadInput with one short line."""
    try:
        experiment = inputs.load_experiment(str(path))
    except inputs.BadInput as error:
        message = str(error)
        assert "\n" not in message and message.startswith(str(path)) and len(message) < 400, message[:1000]
        return
    assert isinstance(experiment, Experiment)
    assert Experiment.from_dict(experiment.to_dict()) == experiment  # what loads also saves and reloads


FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(doc=experiment_documents())
def test_fuzz_json_documents_load_or_are_refused_in_one_line(tmp_path, doc):
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")  # NaN, Infinity included
    load_or_refuse(path)


@FUZZ
@given(doc=experiment_documents())
def test_fuzz_toml_documents_load_or_are_refused_in_one_line(tmp_path, doc):
    path = tmp_path / "fuzz.toml"
    path.write_text(to_toml(doc), encoding="utf-8")
    load_or_refuse(path)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from('{}[]",:=.\n 0123456789-eE+truefalsnNIiy#\\\'abc'), max_size=200),
       suffix=st.sampled_from([".json", ".toml"]))
def test_fuzz_broken_text_loads_or_is_refused_in_one_line(tmp_path, text, suffix):
    path = tmp_path / f"text{suffix}"
    path.write_text(text, encoding="utf-8")
    load_or_refuse(path)


def test_the_fuzzed_kinds_of_document_are_refused_by_the_real_command_line(tmp_path):
    """One near-valid mistake of each kind through the real CLI."""
    docs = {"a.json": {"data": {"points": [[0, 0, 2]] * 10}}, "b.toml": {"network": {"hidden": [4, None]}},
            "c.json": {"training": {"batch_size": 10 ** 400}}}
    for name, doc in docs.items():
        path = tmp_path / name
        path.write_text(to_toml(doc) if name.endswith(".toml") else json.dumps(doc))
        done = subprocess.run([sys.executable, "-m", "playground", "train", str(path), "--steps", "0"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr[:2000]


def test_experiment_error_is_raised_for_every_fuzz_refusal_kind_directly():
    with pytest.raises(ExperimentError, match="version = True"):
        Experiment.from_dict({"version": True})
