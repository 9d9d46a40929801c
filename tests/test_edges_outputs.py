"""Output files at their edges: a name the system refuses, a disk that fills while writing, an option
that fits only some of the work. Each is one line naming the option and the reason, exit 2, no file.
"""

import errno
import json
import os
import re
from pathlib import Path

import pytest

from playground import cli, tfp_parity

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"data": {"dataset": "circle", "n_points": 60},
         "network": {"hidden": [3], "activation": "tanh"},
         "training": {"learning_rate": 0.1, "batch_size": 10}}
PROGRESS = re.compile(r"playground: (training|rendering) [\d,]+ (steps|frames)$")
TOO_LONG = "x" * 300  # one name past NAME_MAX (255 bytes on ext4, tmpfs, overlayfs)


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL))
    return str(path)


def assert_one_line_refusal(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    # the progress lines on a log ("playground: training 4 steps") come first; then the one line
    lines = [line for line in err.strip().splitlines() if not PROGRESS.match(line)]
    assert len(lines) == 1 and "Traceback" not in err and len(lines[0]) < 400, err[:2000]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# command, its output option, the suffix of the name it writes; Path.is_dir() raised ENAMETOOLONG on
# Python 3.11 for these (exit 1, "internal error") before check_writable caught it
LONG_NAMES = [
    (["train", "{exp}", "--steps", "0", "--grid", "10"], "--save", ".pgrun"),
    (["export", "{exp}", "--steps", "0", "--grid", "10"], "-o", ".py"),
    (["compare", "{exp}", "--variants", "activation=tanh,relu", "--seeds", "1", "--steps", "0"], "--csv", ".csv"),
]


@pytest.mark.parametrize("argv, option, suffix", LONG_NAMES, ids=[row[1] for row in LONG_NAMES])
def test_a_name_too_long_is_one_line_naming_the_option_before_any_work(capsys, tmp_path, small, argv, option, suffix):
    out = tmp_path / (TOO_LONG + suffix)
    code = cli.main([a.replace("{exp}", small) for a in argv] + [option, str(out)])
    assert_one_line_refusal(code, capsys.readouterr().err, f"{option} {tmp_path}", "File name too long",
                            "cannot write there")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.json"]


def test_a_file_used_as_a_folder_still_says_the_folder_is_missing(capsys, tmp_path, small):
    code = cli.main(["train", small, "--steps", "0", "--save", str(Path(small) / "run.pgrun")])
    assert_one_line_refusal(code, capsys.readouterr().err, "--save", "does not exist or is read-only")


def test_a_full_disk_at_the_csv_is_one_line(capsys, tmp_path, small, monkeypatch):
    from playground import cli_compare

    monkeypatch.setattr(cli_compare, "write_atomically", no_space)
    out = tmp_path / "t.csv"
    code = cli.main(["compare", small, "--variants", "activation=tanh,relu", "--seeds", "1", "--steps", "2",
                     "--csv", str(out)])
    assert_one_line_refusal(code, capsys.readouterr().err, f"--csv {out}", "No space left on device")
    assert not out.exists()


def ffmpeg_gone(*args, **kwargs):
    raise OSError("ffmpeg exited with status 1:\n[out#0] Error muxing a packet\nNo space left on device")


# where export_comparison's writing fails: a frame (the disk full), the encoder's end (ffmpeg's
# text, no strerror), the move into place
FAILURES = [("GifWriter.append", no_space, "gif"), ("Mp4Writer.close", ffmpeg_gone, "mp4"),
            ("AtomicFile.commit", no_space, "gif")]


@pytest.mark.parametrize("where, failure, fmt", FAILURES, ids=[row[0] for row in FAILURES])
def test_a_failed_comparison_export_is_one_line_and_no_file(capsys, tmp_path, small, monkeypatch, qapp,
                                                            where, failure, fmt):
    from playground import writers

    cls, method = where.split(".")
    monkeypatch.setattr(getattr(writers, cls), method, failure)
    out = tmp_path / f"side.{fmt}"
    code = cli.main(["compare", small, "--variants", "activation=tanh,relu", "--seeds", "1", "--steps", "4",
                     "--export", str(out), "--size", "160x96"])
    assert_one_line_refusal(code, capsys.readouterr().err, str(out), "No space left on device",
                            "nothing was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.json"]  # no part file either


def test_a_candidate_that_fits_only_some_configs_is_refused_before_training(capsys, monkeypatch):
    trained = []
    monkeypatch.setattr(tfp_parity, "measure", lambda *args, **kwargs: trained.append(args) or {})
    two_names = 'two={"network": {"activation": ["tanh", "relu"]}}'  # fits [4,2], not [8]x6
    assert tfp_parity.main(["--candidate", two_names, "--seeds", "1"]) == 2
    err = capsys.readouterr().err
    assert_one_line_refusal(2, err, "--candidate two on 'spiral [8]x6 relu'", "a list of 6 names")
    assert trained == []
    # only the configs that will run are checked: on the [4,2] ones it is a fine candidate
    assert tfp_parity.main(["--candidate", two_names, "--seeds", "1", "--config", "circle [4,2] tanh",
                            "--config", "xor [4,2] tanh"]) == 0
    assert trained[0][4] == ("circle [4,2] tanh", "xor [4,2] tanh")


def test_export_reads_size_once(capsys, tmp_path, monkeypatch):
    from playground import cli_export

    calls = []
    real = cli_export.parse_size
    monkeypatch.setattr(cli_export, "parse_size", lambda text: calls.append(text) or real(text))
    code = cli.main(["export", str(ROOT / "resources/experiments/xor_tanh.toml"), "--size", "121x121",
                     "-o", str(tmp_path / "missing" / "run.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and "writing 122x122" in err and calls == ["121x121"], err
