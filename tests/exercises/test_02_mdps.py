"""Graded tests of chapter 02: Markov decision processes.

Every expected value is computed here, independently of the reference solution: by
hand for the tiny MDPs (derivations in the comments), by checking that a returned V
satisfies the Bellman equation (a property, whatever method produced V), by a float64
solve of the model written as arrays (``_solve``), by enumerating every deterministic
policy of a tiny MDP, and by value iteration (a method unlike policy iteration) for
optimal values.

Values are compared with a relative tolerance of 1e-5 (``TOL``): a correct answer
computed in float32 passes, every typical mistake is off by far more. A failed check
names a cause only when the answer matches it: ``_evaluation_hint`` and
``_advantages_hint`` recompute what each typical mistake would return on the test's
input and compare it with the answer; ``_Run.hint`` reads the symptom off what
policy_iteration returned and off every call it made to the learner's
exact_policy_evaluation (so a wrong exercise 2.1 is named as such).

Models are in Gymnasium's toy-text format, P[s][a] = [(prob, next_state, reward,
terminated), ...]. Each test builds its own fresh model, so a function that mutates
its input cannot spoil another test. The tests of policy_iteration that can loop
forever on a wrong answer come last, so that a loop the time limit stops (the grader
then fails the exercise's remaining tests) costs only those.
"""

import copy
import itertools

import gymnasium as gym
import numpy as np

from rlbook_utils.envs import GridWorldEnv
from rlbook_utils import exercises as _harness
from rlbook_utils.grading.environments import READ_BUDGET_MESSAGE, CountedModel
from rlbook_utils.exercises import exercise

TOL = 1e-5
"""Relative tolerance on values: float32 rounding (about 1e-7) passes."""


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


def _model_arrays(P, mask_terminal=True):
    """The model as arrays: T [S, A, S] continuing probabilities, R [S, A] expected reward.

    A terminating transition contributes to R but not to T, which is how "does not
    bootstrap" reads in matrix form (``mask_terminal=False`` builds the usual mistake).
    """
    n_states, n_actions = len(P), len(P[0])
    T = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                R[s, a] += prob * reward
                if not (terminated and mask_terminal):
                    T[s, a, next_state] += prob
    return T, R


def _lookahead(P, V, gamma, mask_terminal=True):
    """Q[s, a] = sum over outcomes of prob * (reward + gamma * V[s'] unless terminated)."""
    T, R = _model_arrays(P, mask_terminal)
    return R + gamma * T @ V


def _solve(P, policy, gamma):
    """V_pi by one float64 solve of (I - gamma P_pi) V = r_pi, from the model arrays."""
    T, R = _model_arrays(P)
    policy = np.asarray(policy, dtype=float)
    P_pi = np.einsum("sa,sat->st", policy, T)
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi, np.sum(policy * R, axis=1))


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


