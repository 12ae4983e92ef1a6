"""Graded tests of chapter 03: Q-learning.

Every expected value is computed here, independently of the reference solution:
the returns and update rules by hand on small tables (the arithmetic is in the
comments), and the learned tables against Q* of tiny environments written in this
file, whose optimal values are known in closed form. Stochastic checks run several
seeds and state their margin.
"""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlbook_utils.exercises import exercise


def _as_float(value, name):
    assert value is not None, f"{name} returned None: return the value as a float"
    return float(value)


# --------------------------------------------------------------------------- #
# Exercise 3.1: n_step_return(rewards, bootstrap_value, terminated, gamma)
# --------------------------------------------------------------------------- #
@exercise("n_step_return", points=2)
def test_one_step_is_the_td0_target(student):
    """with one reward the n-step return is TD(0)'s target r + gamma V"""
    got = _as_float(student.n_step_return([1.0], 2.0, False, 0.9), "n_step_return")
    # n = 1: R_{t+1} + gamma * V(S_{t+1}) = 1 + 0.9 * 2 = 2.8
    assert np.isclose(got, 2.8), (
        f"with one reward the n-step return is TD(0)'s target r + gamma * V = "
        f"1 + 0.9 * 2 = 2.8, got {got:.4f}: the first reward is not discounted and "
        "the bootstrap value is discounted by gamma**1")


@exercise("n_step_return", points=2)
def test_bootstrap_is_discounted_by_gamma_to_the_n(student):
    """the bootstrap value after n rewards is discounted by gamma**n"""
    got = _as_float(student.n_step_return([0.0, 0.0, 0.0], 1.0, False, 0.5),
                    "n_step_return")
    # three rewards, then V(S_{t+3}): gamma**3 * 1 = 0.125
    assert np.isclose(got, 0.125), (
        f"after three zero rewards the return is gamma**3 * V(S_t+3) = 0.5**3 = 0.125, "
        f"got {got:.4f}: the bootstrap value comes after n = len(rewards) steps, so its "
        "discount is gamma**n (not gamma**(n - 1))")


@exercise("n_step_return", points=2)
def test_rewards_are_discounted_from_gamma_to_the_zero(student):
    """reward k (counting from 0) is weighted by gamma**k, in arrival order"""
    got = _as_float(student.n_step_return([1.0, -1.0, 2.0], 4.0, False, 0.9),
                    "n_step_return")
    expected = 1.0 - 0.9 + 0.81 * 2.0 + 0.729 * 4.0  # = 4.636
    assert np.isclose(got, expected), (
        f"n_step_return([1, -1, 2], 4, False, 0.9) = 1 - 0.9 + 0.9**2 * 2 + 0.9**3 * 4 "
        f"= {expected:.3f}, got {got:.4f}: reward k (from 0) is weighted by gamma**k, "
        "in the order the rewards arrived")


@exercise("n_step_return", points=2)
def test_terminated_gives_the_monte_carlo_return(student):
    """when the episode terminated the bootstrap value is ignored"""
    got = _as_float(student.n_step_return([1.0, 2.0, 3.0], 100.0, True, 0.5),
                    "n_step_return")
    # the episode ended: 1 + 0.5 * 2 + 0.25 * 3 = 2.75, the bootstrap value is ignored
    assert np.isclose(got, 2.75), (
        f"when the episode terminated with the last reward nothing follows: the return "
        f"is 1 + 0.5 * 2 + 0.25 * 3 = 2.75, got {got:.4f}: drop bootstrap_value when "
        "terminated is True")


@exercise("n_step_return", points=2)
def test_gamma_one_adds_everything_and_inputs_may_be_arrays(student):
    """gamma = 1 gives the plain sum; numpy inputs work"""
    got = _as_float(student.n_step_return(np.array([1.0, 2.0, 3.0, 4.0]),
                                          np.float64(0.5), False, 1.0),
                    "n_step_return")
    assert np.isclose(got, 10.5), (
        f"with gamma = 1 the return is the plain sum 1 + 2 + 3 + 4 + 0.5 = 10.5, got "
        f"{got:.4f} (rewards given as a numpy array)")


