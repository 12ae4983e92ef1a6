"""Graded tests of chapter 05: policy gradients.

Every expected value is computed here, independently of the reference solution: by hand
for tiny inputs (the arithmetic is in the comments), by closed forms (geometric series,
the softmax score function d log pi(a) / d theta = onehot(a) - pi), or by sums written
out term by term (GAE as sum_l (gamma lam)**l delta_{t+l}), never by the same backward
recursion the solution uses.

Conventions the tests check, as the exercise docstrings state them: rewards[t] is the
reward received after the action at step t; terminated[t] flags that very step; the
policy-gradient and PPO losses are MEANS over the batch, with the minus sign that makes
minimising them climb the objective.
"""

import numpy as np
import torch

from rlbook_utils.exercises import exercise


def _float_array(got, name, length):
    assert isinstance(got, np.ndarray), (
        f"{name} should return a numpy array, got {type(got).__name__}")
    assert got.shape == (length,), (
        f"{name} should return an array of shape ({length},), one entry per step, "
        f"got shape {got.shape}")
    assert np.issubdtype(got.dtype, np.floating), (
        f"{name} should return floats, got dtype {got.dtype}: start from np.zeros(T)")
    return got


def _scalar_tensor(got, name):
    assert isinstance(got, torch.Tensor), (
        f"{name} should return a torch tensor, got {type(got).__name__}")
    assert got.dim() == 0, (
        f"{name} should return ONE number (a 0-dimensional tensor), got shape "
        f"{tuple(got.shape)}: average over the batch with .mean()")
    return got


# --------------------------------------------------------------------------- #
# Exercise 5.1: reward_to_go(rewards, gamma)
# --------------------------------------------------------------------------- #
@exercise("reward_to_go", points=2)
def test_worked_example_three_ones_at_one_half(student):
    got = _float_array(student.reward_to_go([1.0, 1.0, 1.0], 0.5), "reward_to_go", 3)
    # G_2 = 1, G_1 = 1 + 0.5 * 1 = 1.5, G_0 = 1 + 0.5 * 1.5 = 1.75
    assert np.allclose(got, [1.75, 1.5, 1.0], atol=1e-12), (
        f"reward_to_go([1, 1, 1], 0.5) should be [1.75, 1.5, 1.0], got {got.tolist()}")


@exercise("reward_to_go", points=2)
def test_first_reward_after_t_is_not_discounted(student):
    got = _float_array(student.reward_to_go([0.0, 0.0, 5.0], 0.5), "reward_to_go", 3)
    assert abs(got[-1] - 5.0) < 1e-12, (
        f"the last entry G_(T-1) is the last reward itself, 5.0, got {got[-1]}: the first "
        "reward after step t is weighted by gamma**0 = 1 (is the exponent off by one?)")
    # The reward 5 lies 1 and 2 steps beyond t = 1 and t = 0: 2.5 and 1.25.
    assert np.allclose(got, [1.25, 2.5, 5.0], atol=1e-12), (
        f"reward_to_go([0, 0, 5], 0.5) should be [1.25, 2.5, 5.0], got {got.tolist()}: "
        "G_t discounts a reward by gamma**(k - t), its distance from step t, not from "
        "the start of the episode")


@exercise("reward_to_go", points=2)
def test_past_rewards_do_not_count(student):
    got = _float_array(student.reward_to_go([3.0, -5.0, 7.0], 1.0), "reward_to_go", 3)
    assert np.allclose(got, [5.0, 2.0, 7.0], atol=1e-12), (
        f"with gamma = 1, reward_to_go([3, -5, 7]) should be the suffix sums "
        f"[5, 2, 7], got {got.tolist()}: G_t sums the rewards from step t on only, not "
        "the whole episode's return at every step")


