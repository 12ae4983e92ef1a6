"""Typical wrong answers to the exercises of chapter 02; every one must lose points."""

import numpy as np

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# discounted_return
# --------------------------------------------------------------------------- #
@mistake("discounted_return", "discounts the first reward by gamma (starts at gamma**1)")
def discounted_return_from_gamma_one(rewards, gamma):
    return float(sum(gamma ** (t + 1) * reward for t, reward in enumerate(rewards)))


@mistake("discounted_return", "ignores gamma (returns the plain sum)")
def discounted_return_plain_sum(rewards, gamma):
    return float(sum(rewards))


@mistake("discounted_return", "reverses the powers (the last reward gets gamma**0)")
def discounted_return_reversed_powers(rewards, gamma):
    rewards = list(rewards)
    T = len(rewards)
    return float(sum(gamma ** (T - 1 - t) * reward for t, reward in enumerate(rewards)))


@mistake("discounted_return",
         "returns the list of partial returns G_0, G_1, ... instead of G_0")
def discounted_return_all_partial_returns(rewards, gamma):
    returns, ret = [], 0.0
    for reward in reversed(list(rewards)):
        ret = reward + gamma * ret
        returns.append(ret)
    return returns[::-1]


# --------------------------------------------------------------------------- #
# policy_evaluation
# --------------------------------------------------------------------------- #
def _sweep_until(theta, sweep, V):
    while True:
        V_new = sweep(V)
        delta = np.max(np.abs(V_new - V))
        V = V_new
        if delta < theta:
            return V


@mistake("policy_evaluation", "bootstraps through terminal transitions")
def policy_evaluation_bootstraps_terminal(P, policy, gamma, theta=1e-8):
    n_states, n_actions = len(P), len(P[0])

    def sweep(V):
        V_new = np.zeros(n_states)
        for s in range(n_states):
            for a in range(n_actions):
                for prob, next_state, reward, _ in P[s][a]:
                    V_new[s] += policy[s][a] * prob * (reward + gamma * V[next_state])
        return V_new

    return _sweep_until(theta, sweep, np.zeros(n_states))


@mistake("policy_evaluation",
         "updates V in place (Gauss-Seidel) instead of synchronous sweeps")
def policy_evaluation_in_place(P, policy, gamma, theta=1e-8):
    n_states, n_actions = len(P), len(P[0])
    V = np.zeros(n_states)
    while True:
        delta = 0.0
        for s in range(n_states):
            value = 0.0
            for a in range(n_actions):
                for prob, next_state, reward, terminated in P[s][a]:
                    value += policy[s][a] * prob * (
                        reward + gamma * V[next_state] * (1 - terminated))
            delta = max(delta, abs(value - V[s]))
            V[s] = value
        if delta < theta:
            return V


@mistake("policy_evaluation", "in-place sweeps visiting the states in reverse order")
def policy_evaluation_in_place_reversed(P, policy, gamma, theta=1e-8):
    n_states, n_actions = len(P), len(P[0])
    V = np.zeros(n_states)
    while True:
        delta = 0.0
        for s in reversed(range(n_states)):
            value = 0.0
            for a in range(n_actions):
                for prob, next_state, reward, terminated in P[s][a]:
                    value += policy[s][a] * prob * (
                        reward + gamma * V[next_state] * (1 - terminated))
            delta = max(delta, abs(value - V[s]))
            V[s] = value
        if delta < theta:
            return V


@mistake("policy_evaluation", "ignores the policy's probabilities and always takes action 0")
def policy_evaluation_action_zero(P, policy, gamma, theta=1e-8):
    n_states = len(P)

    def sweep(V):
        V_new = np.zeros(n_states)
        for s in range(n_states):
            for prob, next_state, reward, terminated in P[s][0]:
                V_new[s] += prob * (reward + gamma * V[next_state] * (1 - terminated))
        return V_new

    return _sweep_until(theta, sweep, np.zeros(n_states))


@mistake("policy_evaluation", "stops after a single sweep")
def policy_evaluation_one_sweep(P, policy, gamma, theta=1e-8):
    n_states, n_actions = len(P), len(P[0])
    V, V_new = np.zeros(n_states), np.zeros(n_states)
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                V_new[s] += policy[s][a] * prob * (
                    reward + gamma * V[next_state] * (1 - terminated))
    return V_new


@mistake("policy_evaluation",
         "ignores the transition probabilities (weighs every listed outcome equally)")
def policy_evaluation_ignores_prob(P, policy, gamma, theta=1e-8):
    # The plain unweighted sum is as typical, but it diverges on most models and would
    # only show as a timeout; the equal-weight average fails the same tests quickly.
    n_states, n_actions = len(P), len(P[0])

    def sweep(V):
        V_new = np.zeros(n_states)
        for s in range(n_states):
            for a in range(n_actions):
                outcomes = P[s][a]
                for _, next_state, reward, terminated in outcomes:
                    V_new[s] += policy[s][a] / len(outcomes) * (
                        reward + gamma * V[next_state] * (1 - terminated))
        return V_new

    return _sweep_until(theta, sweep, np.zeros(n_states))