# --------------------------------------------------------------------------- #
# Exercise 3.2: expected_sarsa_update(Q, s, a, r, s_next, terminated, alpha, gamma,
#                                     epsilon)
# --------------------------------------------------------------------------- #
def _table():
    """A 3-state, 4-action table; row 1 has a unique max, row 2 a two-way tie."""
    return np.array([[0.0, 1.0, -2.0, 0.5],
                     [2.0, -1.0, 4.0, 3.0],
                     [3.0, 0.0, 3.0, -1.0]])


@exercise("expected_sarsa_update", points=3)
def test_expected_sarsa_bootstraps_from_the_epsilon_greedy_expectation(student):
    """the target is the expectation of Q[s_next] under the epsilon-greedy policy"""
    Q = _table()
    # pi(.|1) with epsilon = 0.2, 4 actions: greedy action 2 gets 0.8 + 0.05 = 0.85,
    # the others 0.05 each. E = 0.05 * (2 - 1 + 3) + 0.85 * 4 = 0.2 + 3.4 = 3.6
    # target = 1 + 0.9 * 3.6 = 4.24; TD error = 4.24 - Q[0, 1] = 3.24
    td_error = student.expected_sarsa_update(Q, 0, 1, 1.0, 1, False, 0.5, 0.9, 0.2)
    assert np.isclose(_as_float(td_error, "expected_sarsa_update"), 3.24), (
        f"the expected value of Q[1] under the epsilon-greedy policy (epsilon = 0.2) is "
        f"0.85 * 4 + 0.05 * (2 - 1 + 3) = 3.6, so the TD error is 1 + 0.9 * 3.6 - 1 = "
        f"3.24, got {td_error}: weigh each next action by its epsilon-greedy probability "
        "(1 - epsilon + epsilon / n for the greedy one, epsilon / n for the others)")
    assert np.isclose(Q[0, 1], 1.0 + 0.5 * 3.24), (
        f"Q[0, 1] should become 1 + 0.5 * 3.24 = 2.62, got {Q[0, 1]:.4f}: "
        "Q[s, a] += alpha * TD error, in place")


@exercise("expected_sarsa_update", points=3)
def test_tied_greedy_actions_share_the_greedy_probability(student):
    """actions tied for the max share 1 - epsilon; the probabilities sum to 1"""
    Q = _table()
    # Row 2 = [3, 0, 3, -1], epsilon = 0.4: actions 0 and 2 tie; each gets
    # 0.6 / 2 + 0.1 = 0.4, the others 0.1. E = 0.4 * 3 * 2 + 0.1 * (0 - 1) = 2.3
    td_error = student.expected_sarsa_update(Q, 1, 0, 0.0, 2, False, 1.0, 1.0, 0.4)
    assert np.isclose(_as_float(td_error, "expected_sarsa_update"), 2.3 - 2.0), (
        f"Q[2] = [3, 0, 3, -1] has two greedy actions: with epsilon = 0.4 each gets "
        f"(1 - 0.4) / 2 + 0.4 / 4 = 0.4 and the others 0.1, so the expectation is 2.3 "
        f"and the TD error 2.3 - Q[1, 0] = 0.3; got {td_error}: the greedy probability "
        "1 - epsilon is shared among the tied actions, the probabilities sum to 1")


@exercise("expected_sarsa_update", points=3)
def test_epsilon_zero_is_the_max_and_epsilon_one_the_mean(student):
    """epsilon = 0 bootstraps from the max, epsilon = 1 from the mean"""
    Q = _table()
    greedy = student.expected_sarsa_update(Q, 0, 0, 0.0, 1, False, 1.0, 1.0, 0.0)
    assert np.isclose(Q[0, 0], 4.0), (
        f"with epsilon = 0 the policy is greedy and the target is max Q[1] = 4 "
        f"(alpha = 1, gamma = 1, r = 0), got Q[0, 0] = {Q[0, 0]:.4f} (TD error "
        f"{greedy})")
    Q = _table()
    student.expected_sarsa_update(Q, 0, 0, 0.0, 1, False, 1.0, 1.0, 1.0)
    assert np.isclose(Q[0, 0], 2.0), (
        f"with epsilon = 1 the policy is uniform and the target is the mean of Q[1], "
        f"(2 - 1 + 4 + 3) / 4 = 2, got Q[0, 0] = {Q[0, 0]:.4f}")


