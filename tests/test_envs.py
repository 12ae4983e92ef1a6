"""GridWorldEnv, the book's running example: every claim of its docstring, tested."""

import doctest
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rlbook_utils import envs
from rlbook_utils.envs import DOWN, LEFT, RIGHT, UP, GridWorldEnv

START, RED, GOAL = 0, 1, 2


def walk(env, state, action):
    """One step of `env` from `state`, whatever happened before."""
    env.reset(seed=0)
    env.unwrapped.s = state
    return env.step(action)


def test_action_constants_follow_frozenlake_order():
    assert (LEFT, DOWN, RIGHT, UP) == (0, 1, 2, 3), "use FrozenLake's action order"
    assert envs.ACTION_NAMES == ("left", "down", "right", "up")


def test_default_layout_is_the_seed_grid():
    env = GridWorldEnv()
    assert (env.n_rows, env.n_cols, env.n_states, env.n_actions) == (2, 3, 6, 4)
    assert (env.start_state, env.goal_state, env.red_states) == (START, GOAL, (RED,))
    assert env.observation_space == gymnasium.spaces.Discrete(6)
    assert env.action_space == gymnasium.spaces.Discrete(4)
    assert env.to_state(1, 2) == 5, "state = row * n_cols + col"
    assert env.to_cell(5) == (1, 2), "to_cell must invert to_state"


def test_passes_gymnasium_env_checker():
    with warnings.catch_warnings():
        # Without a spec, check_env cannot try the other render modes and says so.
        warnings.filterwarnings("ignore", message=".*alternative render modes.*")
        check_env(GridWorldEnv())
    check_env(gymnasium.make("rlbook/GridWorld-v0").unwrapped)


def test_model_has_frozenlake_format():
    frozen_lake_P = gymnasium.make("FrozenLake-v1").unwrapped.P
    env = GridWorldEnv()
    assert type(env.P) is type(frozen_lake_P), "P must be a dict of states"
    assert sorted(env.P) == list(range(env.n_states)), "P needs one entry per state"
    for s in env.P:
        assert type(env.P[s]) is type(frozen_lake_P[0]), f"P[{s}]: a dict of actions"
        assert sorted(env.P[s]) == list(range(env.n_actions)), f"P[{s}]: every action"
        for a, transitions in env.P[s].items():
            assert type(transitions) is type(frozen_lake_P[0][0]), f"P[{s}][{a}]: list"
            for transition in transitions:
                assert isinstance(transition, tuple) and len(transition) == 4, (
                    f"P[{s}][{a}] holds (prob, next_state, reward, terminated) tuples"
                )
                _, next_state, _, terminated = transition
                assert 0 <= next_state < env.n_states
                assert isinstance(terminated, bool)
            total = sum(prob for prob, _, _, _ in transitions)
            assert total == pytest.approx(1.0), f"P[{s}][{a}] sums to {total}, not 1"


def test_step_agrees_with_model_everywhere():
    env = GridWorldEnv()
    for s in range(env.n_states):
        if s == env.goal_state:
            continue
        for a in range(env.n_actions):
            [(prob, next_state, reward, terminated)] = env.P[s][a]
            obs, step_reward, step_terminated, truncated, info = walk(env, s, a)
            assert obs == next_state and step_reward == reward, (
                f"step from state {s} with action {a} disagrees with P[{s}][{a}]"
            )
            assert step_terminated == terminated, f"terminated differs at ({s}, {a})"
            assert type(obs) is int and type(step_reward) is float
            assert truncated is False and info == {"prob": prob}


def test_moving_off_the_grid_stays_put():
    env = GridWorldEnv()
    assert walk(env, START, LEFT)[0] == START, "left from the top-left corner"
    assert walk(env, START, UP)[0] == START, "up from the top row"
    assert walk(env, 5, RIGHT)[0] == 5, "right from the bottom-right corner"
    assert walk(env, 5, DOWN)[0] == 5, "down from the bottom row"


