"""Run files: save → open gives the same run at the same step, and the next steps equal an
uninterrupted run's; damaged, truncated and foreign files are refused with one RunFileError."""

import io
import json
import zipfile

import numpy as np
import pytest

from playground import kernel, runfile
from playground.experiment import Experiment, ExperimentError
from playground.runfile import RunFileError, load_run, read_run, save_run
from playground.training import Trainer

GRID = 24  # small grids: the comparison is the same at any size, and cheaper
SAVED_AT = 237  # mid-epoch (250 training points, batch 10) and between probes: the hardest place to resume


def experiment(**fields) -> Experiment:
    exp = Experiment.from_dict({"seed": 7, "network": {"hidden": [5, 3]}, "training": {"learning_rate": 0.03}})
    for path, value in fields.items():
        exp = exp.with_field(path.replace("__", "."), value)
    return exp


CASES = {
    "sgd": experiment(),
    "momentum": experiment(training__optimizer="momentum"),
    "adam": experiment(training__optimizer="adam", network__activation="relu"),
    "prelu_adam": experiment(training__optimizer="adam", network__activation="prelu"),
    "batch_norm": experiment(training__optimizer="momentum", network__batch_norm=True, network__activation="elu"),
    "l2_clip_gelu": experiment(network__activation="gelu", training__regularization="l2",
                               training__regularization_rate=0.001, training__grad_clip=1.0),
}
ENGINES = ["numpy", pytest.param("compiled", marks=pytest.mark.skipif(not kernel.available(), reason="no numba"))]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES)
def test_save_open_continues_as_an_uninterrupted_run(tmp_path, case, engine):
    exp = CASES[case]
    straight = Trainer(exp, grid_size=GRID, engine=engine)
    straight.step(SAVED_AT)
    saved_snapshot = straight.snapshot()
    path = save_run(straight, tmp_path / "run.pgrun")

    opened = load_run(path, grid_size=GRID, engine=engine)
    reopened_snapshot = opened.snapshot()
    assert opened.step_count == SAVED_AT
    np.testing.assert_array_equal(reopened_snapshot.output_grid, saved_snapshot.output_grid)
    assert reopened_snapshot.test_accuracy == saved_snapshot.test_accuracy
    assert reopened_snapshot.train_loss == saved_snapshot.train_loss
    np.testing.assert_array_equal(reopened_snapshot.history.test_loss, saved_snapshot.history.test_loss)
    np.testing.assert_array_equal(reopened_snapshot.history.steps, saved_snapshot.history.steps)
    for a, b in zip(reopened_snapshot.states, saved_snapshot.states):
        np.testing.assert_array_equal(a, b)

    straight.step(100)
    opened.step(100)
    assert opened.step_count == straight.step_count == SAVED_AT + 100
    assert opened.epoch == straight.epoch
    np.testing.assert_allclose(opened.model.flat_state(), straight.model.flat_state(), rtol=0, atol=1e-6)
    after_a, after_b = opened.snapshot(), straight.snapshot()
    np.testing.assert_allclose(after_a.output_grid, after_b.output_grid, atol=1e-6)
    np.testing.assert_allclose(after_a.history.train_loss, after_b.history.train_loss, atol=1e-6)
    assert len(after_a.history) == len(after_b.history)


def test_the_resumed_run_differs_from_a_fresh_one_and_from_a_fresh_shuffle(tmp_path):
    """The comparison above can fail: resuming with the generator or the epoch order reset does not
    equal the uninterrupted run."""
    exp = CASES["adam"]
    straight = Trainer(exp, grid_size=GRID, engine="numpy")
    straight.step(SAVED_AT)
    state = straight.state()
    straight.step(100)
    for broken in ("batch_rng", "epoch_order"):
        other = Trainer(exp, grid_size=GRID, engine="numpy")
        tampered = dict(state)
        if broken == "batch_rng":
            tampered["batch_rng"] = runfile_generator_words(np.random.default_rng(123))
        else:
            tampered["epoch_order"] = state["epoch_order"][::-1].copy()
        other.restore(tampered)
        other.step(100)
        assert np.abs(other.model.params - straight.model.params).max() > 1e-4, broken