@exercise("expected_sarsa_update", points=3)
def test_expected_sarsa_does_not_bootstrap_from_a_terminal_state(student):
    """a terminated step's target is r alone"""
    Q = _table()
    td_error = student.expected_sarsa_update(Q, 0, 3, -2.0, 1, True, 0.5, 0.9, 0.2)
    assert np.isclose(_as_float(td_error, "expected_sarsa_update"), -2.5), (
        f"when terminated is True the target is r alone (= -2), so the TD error is "
        f"-2 - Q[0, 3] = -2.5, got {td_error}: multiply the bootstrap term by "
        "(1 - terminated)")
    assert np.isclose(Q[0, 3], 0.5 - 0.5 * 2.5), (
        f"Q[0, 3] should become 0.5 + 0.5 * (-2.5) = -0.75, got {Q[0, 3]:.4f}")


@exercise("expected_sarsa_update", points=3)
def test_expected_sarsa_returns_the_error_before_and_changes_one_entry(student):
    """returns the TD error before the update and changes only Q[s, a], in place"""
    Q = _table()
    td_error = student.expected_sarsa_update(Q, 2, 3, 0.5, 0, False, 0.25, 0.8, 0.2)
    # pi(.|0) for [0, 1, -2, 0.5]: 0.85 on action 1. E = 0.85 + 0.05 * (0 - 2 + 0.5)
    expected_next = 0.85 * 1.0 + 0.05 * (0.0 - 2.0 + 0.5)  # = 0.775
    expected_error = 0.5 + 0.8 * expected_next - (-1.0)  # = 2.12
    assert np.isclose(_as_float(td_error, "expected_sarsa_update"), expected_error), (
        f"the TD error is r + gamma * E[Q(s', .)] - Q[s, a] = 0.5 + 0.8 * 0.775 + 1 = "
        f"{expected_error:.3f}, got {td_error}: return the bracket computed BEFORE "
        "Q[s, a] changes")
    expected = _table()
    expected[2, 3] += 0.25 * expected_error
    assert np.allclose(Q, expected), (
        "after one update only Q[s, a] may change, by alpha * TD error, in the table "
        f"passed in; got\n{np.round(Q, 4)}\nexpected\n{np.round(expected, 4)}")


# --------------------------------------------------------------------------- #
# Exercise 3.3: double_q_update(Q_update, Q_other, s, a, r, s_next, terminated,
#                               alpha, gamma)
# --------------------------------------------------------------------------- #
def _two_tables():
    """Tables that disagree on s_next = 1: Q_update picks action 1 (uniquely), valued
    3 by Q_other; Q_other's own max is action 0 (10); the sum's argmax is action 0."""
    Q_update = np.array([[1.0, 0.0, 0.0], [1.0, 5.0, 2.0]])
    Q_other = np.array([[-1.0, 2.0, 0.5], [10.0, 3.0, -4.0]])
    return Q_update, Q_other


@exercise("double_q_update", points=2)
def test_double_q_chooses_with_q_update_and_values_with_q_other(student):
    """the next action is argmax Q_update[s_next], valued by Q_other"""
    Q_update, Q_other = _two_tables()
    # argmax Q_update[1] = 1; Q_other[1, 1] = 3. target = 0.5 + 0.9 * 3 = 3.2
    # TD error = 3.2 - Q_update[0, 0] = 2.2; Q_update[0, 0] = 1 + 0.5 * 2.2 = 2.1
    td_error = student.double_q_update(Q_update, Q_other, 0, 0, 0.5, 1, False, 0.5, 0.9)
    assert np.isclose(_as_float(td_error, "double_q_update"), 2.2), (
        f"the next action is argmax Q_update[1] = 1 and its value Q_other[1, 1] = 3, so "
        f"the TD error is 0.5 + 0.9 * 3 - Q_update[0, 0] = 2.2, got {td_error}: choose "
        "with the table being updated, value with the other one (max Q_update[1] = 5 "
        "is plain Q-learning; max Q_other[1] = 10 chooses with the wrong table)")
    assert np.isclose(Q_update[0, 0], 2.1), (
        f"Q_update[0, 0] should become 1 + 0.5 * 2.2 = 2.1, got {Q_update[0, 0]:.4f}: "
        "update Q_update in place by alpha * TD error")


