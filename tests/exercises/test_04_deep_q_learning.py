"""Graded tests of chapter 04: Deep Q-learning.

Every expected value is computed here, independently of the reference solution: by hand
for tiny batches (the arithmetic is in the comments). Nothing is trained; nothing is
random.
"""

import numpy as np
import torch

from rlbook_utils.exercises import exercise


def _as_array(got, name, shape):
    """The student's result as a float numpy array, after checking type and shape."""
    assert isinstance(got, torch.Tensor), (
        f"{name} should return a torch tensor, got {type(got).__name__}: the loss that "
        "uses the targets is computed in torch (convert with torch.as_tensor)")
    assert got.is_floating_point(), f"{name} should return floats, got {got.dtype}"
    array = got.detach().numpy()
    assert array.shape == shape, (
        f"{name} should return shape {shape}, got {array.shape}")
    return array.astype(np.float64)


# --------------------------------------------------------------------------- #
# Exercise 4.1: huber_loss(predicted, target, delta=1.0)
# --------------------------------------------------------------------------- #
def _huber(student, predicted, target, **kwargs):
    loss = student.huber_loss(torch.tensor(predicted), torch.tensor(target), **kwargs)
    assert isinstance(loss, torch.Tensor), (
        f"huber_loss should return a torch tensor, got {type(loss).__name__}: do not call "
        ".item(), the optimiser needs the graph")
    assert loss.dim() == 0, (
        f"huber_loss should return one number (shape []), got shape {tuple(loss.shape)}: "
        "average the per-transition losses over the batch")
    return float(loss.detach())


@exercise("huber_loss", points=2)
def test_huber_is_quadratic_inside_and_linear_outside_delta_1(student):
    """Delta 1: 0.5 x^2 for small errors, |x| - 0.5 for large ones, batch mean."""
    # errors 0.5, 3, -2: 0.125, 3 - 0.5 = 2.5, 2 - 0.5 = 1.5; mean 4.125 / 3 = 1.375
    got = _huber(student, [0.5, 3.0, -2.0], [0.0, 0.0, 0.0])
    assert abs(got - 1.375) < 1e-5, (
        f"errors [0.5, 3, -2] with delta 1 give losses [0.125, 2.5, 1.5], mean 1.375; got "
        f"{got:.4f} (mean squared error / 2 would be {(0.25 + 9 + 4) / 6:.4f}, the sum "
        "4.125): 0.5 x^2 inside |x| <= delta, delta * (|x| - delta / 2) outside, then mean")


@exercise("huber_loss", points=2)
def test_huber_uses_predicted_minus_target_and_is_symmetric(student):
    """The error is predicted - target; negative errors cost as much as positive ones."""
    # errors 2 - 5 = -3 and 1 - (-1) = 2: losses 2.5 and 1.5, mean 2.0
    got = _huber(student, [2.0, 1.0], [5.0, -1.0])
    assert abs(got - 2.0) < 1e-5, (
        f"predicted [2, 1] against target [5, -1] are errors [-3, 2], losses [2.5, 1.5], "
        f"mean 2.0; got {got:.4f}: the linear piece uses |x|, so a negative error costs as "
        "much as a positive one")


@exercise("huber_loss", points=2)
def test_huber_threshold_delta_scales_the_linear_piece(student):
    """Delta 2: delta * (|x| - delta / 2) outside, which is not smooth_l1_loss(beta=2)."""
    # errors 1 and -3 with delta 2: 0.5 * 1 = 0.5 and 2 * (3 - 1) = 4; mean 2.25
    got = _huber(student, [1.0, -3.0], [0.0, 0.0], delta=2.0)
    assert abs(got - 2.25) < 1e-5, (
        f"errors [1, -3] with delta 2 give losses [0.5, 2 * (3 - 1) = 4], mean 2.25; got "
        f"{got:.4f} (smooth_l1_loss with beta 2 gives 1.125, the Huber loss divided by "
        "delta): use delta in both the threshold and the linear piece")


@exercise("huber_loss", points=2)
def test_huber_gradient_is_the_error_inside_and_bounded_by_delta_outside(student):
    """d loss / d predicted_j = x_j / B inside delta, sign(x_j) * delta / B outside."""
    predicted = torch.tensor([0.5, 10.0, -10.0, -1.5], requires_grad=True)
    loss = student.huber_loss(predicted, torch.zeros(4), delta=2.0)
    assert isinstance(loss, torch.Tensor) and loss.requires_grad, (
        "huber_loss's result carries no gradient: keep it a tensor computed from "
        "`predicted` (no .item(), no torch.no_grad(), no .detach())")
    loss.backward()
    expected = np.array([0.5, 2.0, -2.0, -1.5]) / 4
    got = predicted.grad.numpy()
    assert np.allclose(got, expected, atol=1e-6), (
        f"with delta 2 the gradient of the mean loss should be [0.5, 2, -2, -1.5] / 4 = "
        f"{expected.tolist()}, got {got.round(4).tolist()}: inside the threshold it is "
        "x / B, outside it never exceeds delta / B")