def _gap(got, expected):
    """Largest difference, relative to the size of the expected values."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    return float(np.max(np.abs(got - expected))) / scale


def _close(got, expected, tolerance=TOL):
    return _gap(got, expected) <= tolerance


def _show(values):
    """Values with enough digits to see a difference of 1e-6 (and no "-0.")."""
    values = np.asarray(values, dtype=float) + 0.0
    return np.array2string(values, precision=7, suppress_small=False,
                           floatmode="maxprec", max_line_width=1000)


def _frozen_lake_P():
    return gym.make("FrozenLake-v1").unwrapped.P


def _stochastic_mdp(reward_scale=1.0):
    """3 states, 2 actions, slippery moves, two ways to end the episode."""
    P = {
        0: {0: [(0.7, 1, 1.0, False), (0.3, 0, 0.0, False)],
            1: [(0.5, 2, -1.0, False), (0.25, 1, 2.0, False), (0.25, 0, 0.5, True)]},
        1: {0: [(0.6, 2, 0.0, False), (0.4, 1, 1.0, False)],
            1: [(0.9, 0, 3.0, False), (0.1, 2, -2.0, True)]},
        2: {0: [(1.0, 2, -0.5, False)],
            1: [(0.2, 2, 0.0, False), (0.3, 0, 1.0, False), (0.5, 1, 4.0, True)]},
    }
    return {s: {a: [(p, s2, r * reward_scale, t) for p, s2, r, t in outcomes]
                for a, outcomes in actions.items()} for s, actions in P.items()}


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
def _typical_evaluations(P, policy, gamma):
    """What each typical wrong answer returns on this input: {hint: V}."""
    policy = np.asarray(policy, dtype=float)
    n_states, n_actions = policy.shape
    one_hot = np.eye(n_actions)[policy.argmax(axis=1)]

    def system(pi, mask=True, terminal_reward=True, accumulate=True, weigh_reward=True,
               whole_numbers=False):
        P_pi, r_pi = np.zeros((n_states, n_states)), np.zeros(n_states)
        for s in range(n_states):
            for a in range(n_actions):
                for prob, next_state, reward, terminated in P[s][a]:
                    if terminated and not terminal_reward:
                        continue
                    r_pi[s] += (pi[s, a] if weigh_reward else 1.0) * prob * reward
                    if terminated and mask:
                        continue
                    weight = pi[s, a] * prob
                    if whole_numbers:  # P_pi of integer dtype: every += truncates
                        P_pi[s, next_state] = np.trunc(P_pi[s, next_state] + weight)
                    elif accumulate:
                        P_pi[s, next_state] += weight
                    else:
                        P_pi[s, next_state] = weight
        return P_pi, r_pi

    def solve(P_pi, r_pi, discount=gamma):
        return np.linalg.solve(np.eye(n_states) - discount * P_pi, r_pi)

    def sweeps(theta=1e-8):
        P_pi, r_pi = system(policy)
        V = np.zeros(n_states)
        for _ in range(100_000):
            V_new = r_pi + gamma * P_pi @ V
            if np.max(np.abs(V_new - V)) < theta:
                return V_new
            V = V_new
        return V

    candidates = {
        "this is the value when terminated transitions bootstrap: a terminated "
        "transition adds prob * reward to r_pi but nothing to P_pi":
            lambda: solve(*system(policy, mask=False)),
        "this is the value without the rewards of terminated transitions: their "
        "reward still goes into r_pi (only P_pi leaves them out)":
            lambda: solve(*system(policy, terminal_reward=False)),
        "this is what P_pi[s, s'] = ... gives when one next state is listed in two "
        "tuples: add them, P_pi[s, s'] += pi(a|s) * prob":
            lambda: solve(*system(policy, accumulate=False)),
        "this is the solution with P_pi transposed: row s of P_pi holds where you go "
        "FROM s, P_pi[s, s']":
            lambda: (lambda P_pi, r_pi: solve(P_pi.T, r_pi))(*system(policy)),
        "this is what r_pi gives without the factor pi(a|s): weigh each reward by "
        "pi(a|s) * prob":
            lambda: solve(*system(policy, weigh_reward=False)),
        "this is the value of each state's most likely action alone: average over "
        "every action, weighted by pi(a|s)":
            lambda: solve(*system(one_hot)),
        "this is the solution of (I - P_pi) V = r_pi: gamma is missing":
            lambda: solve(*system(policy), discount=1.0),
        "this is what a P_pi of integer dtype gives (each += truncates to a whole "
        "number): make P_pi a float array":
            lambda: solve(*system(policy, whole_numbers=True)),
        "this is what sweeps stopped at theta = 1e-8 give: solve the linear system "
        "(I - gamma P_pi) V = r_pi instead of sweeping to a tolerance":
            sweeps,
    }
    truth = _solve(P, policy, gamma)
    typical = {}
    for hint, compute in candidates.items():
        try:
            V = compute()
        except np.linalg.LinAlgError:
            continue
        if np.all(np.isfinite(V)) and _gap(V, truth) > 10 * TOL:
            typical[hint] = V
    return typical


_EVALUATION_RULE = (
    "r_pi[s] = sum_a pi(a|s) sum prob * reward over all tuples of P[s][a]; "
    "P_pi[s, s'] = sum_a pi(a|s) sum prob over the tuples that do not terminate (ROW s "
    "is the state you leave); then solve (I - gamma P_pi) V = r_pi")


def _evaluation_hint(P, policy, gamma, V):
    """Name the typical mistake(s) V matches on this input, else give the rule."""
    matches = [hint for hint, wrong in _typical_evaluations(P, policy, gamma).items()
               if _close(V, wrong)]
    if len(matches) > 1:
        return "on this input that is what more than one mistake gives: " + "; or ".join(
            hint.removeprefix("this is ") for hint in matches)
    return matches[0] if matches else _EVALUATION_RULE


def _evaluate(student, P, policy, gamma, n_states):
    """The learner's V as floats; a singular system gets a hint, not a traceback."""
    try:
        V = student.exact_policy_evaluation(P, policy, gamma)
    except np.linalg.LinAlgError as error:
        if gamma == 1.0:
            raise AssertionError(
                f"at gamma = 1 the linear solve failed ({error}): I - P_pi is singular "
                "when a terminated transition is left in P_pi (a hole or the goal then "
                "loops onto itself forever); terminated transitions must stay out of "
                "P_pi, they only add their reward to r_pi") from None
        raise AssertionError(
            f"the linear solve failed ({error}) at gamma = {gamma}: each row of P_pi "
            "should hold probabilities pi(a|s) * prob summing to at most 1, so that "
            "I - gamma P_pi is invertible") from None
    return _vector(V, n_states, "exact_policy_evaluation")


@exercise("exact_policy_evaluation", points=3)
def test_terminal_transition_contributes_its_reward_only(student):
    """a terminated transition adds its reward to r_pi and nothing to P_pi"""
    # State 0 pays 1 and ends the episode, landing in state 1. State 1 (never reached
    # from state 0) pays 1 per step forever, V(1) = 1 / (1 - 0.9) = 10. Because the
    # move out of state 0 ends the episode, V(0) = 1, not 1 + 0.9 * 10 = 10; and a
    # solution that drops the terminated tuple altogether gets V(0) = 0.
    P = {0: {0: [(1.0, 1, 1.0, True)]},
         1: {0: [(1.0, 1, 1.0, False)]}}
    policy = np.array([[1.0], [1.0]])
    V = _evaluate(student, P, policy, 0.9, 2)
    if abs(V[0] - 10.0) < 1e-3:
        cause = "10 is 1 + 0.9 * V(1): the terminated transition was bootstrapped"
    elif abs(V[0]) < 1e-3:
        cause = "0 means the terminated tuple's reward was dropped along with its future"
    else:
        cause = _evaluation_hint(P, policy, 0.9, V)
    assert abs(V[0] - 1.0) <= TOL, (
        f"V(0) should be 1 (its only move pays 1 and ENDS the episode), got "
        f"{V[0] + 0.0:.7g} (off by {abs(V[0] - 1.0):.2g}): a terminated transition puts "
        f"prob * reward into r_pi but nothing into P_pi; {cause}")
    assert abs(V[1] - 10.0) <= 10 * TOL, (
        f"V(1) should be 1 / (1 - 0.9) = 10 (it pays 1 per step forever), got "
        f"{V[1] + 0.0:.7g} (off by {abs(V[1] - 10.0):.2g}): "
        f"{_evaluation_hint(P, policy, 0.9, V)}")


