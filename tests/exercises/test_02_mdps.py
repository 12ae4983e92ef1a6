"""Graded tests of chapter 02: Markov decision processes.

Every expected value is computed here, independently of the reference solution: by
hand for the tiny MDPs (derivations in the comments), by checking that a returned V
satisfies the Bellman equation (a property, whatever method produced V), by
enumerating every deterministic policy of a tiny MDP, and by value iteration (a
method unlike policy iteration) for optimal values.

Models are in Gymnasium's toy-text format, P[s][a] = [(prob, next_state, reward,
terminated), ...]. Each test builds its own fresh model, so a function that mutates
its input cannot spoil another test.
"""

import copy
import itertools

import gymnasium as gym
import numpy as np

from rlbook_utils.envs import GridWorldEnv
from rlbook_utils.exercises import exercise


# --------------------------------------------------------------------------- #
# Independent references
# --------------------------------------------------------------------------- #
def _bellman_backup(P, policy, V, gamma):
    """One Bellman expectation backup, (T_pi V)(s), written as a plain loop."""
    backup = np.zeros(len(P))
    for s in range(len(P)):
        for a in range(len(P[s])):
            for prob, next_state, reward, terminated in P[s][a]:
                future = 0.0 if terminated else gamma * V[next_state]
                backup[s] += policy[s][a] * prob * (reward + future)
    return backup


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


def _lookahead(P, V, gamma):
    """Q[s, a] = sum over outcomes of prob * (reward + gamma * V[s'] unless terminated)."""
    T, R = _model_arrays(P)
    return R + gamma * T @ V


def _value_of(P, policy, gamma, n_sweeps=5000):
    """V_pi by many sweeps V <- r_pi + gamma P_pi V: no solver, so independent of one."""
    T, R = _model_arrays(P)
    policy = np.asarray(policy, dtype=float)
    P_pi = np.einsum("sa,sat->st", policy, T)  # [S, S]
    r_pi = np.sum(policy * R, axis=1)  # [S]
    V = np.zeros(len(P))
    for _ in range(n_sweeps):
        V = r_pi + gamma * P_pi @ V
    return V


def _optimal_values(P, gamma, tolerance=1e-13):
    """V* by value iteration swept far past the tolerance the tests use."""
    T, R = _model_arrays(P)
    V = np.zeros(len(P))
    while True:
        V_new = (R + gamma * T @ V).max(axis=1)
        if np.max(np.abs(V_new - V)) < tolerance:
            return V_new
        V = V_new


def _frozen_lake_P():
    return gym.make("FrozenLake-v1").unwrapped.P


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


def _vector(got, n, name):
    got = np.asarray(got)
    assert got.shape == (n,), (
        f"{name} should return an array of shape (n_states,) = ({n},), got shape "
        f"{got.shape}")
    return got.astype(float)


# --------------------------------------------------------------------------- #
# Exercise 2.1: exact_policy_evaluation(P, policy, gamma)
# --------------------------------------------------------------------------- #
@exercise("exact_policy_evaluation", points=3)
def test_terminal_transition_contributes_its_reward_only(student):
    """a terminated transition adds its reward to r_pi and nothing to P_pi"""
    # State 0 pays 1 and ends the episode, landing in state 1. State 1 (never reached
    # from state 0) pays 1 per step forever, V(1) = 1 / (1 - 0.9) = 10. Because the
    # move out of state 0 ends the episode, V(0) = 1, not 1 + 0.9 * 10 = 10; and a
    # solution that drops the terminated tuple altogether gets V(0) = 0.
    P = {0: {0: [(1.0, 1, 1.0, True)]},
         1: {0: [(1.0, 1, 1.0, False)]}}
    V = _vector(student.exact_policy_evaluation(P, np.array([[1.0], [1.0]]), 0.9), 2,
                "exact_policy_evaluation")
    assert abs(V[0] - 1.0) < 1e-9, (
        f"V(0) should be 1.0 (its only move pays 1 and ENDS the episode), got {V[0]:.4f}: "
        "a terminated transition puts prob * reward into r_pi but nothing into P_pi "
        "(0 means its reward was dropped too; 10 means it was bootstrapped)")
    assert abs(V[1] - 10.0) < 1e-9, (
        f"V(1) should be 1 / (1 - 0.9) = 10 (it pays 1 per step forever), got {V[1]:.4f}")