@exercise("reward_to_go", points=2)
def test_rewards_are_discounted(student):
    gamma = 0.9
    got = _float_array(student.reward_to_go([1.0, 2.0, 3.0], gamma), "reward_to_go", 3)
    expected = [1 + gamma * 2 + gamma**2 * 3, 2 + gamma * 3, 3.0]  # [5.23, 4.7, 3]
    assert np.allclose(got, expected, atol=1e-12), (
        f"reward_to_go([1, 2, 3], 0.9) should be {np.round(expected, 4).tolist()}, got "
        f"{np.round(got, 4).tolist()}: a reward k - t steps after t is multiplied by "
        "gamma**(k - t)")


@exercise("reward_to_go", points=2)
def test_long_episode_matches_the_geometric_series(student):
    gamma, T = 0.99, 300
    got = _float_array(student.reward_to_go(np.ones(T), gamma), "reward_to_go", T)
    steps_left = T - np.arange(T)  # rewards still to come after each step t
    expected = (1 - gamma**steps_left) / (1 - gamma)
    assert np.allclose(got, expected, atol=1e-9), (
        "300 rewards of 1 at gamma = 0.99: G_t should be (1 - 0.99**(T - t)) / 0.01, "
        f"e.g. G_0 = {expected[0]:.4f} and G_299 = 1, got G_0 = {got[0]:.4f} and "
        f"G_299 = {got[-1]:.4f}")


@exercise("reward_to_go", points=2)
def test_accepts_lists_of_ints_and_empty_episodes(student):
    got = _float_array(student.reward_to_go([1, 2], 0.5), "reward_to_go", 2)
    assert np.allclose(got, [2.0, 2.0]), (
        f"reward_to_go([1, 2], 0.5) should be [2.0, 2.0] (rewards may be ints), "
        f"got {got.tolist()}")
    empty = student.reward_to_go(np.array([]), 0.9)
    assert isinstance(empty, np.ndarray) and empty.shape == (0,), (
        f"an empty episode has an empty reward-to-go, np.zeros(0), got {empty!r}")


@exercise("reward_to_go", points=2)
def test_does_not_modify_the_rewards(student):
    rewards = np.array([1.0, 2.0, 3.0])
    student.reward_to_go(rewards, 0.5)
    assert np.array_equal(rewards, [1.0, 2.0, 3.0]), (
        "reward_to_go changed the rewards array it was given: only read it")


# --------------------------------------------------------------------------- #
# Exercise 5.2: policy_gradient_loss(log_probs, weights)
# --------------------------------------------------------------------------- #
@exercise("policy_gradient_loss", points=2)
def test_worked_example_value(student):
    log_probs = torch.tensor([-1.0, -2.0], requires_grad=True)
    got = _scalar_tensor(student.policy_gradient_loss(log_probs, torch.tensor([1.0, 3.0])),
                         "policy_gradient_loss")
    # -((-1) * 1 + (-2) * 3) / 2 = 7 / 2
    assert abs(got.item() - 3.5) < 1e-6, (
        f"policy_gradient_loss([-1, -2], [1, 3]) should be -((-1)(1) + (-2)(3)) / 2 = 3.5, "
        f"got {got.item():.4f}: the loss is MINUS the MEAN of log_prob * weight")


@exercise("policy_gradient_loss", points=2)
def test_is_a_mean_over_the_batch_not_a_sum(student):
    log_probs = torch.full((4,), -0.5, requires_grad=True)
    weights = torch.full((4,), 2.0)
    got = _scalar_tensor(student.policy_gradient_loss(log_probs, weights),
                         "policy_gradient_loss")
    assert abs(got.item() - 1.0) < 1e-6, (
        f"four steps, each with log_prob -0.5 and weight 2, give the loss "
        f"-mean(-1, -1, -1, -1) = 1.0, got {got.item():.4f}: we require the mean over "
        "the steps (a sum would make the step size grow with the batch)")


