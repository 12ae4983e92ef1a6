"""Typical wrong answers to the exercises of chapter 03; every one must lose points."""

import numpy as np

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# n_step_return
# --------------------------------------------------------------------------- #
def _discounted_sum(rewards, gamma, first_power=0):
    return float(sum(gamma ** (k + first_power) * r for k, r in enumerate(rewards)))


@mistake("n_step_return", "a constant answer: always 0.0")
def n_step_return_zero(rewards, bootstrap_value, terminated, gamma):
    return 0.0


@mistake("n_step_return", "discounts the bootstrap value by gamma**(n - 1), not gamma**n")
def n_step_return_off_by_one(rewards, bootstrap_value, terminated, gamma):
    n = len(rewards)
    return _discounted_sum(rewards, gamma) + (0.0 if terminated
                                              else gamma ** (n - 1) * bootstrap_value)


@mistake("n_step_return", "discounts the first reward too: gamma**(k + 1)")
def n_step_return_first_reward_discounted(rewards, bootstrap_value, terminated, gamma):
    n = len(rewards)
    return _discounted_sum(rewards, gamma, 1) + (0.0 if terminated
                                                 else gamma ** n * bootstrap_value)


@mistake("n_step_return", "bootstraps even when the episode terminated")
def n_step_return_bootstraps_terminal(rewards, bootstrap_value, terminated, gamma):
    return _discounted_sum(rewards, gamma) + gamma ** len(rewards) * bootstrap_value


@mistake("n_step_return", "never bootstraps: the Monte Carlo sum of the n rewards")
def n_step_return_no_bootstrap(rewards, bootstrap_value, terminated, gamma):
    return _discounted_sum(rewards, gamma)


@mistake("n_step_return", "adds the bootstrap value undiscounted")
def n_step_return_undiscounted_bootstrap(rewards, bootstrap_value, terminated, gamma):
    return _discounted_sum(rewards, gamma) + (0.0 if terminated else bootstrap_value)


@mistake("n_step_return", "weighs the rewards in reverse order")
def n_step_return_reversed(rewards, bootstrap_value, terminated, gamma):
    rewards = list(rewards)[::-1]
    return _discounted_sum(rewards, gamma) + (0.0 if terminated
                                              else gamma ** len(rewards) * bootstrap_value)


@mistake("n_step_return", "reverses the caller's list in place (right value, input changed)")
def n_step_return_reverses_in_place(rewards, bootstrap_value, terminated, gamma):
    if isinstance(rewards, list):
        rewards.reverse()  # the caller's list is now backwards
        backwards = rewards
    else:
        backwards = list(rewards)[::-1]
    G = 0.0 if terminated else float(bootstrap_value)
    for reward in backwards:
        G = reward + gamma * G
    return float(G)


@mistake("n_step_return", "discounts in place on the caller's array (right value)")
def n_step_return_scales_array_in_place(rewards, bootstrap_value, terminated, gamma):
    rewards = np.asarray(rewards, dtype=float)  # the caller's array itself, if it is one
    n = len(rewards)
    rewards *= gamma ** np.arange(n)
    return float(rewards.sum() + (0.0 if terminated else gamma ** n * bootstrap_value))


@mistake("n_step_return", "multiplies the bootstrap value by gamma * n, not gamma**n")
def n_step_return_gamma_times_n(rewards, bootstrap_value, terminated, gamma):
    return _discounted_sum(rewards, gamma) + (0.0 if terminated
                                              else gamma * len(rewards) * bootstrap_value)


@mistake("n_step_return", "when terminated, adds the rewards undiscounted")
def n_step_return_terminal_undiscounted(rewards, bootstrap_value, terminated, gamma):
    if terminated:
        return float(sum(rewards))
    return _discounted_sum(rewards, gamma) + gamma ** len(rewards) * bootstrap_value


# --------------------------------------------------------------------------- #
# expected_sarsa_update
# --------------------------------------------------------------------------- #
def _apply(Q, s, a, target, alpha):
    td_error = target - Q[s, a]
    Q[s, a] += alpha * td_error
    return float(td_error)