@exercise("double_q_update", points=2)
def test_double_q_changes_only_q_update_at_s_a(student):
    """only Q_update[s, a] changes; Q_other is only read"""
    Q_update, Q_other = _two_tables()
    student.double_q_update(Q_update, Q_other, 1, 2, -1.0, 0, False, 0.25, 1.0)
    # argmax Q_update[0] = 0; Q_other[0, 0] = -1. TD error = -1 - 1 - 2 = -4
    expected_update, expected_other = _two_tables()
    expected_update[1, 2] += 0.25 * -4.0
    assert np.allclose(Q_other, expected_other), (
        "Q_other must not change: it only values the next action; got\n"
        f"{np.round(Q_other, 4)}")
    assert np.allclose(Q_update, expected_update), (
        "only Q_update[s, a] may change, by alpha * TD error = 0.25 * (-1 + Q_other[0, 0] "
        f"- Q_update[1, 2]) = -1; got\n{np.round(Q_update, 4)}\nexpected\n"
        f"{np.round(expected_update, 4)}")


@exercise("double_q_update", points=2)
def test_double_q_does_not_bootstrap_from_a_terminal_state(student):
    """a terminated step's target is r alone"""
    Q_update, Q_other = _two_tables()
    td_error = student.double_q_update(Q_update, Q_other, 1, 1, 2.0, 1, True, 0.5, 0.9)
    assert np.isclose(_as_float(td_error, "double_q_update"), 2.0 - 5.0), (
        f"when terminated is True the target is r alone (= 2), so the TD error is "
        f"2 - Q_update[1, 1] = -3, got {td_error}: multiply the bootstrap term by "
        "(1 - terminated)")
    assert np.isclose(Q_update[1, 1], 5.0 - 1.5), (
        f"Q_update[1, 1] should become 5 + 0.5 * (-3) = 3.5, got {Q_update[1, 1]:.4f}")


@exercise("double_q_update", points=2)
def test_double_q_returns_the_error_before_the_update(student):
    """returns the TD error computed before the update, even on a self-loop"""
    Q_update, Q_other = _two_tables()
    # s = s_next = 1: argmax Q_update[1] = 1 BEFORE the update; Q_other[1, 1] = 3.
    # TD error = 0 + 1 * 3 - Q_update[1, 1] = -2; Q_update[1, 1] = 5 - 0.5 * 2 = 4
    td_error = student.double_q_update(Q_update, Q_other, 1, 1, 0.0, 1, False, 0.5, 1.0)
    assert np.isclose(_as_float(td_error, "double_q_update"), -2.0) and np.isclose(
        Q_update[1, 1], 4.0), (
        f"for a step from state 1 back to state 1 the TD error is 0 + Q_other[1, 1] - "
        f"Q_update[1, 1] = 3 - 5 = -2 and Q_update[1, 1] becomes 4; got TD error "
        f"{td_error} and Q_update[1, 1] = {Q_update[1, 1]:.4f}: compute the bracket "
        "before changing Q_update and return it")


# --------------------------------------------------------------------------- #
# Exercise 3.4: run_double_q_learning(env, n_episodes, alpha, gamma, epsilon, seed)
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


class OneStepEnv(gym.Env):
    """One state, one action, reward 1, terminates: after k updates with step size
    alpha a table holds 1 - (1 - alpha)**k, so k can be read back from it."""

    observation_space = spaces.Discrete(1)
    action_space = spaces.Discrete(1)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 1.0, True, False, {}


