"""Graded tests of chapter 02: Markov decision processes.

Every expected value is computed here, independently of the reference solution:
by hand for the tiny MDPs (derivations in the comments), by solving the linear
system (I - gamma P_pi) V = r_pi for a policy's exact value, and by policy
iteration with exact evaluation (a method unlike value iteration) for optimal values.

Models are in Gymnasium's toy-text format, P[s][a] = [(prob, next_state, reward,
terminated), ...]. Each test builds its own fresh model, so a function that mutates
its input cannot spoil another test.
"""

import copy

import gymnasium as gym
import numpy as np

from rlbook_utils.exercises import exercise


# --------------------------------------------------------------------------- #
# Independent references
# --------------------------------------------------------------------------- #
def _model_arrays(P):
    """The model as arrays: T [S, A, S] continuing probabilities, R [S, A] expected reward.

    A terminating transition contributes to R but not to T, which is how "does not
    bootstrap" reads in matrix form.
    """
    n_states, n_actions = len(P), len(P[0])
    T = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                R[s, a] += prob * reward
                if not terminated:
                    T[s, a, next_state] += prob
    return T, R


def _exact_policy_value(P, policy, gamma):
    """V_pi by solving (I - gamma P_pi) V = r_pi: no iteration, no tolerance."""
    T, R = _model_arrays(P)
    policy = np.asarray(policy, dtype=float)
    P_pi = np.einsum("sa,sat->st", policy, T)  # [S, S]
    r_pi = np.sum(policy * R, axis=1)  # [S]
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi, r_pi)


def _optimal_values(P, gamma):
    """V* by policy iteration with exact evaluation; it ends after finitely many steps."""
    T, R = _model_arrays(P)
    n_states, n_actions = R.shape
    actions = np.zeros(n_states, dtype=int)
    while True:
        V = _exact_policy_value(P, np.eye(n_actions)[actions], gamma)
        Q = R + gamma * T @ V  # [S, A]
        current = Q[np.arange(n_states), actions]
        improved = np.where(Q.max(axis=1) > current + 1e-12, Q.argmax(axis=1), actions)
        if np.array_equal(improved, actions):
            return V
        actions = improved


def _frozen_lake_P():
    return gym.make("FrozenLake-v1").unwrapped.P


def _corridor(order, with_stay_action=False):
    """A corridor through the states `order`, then out of the episode with reward 1.

    Action 0 moves from order[i] to order[i + 1] with reward 0; from order[-1] it ends
    the episode with reward 1, landing in the absorbing state n = len(order). With
    ``with_stay_action``, action 1 stays put with reward 0 (never better than moving).
    At gamma = 0.5 the state k steps before the exit is worth 0.5**k. A synchronous
    sweep from V_0 = 0 makes the value travel ONE state back per sweep: after sweep j
    the j states nearest the exit hold 1, 0.5, 0.25, ... and all others 0, and sweep j
    changes V by 0.5**(j - 1). With theta = 0.3 the sweeps stop after sweep 3 (changes
    1, 0.5, 0.25). An in-place sweep that visits the states in the corridor's direction
    carries the value all the way in ONE sweep, so it ends with other numbers.
    """
    n = len(order)
    P = {}
    for i, s in enumerate(order):
        move = ([(1.0, order[i + 1], 0.0, False)] if i + 1 < n else [(1.0, n, 1.0, True)])
        P[s] = {0: move}
        if with_stay_action:
            P[s][1] = [(1.0, s, 0.0, False)]
    P[n] = {a: [(1.0, n, 0.0, True)] for a in P[order[0]]}
    return P


def _corridor_after_three_synchronous_sweeps(order):
    expected = np.zeros(len(order) + 1)
    for steps_before_exit, value in enumerate([1.0, 0.5, 0.25]):
        expected[order[-1 - steps_before_exit]] = value
    return expected


def _number(got, name):
    assert np.ndim(got) == 0, (
        f"{name} should return ONE number, got {type(got).__name__} of shape "
        f"{np.shape(got)}: sum the discounted rewards into a single float")
    return float(got)