@mistake("expected_sarsa_update", "a constant answer: returns 0.0 and leaves Q alone")
def expected_sarsa_update_zero(Q, s, a, r, s_next, terminated, alpha, gamma, epsilon):
    return 0.0


@mistake("expected_sarsa_update", "bootstraps from the max (that is Q-learning)")
def expected_sarsa_update_max(Q, s, a, r, s_next, terminated, alpha, gamma, epsilon):
    return _apply(Q, s, a, r + gamma * (1 - terminated) * Q[s_next].max(), alpha)


@mistake("expected_sarsa_update", "bootstraps from the plain mean (a uniform policy)")
def expected_sarsa_update_mean(Q, s, a, r, s_next, terminated, alpha, gamma, epsilon):
    return _apply(Q, s, a, r + gamma * (1 - terminated) * Q[s_next].mean(), alpha)


@mistake("expected_sarsa_update", "greedy action gets 1 - epsilon, forgetting epsilon / n")
def expected_sarsa_update_no_share(Q, s, a, r, s_next, terminated, alpha, gamma,
                                   epsilon):
    q_next = Q[s_next]
    greedy = q_next == q_next.max()
    probs = np.where(greedy, (1 - epsilon) / greedy.sum(), epsilon / len(q_next))
    return _apply(Q, s, a, r + gamma * (1 - terminated) * probs @ q_next, alpha)


@mistake("expected_sarsa_update", "every tied action gets the whole greedy share")
def expected_sarsa_update_ties_not_shared(Q, s, a, r, s_next, terminated, alpha, gamma,
                                          epsilon):
    q_next = Q[s_next]
    greedy = q_next == q_next.max()
    probs = epsilon / len(q_next) + np.where(greedy, 1 - epsilon, 0.0)
    return _apply(Q, s, a, r + gamma * (1 - terminated) * probs @ q_next, alpha)


@mistake("expected_sarsa_update", "swaps epsilon and 1 - epsilon")
def expected_sarsa_update_swapped(Q, s, a, r, s_next, terminated, alpha, gamma, epsilon):
    q_next = Q[s_next]
    greedy = q_next == q_next.max()
    probs = (1 - epsilon) / len(q_next) + np.where(greedy, epsilon / greedy.sum(), 0.0)
    return _apply(Q, s, a, r + gamma * (1 - terminated) * probs @ q_next, alpha)


def _expectation(q_next, epsilon):
    return epsilon * q_next.mean() + (1 - epsilon) * q_next.max()


@mistake("expected_sarsa_update", "bootstraps from a terminal state")
def expected_sarsa_update_bootstraps_terminal(Q, s, a, r, s_next, terminated, alpha,
                                              gamma, epsilon):
    return _apply(Q, s, a, r + gamma * _expectation(Q[s_next], epsilon), alpha)


@mistake("expected_sarsa_update", "returns the TD error after the update was applied")
def expected_sarsa_update_error_after(Q, s, a, r, s_next, terminated, alpha, gamma,
                                      epsilon):
    target = r + gamma * (1 - terminated) * _expectation(Q[s_next], epsilon)
    Q[s, a] += alpha * (target - Q[s, a])
    return float(target - Q[s, a])


@mistake("expected_sarsa_update", "updates a copy: Q is not changed in place")
def expected_sarsa_update_not_in_place(Q, s, a, r, s_next, terminated, alpha, gamma,
                                       epsilon):
    Q = Q.copy()
    return _apply(Q, s, a, r + gamma * (1 - terminated) * _expectation(Q[s_next], epsilon),
                  alpha)


@mistake("expected_sarsa_update", "forgets alpha: Q[s, a] jumps to the target")
def expected_sarsa_update_no_alpha(Q, s, a, r, s_next, terminated, alpha, gamma, epsilon):
    return _apply(Q, s, a, r + gamma * (1 - terminated) * _expectation(Q[s_next], epsilon),
                  1.0)


@mistake("expected_sarsa_update", "returns the new Q[s, a] instead of the TD error")
def expected_sarsa_update_returns_new_value(Q, s, a, r, s_next, terminated, alpha, gamma,
                                            epsilon):
    _apply(Q, s, a, r + gamma * (1 - terminated) * _expectation(Q[s_next], epsilon), alpha)
    return float(Q[s, a])


