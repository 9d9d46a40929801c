"""After a run diverges: a lower learning rate that is measured to train from the same start.

Dividing the rate by ten is not always enough: `exploding.json` (SGD 0.05, 8×32 ReLU at 2× He) on raw
inputs still diverged at step 6 with 0.005 (standardised, as by default, 0.005 trains). So the candidates are tried, largest first, each from the run's
own fresh start (same seed, same data, same weights as a reset gives) for TRIAL_STEPS steps, and the
first that does not diverge is offered. A trial is a prediction for those steps only, and runs on
the numpy engine (the compiled one agrees to float32 rounding): the window says so. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .experiment import Experiment
from .fields import FIELDS

TRIAL_STEPS = 500  # exploding.json's 8×32 net: ~0.1-0.3 s a candidate on the numpy engine
FACTORS = (10, 25, 100, 1000)  # the rate divided by these, rounded to one significant digit
MIN_RATE = FIELDS["training.learning_rate"].low  # the lowest rate an experiment takes


@dataclass(frozen=True)
class RateTrial:
    """What the trial found: `rate` trained `steps` steps without diverging (None: no candidate did)."""

    start_rate: float
    rate: float | None
    tried: tuple[tuple[float, int | None], ...]  # (rate, the step it diverged at, or None)
    steps: int

    @property
    def offered(self) -> float:
        """The rate the banner's button sets: the one that worked, or else the smallest tried."""
        return self.rate if self.rate is not None else self.tried[-1][0]

    def summary(self) -> str:
        """One sentence for the banner."""
        failed = [f"{rate:g} diverged at step {step:,}" for rate, step in self.tried if step is not None]
        if self.rate is None:
            return (f"In a trial from the same start even {self.offered:g} diverged within {self.steps:,} steps "
                    f"({'; '.join(failed)}): a lower rate may diverge again; gradient clipping or a smaller "
                    "init gain may be what this network needs.")
        tail = f" ({'; '.join(failed)})" if failed else ""
        return f"In a trial from the same start {self.rate:g} trained {self.steps:,} steps without diverging{tail}."


def candidates(rate: float) -> list[float]:
    """Lower rates to try, largest first: rate/10, /25, /100, /1000 at one significant digit."""
    found = []
    for factor in FACTORS:
        value = float(f"{rate / factor:.1g}")
        if value >= MIN_RATE and value < rate and value not in found:
            found.append(value)
    return found


def find_stable_rate(experiment: Experiment, steps: int = TRIAL_STEPS, engine: str = "numpy") -> RateTrial:
    """Try candidates(rate) from the experiment's fresh start; the first to train `steps` steps wins."""
    from .training import Trainer  # the training engine is loaded only when a trial runs

    start = experiment.training.learning_rate
    tried = []
    for rate in candidates(start):
        trainer = Trainer(experiment.with_field("training.learning_rate", rate), grid_size=2, engine=engine)
        trainer.step(steps)  # stops early when the loss is no longer finite
        if not trainer.diverged:
            tried.append((rate, None))
            return RateTrial(start, rate, tuple(tried), steps)
        tried.append((rate, trainer.step_count))
    return RateTrial(start, None, tuple(tried), steps)