def runfile_generator_words(rng):
    from playground.training import _generator_state

    return _generator_state(rng)


def test_a_history_thinned_past_its_limit_resumes_on_the_same_schedule(tmp_path):
    exp = experiment(data__n_points=40, training__batch_size=4)
    straight = Trainer(exp, grid_size=GRID)
    straight.step(100_000)  # 190 rows to step 1000, then one every 50th: past 2000 rows, thinned once
    assert straight._record.every > 10
    opened = load_run(save_run(straight, tmp_path / "long.pgrun"), grid_size=GRID)
    straight.step(2000)
    opened.step(2000)
    np.testing.assert_array_equal(opened.history().steps, straight.history().steps)


def test_a_diverged_run_stays_diverged_with_its_message(tmp_path):
    exp = Experiment.from_dict({"network": {"hidden": [32] * 8, "activation": "relu", "init_gain": 2.0},
                                "training": {"learning_rate": 0.05, "batch_size": 32, "loss": "bce"}})  # as test_training's
    trainer = Trainer(exp, grid_size=GRID)
    trainer.step(1000)
    assert trainer.diverged
    opened = load_run(save_run(trainer, tmp_path / "d.pgrun"), grid_size=GRID)
    assert opened.diverged and opened.message == trainer.message and opened.step(10) == 0


def test_the_file_is_a_zip_of_json_and_a_pickle_free_npz(tmp_path):
    trainer = Trainer(CASES["adam"], grid_size=GRID)
    trainer.step(50)
    path = save_run(trainer, tmp_path / "r.pgrun")
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"run.json", "experiment.json", "state.npz"}
        assert json.loads(archive.read("run.json")) == {"format": "playground-run", "version": 1, "step": 50}
        assert Experiment.from_dict(json.loads(archive.read("experiment.json"))) == trainer.experiment
        with np.load(io.BytesIO(archive.read("state.npz")), allow_pickle=False) as npz:
            assert {"optimizer_m", "optimizer_v", "batch_rng", "epoch_order", "flat_state"} <= set(npz.files)
            assert int(npz["counters"][2]) == 50  # Adam's step count
    assert runfile.load_experiment(path) == trainer.experiment
    assert runfile.is_run_file(path)