# --------------------------------------------------------------------------- #
# Exercise 2.1: discounted_return(rewards, gamma)
# --------------------------------------------------------------------------- #
@exercise("discounted_return", points=2)
def test_worked_example_three_ones_at_one_half(student):
    got = _number(student.discounted_return([1.0, 1.0, 1.0], 0.5), "discounted_return")
    assert abs(got - 1.75) < 1e-12, (
        f"discounted_return([1, 1, 1], 0.5) should be 1 + 0.5 + 0.25 = 1.75, got {got}")


@exercise("discounted_return", points=2)
def test_first_reward_is_not_discounted(student):
    got = _number(student.discounted_return([1.0], 0.5), "discounted_return")
    assert got == 1.0, (
        f"discounted_return([1], 0.5) should be 1.0, got {got}: the first reward r_1 is "
        "multiplied by gamma**0 = 1, not by gamma")


@exercise("discounted_return", points=2)
def test_later_rewards_are_discounted_more(student):
    late = _number(student.discounted_return([0.0, 0.0, 1.0], 0.5), "discounted_return")
    early = _number(student.discounted_return([1.0, 0.0, 0.0], 0.5), "discounted_return")
    assert abs(late - 0.25) < 1e-12 and abs(early - 1.0) < 1e-12, (
        f"a reward arriving at step 3 is worth gamma**2 = 0.25 and one at step 1 is worth "
        f"1, but you return {late} and {early}: the power of gamma grows with the "
        "reward's position (are the powers reversed?)")


@exercise("discounted_return", points=2)
def test_gamma_zero_keeps_only_the_first_reward(student):
    got = _number(student.discounted_return([3.0, 5.0, 7.0], 0.0), "discounted_return")
    assert got == 3.0, (
        f"with gamma = 0 only r_1 counts, so the return of [3, 5, 7] is 3, got {got}")


@exercise("discounted_return", points=2)
def test_gamma_one_is_the_plain_sum(student):
    got = _number(student.discounted_return([3.0, -5.0, 7.0], 1.0), "discounted_return")
    assert abs(got - 5.0) < 1e-12, (
        f"with gamma = 1 the return is the plain sum 3 - 5 + 7 = 5, got {got}")


@exercise("discounted_return", points=2)
def test_empty_episode_has_return_zero(student):
    got = _number(student.discounted_return([], 0.9), "discounted_return")
    assert got == 0.0, f"an episode without rewards has return 0.0, got {got}"


@exercise("discounted_return", points=2)
def test_long_episodes_match_the_geometric_series(student):
    gamma, T = 0.99, 500
    # sum_{t<T} gamma**t = (1 - gamma**T) / (1 - gamma), and with alternating rewards
    # r_{t+1} = (-1)**t: sum_{t<T} (-gamma)**t = (1 - (-gamma)**T) / (1 + gamma).
    ones = _number(student.discounted_return([1.0] * T, gamma), "discounted_return")
    expected_ones = (1 - gamma**T) / (1 - gamma)
    assert abs(ones - expected_ones) < 1e-9, (
        f"500 rewards of 1 at gamma = 0.99 should give (1 - 0.99**500) / 0.01 = "
        f"{expected_ones:.6f}, got {ones}")
    alternating = [(-1.0) ** t for t in range(T)]
    got = _number(student.discounted_return(alternating, gamma), "discounted_return")
    expected = (1 - (-gamma) ** T) / (1 + gamma)
    assert abs(got - expected) < 1e-9, (
        f"rewards +1, -1, +1, ... (500 of them) at gamma = 0.99 should give "
        f"{expected:.6f}, got {got}: reward r_(t+1) is weighted by gamma**t")


@exercise("discounted_return", points=2)
def test_accepts_lists_and_numpy_arrays(student):
    # 1 + 0.5 * 2 + 0.25 * 3 = 2.75
    from_array = student.discounted_return(np.array([1.0, 2.0, 3.0]), 0.5)
    from_ints = student.discounted_return([1, 2, 3], 0.5)
    from_empty_array = student.discounted_return(np.array([]), 0.5)
    for got, what in [(from_array, "np.array([1., 2., 3.])"), (from_ints, "[1, 2, 3]")]:
        got = _number(got, "discounted_return")
        assert abs(got - 2.75) < 1e-12, (
            f"discounted_return({what}, 0.5) should be 1 + 1 + 0.75 = 2.75, got {got}: "
            "rewards may come as a list of ints or as a numpy array")
    assert _number(from_empty_array, "discounted_return") == 0.0, (
        "an empty numpy array of rewards has return 0.0 (don't test it with `if rewards:`, "
        "which fails on arrays)")


