"""Graded tests of chapter 03: Q-learning.

Every expected value is computed here, independently of the reference solution:
the returns and update rules by hand on small tables (the arithmetic is in the
comments), and the learned tables against Q* of tiny environments whose optimal
values are known in closed form (``rlbook_utils.grading.environments``, built on the
notebook's side with ``student.make``). Stochastic checks run several
seeds and state their margin.

A failed check names a cause only when the answer matches it: ``_n_step_hint``,
``_sarsa_hint`` and ``_double_q_hint`` recompute what each typical mistake would
return on the test's inputs and compare it with the answer; the tests of
``run_double_q_learning`` read the symptom off the tables, off what the environment
saw (``Watched``, from ``rlbook_utils.grading.environments``, records every reset's seed and every action) or off a short probe
run. Otherwise the message gives the rule.

The checks of seeding compare a learner only with itself (the same seed twice, two
seeds), so they hold whatever order a correct answer draws its random numbers in.
"""

import random

import numpy as np
from gymnasium.wrappers import TimeLimit

from rlbook_utils.exercises import exercise
from rlbook_utils.grading.environments import (
    BackToStartEnv,
    ChainEnv,
    EndlessEnv,
    NoisyBranchEnv,
    OneStepEnv,
    PenaltyArmEnv,
    TieEnv,
    TwoArmedEnv,
    Watched,
)


def _as_float(value, name):
    """``value`` as a float; a message naming its type when it is not a number."""
    assert value is not None, f"{name} returned None: return the value as a float"
    try:
        return float(value)
    except (TypeError, ValueError):
        shape = getattr(value, "shape", None)
        what = type(value).__name__ + (f" of shape {tuple(shape)}" if shape is not None
                                       else "")
        raise AssertionError(f"{name} returned a {what}, not one number: return a "
                             "float") from None


def _first_match(got, candidates, expected):
    """The cause of the first candidate value ``got`` equals and ``expected`` does not."""
    for value, cause in candidates:
        if np.isclose(got, value) and not np.isclose(expected, value):
            return cause
    return None


# --------------------------------------------------------------------------- #
# Exercise 3.1: n_step_return(rewards, bootstrap_value, terminated, gamma)
# --------------------------------------------------------------------------- #
def _n_step_hint(got, rewards, bootstrap_value, terminated, gamma, rule):
    """Why ``got`` is not the n-step return of these inputs: the typical mistake it
    matches, else ``rule``."""
    r = [float(x) for x in rewards]
    n, V = len(r), float(bootstrap_value)

    def weighted(sequence, first_power=0):
        return sum(gamma ** (k + first_power) * x for k, x in enumerate(sequence))

    tail = 0.0 if terminated else gamma ** n * V
    expected = weighted(r) + tail
    candidates = [
        (weighted(r[::-1]) + tail,
         "the rewards are weighted in reverse order: the first reward R_{t+1} is "
         "weighted by gamma**0 = 1 and the last by gamma**(n - 1)"),
        (weighted(r, 1) + tail,
         "the first reward is discounted too: reward k (counting from 0) is weighted by "
         "gamma**k, so R_{t+1} gets gamma**0 = 1"),
    ]
    if terminated:
        candidates += [
            (weighted(r) + gamma ** n * V,
             "bootstrap_value was added although terminated is True: the episode ended "
             "with the last reward, nothing follows it"),
            (sum(r),
             "the rewards were added without their discounts: when the episode "
             "terminated the return is still sum_k gamma**k * rewards[k]"),
        ]
    else:
        candidates += [
            (weighted(r) + gamma ** (n - 1) * V,
             "the bootstrap value is discounted by gamma**(n - 1): it comes after "
             "n = len(rewards) steps, so its discount is gamma**n"),
            (weighted(r) + gamma ** (n + 1) * V,
             "the bootstrap value is discounted by gamma**(n + 1): it comes after "
             "n = len(rewards) steps, so its discount is gamma**n"),
            (weighted(r) + V,
             "the bootstrap value is added undiscounted: it comes after n steps, so it "
             "is multiplied by gamma**n"),
            (weighted(r) + gamma * n * V,
             "the bootstrap value is multiplied by gamma * n: its discount is gamma to "
             "the power n, gamma**n"),
            (weighted(r),
             "the bootstrap value is missing although terminated is False: add "
             "gamma**n * bootstrap_value"),
        ]
    return _first_match(got, candidates, expected) or rule


@exercise("n_step_return", points=2)
def test_one_step_is_the_td0_target(student):
    """with one reward the n-step return is TD(0)'s target r + gamma V"""
    got = _as_float(student.n_step_return([1.0], 2.0, False, 0.9), "n_step_return")
    # n = 1: R_{t+1} + gamma * V(S_{t+1}) = 1 + 0.9 * 2 = 2.8
    assert np.isclose(got, 2.8), (
        f"with one reward the n-step return is TD(0)'s target r + gamma * V = "
        f"1 + 0.9 * 2 = 2.8, got {got:.4f}: " + _n_step_hint(
            got, [1.0], 2.0, False, 0.9,
            "the reward is not discounted and the bootstrap value is discounted once, "
            "by gamma"))


@exercise("n_step_return", points=2)
def test_bootstrap_is_discounted_by_gamma_to_the_n(student):
    """the bootstrap value after n rewards is discounted by gamma**n"""
    got = _as_float(student.n_step_return([0.0, 0.0, 0.0], 1.0, False, 0.5),
                    "n_step_return")
    # three rewards, then V(S_{t+3}): gamma**3 * 1 = 0.125
    assert np.isclose(got, 0.125), (
        f"after three zero rewards the return is gamma**3 * V(S_t+3) = 0.5**3 = 0.125, "
        f"got {got:.4f}: " + _n_step_hint(
            got, [0.0, 0.0, 0.0], 1.0, False, 0.5,
            "the bootstrap value comes after n = len(rewards) steps, so its discount is "
            "gamma**n"))


@exercise("n_step_return", points=2)
def test_rewards_are_discounted_from_gamma_to_the_zero(student):
    """reward k (counting from 0) is weighted by gamma**k, in arrival order"""
    got = _as_float(student.n_step_return([1.0, -1.0, 2.0], 4.0, False, 0.9),
                    "n_step_return")
    expected = 1.0 - 0.9 + 0.81 * 2.0 + 0.729 * 4.0  # = 4.636
    assert np.isclose(got, expected), (
        f"n_step_return([1, -1, 2], 4, False, 0.9) = 1 - 0.9 + 0.9**2 * 2 + 0.9**3 * 4 "
        f"= {expected:.3f}, got {got:.4f}: " + _n_step_hint(
            got, [1.0, -1.0, 2.0], 4.0, False, 0.9,
            "reward k (from 0) is weighted by gamma**k, in the order the rewards "
            "arrived, and the bootstrap value by gamma**n"))


@exercise("n_step_return", points=2)
def test_terminated_gives_the_monte_carlo_return(student):
    """when the episode terminated the bootstrap value is ignored"""
    got = _as_float(student.n_step_return([1.0, 2.0, 3.0], 100.0, True, 0.5),
                    "n_step_return")
    # the episode ended: 1 + 0.5 * 2 + 0.25 * 3 = 2.75, the bootstrap value is ignored
    assert np.isclose(got, 2.75), (
        f"when the episode terminated with the last reward nothing follows: the return "
        f"is 1 + 0.5 * 2 + 0.25 * 3 = 2.75, got {got:.4f}: " + _n_step_hint(
            got, [1.0, 2.0, 3.0], 100.0, True, 0.5,
            "the rewards keep their discounts gamma**k and bootstrap_value is dropped "
            "when terminated is True"))