@exercise("huber_loss", points=2)
def test_huber_default_delta_is_1_and_matches_smooth_l1(student):
    """With its default delta the loss equals F.smooth_l1_loss on a batch of errors."""
    predicted = torch.tensor([0.0, 0.3, -0.9, 1.0, 1.7, -4.0, 12.0])
    target = torch.tensor([0.0, -0.2, 0.0, 0.0, 0.2, 0.5, 2.0])
    # errors 0, 0.5, -0.9, 1, 1.5, -4.5, 10 -> 0, 0.125, 0.405, 0.5, 1, 4, 9.5
    expected = (0.0 + 0.125 + 0.405 + 0.5 + 1.0 + 4.0 + 9.5) / 7
    loss = student.huber_loss(predicted, target)
    assert isinstance(loss, torch.Tensor), (
        f"huber_loss should return a torch tensor, got {type(loss).__name__}")
    got = float(loss.detach())
    assert abs(got - expected) < 1e-5, (
        f"huber_loss(predicted, target) with the default delta = 1 should be {expected:.4f} "
        f"here, got {got:.4f}: is the default delta 1.0, and is the boundary |x| <= delta "
        "quadratic?")


# --------------------------------------------------------------------------- #
# Exercise 4.2: double_dqn_target(rewards, next_q_online, next_q_target, terminated, gamma)
# --------------------------------------------------------------------------- #
# Three next states, three actions; in every row the online net's argmax, the target net's
# argmax and the online argmax valued online all differ, so each slip has its own answer.
DOUBLE_ONLINE = [[1.0, 2.0, 0.0],    # online argmax 1
                 [3.0, 0.0, 1.0],    # online argmax 0
                 [0.0, 1.0, 4.0]]    # online argmax 2
DOUBLE_TARGET = [[5.0, 4.0, 1.0],    # target argmax 0 (max 5); at the online choice: 4
                 [6.0, 7.0, 2.0],    # target argmax 1 (max 7); at the online choice: 6
                 [9.0, 2.0, 3.0]]    # target argmax 0 (max 9); at the online choice: 3
# With rewards 0, gamma 1, no ending, the targets are:
#   Double DQN (online picks, target values) [4, 6, 3]
#   DQN (max of the target net)              [5, 7, 9]
#   max of the online net                    [2, 3, 4]
#   swapped (target picks, online values)    [1, 0, 0]


def _double(student, rewards, terminated, gamma, online=DOUBLE_ONLINE, target=DOUBLE_TARGET):
    got = student.double_dqn_target(torch.tensor(rewards), torch.tensor(online),
                                    torch.tensor(target), torch.tensor(terminated), gamma)
    assert isinstance(got, torch.Tensor), (
        f"double_dqn_target should return a torch tensor, got {type(got).__name__}")
    assert tuple(got.shape) == (len(rewards),), (
        f"double_dqn_target should return one target per transition, shape "
        f"({len(rewards)},), got {tuple(got.shape)}: after gather(1, ...) squeeze the "
        "action dimension, and index each row with its own action")
    return got.detach().numpy().astype(np.float64)


@exercise("double_dqn_target", points=3)
def test_online_net_chooses_and_target_net_values(student):
    """a* = argmax of the online values per row; its value is read from the target net."""
    got = _double(student, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 1.0)
    wrong = {(5, 7, 9): "the max of the target net: that is plain DQN's target",
             (2, 3, 4): "the max of the online net: the online net only chooses the action",
             (1, 0, 0): "the online net's value of the target net's choice: the roles are "
                        "swapped"}
    for values, why in wrong.items():
        assert not np.allclose(got, values), (
            f"got {got.tolist()}, {why}. Choose a* = argmax of next_q_online in each row, "
            "then read next_q_target at a*")
    assert np.allclose(got, [4.0, 6.0, 3.0]), (
        f"with r = 0 and gamma = 1 the targets are next_q_target at the online argmax, "
        f"[4, 6, 3]; got {got.round(4).tolist()}")