@exercise("discounted_return", points=2)
def test_returns_a_single_float(student):
    got = student.discounted_return([1.0, 2.0], 0.9)
    _number(got, "discounted_return")
    assert isinstance(got, (float, np.floating)), (
        f"discounted_return should return a float, got {type(got).__name__}")


# --------------------------------------------------------------------------- #
# Exercise 2.2: policy_evaluation(P, policy, gamma, theta=1e-8)
# --------------------------------------------------------------------------- #
def _stochastic_mdp():
    """3 states, 2 actions, slippery moves, two ways to end the episode."""
    return {
        0: {0: [(0.7, 1, 1.0, False), (0.3, 0, 0.0, False)],
            1: [(0.5, 2, -1.0, False), (0.25, 1, 2.0, False), (0.25, 0, 0.5, True)]},
        1: {0: [(0.6, 2, 0.0, False), (0.4, 1, 1.0, False)],
            1: [(0.9, 0, 3.0, False), (0.1, 2, -2.0, True)]},
        2: {0: [(1.0, 2, -0.5, False)],
            1: [(0.2, 2, 0.0, False), (0.3, 0, 1.0, False), (0.5, 1, 4.0, True)]},
    }


_STOCHASTIC_POLICY = np.array([[0.3, 0.7],
                               [0.6, 0.4],
                               [0.1, 0.9]])


@exercise("policy_evaluation", points=3)
def test_terminal_transition_contributes_its_reward_only(student):
    # State 0 pays 1 and ends the episode, landing in state 1. State 1 (never reached
    # from state 0) pays 1 per step forever, V(1) = 1 / (1 - 0.9) = 10. Because the
    # move out of state 0 ends the episode, V(0) = 1, not 1 + 0.9 * 10 = 10.
    P = {0: {0: [(1.0, 1, 1.0, True)]},
         1: {0: [(1.0, 1, 1.0, False)]}}
    V = np.asarray(student.policy_evaluation(P, np.array([[1.0], [1.0]]), 0.9, theta=1e-10))
    assert abs(V[0] - 1.0) < 1e-6, (
        f"V(0) should be 1.0 (its only move pays 1 and ENDS the episode), got {V[0]:.4f}: "
        "a transition with terminated=True must not add gamma * V(next_state); "
        "multiply the bootstrap term by (1 - terminated)")
    assert abs(V[1] - 10.0) < 1e-6, (
        f"V(1) should be 1 / (1 - 0.9) = 10 (it pays 1 per step forever), got {V[1]:.4f}")


@exercise("policy_evaluation", points=3)
def test_matches_the_exact_solution_with_a_stochastic_policy_and_transitions(student):
    gamma = 0.95
    expected = _exact_policy_value(_stochastic_mdp(), _STOCHASTIC_POLICY, gamma)
    V = np.asarray(student.policy_evaluation(_stochastic_mdp(), _STOCHASTIC_POLICY.copy(),
                                             gamma))
    assert V.shape == expected.shape and np.allclose(V, expected, atol=1e-6), (
        f"V should be {np.round(expected, 4)} (the solution of (I - gamma P_pi) V = r_pi), "
        f"got {np.round(V, 4)}: weight every outcome by pi(a|s) * prob, sum over ALL "
        "actions and ALL listed outcomes, and iterate until a sweep changes V by less "
        "than theta")


@exercise("policy_evaluation", points=3)
def test_returns_a_float_array_of_shape_n_states(student):
    # 2 states, 3 actions, so that [n_states] cannot be confused with [n_actions].
    P = {0: {a: [(1.0, 1, float(a), False)] for a in range(3)},
         1: {a: [(1.0, 1, 0.0, True)] for a in range(3)}}
    policy = np.full((2, 3), 1 / 3)
    V = student.policy_evaluation(P, policy, 0.9)
    assert isinstance(V, np.ndarray), (
        f"policy_evaluation should return a numpy array, got {type(V).__name__}")
    assert V.shape == (2,), f"V should have shape (n_states,) = (2,), got {V.shape}"
    assert np.issubdtype(V.dtype, np.floating), (
        f"V should hold floats, got dtype {V.dtype}: start from np.zeros(n_states)")
    # V(0) = (0 + 1 + 2) / 3 = 1, as state 1 is worth 0.
    assert np.allclose(V, [1.0, 0.0], atol=1e-6), f"V should be [1, 0], got {V}"


