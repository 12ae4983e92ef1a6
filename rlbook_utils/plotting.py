"""Value heatmaps with greedy-policy arrows for grid-shaped environments (chapters 02
and 03: the grid world, FrozenLake, CliffWalking), and learning curves over seeds as a
mean with a min-max band (chapters 01, 04 and 07).
"""

import matplotlib.pyplot as plt
import numpy as np

def plot_mean_band(ax, x, curves, label, color):
    """Runs' curves [n_runs, len(x)]: their mean as a line, their min-max range as a band."""
    curves = np.asarray(curves)
    ax.plot(x, curves.mean(axis=0), color=color, label=f"{label} (mean of {len(curves)} seeds)")
    ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2)


# Action index -> arrow. FrozenLake-v1's order, which rlbook's GridWorldEnv also uses.
FROZENLAKE_ARROWS = {0: "←", 1: "↓", 2: "→", 3: "↑"}
# CliffWalking-v1 numbers its actions differently: up, right, down, left.
CLIFFWALKING_ARROWS = {0: "↑", 1: "→", 2: "↓", 3: "←"}


def greedy_arrows(policy, arrows=FROZENLAKE_ARROWS):
    """The arrow(s) of each state's greedy action(s).

    | symbol   | shape                  | meaning                                   |
    |----------|------------------------|-------------------------------------------|
    | `policy` | [n_states, n_actions]  | pi(a given s): probabilities or one-hot   |
    | `arrows` | dict, n_actions keys   | action index -> arrow string              |
    | return   | list of n_states str   | arrows of the actions of maximal pi(a|s)  |

    Every action tied for the maximum (``np.isclose``) is kept, in action order, so
    a uniform random policy on FrozenLake gives ``"←↓→↑"`` for every state.

    >>> greedy_arrows([[0, 1, 0, 0], [0, 0.5, 0.5, 0]])
    ['↓', '↓→']
    """
    policy = np.asarray(policy, dtype=float)  # [n_states, n_actions]
    if policy.ndim != 2:
        raise ValueError(
            f"policy must be an array [n_states, n_actions], got shape {policy.shape}"
        )
    missing = [a for a in range(policy.shape[1]) if a not in arrows]
    if missing:
        raise ValueError(
            f"policy has {policy.shape[1]} actions but `arrows` has no arrow for "
            f"actions {missing}; pass the arrows of this environment's action order"
        )
    state_arrows = []
    for action_probs in policy:  # [n_actions]
        is_greedy = np.isclose(action_probs, action_probs.max())
        state_arrows.append("".join(arrows[a] for a in np.flatnonzero(is_greedy)))
    return state_arrows


TERMINAL_COLOUR = "#d9d9d9"  # light grey: a terminal state has no value to colour


def value_range(values_per_panel, terminal_states=()):
    """(vmin, vmax) over the non-terminal states of several value arrays.

    Panels of one figure share this range, so one colour means one value everywhere.
    """
    terminal = sorted({int(s) for s in terminal_states})
    kept = [np.delete(np.asarray(values, dtype=float).ravel(), terminal)
            for values in values_per_panel]
    kept = np.concatenate(kept)
    return float(kept.min()), float(kept.max())


