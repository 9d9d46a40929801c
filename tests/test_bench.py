"""`playground bench`: every key comes out, as a number or as null with a reason. No timing assertions."""

import json
import math

import pytest

from playground import bench
from playground.cli import main


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


def test_core_figures_are_always_measured(result):
    # these need neither a window nor the exporter, so they must never be missing
    for key in ("engine_c1_updates_per_s", "engine_c1_ratio_vs_plain_torch", "engine_c3_updates_per_s",
                "engine_c3_ratio_vs_plain_torch", "snapshot_c3_ms", "rss_growth_mb"):
        assert result[key] is not None, result["reasons"].get(key)
    assert result["engine_c1_updates_per_s"] > 0 and result["snapshot_c3_ms"] > 0
    assert set(result["targets"]) == set(bench.TARGETS)


def test_table_names_every_figure_and_says_why_one_is_missing():
    result = {key: 1.5 for key in bench.KEYS}
    result["export_fps"] = None
    result["reasons"] = {"export_fps": "export: ImportError: no exporter"}
    result["targets"] = {key: bench._verdict(key, result[key]) for key in bench.TARGETS}
    table = bench.format_table(result)
    for key in bench.KEYS:
        assert key in table
    assert "no exporter" in table
    assert bench._verdict("startup_s", 1.5).startswith("met")
    assert bench._verdict("live_c1_ratio_vs_tfp", 1.5).startswith("MISSED")
    assert bench._verdict("startup_s", None) == "not measured"


def test_plain_torch_baseline_starts_from_the_engines_weights():
    torch = pytest.importorskip("torch")
    from playground.training import Trainer

    trainer = Trainer(bench.experiment("c1"))
    plain = bench._PlainTorch(trainer)
    x = torch.from_numpy(trainer._x_train[:7].copy())
    expected = trainer.model.forward(trainer._x_train[:7])
    assert torch.allclose(plain.model(x)[:, 0], torch.from_numpy(expected), atol=1e-5)
    plain.step()  # one update runs


def test_percentile():
    assert bench._percentile([3, 1, 2], 50) == 2
    assert bench._percentile([0, 10], 99) == pytest.approx(9.9)
    assert math.isnan(bench._percentile([], 50))
