"""The recorder keeps a bounded, compact history; replay rebuilds exactly the snapshots training made."""

import numpy as np
import pytest
from playground.experiment import Data, Experiment, Network
from playground.recording import Recorder, Replay, truncate_history
from playground.training import Trainer
import reference

SMALL = Experiment(seed=3, data=Data(dataset="xor", n_points=200), network=Network(hidden=(6, 4), activation="relu"))


def test_records_every_kth_step_and_the_end():
    trainer = Trainer(SMALL, grid_size=24)
    recorder = Recorder(every=10)
    assert recorder.train(trainer, 45) == 45
    assert [f.step for f in recorder.recording().frames] == [0, 10, 20, 30, 40]
    recorder.record(trainer, force=True)  # the final state, off the schedule
    assert recorder.recording().steps == [0, 10, 20, 30, 40, 45]
    assert recorder.record(trainer, force=True) is False  # never the same step twice


def test_replay_reproduces_the_trainers_snapshots_exactly():
    trainer = Trainer(SMALL, grid_size=24)
    recorder = Recorder(every=5)
    recorder.train(trainer, 30)
    recording = recorder.recording(trainer.history())
    replay = Replay(recording, grid_size=24)
    live = trainer.snapshot()
    replayed = replay.snapshot(len(recording) - 1)
    assert replayed.step == live.step == 30
    np.testing.assert_array_equal(replayed.output_grid, live.output_grid)
    assert replayed.train_loss == live.train_loss and replayed.test_accuracy == live.test_accuracy
    for a, b in zip(replayed.states, live.states):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(replayed.history.steps, live.history.steps)
    # a middle frame equals a fresh run stopped at that step (the seed makes runs identical)
    other = Trainer(SMALL, grid_size=24)
    other.step(15)
    middle = replay.snapshot(recording.steps.index(15))
    np.testing.assert_array_equal(middle.output_grid, other.snapshot().output_grid)
    assert middle.history.steps[-1] == 15 and len(middle.history) == len(other.history())


def test_capacity_is_bounded_by_thinning_and_keeps_the_whole_run():
    trainer = Trainer(SMALL, grid_size=8)
    recorder = Recorder(every=1, capacity=16)
    recorder.train(trainer, 200)
    recorder.record(trainer, force=True)
    steps = recorder.recording().steps
    assert len(steps) <= 17
    assert steps[0] == 0 and steps[-1] == 200
    assert recorder.every == 16  # 1 → 2 → 4 → 8 → 16 as the run grew past 16, 32, 64, 128 frames
    assert all(s % 16 == 0 for s in steps[:-1])
    assert steps == sorted(steps)


def test_a_reset_starts_a_new_recording_and_hot_changes_are_kept_per_frame():
    trainer = Trainer(SMALL, grid_size=8)
    recorder = Recorder(every=5)
    recorder.train(trainer, 10)
    faster = SMALL.with_field("training.learning_rate", 0.3)
    assert trainer.apply(faster) == "hot"
    recorder.train(trainer, 10)
    frames = recorder.recording().frames
    assert [f.experiment.training.learning_rate for f in frames] == [0.03] * 3 + [0.3] * 2
    assert frames[0].experiment is frames[1].experiment is frames[2].experiment  # shared, not copied
    assert trainer.apply(faster.with_field("data.noise", 0.2)) == "data"  # new data: a new run
    recorder.train(trainer, 5)
    assert recorder.recording().steps == [0, 5]
    assert recorder.recording().data is trainer.data
    trainer.reset()
    recorder.record(trainer)
    assert recorder.recording().steps == [0]
    assert trainer.apply(trainer.experiment.with_field("network.init_gain", 2.0)) == "model"
    recorder.record(trainer)  # new weights at step 0, a step already recorded: the frame is replaced
    frame = recorder.recording().frames[-1]
    assert len(recorder) == 1 and frame.experiment.network.init_gain == 2.0
    np.testing.assert_array_equal(frame.params, trainer.model.flat_state())


def test_frames_are_compact():
    trainer = Trainer(SMALL, grid_size=8)
    recorder = Recorder(every=1)
    recorder.train(trainer, 20)
    n_values = sum(p.size for _, _, p in reference.parameters(trainer.model))
    frame = recorder.recording().frames[-1]
    assert frame.params.nbytes == 4 * n_values  # one flat float32 vector: 2·6+6 + 6·4+4 + 4+1 = 51 values
    assert frame.nbytes < 4 * n_values + 64


def test_history_memory_per_1000_steps_is_small():
    from playground.bench import measure_history_kb_per_1000_steps

    kb = measure_history_kb_per_1000_steps(SMALL, steps=300)
    # 51 float32 values (204 B) + states + grad norms + the Frame object: well under 1 KB a frame
    assert 200 < kb < 1000


def test_flat_state_round_trip_and_history_truncation():
    trainer = Trainer(Experiment(network=Network(hidden=(3,), activation="prelu", batch_norm=True)), grid_size=8)
    trainer.step(12)
    flat = trainer.model.flat_state()
    other = Trainer(Experiment(seed=5, network=Network(hidden=(3,), activation="prelu", batch_norm=True)), grid_size=8)
    other.model.load_flat_state(flat)
    for e1, e2 in zip(other.model.state(), trainer.model.state()):  # weights, slopes, batch norm, its statistics
        assert sorted(e1) == sorted(e2)
        for key in e1:
            np.testing.assert_array_equal(e1[key], e2[key])
    with pytest.raises(ValueError, match="does not fit"):
        other.model.load_flat_state(flat[:-1])
    history = trainer.history()
    cut = truncate_history(history, 5, 2)
    assert list(cut.steps) == [0, 1, 2, 3, 4, 5] and cut.grad_norms.shape == (6, 2)
    assert len(truncate_history(None, 5, 2)) == 0
