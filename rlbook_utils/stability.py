"""Whether a deep RL agent stays solved: statistics of evaluation curves.

Chapters 04 (DQN) and 05 (PPO) and ``rlbook bench`` judge a run the same way. A run
is *solved at first* when one evaluation reaches the threshold, *solved at the end*
when its last one does, and *solved for good from* the step of the first evaluation
after which none falls below it. A run that is not solved at the end was never solved
for good: it counts as ``inf`` in a median, never dropped from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def first_solved(env_steps, returns, threshold: float) -> int | None:
    """The step of the first evaluation >= threshold, or None."""
    return next((int(step) for step, value in zip(env_steps, returns) if value >= threshold),
                None)


def solved_for_good_from(env_steps, returns, threshold: float) -> int | None:
    """The step from which every evaluation is >= threshold, or None if the last is not."""
    start = None
    for step, value in zip(env_steps, returns):
        if value >= threshold:
            start = int(step) if start is None else start
        else:
            start = None
    return start


@dataclass
class Stability:
    """The statistics of several runs' evaluation curves (one entry per run)."""

    first: list  # step of the first evaluation >= threshold, None if never
    good_from: list  # step from which it stays >= threshold, None if it does not
    last5: list  # mean of each run's last five evaluations
    n_runs: int

    @property
    def n_first(self) -> int:
        return sum(step is not None for step in self.first)

    @property
    def n_end(self) -> int:
        return sum(step is not None for step in self.good_from)

    @property
    def median_good_from(self) -> float:
        return float(np.median([math.inf if s is None else s for s in self.good_from]))

    @property
    def worst_good_from(self) -> float:
        return max(math.inf if s is None else s for s in self.good_from)


def stability(histories, threshold: float) -> Stability:
    """``histories``: dicts with "env_steps" and "eval_returns", one per run."""
    histories = list(histories)
    return Stability(
        first=[first_solved(h["env_steps"], h["eval_returns"], threshold) for h in histories],
        good_from=[solved_for_good_from(h["env_steps"], h["eval_returns"], threshold)
                   for h in histories],
        last5=[float(np.mean(h["eval_returns"][-5:])) for h in histories],
        n_runs=len(histories))


def steps_text(steps: float | None) -> str:
    """12000 -> '12k', inf or None -> 'never'."""
    if steps is None or steps == math.inf:
        return "never"
    return f"{steps / 1000:.3g}k"