@exercise("policy_gradient_loss", points=2)
def test_gradient_with_respect_to_log_probs_is_minus_weight_over_n(student):
    log_probs = torch.tensor([-0.3, -1.2, -0.7], requires_grad=True)
    weights = torch.tensor([2.0, -1.0, 0.5])
    student.policy_gradient_loss(log_probs, weights).backward()
    expected = -weights / 3
    assert log_probs.grad is not None and torch.allclose(log_probs.grad, expected), (
        f"d loss / d log_probs should be -weights / N = {expected.tolist()}, got "
        f"{None if log_probs.grad is None else log_probs.grad.tolist()}: check the minus "
        "sign and the mean")


@exercise("policy_gradient_loss", points=2)
def test_no_gradient_flows_into_the_weights(student):
    critic_output = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    weights = 3.0 * critic_output  # e.g. advantages computed by a network
    log_probs = torch.tensor([-0.5, -1.0, -2.0], requires_grad=True)
    student.policy_gradient_loss(log_probs, weights).backward()
    leaked = critic_output.grad
    assert leaked is None or torch.all(leaked == 0), (
        f"the loss sent a gradient {leaked.tolist() if leaked is not None else None} into "
        "the network that computed the weights: weights are constants in the policy "
        "gradient, use weights.detach()")


@exercise("policy_gradient_loss", points=2)
def test_gradient_of_a_softmax_policy_matches_the_score_function(student):
    # For pi = softmax(theta), d log pi(a) / d theta = onehot(a) - pi; the loss gradient
    # is -mean_t w_t (onehot(a_t) - pi).
    theta = torch.tensor([0.2, -0.4, 0.1], requires_grad=True)
    actions = torch.tensor([0, 2, 2, 1])
    weights = np.array([1.0, -2.0, 0.5, 3.0])  # a numpy array is allowed
    log_probs = torch.log_softmax(theta, dim=0)[actions]
    student.policy_gradient_loss(log_probs, weights).backward()
    pi = np.exp(theta.detach().numpy()) / np.exp(theta.detach().numpy()).sum()
    expected = -np.mean([w * (np.eye(3)[a] - pi) for a, w in zip(actions.numpy(), weights)],
                        axis=0)
    assert theta.grad is not None and np.allclose(theta.grad.numpy(), expected, atol=1e-6), (
        f"the gradient of the loss with respect to the logits should be "
        f"{np.round(expected, 4).tolist()}, got "
        f"{None if theta.grad is None else np.round(theta.grad.numpy(), 4).tolist()}")


@exercise("policy_gradient_loss", points=2)
def test_a_gradient_step_makes_well_rewarded_actions_likelier(student):
    theta = torch.zeros(2, requires_grad=True)
    log_probs = torch.log_softmax(theta, dim=0)[torch.tensor([1, 1, 0])]
    loss = student.policy_gradient_loss(log_probs, torch.tensor([1.0, 1.0, -1.0]))
    loss.backward()
    with torch.no_grad():
        prob_after = torch.softmax(theta - 0.5 * theta.grad, dim=0)[1].item()
    assert prob_after > 0.5, (
        f"action 1 earned weight +1 twice and action 0 weight -1, yet one gradient "
        f"DESCENT step on the loss brought pi(action 1) from 0.5 to {prob_after:.3f}: "
        "the loss needs a minus sign, -mean(log_prob * weight)")


# --------------------------------------------------------------------------- #
# Exercise 5.3: gae_advantages(rewards, values, next_value, terminated, gamma, lam)
# --------------------------------------------------------------------------- #
def _gae_by_sums(rewards, values, next_value, terminated, gamma, lam):
    """A_t = sum_l (gamma lam)**l delta_{t+l}, stopping after the first terminated step."""
    T = len(rewards)
    next_values = list(values[1:]) + [next_value]
    deltas = [rewards[t] + gamma * next_values[t] * (1 - terminated[t]) - values[t]
              for t in range(T)]
    advantages = []
    for t in range(T):
        total = 0.0
        for l in range(T - t):
            total += (gamma * lam) ** l * deltas[t + l]
            if terminated[t + l]:
                break
        advantages.append(total)
    return np.array(advantages)