class NoisyBranchEnv(gym.Env):
    """State 0: every action leads to state 1, reward 0. State 1: every one of the 8
    actions ends the episode with a reward drawn from N(0, 1).

    Q* = 0 everywhere, yet max over 8 noisy estimates of Q(1, .) is positive on
    average: Q-learning's Q(0, .) inherits that maximisation bias, Double Q's does not.
    """

    observation_space = spaces.Discrete(2)
    action_space = spaces.Discrete(8)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.state = 0
        return 0, {}

    def step(self, action):
        if self.state == 0:
            self.state = 1
            return 1, 0.0, False, False, {}
        self.state = 0
        return 0, float(self.np_random.normal()), True, False, {}


def _run(student, env, n_episodes, alpha, gamma, epsilon, seed):
    result = student.run_double_q_learning(env, n_episodes, alpha, gamma, epsilon, seed)
    assert isinstance(result, tuple) and len(result) == 3, (
        "run_double_q_learning must return a tuple (Q1, Q2, episode_returns), got "
        f"{type(result).__name__}")
    Q1, Q2, episode_returns = result
    return np.asarray(Q1, dtype=float), np.asarray(Q2, dtype=float), episode_returns


@exercise("run_double_q_learning", points=3)
def test_returns_two_tables_and_one_return_per_episode(student):
    """returns (Q1, Q2, episode_returns) with the undiscounted return of each episode"""
    Q1, Q2, episode_returns = _run(student, BackToStartEnv(), 30, 0.5, 0.9, 0.1, 0)
    assert Q1.shape == (2, 2) and Q2.shape == (2, 2), (
        f"Q1 and Q2 must each have shape [n_states, n_actions] = (2, 2), got {Q1.shape} "
        f"and {Q2.shape}")
    returns = np.asarray(episode_returns, dtype=float)
    assert returns.shape == (30,), (
        f"episode_returns must hold one number per episode (30), got shape "
        f"{returns.shape}")
    assert np.allclose(returns, 1.0), (
        "every episode of this environment pays 0 then 1, so each return is 1; got "
        f"{np.round(returns[:5], 3).tolist()}...: return the undiscounted sum of the "
        "rewards of each episode")


@exercise("run_double_q_learning", points=3)
def test_both_tables_learn_the_value_of_every_action(student):
    """with exploration both tables learn Q* of a two-armed one-step task"""
    Q1, Q2, _ = _run(student, TwoArmedEnv(), 400, 0.5, 0.9, 0.5, 1)
    for name, Q in (("Q1", Q1), ("Q2", Q2)):
        assert np.allclose(Q, [[0.5, 1.0]], atol=0.01), (
            f"on a one-step task paying 0.5 for action 0 and 1 for action 1, {name} "
            f"should approach [[0.5, 1.0]] with epsilon = 0.5, got "
            f"{np.round(Q, 3).tolist()}: behave epsilon-greedily on Q1 + Q2 and, after "
            "every step, update ONE of the two tables chosen by a fair coin")


@exercise("run_double_q_learning", points=3)
def test_each_table_gets_about_half_of_the_updates(student):
    """one table per step, picked by a fair coin: about half the updates each"""
    alpha, n_episodes = 0.001, 2000
    Q1, Q2, _ = _run(student, OneStepEnv(), n_episodes, alpha, 1.0, 0.0, 2)
    # a table updated k times towards 1 holds 1 - (1 - alpha)**k
    remaining = [min(max(1.0 - float(Q[0, 0]), 1e-300), 1.0) for Q in (Q1, Q2)]
    updates = [float(np.log(left) / np.log1p(-alpha)) for left in remaining]
    total = sum(updates)
    assert np.isclose(total, n_episodes, atol=1.0), (
        f"{n_episodes} steps should give {n_episodes} updates in all, shared between "
        f"the tables; the tables show about {updates[0]:.0f} and {updates[1]:.0f}: "
        "update exactly one table per step")
    # Binomial(2000, 1/2): standard deviation 22; the margin is 5 of them.
    assert abs(updates[0] - n_episodes / 2) <= 112, (
        f"a fair coin gives each table about {n_episodes // 2} of the {n_episodes} "
        f"updates; Q1 got about {updates[0]:.0f} and Q2 {updates[1]:.0f}: flip the coin "
        "with rng every step (rng.random() < 0.5)")