@exercise("double_dqn_target", points=3)
def test_reward_plus_discounted_value_of_the_online_choice(student):
    """y = r + gamma * Q_target(s', a*): the reward is not discounted, the value is."""
    got = _double(student, [1.0, -2.0, 0.5], [0.0, 0.0, 0.0], 0.5)
    expected = [1.0 + 0.5 * 4.0, -2.0 + 0.5 * 6.0, 0.5 + 0.5 * 3.0]  # [3.0, 1.0, 2.0]
    assert np.allclose(got, expected), (
        f"with rewards [1, -2, 0.5] and gamma 0.5 the targets are r + 0.5 * [4, 6, 3] = "
        f"{expected}; got {got.round(4).tolist()}: discount the next value, not the reward")


@exercise("double_dqn_target", points=3)
def test_terminated_transition_does_not_bootstrap(student):
    """Where terminated is 1 the target is the reward alone; where 0 it bootstraps."""
    got = _double(student, [2.0, -1.0, 1.0], [1.0, 0.0, 1.0], 0.9)
    expected = [2.0, -1.0 + 0.9 * 6.0, 1.0]
    assert np.allclose(got, expected), (
        f"terminated [1, 0, 1] should give [2, -1 + 0.9 * 6, 1] = "
        f"{np.round(expected, 4).tolist()}; got {got.round(4).tolist()}: multiply the "
        "bootstrap term by (1 - terminated)")


@exercise("double_dqn_target", points=3)
def test_target_carries_no_gradient_even_if_the_inputs_do(student):
    """The result does not require grad although both Q tensors do."""
    online = torch.tensor(DOUBLE_ONLINE, requires_grad=True)
    target = torch.tensor(DOUBLE_TARGET, requires_grad=True)
    got = student.double_dqn_target(torch.zeros(3), online, target, torch.zeros(3), 0.9)
    assert isinstance(got, torch.Tensor), (
        f"double_dqn_target should return a torch tensor, got {type(got).__name__}")
    assert not got.requires_grad, (
        "double_dqn_target's result still requires grad: the target is a fixed label, "
        "compute it under torch.no_grad() or .detach() it")


@exercise("double_dqn_target", points=3)
def test_returns_a_float_vector_per_row_for_any_batch_shape(student):
    """Shape [B] (not [B, 1] or [B, B]), float32, on a batch of 4 with 2 actions."""
    online = [[0.0, 1.0], [2.0, 1.0], [0.5, 0.7], [3.0, -3.0]]   # choices 1, 0, 1, 0
    target = [[10.0, 20.0], [30.0, 40.0], [50.0, 60.0], [70.0, 80.0]]
    got = student.double_dqn_target(torch.ones(4), torch.tensor(online), torch.tensor(target),
                                    torch.zeros(4), 1.0)
    assert isinstance(got, torch.Tensor), (
        f"double_dqn_target should return a torch tensor, got {type(got).__name__}")
    assert tuple(got.shape) == (4,), (
        f"for B = 4 the result should have shape (4,), got {tuple(got.shape)}: "
        "gather(1, a[:, None]).squeeze(1), or index with (arange(B), a)")
    assert got.dtype == torch.float32, (
        f"float32 inputs should give float32 targets, got {got.dtype}: a bool or integer "
        "mask, or .double(), changes the dtype")
    assert np.allclose(got.detach().numpy(), [21.0, 31.0, 61.0, 71.0]), (
        f"expected 1 + target at the online choice [1, 0, 1, 0] = [21, 31, 61, 71], got "
        f"{got.detach().numpy().round(4).tolist()}: take the argmax of each ROW (dim=1)")


# --------------------------------------------------------------------------- #
# Exercise 4.3: n_step_targets(rewards, terminated, next_values, gamma, n)
# --------------------------------------------------------------------------- #
def _n_step(student, rewards, terminated, next_values, gamma, n):
    got = student.n_step_targets(torch.tensor(rewards), torch.tensor(terminated),
                                 torch.tensor(next_values), gamma, n)
    return _as_array(got, "n_step_targets", (len(rewards),))


@exercise("n_step_targets", points=3)
def test_worked_example_from_the_docstring(student):
    """rewards 1, 1, 1 ending at the third, values 10, gamma 0.5, n 2 -> [4, 1.5, 1]."""
    got = _n_step(student, [1.0, 1.0, 1.0], [0.0, 0.0, 1.0], [10.0, 10.0, 10.0], 0.5, 2)
    assert np.allclose(got, [4.0, 1.5, 1.0]), (
        f"expected [1 + 0.5 * 1 + 0.25 * 10, 1 + 0.5 * 1, 1] = [4.0, 1.5, 1.0], got "
        f"{got.round(4).tolist()}")