@exercise("exact_policy_evaluation", points=3)
def test_solves_the_bellman_equation_with_a_stochastic_policy(student):
    """V = r_pi + gamma P_pi V holds to rounding error for a stochastic policy and model"""
    gamma = 0.95
    V = _vector(student.exact_policy_evaluation(_stochastic_mdp(),
                                                _STOCHASTIC_POLICY.copy(), gamma),
                3, "exact_policy_evaluation")
    residual = np.max(np.abs(V - _bellman_backup(_stochastic_mdp(), _STOCHASTIC_POLICY,
                                                 V, gamma)))
    expected = _value_of(_stochastic_mdp(), _STOCHASTIC_POLICY, gamma)
    assert residual < 1e-10, (
        f"your V = {np.round(V, 4)} does not satisfy V = r_pi + gamma P_pi V (off by "
        f"{residual:.2g}; V_pi is {np.round(expected, 4)}): weight each outcome by "
        "pi(a|s) * prob, put P_pi[s, s'] in ROW s (the state you leave), and solve "
        "(I - gamma P_pi) V = r_pi")


@exercise("exact_policy_evaluation", points=3)
def test_is_exact_not_an_iteration_stopped_at_a_tolerance(student):
    """at gamma = 0.999 the answer is exact, where sweeps stopped at 1e-8 are off by 1e-5"""
    # Sweeps that stop once a sweep changes V by less than theta are within
    # theta * gamma / (1 - gamma) of V_pi: about 1e-5 here. A solve is exact.
    gamma = 0.999
    V = _vector(student.exact_policy_evaluation(_stochastic_mdp(), _STOCHASTIC_POLICY,
                                                gamma), 3, "exact_policy_evaluation")
    residual = np.max(np.abs(V - _bellman_backup(_stochastic_mdp(), _STOCHASTIC_POLICY,
                                                 V, gamma)))
    hint = ("solve the linear system with np.linalg.solve instead of sweeping to a "
            "tolerance" if residual < 1e-4 else
            "this is more than a tolerance: check how P_pi and r_pi are built")
    assert residual < 1e-9, (
        f"at gamma = 0.999 your V misses the Bellman equation by {residual:.2g}: {hint}")


@exercise("exact_policy_evaluation", points=3)
def test_frozen_lake_at_gamma_one_gives_the_success_probability(student):
    """with gamma = 1 on FrozenLake (repeated next states in P) it solves for P(goal)"""
    # The uniform random policy ends every episode in a hole or at the goal, so at
    # gamma = 1 its value is the probability of ever reaching the goal. Only the
    # (1 - terminated) mask keeps I - P_pi invertible: without it the rows of the holes
    # and the goal are those of a state that loops forever. FrozenLake lists two slips
    # that land on the same tile as two tuples: both count.
    policy = np.full((16, 4), 0.25)
    V = _vector(student.exact_policy_evaluation(_frozen_lake_P(), policy, 1.0), 16,
                "exact_policy_evaluation")
    residual = np.max(np.abs(V - _bellman_backup(_frozen_lake_P(), policy, V, 1.0)))
    assert np.all(np.isfinite(V)) and residual < 1e-10, (
        f"on FrozenLake-v1 at gamma = 1 with the uniform policy, V[start] = {V[0]:.4f} "
        f"misses the Bellman equation by {residual:.2g}: add every tuple of P[s][a] "
        "(the same next state can appear twice: P_pi[s, s'] += ...), and leave "
        "terminated transitions out of P_pi")
    assert 0.0 <= V[0] <= 1.0, f"a probability of success lies in [0, 1], got {V[0]}"


