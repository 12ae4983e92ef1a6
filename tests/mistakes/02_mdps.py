"""Typical wrong answers to the exercises of chapter 02; every one must lose points."""

import numpy as np

from rlbook_utils.exercises import mistake


def _loop_policy_evaluation(P, policy, gamma, theta=1e-8, mask_terminal=True):
    """The lesson's synchronous sweeps (used by several wrong answers below)."""
    n_states, n_actions = len(P), len(P[0])
    V = np.zeros(n_states)
    while True:
        V_new = np.zeros(n_states)
        for s in range(n_states):
            for a in range(n_actions):
                for prob, next_state, reward, terminated in P[s][a]:
                    keep = (1.0 - terminated) if mask_terminal else 1.0
                    V_new[s] += policy[s][a] * prob * (reward + gamma * keep * V[next_state])
        if np.max(np.abs(V_new - V)) < theta:
            return V_new
        V = V_new


def _loop_q(P, V, gamma, mask_terminal=True):
    n_states, n_actions = len(P), len(P[0])
    Q = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                keep = (1.0 - terminated) if mask_terminal else 1.0
                Q[s, a] += prob * (reward + gamma * keep * V[next_state])
    return Q


# --------------------------------------------------------------------------- #
# exact_policy_evaluation
# --------------------------------------------------------------------------- #
def _linear_system(P, policy, gamma, add_terminal_reward=True, mask_terminal=True,
                   accumulate=True):
    n_states, n_actions = len(P), len(P[0])
    P_pi, r_pi = np.zeros((n_states, n_states)), np.zeros(n_states)
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                weight = policy[s][a] * prob
                if terminated and not add_terminal_reward:
                    continue
                r_pi[s] += weight * reward
                if terminated and mask_terminal:
                    continue
                if accumulate:
                    P_pi[s, next_state] += weight
                else:
                    P_pi[s, next_state] = weight
    return P_pi, r_pi


@mistake("exact_policy_evaluation", "returns zeros (a constant answer)")
def exact_policy_evaluation_zeros(P, policy, gamma):
    return np.zeros(len(P))


@mistake("exact_policy_evaluation", "bootstraps through terminal transitions (no mask)")
def exact_policy_evaluation_no_mask(P, policy, gamma):
    P_pi, r_pi = _linear_system(P, policy, gamma, mask_terminal=False)
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi, r_pi)


@mistake("exact_policy_evaluation",
         "skips terminated tuples altogether, losing their reward as well")
def exact_policy_evaluation_drops_terminal_reward(P, policy, gamma):
    P_pi, r_pi = _linear_system(P, policy, gamma, add_terminal_reward=False)
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi, r_pi)


@mistake("exact_policy_evaluation",
         "P_pi[s, s'] = ... instead of += (a next state listed twice counts once)")
def exact_policy_evaluation_overwrites(P, policy, gamma):
    P_pi, r_pi = _linear_system(P, policy, gamma, accumulate=False)
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi, r_pi)


@mistake("exact_policy_evaluation", "solves with P_pi transposed (columns = states left)")
def exact_policy_evaluation_transposed(P, policy, gamma):
    P_pi, r_pi = _linear_system(P, policy, gamma)
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi.T, r_pi)


@mistake("exact_policy_evaluation", "forgets gamma: solves (I - P_pi) V = r_pi")
def exact_policy_evaluation_no_gamma(P, policy, gamma):
    P_pi, r_pi = _linear_system(P, policy, gamma)
    return np.linalg.lstsq(np.eye(len(P)) - P_pi, r_pi, rcond=None)[0]


@mistake("exact_policy_evaluation",
         "sweeps to a tolerance (the lesson's policy_evaluation) instead of solving")
def exact_policy_evaluation_iterative(P, policy, gamma):
    return _loop_policy_evaluation(P, policy, gamma, theta=1e-8)


@mistake("exact_policy_evaluation", "evaluates only each state's most likely action")
def exact_policy_evaluation_argmax_action(P, policy, gamma):
    policy = np.asarray(policy)
    one_hot = np.eye(policy.shape[1])[policy.argmax(axis=1)]
    P_pi, r_pi = _linear_system(P, one_hot, gamma)
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi, r_pi)


@mistake("exact_policy_evaluation",
         "indexes the policy as an array (policy[s, a]) without np.asarray: the "
         "docstring's list example raises TypeError")
def exact_policy_evaluation_assumes_an_array(P, policy, gamma):
    n_states, n_actions = len(P), len(P[0])
    P_pi, r_pi = np.zeros((n_states, n_states)), np.zeros(n_states)
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                r_pi[s] += policy[s, a] * prob * reward
                if not terminated:
                    P_pi[s, next_state] += policy[s, a] * prob
    return np.linalg.solve(np.eye(n_states) - gamma * P_pi, r_pi)


@mistake("exact_policy_evaluation",
         "builds P_pi as an integer array: every += truncates the probabilities")