@exercise("n_step_return", points=2)
def test_gamma_one_adds_everything_and_inputs_may_be_arrays(student):
    """gamma = 1 gives the plain sum; numpy inputs work"""
    got = _as_float(student.n_step_return(np.array([1.0, 2.0, 3.0, 4.0]),
                                          np.float64(0.5), False, 1.0),
                    "n_step_return")
    if np.isclose(got, 10.5):
        return
    hint = _n_step_hint(got, [1.0, 2.0, 3.0, 4.0], 0.5, False, 1.0, None)
    if hint is None:  # does a list give the right answer where the array does not?
        from_list = _as_float(student.n_step_return([1.0, 2.0, 3.0, 4.0], 0.5, False,
                                                    1.0), "n_step_return")
        hint = ("the same rewards as a list give 10.5: rewards may be any sequence of "
                "floats, a list or a numpy array (np.asarray(rewards, dtype=float) "
                "treats both alike)" if np.isclose(from_list, 10.5) else
                "with gamma = 1 nothing is discounted: add the rewards and the "
                "bootstrap value")
    raise AssertionError(
        f"with gamma = 1 the return is the plain sum 1 + 2 + 3 + 4 + 0.5 = 10.5, got "
        f"{got:.4f}: {hint}")


@exercise("n_step_return", points=2)
def test_the_rewards_passed_in_are_only_read(student):
    """the caller's rewards, a list or an array, are left as they were"""
    rewards = [1.0, 0.0, 2.0]
    got = _as_float(student.n_step_return(rewards, 1.0, False, 0.5), "n_step_return")
    if rewards != [1.0, 0.0, 2.0]:
        how = ("it was reversed in place: rewards.reverse() changes the caller's list, "
               "reversed(rewards) and rewards[::-1] make a new sequence"
               if rewards == [2.0, 0.0, 1.0] else
               "work on a copy (list(rewards), np.array(rewards, dtype=float)), never "
               "on the caller's list")
        raise AssertionError(f"n_step_return changed the caller's list of rewards from "
                             f"[1.0, 0.0, 2.0] to {rewards}: {how}")
    array = np.array([1.0, 0.0, 2.0])
    from_array = _as_float(student.n_step_return(array, 1.0, True, 0.5), "n_step_return")
    assert np.array_equal(array, [1.0, 0.0, 2.0]), (
        f"n_step_return changed the caller's array of rewards from [1.0, 0.0, 2.0] to "
        f"{array.tolist()}: np.asarray(rewards) is the caller's array itself, so an "
        "in-place operation on it (*=, +=, [::-1].sort(), ...) changes it; compute on a "
        "new array (rewards * discounts) or np.array(rewards, dtype=float), a copy")
    # 1 + 0.5 * 0 + 0.25 * 2 + 0.125 * 1 = 1.625; terminated: 1 + 0.25 * 2 = 1.5
    assert np.isclose(got, 1.625), (
        f"n_step_return([1, 0, 2], 1, False, 0.5) = 1 + 0.25 * 2 + 0.125 * 1 = 1.625, "
        f"got {got:.4f}: " + _n_step_hint(got, [1.0, 0.0, 2.0], 1.0, False, 0.5,
                                          "reward k is weighted by gamma**k and the "
                                          "bootstrap value by gamma**n"))
    assert np.isclose(from_array, 1.5), (
        f"n_step_return(np.array([1, 0, 2]), 1, True, 0.5) = 1 + 0.25 * 2 = 1.5, got "
        f"{from_array:.4f}: " + _n_step_hint(from_array, [1.0, 0.0, 2.0], 1.0, True, 0.5,
                                             "when terminated the bootstrap value is "
                                             "dropped"))


# --------------------------------------------------------------------------- #
# Exercise 3.2: expected_sarsa_update(Q, s, a, r, s_next, terminated, alpha, gamma,
#                                     epsilon)
# --------------------------------------------------------------------------- #
def _table():
    """A 3-state, 4-action table; row 1 has a unique max, row 2 a two-way tie."""
    return np.array([[0.0, 1.0, -2.0, 0.5],
                     [2.0, -1.0, 4.0, 3.0],
                     [3.0, 0.0, 3.0, -1.0]])


def _sarsa_targets(Q, s, a, r, s_next, terminated, gamma, epsilon):
    """(TD error, cause) of the right expectation and of typical wrong ones, from the
    table Q as it was BEFORE the update; the first pair is the right one."""
    q = np.asarray(Q[s_next], dtype=float)
    n = len(q)
    greedy = q == q.max()
    n_greedy = greedy.sum()
    first_max = np.arange(n) == np.argmax(q)
    q_sa = float(Q[s, a])

    def error(policy, row=q, masked=True):
        bootstrap = 0.0 if (terminated and masked) else float(np.dot(policy, row))
        return r + gamma * bootstrap - q_sa

    right = epsilon / n + greedy * (1 - epsilon) / n_greedy
    row_s = np.asarray(Q[s], dtype=float)
    greedy_s = row_s == row_s.max()
    policy_s = epsilon / n + greedy_s * (1 - epsilon) / greedy_s.sum()
    return [
        (error(right), None),
        (error(first_max.astype(float)),
         "this bootstraps from max Q[s_next], Q-learning's target: weigh every next "
         "action by its epsilon-greedy probability"),
        (error(np.full(n, 1.0 / n)),
         "this bootstraps from the plain mean of Q[s_next], a uniform policy: the greedy "
         "actions also share 1 - epsilon"),
        (error(np.where(greedy, (1 - epsilon) / n_greedy, epsilon / n)),
         "the greedy action got 1 - epsilon only: it also gets its share epsilon / n of "
         "the random choice, so that the probabilities sum to 1"),
        (error(epsilon / n + greedy * (1 - epsilon)),
         "every tied greedy action got the whole 1 - epsilon: the n_g tied actions share "
         "it, (1 - epsilon) / n_g each, so that the probabilities sum to 1"),
        (error(np.where(first_max, 1 - epsilon, epsilon / max(n - 1, 1))),
         "the greedy action got 1 - epsilon and the others epsilon / (n - 1): the random "
         "choice is among all n actions, the greedy one included, so every action gets "
         "epsilon / n and the greedy one 1 - epsilon on top"),
        (error((1 - epsilon) / n + greedy * epsilon / n_greedy),
         "epsilon and 1 - epsilon are swapped: epsilon is the probability of a random "
         "action, 1 - epsilon that of the greedy one"),
        (error(right, masked=False),
         "this bootstraps from Q[s_next] although terminated is True: the target is "
         "then r alone"),
        (error(policy_s, row=row_s),
         "the expectation is over Q[s], the row of the state the step left: it is over "
         "Q[s_next]"),
    ]


def _sarsa_hint(got, Q, s, a, r, s_next, terminated, alpha, gamma, epsilon, rule):
    """Why the returned ``got`` is not the TD error (Q: the table before the update)."""
    (delta, _), *wrong = _sarsa_targets(Q, s, a, r, s_next, terminated, gamma, epsilon)
    q_sa = float(Q[s, a])
    returned = [
        (q_sa + alpha * delta,
         "this is the new value of Q[s, a]: return the TD error delta, the bracket"),
        (q_sa + delta,
         "this is the target r + gamma * E[Q(s', .)]: return the TD error, the target "
         "minus Q[s, a]"),
        ((1 - alpha) * delta,
         "this is the TD error recomputed after Q[s, a] was updated, (1 - alpha) * delta: "
         "compute delta once, before the update, and return that"),
    ]
    return _first_match(got, returned + wrong, delta) or rule