@exercise("exact_policy_evaluation", points=3)
def test_returns_floats_and_leaves_its_inputs_alone(student):
    """returns a float array [n_states] and does not modify P or the policy"""
    # 2 states, 3 actions, so that [n_states] cannot be confused with [n_actions].
    # V(0) = (0 + 1 + 2) / 3 = 1, as state 1's only move ends the episode with 0.
    P = {0: {a: [(1.0, 1, float(a), False)] for a in range(3)},
         1: {a: [(1.0, 1, 0.0, True)] for a in range(3)}}
    policy = np.full((2, 3), 1 / 3)
    P_before, policy_before = copy.deepcopy(P), policy.copy()
    V = student.exact_policy_evaluation(P, policy, 0.9)
    assert isinstance(V, np.ndarray), (
        f"exact_policy_evaluation should return a numpy array, got {type(V).__name__}")
    assert V.shape == (2,), f"V should have shape (n_states,) = (2,), got {V.shape}"
    assert np.issubdtype(V.dtype, np.floating), f"V should hold floats, got {V.dtype}"
    assert np.allclose(V, [1.0, 0.0], atol=1e-9), f"V should be [1, 0], got {V}"
    assert P == P_before, "exact_policy_evaluation changed the model P: only read it"
    assert np.array_equal(policy, policy_before), (
        "exact_policy_evaluation changed the policy array it was given: only read it")


# --------------------------------------------------------------------------- #
# Exercise 2.2: advantages(Q, V)
# --------------------------------------------------------------------------- #
def _advantages(student, Q, V):
    Q, V = np.asarray(Q, dtype=float), np.asarray(V, dtype=float)
    Q_before, V_before = Q.copy(), V.copy()
    A = student.advantages(Q, V)
    assert np.array_equal(Q, Q_before) and np.array_equal(V, V_before), (
        "advantages changed the Q or V it was given: return a new array "
        "(Q - ..., not Q -= ...)")
    A = np.asarray(A)
    assert A.shape == Q.shape, (
        f"advantages should return one number per state and action, shape {Q.shape}, "
        f"got shape {A.shape}")
    return A.astype(float)


@exercise("advantages", points=2)
def test_subtracts_each_state_value_from_its_own_row(student):
    """A[s, a] = Q[s, a] - V[s], on a square Q where the wrong axis still broadcasts"""
    # 2 states x 2 actions: Q - V (without V[:, None]) broadcasts too, subtracting
    # V[a] from column a, and gives [[-0.5, -2], [1.5, 1]] instead.
    A = _advantages(student, [[1.0, 2.0], [3.0, 5.0]], [1.5, 4.0])
    expected = np.array([[-0.5, 0.5], [-1.0, 1.0]])
    assert np.allclose(A, expected, atol=1e-12), (
        f"A should be {expected.tolist()}, got {A.tolist()}: A[s, a] = Q[s, a] - V[s], "
        "so row s loses V[s] (a bare Q - V subtracts V[a] from column a)")


@exercise("advantages", points=2)
def test_works_on_more_states_than_actions(student):
    """3 states, 2 actions: the result has shape [n_states, n_actions]"""
    Q = np.array([[0.0, 1.0], [2.0, -2.0], [4.0, 4.0]])
    A = _advantages(student, Q, np.array([0.5, 2.0, 4.0]))
    expected = np.array([[-0.5, 0.5], [0.0, -4.0], [0.0, 0.0]])
    assert np.allclose(A, expected, atol=1e-12), (
        f"A should be {expected.tolist()}, got {A.tolist()}: A = Q - V(s) per row; "
        "the sign is Q minus V (positive = better than the policy's average)")


@exercise("advantages", points=2)
def test_optimal_advantages_have_maximum_zero_in_every_state(student):
    """with V* and Q* of the 2 x 3 grid world, max_a A* = 0 and A* <= 0 everywhere"""
    P, gamma = GridWorldEnv().P, 0.9
    V_star = _optimal_values(P, gamma)
    Q_star = _lookahead(P, V_star, gamma)
    A = _advantages(student, Q_star, V_star)
    assert np.allclose(A.max(axis=1), 0.0, atol=1e-9) and np.all(A <= 1e-9), (
        f"with optimal values every state's best action has advantage 0 and the others "
        f"less, but max_a A per state is {np.round(A.max(axis=1), 3)}")
    # From the start, RIGHT onto the red square: -10 + 0.9 * 10 - 7.29 = -8.29.
    assert abs(A[0, 2] + 8.29) < 1e-6, (
        f"stepping right onto the red square from the start should be 8.29 worse than "
        f"the best action, A*[0, right] = -8.29, got {A[0, 2]:.4f}")


