"""`playground bench`: every key comes out, as a number or as null with a reason, and a tiny run
measures them all (a measurement that fails fails the test, a window part without a key of its own
included) and each figure counts what it says. No timing assertions."""

import json
import math
import os
import shutil
import subprocess
import sys

import pytest

from playground import bench, bench_engine, cli_bench
from playground.cli import main
from playground.training import Trainer
from playground.ui import bench_live

NODE = shutil.which("node")
TFP_KEYS = ("engine_c1_ratio_vs_tfp_engine", "engine_c3_ratio_vs_tfp_engine")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """One tiny bench run through the command line (every measurement, at 2 % of its length)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["bench", "--json", "--quick", "--scale", "0.02"]) == 0
    return json.loads(out.getvalue())


def test_every_key_is_a_number_or_null_with_a_reason(result):
    for key in bench.KEYS:
        value = result[key]
        if value is None:
            assert result["reasons"].get(key), f"{key} is null without a reason"
        else:
            assert isinstance(value, (int, float)) and math.isfinite(value), (key, value)


def test_every_measurement_succeeds(result):
    # offscreen Qt, numba and torch are all here: the only figures allowed to be missing are TF
    # Playground's engine's, and only when node is not on PATH (then the reason says so)
    allowed = set() if NODE else set(TFP_KEYS)
    failed = {key: why for key, why in result["reasons"].items() if key not in allowed}
    assert not failed, failed
    for key in allowed:
        assert "node" in result["reasons"][key]
    for key in bench.KEYS:
        if key not in allowed:
            assert result[key] is not None, key


def test_the_figures_say_what_they_count(result):
    detail = result["detail"]
    for case in ("c1", "c3"):
        # the window trained while it was timed: a minibatch of 10 of the 250 training points is
        # 1/25 epoch, so the frames' updates and epochs per second (same snapshots) differ by 25x
        updates_per_epoch = len(Trainer(bench.experiment(case)).training_set[0]) / 10
        for run in (f"live_{case}", f"live_{case}_loaded"):
            live = detail[run]
            assert live["epochs_per_s"] > 0 and live["frames_per_s"] > 0, (run, live)
            assert live["updates_per_s"] == pytest.approx(updates_per_epoch * live["epochs_per_s"], rel=1e-6)
        assert result[f"live_{case}_epochs_per_s"] == detail[f"live_{case}"]["epochs_per_s"]
        engine = detail[f"engine_{case}"]
        assert engine["unit"] == "minibatch updates of 10 points per second"
        assert result[f"engine_{case}_updates_per_s"] > 0 and len(engine["rounds"]["engine"]) >= 3
        if NODE:
            assert len(engine["rounds"]["tfp"]) == len(engine["rounds"]["engine"])  # side by side, round by round
            low, high = engine["ratio_vs_tfp_engine_range"]
            assert low <= result[f"engine_{case}_ratio_vs_tfp_engine"] <= high
        live = result[f"live_{case}_epochs_per_s"]
        assert result[f"live_{case}_ratio_vs_tfp_page_ceiling"] == pytest.approx(live / bench.TFP_PAGE_EPOCHS_PER_S)
    assert result["constants"]["tfp_page_epochs_per_s"]["value"] == 60.0
    assert "not measured" in result["constants"]["tfp_page_epochs_per_s"]["source"]
    # the first trained step comes after the first picture, cold and warm
    assert result["startup_first_picture_s"] < result["startup_s"]
    assert result["startup_first_picture_cold_s"] < result["startup_cold_s"]
    snapshot = detail["snapshot_c3"]
    assert snapshot["total_ms"] >= snapshot["build_ms"] > 0 and result["snapshot_c3_kb"] > 10
    assert detail["gui_timer_ticks"] > 10 and detail["gui_timer_ticks_loaded"] > 10
    assert detail["live_c1_loaded"]["busy_processes"] == bench.BUSY_PROCESSES
    assert detail["gui_lateness_p99_idle_ms"] >= 0 and detail["gui_lateness_p99_loaded_idle_ms"] >= 0
    assert set(result["targets"]) == set(bench.TARGETS)
    assert detail["export"]["frames"] == 15 and detail["export"]["fps"] == result["export_fps"] > 0
    assert result["history_kb_per_1000_steps"] > 0 and result["startup_first_picture_cold_s"] > 0
    compare = detail["compare_window"]  # issue 10's 6 x 20 networks, frames counted once painted
    assert compare["networks"] == 120 and compare["frames"] > 0 and compare["steps_per_s"] > 0
    assert result["compare_drawn_fps"] == compare["drawn_fps"] == pytest.approx(compare["frames"] / compare["seconds"])


def test_a_failing_window_child_says_why(tmp_path, monkeypatch):
    # what run_bench records as the reason when a window measurement fails: the child's own last
    # line. Started from a folder with a numpy.py in it: the child imports the real one (and so
    # gets as far as checking its arguments)
    (tmp_path / "numpy.py").write_text("raise SystemExit('the numpy.py of the current folder ran')\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match=r"child live c9 1 failed \(exit 2\): .*invalid choice: 'c9'"):
        bench_live.run_child(["live", "c9", "1"], timeout=60)


def test_a_loaded_window_child_that_fails_before_it_is_ready_says_why_and_starts_no_load():
    # the busy processes start when the child says it is ready; one that fails first is reported
    # at once (not after the timeout) with its own last line, and no busy process was started
    started = []
    with pytest.raises(RuntimeError, match=r"child live c9 1 --wait-for-go failed before it was ready "
                                           r"\(exit 2\): .*invalid choice: 'c9'"):
        bench_live.run_child(["live", "c9", "1", "--wait-for-go"], timeout=60, when_ready=lambda: started.append(1))
    assert started == []


def test_training_rates_and_timer_lateness_from_what_the_window_saw():
    frames = [(10.0, 2.0, 50), (10.5, 6.0, 150), (12.0, 10.0, 250)]  # (time s, epoch, step)
    assert bench.training_rates(frames) == {"epochs_per_s": 4.0, "updates_per_s": 100.0, "frames_per_s": 1.0}
    # a 5 ms timer firing at 0, 5, 17, 21.5 and 30 ms: on time, 7 ms late, early (0), 3.5 ms late
    assert bench.timer_lateness([0.0, 5.0, 17.0, 21.5, 30.0], 5) == [0.0, 7.0, 0.0, 3.5]
    assert bench.timer_lateness([3.0]) == []


def test_table_names_every_figure_and_says_why_one_is_missing():
    result = {key: 1.5 for key in bench.KEYS}
    result["export_fps"] = None
    result["reasons"] = {"export_fps": "export: ImportError: no exporter"}
    result["targets"] = {key: bench.verdict(key, result[key]) for key in bench.TARGETS}
    table = cli_bench.format_table(result)
    for key in bench.KEYS:
        assert key in table
    assert "no exporter" in table
    assert "one epoch per animation frame" in table and "not a measurement" in table
    assert bench.verdict("startup_s", 1.5).startswith("met")
    assert bench.verdict("engine_c1_ratio_vs_tfp_engine", 1.5).startswith("MISSED")
    assert bench.verdict("startup_s", None) == "not measured"


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_tf_playgrounds_engine_learns_the_circle_and_counts_minibatches():
    trainer = Trainer(bench.experiment("c1"))
    x, y = trainer.training_set
    engine = bench_engine.TfpEngine(trainer)
    try:
        before = engine.accuracy(x, y)
        done = engine.epochs(300)
        after = engine.accuracy(x, y)
    finally:
        engine.close()
    assert done["updates"] == 300 * len(x) // 10  # one update per 10 points
    assert done["points"] == 300 * len(x)
    assert before < 0.8 and after >= 0.95, (before, after)


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_tf_playgrounds_engine_names_a_bad_request():
    engine = bench_engine.TfpEngine(Trainer(bench.experiment("c3")))
    try:
        with pytest.raises(RuntimeError, match="unknown command"):
            engine.ask({"fly": 1})
        assert engine.epochs(1)["updates"] == 25  # still working after it
    finally:
        engine.close()


def test_without_node_the_engine_says_so(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match="node is not on PATH"):
        bench_engine.TfpEngine(Trainer(bench.experiment("c1")))


def test_busy_processes_are_stopped_even_on_an_error():
    with pytest.raises(KeyboardInterrupt):
        with bench.BusyProcesses(2) as busy:
            processes = list(busy.processes)
            assert len(processes) == 2 and all(p.poll() is None for p in processes)
            raise KeyboardInterrupt
    assert all(p.poll() is not None for p in processes)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_busy_processes_end_by_themselves_when_their_parent_dies():
    code = ("import sys, time; sys.path.insert(0, %r); from playground import bench; "
            "b = bench.BusyProcesses(1); b.__enter__(); print(b.processes[0].pid, flush=True); time.sleep(30)"
            % os.path.dirname(os.path.dirname(os.path.abspath(bench.__file__))))
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    import time

    def running() -> bool:  # an ended process may linger as a zombie until its new parent reaps it
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (FileNotFoundError, ProcessLookupError):
            return False

    for _ in range(200):  # it checks its parent every few ms of spinning
        if not running():
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        pytest.fail("the busy process outlived the bench")
    parent.stdout.close()


@pytest.mark.parametrize("case", ["c1", "c3"])
def test_plain_torch_baseline_trains_the_same_network_on_the_same_batches(case):
    # a fair baseline: from the engine's weights, over the trainer's minibatch stream (60 updates
    # cross two epochs' reshuffles), SGD in torch lands on the engine's network
    torch = pytest.importorskip("torch")
    trainer = Trainer(bench.experiment(case), engine="numpy")
    plain = bench_engine.PlainTorch(trainer)
    x = torch.from_numpy(trainer.training_set[0].copy())
    trainer.step(60)
    for _ in range(60):
        plain.step()
    with torch.no_grad():
        ours, theirs = trainer.model.to_torch()(x)[:, 0], plain.model(x)[:, 0]
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert not torch.allclose(theirs, bench_engine.PlainTorch(Trainer(bench.experiment(case))).model(x)[:, 0],
                              atol=1e-3)  # and it did train


def test_percentile():
    assert bench.percentile([3, 1, 2], 50) == 2
    assert bench.percentile([0, 10], 99) == pytest.approx(9.9)
    assert math.isnan(bench.percentile([], 50))