def _sarsa_table_hint(Q_before, Q, s, a, r, s_next, terminated, alpha, gamma, epsilon):
    """Why the updated table Q is not Q_before with Q[s, a] += alpha * delta, or None."""
    (delta, _), *wrong = _sarsa_targets(Q_before, s, a, r, s_next, terminated, gamma,
                                        epsilon)
    expected = Q_before.copy()
    expected[s, a] += alpha * delta
    Q = np.asarray(Q, dtype=float)
    if np.allclose(Q, expected):
        return None
    changed = ~np.isclose(Q, Q_before)
    if not changed.any():
        return ("Q is unchanged: update the table passed in, in place (Q[s, a] += "
                "alpha * delta), not a copy of it")
    others = changed.copy()
    others[s, a] = False
    if others.any():
        where = [tuple(int(i) for i in index) for index in np.argwhere(others)]
        return f"entries other than Q[s, a] changed, at {where}: only Q[s, a] is updated"
    step = float(Q[s, a] - Q_before[s, a])
    if np.isclose(step, delta) and not np.isclose(alpha, 1.0):
        return ("Q[s, a] jumped to the target: it moves by alpha * delta, a step of size "
                "alpha towards the target")
    for wrong_delta, cause in wrong:
        if np.isclose(step, alpha * wrong_delta) and not np.isclose(wrong_delta, delta):
            return cause
    return (f"Q[s, a] should move by alpha * delta = {alpha * delta:.4f}, it moved by "
            f"{step:.4f}")


@exercise("expected_sarsa_update", points=3)
def test_expected_sarsa_bootstraps_from_the_epsilon_greedy_expectation(student):
    """the target is the expectation of Q[s_next] under the epsilon-greedy policy"""
    Q = _table()
    # pi(.|1) with epsilon = 0.2, 4 actions: greedy action 2 gets 0.8 + 0.05 = 0.85,
    # the others 0.05 each. E = 0.05 * (2 - 1 + 3) + 0.85 * 4 = 0.2 + 3.4 = 3.6
    # target = 1 + 0.9 * 3.6 = 4.24; TD error = 4.24 - Q[0, 1] = 3.24
    args = (0, 1, 1.0, 1, False, 0.5, 0.9, 0.2)
    got = _as_float(student.expected_sarsa_update(Q, *args), "expected_sarsa_update")
    assert np.isclose(got, 3.24), (
        f"the expected value of Q[1] under the epsilon-greedy policy (epsilon = 0.2) is "
        f"0.85 * 4 + 0.05 * (2 - 1 + 3) = 3.6, so the TD error is 1 + 0.9 * 3.6 - 1 = "
        f"3.24, got {got:.4f}: " + _sarsa_hint(
            got, _table(), *args,
            "weigh each next action by its epsilon-greedy probability (1 - epsilon + "
            "epsilon / n for the greedy one, epsilon / n for the others)"))
    hint = _sarsa_table_hint(_table(), Q, *args)
    assert hint is None, (
        f"Q[0, 1] should become 1 + 0.5 * 3.24 = 2.62, got {Q[0, 1]:.4f}: {hint}")


@exercise("expected_sarsa_update", points=3)
def test_tied_greedy_actions_share_the_greedy_probability(student):
    """actions tied for the max share 1 - epsilon; the probabilities sum to 1"""
    Q = _table()
    # Row 2 = [3, 0, 3, -1], epsilon = 0.4: actions 0 and 2 tie; each gets
    # 0.6 / 2 + 0.1 = 0.4, the others 0.1. E = 0.4 * 3 * 2 + 0.1 * (0 - 1) = 2.3
    args = (1, 0, 0.0, 2, False, 1.0, 1.0, 0.4)
    got = _as_float(student.expected_sarsa_update(Q, *args), "expected_sarsa_update")
    assert np.isclose(got, 2.3 - 2.0), (
        f"Q[2] = [3, 0, 3, -1] has two greedy actions: with epsilon = 0.4 each gets "
        f"(1 - 0.4) / 2 + 0.4 / 4 = 0.4 and the others 0.1, so the expectation is 2.3 "
        f"and the TD error 2.3 - Q[1, 0] = 0.3; got {got:.4f}: " + _sarsa_hint(
            got, _table(), *args,
            "the greedy probability 1 - epsilon is shared among the tied actions, every "
            "action gets epsilon / n on top, and the probabilities sum to 1"))


@exercise("expected_sarsa_update", points=3)
def test_epsilon_zero_is_the_max_and_epsilon_one_the_mean(student):
    """epsilon = 0 bootstraps from the max, epsilon = 1 from the mean"""
    for epsilon, expected, what in ((0.0, 4.0, "the policy is greedy and the target is "
                                                "max Q[1] = 4"),
                                    (1.0, 2.0, "the policy is uniform and the target is "
                                               "the mean of Q[1], (2 - 1 + 4 + 3) / 4 = 2")):
        Q = _table()
        args = (0, 0, 0.0, 1, False, 1.0, 1.0, epsilon)
        student.expected_sarsa_update(Q, *args)
        hint = _sarsa_table_hint(_table(), Q, *args)
        assert hint is None, (
            f"with epsilon = {epsilon:g} {what} (alpha = 1, gamma = 1, r = 0), so Q[0, 0] "
            f"should become {expected:g}, got {float(Q[0, 0]):.4f}: {hint}")


@exercise("expected_sarsa_update", points=3)
def test_expected_sarsa_does_not_bootstrap_from_a_terminal_state(student):
    """a terminated step's target is r alone"""
    Q = _table()
    args = (0, 3, -2.0, 1, True, 0.5, 0.9, 0.2)
    got = _as_float(student.expected_sarsa_update(Q, *args), "expected_sarsa_update")
    assert np.isclose(got, -2.5), (
        f"when terminated is True the target is r alone (= -2), so the TD error is "
        f"-2 - Q[0, 3] = -2.5, got {got:.4f}: " + _sarsa_hint(
            got, _table(), *args, "the bootstrap term is multiplied by (1 - terminated)"))
    hint = _sarsa_table_hint(_table(), Q, *args)
    assert hint is None, (
        f"Q[0, 3] should become 0.5 + 0.5 * (-2.5) = -0.75, got {Q[0, 3]:.4f}: {hint}")


