"""The command line on run files: train --save writes one, train/export/gui take one, bad ones exit 2."""

import json

import pytest

from playground.cli import main

EXPERIMENT = '{"seed": 4, "network": {"hidden": [6, 4], "activation": "prelu"}, "training": {"optimizer": "adam"}}'


@pytest.fixture
def exp_file(tmp_path):
    path = tmp_path / "e.json"
    path.write_text(EXPERIMENT)
    return str(path)


def train_json(capsys, *args):
    assert main(["train", *args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    result.pop("seconds")
    return result


def test_train_save_then_steps_0_reports_the_saved_numbers(exp_file, tmp_path, capsys):
    run = str(tmp_path / "r.pgrun")
    saved = train_json(capsys, exp_file, "--steps", "300", "--save", run)
    assert train_json(capsys, run, "--steps", "0") == saved
    assert saved["steps"] == 300


def test_train_on_a_run_goes_on_as_an_uninterrupted_run(exp_file, tmp_path, capsys):
    run = str(tmp_path / "r.pgrun")
    train_json(capsys, exp_file, "--steps", "250", "--save", run)
    resumed = train_json(capsys, run, "--steps", "150", "--save", run)  # and saved over itself
    straight = train_json(capsys, exp_file, "--steps", "400")
    assert resumed == straight and resumed["steps"] == 400
    assert train_json(capsys, run, "--steps", "0") == straight


def test_a_run_named_json_is_read_by_its_content(exp_file, tmp_path, capsys):
    run = tmp_path / "looks_like.json"
    saved = train_json(capsys, exp_file, "--steps", "120", "--save", str(run))
    assert train_json(capsys, str(run), "--steps", "0") == saved


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"\x00\x01 random bytes"])
def test_bad_run_files_exit_2_with_one_line(tmp_path, capsys, content):
    bad = tmp_path / "bad.pgrun"
    bad.write_bytes(content)
    assert main(["train", str(bad), "--steps", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err and "run file" in err


def test_save_to_a_missing_folder_fails_before_training(exp_file, tmp_path, capsys):
    assert main(["train", exp_file, "--steps", "5", "--save", str(tmp_path / "no" / "r.pgrun")]) == 2
    assert "--save" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.json"]


def test_export_of_a_run_goes_on_from_its_step(tmp_path):
    """export RUN draws the run where it was saved (step 200), as export EXPERIMENT --steps 200 does."""
    experiment = tmp_path / "e.json"
    experiment.write_text('{"data": {"dataset": "xor"}, "network": {"hidden": [4]}}')
    run = tmp_path / "r.pgrun"
    assert main(["train", str(experiment), "--steps", "200", "--save", str(run)]) == 0
    from_run, from_start = tmp_path / "run.png", tmp_path / "start.png"
    assert main(["export", str(run), "-o", str(from_run), "--steps", "0", "--size", "200x200"]) == 0
    assert main(["export", str(experiment), "-o", str(from_start), "--steps", "200", "--size", "200x200"]) == 0
    assert from_run.read_bytes() == from_start.read_bytes()
