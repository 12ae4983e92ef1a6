"""Graded tests of chapter 04: Deep Q-learning.

Every expected value is computed here, independently of the reference solution: by hand
for tiny batches (the arithmetic is in the comments), or from networks whose weights the
test sets itself, so that Q values are known exactly. Nothing is trained to convergence;
every random draw uses a fixed seed.
"""

import numpy as np
import torch
import torch.nn as nn

from rlbook_utils.exercises import exercise

BATCH_KEYS = ("obs", "actions", "rewards", "next_obs", "terminated")


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #
def _filled_buffer(student, capacity, n_added, obs_dim=3, seed=0):
    """A buffer after n_added transitions; transition i has reward i, obs [i, i, ...],
    next_obs [i + 0.5, ...], action i % 2 and terminated True when i % 3 == 0."""
    buffer = student.ReplayBuffer(capacity, obs_dim, seed)
    for i in range(n_added):
        buffer.add(np.full(obs_dim, float(i)), i % 2, float(i), np.full(obs_dim, i + 0.5),
                   i % 3 == 0)
    return buffer


def _sample(buffer, batch_size):
    batch = buffer.sample(batch_size)
    assert isinstance(batch, dict), (
        f"ReplayBuffer.sample should return a dict of tensors, got {type(batch).__name__}")
    missing = [key for key in BATCH_KEYS if key not in batch]
    assert not missing, f"ReplayBuffer.sample's dict lacks the keys {missing}"
    return batch


def _linear_net(weight, bias):
    """nn.Linear whose weights we choose: Q(s) = weight @ s + bias, exactly."""
    layer = nn.Linear(len(weight[0]), len(weight))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        layer.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return layer


def _huber(delta):
    """Huber with threshold 1, written out: 0.5 d^2 if |d| <= 1 else |d| - 0.5."""
    delta = abs(delta)
    return 0.5 * delta ** 2 if delta <= 1.0 else delta - 0.5


