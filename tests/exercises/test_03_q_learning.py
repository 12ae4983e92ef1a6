"""Graded tests of chapter 03: Q-learning.

Every expected value is computed here, independently of the reference solution:
the update rules by hand on small tables, action frequencies against their exact
probabilities (with margins of at least five standard errors), and the learned Q
tables against Q* of tiny environments written in this file, whose optimal values
are known in closed form.
"""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

import rlbook_utils.envs  # noqa: F401 - registers "rlbook/GridWorld-v0"
from rlbook_utils.exercises import exercise


# --------------------------------------------------------------------------- #
# Exercise 3.1: epsilon_greedy(q_values, epsilon, rng)
# --------------------------------------------------------------------------- #
def _action_counts(student, q_values, epsilon, n_draws, seed):
    rng = np.random.default_rng(seed)
    q_values = np.asarray(q_values, dtype=float)
    counts = np.zeros(len(q_values), dtype=int)
    for _ in range(n_draws):
        action = student.epsilon_greedy(q_values, epsilon, rng)
        assert 0 <= action < len(q_values), (
            f"epsilon_greedy returned {action!r}, which is not an action index "
            f"0..{len(q_values) - 1}")
        counts[action] += 1
    return counts


@exercise("epsilon_greedy", points=2)
def test_returns_a_python_int(student):
    action = student.epsilon_greedy(np.array([0.0, 2.0, 1.0]), 0.0,
                                    np.random.default_rng(0))
    assert type(action) is int, (
        f"epsilon_greedy must return a Python int, got {type(action).__name__}: "
        "wrap the index in int(...) (np.argmax and rng.integers give numpy integers)")


@exercise("epsilon_greedy", points=2)
def test_epsilon_zero_always_picks_the_unique_best_action(student):
    counts = _action_counts(student, [0.5, -1.0, 2.0, 1.9], 0.0, 300, seed=1)
    assert counts[2] == 300, (
        f"with epsilon = 0 the action of largest Q (index 2) must always be chosen, "
        f"but the counts per action were {counts.tolist()}: explore with probability "
        "epsilon, not 1 - epsilon")


@exercise("epsilon_greedy", points=2)
def test_ties_for_the_best_action_are_broken_uniformly_at_random(student):
    counts = _action_counts(student, [1.0, 3.0, 0.0, 3.0], 0.0, 2000, seed=2)
    assert counts[0] == 0 and counts[2] == 0, (
        f"with epsilon = 0 only the tied best actions 1 and 3 may be chosen, but the "
        f"counts per action were {counts.tolist()}")
    share = counts[1] / 2000
    assert 0.44 <= share <= 0.56, (
        f"actions 1 and 3 tie for the largest Q, yet action 1 was chosen in "
        f"{share:.0%} of 2000 draws instead of about 50%: break ties uniformly at "
        "random with rng (np.argmax always returns the first maximum)")


@exercise("epsilon_greedy", points=2)
def test_epsilon_one_picks_every_action_uniformly(student):
    counts = _action_counts(student, [0.0, 5.0, 1.0, 2.0], 1.0, 4000, seed=3)
    shares = counts / 4000
    assert np.all(np.abs(shares - 0.25) <= 0.04), (
        f"with epsilon = 1 every action must be chosen with probability 1/4 "
        f"(the greedy one included), got shares {np.round(shares, 3).tolist()}")


@exercise("epsilon_greedy", points=2)
def test_greedy_action_has_probability_one_minus_epsilon_plus_epsilon_over_n(student):
    epsilon, n_actions = 0.2, 4
    counts = _action_counts(student, [0.0, 1.0, -1.0, 0.5], epsilon, 4000, seed=4)
    expected = 1 - epsilon + epsilon / n_actions  # the random draw may hit it too
    share = counts[1] / 4000
    assert abs(share - expected) <= 0.03, (
        f"with epsilon = 0.2 and 4 actions the greedy action should be chosen with "
        f"probability 1 - 0.2 + 0.2/4 = {expected:.2f}, got {share:.3f}: with "
        "probability epsilon draw uniformly from ALL actions, else act greedily")


@exercise("epsilon_greedy", points=2)
def test_all_randomness_comes_from_rng(student):
    def fifty_actions(seed):
        rng = np.random.default_rng(seed)
        q_values = np.array([1.0, 1.0, 0.0, 1.0])
        return [student.epsilon_greedy(q_values, 0.5, rng) for _ in range(50)]

    first, second = fifty_actions(5), fifty_actions(5)
    assert first == second, (
        "two generators with the same seed gave different action sequences: draw "
        "every random number from the `rng` argument, not from np.random or random")