@exercise("expected_sarsa_update", points=3)
def test_expected_sarsa_returns_the_error_before_and_changes_one_entry(student):
    """returns the TD error before the update and changes only Q[s, a], in place"""
    Q = _table()
    args = (2, 3, 0.5, 0, False, 0.25, 0.8, 0.2)
    got = _as_float(student.expected_sarsa_update(Q, *args), "expected_sarsa_update")
    # pi(.|0) for [0, 1, -2, 0.5]: 0.85 on action 1. E = 0.85 + 0.05 * (0 - 2 + 0.5)
    expected_next = 0.85 * 1.0 + 0.05 * (0.0 - 2.0 + 0.5)  # = 0.775
    expected_error = 0.5 + 0.8 * expected_next - (-1.0)  # = 2.12
    assert np.isclose(got, expected_error), (
        f"the TD error is r + gamma * E[Q(s', .)] - Q[s, a] = 0.5 + 0.8 * 0.775 + 1 = "
        f"{expected_error:.3f}, got {got:.4f}: " + _sarsa_hint(
            got, _table(), *args,
            "return the bracket r + gamma * E[Q(s', .)] - Q[s, a], computed before "
            "Q[s, a] changes"))
    expected = _table()
    expected[2, 3] += 0.25 * expected_error
    hint = _sarsa_table_hint(_table(), Q, *args)
    assert hint is None, (
        f"after one update only Q[s, a] may change, by alpha * TD error, in the table "
        f"passed in; got\n{np.round(Q, 4)}\nexpected\n{np.round(expected, 4)}\n{hint}")


# --------------------------------------------------------------------------- #
# Exercise 3.3: double_q_update(Q_update, Q_other, s, a, r, s_next, terminated,
#                               alpha, gamma)
# --------------------------------------------------------------------------- #
def _two_tables():
    """Tables on which every typical mistake gives its own TD error.

    s_next = 1: argmax Q_update[1] = 1, valued 3 by Q_other (the right a*); max
    Q_update[1] = 5 (plain Q-learning); max Q_other[1] = 6 at action 0 (Q_other
    chooses), valued 1 by Q_update (roles swapped); argmax (Q_update + Q_other)[1] = 2,
    valued 4.5; argmax Q_update[0] = 3 (the wrong row), valued -2.
    s_next = 0: argmax Q_update[0] = 3, valued 1 by Q_other; max Q_update[0] = 2; max
    Q_other[0] = 1.5 at action 2, valued 0 by Q_update; argmax Q_update[1] = 1 (the
    wrong row), valued 0.5."""
    Q_update = np.array([[1.0, 0.0, 0.0, 2.0], [1.0, 5.0, 4.0, 0.0]])
    Q_other = np.array([[-1.0, 0.5, 1.5, 1.0], [6.0, 3.0, 4.5, -2.0]])
    return Q_update, Q_other


def _double_q_targets(Q_update, Q_other, s, a, r, s_next, terminated, gamma):
    """(TD error, cause) of the right target and of typical wrong ones, from the tables
    as they were BEFORE the update; the first pair is the right one."""
    Q_update, Q_other = np.asarray(Q_update, float), np.asarray(Q_other, float)
    q_sa = Q_update[s, a]

    def error(value, masked=True):
        return r + gamma * (0.0 if (terminated and masked) else value) - q_sa

    row_u, row_o = Q_update[s_next], Q_other[s_next]
    best = int(np.argmax(row_u))
    return [
        (error(row_o[best]), None),
        (error(row_u.max()),
         "this chooses and values with Q_update, max Q_update[s_next]: that is plain "
         "Q-learning; let Q_update choose a* and Q_other value it"),
        (error(row_o.max()),
         "this takes max Q_other[s_next], so Q_other chooses: a* = argmax "
         "Q_update[s_next], and Q_other only values it, Q_other[s_next, a*]"),
        (error(row_u[int(np.argmax(row_o))]),
         "the roles are swapped: here Q_other chooses a* and Q_update values it; a* = "
         "argmax Q_update[s_next], valued by Q_other[s_next, a*]"),
        (error(row_o[int(np.argmax(row_u + row_o))]),
         "a* is the argmax of Q_update + Q_other: it is argmax Q_update[s_next] alone"),
        (error(row_o[int(np.argmax(Q_update[s]))]),
         "a* was taken from Q_update[s], the row of the state the step left: it is "
         "argmax Q_update[s_next]"),
        (error(row_o[best], masked=False),
         "this bootstraps from Q_other[s_next] although terminated is True: the target "
         "is then r alone"),
    ]


def _double_q_hint(got, Q_update, Q_other, s, a, r, s_next, terminated, alpha, gamma,
                   rule):
    """Why the returned ``got`` is not the TD error (tables: before the update)."""
    (delta, _), *wrong = _double_q_targets(Q_update, Q_other, s, a, r, s_next,
                                           terminated, gamma)
    q_sa = float(Q_update[s, a])
    returned = [
        (q_sa + delta, "this is the target: return the TD error, the target minus "
                       "Q_update[s, a]"),
        ((1 - alpha) * delta,
         "this is the TD error recomputed after Q_update[s, a] was updated, (1 - alpha) "
         "* delta: compute delta once, before the update, and return that"),
        (q_sa + alpha * delta,
         "this is the new value of Q_update[s, a]: return the TD error delta"),
        (q_sa + delta - float(Q_other[s, a]),
         "this is the TD error of Q_other[s, a]: the bracket subtracts Q_update[s, a], "
         "and Q_update is the table that changes"),
    ]
    return _first_match(got, returned + wrong, delta) or rule


def _double_q_tables_hint(before, after, s, a, r, s_next, terminated, alpha, gamma):
    """Why the tables ``after`` = (Q_update, Q_other) are not ``before`` with only
    Q_update[s, a] += alpha * delta, or None."""
    (Qu0, Qo0), (Qu, Qo) = before, [np.asarray(Q, dtype=float) for Q in after]
    (delta, _), *wrong = _double_q_targets(Qu0, Qo0, s, a, r, s_next, terminated, gamma)
    expected = Qu0.copy()
    expected[s, a] += alpha * delta
    other_changed = not np.allclose(Qo, Qo0)
    update_changed = not np.allclose(Qu, Qu0)
    if other_changed and not update_changed:
        return ("Q_other changed and Q_update did not: update Q_update, the first "
                "argument; Q_other is only read")
    if other_changed:
        return "Q_other changed too: only Q_update is updated, Q_other is only read"
    if np.allclose(Qu, expected):
        return None
    if not update_changed:
        return ("Q_update is unchanged: update the table passed in, in place "
                "(Q_update[s, a] += alpha * delta), not a copy of it")
    others = ~np.isclose(Qu, Qu0)
    others[s, a] = False
    if others.any():
        where = [tuple(int(i) for i in index) for index in np.argwhere(others)]
        return (f"entries other than Q_update[s, a] changed, at {where}: only "
                "Q_update[s, a] is updated")
    step = float(Qu[s, a] - Qu0[s, a])
    if np.isclose(step, delta) and not np.isclose(alpha, 1.0):
        return ("Q_update[s, a] jumped to the target: it moves by alpha * delta, a step "
                "of size alpha towards the target")
    for wrong_delta, cause in wrong:
        if np.isclose(step, alpha * wrong_delta) and not np.isclose(wrong_delta, delta):
            return cause
    return (f"Q_update[s, a] should move by alpha * delta = {alpha * delta:.4f}, it "
            f"moved by {step:.4f}")


def _double_q_check(student, s, a, r, s_next, terminated, alpha, gamma, expected_error,
                    error_text, rule, tables=_two_tables):
    """Run one update on fresh tables; check the returned TD error, then the tables."""
    Q_update, Q_other = tables()
    args = (s, a, r, s_next, terminated, alpha, gamma)
    got = _as_float(student.double_q_update(Q_update, Q_other, *args), "double_q_update")
    assert np.isclose(got, expected_error), (
        f"{error_text}, got {got:.4f}: " + _double_q_hint(got, *tables(), *args, rule))
    hint = _double_q_tables_hint(tables(), (Q_update, Q_other), *args)
    assert hint is None, (
        f"after the update Q_update[{s}, {a}] should be "
        f"{tables()[0][s, a] + alpha * expected_error:g} and Q_other unchanged; got "
        f"Q_update =\n{np.round(Q_update, 4)}\nQ_other =\n{np.round(Q_other, 4)}\n{hint}")


