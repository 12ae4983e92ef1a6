"""Graded tests of chapter 04: Deep Q-learning.

Every expected value is computed here, independently of the reference solution: by hand
for tiny batches (the arithmetic is in the comments), or in float64 from the equation of
the exercise. Nothing is trained; nothing is random.

Tolerances accept float32 arithmetic in any correct style (torch.where or clamp, loops,
numpy, float64, a centring matrix product): 1e-5 relative and 1e-6 absolute, so an
expected 0.0 may come out as 3e-7. Every typical mistake is off by far more. Any float
dtype is accepted in the results.

A hint names a cause only when the answer matches what that mistake gives on the test's
own input (the _*_slips helpers recompute each typical mistake there); otherwise it
states the rule. Every exercise is also called on inputs it must leave unchanged.
"""

import numpy as np
import torch

from rlbook_utils.exercises import exercise

RTOL, ATOL = 1e-5, 1e-6  # float32 rounding is about 1e-7 relative: well inside


def _close(got, expected, rtol=RTOL, atol=ATOL):
    """Same shape and elementwise |got - expected| <= atol + rtol |expected|."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(
        np.allclose(got, expected, rtol=rtol, atol=atol))


def _shown(values, other=None):
    """``values`` rounded to 4 decimals, or to more when 4 would hide how they differ
    from ``other`` (so that expected and got never print the same); -0.0 prints as 0.0."""
    values = np.asarray(values, dtype=np.float64)
    for digits in (4, 6, 8):
        shown = np.round(values, digits) + 0.0
        if other is None or not np.array_equal(
                shown, np.round(np.asarray(other, dtype=np.float64), digits) + 0.0):
            break
    return shown.tolist() if shown.ndim else float(shown)


def _matching(got, expected, slips):
    """The hints of the slips whose value on this input is ``got`` (and the truth is not).

    ``slips`` holds (value, hint) pairs; a value of None does not apply to this input.
    Several slips can give the same numbers: their hints are joined with "or".
    """
    hints = []
    for value, hint in slips:
        if value is None or _close(value, expected) or not _close(got, value):
            continue
        if hint not in hints:
            hints.append(hint)
    return "; or ".join(hints)


def _mismatch(what, got, expected, slips, rule):
    """The message of a wrong value: what was computed, expected, got, then the cause."""
    return (f"{what}: expected {_shown(expected, got)}, got {_shown(got, expected)}: "
            + (_matching(got, expected, slips) or rule))


def _changed(arguments, saved):
    """Descriptions of the arguments whose values differ from the copies saved before."""
    return [f"`{name}` was {_shown(saved[name].numpy())} and is now "
            f"{_shown(tensor.detach().numpy())}"
            for name, tensor in arguments.items()
            if not torch.equal(tensor.detach(), saved[name])]


def _unchanged_message(function, changes):
    return (f"{function} changed the caller's tensors: {'; '.join(changes)}. An in-place "
            "operation (x += ..., x -= ..., x[i] = ..., x.mul_(...)) on an argument, or on a "
            "name bound to it (out = rewards is the same tensor, not a copy), writes into "
            "the caller's data: compute the result in a new tensor (x + ..., "
            "torch.zeros(T), x.clone())")


def _float_tensor(got, name, shape):
    """The student's result as a float64 numpy array, after checking type and shape."""
    assert isinstance(got, torch.Tensor), (
        f"{name} should return a torch tensor, got {type(got).__name__}: the loss that "
        "uses it is computed in torch (convert with torch.as_tensor)")
    assert got.is_floating_point(), (
        f"{name} should return floats, got {got.dtype}: a bool or integer tensor (e.g. "
        "torch.zeros_like of an integer tensor) cannot hold the targets")
    assert tuple(got.shape) == tuple(shape), (
        f"{name} should return shape {tuple(shape)}, got {tuple(got.shape)}")
    return got.detach().numpy().astype(np.float64)


# --------------------------------------------------------------------------- #
# Exercise 4.1: huber_loss(predicted, target, delta=1.0)
# --------------------------------------------------------------------------- #
def _pieces(x, delta, linear, quadratic=None, threshold=None):
    """mean of quadratic(x) where |x| <= threshold, linear(x) elsewhere (float64 torch)."""
    threshold = delta if threshold is None else threshold
    inner = 0.5 * x ** 2 if quadratic is None else quadratic(x)
    return torch.where(x.abs() <= threshold, inner, linear(x)).mean()


def _huber_slip_losses(delta):
    """Typical wrong losses of (predicted, target), written in float64, with their hints."""
    d = delta

    def rule(x):
        return _pieces(x, d, lambda x: d * (x.abs() - 0.5 * d))

    return [
        (lambda p, t: rule(p - t) * len(p), "it matches the SUM over the batch: "
         "average the per-transition losses (.mean())"),
        (lambda p, t: (0.5 * (p - t) ** 2).mean(), "it matches 0.5 x^2 for every error: "
         "beyond |x| > delta the loss is linear, delta * (|x| - delta / 2)"),
        (lambda p, t: rule(p - t) / d, "it matches the Huber loss divided by delta "
         "(F.smooth_l1_loss with beta = delta): the pieces are 0.5 x^2 and "
         "delta * (|x| - delta / 2), neither divided by delta"),
        (lambda p, t: _pieces(p - t, d, lambda x: d * (x.abs() - 0.5 * d), threshold=1.0),
         "it matches a threshold of 1 whatever delta is: the loss turns linear at "
         "|x| = delta"),
        (lambda p, t: _pieces(p - t, d, lambda x: x.abs() - 0.5 * d), "it matches a linear "
         "piece |x| - delta / 2 that is not multiplied by delta: delta * (|x| - delta / 2)"),
        (lambda p, t: _pieces(p - t, d, lambda x: x.abs() - 0.5), "it matches a linear "
         "piece |x| - 0.5 whatever delta is: delta * (|x| - delta / 2)"),
        (lambda p, t: _pieces(p - t, d, lambda x: d * x.abs() - 0.5 * d), "it matches a "
         "linear piece delta * |x| - delta / 2: the offset is delta**2 / 2, "
         "delta * (|x| - delta / 2)"),
        (lambda p, t: _pieces(p - t, d, lambda x: d * x.abs()), "it matches a linear piece "
         "delta * |x| without its offset: delta * (|x| - delta / 2), so that the two pieces "
         "meet at |x| = delta"),
        (lambda p, t: _pieces(p - t, d, lambda x: d * (x.abs() - d)), "it matches a linear "
         "piece delta * (|x| - delta): the offset is delta / 2 inside the bracket, "
         "delta * (|x| - delta / 2)"),
        (lambda p, t: _pieces(p - t, d, lambda x: d * (x.abs() - 0.5 * d),
                              quadratic=lambda x: x ** 2),
         "it matches x^2 inside the threshold: the quadratic piece is 0.5 x^2"),
        (lambda p, t: _pieces(p - t, d, lambda x: d * (x - 0.5 * d)), "it matches a linear "
         "piece without the absolute value, delta * (x - delta / 2): a negative error costs "
         "as much as a positive one, so use |x|"),
        (lambda p, t: torch.where(p - t <= d, 0.5 * (p - t) ** 2,
                                  d * (p - t - 0.5 * d)).mean(),
         "it matches x in place of |x| in the threshold and the linear piece: a negative "
         "error costs as much as a positive one, so use |x| in both"),
        (lambda p, t: (0.5 * (p - t).clamp(-d, d) ** 2).mean(), "it matches 0.5 * "
         "clip(x, -delta, delta)**2: clipping the error makes the loss flat beyond delta, "
         "where the Huber loss keeps growing linearly"),
        (lambda p, t: rule(p + t), "it matches the error predicted + target: the error is "
         "x = predicted - target"),
    ]