_REWARDS = [1.0, 0.5, -1.0, 2.0, 1.0]
_VALUES = [0.3, -0.2, 1.1, 0.4, 0.9]


@exercise("gae_advantages", points=3)
def test_worked_example(student):
    got = _float_array(student.gae_advantages([1.0, 1.0], [0.0, 0.0], 10.0,
                                              [False, False], 0.5, 1.0),
                       "gae_advantages", 2)
    # A_1 = 1 + 0.5 * 10 - 0 = 6; A_0 = delta_0 + 0.5 * 1 * A_1 = 1 + 0.5 * 6 = 4
    assert np.allclose(got, [4.0, 6.0]), (
        f"the docstring's example should give [4.0, 6.0], got {got.tolist()}")


@exercise("gae_advantages", points=3)
def test_lambda_zero_gives_the_one_step_td_errors(student):
    gamma, next_value = 0.9, 0.7
    got = _float_array(student.gae_advantages(_REWARDS, _VALUES, next_value, [False] * 5,
                                              gamma, 0.0), "gae_advantages", 5)
    next_values = _VALUES[1:] + [next_value]
    expected = [r + gamma * v_next - v for r, v, v_next in zip(_REWARDS, _VALUES, next_values)]
    assert np.allclose(got, expected, atol=1e-9), (
        f"with lam = 0 the advantages are the TD errors r_t + gamma V(s_(t+1)) - V(s_t) = "
        f"{np.round(expected, 4).tolist()}, got {np.round(got, 4).tolist()}: gamma "
        "discounts V(s_(t+1)) in delta, lam only weighs later deltas (are they swapped?)")


@exercise("gae_advantages", points=3)
def test_lambda_one_gives_the_bootstrapped_return_minus_the_value(student):
    gamma, next_value = 0.9, 0.7
    got = _float_array(student.gae_advantages(_REWARDS, _VALUES, next_value, [False] * 5,
                                              gamma, 1.0), "gae_advantages", 5)
    # Monte Carlo: G_t = sum_{k>=t} gamma**(k-t) r_k + gamma**(T-t) V(s_T); A_t = G_t - V(s_t)
    expected = [sum(gamma ** (k - t) * _REWARDS[k] for k in range(t, 5))
                + gamma ** (5 - t) * next_value - _VALUES[t] for t in range(5)]
    assert np.allclose(got, expected, atol=1e-9), (
        f"with lam = 1 and no termination, A_t is the discounted return bootstrapped "
        f"with next_value, minus V(s_t): {np.round(expected, 4).tolist()}, got "
        f"{np.round(got, 4).tolist()}: the trace is A_t = delta_t + gamma * lam * A_(t+1)")


@exercise("gae_advantages", points=3)
def test_matches_the_sum_of_discounted_td_errors(student):
    gamma, lam, next_value = 0.9, 0.8, -0.6
    got = _float_array(student.gae_advantages(_REWARDS, _VALUES, next_value, [False] * 5,
                                              gamma, lam), "gae_advantages", 5)
    expected = _gae_by_sums(_REWARDS, _VALUES, next_value, [False] * 5, gamma, lam)
    assert np.allclose(got, expected, atol=1e-9), (
        f"with gamma = 0.9, lam = 0.8: A_t = sum_l (gamma lam)**l delta_(t+l) = "
        f"{np.round(expected, 4).tolist()}, got {np.round(got, 4).tolist()}")