@exercise("exact_policy_evaluation", points=3)
def test_solves_the_bellman_equation_with_a_stochastic_policy(student):
    """V = r_pi + gamma P_pi V holds for a stochastic policy and model"""
    gamma = 0.95
    V = _evaluate(student, _stochastic_mdp(), _STOCHASTIC_POLICY.copy(), gamma, 3)
    backup = _bellman_backup(_stochastic_mdp(), _STOCHASTIC_POLICY, V, gamma)
    residual = np.max(np.abs(V - backup))
    expected = _value_of(_stochastic_mdp(), _STOCHASTIC_POLICY, gamma)
    assert residual <= TOL * np.max(np.abs(expected)), (
        f"V = {_show(V)} does not satisfy V = r_pi + gamma P_pi V (off by "
        f"{residual:.2g}; V_pi is {_show(expected)}): "
        f"{_evaluation_hint(_stochastic_mdp(), _STOCHASTIC_POLICY, gamma, V)}")


@exercise("exact_policy_evaluation", points=3)
def test_is_exact_at_any_reward_scale(student):
    """with rewards in millionths at gamma = 0.999 it is exact, where sweeps stopped at 1e-8 are off by 0.5%"""
    # A solve is exact whatever the unit of reward: V is a millionth of V at scale 1.
    # Sweeps stop once a sweep changes V by less than theta = 1e-8, an absolute
    # threshold; with rewards of about 1e-6 that is a large part of V itself, and the
    # sweeps stop about 0.5% short. float32 rounding is about 1e-7 of V.
    gamma = 0.999
    P = _stochastic_mdp(reward_scale=1e-6)
    V = _evaluate(student, P, _STOCHASTIC_POLICY.copy(), gamma, 3)
    expected = _solve(P, _STOCHASTIC_POLICY, gamma)
    assert _close(V, expected), (
        f"with rewards in millionths V_pi = {_show(expected)}, got {_show(V)} (off by "
        f"{_gap(V, expected):.2g} of V): "
        f"{_evaluation_hint(P, _STOCHASTIC_POLICY, gamma, V)}")


@exercise("exact_policy_evaluation", points=3)
def test_frozen_lake_at_gamma_one_gives_the_success_probability(student):
    """with gamma = 1 on FrozenLake (repeated next states in P) it solves for P(goal)"""
    # The uniform random policy ends every episode in a hole or at the goal, so at
    # gamma = 1 its value is the probability of ever reaching the goal. Only the
    # (1 - terminated) mask keeps I - P_pi invertible: without it the rows of the holes
    # and the goal are those of a state that loops forever. FrozenLake lists two slips
    # that land on the same tile as two tuples: both count.
    policy = np.full((16, 4), 0.25)
    V = _evaluate(student, _frozen_lake_P(), policy, 1.0, 16)
    residual = np.max(np.abs(V - _bellman_backup(_frozen_lake_P(), policy, V, 1.0)))
    assert np.all(np.isfinite(V)) and residual <= TOL, (
        f"on FrozenLake-v1 at gamma = 1 with the uniform policy, V[start] = {V[0] + 0.0:.7g} "
        f"misses the Bellman equation by {residual:.2g}: "
        f"{_evaluation_hint(_frozen_lake_P(), policy, 1.0, V)}")
    assert 0.0 <= V[0] <= 1.0 + TOL, (
        f"a probability of success lies in [0, 1], got {V[0] + 0.0:.7g}")


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
    assert abs(V[0] - 1.0) <= TOL and abs(V[1]) <= TOL, (
        f"V should be [1, 0], got {_show(V)}: "
        f"{_evaluation_hint(P_before, policy_before, 0.9, V)}")
    assert P == P_before, "exact_policy_evaluation changed the model P: only read it"
    assert np.array_equal(policy, policy_before), (
        "exact_policy_evaluation changed the policy array it was given: only read it")