@exercise("double_q_update", points=2)
def test_double_q_chooses_with_q_update_and_values_with_q_other(student):
    """the next action is argmax Q_update[s_next], valued by Q_other"""
    # argmax Q_update[1] = 1; Q_other[1, 1] = 3. target = 0.5 + 0.9 * 3 = 3.2
    # TD error = 3.2 - Q_update[0, 0] = 2.2; Q_update[0, 0] = 1 + 0.5 * 2.2 = 2.1
    _double_q_check(
        student, 0, 0, 0.5, 1, False, 0.5, 0.9, 2.2,
        "the next action is a* = argmax Q_update[1] = 1 and its value Q_other[1, 1] = 3, "
        "so the TD error is 0.5 + 0.9 * 3 - Q_update[0, 0] = 2.2",
        "choose a* with the table being updated, value it with the other one")


@exercise("double_q_update", points=2)
def test_double_q_changes_only_q_update_at_s_a(student):
    """only Q_update[s, a] changes; Q_other is only read"""
    # argmax Q_update[0] = 3; Q_other[0, 3] = 1. TD error = -1 + 1 - Q_update[1, 2] = -4
    # Q_update[1, 2] = 4 + 0.5 * (-4) = 2
    _double_q_check(
        student, 1, 2, -1.0, 0, False, 0.5, 1.0, -4.0,
        "a* = argmax Q_update[0] = 3, valued Q_other[0, 3] = 1, so the TD error is "
        "-1 + 1 - Q_update[1, 2] = -4",
        "the TD error is r + gamma * Q_other[s_next, a*] - Q_update[s, a]")


@exercise("double_q_update", points=2)
def test_double_q_does_not_bootstrap_from_a_terminal_state(student):
    """a terminated step's target is r alone"""
    # TD error = 2 - Q_update[1, 1] = -3; Q_update[1, 1] = 5 + 0.5 * (-3) = 3.5
    _double_q_check(
        student, 1, 1, 2.0, 1, True, 0.5, 0.9, -3.0,
        "when terminated is True the target is r alone (= 2), so the TD error is "
        "2 - Q_update[1, 1] = -3",
        "the bootstrap term is multiplied by (1 - terminated)")


@exercise("double_q_update", points=2)
def test_double_q_returns_the_error_before_the_update(student):
    """returns the TD error computed before the update, even on a self-loop"""
    # s = s_next = 1: argmax Q_update[1] = 1 BEFORE the update; Q_other[1, 1] = 3.
    # TD error = 0 + 1 * 3 - Q_update[1, 1] = -2; Q_update[1, 1] = 5 - 0.5 * 2 = 4
    _double_q_check(
        student, 1, 1, 0.0, 1, False, 0.5, 1.0, -2.0,
        "for a step from state 1 back to state 1 the TD error is 0 + Q_other[1, 1] - "
        "Q_update[1, 1] = 3 - 5 = -2",
        "compute the bracket before changing Q_update and return it")


def _tied_tables():
    """Q_update[1] = [4, 1, 4, 0] ties actions 0 and 2; Q_other values them 2 and -3
    (its own max, 2.5, is at action 1)."""
    return (np.array([[0.5, 0.0, 0.0, 0.0], [4.0, 1.0, 4.0, 0.0]]),
            np.array([[0.0, 0.0, 0.0, 0.0], [2.0, 2.5, -3.0, 1.0]]))


@exercise("double_q_update", points=2)
def test_double_q_breaks_ties_the_same_way_every_time(student):
    """ties of argmax Q_update[s_next] go to one of the tied actions, always the same one"""
    # Q_update[1] = [4, 1, 4, 0] ties actions 0 and 2. a* = 0 (np.argmax, the first):
    # TD error = 1 + 0.5 * Q_other[1, 0] - 0.5 = 1.5; a* = 2 (the last maximum) gives -1.
    errors = set()
    for _ in range(20):
        Q_update, Q_other = _tied_tables()
        errors.add(round(_as_float(student.double_q_update(
            Q_update, Q_other, 0, 0, 1.0, 1, False, 0.5, 0.5), "double_q_update"), 9))
    assert len(errors) == 1, (
        f"20 calls with the same tables returned {len(errors)} different TD errors "
        f"({sorted(errors)}): when Q_update[s_next] has tied maxima, choose among them "
        "deterministically (np.argmax takes the first), not at random, so that runs are "
        "reproducible")
    (got,) = errors
    if np.isclose(got, -1.0):  # the last of the tied maxima: a deterministic choice too
        return
    _double_q_check(
        student, 0, 0, 1.0, 1, False, 0.5, 0.5, 1.5,
        "Q_update[1] = [4, 1, 4, 0] ties actions 0 and 2; a* = 0 (np.argmax) is valued "
        "Q_other[1, 0] = 2, so the TD error is 1 + 0.5 * 2 - 0.5 = 1.5 (a* = 2 gives -1)",
        "a* is one of the tied maxima of Q_update[s_next], e.g. np.argmax's first",
        tables=_tied_tables)


# --------------------------------------------------------------------------- #
# Exercise 3.4: run_double_q_learning(env, n_episodes, alpha, gamma, epsilon, seed)
# --------------------------------------------------------------------------- #
def _env(student, environment, *args, max_episode_steps=None):
    """A test environment built on the notebook's side (``student.make``: no round
    trip per step in the grader), cut at ``max_episode_steps`` and ``Watched``."""
    env = student.make(environment, *args)
    if max_episode_steps is not None:
        env = student.make(TimeLimit, env, max_episode_steps=max_episode_steps)
    return student.make(Watched, env)


def _run(student, env, n_episodes, alpha, gamma, epsilon, seed):
    """Run the learner on ``env`` (from ``_env``; returned as the last item)."""
    result = student.run_double_q_learning(env, n_episodes, alpha, gamma, epsilon, seed)
    assert isinstance(result, tuple) and len(result) == 3, (
        "run_double_q_learning must return a tuple (Q1, Q2, episode_returns), got "
        f"{type(result).__name__}")
    Q1, Q2, episode_returns = result
    return np.asarray(Q1, dtype=float), np.asarray(Q2, dtype=float), episode_returns, env


def _check_episodes(env, n_episodes):
    """The learner ran n_episodes episodes of at least one step on ``env``."""
    played = sum(1 for actions in env.actions if actions)
    assert played == n_episodes, (
        f"a run of {n_episodes} episodes reset the environment {len(env.reset_seeds)} "
        f"times and played {played} episodes: reset it at the start of every episode "
        "and step it until the episode ends")