@mistake("expected_sarsa_update", "returns the target instead of the TD error")
def expected_sarsa_update_returns_target(Q, s, a, r, s_next, terminated, alpha, gamma,
                                         epsilon):
    target = r + gamma * (1 - terminated) * _expectation(Q[s_next], epsilon)
    _apply(Q, s, a, target, alpha)
    return float(target)


@mistake("expected_sarsa_update", "greedy action 1 - epsilon, the others epsilon / (n - 1)")
def expected_sarsa_update_n_minus_one(Q, s, a, r, s_next, terminated, alpha, gamma,
                                      epsilon):
    q_next = Q[s_next]
    probs = np.full(len(q_next), epsilon / (len(q_next) - 1))
    probs[np.argmax(q_next)] = 1 - epsilon
    return _apply(Q, s, a, r + gamma * (1 - terminated) * probs @ q_next, alpha)


@mistake("expected_sarsa_update", "takes the expectation over Q[s], not Q[s_next]")
def expected_sarsa_update_wrong_row(Q, s, a, r, s_next, terminated, alpha, gamma,
                                    epsilon):
    return _apply(Q, s, a, r + gamma * (1 - terminated) * _expectation(Q[s], epsilon),
                  alpha)


# --------------------------------------------------------------------------- #
# double_q_update
# --------------------------------------------------------------------------- #
@mistake("double_q_update", "a constant answer: returns 0.0 and leaves the tables alone")
def double_q_update_zero(Q_update, Q_other, s, a, r, s_next, terminated, alpha, gamma):
    return 0.0


@mistake("double_q_update", "chooses and values with Q_update (plain Q-learning)")
def double_q_update_same_table(Q_update, Q_other, s, a, r, s_next, terminated, alpha,
                               gamma):
    target = r + gamma * (1 - terminated) * Q_update[s_next].max()
    return _apply(Q_update, s, a, target, alpha)


@mistake("double_q_update", "takes the max of Q_other: chooses with the wrong table")
def double_q_update_max_other(Q_update, Q_other, s, a, r, s_next, terminated, alpha,
                              gamma):
    target = r + gamma * (1 - terminated) * Q_other[s_next].max()
    return _apply(Q_update, s, a, target, alpha)


@mistake("double_q_update", "chooses by the argmax of Q_update + Q_other")
def double_q_update_sum_argmax(Q_update, Q_other, s, a, r, s_next, terminated, alpha,
                               gamma):
    best = int(np.argmax(Q_update[s_next] + Q_other[s_next]))
    target = r + gamma * (1 - terminated) * Q_other[s_next, best]
    return _apply(Q_update, s, a, target, alpha)


@mistake("double_q_update", "updates Q_other instead of Q_update")
def double_q_update_wrong_table(Q_update, Q_other, s, a, r, s_next, terminated, alpha,
                                gamma):
    best = int(np.argmax(Q_update[s_next]))
    target = r + gamma * (1 - terminated) * Q_other[s_next, best]
    return _apply(Q_other, s, a, target, alpha)


@mistake("double_q_update", "updates both tables with the same TD error")
def double_q_update_both(Q_update, Q_other, s, a, r, s_next, terminated, alpha, gamma):
    best = int(np.argmax(Q_update[s_next]))
    target = r + gamma * (1 - terminated) * Q_other[s_next, best]
    td_error = target - Q_update[s, a]
    Q_update[s, a] += alpha * td_error
    Q_other[s, a] += alpha * td_error
    return float(td_error)


@mistake("double_q_update", "bootstraps from a terminal state")
def double_q_update_bootstraps_terminal(Q_update, Q_other, s, a, r, s_next, terminated,
                                        alpha, gamma):
    best = int(np.argmax(Q_update[s_next]))
    return _apply(Q_update, s, a, r + gamma * Q_other[s_next, best], alpha)


@mistake("double_q_update", "returns the TD error after the update was applied")
def double_q_update_error_after(Q_update, Q_other, s, a, r, s_next, terminated, alpha,
                                gamma):
    best = int(np.argmax(Q_update[s_next]))
    target = r + gamma * (1 - terminated) * Q_other[s_next, best]
    Q_update[s, a] += alpha * (target - Q_update[s, a])
    return float(target - Q_update[s, a])