@exercise("exact_policy_evaluation", points=3)
def test_evaluates_the_docstring_example_given_as_lists_and_integers(student):
    """the docstring's example, with the policy as a Python list, and with integers"""
    # The example of the docstring, exactly: V = [1, 10] (see the first test). Then the
    # same model written with integers (prob 1, reward 1, policy [[1], [1]]): the
    # values are still floats.
    examples = [
        ({0: {0: [(1.0, 1, 1.0, True)]}, 1: {0: [(1.0, 1, 1.0, False)]}},
         [[1.0], [1.0]], "the docstring's example (policy = [[1.0], [1.0]], a list)"),
        ({0: {0: [(1, 1, 1, True)]}, 1: {0: [(1, 1, 1, False)]}},
         [[1], [1]], "the same example written with integers (policy = [[1], [1]])"),
    ]
    for P, policy, name in examples:
        try:
            V = student.exact_policy_evaluation(P, policy, 0.9)
        except (TypeError, IndexError, AttributeError) as error:
            raise AssertionError(
                f"on {name} the call raised {type(error).__name__}: {error}. The policy "
                "may be a list of lists, as in the docstring: convert it first, e.g. "
                "policy = np.asarray(policy, dtype=float)") from None
        V_array = np.asarray(V)
        assert V_array.shape == (2,) and np.issubdtype(V_array.dtype, np.floating), (
            f"on {name} V should be a float array of shape (2,), got dtype "
            f"{V_array.dtype} and shape {V_array.shape}: build P_pi and r_pi as float "
            "arrays (np.zeros is float) whatever the input's types")
        assert _close(V_array, [1.0, 10.0]), (
            f"on {name} V should be [1, 10], got {_show(V_array)}")


# --------------------------------------------------------------------------- #
# Exercise 2.2: advantages(Q, V)
# --------------------------------------------------------------------------- #
def _advantages_hint(Q, V, A):
    """Name the typical mistake A matches on this input, else give the rule."""
    Q, V = np.asarray(Q, dtype=float), np.asarray(V, dtype=float)
    expected = Q - V[:, None]
    candidates = {
        "the sign is reversed: A = Q - V (positive = better than V)": V[:, None] - Q,
        "you subtracted max_a Q from each row: subtract the V you are given":
            Q - Q.max(axis=1, keepdims=True),
        "you subtracted mean_a Q from each row: subtract the V you are given":
            Q - Q.mean(axis=1, keepdims=True),
    }
    if Q.shape[0] == Q.shape[1]:
        candidates["a bare Q - V subtracts V[a] from column a: subtract V[:, None], "
                   "one value per ROW"] = Q - V[None, :]
    scale = max(1.0, float(np.max(np.abs(Q))))
    for hint, wrong in candidates.items():
        differs = np.max(np.abs(wrong - expected)) > 10 * TOL * scale
        if differs and np.max(np.abs(A - wrong)) <= TOL * scale:
            return hint
    return "A[s, a] = Q[s, a] - V[s]: row s of Q loses its own V[s] (V[:, None])"


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


def _matches(A, expected, Q):
    scale = max(1.0, float(np.max(np.abs(Q))))
    return np.max(np.abs(A - np.asarray(expected, dtype=float))) <= TOL * scale


@exercise("advantages", points=2)
def test_subtracts_each_state_value_from_its_own_row(student):
    """A[s, a] = Q[s, a] - V[s], on a square Q where the wrong axis still broadcasts"""
    # 2 states x 2 actions: Q - V (without V[:, None]) broadcasts too, subtracting
    # V[a] from column a, and gives [[-0.5, -2], [1.5, 1]] instead.
    Q, V = [[1.0, 2.0], [3.0, 5.0]], [1.5, 4.0]
    A = _advantages(student, Q, V)
    expected = np.array([[-0.5, 0.5], [-1.0, 1.0]])
    assert _matches(A, expected, Q), (
        f"A should be {expected.tolist()}, got {_show(A).replace(chr(10), '')}: "
        f"{_advantages_hint(Q, V, A)}")


@exercise("advantages", points=2)
def test_works_on_more_states_than_actions(student):
    """3 states, 2 actions: the result has shape [n_states, n_actions]"""
    Q, V = np.array([[0.0, 1.0], [2.0, -2.0], [4.0, 4.0]]), np.array([0.5, 2.0, 4.0])
    A = _advantages(student, Q, V)
    expected = np.array([[-0.5, 0.5], [0.0, -4.0], [0.0, 0.0]])
    assert _matches(A, expected, Q), (
        f"A should be {expected.tolist()}, got {_show(A).replace(chr(10), '')}: "
        f"{_advantages_hint(Q, V, A)}")


@exercise("advantages", points=2)
def test_optimal_advantages_have_maximum_zero_in_every_state(student):
    """with V* and Q* of the 2 x 3 grid world, max_a A* = 0 and A* <= 0 everywhere"""
    P, gamma = GridWorldEnv().P, 0.9
    V_star = _optimal_values(P, gamma)
    Q_star = _lookahead(P, V_star, gamma)
    A = _advantages(student, Q_star, V_star)
    tolerance = TOL * max(1.0, float(np.max(np.abs(Q_star))))
    assert np.all(np.abs(A.max(axis=1)) <= tolerance) and np.all(A <= tolerance), (
        f"with optimal values every state's best action has advantage 0 and the others "
        f"less, but max_a A per state is {_show(A.max(axis=1))}: "
        f"{_advantages_hint(Q_star, V_star, A)}")
    # From the start, RIGHT onto the red square: -10 + 0.9 * 10 - 7.29 = -8.29.
    assert abs(A[0, 2] + 8.29) <= tolerance, (
        f"stepping right onto the red square from the start should be 8.29 worse than "
        f"the best action, A*[0, right] = -8.29, got {A[0, 2] + 0.0:.7g}: "
        f"{_advantages_hint(Q_star, V_star, A)}")


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
    tolerance = TOL * max(1.0, float(np.max(np.abs(Q_pi))))
    assert np.all(np.abs(mean_advantage) <= tolerance), (
        f"the advantages of a policy average to 0 under that policy, but "
        f"sum_a pi(a|s) A(s, a) = {np.array2string(mean_advantage, precision=3)}: "
        f"{_advantages_hint(Q_pi, V_pi, A)}")
    # Zeros average to zero too: the advantages must also be the policy's own.
    expected = Q_pi - V_pi[:, None]
    assert np.allclose(A, expected, atol=tolerance), (
        f"for this policy A = Q_pi - V_pi = {np.array2string(expected, precision=3)}, got "
        f"{np.array2string(A, precision=3)}: {_advantages_hint(Q_pi, V_pi, A)}")