def _huber_slips(predicted, target, delta, gradient=False):
    """(value, hint) of each typical wrong loss on this input, or of its gradient."""
    slips = []
    for loss, hint in _huber_slip_losses(delta):
        p = torch.tensor(predicted, dtype=torch.float64, requires_grad=gradient)
        value = loss(p, torch.tensor(target, dtype=torch.float64))
        if gradient:
            value.backward()
            slips.append((p.grad.numpy(), hint))
        else:
            slips.append((float(value), hint))
    return slips


def _scalar_loss(loss):
    assert isinstance(loss, torch.Tensor), (
        f"huber_loss should return a torch tensor, got {type(loss).__name__}: do not call "
        ".item() or float(), the optimiser needs the graph")
    assert loss.dim() == 0, (
        f"huber_loss should return one number (shape []), got shape {tuple(loss.shape)}: "
        "average the per-transition losses over the batch")
    return float(loss.detach())


def _assert_huber(student, predicted, target, expected, what, rule, delta=None,
                  extra_slips=()):
    """huber_loss(predicted, target[, delta]) against the value ``expected`` by hand."""
    kwargs = {} if delta is None else {"delta": delta}
    got = _scalar_loss(student.huber_loss(torch.tensor(predicted), torch.tensor(target),
                                          **kwargs))
    slips = list(extra_slips) + _huber_slips(predicted, target,
                                             1.0 if delta is None else delta)
    assert _close(got, expected), _mismatch(what, got, expected, slips, rule)


_HUBER_RULE = ("each error x costs 0.5 x^2 where |x| <= delta and delta * (|x| - delta / 2) "
               "beyond, and the loss is the mean over the batch")


@exercise("huber_loss", points=2)
def test_huber_is_quadratic_inside_and_linear_outside_delta_1(student):
    """Delta 1: 0.5 x^2 for small errors, |x| - 0.5 for large ones, batch mean."""
    # errors 0.5, 3, -2: 0.125, 3 - 0.5 = 2.5, 2 - 0.5 = 1.5; mean 4.125 / 3 = 1.375
    _assert_huber(student, [0.5, 3.0, -2.0], [0.0, 0.0, 0.0], 1.375,
                  "errors [0.5, 3, -2] with delta 1 cost [0.125, 2.5, 1.5], mean 1.375",
                  _HUBER_RULE, delta=1.0)


@exercise("huber_loss", points=2)
def test_huber_uses_predicted_minus_target_and_is_symmetric(student):
    """The error is predicted - target; negative errors cost as much as positive ones."""
    # errors 2 - 5 = -3 and 1.5 - (-1) = 2.5: losses 2.5 and 2.0, mean 2.25
    _assert_huber(student, [2.0, 1.5], [5.0, -1.0], 2.25,
                  "predicted [2, 1.5] against target [5, -1] are errors [-3, 2.5], which "
                  "cost [2.5, 2.0] with delta 1, mean 2.25",
                  "the error is x = predicted - target, and the loss depends on |x| only",
                  delta=1.0)


@exercise("huber_loss", points=2)
def test_huber_threshold_delta_scales_the_linear_piece(student):
    """Delta 2: delta * (|x| - delta / 2) outside, which is not smooth_l1_loss(beta=2)."""
    # errors -1.5, 3, -5 with delta 2: 0.5 * 2.25 = 1.125, 2 * (3 - 1) = 4, 2 * (5 - 1) = 8;
    # mean 13.125 / 3 = 4.375 (smooth_l1_loss with beta 2 gives half of it)
    _assert_huber(student, [-1.5, 3.0, -5.0], [0.0, 0.0, 0.0], 4.375,
                  "errors [-1.5, 3, -5] with delta 2 cost [0.5 * 1.5**2 = 1.125, "
                  "2 * (3 - 1) = 4, 2 * (5 - 1) = 8], mean 4.375",
                  "delta is both the threshold and the slope of the linear piece, "
                  "delta * (|x| - delta / 2)", delta=2.0)


@exercise("huber_loss", points=2)
def test_huber_gradient_is_the_error_inside_and_bounded_by_delta_outside(student):
    """d loss / d predicted_j = x_j / B inside delta, sign(x_j) * delta / B outside."""
    values = [0.5, 10.0, -10.0, -1.5]
    predicted = torch.tensor(values, requires_grad=True)
    loss = student.huber_loss(predicted, torch.zeros(4), delta=2.0)
    _scalar_loss(loss)
    assert loss.requires_grad, (
        "huber_loss's result carries no gradient: keep it a tensor computed from "
        "`predicted` (no .item(), no torch.no_grad(), no .detach())")
    loss.backward()
    assert predicted.grad is not None, (
        "no gradient reached `predicted`: compute the loss from `predicted` itself")
    expected = np.array([0.5, 2.0, -2.0, -1.5]) / 4  # x / 4 inside, +-2 / 4 outside
    got = predicted.grad.numpy()
    assert _close(got, expected), _mismatch(
        "with delta 2 and errors [0.5, 10, -10, -1.5], the gradient of the mean loss is "
        "[0.5, 2, -2, -1.5] / 4", got, expected,
        _huber_slips(values, [0.0] * 4, 2.0, gradient=True),
        "inside the threshold it is x / B, outside it is sign(x) * delta / B")