@exercise("gae_advantages", points=3)
def test_truncated_segment_bootstraps_from_next_value(student):
    # The segment was cut by a time limit: nothing terminated, so V(s_T) = 10 counts.
    got = _float_array(student.gae_advantages([1.0, 1.0], [2.0, 2.0], 10.0,
                                              [False, False], 0.5, 0.5),
                       "gae_advantages", 2)
    # delta_1 = 1 + 0.5 * 10 - 2 = 4; delta_0 = 1 + 0.5 * 2 - 2 = 0; A_0 = 0 + 0.25 * 4 = 1
    assert np.allclose(got, [1.0, 4.0]), (
        f"a segment whose last step did not terminate (cut by a time limit) must "
        f"bootstrap from next_value = V(s_T): expected [1.0, 4.0], got {got.tolist()}. "
        "Only `terminated` stops the bootstrap; a truncated episode still has a future")


@exercise("gae_advantages", points=3)
def test_termination_at_the_last_step_ignores_next_value(student):
    for next_value in (0.0, 1e6):
        got = _float_array(student.gae_advantages([1.0, 1.0], [2.0, 2.0], next_value,
                                                  [False, True], 0.5, 0.5),
                           "gae_advantages", 2)
        # delta_1 = 1 - 2 = -1 (no bootstrap); delta_0 = 1 + 0.5 * 2 - 2 = 0;
        # A_0 = 0 + 0.25 * (-1) = -0.25
        assert np.allclose(got, [-0.25, -1.0]), (
            f"the last step terminated, so next_value ({next_value:g}) must not count: "
            f"expected [-0.25, -1.0], got {got.tolist()}. Multiply gamma * V(s_(t+1)) "
            "by (1 - terminated[t])")


@exercise("gae_advantages", points=3)
def test_termination_mid_segment_cuts_exactly_at_that_step(student):
    # Step 1 ends an episode; step 2 starts the next one (values[2] is its first state).
    gamma, lam, next_value = 0.9, 0.8, 0.7
    terminated = [False, True, False, False, False]
    got = _float_array(student.gae_advantages(_REWARDS, _VALUES, next_value, terminated,
                                              gamma, lam), "gae_advantages", 5)
    expected = _gae_by_sums(_REWARDS, _VALUES, next_value, terminated, gamma, lam)
    assert np.allclose(got, expected, atol=1e-9), (
        f"terminated = {terminated}: step 1 must neither bootstrap from V(s_2) nor let "
        f"A_1 see the new episode's TD errors, while step 0 still bootstraps from "
        f"V(s_1). Expected {np.round(expected, 4).tolist()}, got "
        f"{np.round(got, 4).tolist()}: use terminated[t] (the same t) for both the "
        "delta and the trace")


@exercise("gae_advantages", points=3)
def test_accepts_lists_and_does_not_modify_its_inputs(student):
    rewards, values = np.array([1.0, 0.0, 2.0]), np.array([0.5, 0.5, 0.5])
    terminated = np.array([False, False, True])
    got = _float_array(student.gae_advantages(rewards, values, 3.0, terminated, 0.9, 0.9),
                       "gae_advantages", 3)
    expected = _gae_by_sums([1.0, 0.0, 2.0], [0.5] * 3, 3.0, [0, 0, 1], 0.9, 0.9)
    assert np.allclose(got, expected), (
        f"expected {np.round(expected, 4).tolist()}, got {np.round(got, 4).tolist()}")
    assert np.array_equal(rewards, [1.0, 0.0, 2.0]) and np.array_equal(values, [0.5] * 3), (
        "gae_advantages changed the arrays it was given: only read them")


# --------------------------------------------------------------------------- #
# Exercise 5.4: ppo_clip_loss(logp_new, logp_old, advantages, clip_eps)
# --------------------------------------------------------------------------- #
def _log(values):
    return torch.log(torch.tensor(values, dtype=torch.float64))


@exercise("ppo_clip_loss", points=3)
def test_ratio_one_gives_minus_the_mean_advantage(student):
    logp = _log([0.5, 0.25, 0.8])
    advantages = torch.tensor([1.0, -2.0, 4.0], dtype=torch.float64)
    got = _scalar_tensor(student.ppo_clip_loss(logp.clone(), logp.clone(), advantages, 0.2),
                         "ppo_clip_loss")
    assert abs(got.item() + 1.0) < 1e-9, (
        f"when the new and old log-probs are equal (rho = 1) the loss is -mean(A) = -1.0, "
        f"got {got.item():.4f}: check the minus sign and the mean")


