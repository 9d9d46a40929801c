"""Record a run compactly while it trains, and replay it as Snapshots for export (no Qt here).

Recording keeps what is needed to redraw a step, not the drawing: per recorded step one flat
float32 vector of every model array (~1.6 KB for a 2-8x6-1 net), the neuron states, the last step's
gradient norms and a reference to the experiment in force (shared between frames while it does not
change). Rendered maps would cost ~0.7 MB a frame; these are redrawn on replay through
training.make_snapshot, the same function the trainer uses, so an exported frame is what the window
showed.

Memory is bounded: up to `capacity` frames are kept; past that every other frame is dropped and
frames are taken half as often (the whole run stays, at a coarser interval), like Trainer's history.
A recorder is fed from one thread (the one that owns the trainer) and read from any: `recording()`
takes a consistent copy under a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .experiment import Experiment
from .model import MLP
from .plane import DEFAULT_GRID
from .snapshot import History, Snapshot, frozen

DEFAULT_CAPACITY = 4000  # frames; ~9 MB for a 2-8x6-1 net (2.2 KB a frame: measure_history_kb_per_1000_steps)


@dataclass(frozen=True)
class Frame:
    """One recorded step: enough to rebuild the model and its snapshot."""

    step: int
    epoch: float
    params: np.ndarray  # (n_values,) float32: MLP.flat_state() (parameters, then batch-norm statistics)
    states: np.ndarray  # (n_hidden_units,) int8 NeuronState of every hidden neuron, layer by layer
    grad_norms: np.ndarray  # (n_weight_layers,) float32
    experiment: Experiment  # the settings in force at this step (shared while unchanged)
    diverged: bool = False
    message: str | None = None

    @property
    def nbytes(self) -> int:
        return int(self.params.nbytes + self.states.nbytes + self.grad_norms.nbytes)


@dataclass(frozen=True)
class Recording:
    """A consistent copy of what was recorded: the frames, the run's data and its metric history."""

    frames: tuple[Frame, ...]
    data: object  # datasets.DataSplit of the run (one run = one data split)
    history: History | None  # the trainer's history at the time of the copy (for the charts)
    every: int  # the recording interval in steps when the copy was taken

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def steps(self) -> list[int]:
        return [f.step for f in self.frames]

    @property
    def nbytes(self) -> int:
        return sum(f.nbytes for f in self.frames)

    def select(self, every: int = 1, first: int | None = None, last: int | None = None) -> list[int]:
        """Indices of the frames with first <= step <= last, taking every `every`-th recorded frame.

        The last frame in range is always included, so an animation ends on the final state.
        """
        every = max(1, int(every))
        chosen = [i for i, f in enumerate(self.frames)
                  if (first is None or f.step >= first) and (last is None or f.step <= last)]
        picked = chosen[::every]
        if chosen and picked[-1] != chosen[-1]:
            picked.append(chosen[-1])
        return picked