@exercise("advantages", points=2)
def test_advantages_average_to_zero_under_their_own_policy(student):
    """for V_pi and Q_pi of a stochastic policy, sum_a pi(a|s) A(s, a) = 0"""
    # Subtracting max_a Q or mean_a Q instead of V gives the same numbers for an
    # optimal or a uniform policy; this policy is neither.
    gamma = 0.9
    V_pi = _value_of(_stochastic_mdp(), _STOCHASTIC_POLICY, gamma)
    Q_pi = _lookahead(_stochastic_mdp(), V_pi, gamma)
    A = _advantages(student, Q_pi, V_pi)
    mean_advantage = np.sum(_STOCHASTIC_POLICY * A, axis=1)
    assert np.allclose(mean_advantage, 0.0, atol=1e-9), (
        f"the advantages of a policy average to 0 under that policy, but "
        f"sum_a pi(a|s) A(s, a) = {np.round(mean_advantage, 4)}: subtract the V you are "
        "given, not max_a Q or mean_a Q")


# --------------------------------------------------------------------------- #
# Exercise 2.3: policy_iteration(P, gamma, theta=1e-8)
# --------------------------------------------------------------------------- #
class _WatchedModel(dict):
    """A model that counts how often P[s] is read and stops a run that never ends.

    Policy iteration on these tiny models, even with sweeps for evaluation, needs
    far fewer reads than ``budget``; a run past it is cycling between policies (the
    test says so at once rather than waiting for the time limit).
    """

    def __init__(self, P, budget):
        super().__init__(P)
        self.reads, self.budget = 0, budget

    def __getitem__(self, state):
        self.reads += 1
        if self.reads > self.budget:
            raise AssertionError(
                f"policy_iteration read the model more than {self.budget} times without "
                "stopping: it is probably switching back and forth between equally good "
                "actions. Change a state's action only when another action's Q-value is "
                "larger by more than theta (a tie keeps the current action), or stop "
                "once V no longer changes")
        return super().__getitem__(state)


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


def _tied_actions_mdp():
    """Actions that do exactly the same thing, written differently; and exact ties.

    States 0 and 1 are two separate little worlds. In state s, action 0 stays put with
    reward r_s, listed as one outcome (1.0, s, r_s, False); action 1 does the same,
    listed as two outcomes of probability p_s and 1 - p_s (as FrozenLake lists two
    slips that land on the same tile); action 2 ends the episode with reward 0. So
    actions 0 and 1 are both optimal, V*(s) = r_s / (1 - gamma). Rounding makes their
    computed Q-values differ in the last digit, and which one looks larger changes
    with the policy just evaluated: "argmax, then stop when the policy is unchanged"
    switches between them forever. States 2..9 end the episode with reward 0 whatever
    the action: exact ties, which random tie-breaking keeps reshuffling.
    """
    P = {}
    for s, (reward, p) in enumerate([(1.6, 0.2), (0.3, 0.1)]):
        P[s] = {0: [(1.0, s, reward, False)],
                1: [(p, s, reward, False), (1.0 - p, s, reward, False)],
                2: [(1.0, s, 0.0, True)]}
    for s in range(2, 10):
        P[s] = {a: [(1.0, s, 0.0, True)] for a in range(3)}
    return P


def _as_action_indices(policy, n_states, n_actions):
    policy = np.asarray(policy)
    assert policy.shape == (n_states, n_actions), (
        f"the policy should be a one-hot array of shape (n_states, n_actions) = "
        f"({n_states}, {n_actions}), got shape {policy.shape}: turn the action indices "
        "into rows, e.g. np.eye(n_actions)[actions]")
    assert np.all((policy == 0) | (policy == 1)) and np.all(policy.sum(axis=1) == 1), (
        "the policy should be deterministic and one-hot: a single 1 per row, 0 elsewhere")
    return policy.argmax(axis=1)