@exercise("run_double_q_learning", points=3)
def test_never_bootstraps_through_termination(student):
    """both tables reach Q* when the terminating step returns a non-zero state"""
    Q1, Q2, _ = _run(student, BackToStartEnv(), 400, 0.5, 0.9, 0.2, 3)
    q_star = np.array([[0.9, 0.9], [1.0, 1.0]])
    for name, Q in (("Q1", Q1), ("Q2", Q2)):
        assert np.allclose(Q, q_star, atol=0.02), (
            f"{name} should approach Q* = {q_star.tolist()}, got "
            f"{np.round(Q, 3).tolist()}: at a terminated step the target is r alone, "
            "even though the observation returned (here state 0) has a non-zero Q")


@exercise("run_double_q_learning", points=3)
def test_bootstraps_through_truncation(student):
    """a time limit ends the episode but keeps the bootstrap term"""
    env = TimeLimit(EndlessEnv(), max_episode_steps=3)
    Q1, Q2, episode_returns = _run(student, env, 400, 0.1, 0.5, 0.1, 4)
    assert len(episode_returns) == 400 and np.allclose(episode_returns, 3.0), (
        "with a 3-step time limit every episode must stop after 3 rewards of 1 "
        "(return 3): end the episode when terminated OR truncated")
    values = [float(Q1[0, 0]), float(Q2[0, 0])]
    assert np.allclose(values, 2.0, atol=0.02), (
        f"a task that never ends has Q* = 1 / (1 - gamma) = 2, got Q1 = {values[0]:.3f}, "
        f"Q2 = {values[1]:.3f}: a time limit is not a real ending, so keep the bootstrap "
        "term when truncated is True (mask only with terminated)")


@exercise("run_double_q_learning", points=3)
def test_same_seed_gives_the_same_run(student):
    """the same seed gives the same run, another seed another run"""
    def run(seed):
        return _run(student, gym.make("FrozenLake-v1"), 200, 0.1, 0.99, 0.3, seed)

    first, second, other = run(7), run(7), run(8)
    assert all(np.array_equal(np.asarray(x), np.asarray(y))
               for x, y in zip(first, second)), (
        "two runs with seed = 7 on fresh FrozenLake environments gave different "
        "results: make rng = np.random.default_rng(seed), draw every action and coin "
        "from it, and call env.reset(seed=seed) on the first episode")
    same_tables = np.array_equal(first[0], other[0]) and np.array_equal(first[1], other[1])
    assert not same_tables, (
        "seeds 7 and 8 gave identical Q tables: use the `seed` argument, not a fixed "
        "seed")


@exercise("run_double_q_learning", points=3)
def test_double_q_has_no_maximisation_bias(student):
    """Q(0, .) is not biased upwards by the max over 8 noisy actions"""
    estimates = []
    for seed in range(8):
        Q1, Q2, _ = _run(student, NoisyBranchEnv(), 400, 0.1, 1.0, 1.0, 10 + seed)
        learned = min(np.abs(Q1[1]).mean(), np.abs(Q2[1]).mean())
        assert learned > 0.03, (
            f"after 400 episodes with noisy rewards both tables should hold noisy "
            f"estimates of Q(1, .), yet one of them averages |Q| = {learned:.3f}: "
            "update the tables from the rewards")
        estimates.append(float(((Q1[0] + Q2[0]) / 2).mean()))
    # Q*(0, .) = 0. Over 8 runs, the mean estimate of Q(0, .) is about +0.29 (spread
    # 0.02) when each table values its own choice, as Q-learning does; Double Q's is
    # about 0.00 (spread 0.035), so the margin 0.15 is 4 spreads from either.
    assert np.mean(estimates) < 0.15, (
        f"every action is worth 0 in expectation, but the mean estimate of Q(0, .) over "
        f"8 runs is {np.mean(estimates):.3f}: value the next action with the OTHER "
        "table (choosing and valuing with the same table brings back Q-learning's "
        "maximisation bias)")