@mistake("double_q_update", "roles swapped: Q_other chooses a*, Q_update values it")
def double_q_update_roles_swapped(Q_update, Q_other, s, a, r, s_next, terminated, alpha,
                                  gamma):
    best = int(np.argmax(Q_other[s_next]))
    target = r + gamma * (1 - terminated) * Q_update[s_next, best]
    return _apply(Q_update, s, a, target, alpha)


@mistake("double_q_update", "a* from the wrong row: argmax Q_update[s], not Q_update[s_next]")
def double_q_update_wrong_row(Q_update, Q_other, s, a, r, s_next, terminated, alpha,
                              gamma):
    best = int(np.argmax(Q_update[s]))
    target = r + gamma * (1 - terminated) * Q_other[s_next, best]
    return _apply(Q_update, s, a, target, alpha)


@mistake("double_q_update", "returns the target instead of the TD error")
def double_q_update_returns_target(Q_update, Q_other, s, a, r, s_next, terminated, alpha,
                                   gamma):
    best = int(np.argmax(Q_update[s_next]))
    target = r + gamma * (1 - terminated) * Q_other[s_next, best]
    _apply(Q_update, s, a, target, alpha)
    return float(target)


@mistake("double_q_update", "breaks ties of argmax Q_update at random, with no seed")
def double_q_update_random_ties(Q_update, Q_other, s, a, r, s_next, terminated, alpha,
                                gamma):
    row = Q_update[s_next]
    best = int(np.random.default_rng().choice(np.flatnonzero(row == row.max())))
    target = r + gamma * (1 - terminated) * Q_other[s_next, best]
    return _apply(Q_update, s, a, target, alpha)


# --------------------------------------------------------------------------- #
# run_double_q_learning
# --------------------------------------------------------------------------- #
def _epsilon_greedy(q_values, epsilon, rng):
    if rng.random() < epsilon:
        return int(rng.integers(len(q_values)))
    best_actions = np.flatnonzero(q_values == q_values.max())
    return int(best_actions[rng.integers(len(best_actions))])


def _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, *, explore=True,
                   which="coin", valued_by="other", mask_truncated=False,
                   mask_terminated=True, discount_returns=False, rng=None,
                   act_on="sum", coin_from="rng", new_rng_every_episode=False,
                   reset_seed="first", argmax_ties=False, advance_state=True,
                   swap_alpha_gamma=False, stop_on_truncated=True,
                   coin_per_episode=False):
    rng = np.random.default_rng(seed) if rng is None else rng
    shape = (env.observation_space.n, env.action_space.n)
    Q1, Q2 = np.zeros(shape), np.zeros(shape)
    if swap_alpha_gamma:
        alpha, gamma = gamma, alpha
    episode_returns = []
    for episode in range(n_episodes):
        if new_rng_every_episode:
            rng = np.random.default_rng(seed)
        first = episode == 0
        state, _ = env.reset(seed=seed if (reset_seed == "every" or
                                           (reset_seed == "first" and first)) else None)
        episode_return, discount, done = 0.0, 1.0, False
        heads = (rng.random() < 0.5) if coin_per_episode else None
        while not done:
            q_values = {"sum": Q1[state] + Q2[state], "q1": Q1[state]}[act_on]
            if argmax_ties:
                action = (int(rng.integers(len(q_values))) if rng.random() < epsilon
                          else int(np.argmax(q_values)))
            else:
                action = _epsilon_greedy(q_values, epsilon if explore else 0.0, rng)
            next_state, reward, terminated, truncated, _ = env.step(action)
            stop = (terminated and mask_terminated) or (truncated and mask_truncated)
            if not coin_per_episode:
                heads = (rng.random() if coin_from == "rng" else np.random.random()) < 0.5
            if which == "coin":
                pairs = [(Q1, Q2)] if heads else [(Q2, Q1)]
            elif which == "first":
                pairs = [(Q1, Q2)]
            else:  # both tables, each valued by the other
                pairs = [(Q1, Q2), (Q2, Q1)]
            for Q_update, Q_other in pairs:
                best = int(np.argmax(Q_update[next_state]))
                value = (Q_other if valued_by == "other" else Q_update)[next_state, best]
                td_target = reward + gamma * (1 - stop) * value
                Q_update[state, action] += alpha * (td_target - Q_update[state, action])
            episode_return += discount * reward
            if discount_returns:
                discount *= gamma
            if advance_state:
                state = next_state
            done = terminated or (truncated and stop_on_truncated)
        episode_returns.append(episode_return)
    return Q1, Q2, episode_returns