def exact_policy_evaluation_integer_P_pi(P, policy, gamma):
    n_states, n_actions = len(P), len(P[0])
    P_pi, r_pi = np.zeros((n_states, n_states), dtype=int), np.zeros(n_states)
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                r_pi[s] += policy[s][a] * prob * reward
                if not terminated:
                    P_pi[s, next_state] = int(P_pi[s, next_state] + policy[s][a] * prob)
    return np.linalg.solve(np.eye(n_states) - gamma * P_pi, r_pi)


@mistake("exact_policy_evaluation", "forgets pi(a|s) in r_pi (adds prob * reward only)")
def exact_policy_evaluation_unweighted_reward(P, policy, gamma):
    P_pi, _ = _linear_system(P, policy, gamma)
    uniform = np.ones((len(P), len(P[0])))
    _, r_all = _linear_system(P, uniform, gamma)
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi, r_all)


# --------------------------------------------------------------------------- #
# advantages
# --------------------------------------------------------------------------- #
@mistake("advantages", "returns zeros (a constant answer)")
def advantages_zeros(Q, V):
    return np.zeros(np.shape(Q))


@mistake("advantages", "wrong sign: V - Q")
def advantages_wrong_sign(Q, V):
    return np.asarray(V)[:, None] - np.asarray(Q)


@mistake("advantages", "Q - V without V[:, None] (subtracts V[a] from column a)")
def advantages_wrong_axis(Q, V):
    return np.asarray(Q) - np.asarray(V)


@mistake("advantages", "subtracts max_a Q instead of the V it is given")
def advantages_minus_max_q(Q, V):
    Q = np.asarray(Q)
    return Q - Q.max(axis=1, keepdims=True)


@mistake("advantages", "subtracts mean_a Q instead of the V it is given")
def advantages_minus_mean_q(Q, V):
    Q = np.asarray(Q)
    return Q - Q.mean(axis=1, keepdims=True)


@mistake("advantages", "subtracts in place (Q -= V[:, None]), changing the caller's Q")
def advantages_in_place(Q, V):
    Q -= np.asarray(V)[:, None]
    return Q


@mistake("advantages", "returns max_a A per state [n_states] instead of every A")
def advantages_per_state_only(Q, V):
    return (np.asarray(Q) - np.asarray(V)[:, None]).max(axis=1)


@mistake("advantages", "no float cast: integer Q and V give an integer array")
def advantages_integer_result(Q, V):
    return np.asarray(Q) - np.asarray(V)[:, None]


@mistake("advantages", "no np.asarray: the docstring's list example raises TypeError")
def advantages_assumes_arrays(Q, V):
    return Q - V[:, None]


# --------------------------------------------------------------------------- #
# policy_iteration
# --------------------------------------------------------------------------- #
def _naive_policy_iteration(P, gamma, evaluate, improve, max_improvements=None):
    """Evaluate, take the greedy policy, stop when it equals the previous one."""
    n_states, n_actions = len(P), len(P[0])
    policy = np.eye(n_actions)[np.zeros(n_states, dtype=int)]
    n_improvements = 0
    while True:
        V = evaluate(P, policy, gamma)
        new_policy = np.eye(n_actions)[improve(P, V, gamma)]
        n_improvements += 1
        if np.array_equal(new_policy, policy):
            return V, policy
        policy = new_policy
        if max_improvements is not None and n_improvements >= max_improvements:
            return evaluate(P, policy, gamma), policy


def _exact(P, policy, gamma):
    P_pi, r_pi = _linear_system(P, policy, gamma)
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi, r_pi)


def _argmax(P, V, gamma):
    return _loop_q(P, V, gamma).argmax(axis=1)


@mistake("policy_iteration", "returns zeros and action 0 everywhere (a constant answer)")
def policy_iteration_constant(P, gamma, theta=1e-8):
    n_states, n_actions = len(P), len(P[0])
    return np.zeros(n_states), np.eye(n_actions)[np.zeros(n_states, dtype=int)]


@mistake("policy_iteration",
         "plain argmax, stops when the policy is unchanged: cycles on tied actions "
         "(sweeps for evaluation)")
def policy_iteration_argmax_cycles_sweeps(P, gamma, theta=1e-8):
    return _naive_policy_iteration(
        P, gamma, lambda P, pi, g: _loop_policy_evaluation(P, pi, g, theta), _argmax)


@mistake("policy_iteration",
         "plain argmax, stops when the policy is unchanged: cycles on tied actions "
         "(exact evaluation)")
def policy_iteration_argmax_cycles_exact(P, gamma, theta=1e-8):
    return _naive_policy_iteration(P, gamma, _exact, _argmax)