@exercise("n_step_targets", points=3)
def test_one_step_is_the_ordinary_td_target(student):
    """n = 1: y_t = r_t + gamma * (1 - d_t) * v_t, the lesson's target."""
    rewards, terminated = [1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, 0.0]
    values = [10.0, 20.0, 30.0, 40.0]
    got = _n_step(student, rewards, terminated, values, 0.9, 1)
    expected = [1 + 9.0, 2 + 18.0, 3.0, 4 + 36.0]
    assert np.allclose(got, expected), (
        f"with n = 1 each target is r_t + 0.9 * (1 - d_t) * v_t = {expected}; got "
        f"{got.round(4).tolist()}: the bootstrap after m rewards uses v of transition "
        "t + m - 1 (the state that transition leads to), discounted by gamma**m")


@exercise("n_step_targets", points=3)
def test_full_n_steps_bootstrap_with_gamma_to_the_n(student):
    """Five steps, no ending, n = 3: three rewards then gamma**3 * v_{t+2}."""
    rewards = [1.0, 2.0, 3.0, 4.0, 5.0]
    values = [100.0, 200.0, 300.0, 400.0, 500.0]
    got = _n_step(student, rewards, [0.0] * 5, values, 0.5, 3)
    # y_0 = 1 + 0.5*2 + 0.25*3 + 0.125*v_2 = 2.75 + 37.5 = 40.25
    # y_1 = 2 + 1.5 + 1 + 0.125*400 = 54.5;   y_2 = 3 + 2 + 1.25 + 0.125*500 = 68.75
    # y_3 = 4 + 2.5 + 0.25*500 = 131.5 (2 rewards left);  y_4 = 5 + 0.5*500 = 255
    expected = [40.25, 54.5, 68.75, 131.5, 255.0]
    assert np.allclose(got[:3], expected[:3]), (
        f"with n = 3 and gamma 0.5, y_0 = 1 + 0.5 * 2 + 0.25 * 3 + 0.5**3 * v_2 = 40.25 "
        f"(v_2 = 300: the state after the third reward); expected {expected[:3]} for t = 0, "
        f"1, 2, got {got[:3].round(4).tolist()}")
    assert np.allclose(got[3:], expected[3:]), (
        f"near the end of the data fewer than n rewards are left: y_3 = 4 + 0.5 * 5 + "
        f"0.5**2 * v_4 = 131.5 and y_4 = 5 + 0.5 * v_4 = 255; got "
        f"{got[3:].round(4).tolist()}: bootstrap from the LAST transition with gamma**m")


@exercise("n_step_targets", points=3)
def test_sum_stops_at_a_terminal_transition(student):
    """A terminal transition ends the sum and the bootstrap; the next one starts afresh."""
    rewards = [1.0, 1.0, 1.0, 1.0, 1.0]
    terminated = [0.0, 1.0, 0.0, 0.0, 0.0]  # episode 1: transitions 0, 1; episode 2: 2-4
    values = [50.0, 50.0, 8.0, 8.0, 8.0]
    got = _n_step(student, rewards, terminated, values, 1.0, 3)
    # y_0 = 1 + 1 (ends) = 2; y_1 = 1; y_2 = 1 + 1 + 1 + 8 = 11; y_3 = 1 + 1 + 8 = 10;
    # y_4 = 1 + 8 = 9
    expected = [2.0, 1.0, 11.0, 10.0, 9.0]
    assert np.allclose(got, expected), (
        f"episode 1 ends at transition 1, so y_0 = 1 + 1 = 2 and y_1 = 1 (no bootstrap, no "
        f"rewards from the next episode); expected {expected}, got {got.round(4).tolist()}")


@exercise("n_step_targets", points=3)
def test_n_longer_than_the_episode_is_the_monte_carlo_return(student):
    """n >= T on an episode that terminates: the discounted return to the end, no v."""
    rewards = [1.0, 0.0, 2.0, 4.0]
    got = _n_step(student, rewards, [0.0, 0.0, 0.0, 1.0], [99.0] * 4, 0.5, 10)
    # G_3 = 4, G_2 = 2 + 0.5*4 = 4, G_1 = 0 + 0.5*4 = 2, G_0 = 1 + 0.5*2 = 2
    assert np.allclose(got, [2.0, 2.0, 4.0, 4.0]), (
        f"with n = 10 on a 4-step episode that terminates, each target is the discounted "
        f"return to the end, [2, 2, 4, 4]; got {got.round(4).tolist()}: nothing is "
        "bootstrapped after a terminal transition")