def _run(student, P, gamma, n_states, n_actions, budget=200_000):
    """Run the student's policy_iteration on a watched P; V and the action indices."""
    result = student.policy_iteration(_WatchedModel(P, budget), gamma)
    assert isinstance(result, tuple) and len(result) == 2, (
        "policy_iteration should return a tuple (V, policy)")
    V, policy = result
    return (_vector(V, n_states, "policy_iteration's V"),
            _as_action_indices(policy, n_states, n_actions))


@exercise("policy_iteration", points=5)
def test_optimal_values_on_a_chain_match_the_closed_form(student):
    """on a 5-state chain, V*(s) = 0.9**(4 - s) and the policy goes right everywhere"""
    gamma, n = 0.9, 5
    V, actions = _run(student, _chain(n), gamma, n + 1, 2)
    expected = np.array([gamma ** (n - 1 - s) for s in range(n)] + [0.0])
    assert np.allclose(V, expected, atol=1e-6), (
        f"on a 5-state chain whose right end pays 1, V*(s) = 0.9**(4 - s) = "
        f"{np.round(expected, 4)}, got {np.round(V, 4)}: evaluate the policy fully, "
        "improve it greedily, and repeat until no state's action changes")
    assert np.all(actions[:n] == 1), (
        f"going right is the only optimal action in states 0..4, got actions "
        f"{actions[:n]}")


@exercise("policy_iteration", points=5)
def test_terminal_transition_does_not_bootstrap(student):
    """a terminated transition is worth its reward, whatever state it lands in"""
    # State 0: action 0 ends the episode with reward 1 but lands in state 1, which pays 1
    # per step forever (V*(1) = 1 / (1 - 0.9) = 10); action 1 ends it with reward 2.
    # The episode is over either way, so V*(0) = 2 and action 1 is best; bootstrapping
    # on the landing state would make action 0 look worth 1 + 0.9 * 10 = 10.
    P = {0: {0: [(1.0, 1, 1.0, True)], 1: [(1.0, 2, 2.0, True)]},
         1: {0: [(1.0, 1, 1.0, False)], 1: [(1.0, 1, 1.0, False)]},
         2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]}}
    V, actions = _run(student, P, 0.9, 3, 2)
    assert np.allclose(V, [2.0, 10.0, 0.0], atol=1e-6), (
        f"V* should be [2, 10, 0], got {np.round(V, 4)}: a transition with "
        "terminated=True contributes its reward but no gamma * V(next_state)")
    assert actions[0] == 1, (
        f"in state 0 action 1 (reward 2, then the episode ends) is best, got {actions[0]}")


@exercise("policy_iteration", points=5)
def test_takes_an_improvement_however_small(student):
    """an action better by only 0.001 replaces the current one"""
    # State 0: action 0 ends the episode with reward 1, action 1 with reward 1.001.
    # Only action 1 is optimal; a tie tolerance much larger than theta keeps action 0.
    P = {0: {0: [(1.0, 1, 1.0, True)], 1: [(1.0, 1, 1.001, True)]},
         1: {0: [(1.0, 1, 0.0, True)], 1: [(1.0, 1, 0.0, True)]}}
    V, actions = _run(student, P, 0.9, 2, 2)
    assert actions[0] == 1 and abs(V[0] - 1.001) < 1e-9, (
        f"in state 0 action 1 (reward 1.001) beats action 0 (reward 1), so V*(0) = 1.001; "
        f"got action {actions[0]} and V(0) = {V[0]:.6f}: treat actions as tied only "
        "within theta (1e-8 by default), not a coarser tolerance")