def plot_values(values, shape, policy=None, ax=None, title=None,
                arrows=FROZENLAKE_ARROWS, terminal_states=(), cell_labels=None,
                cmap="RdYlGn", value_format="{:.2f}", vmin=None, vmax=None,
                colorbar=True):
    """Draw V(s) as a heatmap over the grid, with the greedy action(s) as arrows.

    | argument          | shape / type            | meaning                           |
    |-------------------|-------------------------|-----------------------------------|
    | `values`          | [n_states]              | V(s), s = row * n_cols + col      |
    | `shape`           | (n_rows, n_cols)        | the grid                          |
    | `policy`          | [n_states, n_actions]   | optional; arrows for argmax pi    |
    | `ax`              | matplotlib Axes or None | where to draw; None: new figure   |
    | `arrows`          | dict                    | action index -> arrow             |
    | `terminal_states` | iterable of int         | states drawn without an arrow     |
    | `cell_labels`     | dict {state: str}       | small text in a cell's corner     |
    | `vmin`, `vmax`    | float or None           | colour range; None: these values' |
    | `colorbar`        | bool                    | draw this panel's colour bar      |
    | return            | matplotlib Axes         | the axes drawn on                 |

    Each cell shows its value; with a policy, every action tied for the largest
    probability gets an arrow (see ``greedy_arrows``). Terminal states have no future,
    so they are painted grey and labelled "terminal" instead of being coloured by their
    value 0 (which would paint a goal in the colour of the worst state). The colour
    range covers the non-terminal states; a figure of several panels passes one
    ``value_range(...)`` to all of them and draws one colour bar. Does not call
    ``plt.show()``.

    Example, the grid world of chapter 02::

        plot_values(V, (2, 3), policy=pi, terminal_states=[2],
                    cell_labels={0: "start", 1: "red", 2: "goal"}, title="V of pi")
    """
    n_rows, n_cols = shape
    n_states = n_rows * n_cols
    values = np.asarray(values, dtype=float)
    if values.size != n_states:
        raise ValueError(
            f"values has {values.size} entries but a grid of shape {tuple(shape)} "
            f"has {n_rows} * {n_cols} = {n_states} states"
        )
    value_grid = values.reshape(n_rows, n_cols)  # [n_rows, n_cols]
    state_arrows = None
    if policy is not None:
        policy = np.asarray(policy, dtype=float)
        if policy.ndim != 2 or policy.shape[0] != n_states:
            raise ValueError(
                f"policy must be an array [n_states={n_states}, n_actions], "
                f"got shape {policy.shape}"
            )
        state_arrows = greedy_arrows(policy, arrows)
    terminal_states = {int(s) for s in terminal_states}
    cell_labels = cell_labels or {}
    for s in terminal_states | set(cell_labels):
        if not 0 <= s < n_states:
            raise ValueError(f"state {s} is outside the grid's 0..{n_states - 1}")

    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * n_cols + 1.6, 1.1 * n_rows + 1.0))
    figure = ax.figure
    is_terminal = np.zeros(n_states, dtype=bool)
    is_terminal[list(terminal_states)] = True
    if is_terminal.all():
        raise ValueError("every state is terminal: there is no value to draw")
    if vmin is None or vmax is None:
        low, high = value_range([values], terminal_states)
        vmin = low if vmin is None else vmin
        vmax = high if vmax is None else vmax
    colours = plt.get_cmap(cmap).with_extremes(bad=TERMINAL_COLOUR)
    shown = np.ma.masked_array(value_grid, mask=is_terminal.reshape(n_rows, n_cols))
    image = ax.imshow(shown, cmap=colours, vmin=vmin, vmax=vmax)
    if colorbar:
        figure.colorbar(image, ax=ax, label="V(s)", fraction=0.046, pad=0.04)

    ax.set_xticks(np.arange(n_cols))
    ax.set_yticks(np.arange(n_rows))
    ax.set_xticks(np.arange(n_cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n_rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    if title is not None:
        ax.set_title(title)

    font_size = _cell_font_size(ax, n_rows, n_cols)
    value_y_offset = -0.15 if state_arrows is not None else 0.0
    for s in range(n_states):
        row, col = divmod(s, n_cols)
        if s in terminal_states:
            text_colour = "black"
            ax.text(col, row, "terminal", ha="center", va="center",
                    fontsize=0.7 * font_size, color="dimgray")
        else:
            text_colour = _readable_text_colour(image, values[s])
            ax.text(col, row + value_y_offset, value_format.format(values[s]),
                    ha="center", va="center", fontsize=font_size, color=text_colour)
        if state_arrows is not None and s not in terminal_states:
            ax.text(col, row + 0.22, state_arrows[s], ha="center", va="center",
                    fontsize=1.2 * font_size, color=text_colour)
        if s in cell_labels:
            ax.text(col - 0.45, row - 0.42, cell_labels[s], ha="left", va="top",
                    fontsize=0.65 * font_size, color=text_colour)
    return ax


def _cell_font_size(ax, n_rows, n_cols):
    """A font size in points that fits a value like "-10.00" in one cell of `ax`."""
    ax.apply_aspect()  # imshow's equal aspect shrinks the axes; measure the result
    position = ax.get_position()  # in figure fractions
    width_in, height_in = ax.figure.get_size_inches()
    cell_points = 72 * min(position.width * width_in / n_cols,
                           position.height * height_in / n_rows)
    return float(np.clip(0.18 * cell_points, 5, 12))


def _readable_text_colour(image, value):
    """White text on dark cells, black on light ones."""
    red, green, blue, _ = image.cmap(image.norm(value))
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    return "white" if luminance < 0.45 else "black"