@exercise("huber_loss", points=2)
def test_huber_default_delta_is_1_and_matches_smooth_l1(student):
    """With its default delta the loss equals F.smooth_l1_loss on a batch of errors."""
    predicted = [0.0, 0.3, -0.9, 1.0, 1.7, -4.0, 12.0]
    target = [0.0, -0.2, 0.0, 0.0, 0.2, 0.5, 2.0]
    # errors 0, 0.5, -0.9, 1, 1.5, -4.5, 10 -> 0, 0.125, 0.405, 0.5, 1, 4, 9.5
    expected = (0.0 + 0.125 + 0.405 + 0.5 + 1.0 + 4.0 + 9.5) / 7
    other_defaults = []
    for default in (0.5, 2.0):
        errors = np.array(predicted) - np.array(target)
        losses = np.where(np.abs(errors) <= default, 0.5 * errors ** 2,
                          default * (np.abs(errors) - 0.5 * default))
        other_defaults.append((float(losses.mean()), f"it matches delta = {default:g}: "
                               "the default threshold is delta = 1.0"))
    _assert_huber(student, predicted, target, expected,
                  "huber_loss(predicted, target) with no delta given, on errors "
                  "[0, 0.5, -0.9, 1, 1.5, -4.5, 10], is the mean of "
                  "[0, 0.125, 0.405, 0.5, 1, 4, 9.5]",
                  "with no delta given the threshold is the default delta = 1.0: "
                  + _HUBER_RULE, extra_slips=other_defaults)


@exercise("huber_loss", points=2)
def test_huber_leaves_predicted_and_target_unchanged(student):
    """The caller's predicted and target hold the same numbers after the call."""
    arguments = {"predicted": torch.tensor([1.0, -2.5, 2.5]),
                 "target": torch.tensor([0.5, 0.5, 0.5])}
    saved = {name: tensor.clone() for name, tensor in arguments.items()}
    got = _scalar_loss(student.huber_loss(*arguments.values(), delta=1.0))
    changes = _changed(arguments, saved)
    assert not changes, _unchanged_message("huber_loss", changes)
    # errors 0.5, -3, 2 with delta 1: 0.125, 2.5, 1.5; mean 4.125 / 3 = 1.375
    assert _close(got, 1.375), _mismatch(
        "errors [0.5, -3, 2] with delta 1 cost [0.125, 2.5, 1.5], mean 1.375", got, 1.375,
        _huber_slips([1.0, -2.5, 2.5], [0.5, 0.5, 0.5], 1.0), _HUBER_RULE)


# --------------------------------------------------------------------------- #
# Exercise 4.2: double_dqn_target(rewards, next_q_online, next_q_target, terminated, gamma)
# --------------------------------------------------------------------------- #
# Three next states, three actions; in every row the online net's argmax, the target net's
# argmax and the online argmax valued online all differ, so each slip has its own answer.
DOUBLE_ONLINE = [[1.0, 2.0, 0.0],    # online argmax 1
                 [3.0, 0.5, 1.0],    # online argmax 0
                 [0.5, 1.0, 4.0]]    # online argmax 2
DOUBLE_TARGET = [[5.0, 4.0, 1.0],    # target argmax 0 (max 5); at the online choice: 4
                 [6.0, 7.0, 2.0],    # target argmax 1 (max 7); at the online choice: 6
                 [9.0, 2.0, 3.0]]    # target argmax 0 (max 9); at the online choice: 3
# With rewards 0, gamma 1, no ending, the targets are:
#   Double DQN (online picks, target values) [4, 6, 3]
#   DQN (max of the target net)              [5, 7, 9]
#   max of the online net                    [2, 3, 4]
#   swapped (target picks, online values)    [1, 0.5, 0.5]
#   one action for all (argmax of the sums)  [1, 2, 3]


def _double_slips(rewards, online, target, terminated, gamma):
    """(targets, hint) of each typical wrong Double DQN target, in float64."""
    r, on, tg, d = (np.asarray(x, dtype=np.float64)
                    for x in (rewards, online, target, terminated))
    rows = np.arange(len(r))
    chosen = tg[rows, on.argmax(axis=1)]

    def y(next_value, mask=1.0 - d):
        return r + gamma * mask * next_value

    return [
        (y(tg.max(axis=1)), "it matches the max of next_q_target, plain DQN's target: in "
         "Double DQN the online net chooses a* = argmax of next_q_online, and next_q_target "
         "only values it"),
        (y(on.max(axis=1)), "it matches the max of next_q_online: the online net only "
         "chooses a*; its value is read from next_q_target"),
        (y(on[rows, tg.argmax(axis=1)]), "it matches the roles swapped (next_q_target "
         "chooses, next_q_online values): a* = argmax of next_q_online, valued by "
         "next_q_target"),
        (y(tg[:, on.sum(axis=0).argmax()]), "it matches one action for the whole batch: "
         "take the argmax of each ROW (dim=1), one a* per transition"),
        (y(chosen, 1.0), "it matches a bootstrap through terminal states: multiply "
         "gamma * Q_target(s', a*) by (1 - terminated)"),
        (y(chosen, d) if d.any() else None, "it matches the mask inverted, gamma * terminated * Q_target(s', a*): "
         "the bootstrap is multiplied by (1 - terminated)"),
        ((1.0 - d) * y(chosen, 1.0), "it matches (1 - terminated) applied to the whole "
         "target: a terminated transition keeps its reward, y = r"),
        (gamma * (r + (1.0 - d) * chosen), "it matches gamma times the reward too: "
         "y = r + gamma * (1 - d) * Q_target(s', a*), the reward is not discounted"),
        (r, "it matches the rewards alone: where terminated is 0 the target bootstraps, "
         "r + gamma * Q_target(s', a*)"),
    ]