@exercise("advantages", points=2)
def test_accepts_lists_and_returns_floats_for_integers(student):
    """the docstring's example with Python lists, and integer inputs give floats"""
    examples = [
        ([[1, 2], [3, 5]], [1.5, 4], [[-0.5, 0.5], [-1.0, 1.0]],
         "the docstring's example advantages([[1, 2], [3, 5]], [1.5, 4])"),
        ([[1, 2], [3, 5]], [1, 4], [[0.0, 1.0], [-1.0, 1.0]],
         "advantages([[1, 2], [3, 5]], [1, 4]), all integers"),
    ]
    for Q, V, expected, name in examples:
        try:
            A = student.advantages(Q, V)
        except (TypeError, IndexError, AttributeError) as error:
            raise AssertionError(
                f"{name} raised {type(error).__name__}: {error}. Q and V may be Python "
                "lists, as in the docstring: convert them first with "
                "np.asarray(..., dtype=float)") from None
        A = np.asarray(A)
        assert A.shape == (2, 2) and np.issubdtype(A.dtype, np.floating), (
            f"{name} should return a float array of shape (2, 2), got dtype {A.dtype} "
            f"and shape {A.shape}: convert with np.asarray(Q, dtype=float) (integer "
            "inputs otherwise give an integer array)")
        assert _matches(A, expected, Q), (
            f"{name} should be {expected}, got {_show(A).replace(chr(10), '')}: "
            f"{_advantages_hint(Q, V, A)}")


# --------------------------------------------------------------------------- #
# Exercise 2.3: policy_iteration(P, gamma, theta=1e-8)
# --------------------------------------------------------------------------- #
_LOOP_ADVICE = (
    "it is probably switching back and forth between equally good actions. Either "
    "change a state's action only when another action's Q-value is larger by more than "
    "theta (a tie keeps the current action) and stop when no action changes, or stop "
    "once V changes by no more than theta; both are accepted")


def _evaluations(calls, keep=20):
    """(P, policy, gamma, V) of the recorded exact_policy_evaluation calls that can be
    read as numbers (an unusual signature or result is skipped, not judged)."""
    evaluations = []
    for args, kwargs, result in calls[:keep]:
        values = list(args) + [kwargs.get(name) for name in ("P", "policy", "gamma")
                               [len(args):]]
        try:
            P, policy, gamma = values[:3]
            evaluations.append((P, np.array(policy, dtype=float), float(gamma),
                                np.array(result, dtype=float)))
        except Exception:  # noqa: BLE001 - not numbers: nothing to judge
            continue
    return evaluations


def _evaluation_problem(P, evaluations):
    """'' if every recorded exact_policy_evaluation of the model ``P`` was right, else
    what was wrong; calls on any other model (the learner's own) are not judged."""
    for given, policy, gamma, V in evaluations:
        if given != P:
            continue
        if policy.shape != (len(P), len(P[0])) or V.shape != (len(P),):
            continue
        try:
            truth = _solve(P, policy, gamma)
        except np.linalg.LinAlgError:
            continue
        gap = _gap(V, truth)
        if gap <= 1e-9:
            continue
        actions = policy.argmax(axis=1).tolist()
        text = (f"check exact_policy_evaluation first: for the policy with actions "
                f"{actions} it returned V = {_show(V)}, but V_pi = {_show(truth)}")
        if gap < 1e-4:
            text += (f" (off by {gap:.2g} of V: float32-size rounding is larger than "
                     "theta = 1e-8, so equally good actions look different; evaluate in "
                     "float64)")
        else:
            text += f" ({_evaluation_hint(P, policy, gamma, V)})"
        return text + ". "
    return ""