def test_entering_red_costs_ten_and_goes_on():
    env = GridWorldEnv()
    obs, reward, terminated, _, _ = walk(env, START, RIGHT)
    assert (obs, reward, terminated) == (RED, -10.0, False)
    obs, reward, terminated, _, _ = walk(env, RED, UP)
    assert (obs, reward, terminated) == (RED, -10.0, False), (
        "bumping a wall while on the red square ends the step on red: -10 again"
    )


def test_entering_goal_pays_ten_and_terminates():
    env = GridWorldEnv()
    obs, reward, terminated, truncated, _ = walk(env, RED, RIGHT)
    assert (obs, reward, terminated, truncated) == (GOAL, 10.0, True, False)
    obs, reward, terminated, _, _ = walk(env, 5, UP)
    assert (obs, reward, terminated) == (GOAL, 10.0, True)


def test_goal_is_absorbing_in_model():
    env = GridWorldEnv()
    for a in range(env.n_actions):
        assert env.P[GOAL][a] == [(1.0, GOAL, 0.0, True)], f"P[goal][{a}] must absorb"


def test_make_truncates_after_100_steps():
    env = gymnasium.make("rlbook/GridWorld-v0")
    env.reset(seed=0)
    for step in range(1, 101):
        _, _, terminated, truncated, _ = env.step(LEFT)  # stays on the start cell
        assert not terminated
        assert truncated == (step == 100), f"truncated={truncated} at step {step}"


def test_same_seed_gives_same_trajectory():
    def trajectory(seed):
        env = GridWorldEnv()
        env.action_space.seed(seed)
        steps = [env.reset(seed=seed)]
        for _ in range(20):
            steps.append(env.step(env.action_space.sample()))
        return steps

    assert trajectory(0) == trajectory(0)


def test_render_ansi_marks_agent_red_and_goal():
    env = GridWorldEnv(render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str)
    assert "[S]" in text, f"the agent should be in brackets on the start:\n{text}"
    assert "R" in text and "G" in text, f"red square and goal should be marked:\n{text}"
    env.step(DOWN)
    assert "[.]" in env.render()


def test_render_rgb_array_draws_red_and_green_cells():
    env = GridWorldEnv(render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[:2] == (2 * 64, 3 * 64), "about 64 pixels per cell"
    red, green, blue = (image[..., i].astype(int) for i in range(3))
    assert np.any((red > 150) & (green < 100) & (blue < 100)), "no red pixels"
    assert np.any((green > 120) & (red < 100) & (blue < 120)), "no green pixels"


@pytest.mark.parametrize("layout, message", [
    (("SR", "..."), "same length"),
    (("SRR", "..."), "one G"),
    (("SRG", "S.."), "one S"),
    (("SXG", "..."), "unknown cell"),
    ((), "non-empty"),
])
def test_bad_layout_raises(layout, message):
    with pytest.raises(ValueError, match=message):
        GridWorldEnv(layout=layout)


def test_other_layouts_work():
    env = GridWorldEnv(layout=("S.R", "RRG"))
    assert (env.start_state, env.goal_state, env.red_states) == (0, 5, (2, 3, 4))


def test_optimal_policy_walks_around_the_red_square():
    env = GridWorldEnv()
    gamma = 0.9
    V = np.zeros(env.n_states)
    for _ in range(200):
        Q = np.array([[sum(prob * (reward + gamma * V[next_state] * (not terminated))
                           for prob, next_state, reward, terminated in env.P[s][a])
                       for a in range(env.n_actions)]
                      for s in range(env.n_states)])  # [n_states, n_actions]
        V = Q.max(axis=1)

    state, path = env.start_state, []
    while state != env.goal_state and len(path) < 10:
        action = int(np.argmax(Q[state]))
        path.append(action)
        state = env.P[state][action][0][1]
        assert state not in env.red_states, f"greedy path {path} enters the red square"
    assert path == [DOWN, RIGHT, RIGHT, UP], f"greedy path from start is {path}"
    assert V[env.start_state] == pytest.approx(0.9**3 * 10, abs=1e-6)


def test_docstring_example_runs():
    result = doctest.testmod(envs)
    assert result.attempted > 0 and result.failed == 0, "GridWorldEnv's Example fails"