def test_saving_is_atomic_an_error_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    trainer = Trainer(CASES["sgd"], grid_size=GRID)
    path = save_run(trainer, tmp_path / "r.pgrun")
    before = path.read_bytes()
    trainer.step(20)

    def broken_writestr(self, name, data, *args, **kwargs):
        if name == "state.npz":
            raise OSError(28, "No space left on device")
        return original(self, name, data, *args, **kwargs)

    original = zipfile.ZipFile.writestr
    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken_writestr)
    with pytest.raises(OSError):
        save_run(trainer, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pgrun"]


# ---- bad files ---------------------------------------------------------------------------------
@pytest.fixture
def good_run(tmp_path):
    trainer = Trainer(CASES["prelu_adam"], grid_size=GRID)
    trainer.step(30)
    return save_run(trainer, tmp_path / "good.pgrun")


def rewrite(path, out, replace: dict, drop=()):
    """A copy of the zip at `path` with some members replaced or dropped."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name not in drop:
                dst.writestr(name, replace.get(name, src.read(name)))
        for name, data in replace.items():
            if name not in src.namelist():
                dst.writestr(name, data)
    return out


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def state_of(path):
    return read_run(path)[1]


def bad_files(good, tmp):
    data = good.read_bytes()
    (tmp / "truncated.pgrun").write_bytes(data[: len(data) // 2])
    (tmp / "random.pgrun").write_bytes(np.random.default_rng(0).bytes(3000))
    (tmp / "empty.pgrun").write_bytes(b"")
    with zipfile.ZipFile(tmp / "foreign.pgrun", "w") as z:
        z.writestr("word/document.xml", "<xml/>")
    rewrite(good, tmp / "nostate.pgrun", {}, drop={"state.npz"})
    state = state_of(good)
    pickled = dict(state, flat_state=np.array([{"evil": 1}], dtype=object))  # np.savez pickles it
    rewrite(good, tmp / "pickled.pgrun", {"state.npz": npz_bytes(**pickled)})
    rewrite(good, tmp / "shape.pgrun", {"state.npz": npz_bytes(**dict(state, flat_state=state["flat_state"][:-3]))})
    other = json.loads(zipfile.ZipFile(good).read("experiment.json"))
    other["network"]["hidden"] = [7]
    rewrite(good, tmp / "other_net.pgrun", {"experiment.json": json.dumps(other)})
    rewrite(good, tmp / "bad_exp.pgrun", {"experiment.json": '{"network": {"hidden": "x"}}'})
    rewrite(good, tmp / "not_json.pgrun", {"run.json": b"\xff\xfe"})
    rewrite(good, tmp / "version.pgrun", {"run.json": '{"format": "playground-run", "version": 99}'})
    rewrite(good, tmp / "bad_order.pgrun", {"state.npz": npz_bytes(**dict(state, epoch_order=np.zeros_like(state["epoch_order"])))})
    rewrite(good, tmp / "float_counters.pgrun", {"state.npz": npz_bytes(**dict(state, counters=state["counters"] + 0.5))})
    rewrite(good, tmp / "bad_rng.pgrun", {"state.npz": npz_bytes(**dict(state, batch_rng=np.zeros(6, np.uint64)))})
    damaged = bytearray(data)
    start = data.find(b"state.npz") + 200  # inside the compressed state: the CRC check fails
    damaged[start:start + 50] = bytes(50)
    (tmp / "flipped.pgrun").write_bytes(bytes(damaged))
    return {
        "truncated": "damaged or not a run file", "random": "damaged or not a run file",
        "empty": "damaged or not a run file", "foreign": "state.npz missing", "nostate": "state.npz missing",
        "pickled": "without pickle", "shape": "flat_state has shape", "other_net": "does not fit its experiment",
        "bad_exp": "experiment.json: network.hidden", "not_json": "run.json is not valid JSON",
        "version": "version 99 is not allowed", "bad_order": "epoch_order is not an order",
        "float_counters": "counters has type float64", "bad_rng": "not a PCG64", "flipped": "",
    }


def test_bad_run_files_are_refused_with_one_clear_error(good_run, tmp_path):
    for name, words in bad_files(good_run, tmp_path).items():
        path = tmp_path / f"{name}.pgrun"
        with pytest.raises(RunFileError) as caught:
            load_run(path, grid_size=GRID)
        message = str(caught.value)
        assert message.startswith(str(path)) and words in message, (name, message)
        assert "\n" not in message
        assert isinstance(caught.value, ExperimentError)


def test_a_pickled_array_is_never_unpickled(good_run, tmp_path, monkeypatch):
    import pickle

    calls = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    bad_files(good_run, tmp_path)
    with pytest.raises(RunFileError):
        read_run(tmp_path / "pickled.pgrun")
    assert not calls


def test_a_zip_with_a_plain_json_suffix_is_still_read_as_a_run(good_run, tmp_path):
    renamed = tmp_path / "looks_like.json"
    renamed.write_bytes(good_run.read_bytes())
    assert runfile.is_run_file(renamed)
    assert runfile.load_experiment(renamed) == read_run(good_run)[0]
    plain = tmp_path / "e.json"
    plain.write_text('{"seed": 3}')
    assert not runfile.is_run_file(plain) and runfile.load_experiment(plain).seed == 3