@exercise("policy_evaluation", points=3)
def test_does_not_modify_the_model_or_the_policy(student):
    P, policy = _stochastic_mdp(), _STOCHASTIC_POLICY.copy()
    P_before, policy_before = copy.deepcopy(P), policy.copy()
    student.policy_evaluation(P, policy, 0.9)
    assert P == P_before, "policy_evaluation changed the model P it was given: only read it"
    assert np.array_equal(policy, policy_before), (
        "policy_evaluation changed the policy array it was given: only read it")


@exercise("policy_evaluation", points=3)
def test_evaluation_sweeps_are_synchronous(student):
    # See _corridor: with theta = 0.3 synchronous sweeps stop after sweep 3, the three
    # states nearest the exit worth 1, 0.5, 0.25 and the two farthest still 0. The two
    # corridors run in opposite directions, so an in-place sweep shows in one of them
    # whichever order it visits the states in.
    for order in ([4, 3, 2, 1, 0], [0, 1, 2, 3, 4]):
        P = _corridor(order)
        V = np.asarray(student.policy_evaluation(P, np.ones((6, 1)), 0.5, theta=0.3))
        expected = _corridor_after_three_synchronous_sweeps(order)
        assert V.shape == expected.shape and np.allclose(V, expected, atol=1e-9), (
            f"on a corridor with exit after state {order[-1]}, gamma = 0.5 and theta = 0.3, "
            f"three synchronous sweeps from V = 0 give {expected}, got {V}. Compute the "
            "whole new V from the OLD V (a fresh V_new = np.zeros(n_states) per sweep, "
            "then V = V_new), not in place; and return the V of the sweep that changed "
            "V by less than theta")


@exercise("policy_evaluation", points=3)
def test_stops_within_theta_of_the_exact_values(student):
    # Synchronous sweeps contract by gamma, so once a sweep changes V by less than
    # theta, V is within theta * gamma / (1 - gamma) of V_pi.
    gamma = 0.99
    expected = _exact_policy_value(_stochastic_mdp(), _STOCHASTIC_POLICY, gamma)
    for theta in (1e-2, 1e-9):
        V = np.asarray(student.policy_evaluation(_stochastic_mdp(), _STOCHASTIC_POLICY,
                                                 gamma, theta=theta))
        bound = theta * gamma / (1 - gamma)
        error = np.max(np.abs(V - expected))
        assert error <= bound + 1e-9, (
            f"with gamma = 0.99 and theta = {theta:g}, V should be within {bound:.2g} of "
            f"the exact {np.round(expected, 4)}, got {np.round(V, 4)} (off by {error:.2g}): "
            "keep sweeping until max |V_new - V| < theta, not a fixed number of sweeps")


# --------------------------------------------------------------------------- #
# Exercise 2.3: q_from_v(P, V, gamma)
# --------------------------------------------------------------------------- #
@exercise("q_from_v", points=2)
def test_matches_the_one_step_lookahead_on_stochastic_transitions(student):
    # No transition terminates here. With V = [1, -2, 4] and gamma = 0.9, by hand:
    # Q[0,0] = 0.5 (1 + 0.9 * -2) + 0.5 (0 + 0.9 * 4)             = -0.4 + 1.8    = 1.4
    # Q[0,1] = 1.0 (-1 + 0.9 * 1)                                                   = -0.1
    # Q[1,0] = 0.2 (2 + 0.9 * 1) + 0.3 (0 + 0.9 * -2) + 0.5 (0 + 0.9 * -2)
    #        = 0.58 - 0.54 - 0.9                                                    = -0.86
    # Q[1,1] = 0.9 (0.5 + 0.9 * 4) + 0.1 (0 + 0.9 * 1)            = 3.69 + 0.09  = 3.78
    # Q[2,0] = 1.0 (0 + 0.9 * 4)                                                    = 3.6
    # Q[2,1] = 0.25 (4 + 0.9 * 1) + 0.75 (-4 + 0.9 * -2)           = 1.225 - 4.35 = -3.125
    P = {0: {0: [(0.5, 1, 1.0, False), (0.5, 2, 0.0, False)],
             1: [(1.0, 0, -1.0, False)]},
         1: {0: [(0.2, 0, 2.0, False), (0.3, 1, 0.0, False), (0.5, 1, 0.0, False)],
             1: [(0.9, 2, 0.5, False), (0.1, 0, 0.0, False)]},
         2: {0: [(1.0, 2, 0.0, False)],
             1: [(0.25, 0, 4.0, False), (0.75, 1, -4.0, False)]}}
    expected = np.array([[1.4, -0.1], [-0.86, 3.78], [3.6, -3.125]])
    Q = np.asarray(student.q_from_v(P, np.array([1.0, -2.0, 4.0]), 0.9))
    assert Q.shape == expected.shape and np.allclose(Q, expected, atol=1e-9), (
        f"Q should be {expected.tolist()}, got {np.round(Q, 4).tolist()}: Q[s, a] sums "
        "prob * (reward + gamma * V[next_state]) over EVERY tuple in P[s][a] (the same "
        "next_state may appear twice: add both)")