@mistake("policy_iteration", "breaks ties at random at every improvement step")
def policy_iteration_random_ties(P, gamma, theta=1e-8):
    rng = np.random.default_rng(0)

    def improve(P, V, gamma):
        Q = _loop_q(P, V, gamma)
        return np.array([rng.choice(np.flatnonzero(row == row.max())) for row in Q])

    def evaluate(P, policy, gamma):
        return _loop_policy_evaluation(P, policy, gamma, theta)

    return _naive_policy_iteration(P, gamma, evaluate, improve)


@mistake("policy_iteration", "stops after one improvement step")
def policy_iteration_one_step(P, gamma, theta=1e-8):
    return _naive_policy_iteration(P, gamma, _exact, _argmax, max_improvements=1)


@mistake("policy_iteration", "bootstraps through terminal transitions")
def policy_iteration_bootstraps_terminal(P, gamma, theta=1e-8):
    def evaluate(P, policy, gamma):
        return _loop_policy_evaluation(P, policy, gamma, theta, mask_terminal=False)

    def improve(P, V, gamma):
        return _loop_q(P, V, gamma, mask_terminal=False).argmax(axis=1)

    return _naive_policy_iteration(P, gamma, evaluate, improve)


@mistake("policy_iteration", "returns the policy as action indices [n_states], not one-hot")
def policy_iteration_action_indices(P, gamma, theta=1e-8):
    from_exact = _naive_policy_iteration(P, gamma, _exact, _argmax)
    return from_exact[0], from_exact[1].argmax(axis=1)


@mistake("policy_iteration", "evaluates each policy with a single sweep from V = 0")
def policy_iteration_one_sweep_evaluation(P, gamma, theta=1e-8):
    def one_sweep(P, policy, gamma):
        return _loop_policy_evaluation(P, policy, gamma, theta=np.inf)

    return _naive_policy_iteration(P, gamma, one_sweep, _argmax, max_improvements=50)


@mistake("policy_iteration",
         "keeps the current action unless another is better by more than 0.01")
def policy_iteration_coarse_margin(P, gamma, theta=1e-8):
    n_states, n_actions = len(P), len(P[0])
    actions = np.zeros(n_states, dtype=int)
    while True:
        policy = np.eye(n_actions)[actions]
        V = _exact(P, policy, gamma)
        Q = _loop_q(P, V, gamma)
        better = Q.max(axis=1) > Q[np.arange(n_states), actions] + 0.01
        if not better.any():
            return V, policy
        actions = np.where(better, Q.argmax(axis=1), actions)


def _theta_rule_policy_iteration(P, gamma, margin):
    """Policy iteration that switches only where Q beats the current action by > margin."""
    n_states, n_actions = len(P), len(P[0])
    actions = np.zeros(n_states, dtype=int)
    while True:
        policy = np.eye(n_actions)[actions]
        V = _exact(P, policy, gamma)
        Q = _loop_q(P, V, gamma)
        better = Q.max(axis=1) > Q[np.arange(n_states), actions] + margin
        if not better.any():
            return V, policy
        actions = np.where(better, Q.argmax(axis=1), actions)


@mistake("policy_iteration",
         "switches whenever another action's Q is strictly larger, without theta: "
         "rounding makes a state and its exact copy trade places forever")
def policy_iteration_strict_without_theta(P, gamma, theta=1e-8):
    return _theta_rule_policy_iteration(P, gamma, margin=0.0)


@mistake("policy_iteration",
         "ignores theta: keeps the current action unless another is better by 1e-4")
def policy_iteration_hardcoded_tolerance(P, gamma, theta=1e-8):
    return _theta_rule_policy_iteration(P, gamma, margin=1e-4)


def value_iteration(P, gamma, theta=1e-8):
    """The notebook's given value iteration (its name is what the test watches for)."""
    n_states, n_actions = len(P), len(P[0])
    V = np.zeros(n_states)
    while True:
        V_new = _loop_q(P, V, gamma).max(axis=1)
        if np.max(np.abs(V_new - V)) < theta:
            return V_new, np.eye(n_actions)[_loop_q(P, V_new, gamma).argmax(axis=1)]
        V = V_new


@mistake("policy_iteration", "returns the given value_iteration's answer instead")
def policy_iteration_calls_value_iteration(P, gamma, theta=1e-8):
    return value_iteration(P, gamma, theta)


@mistake("policy_iteration",
         "compares the policy with itself (old = policy, then changes policy in place): "
         "stops after one improvement and returns the V of the policy before it")
def policy_iteration_aliased_old_policy(P, gamma, theta=1e-8):
    n_states, n_actions = len(P), len(P[0])
    policy = np.eye(n_actions)[np.zeros(n_states, dtype=int)]
    while True:
        V = _exact(P, policy, gamma)
        Q = _loop_q(P, V, gamma)
        old_policy = policy  # the same array, not a copy
        for s in range(n_states):
            current = int(policy[s].argmax())
            if Q[s].max() > Q[s, current] + theta:
                policy[s] = np.eye(n_actions)[Q[s].argmax()]
        if np.array_equal(old_policy, policy):
            return V, policy