def _loss_setup():
    """Two tiny linear Q networks with known weights and a batch of three transitions.

    Online Q(s) = [[1, 0], [0, 1]] s          -> Q(s, 0) = s[0], Q(s, 1) = s[1].
    Target Q(s) = [[2, 0], [0, 2]] s + [1, 0] -> Q(s', 0) = 2 s'[0] + 1, Q(s', 1) = 2 s'[1].
    """
    q_net = _linear_net([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
    target_net = _linear_net([[2.0, 0.0], [0.0, 2.0]], [1.0, 0.0])
    batch = {
        "obs": torch.tensor([[1.5, 2.0], [3.0, 0.5], [0.0, 4.0]]),
        "actions": torch.tensor([0, 0, 1]),
        "rewards": torch.tensor([1.0, 0.0, 2.0]),
        "next_obs": torch.tensor([[0.5, 1.0], [1.0, 0.25], [2.0, 2.0]]),
        "terminated": torch.tensor([0.0, 0.0, 1.0]),
    }
    return q_net, target_net, batch


# With gamma = 0.5, by hand:
#   j=0: Q(s,a=0) = 1.5;  target max(2*0.5+1, 2*1) = 2.0 -> y = 1 + 0.5*2.0 = 2.0;  delta = -0.5
#        (the action taken, 0, is NOT the online net's greedy action 1 here)
#   j=1: Q(s,a=0) = 3.0;  target max(2*1+1, 2*0.25) = 3.0 -> y = 0 + 0.5*3.0 = 1.5;  delta = 1.5
#   j=2: Q(s,a=1) = 4.0;  terminated -> y = 2.0;                                   delta = 2.0
LOSS_GAMMA = 0.5
LOSS_DELTAS = (-0.5, 1.5, 2.0)
LOSS_EXPECTED = sum(_huber(d) for d in LOSS_DELTAS) / 3  # (0.125 + 1.0 + 1.5) / 3


def _scalar(loss):
    assert isinstance(loss, torch.Tensor), (
        f"dqn_loss should return a torch tensor, got {type(loss).__name__}: do not call "
        ".item(), the optimiser needs the graph")
    assert loss.dim() == 0, (
        f"dqn_loss should return a scalar (shape []), got shape {tuple(loss.shape)}: "
        "average the per-transition losses over the batch")
    return float(loss.detach())


def _nets_for_polyak(seed):
    torch.manual_seed(seed)
    target_net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    online_net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    return target_net, online_net


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


# --------------------------------------------------------------------------- #
# Exercise 4.1: ReplayBuffer(capacity, obs_dim, seed)
# --------------------------------------------------------------------------- #
@exercise("ReplayBuffer", points=3)
def test_len_counts_stored_transitions_up_to_capacity(student):
    buffer = student.ReplayBuffer(5, 3, 0)
    assert len(buffer) == 0, f"a new buffer should have len 0, got {len(buffer)}"
    for n_added in range(1, 13):
        buffer.add(np.zeros(3), 0, 0.0, np.zeros(3), False)
        expected = min(n_added, 5)
        assert len(buffer) == expected, (
            f"after {n_added} add() calls to a buffer of capacity 5, len should be "
            f"{expected}, got {len(buffer)}: a full buffer overwrites, it never grows")


@exercise("ReplayBuffer", points=3)
def test_sample_returns_tensors_of_the_documented_dtypes_and_shapes(student):
    batch = _sample(_filled_buffer(student, capacity=10, n_added=6, obs_dim=3), 7)
    expected = {"obs": (torch.float32, (7, 3)), "actions": (torch.int64, (7,)),
                "rewards": (torch.float32, (7,)), "next_obs": (torch.float32, (7, 3)),
                "terminated": (torch.float32, (7,))}
    for key, (dtype, shape) in expected.items():
        value = batch[key]
        assert isinstance(value, torch.Tensor), (
            f'sample()["{key}"] should be a torch tensor, got {type(value).__name__}: '
            "convert with torch.as_tensor")
        assert value.dtype == dtype, (
            f'sample()["{key}"] should have dtype {dtype}, got {value.dtype}: actions index '
            "Q values (int64), everything else enters float arithmetic (float32)")
        assert tuple(value.shape) == shape, (
            f'sample(7)["{key}"] with obs_dim 3 should have shape {shape}, got '
            f"{tuple(value.shape)}")


@exercise("ReplayBuffer", points=3)
def test_rows_of_a_sample_belong_to_the_same_transition(student):
    batch = _sample(_filled_buffer(student, capacity=20, n_added=20), 50)
    ids = batch["rewards"].numpy()  # transition i has reward i
    assert np.allclose(batch["obs"].numpy(), ids[:, None]), (
        "row j of obs must be the observation of the transition whose reward is row j of "
        "rewards: draw ONE set of indices and use it for every array")
    assert np.allclose(batch["next_obs"].numpy(), ids[:, None] + 0.5), (
        "next_obs does not match the rest of the row: use the same indices for every array")
    assert np.array_equal(batch["actions"].numpy(), ids.astype(int) % 2), (
        "actions do not match the rest of the row: use the same indices for every array")
    assert np.array_equal(batch["terminated"].numpy(), (ids.astype(int) % 3 == 0) * 1.0), (
        "terminated should be 1.0 for transitions added with terminated=True and 0.0 "
        "otherwise, on the same row as the rest of their transition")


@exercise("ReplayBuffer", points=3)
def test_full_buffer_overwrites_the_oldest_transitions(student):
    buffer = _filled_buffer(student, capacity=5, n_added=8)  # rewards 0..7; keep 3..7
    seen = set(_sample(buffer, 400)["rewards"].numpy().astype(int).tolist())
    assert seen <= {3, 4, 5, 6, 7}, (
        f"capacity 5 after adding transitions 0..7 should hold only 3..7, but sample() "
        f"returned {sorted(seen - {3, 4, 5, 6, 7})}: the oldest must be overwritten")
    assert seen == {3, 4, 5, 6, 7}, (
        f"400 draws from a buffer holding 3..7 should see all five, saw only {sorted(seen)}"
        ": sample uniformly from every stored transition")


@exercise("ReplayBuffer", points=3)
def test_sample_is_uniform_over_all_stored_transitions(student):
    buffer = _filled_buffer(student, capacity=100, n_added=50)  # half full: slots 0..49
    rewards = np.concatenate([_sample(buffer, 8)["rewards"].numpy() for _ in range(625)])
    counts = np.bincount(rewards.astype(int), minlength=100)
    assert counts[50:].sum() == 0, (
        "a buffer holding 50 transitions sampled an empty slot: draw indices below "
        "len(buffer), not below capacity")
    # Each of 50 transitions expects 100 draws (sd about 10); 55..145 is a 4.5 sd margin.
    assert counts[:50].min() >= 55 and counts[:50].max() <= 145, (
        f"625 minibatches of 8 over 50 transitions should draw each about 100 times, got "
        f"counts from "
        f"{counts[:50].min()} to {counts[:50].max()}: sample uniformly at random over all "
        "stored transitions, not only the newest ones")


@exercise("ReplayBuffer", points=3)
def test_same_seed_gives_the_same_minibatches(student):
    first = _sample(_filled_buffer(student, capacity=30, n_added=30, seed=7), 16)
    np.random.seed(123)  # a buffer with its own generator ignores the global state
    second = _sample(_filled_buffer(student, capacity=30, n_added=30, seed=7), 16)
    assert torch.equal(first["rewards"], second["rewards"]), (
        "two buffers with the same seed and contents should return the same minibatch: "
        "draw indices with self.rng = np.random.default_rng(seed), not np.random or torch")


# --------------------------------------------------------------------------- #
# Exercise 4.2: linear_epsilon(step, start, end, duration)
# --------------------------------------------------------------------------- #
def _epsilon(student, step, start=1.0, end=0.1, duration=10_000):
    got = student.linear_epsilon(step, start, end, duration)
    assert np.ndim(got) == 0, f"linear_epsilon should return one float, got {got!r}"
    return float(got)


@exercise("linear_epsilon", points=1)
def test_epsilon_starts_at_start_and_reaches_end_at_duration(student):
    assert abs(_epsilon(student, 0) - 1.0) < 1e-12, (
        f"linear_epsilon(0, 1.0, 0.1, 10000) should be start = 1.0, got {_epsilon(student, 0)}")
    got = _epsilon(student, 10_000)
    assert abs(got - 0.1) < 1e-12, (
        f"linear_epsilon(10000, 1.0, 0.1, 10000) should be exactly end = 0.1, got {got}: "
        "the line reaches end after `duration` steps, not later")


@exercise("linear_epsilon", points=1)
def test_epsilon_moves_in_a_straight_line(student):
    for step, expected in [(2_500, 0.775), (5_000, 0.55), (9_000, 0.19)]:
        got = _epsilon(student, step)
        assert abs(got - expected) < 1e-9, (
            f"linear_epsilon({step}, 1.0, 0.1, 10000) should be 1.0 - 0.9 * {step}/10000 = "
            f"{expected}, got {got}")


@exercise("linear_epsilon", points=1)
def test_epsilon_stays_at_end_after_duration(student):
    for step in (10_001, 15_000, 10**6):
        got = _epsilon(student, step)
        assert abs(got - 0.1) < 1e-12, (
            f"linear_epsilon({step}, 1.0, 0.1, 10000) should stay at end = 0.1, got {got}: "
            "clip the fraction step / duration at 1")


@exercise("linear_epsilon", points=1)
def test_epsilon_schedule_may_also_rise(student):
    got = _epsilon(student, 50, start=0.0, end=1.0, duration=100)
    assert abs(got - 0.5) < 1e-12, (
        f"linear_epsilon(50, 0.0, 1.0, 100) should be 0.5, got {got}: the formula "
        "start + (end - start) * fraction works in both directions")
    got = _epsilon(student, 300, start=0.0, end=1.0, duration=100)
    assert abs(got - 1.0) < 1e-12, (
        f"linear_epsilon(300, 0.0, 1.0, 100) should stay at end = 1.0, got {got}")


# --------------------------------------------------------------------------- #
# Exercise 4.3: td_target(rewards, next_q_target, terminated, gamma)
# --------------------------------------------------------------------------- #
def _targets(student, rewards, next_q, terminated, gamma):
    got = student.td_target(torch.tensor(rewards), torch.tensor(next_q),
                            torch.tensor(terminated), gamma)
    assert isinstance(got, torch.Tensor), (
        f"td_target should return a torch tensor, got {type(got).__name__}")
    assert tuple(got.shape) == (len(rewards),), (
        f"td_target should return one target per transition, shape ({len(rewards)},), "
        f"got {tuple(got.shape)}: take the max over the actions (dim 1), keep the batch")
    return got.detach().numpy()


@exercise("td_target", points=2)
def test_worked_example_from_the_docstring(student):
    got = _targets(student, [1.0, 1.0], [[2.0, 3.0], [5.0, 4.0]], [0.0, 1.0], 0.5)
    assert np.allclose(got, [2.5, 1.0]), (
        f"expected [1 + 0.5 * max(2, 3), 1] = [2.5, 1.0], got {got.round(4).tolist()}")


@exercise("td_target", points=2)
def test_target_takes_the_max_over_actions_of_each_row(student):
    # 3 transitions x 3 actions; the max of each ROW is 7, 5, 9 (column maxima are 9, 8, 7).
    next_q = [[1.0, 7.0, 2.0], [5.0, -1.0, 0.0], [9.0, 8.0, 3.0]]
    got = _targets(student, [0.0, 0.0, 0.0], next_q, [0.0, 0.0, 0.0], 1.0)
    assert np.allclose(got, [7.0, 5.0, 9.0]), (
        f"with r = 0 and gamma = 1 the targets are each row's max, [7, 5, 9]; got "
        f"{got.round(4).tolist()}: max over the actions (dim=1) of next_q_target")


@exercise("td_target", points=2)
def test_terminated_transition_does_not_bootstrap(student):
    got = _targets(student, [2.0, -1.0], [[10.0, 20.0], [30.0, 40.0]], [1.0, 1.0], 0.9)
    assert np.allclose(got, [2.0, -1.0]), (
        f"a terminated transition's target is its reward alone, [2, -1]; got "
        f"{got.round(4).tolist()}: multiply the bootstrap term by (1 - terminated)")


@exercise("td_target", points=2)
def test_time_limit_step_with_terminated_zero_still_bootstraps(student):
    # CartPole's 500th step: truncated=True but terminated=False, so the batch holds 0.0.
    got = _targets(student, [1.0], [[50.0, 60.0]], [0.0], 0.99)
    assert np.allclose(got, [1.0 + 0.99 * 60.0]), (
        f"a step with terminated = 0 (such as one cut off by the time limit) bootstraps: "
        f"1 + 0.99 * 60 = 60.4, got {got.round(4).tolist()}")


@exercise("td_target", points=2)
def test_target_carries_no_gradient(student):
    next_q = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    got = student.td_target(torch.tensor([0.0, 1.0]), next_q, torch.tensor([0.0, 0.0]), 0.9)
    assert not got.requires_grad, (
        "td_target's result still requires grad: the target is a fixed label, compute it "
        "under torch.no_grad() or .detach() it")


# --------------------------------------------------------------------------- #
# Exercise 4.4: dqn_loss(q_net, target_net, batch, gamma)
# --------------------------------------------------------------------------- #
@exercise("dqn_loss", points=2)
def test_loss_is_the_batch_mean_huber_of_the_td_errors(student):
    q_net, target_net, batch = _loss_setup()
    got = _scalar(student.dqn_loss(q_net, target_net, batch, LOSS_GAMMA))
    mse = sum(d ** 2 for d in LOSS_DELTAS) / 3
    assert abs(got - LOSS_EXPECTED) < 1e-5, (
        f"the TD errors of this batch are {list(LOSS_DELTAS)}, so the mean Huber loss is "
        f"{LOSS_EXPECTED:.4f} (mean squared error would be {mse:.4f}); got {got:.4f}. "
        "Check: Q(s, a) of the TAKEN action, targets from target_net, (1 - terminated) "
        "mask, Huber (F.smooth_l1_loss), mean over the batch")


@exercise("dqn_loss", points=2)
def test_targets_come_from_the_target_network(student):
    q_net, target_net, batch = _loss_setup()
    batch["terminated"] = torch.zeros(3)
    batch["rewards"] = torch.zeros(3)
    batch["obs"] = torch.tensor([[2.0, 1.0], [3.0, 1.0], [4.0, 1.0]])
    batch["actions"] = torch.tensor([0, 0, 0])
    batch["next_obs"] = torch.zeros(3, 2)
    # Q(s, a=0) = 2, 3, 4; target net at s' = 0 gives [1, 0], so y = 1 * 1.0 = 1 each;
    # the online net at s' = 0 would give [0, 0] and y = 0.
    got = _scalar(student.dqn_loss(q_net, target_net, batch, 1.0))
    expected = (_huber(1.0) + _huber(2.0) + _huber(3.0)) / 3
    assert abs(got - expected) < 1e-5, (
        f"expected {expected:.4f} with targets from target_net, got {got:.4f}: evaluate "
        "next_obs with target_net, not with q_net")


@exercise("dqn_loss", points=2)
def test_gradient_reaches_the_online_network_only(student):
    q_net, target_net, batch = _loss_setup()
    loss = student.dqn_loss(q_net, target_net, batch, LOSS_GAMMA)
    _scalar(loss)
    loss.backward()
    assert all(p.grad is None for p in target_net.parameters()), (
        "after loss.backward() the target network has gradients: compute the targets "
        "under torch.no_grad() (or detach them); only q_net is trained")
    assert q_net.weight.grad is not None and q_net.weight.grad.abs().sum() > 0, (
        "after loss.backward() q_net has no gradient: Q(s, a) must come from q_net "
        "without no_grad/detach")


@exercise("dqn_loss", points=2)
def test_only_the_taken_action_is_pulled(student):
    q_net, target_net, batch = _loss_setup()
    loss = student.dqn_loss(q_net, target_net, batch, LOSS_GAMMA)
    _scalar(loss)
    loss.backward()
    # Q(s, a) = weight[a] @ s: row a of the gradient collects the transitions that took a,
    # each with the Huber slope (delta if |delta| <= 1, else sign(delta)) divided by B = 3.
    # Action 0: j=0 (delta -0.5, slope -0.5) and j=1 (delta 1.5, slope 1):
    #   row 0 = (-0.5 * [1.5, 2] + 1 * [3, 0.5]) / 3 = [0.75, -1/6].
    # Action 1: j=2 (delta 2, slope 1): row 1 = [0, 4] / 3 = [0, 4/3].
    expected = np.array([[0.75, -1.0 / 6.0], [0.0, 4.0 / 3.0]])
    got = q_net.weight.grad.numpy()
    assert np.allclose(got, expected, atol=1e-5), (
        f"the gradient of q_net's weights should be {expected.round(4).tolist()}, got "
        f"{got.round(4).tolist()}: only Q(s_j, a_j) of the action taken enters the loss "
        "(gather with the actions), not max_a Q(s_j, a)")


@exercise("dqn_loss", points=2)
def test_truncated_flag_in_the_batch_does_not_stop_the_bootstrap(student):
    q_net, target_net, batch = _loss_setup()
    # The second transition was CartPole's 500th step: cut off by the time limit. Masking
    # it would make its target 0 instead of 1.5 (delta 3 instead of 1.5).
    batch["truncated"] = torch.tensor([0.0, 1.0, 0.0])
    got = _scalar(student.dqn_loss(q_net, target_net, batch, LOSS_GAMMA))
    assert abs(got - LOSS_EXPECTED) < 1e-5, (
        f"expected {LOSS_EXPECTED:.4f}, got {got:.4f}: a truncated step is not an end, it "
        "still bootstraps; mask with batch['terminated'] only")


# --------------------------------------------------------------------------- #
# Exercise 4.5: polyak_update(target_net, online_net, tau)
# --------------------------------------------------------------------------- #
@exercise("polyak_update", points=2)
def test_polyak_mixes_tau_of_online_with_one_minus_tau_of_target(student):
    target_net, online_net = _nets_for_polyak(0)
    before_target, before_online = _params(target_net), _params(online_net)
    student.polyak_update(target_net, online_net, 0.25)
    for name_param, after, old_target, online in zip(
            target_net.named_parameters(), target_net.parameters(), before_target,
            before_online):
        expected = 0.25 * online + 0.75 * old_target
        assert torch.allclose(after.detach(), expected, atol=1e-6), (
            f"with tau = 0.25, target parameter {name_param[0]!r} should become "
            "0.25 * online + 0.75 * target; check which network gets tau (the online one) "
            "and that every parameter, biases too, is updated")


@exercise("polyak_update", points=2)
def test_tau_one_copies_and_tau_zero_keeps(student):
    target_net, online_net = _nets_for_polyak(1)
    before_target = _params(target_net)
    student.polyak_update(target_net, online_net, 0.0)
    assert all(torch.allclose(p.detach(), b) for p, b in
               zip(target_net.parameters(), before_target)), (
        "tau = 0 should leave the target network unchanged")
    student.polyak_update(target_net, online_net, 1.0)
    assert all(torch.allclose(p.detach(), q.detach()) for p, q in
               zip(target_net.parameters(), online_net.parameters())), (
        "tau = 1 should copy the online weights into the target network (a hard update)")


@exercise("polyak_update", points=2)
def test_update_is_in_place_and_leaves_the_online_network_alone(student):
    target_net, online_net = _nets_for_polyak(2)
    tensor_ids = [id(p) for p in target_net.parameters()]
    before_online = _params(online_net)
    result = student.polyak_update(target_net, online_net, 0.5)
    assert result is None or result is target_net, (
        "polyak_update should change target_net in place (and return None)")
    assert [id(p) for p in target_net.parameters()] == tensor_ids, (
        "polyak_update replaced target_net's parameter tensors: update them in place "
        "(p.mul_(...).add_(...) or p.copy_(...)) so an optimiser or a reference to them "
        "stays valid")
    assert all(torch.equal(p.detach(), b) for p, b in
               zip(online_net.parameters(), before_online)), (
        "polyak_update changed the online network: only target_net moves; check the "
        "argument order (target_net, online_net, tau)")


@exercise("polyak_update", points=2)
def test_update_is_not_recorded_by_autograd(student):
    target_net, online_net = _nets_for_polyak(3)
    student.polyak_update(target_net, online_net, 0.5)
    for name, p in target_net.named_parameters():
        assert p.grad_fn is None and p.requires_grad and p.is_leaf, (
            f"after polyak_update, target parameter {name!r} is no longer a plain leaf "
            "tensor: do the update under torch.no_grad()")