@exercise("q_from_v", points=2)
def test_terminal_transitions_do_not_bootstrap(student):
    # Q[0,0] = 0.5 * 1 (ends) + 0.5 * (0 + 0.9 * 2) = 1.4; Q[0,1] = 3 (ends in state 1,
    # worth 10, which must not count); Q[1,0] = 1 + 0.9 * 10 = 10.
    P = {0: {0: [(0.5, 1, 1.0, True), (0.5, 2, 0.0, False)],
             1: [(1.0, 1, 3.0, True)]},
         1: {0: [(1.0, 1, 1.0, False)], 1: [(1.0, 1, 1.0, False)]},
         2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]}}
    expected = np.array([[1.4, 3.0], [10.0, 10.0], [0.0, 0.0]])
    Q = np.asarray(student.q_from_v(P, np.array([-5.0, 10.0, 2.0]), 0.9))
    assert Q.shape == expected.shape and np.allclose(Q, expected, atol=1e-9), (
        f"Q should be {expected.tolist()}, got {np.round(Q, 4).tolist()}: a transition "
        "with terminated=True contributes prob * reward only; multiply the bootstrap "
        "term gamma * V[next_state] by (1 - terminated)")


@exercise("q_from_v", points=2)
def test_discounts_the_next_state_value_by_gamma(student):
    # One state looping on itself with reward 1, V = [10]: Q = 1 + gamma * 10.
    P = {0: {0: [(1.0, 0, 1.0, False)]}}
    for gamma in (0.0, 0.5):
        Q = np.asarray(student.q_from_v(P, np.array([10.0]), gamma))
        assert np.allclose(Q, [[1.0 + gamma * 10.0]], atol=1e-9), (
            f"with V = [10], reward 1 and gamma = {gamma}, Q should be "
            f"[[{1.0 + gamma * 10.0}]], got {Q.tolist()}: the next state's value is "
            "multiplied by gamma")


@exercise("q_from_v", points=2)
def test_returns_a_float_array_of_shape_n_states_by_n_actions(student):
    # 2 states, 3 actions, so a transposed Q shows.
    P = {s: {a: [(1.0, 1, float(a), True)] for a in range(3)} for s in range(2)}
    V = np.array([1, 2])  # ints: Q must still hold floats
    V_before = V.copy()
    Q = student.q_from_v(P, V, 0.5)
    assert isinstance(Q, np.ndarray), (
        f"q_from_v should return a numpy array, got {type(Q).__name__}")
    assert Q.shape == (2, 3), (
        f"Q should have shape (n_states, n_actions) = (2, 3), got {Q.shape}")
    assert np.issubdtype(Q.dtype, np.floating), (
        f"Q should hold floats, got dtype {Q.dtype}: start from "
        "np.zeros((n_states, n_actions))")
    assert np.allclose(Q, [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]), (
        "every action a ends the episode with reward a, so Q = [[0, 1, 2], [0, 1, 2]], "
        f"got {Q}")
    assert np.array_equal(V, V_before), "q_from_v changed the V it was given: only read it"