def _double_result(got, batch):
    assert isinstance(got, torch.Tensor), (
        f"double_dqn_target should return a torch tensor, got {type(got).__name__}")
    shape = tuple(got.shape)
    if shape == (batch, 1):
        raise AssertionError(
            f"double_dqn_target should return one target per transition, shape ({batch},), "
            f"got {shape}: after gather(1, a[:, None]) squeeze the action dimension, "
            ".squeeze(1)")
    if shape == (batch, batch):
        raise AssertionError(
            f"double_dqn_target should return shape ({batch},), got {shape}: "
            "next_q_target[:, a] takes every row's value of every chosen action; index "
            "each row with its own action, gather(1, a[:, None]).squeeze(1) or "
            "next_q_target[torch.arange(B), a]")
    assert shape == (batch,), (
        f"double_dqn_target should return one target per transition, shape ({batch},), "
        f"got {shape}")
    assert got.is_floating_point(), (
        f"double_dqn_target should return floats, got {got.dtype}: a bool or integer "
        "tensor cannot hold the targets")
    return got.detach().numpy().astype(np.float64)


def _assert_double(got, expected, inputs, what, rule):
    got = _double_result(got, len(expected))
    assert _close(got, expected), _mismatch(what, got, expected, _double_slips(*inputs),
                                            rule)


def _double(student, rewards, terminated, gamma, online=DOUBLE_ONLINE, target=DOUBLE_TARGET):
    return student.double_dqn_target(torch.tensor(rewards), torch.tensor(online),
                                     torch.tensor(target), torch.tensor(terminated), gamma)


_DOUBLE_RULE = ("a* = argmax of next_q_online in each row, then "
                "y = r + gamma * (1 - terminated) * next_q_target at a*")


@exercise("double_dqn_target", points=3)
def test_online_net_chooses_and_target_net_values(student):
    """a* = argmax of the online values per row; its value is read from the target net."""
    inputs = ([0.0, 0.0, 0.0], DOUBLE_ONLINE, DOUBLE_TARGET, [0.0, 0.0, 0.0], 1.0)
    _assert_double(_double(student, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 1.0),
                   [4.0, 6.0, 3.0], inputs,
                   "with r = 0, gamma = 1 and no ending, the targets are next_q_target at "
                   "the online argmax [1, 0, 2]", _DOUBLE_RULE)


@exercise("double_dqn_target", points=3)
def test_reward_plus_discounted_value_of_the_online_choice(student):
    """y = r + gamma * Q_target(s', a*): the reward is not discounted, the value is."""
    rewards = [1.0, -2.0, 0.5]
    expected = [1.0 + 0.5 * 4.0, -2.0 + 0.5 * 6.0, 0.5 + 0.5 * 3.0]  # [3.0, 1.0, 2.0]
    _assert_double(_double(student, rewards, [0.0, 0.0, 0.0], 0.5), expected,
                   (rewards, DOUBLE_ONLINE, DOUBLE_TARGET, [0.0, 0.0, 0.0], 0.5),
                   "with rewards [1, -2, 0.5], gamma 0.5 and no ending, the targets are "
                   "r + 0.5 * [4, 6, 3]", _DOUBLE_RULE)


@exercise("double_dqn_target", points=3)
def test_terminated_transition_does_not_bootstrap(student):
    """Where terminated is 1 the target is the reward alone; where 0 it bootstraps."""
    rewards, terminated = [2.0, -1.0, 1.0], [1.0, 0.0, 1.0]
    expected = [2.0, -1.0 + 0.9 * 6.0, 1.0]
    _assert_double(_double(student, rewards, terminated, 0.9), expected,
                   (rewards, DOUBLE_ONLINE, DOUBLE_TARGET, terminated, 0.9),
                   "with terminated [1, 0, 1], rewards [2, -1, 1] and gamma 0.9, the "
                   "targets are [2, -1 + 0.9 * 6, 1]",
                   "a terminated transition's target is its reward alone; the others add "
                   "gamma * next_q_target at the online argmax")


@exercise("double_dqn_target", points=3)
def test_target_carries_no_gradient_even_if_the_inputs_do(student):
    """No gradient when both Q tensors require grad, nor when the rewards do too."""
    online = torch.tensor(DOUBLE_ONLINE, requires_grad=True)
    target = torch.tensor(DOUBLE_TARGET, requires_grad=True)
    got = student.double_dqn_target(torch.zeros(3), online, target, torch.zeros(3), 0.9)
    _double_result(got, 3)
    assert not got.requires_grad, (
        "double_dqn_target's result requires grad when next_q_online and next_q_target "
        "do: the target is a fixed label, compute it under torch.no_grad() or .detach() it")
    rewards = torch.tensor([0.5, 0.0, -1.0], requires_grad=True)
    got = student.double_dqn_target(rewards, online, target, torch.zeros(3), 0.9)
    _double_result(got, 3)
    assert not got.requires_grad, (
        "double_dqn_target's result requires grad when `rewards` does (the Q tensors are "
        "handled): the whole target, reward included, is a fixed label; compute all of it "
        "under torch.no_grad(), or .detach() the result")
    # 0.5 + 0.9 * 4 = 4.1; 0 + 0.9 * 6 = 5.4; -1 + 0.9 * 3 = 1.7
    _assert_double(got, [4.1, 5.4, 1.7],
                   ([0.5, 0.0, -1.0], DOUBLE_ONLINE, DOUBLE_TARGET, [0.0, 0.0, 0.0], 0.9),
                   "with inputs that require grad, rewards [0.5, 0, -1] and gamma 0.9, the "
                   "targets are r + 0.9 * [4, 6, 3]", _DOUBLE_RULE)