# --------------------------------------------------------------------------- #
# Exercise 4.4: dueling_q(values, advantages)
# --------------------------------------------------------------------------- #
def _dueling(student, values, advantages, requires_grad=False):
    values = torch.tensor(values, requires_grad=requires_grad)
    advantages = torch.tensor(advantages, requires_grad=requires_grad)
    got = student.dueling_q(values, advantages)
    assert isinstance(got, torch.Tensor), (
        f"dueling_q should return a torch tensor, got {type(got).__name__}")
    assert tuple(got.shape) == tuple(advantages.shape), (
        f"dueling_q should return one Q value per state and action, shape "
        f"{tuple(advantages.shape)}, got {tuple(got.shape)}")
    return got, values, advantages


@exercise("dueling_q", points=2)
def test_q_is_value_plus_centred_advantages(student):
    """Two states, three actions: Q = V + A - mean over the actions of A."""
    got, _, _ = _dueling(student, [[1.0], [-2.0]], [[1.0, 2.0, 6.0], [0.0, -3.0, 0.0]])
    # row 0: mean A = 3 -> 1 + [-2, -1, 3] = [-1, 0, 4]; row 1: mean -1 -> -2 + [1, -2, 1]
    expected = [[-1.0, 0.0, 4.0], [-1.0, -4.0, -1.0]]
    got = got.detach().numpy()
    assert np.allclose(got, expected), (
        f"expected V + A - mean_a A = {expected}, got {got.round(4).tolist()}: subtract each "
        "state's mean advantage (over its actions), not the max and not the batch mean")


@exercise("dueling_q", points=2)
def test_mean_is_taken_per_state_even_when_batch_equals_actions(student):
    """B == n_actions: a mean without keepdim subtracts row means from columns."""
    advantages = [[0.0, 2.0], [10.0, 20.0]]  # row means 1 and 15
    got, _, _ = _dueling(student, [[0.0], [0.0]], advantages)
    expected = [[-1.0, 1.0], [-5.0, 5.0]]
    got = got.detach().numpy()
    assert np.allclose(got, expected), (
        f"with 2 states and 2 actions, expected A minus each ROW's mean = {expected}, got "
        f"{got.round(4).tolist()}: advantages.mean(dim=1) has shape [B]; keep the dimension "
        "(keepdim=True) so it subtracts per state")


@exercise("dueling_q", points=2)
def test_mean_of_q_over_actions_is_the_state_value(student):
    """mean_a Q(s, a) == V(s) for every state, and shifting A by a constant changes nothing."""
    values = [[0.5], [3.0], [-1.0]]
    advantages = np.array([[1.0, -1.0, 2.0, 0.5], [0.0, 0.0, 0.0, 4.0], [-2.0, 3.0, 1.0, 1.0]])
    got, _, _ = _dueling(student, values, advantages.tolist())
    got = got.detach().numpy()
    assert np.allclose(got.mean(axis=1), [0.5, 3.0, -1.0]), (
        f"the mean over the actions of Q should be V = [0.5, 3, -1], got "
        f"{got.mean(axis=1).round(4).tolist()}: centre the advantages on their mean")
    shifted, _, _ = _dueling(student, values, (advantages + 7.0).tolist())
    assert np.allclose(shifted.detach().numpy(), got), (
        "adding 7 to every advantage changed Q: centred advantages make V and A "
        "identifiable, so a constant shift of A must cancel")


@exercise("dueling_q", points=2)
def test_gradients_reach_both_heads_through_the_mean(student):
    """d sum(Q) / d V = n_actions; d sum(Q) / d A = 1 - 1 = 0 (the mean is not detached)."""
    got, values, advantages = _dueling(student, [[1.0], [2.0]],
                                       [[1.0, 2.0, 3.0], [0.0, 5.0, 1.0]], requires_grad=True)
    assert got.requires_grad, (
        "dueling_q's result carries no gradient: both heads are trained through it")
    (got * torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])).sum().backward()
    # d Q(s, a) / d A(s, a') = [a == a'] - 1/3; weights pick Q(s0, 0) and all of row 1.
    assert values.grad is not None and np.allclose(values.grad.numpy(), [[1.0], [3.0]]), (
        "the gradient should reach V with weight 1 per Q value it enters: do not detach the "
        "value head")
    expected = [[2 / 3, -1 / 3, -1 / 3], [0.0, 0.0, 0.0]]
    assert advantages.grad is not None and np.allclose(advantages.grad.numpy(), expected,
                                                       atol=1e-6), (
        f"d Q(s, a) / d A(s, a') should be [a == a'] - 1/n, e.g. {expected} here; got "
        f"{None if advantages.grad is None else advantages.grad.numpy().round(4).tolist()}"
        ": compute the mean inside the graph (no .detach(), no torch.no_grad())")
