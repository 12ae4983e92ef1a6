"""The small models and environments the graded tests run a learner on.

They live in the package, not in a test file, so that a test can build them on the
notebook's side with ``student.make`` (``exercises.Student.make``): a learner steps
one thousands of times, and in the grader each step would otherwise be a round trip
across the sandbox's channel. Each docstring gives the environment's Q* in closed
form; the tests compute their expectations from it, never from what the notebook's
process reports about itself beyond what ``Watched`` and ``CountedModel`` recorded.
"""

import gymnasium as gym
from gymnasium import spaces

READ_BUDGET_MESSAGE = "policy_iteration read the model more than"


class CountedModel(dict):
    """A model P (chapter 02) that counts how often P[s] is read and stops a run that
    never ends: policy iteration on the tests' tiny models needs far fewer reads than
    ``budget``, so a run past it is cycling between policies, and says so at once
    (``advice`` is added to the message) rather than at the time limit."""

    def __init__(self, P, budget, advice=""):
        super().__init__(P)
        self.reads, self.budget, self.advice = 0, budget, advice

    def __getitem__(self, state):
        self.reads += 1
        if self.reads > self.budget:
            raise RuntimeError(f"{READ_BUDGET_MESSAGE} {self.budget} times without "
                               f"stopping: {self.advice}")
        return super().__getitem__(state)


class Watched(gym.Wrapper):
    """Wraps every test environment: records the seed of every reset and the actions of
    every episode, and stops a learner that steps on after an episode ended (on an
    environment that is only ever truncated it would never stop)."""

    def __init__(self, env):
        super().__init__(env)
        self.reset_seeds, self.actions, self._ended_by = [], [], "not reset"

    def reset(self, *, seed=None, options=None):
        self.reset_seeds.append(seed)
        self.actions.append([])
        self._ended_by = None
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        assert self._ended_by != "not reset", (
            "env.step was called before env.reset(): reset the environment at the start "
            "of every episode")
        assert self._ended_by is None, (
            f"env.step was called after the environment returned {self._ended_by}=True, "
            "without env.reset(): an episode ends when terminated OR truncated is True "
            "(a time limit says truncated, and the episode is over all the same)")
        self.actions[-1].append(int(action))
        observation, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            self._ended_by = "terminated" if terminated else "truncated"
        return observation, reward, terminated, truncated, info


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


class PenaltyArmEnv(gym.Env):
    """One state, two actions, one step per episode: action 0 costs -1, action 1 pays 0.

    Greedy on Q1 + Q2 (epsilon = 0), action 0 is taken at most once: the first time
    it is taken, one table learns a negative value for it, the sum turns negative,
    and action 1 (worth 0 in both tables) is greedy from then on.
    """

    observation_space = spaces.Discrete(1)
    action_space = spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, (-1.0, 0.0)[int(action)], True, False, {}


class TieEnv(gym.Env):
    """One state, four actions, reward 0, one step per episode: the tables stay 0, so
    all four actions are tied in every episode."""

    observation_space = spaces.Discrete(1)
    action_space = spaces.Discrete(4)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 0.0, True, False, {}


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


class ChainEnv(gym.Env):
    """Five states in a row, start 0, goal 4 (terminates); action 1 moves right, action 0
    left (a wall at 0). Every step costs -1, so the tables change from the first step.
    With slip > 0 a move goes the other way with that probability, drawn from the
    environment's own generator: then the run depends on env.reset(seed=...) too."""

    observation_space = spaces.Discrete(5)
    action_space = spaces.Discrete(2)

    def __init__(self, slip=0.0):
        self.slip = slip

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.state = 0
        return 0, {}

    def step(self, action):
        move = 1 if int(action) == 1 else -1
        if self.slip and self.np_random.random() < self.slip:
            move = -move
        self.state = min(max(self.state + move, 0), 4)
        return self.state, -1.0, self.state == 4, False, {}


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