@exercise("double_dqn_target", points=3)
def test_returns_a_float_vector_per_row_for_any_batch_shape(student):
    """Shape [B] (not [B, 1] or [B, B]), floats, on a batch of 4 with 2 actions."""
    online = [[0.0, 1.0], [2.0, 1.0], [0.5, 0.7], [3.0, -3.0]]   # choices 1, 0, 1, 0
    target = [[10.0, 20.0], [30.0, 40.0], [60.0, 50.0], [70.0, 80.0]]
    got = student.double_dqn_target(torch.ones(4), torch.tensor(online), torch.tensor(target),
                                    torch.zeros(4), 1.0)
    # 1 + [20, 30, 50, 70]; DQN would give 1 + [20, 40, 60, 80]
    _assert_double(got, [21.0, 31.0, 51.0, 71.0],
                   ([1.0] * 4, online, target, [0.0] * 4, 1.0),
                   "with 4 transitions and 2 actions, rewards 1 and gamma 1, the targets "
                   "are 1 + next_q_target at the online choices [1, 0, 1, 0]", _DOUBLE_RULE)


@exercise("double_dqn_target", points=3)
def test_double_dqn_target_leaves_its_inputs_unchanged(student):
    """The caller's rewards, Q values and flags hold the same numbers after the call."""
    arguments = {"rewards": torch.tensor([1.0, -2.0, 0.5]),
                 "next_q_online": torch.tensor(DOUBLE_ONLINE),
                 "next_q_target": torch.tensor(DOUBLE_TARGET),
                 "terminated": torch.tensor([0.0, 1.0, 0.0])}
    saved = {name: tensor.clone() for name, tensor in arguments.items()}
    got = student.double_dqn_target(*arguments.values(), 0.5)
    changes = _changed(arguments, saved)
    assert not changes, _unchanged_message("double_dqn_target", changes)
    # 1 + 0.5 * 4 = 3; -2 (terminated); 0.5 + 0.5 * 3 = 2
    _assert_double(got, [3.0, -2.0, 2.0],
                   ([1.0, -2.0, 0.5], DOUBLE_ONLINE, DOUBLE_TARGET, [0.0, 1.0, 0.0], 0.5),
                   "with rewards [1, -2, 0.5], terminated [0, 1, 0] and gamma 0.5, the "
                   "targets are [1 + 0.5 * 4, -2, 0.5 + 0.5 * 3]", _DOUBLE_RULE)


# --------------------------------------------------------------------------- #
# Exercise 4.3: n_step_targets(rewards, terminated, next_values, gamma, n)
# --------------------------------------------------------------------------- #
def _n_step_variant(rewards, terminated, values, gamma, n, *, after_terminal=None,
                    cross=False, power_shift=0, value_shift=0, reward_power=0,
                    tail_power_n=False, end_bootstraps=True, bootstrap=True, most=None,
                    terminal_reward=True):
    """y_t term by term in float64. The defaults are the rule; the keywords rebuild the
    typical mistakes for the hints: a bootstrap after a terminal transition, unmasked
    ("unmasked") or masked by d_t ("first"); sums that cross endings; the bootstrap
    discounted by gamma**(m + power_shift) or by gamma**n, or read from
    next_values[t + m - 1 + value_shift]; rewards discounted from gamma**reward_power; no
    bootstrap at the end of the data, or none at all; at most ``most`` rewards; a sum that
    stops before the terminal transition's reward."""
    r, d, v = ([float(x) for x in xs] for xs in (rewards, terminated, values))
    T, most = len(r), n if most is None else most
    targets = []
    for t in range(T):
        total, m, ended = 0.0, 0, False
        for i in range(t, min(t + most, T)):
            if d[i] and not cross and not terminal_reward and i > t:
                ended = True
                break
            total += gamma ** (i - t + reward_power) * r[i]
            m += 1
            if d[i] and not cross:
                ended = True
                break
        last = t + m - 1
        data_end = not ended and t + most > T
        if bootstrap and (end_bootstraps or not data_end):
            if after_terminal == "unmasked":
                mask = 1.0
            elif after_terminal == "first":
                mask = 1.0 - d[t]
            else:
                mask = 0.0 if ended else 1.0 - d[last]
            power = (n if tail_power_n else m) + power_shift
            total += gamma ** power * mask * v[min(last + value_shift, T - 1)]
        targets.append(total)
    return np.array(targets)


def _n_step_slips(rewards, terminated, values, gamma, n):
    def variant(**options):
        return _n_step_variant(rewards, terminated, values, gamma, n, **options)

    return [
        (variant(after_terminal="unmasked"), "it matches a bootstrap after a terminal "
         "transition: where the sum stops at a terminal transition nothing is added (the "
         "mask 1 - d_{t+m-1} is 0)"),
        (variant(after_terminal="first"), "it matches a bootstrap masked by d_t, the FIRST "
         "transition's flag: the mask is 1 - d_{t+m-1}, the flag of the LAST transition "
         "summed, so nothing is added after a terminal one"),
        (variant(cross=True), "it matches sums that run past a terminal transition into "
         "the next episode: stop at the first terminal transition (its reward included)"),
        (variant(terminal_reward=False), "it matches a sum that stops BEFORE the terminal "
         "transition: its reward r counts, then nothing is bootstrapped"),
        (variant(power_shift=-1), "it matches a bootstrap discounted by gamma**(m - 1): "
         "after m rewards the value is discounted by gamma**m"),
        (variant(power_shift=1), "it matches a bootstrap discounted by gamma**(m + 1): "
         "after m rewards the value is discounted by gamma**m"),
        (variant(value_shift=1), "it matches v of transition t + m, one too far: after "
         "the m rewards of transitions t .. t+m-1, bootstrap from next_values[t + m - 1], "
         "the value of the state the last of them leads to"),
        (variant(tail_power_n=True), "it matches gamma**n near the end of the data: when "
         "only m = T - t < n rewards are left, the bootstrap is discounted by gamma**m"),
        (variant(end_bootstraps=False), "it matches no bootstrap near the end of the data: "
         "the end of the data does not end the episode; the last targets sum the "
         "m = T - t rewards left and add gamma**m * (1 - d_{T-1}) * next_values[T - 1]"),
        (variant(bootstrap=False), "it matches the sums of rewards alone: unless the sum "
         "stopped at a terminal transition, add gamma**m * next_values[t + m - 1]"),
        (variant(reward_power=1), "it matches rewards discounted from gamma**1: the first "
         "reward r_t counts in full, sum_k gamma**k * r_{t+k} from k = 0"),
        (_n_step_variant(rewards, terminated, values, gamma, 1), "it matches the one-step "
         "target whatever n is: sum up to n rewards before bootstrapping"),
        (variant(most=n - 1) if n > 2 else None, "it matches n - 1 rewards per "
         "target: a full target sums the n rewards of transitions t .. t+n-1, then adds "
         "gamma**n * next_values[t + n - 1]"),
    ]


