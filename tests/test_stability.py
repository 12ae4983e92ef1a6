"""The statistics that say whether an agent stays solved (rlbook_utils.stability)."""

import math

from rlbook_utils.stability import (
    first_solved,
    solved_for_good_from,
    stability,
    steps_text,
)

STEPS = [2000, 4000, 6000, 8000, 10000]


def test_a_run_that_collapses_was_solved_at_first_but_never_for_good():
    returns = [100, 500, 480, 60, 90]
    assert first_solved(STEPS, returns, 475) == 4000
    assert solved_for_good_from(STEPS, returns, 475) is None


def test_solved_for_good_starts_after_the_last_dip():
    returns = [500, 100, 490, 500, 475]
    assert first_solved(STEPS, returns, 475) == 2000
    assert solved_for_good_from(STEPS, returns, 475) == 6000


def test_unsolved_runs_count_as_never_in_the_median_not_dropped():
    runs = [{"env_steps": STEPS, "eval_returns": r} for r in
            ([500] * 5, [10, 500, 500, 500, 500], [10, 20, 500, 30, 40])]
    summary = stability(runs, 475)
    assert summary.n_first == 3 and summary.n_end == 2
    assert summary.good_from == [2000, 4000, None]
    assert summary.median_good_from == 4000  # of 2000, 4000, inf: not of 2000 and 4000
    assert summary.worst_good_from == math.inf
    assert summary.last5 == [500, 402, 120]
    assert steps_text(summary.worst_good_from) == "never" and steps_text(4000) == "4k"
