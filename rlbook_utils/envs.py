"""The 2×3 grid world as a Gymnasium environment.

Introduced in chapter 02; used again in chapter 03.

Importing this module registers the environment as ``"rlbook/GridWorld-v0"``, so
``gymnasium.make("rlbook/GridWorld-v0")`` works after ``import rlbook_utils.envs``.
"""

import gymnasium
import numpy as np
from gymnasium import spaces

# The action order of FrozenLake-v1, so the same DP and plotting code runs on both.
LEFT = 0
DOWN = 1
RIGHT = 2
UP = 3
ACTION_NAMES = ("left", "down", "right", "up")

GOAL_REWARD = 10.0
RED_REWARD = -10.0

DEFAULT_LAYOUT = ("SRG", "...")
_CELL_CHARS = "SRG."
_MOVES = {LEFT: (0, -1), DOWN: (1, 0), RIGHT: (0, 1), UP: (-1, 0)}  # (d_row, d_col)

_CELL_PX = 64
_WHITE = (255, 255, 255)
_RED = (220, 50, 47)
_GREEN = (40, 160, 70)
_AGENT = (40, 40, 60)
_GRID_LINE = (90, 90, 90)


class GridWorldEnv(gymnasium.Env):
    """The book's running example: a small deterministic grid with a red square.

    ## Description
    The default grid has 2 rows and 3 columns. The agent starts top-left (S), a red
    square (R) sits next to it and the goal (G) is top-right::

        S R G
        . . .

    Walking straight right crosses the red square; the best path goes around it:
    down, right, right, up. Other grids can be given with ``layout``: one string per
    row, ``S`` = start, ``R`` = red square, ``G`` = goal, ``.`` = empty; exactly one
    ``S`` and one ``G``, any number of ``R``.

    ## Action Space
    ``Discrete(4)``, in FrozenLake-v1's order:

    - 0: LEFT
    - 1: DOWN
    - 2: RIGHT
    - 3: UP

    A move off the grid leaves the agent where it is.

    ## Observation Space
    ``Discrete(n_states)``: the agent's cell as ``row * n_cols + col`` (a Python
    int). In the default grid the states are 0..5: start 0, red 1, goal 2.

    ## Rewards
    - +10 for the step that enters the goal.
    - -10 for every step that ends on a red square, including a bump into a wall
      while standing on it. The episode goes on.
    - 0 otherwise.

    The tabular model is ``P[s][a] = [(prob, next_state, reward, terminated)]``,
    as in Gymnasium's toy-text environments; ``step`` samples from it. The goal is
    absorbing: ``P[goal][a] == [(1.0, goal, 0.0, True)]`` for every action.

    ## Episode End
    The episode terminates when the agent enters the goal. With
    ``gymnasium.make("rlbook/GridWorld-v0")`` it is truncated after 100 steps.

    ## Example
    >>> import gymnasium
    >>> import rlbook_utils.envs  # registers "rlbook/GridWorld-v0"
    >>> env = gymnasium.make("rlbook/GridWorld-v0")
    >>> env.reset(seed=0)
    (0, {'prob': 1.0})
    >>> env.step(rlbook_utils.envs.RIGHT)  # onto the red square
    (1, -10.0, False, False, {'prob': 1.0})
    >>> env.step(rlbook_utils.envs.RIGHT)  # into the goal
    (2, 10.0, True, False, {'prob': 1.0})
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, render_mode=None, layout=DEFAULT_LAYOUT):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.layout = _validate_layout(layout)
        self.n_rows = len(self.layout)
        self.n_cols = len(self.layout[0])
        self.n_states = self.n_rows * self.n_cols
        self.n_actions = len(ACTION_NAMES)

        cells = "".join(self.layout)  # cells[s] is the character of state s
        self.start_state = cells.index("S")
        self.goal_state = cells.index("G")
        self.red_states = tuple(s for s, char in enumerate(cells) if char == "R")

        self.observation_space = spaces.Discrete(self.n_states)
        self.action_space = spaces.Discrete(self.n_actions)
        self.P = self._build_model()

        self.s = self.start_state
        self.last_action = None

    def _build_model(self):
        """P[s][a] = [(prob, next_state, reward, terminated)], FrozenLake's format."""
        P = {}
        for s in range(self.n_states):
            P[s] = {}
            for a in range(self.n_actions):
                if s == self.goal_state:
                    # Absorbing, as in FrozenLake: DP can sweep every state safely.
                    P[s][a] = [(1.0, s, 0.0, True)]
                    continue
                next_state = self._move(s, a)
                if next_state == self.goal_state:
                    reward = GOAL_REWARD
                elif next_state in self.red_states:
                    reward = RED_REWARD
                else:
                    reward = 0.0
                terminated = next_state == self.goal_state
                P[s][a] = [(1.0, next_state, reward, terminated)]
        return P

    def _move(self, state, action):
        row, col = self.to_cell(state)
        d_row, d_col = _MOVES[action]
        new_row, new_col = row + d_row, col + d_col
        if not (0 <= new_row < self.n_rows and 0 <= new_col < self.n_cols):
            return state  # off the grid: stay put
        return self.to_state(new_row, new_col)

    def to_state(self, row, col):
        """The state index of cell (row, col): ``row * n_cols + col``."""
        if not (0 <= row < self.n_rows and 0 <= col < self.n_cols):
            raise ValueError(
                f"cell ({row}, {col}) is outside the {self.n_rows}x{self.n_cols} grid"
            )
        return int(row * self.n_cols + col)

    def to_cell(self, state):
        """The cell (row, col) of a state index."""
        if not 0 <= state < self.n_states:
            raise ValueError(f"state {state} is outside 0..{self.n_states - 1}")
        return int(state // self.n_cols), int(state % self.n_cols)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.s = self.start_state
        self.last_action = None
        return int(self.s), {"prob": 1.0}

    def step(self, action):
        action = int(action)
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in 0..{self.n_actions - 1}, got {action}")
        transitions = self.P[self.s][action]
        # Sampling from P (even when it is deterministic) keeps P and step in agreement.
        probs = np.array([prob for prob, _, _, _ in transitions])
        i = int(self.np_random.choice(len(transitions), p=probs))
        prob, next_state, reward, terminated = transitions[i]
        self.s = next_state
        self.last_action = action
        return int(next_state), float(reward), bool(terminated), False, {"prob": prob}

    def render(self):
        if self.render_mode is None:
            gymnasium.logger.warn(
                "render() called without a render_mode; create the environment with "
                'render_mode="ansi" or render_mode="rgb_array".'
            )
            return None
        if self.render_mode == "ansi":
            return self._render_text()
        return self._render_rgb()

    def _render_text(self):
        """One line per row; the agent's cell is in brackets, e.g. ``[S] R  G``."""
        agent_row, agent_col = self.to_cell(self.s)
        lines = []
        if self.last_action is not None:
            lines.append(f"({ACTION_NAMES[self.last_action]})")
        for row, row_chars in enumerate(self.layout):
            cells = []
            for col, char in enumerate(row_chars):
                here = (row, col) == (agent_row, agent_col)
                cells.append(f"[{char}]" if here else f" {char} ")
            lines.append("".join(cells).rstrip())
        return "\n".join(lines) + "\n"

    def _render_rgb(self):
        """A uint8 picture [n_rows * 64, n_cols * 64, 3], drawn with numpy only."""
        height, width = self.n_rows * _CELL_PX, self.n_cols * _CELL_PX
        image = np.full((height, width, 3), _WHITE, dtype=np.uint8)  # [H, W, 3]
        for s in range(self.n_states):
            row, col = self.to_cell(s)
            cell = image[row * _CELL_PX:(row + 1) * _CELL_PX,
                         col * _CELL_PX:(col + 1) * _CELL_PX]
            if s in self.red_states:
                cell[:] = _RED
            elif s == self.goal_state:
                cell[:] = _GREEN
        for row in range(self.n_rows + 1):
            y = min(row * _CELL_PX, height - 1)
            image[max(y - 1, 0):y + 1, :] = _GRID_LINE
        for col in range(self.n_cols + 1):
            x = min(col * _CELL_PX, width - 1)
            image[:, max(x - 1, 0):x + 1] = _GRID_LINE

        agent_row, agent_col = self.to_cell(self.s)
        ys, xs = np.mgrid[0:height, 0:width]
        centre_y = (agent_row + 0.5) * _CELL_PX
        centre_x = (agent_col + 0.5) * _CELL_PX
        in_circle = (ys - centre_y) ** 2 + (xs - centre_x) ** 2 <= (0.3 * _CELL_PX) ** 2
        image[in_circle] = _AGENT
        return image


def _validate_layout(layout):
    """The layout as a tuple of equal-length strings, or a ValueError saying why not."""
    if isinstance(layout, str) or len(layout) == 0:
        raise ValueError(
            "layout must be a non-empty sequence of row strings, e.g. ('SRG', '...'), "
            f"got {layout!r}"
        )
    rows = tuple(layout)
    if not all(isinstance(row, str) and len(row) > 0 for row in rows):
        raise ValueError(f"every layout row must be a non-empty string, got {rows!r}")
    if len({len(row) for row in rows}) != 1:
        raise ValueError(f"all layout rows must have the same length, got {rows!r}")
    unknown = sorted(set("".join(rows)) - set(_CELL_CHARS))
    if unknown:
        raise ValueError(
            f"layout has unknown cell characters {unknown}; use S=start, R=red, "
            "G=goal, .=empty"
        )
    for char, name in (("S", "start"), ("G", "goal")):
        count = "".join(rows).count(char)
        if count != 1:
            raise ValueError(
                f"layout needs exactly one {char} ({name}), found {count} in {rows!r}"
            )
    return rows


if "rlbook/GridWorld-v0" not in gymnasium.registry:
    gymnasium.register(
        id="rlbook/GridWorld-v0",
        entry_point="rlbook_utils.envs:GridWorldEnv",
        max_episode_steps=100,
    )
