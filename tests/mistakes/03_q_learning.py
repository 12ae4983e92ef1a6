"""Typical wrong answers to the exercises of chapter 03; every one must lose points."""

import numpy as np

from rlbook_utils.exercises import mistake


def _greedy_random_ties(q_values, rng):
    best_actions = np.flatnonzero(q_values == q_values.max())
    return int(best_actions[rng.integers(len(best_actions))])


def _epsilon_greedy(q_values, epsilon, rng):
    q_values = np.asarray(q_values, dtype=float)
    if rng.random() < epsilon:
        return int(rng.integers(len(q_values)))
    return _greedy_random_ties(q_values, rng)


# --------------------------------------------------------------------------- #
# epsilon_greedy
# --------------------------------------------------------------------------- #
@mistake("epsilon_greedy", "explores with probability 1 - epsilon instead of epsilon")
def epsilon_greedy_wrong_way_round(q_values, epsilon, rng):
    q_values = np.asarray(q_values, dtype=float)
    if rng.random() < 1 - epsilon:
        return int(rng.integers(len(q_values)))
    return _greedy_random_ties(q_values, rng)


@mistake("epsilon_greedy", "no random tie-breaking: np.argmax always takes the first max")
def epsilon_greedy_first_max(q_values, epsilon, rng):
    q_values = np.asarray(q_values, dtype=float)
    if rng.random() < epsilon:
        return int(rng.integers(len(q_values)))
    return int(np.argmax(q_values))


@mistake("epsilon_greedy", "the random action is drawn among the non-greedy actions only")
def epsilon_greedy_excludes_greedy(q_values, epsilon, rng):
    q_values = np.asarray(q_values, dtype=float)
    best = int(np.argmax(q_values))
    if rng.random() < epsilon:
        others = [a for a in range(len(q_values)) if a != best]
        return int(others[rng.integers(len(others))])
    return _greedy_random_ties(q_values, rng)


@mistake("epsilon_greedy", "returns a numpy integer instead of a Python int")
def epsilon_greedy_numpy_int(q_values, epsilon, rng):
    q_values = np.asarray(q_values, dtype=float)
    if rng.random() < epsilon:
        return rng.integers(len(q_values))
    best_actions = np.flatnonzero(q_values == q_values.max())
    return best_actions[rng.integers(len(best_actions))]


@mistake("epsilon_greedy", "draws from the global np.random instead of rng")
def epsilon_greedy_global_random(q_values, epsilon, rng):
    q_values = np.asarray(q_values, dtype=float)
    if np.random.random() < epsilon:
        return int(np.random.randint(len(q_values)))
    best_actions = np.flatnonzero(q_values == q_values.max())
    return int(np.random.choice(best_actions))


# --------------------------------------------------------------------------- #
# q_learning_update
# --------------------------------------------------------------------------- #
@mistake("q_learning_update", "bootstraps from a terminal state")
def q_learning_update_bootstraps_terminal(Q, s, a, r, s_next, terminated, alpha, gamma):
    td_error = r + gamma * np.max(Q[s_next]) - Q[s, a]
    Q[s, a] += alpha * td_error
    return float(td_error)


@mistake("q_learning_update", "uses the value of the same action in s_next, not the max")
def q_learning_update_same_action(Q, s, a, r, s_next, terminated, alpha, gamma):
    td_error = r + gamma * Q[s_next, a] * (1 - terminated) - Q[s, a]
    Q[s, a] += alpha * td_error
    return float(td_error)


@mistake("q_learning_update", "uses the mean over next actions instead of the max")
def q_learning_update_mean(Q, s, a, r, s_next, terminated, alpha, gamma):
    td_error = r + gamma * np.mean(Q[s_next]) * (1 - terminated) - Q[s, a]
    Q[s, a] += alpha * td_error
    return float(td_error)


@mistake("q_learning_update", "returns the TD error after the update was applied")
def q_learning_update_error_after(Q, s, a, r, s_next, terminated, alpha, gamma):
    td_target = r + gamma * np.max(Q[s_next]) * (1 - terminated)
    Q[s, a] += alpha * (td_target - Q[s, a])
    return float(td_target - Q[s, a])


@mistake("q_learning_update", "forgets alpha: Q[s, a] jumps to the target")
def q_learning_update_no_alpha(Q, s, a, r, s_next, terminated, alpha, gamma):
    td_error = r + gamma * np.max(Q[s_next]) * (1 - terminated) - Q[s, a]
    Q[s, a] += td_error
    return float(td_error)


@mistake("q_learning_update", "returns the TD error without updating Q")
def q_learning_update_not_in_place(Q, s, a, r, s_next, terminated, alpha, gamma):
    Q = Q.copy()
    td_error = r + gamma * np.max(Q[s_next]) * (1 - terminated) - Q[s, a]
    Q[s, a] += alpha * td_error
    return float(td_error)


# --------------------------------------------------------------------------- #
# sarsa_update
# --------------------------------------------------------------------------- #
@mistake("sarsa_update", "uses the max over next actions (that is Q-learning)")
def sarsa_update_max(Q, s, a, r, s_next, a_next, terminated, alpha, gamma):
    td_error = r + gamma * np.max(Q[s_next]) * (1 - terminated) - Q[s, a]
    Q[s, a] += alpha * td_error
    return float(td_error)