@mistake("policy_evaluation", "runs a fixed number of sweeps (100) instead of using theta")
def policy_evaluation_fixed_sweeps(P, policy, gamma, theta=1e-8):
    n_states, n_actions = len(P), len(P[0])
    V = np.zeros(n_states)
    for _ in range(100):
        V_new = np.zeros(n_states)
        for s in range(n_states):
            for a in range(n_actions):
                for prob, next_state, reward, terminated in P[s][a]:
                    V_new[s] += policy[s][a] * prob * (
                        reward + gamma * V[next_state] * (1 - terminated))
        V = V_new
    return V


# --------------------------------------------------------------------------- #
# q_from_v
# --------------------------------------------------------------------------- #
def _q_table(P, V, gamma, backup):
    n_states, n_actions = len(P), len(P[0])
    Q = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                Q[s, a] += backup(prob, V[next_state], reward, terminated)
    return Q


@mistake("q_from_v", "bootstraps through terminal transitions (no (1 - terminated) mask)")
def q_from_v_no_terminal_mask(P, V, gamma):
    return _q_table(P, V, gamma, lambda p, v, r, term: p * (r + gamma * v))


@mistake("q_from_v", "forgets gamma (adds V(next_state) undiscounted)")
def q_from_v_no_gamma(P, V, gamma):
    return _q_table(P, V, gamma, lambda p, v, r, term: p * (r + v * (1 - term)))


@mistake("q_from_v", "ignores prob (sums the outcomes unweighted)")
def q_from_v_ignores_prob(P, V, gamma):
    return _q_table(P, V, gamma, lambda p, v, r, term: r + gamma * v * (1 - term))


@mistake("q_from_v", "keeps only the last outcome of each action (= instead of +=)")
def q_from_v_overwrites(P, V, gamma):
    n_states, n_actions = len(P), len(P[0])
    Q = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                Q[s, a] = prob * (reward + gamma * V[next_state] * (1 - terminated))
    return Q


@mistake("q_from_v", "returns Q transposed, [n_actions, n_states]")
def q_from_v_transposed(P, V, gamma):
    n_states, n_actions = len(P), len(P[0])
    Q = np.zeros((n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                Q[a, s] += prob * (reward + gamma * V[next_state] * (1 - terminated))
    return Q


# --------------------------------------------------------------------------- #
# value_iteration
# --------------------------------------------------------------------------- #
def _lookahead(P, V, gamma, mask_terminal=True):
    n_states, n_actions = len(P), len(P[0])
    Q = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in P[s][a]:
                keep = (1 - terminated) if mask_terminal else 1
                Q[s, a] += prob * (reward + gamma * V[next_state] * keep)
    return Q


def _synchronous_value_iteration(P, gamma, theta, combine, mask_terminal=True):
    V = np.zeros(len(P))
    while True:
        V_new = combine(_lookahead(P, V, gamma, mask_terminal))
        delta = np.max(np.abs(V_new - V))
        V = V_new
        if delta < theta:
            break
    Q = _lookahead(P, V, gamma, mask_terminal)
    return V, np.eye(Q.shape[1])[np.argmax(Q, axis=1)]


@mistake("value_iteration", "averages over actions (mean) instead of taking the max")
def value_iteration_mean(P, gamma, theta=1e-8):
    return _synchronous_value_iteration(P, gamma, theta, lambda Q: Q.mean(axis=1))


@mistake("value_iteration", "bootstraps through terminal transitions")
def value_iteration_bootstraps_terminal(P, gamma, theta=1e-8):
    return _synchronous_value_iteration(P, gamma, theta, lambda Q: Q.max(axis=1),
                                        mask_terminal=False)


@mistake("value_iteration", "returns the policy as action indices [n_states], not one-hot")
def value_iteration_action_indices(P, gamma, theta=1e-8):
    V, policy = _synchronous_value_iteration(P, gamma, theta, lambda Q: Q.max(axis=1))
    return V, np.argmax(policy, axis=1)


@mistake("value_iteration", "stops after one sweep")
def value_iteration_one_sweep(P, gamma, theta=1e-8):
    V = _lookahead(P, np.zeros(len(P)), gamma).max(axis=1)
    Q = _lookahead(P, V, gamma)
    return V, np.eye(Q.shape[1])[np.argmax(Q, axis=1)]


@mistake("value_iteration", "updates V in place (Gauss-Seidel) instead of synchronous sweeps")
def value_iteration_in_place(P, gamma, theta=1e-8):
    n_states, n_actions = len(P), len(P[0])
    V = np.zeros(n_states)
    while True:
        delta = 0.0
        for s in range(n_states):
            q_values = np.zeros(n_actions)
            for a in range(n_actions):
                for prob, next_state, reward, terminated in P[s][a]:
                    q_values[a] += prob * (reward + gamma * V[next_state] * (1 - terminated))
            delta = max(delta, abs(q_values.max() - V[s]))
            V[s] = q_values.max()
        if delta < theta:
            break
    Q = _lookahead(P, V, gamma)
    return V, np.eye(n_actions)[np.argmax(Q, axis=1)]


@mistake("value_iteration", "runs a fixed 10 sweeps instead of sweeping until theta")
def value_iteration_fixed_sweeps(P, gamma, theta=1e-8):
    V = np.zeros(len(P))
    for _ in range(10):
        V = _lookahead(P, V, gamma).max(axis=1)
    Q = _lookahead(P, V, gamma)
    return V, np.eye(Q.shape[1])[np.argmax(Q, axis=1)]