class _Run:
    """One run of the learner's policy_iteration on a watched copy of P."""

    def __init__(self, student, P, gamma, n_states, n_actions, budget=200_000):
        self.P, self.gamma, self.n_actions = P, gamma, n_actions
        # The model is built on the notebook's side (student.make): the learner reads
        # it thousands of times, and it stops a run past the read budget at once.
        model = student.make(CountedModel, P, budget, advice=_LOOP_ADVICE)
        self.recording = student.record_calls("exact_policy_evaluation", "value_iteration")
        try:
            with self.recording:
                result = student.policy_iteration(model, gamma)
        except _harness.TestTimeout as error:  # the time limit stopped an endless loop
            raise _harness.TestTimeout(self.evaluation_problem() + str(error)) from None
        except Exception as error:  # noqa: BLE001 - the read budget ran out?
            if READ_BUDGET_MESSAGE not in str(error):
                raise
            message = str(error)[str(error).index(READ_BUDGET_MESSAGE):]
            raise AssertionError(self.evaluation_problem() + message) from None
        assert isinstance(result, tuple) and len(result) == 2, (
            "policy_iteration should return a tuple (V, policy)")
        V, policy = result
        self.V = _vector(V, n_states, "policy_iteration's V")
        self.actions = _as_action_indices(policy, n_states, n_actions)
        self.achieved = _solve(P, np.eye(n_actions)[self.actions], gamma)

    def evaluation_problem(self):
        return _evaluation_problem(
            self.P, _evaluations(self.recording.of("exact_policy_evaluation")))

    def improvement(self):
        """(state, best action there, by how much it beats the returned policy's action)
        for Q of the returned policy's own value."""
        Q = _lookahead(self.P, self.achieved, self.gamma)
        current = Q[np.arange(len(self.P)), self.actions]
        s = int(np.argmax(Q.max(axis=1) - current))
        return s, int(Q[s].argmax()), float(Q[s].max() - current[s])

    def stopped_within_a_coarse_tolerance(self):
        """Whether V is the returned policy's value and every improvement left is small
        (at most 0.01): what a tie tolerance coarser than theta returns."""
        slack = max(1e-6 * np.max(np.abs(self.achieved)), 10 * 1e-8 / (1 - self.gamma))
        return (np.max(np.abs(self.V - self.achieved)) <= slack
                and 1e-8 < self.improvement()[2] <= 1e-2)

    def earlier_policy(self):
        """The actions of another deterministic policy whose exact value V is, and for
        which the returned policy is greedy (what comparing a policy with itself returns:
        the array changed in place is also the 'previous' one), else None."""
        Q = _lookahead(self.P, self.V, self.gamma)
        if np.any(Q[np.arange(len(self.P)), self.actions] < Q.max(axis=1) - 1e-9):
            return None
        earlier = np.abs(Q - self.V[:, None]).argmin(axis=1)
        try:
            value = _solve(self.P, np.eye(self.n_actions)[earlier], self.gamma)
        except np.linalg.LinAlgError:
            return None
        if np.all(earlier == self.actions) or _gap(self.V, value) > 1e-6:
            return None
        return earlier

    def hint(self):
        """The first symptom that explains a wrong answer, or ''."""
        problem = self.evaluation_problem()
        if problem:
            return " " + problem
        # Sweeps stopped at theta leave V within about theta / (1 - gamma) of V_pi.
        slack = max(1e-6 * np.max(np.abs(self.achieved)), 10 * 1e-8 / (1 - self.gamma))
        if np.max(np.abs(self.V - self.achieved)) > slack:
            text = (f" The V you return, {_show(self.V)}, is not the value of the policy "
                    f"you return ({_show(self.achieved)})")
            earlier = self.earlier_policy()
            if earlier is None:
                return text + "."
            text += (f": it is the value of the policy with actions {earlier.tolist()}, "
                     "which yours improves on")
            rewards = _lookahead(self.P, np.zeros(len(self.P)), self.gamma)
            if np.allclose(self.V, rewards[np.arange(len(self.P)), earlier], atol=1e-9):
                return text + (", and also its one-step expected rewards: evaluate each "
                               "policy fully, and if you compare with the previous "
                               "policy, compare with a copy (policy.copy()), not the same "
                               "array changed in place.")
            return text + (": if you compare with the previous policy, compare with a copy "
                           "(policy.copy()), not the same array changed in place.")
        s, best, better = self.improvement()
        if better > 1e-8:
            text = (f" Your policy can still be improved: in state {s}, action "
                    f"{best} beats action {self.actions[s]} by {better:.2g} "
                    "(more than theta = 1e-8)")
            Q_bootstrapped = _lookahead(self.P, self.achieved, self.gamma,
                                        mask_terminal=False)
            greedy_there = Q_bootstrapped[np.arange(len(self.P)), self.actions]
            if np.all(greedy_there >= Q_bootstrapped.max(axis=1) - 1e-9):
                return text + (": it is greedy for Q computed with gamma * V(next_state) "
                               "after terminated transitions too, but a terminated "
                               "transition contributes its reward only.")
            if self.stopped_within_a_coarse_tolerance():
                return text + (": improve on Q of the CURRENT policy's V and repeat until "
                               "no action beats the current one by more than theta (not a "
                               "coarser tolerance).")
            return text + "."
        return ""


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