def _same_run(first, second):
    return all(np.array_equal(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
               for x, y in zip(first[:3], second[:3]))


# Probes: short runs whose outcome names a cause. Each returns False when the learner
# fails in some other way, so that the caller falls back on the general rule.
def _draws_restart_every_episode(student):
    """With epsilon = 1 each run takes one same action in every one-step episode, and
    different seeds take different actions: the random draws start over every episode
    (rng re-created, or re-seeded, inside the episode loop)."""
    actions = []
    try:
        for seed in range(6):
            *_, env = _run(student, _env(student, TieEnv), 12, 0.5, 0.9, 1.0, seed)
            taken = {episode[0] for episode in env.actions if episode}
            if len(taken) != 1:
                return False
            actions.append(taken.pop())
    except Exception:  # noqa: BLE001 - a failing probe names no cause
        return False
    return len(set(actions)) > 1


def _step_size_is_gamma(student):
    """On a one-step task paying 1 the tables hold 1 - (1 - gamma)**k, not 1 - (1 -
    alpha)**k: alpha and gamma reach double_q_update in swapped order."""
    try:
        Q1, Q2, *_ = _run(student, _env(student, OneStepEnv), 8, 0.1, 0.5, 0.0, 0)
    except Exception:  # noqa: BLE001
        return False
    values = [float(Q1[0, 0]), float(Q2[0, 0])]

    def reachable(step):
        return all(any(np.isclose(v, 1 - (1 - step) ** k, atol=1e-5) for k in range(9))
                   for v in values)
    return any(v > 0 for v in values) and reachable(0.5) and not reachable(0.1)


def _random_ties_in_double_q_update(student):
    """student.double_q_update gives different TD errors on the same tied tables."""
    errors = set()
    try:
        for _ in range(12):
            Q_update, Q_other = _tied_tables()
            errors.add(round(float(student.double_q_update(
                Q_update, Q_other, 0, 0, 1.0, 1, False, 0.5, 0.5)), 9))
    except Exception:  # noqa: BLE001
        return False
    return len(errors) > 1


_SWAPPED = ("the tables move by gamma, not by alpha, at each update: pass them to "
            "double_q_update in its order (..., terminated, alpha, gamma); the lesson's "
            "q_learning takes gamma before alpha")
_RESTART = ("the random draws start over at every episode (with epsilon = 1 each run "
            "takes one same action in every episode): make rng = "
            "np.random.default_rng(seed) once, before the first episode, and never "
            "re-create or re-seed it inside the loop")


def _untouched_table_hint(student, Q1, Q2):
    """The cause when one table, or both, never changed, else None."""
    if np.all(Q1 == 0) and np.all(Q2 == 0):
        return ("Q1 and Q2 are still all zero: after every step update one of them, "
                "chosen by a fair coin, with double_q_update")
    for name, Q, other in (("Q1", Q1, Q2), ("Q2", Q2, Q1)):
        if np.all(Q == 0) and np.any(other != 0):
            if _draws_restart_every_episode(student):
                return f"{name} never changed: {_RESTART}"
            return (f"{name} never changed: after every step flip a fair coin with rng "
                    "(rng.random() < 0.5) and update Q1 (valued by Q2) or Q2 (valued by "
                    "Q1)")
    return None


@exercise("run_double_q_learning", points=3)
def test_returns_two_tables_and_one_return_per_episode(student):
    """returns (Q1, Q2, episode_returns) with the undiscounted return of each episode"""
    Q1, Q2, episode_returns, env = _run(student, _env(student, BackToStartEnv), 30, 0.5, 0.9, 0.1, 0)
    assert Q1.shape == (2, 2) and Q2.shape == (2, 2), (
        f"Q1 and Q2 must each have shape [n_states, n_actions] = (2, 2), got {Q1.shape} "
        f"and {Q2.shape}")
    returns = np.asarray(episode_returns, dtype=float)
    n_steps = sum(len(actions) for actions in env.actions)
    assert returns.shape == (30,), (
        f"episode_returns must hold one number per episode (30), got shape "
        f"{returns.shape}" + (f": that is one per step ({n_steps} steps); add up each "
                              "episode's rewards" if returns.shape == (n_steps,) else ""))
    if np.allclose(returns, 1.0):
        return
    hint = ("these are discounted returns (0 + 0.9 * 1 = 0.9): record the plain sum of "
            "each episode's rewards, without gamma" if np.allclose(returns, 0.9) else
            "episode_returns[i] is the undiscounted sum of the rewards of episode i")
    raise AssertionError(
        "every episode of this environment pays 0 then 1, so each return is 1; got "
        f"{np.round(returns[:5], 3).tolist()}...: {hint}")


@exercise("run_double_q_learning", points=3)
def test_both_tables_learn_the_value_of_every_action(student):
    """with exploration both tables learn Q* of a two-armed one-step task"""
    Q1, Q2, *_ = _run(student, _env(student, TwoArmedEnv), 400, 0.5, 0.9, 0.5, 1)
    if all(np.allclose(Q, [[0.5, 1.0]], atol=0.01) for Q in (Q1, Q2)):
        return
    hint = _untouched_table_hint(student, Q1, Q2)
    if hint is None and max(Q1.max(), Q2.max()) > 1.05:
        hint = ("the tables exceed 1, the largest reward of a task that ends after one "
                "step: at a terminated step the target is r alone, even though the "
                "observation returned (state 0) has a non-zero Q")
    if hint is None and _draws_restart_every_episode(student):
        hint = _RESTART
    if hint is None:
        never = [a for a in range(2) if Q1[0, a] == 0 and Q2[0, a] == 0]
        hint = (f"action {never[0]} was never learned: with epsilon = 0.5 half of the "
                "actions are random, epsilon_greedy(Q1[s] + Q2[s], epsilon, rng)"
                if len(never) == 1 else
                "act epsilon-greedily on Q1 + Q2 and, after every step, update one of "
                "the two tables, chosen by a fair coin, towards r (the episode ends)")
    raise AssertionError(
        "on a one-step task paying 0.5 for action 0 and 1 for action 1, Q1 and Q2 should "
        f"both approach [[0.5, 1.0]] with epsilon = 0.5; got Q1 = "
        f"{np.round(Q1, 3).tolist()}, Q2 = {np.round(Q2, 3).tolist()}: {hint}")


@exercise("run_double_q_learning", points=3)
def test_tied_actions_are_broken_at_random(student):
    """with epsilon = 0 and every action tied, the behaviour picks among them at random"""
    runs = []
    for seed in (5, 6, 7):
        *_, env = _run(student, _env(student, TieEnv), 200, 0.5, 0.9, 0.0, seed)
        _check_episodes(env, 200)
        runs.append([episode[0] for episode in env.actions if episode])
    counts = np.bincount(np.concatenate(runs).astype(int), minlength=4)
    # 600 uniform draws among 4: 150 each, standard deviation 10.6; 90 is 5.6 of them.
    if len(counts) == 4 and counts.min() >= 90:
        return
    if all(set(run) == {0} for run in runs):
        hint = ("every run took action 0, the first maximum: that is np.argmax; act with "
                "the given epsilon_greedy(Q1[s] + Q2[s], epsilon, rng), which breaks ties "
                "at random")
    elif all(len(set(run)) == 1 for run in runs) and len({run[0] for run in runs}) > 1:
        hint = ("each run took one same action in all of its episodes: the random draws "
                "start over at every episode; make rng = np.random.default_rng(seed) "
                "once, before the first episode")
    else:
        hint = ("act with the given epsilon_greedy(Q1[s] + Q2[s], epsilon, rng), which "
                "picks uniformly among the tied actions")
    raise AssertionError(
        "the tables of this one-step task stay 0, so with epsilon = 0 all 4 actions are "
        "tied in every episode and each should be taken about 150 times in 3 runs of 200 "
        f"episodes; they were taken {counts.tolist()} times: {hint}")


@exercise("run_double_q_learning", points=3)
def test_behaviour_is_greedy_on_the_sum_of_both_tables(student):
    """the epsilon-greedy behaviour acts on Q1 + Q2, not on one table"""
    taken, worth_of_action_1 = [], []
    for seed in range(12):
        Q1, Q2, _, env = _run(student, _env(student, PenaltyArmEnv), 30, 0.5, 0.9, 0.0, seed)
        _check_episodes(env, 30)
        taken.append(sum(episode[:1] == [0] for episode in env.actions))
        worth_of_action_1 += [float(Q1[0, 1]), float(Q2[0, 1])]
    # Greedy on Q1 + Q2, action 0 (-1) is taken at most once per run, whatever the
    # coin: after it one table rates it -0.5 and action 1 (0 in both) wins. Greedy on one
    # table, it is taken again while that table has not seen it: about twice per run.
    if max(taken) <= 1:
        return
    if max(abs(v) for v in worth_of_action_1) > 1e-9:
        hint = ("action 1 pays 0 and ends the episode, so both tables must keep Q(0, 1) "
                f"= 0, yet one holds {max(worth_of_action_1, key=abs):.3f}: at a "
                "terminated step the target is r alone")
    elif sum(taken) > 0.25 * 12 * 30:
        hint = ("with epsilon = 0 the behaviour is greedy: epsilon_greedy(Q1[s] + Q2[s], "
                "epsilon, rng) takes a random action only with probability epsilon")
    else:
        hint = ("that happens when the behaviour looks at one table (or at max(Q1, Q2)), "
                "which misses the updates made to the other: act epsilon-greedily on "
                "Q1[s] + Q2[s]")
    raise AssertionError(
        "action 0 costs -1 and action 1 pays 0: once action 0 is tried, Q1 + Q2 rates it "
        "below action 1, so a greedy behaviour (epsilon = 0) never takes it again; yet "
        f"in 12 runs of 30 episodes it was taken {taken} times: {hint}")


def _update_counts(Q1, Q2, alpha):
    """How many updates towards 1 each table received: k = log(1 - Q) / log(1 - alpha)."""
    remaining = [min(max(1.0 - float(Q[0, 0]), 1e-300), 1.0) for Q in (Q1, Q2)]
    return [float(np.log(left) / np.log1p(-alpha)) for left in remaining]


@exercise("run_double_q_learning", points=3)
def test_each_table_gets_about_half_of_the_updates(student):
    """one table per step, picked by a fair coin: about half the updates each"""
    alpha, n = 0.001, 2000
    # n one-step episodes, then one episode of n steps (gamma = 0: every target is 1)
    A1, A2, *_ = _run(student, _env(student, OneStepEnv), n, alpha, 1.0, 0.0, 2)
    B1, B2, *_ = _run(student, _env(student, EndlessEnv, max_episode_steps=n), 1, alpha,
                      0.0, 0.0, 2)
    largest = max(float(Q[0, 0]) for Q in (A1, A2, B1, B2))
    assert largest <= 1 + 1e-9, (
        f"a table holds {largest:.3f}, more than the reward 1 of this one-step task: at "
        "a terminated step the target is r alone, even though the observation returned "
        "has a Q value")
    assert largest < 1 - 1e-9, (
        f"a table holds exactly 1 after updates of step size alpha = {alpha}, which "
        f"only approach 1: {_SWAPPED}" if _step_size_is_gamma(student) else
        f"a table holds exactly 1 after updates of step size alpha = {alpha}, which "
        "only approach 1: each update moves a table by alpha * delta")
    by_episode, by_step = _update_counts(A1, A2, alpha), _update_counts(B1, B2, alpha)
    shown = ", ".join(f"{int(round(a))} and {int(round(b))}" for a, b in (by_episode,
                                                                         by_step))
    for counts in (by_episode, by_step):
        if np.isclose(sum(counts), n, atol=1.0):
            continue
        if all(np.isclose(c, n, atol=1.0) for c in counts):
            raise AssertionError(
                f"{n} steps should give {n} updates in all, shared between the tables; "
                f"each table got about {n}: both tables were updated at every step, "
                "update only the one the coin picks")
        raise AssertionError(
            f"{n} steps should give {n} updates in all, shared between the tables; the "
            f"tables show about {shown} (in {n} one-step episodes, then in one episode "
            f"of {n} steps): update exactly one table per step, by alpha * delta")
    one_sided = [min(counts) < 0.5 for counts in (by_episode, by_step)]
    if one_sided == [True, True]:
        hint = ("every update went into the same table: flip a fair coin with rng at "
                "every step (rng.random() < 0.5) to choose the table to update")
    elif one_sided == [True, False]:
        hint = ("within one long episode the coin varies, but across one-step episodes "
                "every update went into the same table: the random draws start over at "
                "every episode; make rng = np.random.default_rng(seed) once, before the "
                "first episode")
    elif one_sided == [False, True]:
        hint = ("within one episode every update went into the same table: flip the "
                "coin at every step, not once per episode")
    else:
        hint = "the coin must be fair: update Q1 when rng.random() < 0.5, else Q2"
    # Binomial(2000, 1/2): standard deviation 22; the margin is 5 of them.
    assert not any(one_sided) and all(abs(counts[0] - n / 2) <= 112
                                      for counts in (by_episode, by_step)), (
        f"a fair coin gives each table about {n // 2} of the {n} updates; Q1 and Q2 got "
        f"about {shown} (in {n} one-step episodes, then in one episode of {n} steps): "
        f"{hint}")


@exercise("run_double_q_learning", points=3)
def test_never_bootstraps_through_termination(student):
    """both tables reach Q* when the terminating step returns a non-zero state"""
    Q1, Q2, *_ = _run(student, _env(student, BackToStartEnv), 400, 0.5, 0.9, 0.2, 3)
    q_star = np.array([[0.9, 0.9], [1.0, 1.0]])
    if all(np.allclose(Q, q_star, atol=0.02) for Q in (Q1, Q2)):
        return
    # Bootstrapping through the end: Q(1) = 1 + 0.9 Q(0), Q(0) = 0.9 Q(1): Q(1) = 5.3
    hint = None
    if max(Q1[1].max(), Q2[1].max()) > 1.2:
        hint = ("Q(1, .) is above the reward 1 of the step that ends the episode: at a "
                "terminated step the target is r alone, even though the observation "
                "returned (here state 0) has a non-zero Q")
    hint = hint or _untouched_table_hint(student, Q1, Q2)
    if hint is None and _step_size_is_gamma(student):
        hint = _SWAPPED
    if hint is None and np.all(Q1[1] == 0) and np.all(Q2[1] == 0):
        hint = ("Q(1, .) never changed although every episode passes through state 1: "
                "after each step the next state becomes the current one (state = "
                "next_state)")
    if hint is None and _draws_restart_every_episode(student):
        hint = _RESTART
    never = [(s, a) for s in range(2) for a in range(2) if Q1[s, a] == 0 == Q2[s, a]]
    if hint is None and never:
        hint = (f"Q(s, a) stayed 0 in both tables for (s, a) in {never}: with epsilon = "
                "0.2 every action gets tried, epsilon_greedy(Q1[s] + Q2[s], epsilon, rng)")
    raise AssertionError(
        f"Q1 and Q2 should approach Q* = {q_star.tolist()} (the terminating step from "
        "state 1 pays 1 and ends the episode, the step from state 0 pays 0 and leads to "
        f"state 1), got Q1 = {np.round(Q1, 3).tolist()}, Q2 = {np.round(Q2, 3).tolist()}: "
        + (hint or "the target is r + gamma * (1 - terminated) * Q_other[s', a*] with "
                   "a* = argmax Q_update[s']"))


@exercise("run_double_q_learning", points=3)
def test_bootstraps_through_truncation(student):
    """a time limit ends the episode but keeps the bootstrap term"""
    env = _env(student, EndlessEnv, max_episode_steps=3)
    Q1, Q2, episode_returns, _ = _run(student, env, 400, 0.1, 0.5, 0.1, 4)
    returns = np.asarray(episode_returns, dtype=float)
    if not (returns.shape == (400,) and np.allclose(returns, 3.0)):
        hint = ("these are discounted returns, 1 + 0.5 + 0.25 = 1.75: record the plain "
                "sum of each episode's rewards" if returns.shape == (400,)
                and np.allclose(returns, 1.75) else
                "episode_returns holds one undiscounted sum of rewards per episode")
        raise AssertionError(
            "with a 3-step time limit every one of the 400 episodes ends, truncated, "
            f"after 3 rewards of 1 (return 3); got {returns.shape[0] if returns.ndim else 1}"
            f" returns, the first {np.round(returns.ravel()[:4], 3).tolist()}: {hint}")
    values = [float(Q1[0, 0]), float(Q2[0, 0])]
    if np.allclose(values, 2.0, atol=0.02):
        return
    # Masking the third step: Q = 1 + 0.5 * (2/3) Q on average, so Q = 1.5
    hint = _untouched_table_hint(student, Q1, Q2)
    if hint is None and _step_size_is_gamma(student):
        hint = _SWAPPED
    if hint is None and np.allclose(values, 1.5, atol=0.1):
        hint = ("that is what masking the bootstrap at the time limit gives: a time limit "
                "is not a real ending, so keep the bootstrap term when truncated is True "
                "(mask only with terminated)")
    raise AssertionError(
        f"a task that never ends has Q* = 1 / (1 - gamma) = 2, got Q1 = {values[0]:.3f}, "
        f"Q2 = {values[1]:.3f}: " + (hint or "every step's target is r + gamma * "
                                             "Q_other[s', a*]: truncation does not mask "
                                             "it"))


def _why_runs_differ(student, run):
    """The cause when two runs with the same seed differ, else the general rule."""
    saved_numpy, saved_python = np.random.get_state(), random.getstate()
    agree = {}
    try:
        for name, seed_it in (("np.random (np.random.random(), np.random.choice, ...)",
                               lambda: np.random.seed(12345)),
                              ("Python's random module", lambda: random.seed(12345))):
            results = []
            for _ in range(2):
                seed_it()
                results.append(run(7, 0.2))
            agree[name] = _same_run(*results)
    except Exception:  # noqa: BLE001 - a failing probe names no cause
        pass
    finally:
        np.random.set_state(saved_numpy)
        random.setstate(saved_python)
    for name, same in agree.items():
        if same:
            return (f"they agree once {name} is seeded: some draw comes from that global "
                    "generator; draw every action and coin from rng")
    if _random_ties_in_double_q_update(student):
        return ("double_q_update breaks ties among the maxima of Q_update[s_next] at "
                "random: choose among them the same way every time (np.argmax takes the "
                "first), as its docstring says")
    return ("draw every action and coin from the one rng = np.random.default_rng(seed), "
            "made before the first episode (not from an unseeded generator), and call "
            "env.reset(seed=seed) on the first episode")


@exercise("run_double_q_learning", points=3)
def test_same_seed_gives_the_same_run(student):
    """the same seed gives the same run, another seed another run"""
    def run(seed, slip):  # 5-state chain, -1 per step: the tables change from step 1
        return _run(student, _env(student, ChainEnv, slip), 40, 0.5, 0.9, 0.3, seed)

    first = run(7, 0.2)
    _check_episodes(first[3], 40)
    seeds = first[3].reset_seeds
    assert seeds and seeds[0] == 7, (
        f"the first env.reset got seed={seeds[0] if seeds else None!r} in a run with "
        "seed = 7: call env.reset(seed=seed) on the first episode, so that the "
        "environment's own random draws are reproducible")
    later = [episode for episode, s in enumerate(seeds) if episode > 0 and s is not None]
    assert not later, (
        f"env.reset got a seed again at episode {later[0]} (and {len(later) - 1} more): "
        "seed only the first reset, env.reset(seed=seed if episode == 0 else None); "
        "re-seeding every episode replays the same environment draws in every episode")
    second = run(7, 0.2)
    assert _same_run(first, second), (
        "two runs with seed = 7 on fresh environments gave different results: "
        + _why_runs_differ(student, run))
    assert not _draws_restart_every_episode(student), (
        f"the same seed gives the same run, but {_RESTART}")
    assert not _same_run(run(7, 0.0), run(8, 0.0)), (
        "seeds 7 and 8 gave identical runs (tables and returns) on a deterministic "
        "environment, where only rng's draws can differ: make rng = "
        "np.random.default_rng(seed) from the `seed` argument, not from a fixed number")


@exercise("run_double_q_learning", points=3)
def test_double_q_has_no_maximisation_bias(student):
    """Q(0, .) is not biased upwards by the max over 8 noisy actions"""
    estimates, identical = [], True
    for seed in range(8):
        Q1, Q2, _, env = _run(student, _env(student, NoisyBranchEnv), 400, 0.1, 1.0, 1.0, 10 + seed)
        learned = min(np.abs(Q1[1]).mean(), np.abs(Q2[1]).mean())
        if learned <= 0.03:
            hint = None
            if any(s is not None for s in env.reset_seeds[1:]):
                hint = ("env.reset got a seed at every episode, so the environment draws "
                        "the same reward in every episode: seed only the first reset")
            hint = hint or _untouched_table_hint(student, Q1, Q2)
            if hint is None and np.all(Q1[1] == 0) and np.all(Q2[1] == 0):
                hint = ("Q(1, .) never changed although every episode passes through "
                        "state 1: after each step the next state becomes the current one "
                        "(state = next_state)")
            raise AssertionError(
                f"after 400 episodes with rewards drawn from N(0, 1) in state 1, both "
                f"tables should hold noisy estimates of Q(1, .), yet one of them "
                f"averages |Q| = {learned:.3f}: "
                + (hint or "every step updates one table towards its reward"))
        estimates.append(float(((Q1[0] + Q2[0]) / 2).mean()))
        identical = identical and np.allclose(Q1, Q2)
    # Q*(0, .) = 0. Over 8 runs, the mean estimate of Q(0, .) is about +0.29 (spread
    # 0.02) when each table values its own choice, as Q-learning does; Double Q's is
    # about 0.00 (spread 0.035), so the margin 0.15 is 4 spreads from either.
    if np.mean(estimates) < 0.15:
        return
    hint = ("the two tables are identical: when both learn from every step, choosing "
            "with one and valuing with the other is choosing and valuing with the same "
            "table; update only the table the coin picks" if identical else
            "Double Q removes the bias when the table that chooses a* (the one updated) "
            "is not the one that values it: a* = argmax Q_update[s'], valued by "
            "Q_other[s', a*]")
    raise AssertionError(
        f"every action is worth 0 in expectation, but the mean estimate of Q(0, .) over "
        f"8 runs is {np.mean(estimates):.3f}, biased upwards by the max over noisy "
        f"estimates: {hint}")