def _assert_n_step(student, rewards, terminated, values, gamma, n, expected, what, rule,
                   part=slice(None)):
    """n_step_targets(...) against ``expected`` by hand (for the entries ``part``)."""
    assert _close(_n_step_variant(rewards, terminated, values, gamma, n), expected)
    got = student.n_step_targets(torch.tensor(rewards), torch.tensor(terminated),
                                 torch.tensor(values), gamma, n)
    got = _float_tensor(got, "n_step_targets", (len(rewards),))
    slips = [(None if value is None else value[part], hint)
             for value, hint in _n_step_slips(rewards, terminated, values, gamma, n)]
    expected = np.asarray(expected)[part]
    assert _close(got[part], expected), _mismatch(what, got[part], expected, slips, rule)
    return got


_N_STEP_RULE = ("y_t = sum_{k<m} gamma**k * r_{t+k} + gamma**m * (1 - d_{t+m-1}) * "
                "next_values[t + m - 1], with m = n rewards, or fewer at a terminal "
                "transition or at the end of the data")


@exercise("n_step_targets", points=3)
def test_worked_example_from_the_docstring(student):
    """rewards 1, 1, 1 ending at the third, values 10, gamma 0.5, n 2 -> [4, 1.5, 1]."""
    _assert_n_step(student, [1.0, 1.0, 1.0], [0.0, 0.0, 1.0], [10.0, 10.0, 10.0], 0.5, 2,
                   [4.0, 1.5, 1.0],
                   "the docstring's example (rewards [1, 1, 1], terminated [0, 0, 1], "
                   "next_values [10, 10, 10], gamma 0.5, n 2) is "
                   "[1 + 0.5 * 1 + 0.25 * 10, 1 + 0.5 * 1, 1]",
                   "y_0 sums two rewards and bootstraps from v_1 with gamma**2; y_1 and y_2 "
                   "stop at the terminal transition 2, its reward included, and add nothing")


@exercise("n_step_targets", points=3)
def test_one_step_is_the_ordinary_td_target(student):
    """n = 1: y_t = r_t + gamma * (1 - d_t) * v_t, the lesson's target."""
    _assert_n_step(student, [1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, 0.0],
                   [10.0, 20.0, 30.0, 40.0], 0.9, 1, [1 + 9.0, 2 + 18.0, 3.0, 4 + 36.0],
                   "with n = 1, rewards [1, 2, 3, 4], terminated [0, 0, 1, 0], next_values "
                   "[10, 20, 30, 40] and gamma 0.9, each target is r_t + 0.9 * (1 - d_t) * "
                   "v_t", "with n = 1 each target is r_t + gamma * (1 - d_t) * "
                   "next_values[t], the one-step TD target")


@exercise("n_step_targets", points=3)
def test_full_n_steps_bootstrap_with_gamma_to_the_n(student):
    """Five steps, no ending, n = 3: three rewards then gamma**3 * v_{t+2}."""
    rewards = [1.0, 2.0, 3.0, 4.0, 5.0]
    values = [100.0, 200.0, 300.0, 400.0, 500.0]
    # y_0 = 1 + 0.5*2 + 0.25*3 + 0.125*v_2 = 2.75 + 37.5 = 40.25
    # y_1 = 2 + 1.5 + 1 + 0.125*400 = 54.5;   y_2 = 3 + 2 + 1.25 + 0.125*500 = 68.75
    # y_3 = 4 + 2.5 + 0.25*500 = 131.5 (2 rewards left);  y_4 = 5 + 0.5*500 = 255
    expected = [40.25, 54.5, 68.75, 131.5, 255.0]
    _assert_n_step(student, rewards, [0.0] * 5, values, 0.5, 3, expected,
                   "with rewards [1, 2, 3, 4, 5], no ending, next_values [100, 200, 300, "
                   "400, 500], gamma 0.5 and n = 3, y_0 = 1 + 0.5 * 2 + 0.25 * 3 + 0.5**3 "
                   "* v_2 = 40.25 (v_2: the state after the third reward); for t = 0, 1, 2",
                   "a full target sums 3 rewards, then adds gamma**3 * next_values[t + 2]",
                   part=slice(0, 3))
    _assert_n_step(student, rewards, [0.0] * 5, values, 0.5, 3, expected,
                   "near the end of the data fewer than n rewards are left: y_3 = 4 + 0.5 "
                   "* 5 + 0.5**2 * v_4 = 131.5 and y_4 = 5 + 0.5 * v_4 = 255",
                   "the last targets sum the m = T - t rewards left, then bootstrap from "
                   "the LAST value, gamma**m * next_values[T - 1]", part=slice(3, 5))


@exercise("n_step_targets", points=3)
def test_sum_stops_at_a_terminal_transition(student):
    """A terminal transition ends the sum and the bootstrap; the next one starts afresh."""
    rewards = [1.0, 1.0, 1.0, 1.0, 1.0]
    terminated = [0.0, 1.0, 0.0, 0.0, 0.0]  # episode 1: transitions 0, 1; episode 2: 2-4
    values = [50.0, 50.0, 8.0, 8.0, 8.0]
    # y_0 = 1 + 1 (ends) = 2; y_1 = 1; y_2 = 1 + 1 + 1 + 8 = 11; y_3 = 1 + 1 + 8 = 10;
    # y_4 = 1 + 8 = 9
    _assert_n_step(student, rewards, terminated, values, 1.0, 3,
                   [2.0, 1.0, 11.0, 10.0, 9.0],
                   "with episode 1 ending at transition 1 (terminated [0, 1, 0, 0, 0]), "
                   "rewards 1, next_values [50, 50, 8, 8, 8], gamma 1 and n = 3, y_0 = 1 + "
                   "1 = 2 and y_1 = 1 (no bootstrap, no rewards from the next episode)",
                   "the sum stops at the first terminal transition, its reward included, "
                   "and nothing is bootstrapped after it; the next transition starts afresh")