@mistake("sarsa_update", "bootstraps from a terminal state")
def sarsa_update_bootstraps_terminal(Q, s, a, r, s_next, a_next, terminated, alpha, gamma):
    td_error = r + gamma * Q[s_next, a_next] - Q[s, a]
    Q[s, a] += alpha * td_error
    return float(td_error)


@mistake("sarsa_update", "uses the current action a in s_next instead of a_next")
def sarsa_update_current_action(Q, s, a, r, s_next, a_next, terminated, alpha, gamma):
    td_error = r + gamma * Q[s_next, a] * (1 - terminated) - Q[s, a]
    Q[s, a] += alpha * td_error
    return float(td_error)


@mistake("sarsa_update", "returns the TD error after the update was applied")
def sarsa_update_error_after(Q, s, a, r, s_next, a_next, terminated, alpha, gamma):
    td_target = r + gamma * Q[s_next, a_next] * (1 - terminated)
    Q[s, a] += alpha * (td_target - Q[s, a])
    return float(td_target - Q[s, a])


@mistake("sarsa_update", "forgets alpha: Q[s, a] jumps to the target")
def sarsa_update_no_alpha(Q, s, a, r, s_next, a_next, terminated, alpha, gamma):
    td_error = r + gamma * Q[s_next, a_next] * (1 - terminated) - Q[s, a]
    Q[s, a] += td_error
    return float(td_error)


# --------------------------------------------------------------------------- #
# run_q_learning
# --------------------------------------------------------------------------- #
def _q_learning_loop(env, n_episodes, alpha, gamma, epsilon, rng, seed, *,
                     explore=True, mask_truncated=False, mask_terminated=True,
                     discount_returns=False):
    Q = np.zeros((env.observation_space.n, env.action_space.n))
    episode_returns = []
    for episode in range(n_episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        episode_return, discount, done = 0.0, 1.0, False
        while not done:
            if explore:
                action = _epsilon_greedy(Q[state], epsilon, rng)
            else:
                action = _greedy_random_ties(Q[state], rng)
            next_state, reward, terminated, truncated, _ = env.step(action)
            stop_bootstrap = ((terminated and mask_terminated)
                              or (truncated and mask_truncated))
            td_target = reward + gamma * np.max(Q[next_state]) * (1 - stop_bootstrap)
            Q[state, action] += alpha * (td_target - Q[state, action])
            episode_return += discount * reward
            if discount_returns:
                discount *= gamma
            state, done = next_state, terminated or truncated
        episode_returns.append(episode_return)
    return Q, episode_returns


@mistake("run_q_learning", "never explores: always greedy (ties broken at random)")
def run_q_learning_never_explores(env, n_episodes, alpha, gamma, epsilon, seed):
    return _q_learning_loop(env, n_episodes, alpha, gamma, epsilon,
                            np.random.default_rng(seed), seed, explore=False)


@mistake("run_q_learning", "treats truncation as termination: no bootstrap at a time limit")
def run_q_learning_masks_truncation(env, n_episodes, alpha, gamma, epsilon, seed):
    return _q_learning_loop(env, n_episodes, alpha, gamma, epsilon,
                            np.random.default_rng(seed), seed, mask_truncated=True)


@mistake("run_q_learning", "bootstraps through termination")
def run_q_learning_bootstraps_terminal(env, n_episodes, alpha, gamma, epsilon, seed):
    return _q_learning_loop(env, n_episodes, alpha, gamma, epsilon,
                            np.random.default_rng(seed), seed, mask_terminated=False)


@mistake("run_q_learning", "ignores the seed: unseeded rng and unseeded env.reset")
def run_q_learning_ignores_seed(env, n_episodes, alpha, gamma, epsilon, seed):
    return _q_learning_loop(env, n_episodes, alpha, gamma, epsilon,
                            np.random.default_rng(), None)


@mistake("run_q_learning", "records the discounted return instead of the sum of rewards")
def run_q_learning_discounted_returns(env, n_episodes, alpha, gamma, epsilon, seed):
    return _q_learning_loop(env, n_episodes, alpha, gamma, epsilon,
                            np.random.default_rng(seed), seed, discount_returns=True)


@mistake("run_q_learning", "uses the SARSA target with the next greedy-or-random action")
def run_q_learning_sarsa(env, n_episodes, alpha, gamma, epsilon, seed):
    rng = np.random.default_rng(seed)
    Q = np.zeros((env.observation_space.n, env.action_space.n))
    episode_returns = []
    for episode in range(n_episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        action = _epsilon_greedy(Q[state], epsilon, rng)
        episode_return, done = 0.0, False
        while not done:
            next_state, reward, terminated, truncated, _ = env.step(action)
            next_action = _epsilon_greedy(Q[next_state], epsilon, rng)
            td_target = reward + gamma * Q[next_state, next_action] * (1 - terminated)
            Q[state, action] += alpha * (td_target - Q[state, action])
            episode_return += reward
            state, action, done = next_state, next_action, terminated or truncated
        episode_returns.append(episode_return)
    return Q, episode_returns