# --------------------------------------------------------------------------- #
# Exercise 3.2: q_learning_update(Q, s, a, r, s_next, terminated, alpha, gamma)
# --------------------------------------------------------------------------- #
def _table():
    """A 3-state, 4-action table whose rows are all different."""
    return np.array([[0.0, 1.0, -2.0, 0.5],
                     [2.0, -1.0, 4.0, 3.0],
                     [1.5, 0.0, 0.0, -0.5]])


@exercise("q_learning_update", points=2)
def test_q_learning_moves_q_by_alpha_times_td_error(student):
    Q = _table()
    # target = 1 + 0.9 * max(Q[1]) = 1 + 0.9 * 4 = 4.6; TD error = 4.6 - Q[0, 1] = 3.6
    student.q_learning_update(Q, 0, 1, 1.0, 1, False, 0.5, 0.9)
    assert np.isclose(Q[0, 1], 1.0 + 0.5 * 3.6), (
        f"Q[0, 1] should become 1 + 0.5 * (1 + 0.9 * 4 - 1) = 2.8, got {Q[0, 1]:.4f}: "
        "Q[s, a] += alpha * (r + gamma * max_a' Q[s_next, a'] - Q[s, a]), "
        "updated in place")


@exercise("q_learning_update", points=2)
def test_q_learning_returns_the_td_error_before_the_update(student):
    Q = _table()
    td_error = student.q_learning_update(Q, 0, 1, 1.0, 1, False, 0.5, 0.9)
    assert td_error is not None and np.isclose(float(td_error), 3.6), (
        f"the TD error r + gamma * max Q[s_next] - Q[s, a] is 1 + 0.9 * 4 - 1 = 3.6, "
        f"got {td_error}: return the bracket computed BEFORE Q[s, a] changes")


@exercise("q_learning_update", points=2)
def test_q_learning_bootstraps_from_the_max_not_from_the_same_action(student):
    Q = _table()
    # Q[1, 3] = 3 is the value of the same action a = 3; the max over Q[1] is 4.
    student.q_learning_update(Q, 2, 3, 0.0, 1, False, 1.0, 1.0)
    assert np.isclose(Q[2, 3], 4.0), (
        f"with alpha = 1, gamma = 1, r = 0 the new Q[2, 3] is max_a' Q[1, a'] = 4, got "
        f"{Q[2, 3]:.4f}: Q-learning bootstraps from the best next action, not from "
        "the same action, the mean, or the action taken next")


@exercise("q_learning_update", points=2)
def test_q_learning_does_not_bootstrap_from_a_terminal_state(student):
    Q = _table()
    td_error = student.q_learning_update(Q, 0, 0, 2.0, 1, True, 0.5, 0.9)
    assert np.isclose(Q[0, 0], 0.5 * 2.0), (
        f"when terminated is True the target is r alone (= 2), so Q[0, 0] becomes "
        f"0 + 0.5 * 2 = 1, got {Q[0, 0]:.4f}: multiply the bootstrap term by "
        "(1 - terminated)")
    assert np.isclose(float(td_error), 2.0), (
        f"the TD error at a terminal transition is r - Q[s, a] = 2, got {td_error}")


@exercise("q_learning_update", points=2)
def test_q_learning_changes_only_the_visited_entry(student):
    Q = _table()
    student.q_learning_update(Q, 1, 2, -1.0, 2, False, 0.3, 0.5)
    expected = _table()
    expected[1, 2] += 0.3 * (-1.0 + 0.5 * 1.5 - 4.0)
    assert np.allclose(Q, expected), (
        "after one update only Q[s, a] may change, by alpha * TD error; got\n"
        f"{np.round(Q, 4)}\nexpected\n{np.round(expected, 4)}")


@exercise("q_learning_update", points=2)
def test_q_learning_self_loop_uses_the_old_values(student):
    Q = np.array([[1.0, 0.0]])
    td_error = student.q_learning_update(Q, 0, 0, 0.0, 0, False, 0.5, 0.5)
    assert np.isclose(float(td_error), 0.5 * 1.0 - 1.0) and np.isclose(Q[0, 0], 0.75), (
        f"for a step from state 0 back to state 0 the TD error is 0 + 0.5 * 1 - 1 = "
        f"-0.5 and Q[0, 0] becomes 0.75; got TD error {td_error} and Q[0, 0] = "
        f"{Q[0, 0]:.4f}")


# --------------------------------------------------------------------------- #
# Exercise 3.3: sarsa_update(Q, s, a, r, s_next, a_next, terminated, alpha, gamma)
# --------------------------------------------------------------------------- #
@exercise("sarsa_update", points=2)
def test_sarsa_bootstraps_from_the_next_action_actually_taken(student):
    Q = _table()
    # a_next = 0: Q[1, 0] = 2, although max Q[1] = 4. target = 1 + 0.9 * 2 = 2.8
    student.sarsa_update(Q, 0, 1, 1.0, 1, 0, False, 0.5, 0.9)
    assert np.isclose(Q[0, 1], 1.0 + 0.5 * (2.8 - 1.0)), (
        f"Q[0, 1] should become 1 + 0.5 * (1 + 0.9 * Q[1, 0] - 1) = 1.9, got "
        f"{Q[0, 1]:.4f}: SARSA uses Q[s_next, a_next], the value of the action "
        "taken next, not the max over actions (that is Q-learning)")