@exercise("ppo_clip_loss", points=3)
def test_ratio_is_exp_of_the_log_prob_difference(student):
    # pi_old = 0.5, pi_new = 0.55: rho = 1.1, inside [0.8, 1.2]; loss = -(1.1 * 2) = -2.2
    got = _scalar_tensor(student.ppo_clip_loss(_log([0.55]), _log([0.5]),
                                               torch.tensor([2.0], dtype=torch.float64),
                                               0.2), "ppo_clip_loss")
    assert abs(got.item() + 2.2) < 1e-9, (
        f"pi_new = 0.55 and pi_old = 0.5 give rho = 1.1 and, with A = 2, the loss -2.2, "
        f"got {got.item():.4f}: rho = exp(logp_new - logp_old) (not logp_new / logp_old)")


@exercise("ppo_clip_loss", points=3)
def test_clips_only_where_it_limits_the_improvement(student):
    eps = 0.2
    # rho = 1.5, 1.5, 0.5, 0.5 against A = +1, -1, +1, -1
    logp_old = _log([0.2, 0.2, 0.4, 0.4])
    logp_new = _log([0.3, 0.3, 0.2, 0.2])
    advantages = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    got = _scalar_tensor(student.ppo_clip_loss(logp_new, logp_old, advantages, eps),
                         "ppo_clip_loss")
    # min terms: min(1.5, 1.2) = 1.2; min(-1.5, -1.2) = -1.5; min(0.5, 0.8) = 0.5;
    # min(-0.5, -0.8) = -0.8. Loss = -(1.2 - 1.5 + 0.5 - 0.8) / 4 = 0.15
    assert abs(got.item() - 0.15) < 1e-9, (
        f"for rho = [1.5, 1.5, 0.5, 0.5], A = [+1, -1, +1, -1], eps = 0.2 the terms "
        f"min(rho A, clip(rho) A) are [1.2, -1.5, 0.5, -0.8] and the loss is 0.15, got "
        f"{got.item():.4f}: the min keeps the UNclipped term where the policy got worse "
        "(rho A below the clipped value); clipping rho alone is not enough")


@exercise("ppo_clip_loss", points=3)
def test_clipped_samples_give_no_gradient(student):
    eps = 0.2
    logp_old = _log([0.2, 0.2, 0.4, 0.4])
    logp_new = _log([0.3, 0.3, 0.2, 0.2]).requires_grad_(True)
    advantages = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    student.ppo_clip_loss(logp_new, logp_old, advantages, eps).backward()
    # d/dlogp_new of -rho A / N is -rho A / N where the unclipped term is the min, else 0.
    expected = np.array([0.0, 1.5 / 4, -0.5 / 4, 0.0])
    got = None if logp_new.grad is None else logp_new.grad.numpy()
    assert got is not None and np.allclose(got, expected, atol=1e-9), (
        f"d loss / d logp_new should be {expected.tolist()} (zero for the two samples "
        f"whose clipped term is the min), got {None if got is None else got.tolist()}")


@exercise("ppo_clip_loss", points=3)
def test_minimising_the_loss_raises_the_probability_of_good_actions(student):
    logp_old = _log([0.5])
    logp_new = _log([0.5]).requires_grad_(True)
    advantage = torch.tensor([1.0], dtype=torch.float64)
    student.ppo_clip_loss(logp_new, logp_old, advantage, 0.2).backward()
    assert logp_new.grad is not None and logp_new.grad.item() < 0, (
        f"with a positive advantage, gradient DESCENT on the loss must raise logp_new, so "
        f"d loss / d logp_new must be negative, got "
        f"{None if logp_new.grad is None else logp_new.grad.item():.4f}: the loss is "
        "MINUS the clipped objective")
