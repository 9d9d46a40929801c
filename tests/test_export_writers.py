"""GIF / MP4 / PNG writers, atomic output and the command line's bad input (no Qt needed here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio_v2
import imageio.v3 as iio
import numpy as np
import pytest

from playground import cli
from playground.export import ExportOptions, format_for, parse_size
from playground.writers import AtomicFile, ExportError, GifWriter, Mp4Writer


def synthetic_frames(n=6, w=64, h=48):
    """Frames with a bar that moves right: each differs from the last."""
    frames = []
    for i in range(n):
        frame = np.full((h, w, 3), 240, np.uint8)
        frame[:, :, 2] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]  # a gradient, like the maps
        frame[10:30, 5 + 8 * i:13 + 8 * i] = (245, 147, 34)  # the app's orange
        frames.append(frame)
    return frames


def test_gif_loops_with_the_right_frames_size_and_timing(tmp_path):
    frames = synthetic_frames()
    path = tmp_path / "a.gif"
    writer = GifWriter(path, (64, 48), fps=20, palette_sample=[frames[0], frames[-1]])
    for f in frames:
        writer.append(f)
    writer.close()
    back = iio.imread(path, index=None)
    assert back.shape[:3] == (6, 48, 64)
    meta = iio.immeta(path, index=0)
    assert meta["loop"] == 0 and meta["duration"] == 50  # 20 fps = 50 ms
    assert iio.immeta(path, index=5)["duration"] == 1500  # the last frame holds before the loop
    # one shared palette without dithering: colours come back within a few levels
    for a, b in zip(frames, back):
        assert np.abs(a.astype(int) - b[..., :3].astype(int)).mean() < 3
    assert not np.array_equal(back[0], back[-1])


def test_mp4_is_h264_yuv420p_with_every_frame(tmp_path):
    frames = synthetic_frames(n=7)
    path = tmp_path / "a.mp4"
    writer = Mp4Writer(path, (64, 48), fps=10)
    for f in frames:
        writer.append(f)
    writer.close()
    reader = imageio_v2.get_reader(path, "ffmpeg")
    try:
        meta = reader.get_meta_data()
        back = [f for f in reader]
    finally:
        reader.close()
    assert len(back) == 7 and back[0].shape == (48, 64, 3)
    assert meta["fps"] == 10 and meta["codec"] == "h264"
    import imageio_ffmpeg

    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path)], capture_output=True, text=True)
    assert "yuv420p" in probe.stderr
    assert np.abs(back[3].astype(int) - frames[3]).mean() < 6  # lossy, but close


def test_mp4_needs_even_sides_and_options_round_them_up():
    with pytest.raises(ExportError, match="even"):
        Mp4Writer(Path("/tmp/never.mp4"), (63, 48), fps=10)
    assert ExportOptions(format="mp4", size=(121, 99)).checked().size == (122, 100)
    assert ExportOptions(format="gif", size=(121, 99)).checked().size == (121, 99)


def test_options_and_names_are_checked_with_clear_messages():
    assert format_for("x/run.GIF") == "gif" and format_for("a.mp4") == "mp4"
    with pytest.raises(ExportError, match=r"unknown output type '\.avi'; allowed: \.gif, \.mp4, \.png"):
        format_for("run.avi")
    assert parse_size("600x400") == (600, 400) and parse_size("300") == (300, 300)
    with pytest.raises(ExportError, match="WIDTHxHEIGHT"):
        parse_size("big")
    with pytest.raises(ExportError, match="from 0.1 to 50"):
        ExportOptions(format="gif", fps=60).checked()
    with pytest.raises(ExportError, match="view 'side'"):
        ExportOptions(view="side").checked()


def test_atomic_file_commits_or_leaves_nothing(tmp_path):
    target = tmp_path / "out.png"
    out = AtomicFile(target)
    assert out.temp.parent == tmp_path and out.temp.name.startswith(".out.")
    out.temp.write_bytes(b"x")
    out.discard()
    assert list(tmp_path.iterdir()) == []
    out = AtomicFile(target)
    out.temp.write_bytes(b"png")
    out.commit()
    assert target.read_bytes() == b"png" and [p.name for p in tmp_path.iterdir()] == ["out.png"]
    assert os.stat(target).st_mode & 0o044  # readable by others, not mkstemp's 0600
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ExportError, match="cannot write in .*not a folder"):
        AtomicFile(blocker / "run.gif")
    with pytest.raises(ExportError, match="does not exist"):
        AtomicFile(tmp_path / "missing" / "run.gif")


@pytest.fixture
def experiment_file(tmp_path):
    path = tmp_path / "exp.json"
    path.write_text(json.dumps({"seed": 2, "data": {"dataset": "circle", "n_points": 100},
                                "network": {"hidden": [4], "activation": "tanh"}}))
    return path


def test_cli_bad_input_exits_2_with_one_line(tmp_path, experiment_file, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"network": {"activation": "swish"}}))
    assert cli.main(["export", str(bad), "-o", str(tmp_path / "a.gif")]) == 2
    err = capsys.readouterr().err
    assert "network.activation = 'swish' is not allowed" in err and err.count("\n") == 1
    assert cli.main(["export", str(experiment_file), "-o", str(tmp_path / "a.avi")]) == 2
    assert "unknown output type '.avi'; allowed: .gif, .mp4, .png" in capsys.readouterr().err
    assert cli.main(["export", str(experiment_file), "-o", str(tmp_path / "a.gif"), "--size", "10x10"]) == 2
    assert "--size '10x10' is not allowed" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "exp.json"]


def test_unwritable_path_exits_2_and_writes_nothing(tmp_path, experiment_file):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")  # root can write anywhere chmod allows, but never inside a regular file
    out = blocker / "run.gif"
    result = subprocess.run([sys.executable, "-m", "playground", "export", str(experiment_file), "-o", str(out),
                             "--steps", "5"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "cannot write in" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["exp.json", "not_a_folder"]