@exercise("sarsa_update", points=2)
def test_sarsa_uses_a_next_not_the_current_action(student):
    Q = _table()
    student.sarsa_update(Q, 2, 3, 0.0, 1, 1, False, 1.0, 1.0)
    assert np.isclose(Q[2, 3], -1.0), (
        f"with alpha = 1, gamma = 1, r = 0 the new Q[2, 3] is Q[s_next, a_next] = "
        f"Q[1, 1] = -1, got {Q[2, 3]:.4f}: index the next state with a_next")


@exercise("sarsa_update", points=2)
def test_sarsa_returns_the_td_error_before_the_update(student):
    Q = _table()
    td_error = student.sarsa_update(Q, 0, 1, 1.0, 1, 0, False, 0.5, 0.9)
    assert td_error is not None and np.isclose(float(td_error), 1.8), (
        f"the TD error r + gamma * Q[s_next, a_next] - Q[s, a] is 1 + 0.9 * 2 - 1 = "
        f"1.8, got {td_error}: return the bracket computed BEFORE Q[s, a] changes")


@exercise("sarsa_update", points=2)
def test_sarsa_does_not_bootstrap_from_a_terminal_state(student):
    Q = _table()
    td_error = student.sarsa_update(Q, 1, 0, -3.0, 2, 0, True, 0.25, 0.9)
    assert np.isclose(Q[1, 0], 2.0 + 0.25 * (-3.0 - 2.0)), (
        f"when terminated is True the target is r alone (= -3), so Q[1, 0] becomes "
        f"2 + 0.25 * (-3 - 2) = 0.75, got {Q[1, 0]:.4f}: multiply the bootstrap term "
        "by (1 - terminated)")
    assert np.isclose(float(td_error), -5.0), (
        f"the TD error at a terminal transition is r - Q[s, a] = -5, got {td_error}")


@exercise("sarsa_update", points=2)
def test_sarsa_changes_only_the_visited_entry(student):
    Q = _table()
    student.sarsa_update(Q, 0, 2, 0.5, 2, 0, False, 0.1, 0.8)
    expected = _table()
    expected[0, 2] += 0.1 * (0.5 + 0.8 * 1.5 - (-2.0))
    assert np.allclose(Q, expected), (
        "after one update only Q[s, a] may change, by alpha * TD error; got\n"
        f"{np.round(Q, 4)}\nexpected\n{np.round(expected, 4)}")


# --------------------------------------------------------------------------- #
# Exercise 3.4: run_q_learning(env, n_episodes, alpha, gamma, epsilon, seed)
# --------------------------------------------------------------------------- #
class TwoArmedEnv(gym.Env):
    """One state, two actions, one step per episode: action 0 pays 0.5, action 1 pays 1.

    Q* = [[0.5, 1.0]]. A learner that never explores locks onto whichever action it
    tries first and never learns the other one's value.
    """

    observation_space = spaces.Discrete(1)
    action_space = spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, (0.5, 1.0)[int(action)], True, False, {}


class BackToStartEnv(gym.Env):
    """Two states: 0 -> 1 pays 0; 1 -> 0 pays 1 and terminates (any action).

    The terminating step returns observation 0, a state whose Q values are not zero,
    so bootstrapping through termination shows. Q*(1, .) = 1, Q*(0, .) = gamma.
    Every episode's undiscounted return is exactly 1.
    """

    observation_space = spaces.Discrete(2)
    action_space = spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.state = 0
        return 0, {}

    def step(self, action):
        if self.state == 0:
            self.state = 1
            return 1, 0.0, False, False, {}
        self.state = 0
        return 0, 1.0, True, False, {}


class EndlessEnv(gym.Env):
    """One state, one action, reward 1 forever: never terminates.

    Wrapped in a TimeLimit every episode is cut off (truncated), yet the task goes
    on, so Q* = 1 / (1 - gamma).
    """

    observation_space = spaces.Discrete(1)
    action_space = spaces.Discrete(1)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 1.0, False, False, {}