@mistake("run_double_q_learning", "a constant answer: zero tables and zero returns")
def run_double_q_learning_zeros(env, n_episodes, alpha, gamma, epsilon, seed):
    shape = (env.observation_space.n, env.action_space.n)
    return np.zeros(shape), np.zeros(shape), [0.0] * n_episodes


@mistake("run_double_q_learning", "never explores: always greedy on Q1 + Q2")
def run_double_q_learning_never_explores(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, explore=False)


@mistake("run_double_q_learning", "no coin: always updates Q1 (valued by Q2)")
def run_double_q_learning_always_q1(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, which="first")


@mistake("run_double_q_learning", "updates both tables at every step")
def run_double_q_learning_both(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, which="both")


@mistake("run_double_q_learning", "each table values its own choice (two Q-learners)")
def run_double_q_learning_own_value(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, valued_by="self")


@mistake("run_double_q_learning", "treats truncation as termination")
def run_double_q_learning_masks_truncation(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed,
                          mask_truncated=True)


@mistake("run_double_q_learning", "bootstraps through termination")
def run_double_q_learning_bootstraps_terminal(env, n_episodes, alpha, gamma, epsilon,
                                              seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed,
                          mask_terminated=False)


@mistake("run_double_q_learning", "ignores the seed: unseeded rng and unseeded env.reset")
def run_double_q_learning_ignores_seed(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, None,
                          rng=np.random.default_rng())


@mistake("run_double_q_learning", "records the discounted return, not the sum of rewards")
def run_double_q_learning_discounted(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed,
                          discount_returns=True)


@mistake("run_double_q_learning", "acts epsilon-greedily on Q1 alone, not on Q1 + Q2")
def run_double_q_learning_acts_on_q1(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, act_on="q1")


@mistake("run_double_q_learning", "flips the coin with the global np.random, not rng")
def run_double_q_learning_global_coin(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, coin_from="global")


@mistake("run_double_q_learning", "re-creates rng = default_rng(seed) at every episode")
def run_double_q_learning_rng_every_episode(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed,
                          new_rng_every_episode=True)


@mistake("run_double_q_learning", "calls env.reset(seed=seed) at every episode")
def run_double_q_learning_reseeds_env(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, reset_seed="every")


@mistake("run_double_q_learning", "never seeds the environment (env.reset() only)")
def run_double_q_learning_env_unseeded(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, reset_seed="never")


@mistake("run_double_q_learning", "ignores the seed argument: a fixed rng seed of 0")
def run_double_q_learning_fixed_rng_seed(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed,
                          rng=np.random.default_rng(0))


@mistake("run_double_q_learning", "acts with np.argmax: ties always go to action 0")
def run_double_q_learning_argmax_ties(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed, argmax_ties=True)


@mistake("run_double_q_learning", "forgets state = next_state after each step")
def run_double_q_learning_state_not_advanced(env, n_episodes, alpha, gamma, epsilon,
                                             seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed,
                          advance_state=False)


@mistake("run_double_q_learning", "passes (gamma, alpha) to double_q_update, swapped")
def run_double_q_learning_swaps_alpha_gamma(env, n_episodes, alpha, gamma, epsilon,
                                            seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed,
                          swap_alpha_gamma=True)


@mistake("run_double_q_learning", "stops an episode only when terminated, not truncated")
def run_double_q_learning_ignores_truncated(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed,
                          stop_on_truncated=False)


@mistake("run_double_q_learning", "flips the coin once per episode, not every step")
def run_double_q_learning_coin_per_episode(env, n_episodes, alpha, gamma, epsilon, seed):
    return _double_q_loop(env, n_episodes, alpha, gamma, epsilon, seed,
                          coin_per_episode=True)