def _twin_state_mdps():
    """Two models where state 0's actions lead to a state and to its exact copy.

    The last state duplicates state 1 (the same outcomes), and in state 0 action 0 moves
    to state 1, action 1 to the copy, with the same reward: the two actions are equally
    good. A linear solve gives the two twins values that differ in the last digit, and
    which twin looks better changes with the policy: "switch whenever Q is larger",
    without theta, and a plain argmax switch between them forever, while the theta rule
    stops after a few evaluations. (Found by a search over small random models: on both,
    the strict rule and the plain argmax loop forever whether V and Q come from loops,
    arrays, np.linalg.inv or einsum.)
    """
    first = {0: {0: [(1.0, 1, 0.1, False)], 1: [(1.0, 3, 0.1, False)]},
             1: {0: [(0.6, 1, 0.0, False), (0.4, 2, -0.4, False)],
                 1: [(1.0, 2, -1.0, False)]},
             2: {0: [(1.0, 1, -0.5, False)],
                 1: [(0.6, 1, 0.1, False), (0.4, 0, -0.8, False)]}}
    first[3] = copy.deepcopy(first[1])
    second = {0: {0: [(1.0, 1, 0.2, False)], 1: [(1.0, 4, 0.2, False)]},
              1: {0: [(0.5, 2, 0.9, False), (0.5, 0, 0.4, False)],
                  1: [(1.0, 0, 0.2, False)]},
              2: {0: [(1.0, 1, 1.2, False)],
                  1: [(0.3, 3, 0.6, False), (0.7, 0, 0.7, False)]},
              3: {0: [(0.1, 1, -1.0, False), (0.9, 3, -0.7, False)],
                  1: [(0.3, 3, -0.9, False), (0.7, 1, 0.4, False)]}}
    second[4] = copy.deepcopy(second[1])
    return [first, second]


def _as_action_indices(policy, n_states, n_actions):
    policy = np.asarray(policy)
    assert policy.shape == (n_states, n_actions), (
        f"the policy should be a one-hot array of shape (n_states, n_actions) = "
        f"({n_states}, {n_actions}), got shape {policy.shape}: turn the action indices "
        "into rows, e.g. np.eye(n_actions)[actions]")
    assert np.all((policy == 0) | (policy == 1)) and np.all(policy.sum(axis=1) == 1), (
        "the policy should be deterministic and one-hot: a single 1 per row, 0 elsewhere")
    return policy.argmax(axis=1)


@exercise("policy_iteration", points=5)
def test_optimal_values_on_a_chain_match_the_closed_form(student):
    """on a 5-state chain, V*(s) = 0.9**(4 - s) and the policy goes right everywhere"""
    gamma, n = 0.9, 5
    run = _Run(student, _chain(n), gamma, n + 1, 2)
    expected = np.array([gamma ** (n - 1 - s) for s in range(n)] + [0.0])
    assert _close(run.V, expected, 1e-6), (
        f"on a 5-state chain whose right end pays 1, V*(s) = 0.9**(4 - s) = "
        f"{_show(expected)}, got {_show(run.V)}: evaluate the policy fully, improve it "
        f"greedily, and repeat until the policy is stable.{run.hint()}")
    assert np.all(run.actions[:n] == 1), (
        f"going right is the only optimal action in states 0..4, got actions "
        f"{run.actions[:n]}.{run.hint()}")


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
    run = _Run(student, P, 0.9, 3, 2)
    assert _close(run.V, [2.0, 10.0, 0.0], 1e-6) and run.actions[0] == 1, (
        f"V* should be [2, 10, 0] with action 1 in state 0 (reward 2, then the episode "
        f"ends), got V = {_show(run.V)} and action {run.actions[0]}.{run.hint()}")


@exercise("policy_iteration", points=5)
def test_takes_an_improvement_however_small(student):
    """actions better by 5e-5 and by 2e-7, both more than theta = 1e-8, replace the current one"""
    # In states 0 and 1, action 0 ends the episode with reward 1 and action 1 with
    # reward 1 + 5e-5 (state 0) or 1 + 2e-7 (state 1). Only action 1 is optimal: it is
    # better by more than theta = 1e-8. A tie tolerance coarser than theta (1e-4, 1e-6)
    # keeps action 0.
    P = {0: {0: [(1.0, 2, 1.0, True)], 1: [(1.0, 2, 1.00005, True)]},
         1: {0: [(1.0, 2, 1.0, True)], 1: [(1.0, 2, 1.0000002, True)]},
         2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]}}
    run = _Run(student, P, 0.9, 3, 2)
    assert run.actions[0] == 1 and run.actions[1] == 1, (
        f"in states 0 and 1 action 1 (reward 1.00005 and 1.0000002) beats action 0 "
        f"(reward 1) by more than theta = 1e-8, got actions {run.actions[:2].tolist()}"
        + (": treat actions as tied only within theta (1e-8 by default), not a coarser "
           "tolerance." if run.stopped_within_a_coarse_tolerance() else ".")
        + run.hint())
    assert _close(run.V, [1.00005, 1.0000002, 0.0], 1e-6), (
        f"V* should be [1.00005, 1.0000002, 0], got {_show(run.V)}.{run.hint()}")


@exercise("policy_iteration", points=5)
def test_beats_every_deterministic_policy_of_a_stochastic_mdp(student):
    """on a slippery 3-state MDP it returns the best of all 8 deterministic policies"""
    gamma = 0.9
    values = [_value_of(_stochastic_mdp(), np.eye(2)[list(actions)], gamma)
              for actions in itertools.product(range(2), repeat=3)]
    best = np.max(values, axis=0)  # an optimal policy is best in every state at once
    P = _stochastic_mdp()
    P_before = copy.deepcopy(P)
    run = _Run(student, P, gamma, 3, 2)
    assert np.allclose(run.achieved, best, atol=1e-6), (
        f"the best deterministic policy is worth {_show(best)}; yours "
        f"({run.actions.tolist()}) is worth {_show(run.achieved)}: improve greedily on "
        f"Q of the CURRENT policy's values and repeat until the policy is stable."
        f"{run.hint()}")
    assert np.allclose(run.V, run.achieved, atol=1e-5), (
        f"the V you return, {_show(run.V)}, should be the value of the policy you "
        f"return, {_show(run.achieved)}. {run.evaluation_problem()}")
    assert P == P_before, "policy_iteration changed the model P: only read it"


