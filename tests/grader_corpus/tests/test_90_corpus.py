"""Tests of a toy chapter, 90_corpus, used only to grade the corpus of hostile and
broken notebooks in ../notebooks (see tests/test_grader_corpus.py)."""

import numpy as np

# rlbook-private-tests-marker: a notebook that could read this file would leak this line.

from rlbook_utils.exercises import exercise


@exercise("mean_reward", points=2)
def test_mean_of_three_rewards(student):
    got = student.mean_reward([1.0, 2.0, 3.0])
    assert isinstance(got, float), f"return a Python float, not {type(got).__name__}"
    assert np.isclose(got, 2.0), f"the mean of [1, 2, 3] is 2, not {got}"


@exercise("mean_reward", points=2)
def test_mean_of_no_rewards_is_zero(student):
    got = student.mean_reward([])
    assert got == 0.0, f"an empty list has mean reward 0.0 by convention, not {got}"


@exercise("greedy_action", points=2)
def test_greedy_action_is_the_argmax(student):
    q_values = np.array([0.5, 2.0, -1.0])
    assert student.greedy_action(q_values) == 1, "action 1 has the largest value, 2.0"


@exercise("greedy_action", points=2)
def test_greedy_action_on_negative_values(student):
    q_values = np.array([-3.0, -2.0, -5.0])
    assert student.greedy_action(q_values) == 1, "action 1 has the largest value, -2.0"


@exercise("count_visits", points=1)
def test_count_visits(student):
    got = student.count_visits(np.array([0, 2, 2, 3]), n_states=5)
    assert np.array_equal(got, [1, 0, 2, 1, 0]), f"expected [1 0 2 1 0], got {got}"