# --------------------------------------------------------------------------- #
# Exercise 2.4: value_iteration(P, gamma, theta=1e-8)
# --------------------------------------------------------------------------- #
def _chain(n):
    """States 0..n-1 in a row; LEFT (0) moves one left (stays at 0), RIGHT (1) one right.

    RIGHT from n - 1 ends the episode with reward 1 in the absorbing state n. Going right
    is optimal everywhere: V*(s) = gamma**(n - 1 - s) for s < n, and V*(n) = 0.
    """
    P = {}
    for s in range(n):
        right = [(1.0, s + 1, 0.0, False)] if s + 1 < n else [(1.0, n, 1.0, True)]
        P[s] = {0: [(1.0, max(s - 1, 0), 0.0, False)], 1: right}
    P[n] = {0: [(1.0, n, 0.0, True)], 1: [(1.0, n, 0.0, True)]}
    return P


def _as_action_indices(policy, n_states, n_actions):
    policy = np.asarray(policy)
    assert policy.shape == (n_states, n_actions), (
        f"the policy should be a one-hot array of shape (n_states, n_actions) = "
        f"({n_states}, {n_actions}), got shape {policy.shape}: turn the greedy action "
        "indices into rows, e.g. np.eye(n_actions)[np.argmax(Q, axis=1)]")
    return policy.argmax(axis=1)


@exercise("value_iteration", points=3)
def test_optimal_values_on_a_chain_match_the_closed_form(student):
    gamma, n = 0.9, 5
    V, policy = student.value_iteration(_chain(n), gamma)
    V = np.asarray(V)
    expected = np.array([gamma ** (n - 1 - s) for s in range(n)] + [0.0])
    assert V.shape == expected.shape and np.allclose(V, expected, atol=1e-6), (
        f"on a 5-state chain whose right end pays 1, V*(s) = 0.9**(4 - s) = "
        f"{np.round(expected, 4)}, got {np.round(V, 4)}: take the MAX over actions of "
        "the one-step lookahead, and sweep until V changes by less than theta")
    actions = _as_action_indices(policy, n + 1, 2)
    assert np.all(actions[:n] == 1), (
        f"going RIGHT (action 1) is optimal in states 0-4, your policy picks {actions[:n]}")


@exercise("value_iteration", points=3)
def test_policy_is_one_hot_of_shape_n_states_by_n_actions(student):
    # 2 states, 3 actions: action a ends the episode with reward a, so action 2 is best.
    P = {s: {a: [(1.0, 1, float(a), True)] for a in range(3)} for s in range(2)}
    V, policy = student.value_iteration(P, 0.9)
    assert isinstance(policy, np.ndarray), (
        f"the policy should be a numpy array, got {type(policy).__name__}")
    assert policy.shape == (2, 3), (
        f"the policy should have shape (n_states, n_actions) = (2, 3), got {policy.shape}: "
        "one-hot rows, not a vector of action indices")
    assert np.all((policy == 0) | (policy == 1)) and np.all(policy.sum(axis=1) == 1), (
        "each row of the policy should be one-hot (a single 1, zeros elsewhere), "
        f"got {policy}")
    assert np.array_equal(policy.argmax(axis=1), [2, 2]), (
        f"action 2 pays most in both states, the policy picks {policy.argmax(axis=1)}")
    V = np.asarray(V)
    assert V.shape == (2,) and np.issubdtype(V.dtype, np.floating), (
        f"V should be a float array of shape (n_states,) = (2,), got {V.dtype} {V.shape}")


@exercise("value_iteration", points=3)
def test_takes_the_best_action_not_the_average(student):
    # State 0: action 0 ends the episode with reward 0, action 1 with reward 1, action 2
    # with reward 1 with probability 0.5. State 1 moves to state 0 for free, so
    # V*(0) = 1 and V*(1) = 0.9; the average over actions would give 0.5 and 0.45.
    P = {0: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 1.0, True)],
             2: [(0.5, 2, 1.0, True), (0.5, 2, 0.0, True)]},
         1: {a: [(1.0, 0, 0.0, False)] for a in range(3)},
         2: {a: [(1.0, 2, 0.0, True)] for a in range(3)}}
    V, policy = student.value_iteration(P, 0.9)
    V = np.asarray(V)
    assert V.shape == (3,) and np.allclose(V, [1.0, 0.9, 0.0], atol=1e-6), (
        f"V* should be [1, 0.9, 0], got {np.round(V, 4)}: the Bellman optimality update "
        "takes the MAX over actions of Q(s, a), not their mean or a policy's average")
    actions = _as_action_indices(policy, 3, 3)
    assert actions[0] == 1, f"in state 0 the best action is 1 (reward 1), got {actions[0]}"


