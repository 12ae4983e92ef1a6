"""plot_values and greedy_arrows: heatmaps of V(s) with the greedy policy's arrows."""

import matplotlib

matplotlib.use("Agg")

import doctest  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rlbook_utils import plotting  # noqa: E402
from rlbook_utils.plotting import (  # noqa: E402
    CLIFFWALKING_ARROWS,
    FROZENLAKE_ARROWS,
    greedy_arrows,
    plot_mean_band,
    plot_values,
)

ALL_ARROWS = set("←↓→↑")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def arrow_texts(ax):
    """{(row, col): arrow text} for every text of `ax` that holds an arrow."""
    found = {}
    for text in ax.texts:
        if set(text.get_text()) & ALL_ARROWS:
            x, y = text.get_position()
            found[(round(y), round(x))] = text.get_text()
    return found


def test_plot_values_draws_the_reshaped_values():
    values = np.arange(6, dtype=float)
    ax = plot_values(values, (2, 3), title="V")
    assert isinstance(ax, matplotlib.axes.Axes)
    assert len(ax.images) == 1, "expected one heatmap image"
    np.testing.assert_array_equal(ax.images[0].get_array(), values.reshape(2, 3))
    assert ax.get_title() == "V"
    assert "{:.2f}".format(5.0) in [text.get_text() for text in ax.texts]
    colorbar = ax.images[0].colorbar
    assert colorbar is not None and colorbar.ax.get_ylabel() == "V(s)"


def test_greedy_arrows_of_a_one_hot_policy():
    policy = np.eye(4)  # state s takes action s
    assert greedy_arrows(policy) == ["←", "↓", "→", "↑"]
    assert greedy_arrows(policy, CLIFFWALKING_ARROWS) == ["↑", "→", "↓", "←"]


def test_tied_actions_all_get_arrows():
    policy = np.array([[0.0, 0.5, 0.5, 0.0],
                       [0.25, 0.25, 0.25, 0.25]])
    assert greedy_arrows(policy) == ["↓→", "←↓→↑"]


def test_greedy_arrows_rejects_missing_arrows():
    with pytest.raises(ValueError, match="no arrow"):
        greedy_arrows(np.ones((2, 5)) / 5, FROZENLAKE_ARROWS)


def test_plot_values_draws_policy_arrows_except_on_terminal_states():
    policy = np.tile([0.0, 0.0, 1.0, 0.0], (6, 1))  # always right
    ax = plot_values(np.zeros(6), (2, 3), policy=policy, terminal_states=[2],
                     cell_labels={0: "start", 1: "red", 2: "goal"})
    arrows = arrow_texts(ax)
    assert (0, 2) not in arrows, "the terminal state (row 0, col 2) must have no arrow"
    assert arrows == {(row, col): "→" for row in range(2) for col in range(3)
                      if (row, col) != (0, 2)}
    labels = [text.get_text() for text in ax.texts]
    assert {"start", "red", "goal"} <= set(labels), "cell labels missing"


def test_wrong_number_of_values_raises():
    with pytest.raises(ValueError, match="5 entries"):
        plot_values(np.zeros(5), (2, 3))


def test_wrong_policy_shape_raises():
    with pytest.raises(ValueError, match="policy"):
        plot_values(np.zeros(6), (2, 3), policy=np.ones((5, 4)) / 4)


def test_cliffwalking_grid_with_its_arrows():
    policy = np.tile([0.0, 1.0, 0.0, 0.0], (48, 1))  # CliffWalking's 1 = right
    figure, ax = plt.subplots()
    returned = plot_values(np.linspace(-13, 0, 48), (4, 12), policy=policy, ax=ax,
                           arrows=CLIFFWALKING_ARROWS, terminal_states=[47])
    assert returned is ax, "plot_values must draw on the axes it is given"
    assert ax.images[0].get_array().shape == (4, 12)
    arrows = arrow_texts(ax)
    assert len(arrows) == 47 and set(arrows.values()) == {"→"}
    figure.canvas.draw()  # renders under Agg without errors


def test_docstring_example_runs():
    result = doctest.testmod(plotting)
    assert result.attempted > 0 and result.failed == 0, "greedy_arrows' example fails"


def test_terminal_states_are_grey_and_the_colour_range_skips_them():
    values = np.array([7.0, 10.0, 0.0, 8.0, 9.0, 10.0])  # state 2 is the goal, value 0
    ax = plot_values(values, (2, 3), terminal_states=[2])
    image = ax.images[0]
    assert image.get_array().mask.ravel().tolist() == [False, False, True, False, False,
                                                       False]
    assert image.norm.vmin == 7.0 and image.norm.vmax == 10.0, (
        "the goal's 0 must not stretch the colour range down to the worst colour")
    texts = [text.get_text() for text in ax.texts]
    assert "terminal" in texts and "0.00" not in texts
    grey = matplotlib.colors.to_rgba(plotting.TERMINAL_COLOUR)
    assert image.cmap.get_bad() == pytest.approx(grey)


def test_panels_share_one_colour_range():
    first, second = np.array([0.0, 1.0, 2.0, 3.0]), np.array([-4.0, 0.0, 5.0, 9.0])
    vmin, vmax = plotting.value_range([first, second], terminal_states=[3])
    assert (vmin, vmax) == (-4.0, 5.0)
    _, (ax_a, ax_b) = plt.subplots(1, 2)
    plot_values(first, (2, 2), ax=ax_a, vmin=vmin, vmax=vmax, colorbar=False)
    plot_values(second, (2, 2), ax=ax_b, vmin=vmin, vmax=vmax)
    assert ax_a.images[0].norm.vmin == ax_b.images[0].norm.vmin == -4.0
    assert ax_a.images[0].colorbar is None and ax_b.images[0].colorbar is not None


def test_plot_mean_band_draws_the_mean_and_the_range_over_runs():
    # three runs, three points; a mean +- std band would reach -0.41 and 8.83, not 0 and 10
    curves = np.array([[0.0, 2.0, 4.0], [0.0, 2.0, 4.0], [3.0, 5.0, 10.0]])
    fig, ax = plt.subplots()
    plot_mean_band(ax, [1, 2, 3], curves, "DQN", "C0")
    (line,) = ax.lines
    assert np.allclose(line.get_ydata(), [1.0, 3.0, 6.0])
    assert line.get_label() == "DQN (mean of 3 seeds)"
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(band.min(), 0.0) and np.isclose(band.max(), 10.0)