class Recorder:
    """Keeps a bounded, compact history of a training run (see the module docstring)."""

    def __init__(self, every: int = 1, capacity: int = DEFAULT_CAPACITY):
        if every < 1:
            raise ValueError(f"every = {every!r} is not allowed: a whole number from 1")
        if capacity < 2:
            raise ValueError(f"capacity = {capacity!r} is not allowed: a whole number from 2")
        self.every = int(every)
        self.capacity = int(capacity)
        self._base_every = self.every
        self._frames: list[Frame] = []
        self._data = None
        self._model = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._frames)

    def clear(self) -> None:
        with self._lock:
            self._frames = []
            self._data = None
            self._model = None
            self.every = self._base_every

    def due(self, step: int) -> bool:
        """Whether a frame at `step` belongs to the schedule."""
        return step % self.every == 0

    def record(self, trainer, *, force: bool = False) -> bool:
        """Record the trainer's current step if it is due (or forced). Returns whether it did.

        A run that went back in step count, or got new data, was reset: the old frames are dropped.
        """
        step = trainer.step_count
        frames = self._frames
        if frames and (step < frames[-1].step or trainer.data is not self._data or trainer.model is not self._model):
            self.clear()  # reset, new data or new weights (Trainer.reset builds a new model): a new run
            frames = self._frames
        if frames and frames[-1].step == step:
            return False
        if not (force or self.due(step)):
            return False
        experiment = trainer.experiment
        if frames and frames[-1].experiment is not experiment and frames[-1].experiment == experiment:
            experiment = frames[-1].experiment  # share one object between frames
        states = trainer.states
        frame = Frame(
            step=step, epoch=float(trainer.epoch), params=trainer.model.flat_state(),
            states=np.concatenate(states).astype(np.int8) if len(states) else np.zeros(0, np.int8),
            grad_norms=np.asarray(trainer.grad_norms(), np.float32).copy(), experiment=experiment,
            diverged=bool(trainer.diverged), message=trainer.message)
        with self._lock:
            self._data = trainer.data
            self._model = trainer.model  # identity only: tells a reset apart from going on
            self._frames.append(frame)
            if len(self._frames) > self.capacity:
                self._thin()
        return True

    def _thin(self) -> None:
        """Halve the frames (keep those on the doubled interval, and the newest); record half as often."""
        self.every *= 2
        newest = self._frames[-1]
        kept = [f for f in self._frames if f.step % self.every == 0]
        if len(kept) > self.capacity // 2 + 1:  # off-schedule frames (forced ones): plain halving
            kept = self._frames[::2]
        if kept[-1] is not newest:
            kept.append(newest)
        self._frames = kept

    def train(self, trainer, steps: int, *, progress=None) -> int:
        """Step the trainer `steps` times, recording every due step; returns steps done.

        Steps run in chunks that end on the recording schedule, so no due step is missed.
        `progress(done, steps)` is called after each chunk (at most ~200 times).
        """
        if not self._frames or self._frames[-1].step != trainer.step_count:
            self.record(trainer, force=True)  # the animation starts where training starts
        done = 0
        report_every = max(1, steps // 200)
        last_report = 0
        while done < steps and not trainer.diverged:
            to_next = self.every - trainer.step_count % self.every
            n = trainer.step(min(to_next, steps - done))
            done += n
            self.record(trainer, force=trainer.diverged)
            if progress is not None and (done - last_report >= report_every or done == steps):
                progress(done, steps)
                last_report = done
            if n == 0:
                break
        return done

    def recording(self, history: History | None = None) -> Recording:
        """A consistent copy of the frames so far (cheap: the frames themselves are shared)."""
        with self._lock:
            return Recording(frames=tuple(self._frames), data=self._data, history=history, every=self.every)


# ---- replay --------------------------------------------------------------------------------------
def truncate_history(history: History | None, step: int, n_layers: int) -> History:
    """The rows of `history` up to and including `step` (an empty History when there is none)."""
    if history is None:
        empty32 = frozen(np.zeros(0, np.float32))
        return History(steps=frozen(np.zeros(0, np.int64)), train_loss=empty32, test_loss=empty32,
                       train_accuracy=empty32, test_accuracy=empty32, dead_fraction=empty32,
                       saturated_fraction=empty32, sleeping_fraction=empty32,
                       grad_norms=frozen(np.zeros((0, n_layers), np.float32)))
    n = int(np.searchsorted(history.steps, step, side="right"))
    if n == len(history.steps):
        return history
    return History(**{name: frozen(getattr(history, name)[:n]) for name in History.__dataclass_fields__})


class Replay:
    """Rebuilds Snapshots from a Recording, frame by frame, through training.make_snapshot."""

    def __init__(self, recording: Recording, grid_size: int = DEFAULT_GRID):
        if recording.data is None or not recording.frames:
            raise ValueError("nothing was recorded")
        self.recording = recording
        self.grid_size = grid_size
        self._model: MLP | None = None
        self._model_key = None

    def __len__(self) -> int:
        return len(self.recording.frames)

    def _model_for(self, frame: Frame) -> MLP:
        exp = frame.experiment
        key = (exp.network, exp.seed, len(exp.data.features))
        if key != self._model_key:
            self._model = MLP.build(len(exp.data.features), exp.network, exp.seed)
            self._model_key = key
        self._model.set_activation_params(exp.network)  # Leaky's slope, ELU's alpha may change live
        self._model.load_flat_state(frame.params)
        return self._model

    def snapshot(self, index: int) -> Snapshot:
        from .training import make_snapshot  # training imports torch; keep this module light to import

        frame = self.recording.frames[index]
        model = self._model_for(frame)
        sizes = frame.experiment.network.hidden
        bounds = np.cumsum((0, *sizes))
        states = [frame.states[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        history = truncate_history(self.recording.history, frame.step, len(model.layers))
        return make_snapshot(
            frame.experiment, self.recording.data, model, step=frame.step, epoch=frame.epoch,
            grad_norms=frame.grad_norms, history=history, grid_size=self.grid_size,
            diverged=frame.diverged, message=frame.message, last_states=states)