@exercise("policy_iteration", points=5)
def test_beats_every_deterministic_policy_of_a_stochastic_mdp(student):
    """on a slippery 3-state MDP it returns the best of all 8 deterministic policies"""
    gamma = 0.9
    values = [_value_of(_stochastic_mdp(), np.eye(2)[list(actions)], gamma)
              for actions in itertools.product(range(2), repeat=3)]
    best = np.max(values, axis=0)  # an optimal policy is best in every state at once
    P = _stochastic_mdp()
    P_before = copy.deepcopy(P)
    V, actions = _run(student, P, gamma, 3, 2)
    achieved = _value_of(_stochastic_mdp(), np.eye(2)[actions], gamma)
    assert np.allclose(achieved, best, atol=1e-6), (
        f"the best deterministic policy is worth {np.round(best, 4)}; yours "
        f"({actions.tolist()}) is worth {np.round(achieved, 4)}: improve greedily on "
        "Q of the CURRENT policy's values and repeat until the policy is stable")
    assert np.allclose(V, achieved, atol=1e-5), (
        f"the V you return, {np.round(V, 4)}, should be the value of the policy you "
        f"return, {np.round(achieved, 4)}")
    assert P == P_before, "policy_iteration changed the model P: only read it"


@exercise("policy_iteration", points=5)
def test_stops_on_a_grid_with_many_equally_short_paths(student):
    """on a 4 x 5 grid, where RIGHT and DOWN often tie, it stops with an optimal policy"""
    # Twelve cells have two shortest paths to the goal: RIGHT and DOWN tie exactly, and
    # in the goal every action ties. Re-drawing among tied actions at every
    # improvement step changes the policy again and again.
    gamma = 0.9
    P = GridWorldEnv(layout=("S....", ".....", ".....", "....G")).P
    expected = _optimal_values(P, gamma)
    V, actions = _run(student, P, gamma, 20, 4, budget=500_000)
    achieved = _value_of(P, np.eye(4)[actions], gamma)
    assert np.allclose(V, expected, atol=1e-6) and np.allclose(achieved, expected,
                                                               atol=1e-6), (
        f"on a 4 x 5 grid V* = {np.round(expected, 3)}; got V = {np.round(V, 3)}, and "
        f"your policy is worth {np.round(achieved, 3)}")


@exercise("policy_iteration", points=5)
def test_stops_when_equally_good_actions_tie(student):
    """ties that rounding makes look different do not make it cycle"""
    # See _tied_actions_mdp: actions 0 and 1 are equally good in states 0 and 1, and a
    # plain argmax flips between them from one evaluation to the next.
    gamma = 0.9
    V, actions = _run(student, _tied_actions_mdp(), gamma, 10, 3)
    expected = np.array([1.6 / (1 - gamma), 0.3 / (1 - gamma)] + [0.0] * 8)
    assert np.allclose(V, expected, atol=1e-6), (
        f"V* should be {np.round(expected, 3)}, got {np.round(V, 3)}")
    assert actions[0] in (0, 1) and actions[1] in (0, 1), (
        f"in states 0 and 1 staying put (action 0 or 1) is optimal, got {actions[:2]}")


@exercise("policy_iteration", points=5)
def test_frozen_lake_values_are_optimal_and_achieved_by_the_policy(student):
    """on FrozenLake-v1 at gamma = 0.99: V = V*, and the policy is worth that V"""
    # Any optimal policy is accepted (several actions tie in some states): the returned
    # policy is evaluated here and compared with V*. A generous read budget: sweeps
    # at gamma = 0.99 read P about 100_000 times in all.
    gamma = 0.99
    expected = _optimal_values(_frozen_lake_P(), gamma)
    V, actions = _run(student, _frozen_lake_P(), gamma, 16, 4, budget=1_000_000)
    achieved = _value_of(_frozen_lake_P(), np.eye(4)[actions], gamma)
    assert np.allclose(V, expected, atol=1e-5), (
        f"on FrozenLake-v1 at gamma = 0.99, V*(start) = {expected[0]:.4f}; your V has "
        f"V[start] = {V[0]:.4f} (largest gap {np.max(np.abs(V - expected)):.2g})")
    assert np.allclose(achieved, expected, atol=1e-5), (
        f"following your policy on FrozenLake-v1 is worth {np.round(achieved, 3)}, "
        f"less than V* = {np.round(expected, 3)}: is the last improvement step missing?")
