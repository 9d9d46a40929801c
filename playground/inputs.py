"""What a user names on the command line, read into the core's values: an experiment, a trainer.

A name is a file (.json, .toml, or a .pgrun run told by content), an example's name
(`playground dying_relu`) or a lesson's name. Anything unreadable raises BadInput, whose message is
the one line the command line prints before exiting with 2. Qt-free: the command line and the
window both read their inputs through here.
"""

from __future__ import annotations

import os
import sys

from . import bundled, lessons
from .experiment import Experiment, ExperimentError


class BadInput(Exception):
    """A user error: the message is printed as one line and the exit code is 2."""


def experiment_path(path: str) -> str:
    """`path` itself, or the example of that name when no such file exists (`playground dying_relu`)."""
    if os.path.exists(path):
        return path
    example = bundled.find_example(path)
    return str(example) if example else path


def lesson_for(name: str) -> lessons.Lesson | None:
    """The lesson called `name`, when `name` is neither a file nor an example (those come first), else None.
    A broken lesson file raises LessonError (one line naming the field)."""
    if os.path.exists(name) or bundled.find_example(name):
        return None
    path = lessons.find(name)
    return lessons.load(path) if path else None


def load_experiment(path: str) -> Experiment:
    """The experiment of a .json/.toml file, an example's or a lesson's name (its first run, on its
    first seed), or a run file (.pgrun, told by content)."""
    from . import runfile

    try:
        if lesson := lesson_for(path):
            return lesson.experiment()
        return runfile.load_experiment(experiment_path(path))
    except (ExperimentError, lessons.LessonError) as error:  # RunFileError is an ExperimentError
        raise BadInput(str(error)) from None


def load_trainer(path: str, grid_size: int):
    """A Trainer on an experiment at step 0, or on a run file at the step it was saved at."""
    from . import runfile
    from .training import Trainer

    path = experiment_path(path)
    if runfile.is_run_file(path):
        try:
            return runfile.load_run(path, grid_size=grid_size)
        except ExperimentError as error:
            raise BadInput(str(error)) from None
    return Trainer(load_experiment(path), grid_size=grid_size)


def prepare_engine() -> None:
    """Compile (or load) the training kernel, saying so on stderr when that takes a while (a first
    run on this machine: a few seconds)."""
    from . import kernel

    kernel.prepare(lambda text: text and print(f"playground: {text}", file=sys.stderr, flush=True))