@exercise("policy_iteration", points=5)
def test_is_policy_iteration_not_value_iteration(student):
    """it evaluates and improves policies; it does not call the given value_iteration"""
    # Both methods find V*, so the answer alone cannot tell them apart: the test
    # watches which functions the run calls (it only observes them).
    gamma, n = 0.9, 5
    run = _Run(student, _chain(n), gamma, n + 1, 2)
    calls = run.recording.count("value_iteration")
    assert calls == 0, (
        f"policy_iteration called value_iteration ({calls} time(s)): this exercise asks "
        "for policy iteration, which evaluates the current policy (exact_policy_evaluation "
        "or policy_evaluation), improves it greedily on q_from_v, and repeats")
    expected = np.array([gamma ** (n - 1 - s) for s in range(n)] + [0.0])
    assert _close(run.V, expected, 1e-6) and np.all(run.actions[:n] == 1), (
        f"on a 5-state chain V* = {_show(expected)} with RIGHT everywhere, got V = "
        f"{_show(run.V)} and actions {run.actions.tolist()}.{run.hint()}")


@exercise("policy_iteration", points=5)
def test_frozen_lake_values_are_optimal_and_achieved_by_the_policy(student):
    """on FrozenLake-v1 at gamma = 0.99: V = V*, and the policy is worth that V"""
    # Any optimal policy is accepted (several actions tie in some states): the returned
    # policy is evaluated here and compared with V*. A generous read budget: sweeps
    # at gamma = 0.99 read P about 100_000 times in all.
    gamma = 0.99
    expected = _optimal_values(_frozen_lake_P(), gamma)
    run = _Run(student, _frozen_lake_P(), gamma, 16, 4, budget=1_000_000)
    assert np.allclose(run.V, expected, atol=1e-5), (
        f"on FrozenLake-v1 at gamma = 0.99, V*(start) = {expected[0]:.6f}; your V has "
        f"V[start] = {run.V[0] + 0.0:.6f} (largest gap {np.max(np.abs(run.V - expected)):.2g})."
        f"{run.hint()}")
    assert np.allclose(run.achieved, expected, atol=1e-5), (
        f"following your policy on FrozenLake-v1 is worth {_show(run.achieved)}, less "
        f"than V* = {_show(expected)}.{run.hint()}")


# The tests below can loop forever on a wrong answer: they come last (see the top).
@exercise("policy_iteration", points=5)
def test_stops_when_equally_good_actions_tie(student):
    """ties that rounding makes look different do not make it cycle"""
    # See _tied_actions_mdp: actions 0 and 1 are equally good in states 0 and 1, and a
    # plain argmax flips between them from one evaluation to the next.
    gamma = 0.9
    run = _Run(student, _tied_actions_mdp(), gamma, 10, 3)
    expected = np.array([1.6 / (1 - gamma), 0.3 / (1 - gamma)] + [0.0] * 8)
    assert _close(run.V, expected, 1e-6), (
        f"V* should be {_show(expected)}, got {_show(run.V)}.{run.hint()}")
    assert run.actions[0] in (0, 1) and run.actions[1] in (0, 1), (
        f"in states 0 and 1 staying put (action 0 or 1) is optimal, got "
        f"{run.actions[:2].tolist()}.{run.hint()}")


@exercise("policy_iteration", points=5)
def test_stops_on_a_grid_with_many_equally_short_paths(student):
    """on a 4 x 5 grid, where RIGHT and DOWN often tie, it stops with an optimal policy"""
    # Twelve cells have two shortest paths to the goal: RIGHT and DOWN tie exactly, and
    # in the goal every action ties. Re-drawing among tied actions at every
    # improvement step changes the policy again and again.
    gamma = 0.9
    P = GridWorldEnv(layout=("S....", ".....", ".....", "....G")).P
    expected = _optimal_values(P, gamma)
    run = _Run(student, P, gamma, 20, 4, budget=500_000)
    assert _close(run.V, expected, 1e-6) and _close(run.achieved, expected, 1e-6), (
        f"on a 4 x 5 grid V* = {_show(expected)}; got V = {_show(run.V)}, and your "
        f"policy is worth {_show(run.achieved)}.{run.hint()}")


@exercise("policy_iteration", points=5)
def test_stops_when_a_state_and_its_copy_tie(student):
    """two actions that lead to a state and to its exact copy: it stops, with V*"""
    # See _twin_state_mdps: rounding makes the twins' values differ in the last digit,
    # so a rule without theta keeps switching state 0 between them.
    gamma = 0.9
    for P in _twin_state_mdps():
        expected = _optimal_values(P, gamma)
        run = _Run(student, P, gamma, len(P), 2, budget=100_000)
        assert _close(run.V, expected, 1e-6) and _close(run.achieved, expected, 1e-6), (
            f"on a model whose last state copies state 1, V* = {_show(expected)}; got "
            f"V = {_show(run.V)}, and your policy is worth {_show(run.achieved)}."
            f"{run.hint()}")