@exercise("run_q_learning", points=4)
def test_returns_a_q_table_and_one_return_per_episode(student):
    Q, episode_returns = student.run_q_learning(BackToStartEnv(), 30, 0.5, 0.9, 0.1, 0)
    Q = np.asarray(Q)
    assert Q.shape == (2, 2), (
        f"Q must have shape [n_states, n_actions] = (2, 2), got {Q.shape}")
    returns = np.asarray(episode_returns, dtype=float)
    assert returns.shape == (30,), (
        f"episode_returns must hold one number per episode (30), got shape "
        f"{returns.shape}")
    assert np.allclose(returns, 1.0), (
        "every episode of this environment pays 0 then 1, so each return is 1; got "
        f"{np.round(returns[:5], 3).tolist()}...: return the undiscounted sum of the "
        "rewards of each episode")


@exercise("run_q_learning", points=4)
def test_explores_and_learns_the_value_of_every_action(student):
    Q, _ = student.run_q_learning(TwoArmedEnv(), 200, 0.5, 0.9, 0.5, 1)
    assert np.allclose(np.asarray(Q), [[0.5, 1.0]], atol=0.01), (
        f"on a one-step task paying 0.5 for action 0 and 1 for action 1, Q should "
        f"approach [[0.5, 1.0]] with epsilon = 0.5, got {np.round(Q, 3).tolist()}: "
        "choose actions epsilon-greedily (an action that is never tried keeps Q = 0)")


@exercise("run_q_learning", points=4)
def test_never_bootstraps_through_termination(student):
    Q, _ = student.run_q_learning(BackToStartEnv(), 300, 0.5, 0.9, 0.2, 2)
    q_star = np.array([[0.9, 0.9], [1.0, 1.0]])
    assert np.allclose(np.asarray(Q), q_star, atol=0.02), (
        f"Q should approach Q* = {q_star.tolist()}, got {np.round(Q, 3).tolist()}: "
        "at a terminated step the target is r alone, even though the observation "
        "returned (here state 0) has a non-zero Q")


@exercise("run_q_learning", points=4)
def test_bootstraps_through_truncation(student):
    env = TimeLimit(EndlessEnv(), max_episode_steps=3)
    Q, episode_returns = student.run_q_learning(env, 300, 0.1, 0.5, 0.1, 3)
    assert len(episode_returns) == 300 and np.allclose(episode_returns, 3.0), (
        "with a 3-step time limit every episode must stop after 3 rewards of 1 "
        "(return 3): end the episode when terminated OR truncated")
    assert np.isclose(float(np.asarray(Q)[0, 0]), 2.0, atol=0.02), (
        f"a task that never ends has Q* = 1 / (1 - gamma) = 2, got "
        f"{float(np.asarray(Q)[0, 0]):.3f}: a time limit is not a real ending, so keep "
        "the bootstrap term when truncated is True (mask only with terminated)")


@exercise("run_q_learning", points=4)
def test_same_seed_gives_the_same_run(student):
    first = student.run_q_learning(gym.make("FrozenLake-v1"), 200, 0.1, 0.99, 0.3, 7)
    second = student.run_q_learning(gym.make("FrozenLake-v1"), 200, 0.1, 0.99, 0.3, 7)
    assert np.array_equal(np.asarray(first[0]), np.asarray(second[0])) and np.array_equal(
        np.asarray(first[1]), np.asarray(second[1])), (
        "two runs with seed = 7 on fresh FrozenLake environments gave different "
        "results: make rng = np.random.default_rng(seed) and call "
        "env.reset(seed=seed) on the first episode")
    other = student.run_q_learning(gym.make("FrozenLake-v1"), 200, 0.1, 0.99, 0.3, 8)
    assert not np.array_equal(np.asarray(first[0]), np.asarray(other[0])), (
        "seeds 7 and 8 gave identical Q tables: use the `seed` argument, not a fixed "
        "seed")


@exercise("run_q_learning", points=4)
def test_grid_world_greedy_path_goes_around_the_red_square(student):
    env = gym.make("rlbook/GridWorld-v0")
    Q, _ = student.run_q_learning(env, 300, 0.5, 0.9, 0.2, 4)
    Q = np.asarray(Q)
    # Q* of the 2x3 grid with gamma = 0.9: the path down, right, right, up earns +10
    # after 4 steps, so from the start Q*(0, DOWN) = 0.9**3 * 10 = 7.29.
    path, state = [0], 0
    for _ in range(6):
        state = env.unwrapped.P[state][int(np.argmax(Q[state]))][0][1]
        path.append(int(state))
        if state == 2:
            break
    assert path[-1] == 2 and 1 not in path, (
        f"after 300 episodes the greedy path from the start should reach the goal "
        f"(state 2) around the red square (state 1); it visits {path}")
    assert np.isclose(Q[0, 1], 0.9 ** 3 * 10, atol=0.05), (
        f"Q[start, DOWN] should approach 0.9**3 * 10 = 7.29 (reward +10 after 4 steps), "
        f"got {Q[0, 1]:.3f}")