@exercise("n_step_targets", points=3)
def test_n_longer_than_the_episode_is_the_monte_carlo_return(student):
    """n >= T on an episode that terminates: the discounted return to the end, no v."""
    # G_3 = 4, G_2 = 2 + 0.5*4 = 4, G_1 = 0 + 0.5*4 = 2, G_0 = 1 + 0.5*2 = 2
    _assert_n_step(student, [1.0, 0.0, 2.0, 4.0], [0.0, 0.0, 0.0, 1.0], [99.0] * 4, 0.5, 10,
                   [2.0, 2.0, 4.0, 4.0],
                   "with n = 10 on a 4-step episode that terminates (rewards [1, 0, 2, 4], "
                   "gamma 0.5), each target is the discounted return to the end",
                   "sum gamma**k * r_{t+k} up to and including the terminal transition, "
                   "and add no value after it")


@exercise("n_step_targets", points=3)
def test_n_step_targets_leave_their_inputs_unchanged(student):
    """The caller's rewards, flags and values hold the same numbers after the call."""
    arguments = {"rewards": torch.tensor([1.0, 2.0, 3.0, 4.0]),
                 "terminated": torch.tensor([0.0, 1.0, 0.0, 0.0]),
                 "next_values": torch.tensor([10.0, 20.0, 30.0, 40.0])}
    saved = {name: tensor.clone() for name, tensor in arguments.items()}
    got = student.n_step_targets(*arguments.values(), 0.5, 2)
    changes = _changed(arguments, saved)
    assert not changes, _unchanged_message("n_step_targets", changes)
    got = _float_tensor(got, "n_step_targets", (4,))
    # y_0 = 1 + 0.5 * 2 = 2 (ends at 1); y_1 = 2; y_2 = 3 + 0.5 * 4 + 0.25 * 40 = 15;
    # y_3 = 4 + 0.5 * 40 = 24
    expected = [2.0, 2.0, 15.0, 24.0]
    args = ([1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, 0.0], [10.0, 20.0, 30.0, 40.0], 0.5, 2)
    assert _close(got, expected), _mismatch(
        "with rewards [1, 2, 3, 4], terminated [0, 1, 0, 0], next_values [10, 20, 30, 40], "
        "gamma 0.5 and n = 2, the targets are [1 + 0.5 * 2, 2, 3 + 0.5 * 4 + 0.25 * 40, "
        "4 + 0.5 * 40]", got, expected, _n_step_slips(*args), _N_STEP_RULE)


# --------------------------------------------------------------------------- #
# Exercise 4.4: dueling_q(values, advantages)
# --------------------------------------------------------------------------- #
def _dueling_expected(values, advantages):
    """V + A - mean over the actions of A, in float64."""
    V, A = np.asarray(values, dtype=np.float64), np.asarray(advantages, dtype=np.float64)
    return V + A - A.mean(axis=1, keepdims=True)


def _dueling_slips(values, advantages):
    V, A = np.asarray(values, dtype=np.float64), np.asarray(advantages, dtype=np.float64)
    centred = A - A.mean(axis=1, keepdims=True)
    square = A.shape[0] == A.shape[1]
    return [
        (V + A - A.mean(axis=0, keepdims=True), "it matches the mean over the batch "
         "(dim 0): the mean is over each state's actions, dim 1"),
        (V + A - A.max(axis=1, keepdims=True), "it matches the max advantage subtracted: "
         "the dueling head subtracts the MEAN over the actions"),
        (V + A, "it matches V + A without centring: subtract each state's mean advantage"),
        (V + A - A.mean(), "it matches one mean over the whole tensor: subtract each "
         "state's own mean, over its actions (dim 1)"),
        (V + A - A.sum(axis=1, keepdims=True), "it matches the SUM of the advantages "
         "subtracted: divide it by the number of actions, the mean"),
        (V + A - A.mean(axis=1)[None, :] if square else None, "it matches a row mean "
         "without keepdim, which broadcasts along the columns: advantages.mean(dim=1, "
         "keepdim=True) has shape [B, 1] and subtracts row by row"),
        (V[:, 0][None, :] + centred if square else None, "it matches values squeezed to "
         "shape [B], which broadcasts along the columns: keep values [B, 1], so that "
         "V(s_j) is added to row j"),
        (V.mean() + centred, "it matches the mean of V over the batch: each state has its "
         "own V(s_j), values[j], added to its row"),
    ]


def _dueling(student, values, advantages, requires_grad=False):
    values = torch.tensor(values, requires_grad=requires_grad)
    advantages = torch.tensor(advantages, requires_grad=requires_grad)
    got = student.dueling_q(values, advantages)
    assert isinstance(got, torch.Tensor), (
        f"dueling_q should return a torch tensor, got {type(got).__name__}")
    assert tuple(got.shape) == tuple(advantages.shape), (
        f"dueling_q should return one Q value per state and action, shape "
        f"{tuple(advantages.shape)}, got {tuple(got.shape)}")
    assert got.is_floating_point(), f"dueling_q should return floats, got {got.dtype}"
    return got, values, advantages


def _assert_dueling(got, values, advantages, what, rule, expected=None):
    expected = _dueling_expected(values, advantages) if expected is None else expected
    got = got.detach().numpy().astype(np.float64)
    assert _close(got, expected), _mismatch(what, got, expected,
                                            _dueling_slips(values, advantages), rule)
    return got


_DUELING_RULE = ("Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a'): subtract from each row of "
                 "advantages its own mean, advantages.mean(dim=1, keepdim=True), and add "
                 "values [B, 1]")


@exercise("dueling_q", points=2)
def test_q_is_value_plus_centred_advantages(student):
    """Two states, three actions: Q = V + A - mean over the actions of A."""
    values, advantages = [[1.0], [-2.0]], [[1.0, 2.0, 6.0], [0.0, -3.0, 0.0]]
    got, _, _ = _dueling(student, values, advantages)
    # row 0: mean A = 3 -> 1 + [-2, -1, 3] = [-1, 0, 4]; row 1: mean -1 -> -2 + [1, -2, 1]
    _assert_dueling(got, values, advantages,
                    "values [[1], [-2]] and advantages [[1, 2, 6], [0, -3, 0]] (row means "
                    "3 and -1) give V + A - mean_a A", _DUELING_RULE,
                    expected=[[-1.0, 0.0, 4.0], [-1.0, -4.0, -1.0]])