@exercise("value_iteration", points=3)
def test_terminal_transition_does_not_bootstrap(student):
    # State 0: action 0 ends the episode with reward 1 but lands in state 1, which pays 1
    # per step forever (V*(1) = 1 / (1 - 0.9) = 10); action 1 ends it with reward 2.
    # The episode is over either way, so V*(0) = 2 and action 1 is best; bootstrapping
    # on the landing state would make action 0 look worth 1 + 0.9 * 10 = 10.
    P = {0: {0: [(1.0, 1, 1.0, True)], 1: [(1.0, 2, 2.0, True)]},
         1: {0: [(1.0, 1, 1.0, False)], 1: [(1.0, 1, 1.0, False)]},
         2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]}}
    V, policy = student.value_iteration(P, 0.9)
    V = np.asarray(V)
    assert V.shape == (3,) and np.allclose(V, [2.0, 10.0, 0.0], atol=1e-6), (
        f"V* should be [2, 10, 0], got {np.round(V, 4)}: a transition with "
        "terminated=True contributes its reward but no gamma * V(next_state)")
    actions = _as_action_indices(policy, 3, 2)
    assert actions[0] == 1, (
        f"in state 0 action 1 (reward 2, then the episode ends) is best, got {actions[0]}")


@exercise("value_iteration", points=3)
def test_optimality_sweeps_are_synchronous(student):
    # The corridors of policy_evaluation's test, with a second action that stays put
    # (worth less than moving on, so max picks the move and V is as there).
    for order in ([4, 3, 2, 1, 0], [0, 1, 2, 3, 4]):
        V, _ = student.value_iteration(_corridor(order, with_stay_action=True), 0.5,
                                       theta=0.3)
        V = np.asarray(V)
        expected = _corridor_after_three_synchronous_sweeps(order)
        assert V.shape == expected.shape and np.allclose(V, expected, atol=1e-9), (
            f"on a corridor with exit after state {order[-1]}, gamma = 0.5 and theta = 0.3, "
            f"three synchronous sweeps from V = 0 give {expected}, got {V}. Compute the "
            "whole new V from the OLD V (e.g. V_new = q_from_v(P, V, gamma).max(axis=1)), "
            "not in place; and return the V of the sweep that changed V by less than theta")


@exercise("value_iteration", points=3)
def test_frozen_lake_values_are_optimal(student):
    # V* by policy iteration with exact evaluation; V*(start) is about 0.54.
    gamma = 0.99
    expected = _optimal_values(_frozen_lake_P(), gamma)
    V, _ = student.value_iteration(_frozen_lake_P(), gamma)
    V = np.asarray(V)
    assert V.shape == (16,) and np.allclose(V, expected, atol=1e-4), (
        f"on FrozenLake-v1 at gamma = 0.99, V*(start) = {expected[0]:.4f}; got V of shape "
        f"{V.shape} with V[0] = {V.reshape(-1)[0]:.4f}")


@exercise("value_iteration", points=3)
def test_frozen_lake_greedy_policy_achieves_the_returned_values(student):
    # Any optimal policy is accepted (several actions tie in some states): evaluate the
    # returned policy exactly and compare with the returned V.
    gamma = 0.99
    V, policy = student.value_iteration(_frozen_lake_P(), gamma)
    actions = _as_action_indices(policy, 16, 4)
    achieved = _exact_policy_value(_frozen_lake_P(), np.eye(4)[actions], gamma)
    assert np.allclose(achieved, np.asarray(V), atol=1e-4), (
        f"following your greedy policy on FrozenLake-v1 is worth "
        f"{np.round(achieved, 3).reshape(4, 4)}, but value_iteration returned "
        f"V = {np.round(np.asarray(V), 3).reshape(-1)}: the policy should be greedy "
        "w.r.t. Q = q_from_v(P, V, gamma) of the FINAL V")
