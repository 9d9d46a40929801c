"""Run files (.pgrun): a run saved at a step and opened again there, training on as if never stopped.

A run file is a zip (deflated) holding
  run.json         {"format": "playground-run", "version": 1, "step": N}: what the file is
  experiment.json  the experiment in force (Experiment.to_dict), readable by itself
  state.npz        Trainer.state(): weights, optimiser moments, the minibatch generator, the epoch's
                   order, counters, neuron states and the metric history (the charts), numbers only
No pickle anywhere: the arrays are read with allow_pickle=False, so an object array is refused, not
run. Everything a file can get wrong (not a zip, cut short, a member missing, an array of the wrong
shape) becomes one RunFileError naming the file; the CLI prints it as one line and exits 2.
Writing is atomic (experiment.write_atomically): a temporary file in the same folder, then a rename.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .experiment import Experiment, ExperimentError, open_regular_file, write_atomically

SUFFIX = ".pgrun"
FORMAT = "playground-run"
VERSION = 1
MEMBERS = ("run.json", "experiment.json", "state.npz")
MAX_MEMBER_BYTES = 256 * 2**20  # a 2-8x6-1 run is ~30 KB; a member claiming more is not ours (zip bomb)


class RunFileError(ExperimentError):
    """A run file that cannot be read; the message names the file and what is wrong."""


def is_run_file(path: str | Path) -> bool:
    """Whether `path` looks like a run file: a zip by its first bytes (whatever its name), or a
    .pgrun name (so a damaged .pgrun still gets the run file's error, not the experiment's)."""
    path = Path(path)
    if path.suffix.lower() == SUFFIX:
        return True
    try:
        with open_regular_file(path) as file:  # a pipe or a device is no run file, and must not hang us
            return file.read(4) == b"PK\x03\x04"
    except (ExperimentError, OSError):
        return False  # the experiment reader says what is wrong with it


def save_run(trainer, path: str | Path) -> Path:
    """Write the trainer's run to `path` atomically (no partial file is left on any error)."""
    return write_run(path, trainer.experiment, trainer.state())


def write_run(path: str | Path, experiment: Experiment, state: dict[str, np.ndarray]) -> Path:
    """Write a run from its experiment and Trainer.state() (the window gets both from its worker)."""
    path = Path(path)
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    manifest = {"format": FORMAT, "version": VERSION, "step": int(state["counters"][0])}
    packed = io.BytesIO()  # a run file is tens of KB: packed in memory, then written in one go
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("run.json", json.dumps(manifest, indent=2) + "\n")
        archive.writestr("experiment.json", json.dumps(experiment.to_dict(), indent=2) + "\n")
        archive.writestr("state.npz", buffer.getvalue())
    write_atomically(path, packed.getvalue())
    return path


def read_run(path: str | Path) -> tuple[Experiment, dict[str, np.ndarray]]:
    """(experiment, state arrays) of a run file; RunFileError when it is not a readable run file."""
    path = Path(path)
    fail = _failing(path)
    try:
        with open_regular_file(path) as file, zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
            missing = [m for m in MEMBERS if m not in names]
            if missing:
                fail(f"not a playground run file: {', '.join(missing)} missing (a .pgrun holds {', '.join(MEMBERS)})")
            for member in MEMBERS:
                if archive.getinfo(member).file_size > MAX_MEMBER_BYTES:
                    fail(f"{member} is {archive.getinfo(member).file_size} bytes; at most {MAX_MEMBER_BYTES}")
            manifest = _json(archive.read("run.json"), "run.json", fail)
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                fail(f"run.json does not say format {FORMAT!r}: not a playground run file")
            if manifest.get("version") != VERSION:
                fail(f"run file version {manifest.get('version')!r} is not allowed: this playground reads version {VERSION}")
            raw = _json(archive.read("experiment.json"), "experiment.json", fail)
            with np.load(io.BytesIO(archive.read("state.npz")), allow_pickle=False) as npz:
                state = {key: npz[key] for key in npz.files}
    except RunFileError:
        raise
    except ExperimentError as error:  # open_regular_file: not a regular file, or unreadable
        fail(str(error).removeprefix(f"{path}: "))
    except OSError as error:
        fail(f"cannot read the file ({error.strerror or error})")
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, zlib.error) as error:
        fail(f"damaged or not a run file (not a readable zip: {error})")
    except ValueError as error:  # np.load: an object array (pickle) or a damaged .npy inside
        fail(f"state.npz cannot be read without pickle or is damaged ({error}); run files hold numbers only")
    try:
        experiment = Experiment.from_dict(raw)
    except ExperimentError as error:
        fail(f"experiment.json: {error}")
    return experiment, state


def load_run(path: str | Path, *, grid_size: int | None = None, engine: str = "auto"):
    """A Trainer at the step the run file was saved at (RunFileError if the file does not fit)."""
    from .training import Trainer

    experiment, state = read_run(path)
    kwargs = {"engine": engine} if grid_size is None else {"engine": engine, "grid_size": grid_size}
    trainer = Trainer(experiment, **kwargs)
    try:
        trainer.restore(state)
    except ValueError as error:
        raise RunFileError(f"{path}: state.npz does not fit its experiment: {error}") from None
    return trainer


def load_experiment(path: str | Path) -> Experiment:
    """The experiment of a run file, or of a .json/.toml experiment (by content, then name)."""
    if is_run_file(path):
        return read_run(path)[0]
    return Experiment.load(path)


def _failing(path: Path):
    def fail(reason: str):
        raise RunFileError(f"{path}: {reason}")
    return fail


def _json(data: bytes, member: str, fail):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(f"{member} is not valid JSON ({error})")