@exercise("dueling_q", points=2)
def test_mean_is_taken_per_state_even_when_batch_equals_actions(student):
    """B == n_actions: a mean without keepdim subtracts row means from columns."""
    values, advantages = [[1.0], [-1.0]], [[0.0, 2.0], [10.0, 20.0]]  # row means 1 and 15
    got, _, _ = _dueling(student, values, advantages)
    # row 0: 1 + [-1, 1] = [0, 2]; row 1: -1 + [-5, 5] = [-6, 4]
    _assert_dueling(got, values, advantages,
                    "with 2 states and 2 actions, values [[1], [-1]] and advantages "
                    "[[0, 2], [10, 20]] (row means 1 and 15) give V + A - each ROW's mean",
                    _DUELING_RULE, expected=[[0.0, 2.0], [-6.0, 4.0]])


@exercise("dueling_q", points=2)
def test_mean_of_q_over_actions_is_the_state_value(student):
    """mean_a Q(s, a) == V(s) for every state, and shifting A by a constant changes nothing."""
    values = [[0.5], [3.0], [-1.0]]
    advantages = np.array([[1.0, -1.0, 2.0, 0.5], [0.0, 0.0, 0.0, 4.0], [-2.0, 3.0, 1.0, 1.0]])
    got, _, _ = _dueling(student, values, advantages.tolist())
    got = got.detach().numpy().astype(np.float64)
    if not _close(got.mean(axis=1), [0.5, 3.0, -1.0]):
        expected = _dueling_expected(values, advantages)
        raise AssertionError(
            f"the mean over the actions of Q should be V = [0.5, 3, -1], got "
            f"{_shown(got.mean(axis=1), [0.5, 3.0, -1.0])}; Q should be "
            f"{_shown(expected, got)}, got {_shown(got, expected)}: "
            + (_matching(got, expected, _dueling_slips(values, advantages))
               or "centre each state's advantages on their mean over the actions"))
    shifted, _, _ = _dueling(student, values, (advantages + 7.0).tolist())
    shifted = shifted.detach().numpy().astype(np.float64)
    assert _close(shifted, got), (
        f"adding 7 to every advantage changed Q from {_shown(got, shifted)} to "
        f"{_shown(shifted, got)}: Q depends on the advantages only through "
        "A - mean_a' A, so a constant shift of A must cancel")


@exercise("dueling_q", points=2)
def test_gradients_reach_both_heads_through_the_mean(student):
    """d sum(Q) / d V = n_actions; d sum(Q) / d A = 1 - 1 = 0 (the mean is not detached)."""
    V, A = [[1.0], [2.0]], [[1.0, 2.0, 3.0], [0.0, 5.0, 4.0]]  # row means 2 and 3
    got, values, advantages = _dueling(student, V, A, requires_grad=True)
    assert got.requires_grad, (
        "dueling_q's result carries no gradient: both heads are trained through it "
        "(no torch.no_grad(), no .detach())")
    _assert_dueling(got, V, A, "values [[1], [2]] and advantages [[1, 2, 3], [0, 5, 4]] "
                    "that require grad give V + A - mean_a A", _DUELING_RULE)
    weights = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    (got * torch.tensor(weights, dtype=got.dtype)).sum().backward()
    # d Q(s, a) / d V(s) = 1: the weights of each row summed, [1, 3]
    assert values.grad is not None, (
        "no gradient reached `values`: the value head is trained through Q, do not "
        "detach it")
    got_v = values.grad.numpy().astype(np.float64)
    expected_v = np.array([[1.0], [3.0]])
    assert _close(got_v, expected_v), _mismatch(
        "d sum(w * Q) / d V with weights w = [[1, 0, 0], [1, 1, 1]] is each row's sum of "
        "weights", got_v, expected_v,
        [(np.full((2, 1), weights.sum() / 2), "it matches V averaged over the batch: each "
          "state's V(s_j) enters only its own row of Q, once per action"),
         (np.zeros((2, 1)), "it matches a value head cut from the graph: do not detach "
          "`values`")],
        "each Q(s, a) contains V(s) once, so the gradient of V(s) is the sum of its row's "
        "weights")
    assert advantages.grad is not None, (
        "no gradient reached `advantages`: the advantage head is trained through Q, do "
        "not detach it")
    got_a = advantages.grad.numpy().astype(np.float64)
    # d Q(s, a) / d A(s, a') = [a == a'] - 1/3; weights pick Q(s0, 0) and all of row 1.
    expected_a = weights - weights.sum(axis=1, keepdims=True) / 3
    assert _close(got_a, expected_a), _mismatch(
        "d sum(w * Q) / d A, with d Q(s, a) / d A(s, a') = [a == a'] - 1/3, is "
        "[[2/3, -1/3, -1/3], [0, 0, 0]]", got_a, expected_a,
        [(weights, "it matches a mean treated as a constant: compute the mean inside "
          "the graph (no .detach(), no torch.no_grad() around it)")],
        "the gradient flows through A(s, a) and through the mean, which every action's "
        "Q(s, a) shares")


@exercise("dueling_q", points=2)
def test_dueling_q_leaves_values_and_advantages_unchanged(student):
    """The caller's values and advantages (no grad required) are the same after the call."""
    V, A = [[1.0], [2.0]], [[1.0, 2.0, 3.0], [4.0, 6.0, 8.0]]
    arguments = {"values": torch.tensor(V), "advantages": torch.tensor(A)}
    saved = {name: tensor.clone() for name, tensor in arguments.items()}
    got = student.dueling_q(*arguments.values())
    changes = _changed(arguments, saved)
    assert not changes, _unchanged_message("dueling_q", changes)
    assert isinstance(got, torch.Tensor) and tuple(got.shape) == (2, 3), (
        f"dueling_q should return a torch tensor of shape (2, 3), got "
        f"{type(got).__name__} {tuple(getattr(got, 'shape', ()))}")
    # row 0: 1 + [-1, 0, 1]; row 1: 2 + [-2, 0, 2]
    _assert_dueling(got, V, A, "values [[1], [2]] and advantages [[1, 2, 3], [4, 6, 8]] "
                    "give V + A - mean_a A", _DUELING_RULE,
                    expected=[[0.0, 1.0, 2.0], [0.0, 2.0, 4.0]])
