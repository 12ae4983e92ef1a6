"""Graded tests of chapter 05: policy gradients.

Every expected value is computed here, independently of the reference solution: by hand
for tiny inputs (the arithmetic is in the comments), by closed forms (the entropy of a
uniform policy is log n; d H / d logits = -pi (log pi + H)), by sums written out term by
term (GAE as sum_l (gamma lam)**l delta_{t+l}), or from exact probabilities (the KL
between two softmax policies), never by the same recursion or vectorised line the
solution uses.

Conventions the tests check, as the exercise docstrings state them: rewards[t] is the
reward received after the action at step t; terminated[t] flags that very step; the
ratio is exp(logp_new - logp_old); the entropy is a MEAN over the batch, in nats; the
explained variance is nan when the returns do not vary.
"""

import math

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
# Exercise 5.1: gae_advantages(rewards, values, next_value, terminated, gamma, lam)
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
    """The docstring's example: two rewards of 1, V = 0, next_value = 10."""
    got = _float_array(student.gae_advantages([1.0, 1.0], [0.0, 0.0], 10.0,
                                              [False, False], 0.5, 1.0),
                       "gae_advantages", 2)
    # A_1 = 1 + 0.5 * 10 - 0 = 6; A_0 = delta_0 + 0.5 * 1 * A_1 = 1 + 0.5 * 6 = 4
    assert np.allclose(got, [4.0, 6.0]), (
        f"the docstring's example should give [4.0, 6.0], got {got.tolist()}")


@exercise("gae_advantages", points=3)
def test_lambda_zero_gives_the_one_step_td_errors(student):
    """With lambda = 0 the advantages are the one-step TD errors."""
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
    """With lambda = 1 the advantage is the bootstrapped return minus V(s_t)."""
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
    """A_t equals the sum over l of (gamma lambda)**l delta_(t+l)."""
    gamma, lam, next_value = 0.9, 0.8, -0.6
    got = _float_array(student.gae_advantages(_REWARDS, _VALUES, next_value, [False] * 5,
                                              gamma, lam), "gae_advantages", 5)
    expected = _gae_by_sums(_REWARDS, _VALUES, next_value, [False] * 5, gamma, lam)
    assert np.allclose(got, expected, atol=1e-9), (
        f"with gamma = 0.9, lam = 0.8: A_t = sum_l (gamma lam)**l delta_(t+l) = "
        f"{np.round(expected, 4).tolist()}, got {np.round(got, 4).tolist()}")


@exercise("gae_advantages", points=3)
def test_truncated_segment_bootstraps_from_next_value(student):
    """A segment cut by a time limit bootstraps from next_value."""
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
    """A terminated last step ignores next_value, whatever it is."""
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
    """A termination mid-segment cuts the bootstrap and the trace at that step."""
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
    """Numpy arrays in, the inputs left untouched."""
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
# Exercise 5.2: ppo_diagnostics(logp_new, logp_old, clip_eps)
# --------------------------------------------------------------------------- #
def _log(values):
    return torch.log(torch.tensor(values, dtype=torch.float64))


def _two_floats(got):
    assert isinstance(got, tuple) and len(got) == 2, (
        f"ppo_diagnostics should return a tuple (approx_kl, clip_fraction), got {got!r}")
    for name, value in zip(("approx_kl", "clip_fraction"), got):
        assert isinstance(value, float), (
            f"{name} should be a plain Python float, got {type(value).__name__}: "
            "convert with float(...) or .item()")
    return got


@exercise("ppo_diagnostics", points=3)
def test_worked_example_ratios_two_and_one(student):
    """The docstring's example: ratios 2 and 1, clip_eps 0.2."""
    approx_kl, clip_fraction = _two_floats(
        student.ppo_diagnostics(_log([0.5, 0.5]), _log([0.25, 0.5]), 0.2))
    expected_kl = ((2.0 - 1.0) - math.log(2.0) + 0.0) / 2  # 0.1534
    assert abs(approx_kl - expected_kl) < 1e-9, (
        f"ratios [2, 1] give approx_kl = mean((rho - 1) - log rho) = "
        f"((1 - log 2) + 0) / 2 = {expected_kl:.4f}, got {approx_kl:.4f}: a MEAN over the "
        "samples, with rho = exp(logp_new - logp_old)")
    assert abs(clip_fraction - 0.5) < 1e-6, (
        f"one of the two ratios (2) lies outside [0.8, 1.2]: clip_fraction = 0.5, got "
        f"{clip_fraction}: return the SHARE of samples, not their count")


@exercise("ppo_diagnostics", points=3)
def test_identical_policies_give_zero_and_zero(student):
    """When the log-probs agree, both diagnostics are 0."""
    logp = _log([0.1, 0.7, 0.2, 0.9])
    approx_kl, clip_fraction = _two_floats(
        student.ppo_diagnostics(logp.clone(), logp.clone(), 0.2))
    assert abs(approx_kl) < 1e-12 and clip_fraction == 0.0, (
        f"logp_new == logp_old means every ratio is 1: expected (0.0, 0.0), got "
        f"({approx_kl}, {clip_fraction})")


@exercise("ppo_diagnostics", points=3)
def test_approx_kl_is_the_non_negative_estimator(student):
    """approx_kl is the mean of (rho - 1) - log rho, not of -log rho or (log rho)^2 / 2."""
    log_ratio = torch.tensor([0.5, -0.1], dtype=torch.float64)
    logp_old = _log([0.3, 0.6])
    approx_kl, _ = _two_floats(student.ppo_diagnostics(logp_old + log_ratio, logp_old, 0.2))
    # ((e^0.5 - 1) - 0.5 + (e^-0.1 - 1) + 0.1) / 2 = (0.14872 + 0.00484) / 2 = 0.07678
    expected = ((math.exp(0.5) - 1 - 0.5) + (math.exp(-0.1) - 1 + 0.1)) / 2
    assert abs(approx_kl - expected) < 1e-9, (
        f"log ratios [0.5, -0.1] give approx_kl = mean((rho - 1) - log rho) = "
        f"{expected:.5f}, got {approx_kl:.5f}. The mean of -log rho (here -0.2) can be "
        "negative and the mean of (log rho)^2 / 2 (here 0.065) is another estimator; "
        "the exercise asks for (rho - 1) - log rho")


@exercise("ppo_diagnostics", points=3)
def test_approx_kl_estimates_kl_of_old_from_new_on_average(student):
    """Over many samples of pi_old, approx_kl is close to the exact KL(pi_old || pi_new)."""
    p_old = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    p_new = torch.tensor([0.3, 0.3, 0.4], dtype=torch.float64)
    exact = float((p_old * (p_old / p_new).log()).sum())  # 0.1168
    generator = torch.Generator().manual_seed(0)
    actions = torch.multinomial(p_old, 200_000, replacement=True, generator=generator)
    approx_kl, _ = _two_floats(student.ppo_diagnostics(p_new.log()[actions],
                                                       p_old.log()[actions], 0.2))
    # Standard error of the estimate is about 0.0003; the margin is 0.005.
    assert abs(approx_kl - exact) < 0.005, (
        f"with 200,000 actions sampled from pi_old = {p_old.tolist()} and pi_new = "
        f"{p_new.tolist()}, approx_kl should be close to KL(pi_old || pi_new) = "
        f"{exact:.4f}, got {approx_kl:.4f}: is the ratio pi_new / pi_old, i.e. "
        "exp(logp_new - logp_old), and not its inverse?")


@exercise("ppo_diagnostics", points=3)
def test_clip_fraction_counts_both_sides_of_the_clip_range(student):
    """Ratios below 1 - eps count as clipped, just as ratios above 1 + eps do."""
    ratios = [1.5, 0.5, 1.1, 0.9, 1.0]
    logp_old = _log([0.1, 0.4, 0.2, 0.5, 0.3])
    logp_new = logp_old + _log(ratios)
    _, clip_fraction = _two_floats(student.ppo_diagnostics(logp_new, logp_old, 0.2))
    assert abs(clip_fraction - 0.4) < 1e-6, (
        f"ratios {ratios} with eps = 0.2: 1.5 and 0.5 lie outside [0.8, 1.2], so "
        f"clip_fraction = 2 / 5 = 0.4, got {clip_fraction}: count |rho - 1| > eps, "
        "on both sides")


@exercise("ppo_diagnostics", points=3)
def test_clip_fraction_tests_the_ratio_not_the_log_ratio(student):
    """The clip range applies to rho itself: |rho - 1| > eps, not |log rho| > eps."""
    ratios = [1.21, 1.21, 0.81]  # |rho - 1| = 0.21, 0.21, 0.19; |log rho| = 0.19, 0.19, 0.21
    logp_old = _log([0.2, 0.3, 0.5])
    logp_new = logp_old + _log(ratios)
    _, clip_fraction = _two_floats(student.ppo_diagnostics(logp_new, logp_old, 0.2))
    assert abs(clip_fraction - 2 / 3) < 1e-6, (
        f"ratios {ratios} with eps = 0.2: 1.21 is outside [0.8, 1.2] twice, 0.81 is "
        f"inside, so clip_fraction = 2/3, got {clip_fraction:.4f}: compare |rho - 1| "
        "with eps, where rho = exp(logp_new - logp_old)")


@exercise("ppo_diagnostics", points=3)
def test_accepts_log_probs_attached_to_the_policy_graph(student):
    """logp_new straight from a policy network (requires grad) is accepted."""
    logits = torch.tensor([[0.2, -0.1], [1.0, 0.0]], requires_grad=True)
    actions = torch.tensor([0, 1])
    logp_new = torch.log_softmax(logits, dim=1)[torch.arange(2), actions]
    logp_old = logp_new.detach() - 0.3  # every ratio is e^0.3 = 1.35
    approx_kl, clip_fraction = _two_floats(student.ppo_diagnostics(logp_new, logp_old, 0.2))
    expected_kl = math.exp(0.3) - 1 - 0.3
    assert abs(approx_kl - expected_kl) < 1e-6 and abs(clip_fraction - 1.0) < 1e-6, (
        f"every ratio is e^0.3 = 1.35: expected ({expected_kl:.4f}, 1.0), got "
        f"({approx_kl:.4f}, {clip_fraction})")


# --------------------------------------------------------------------------- #
# Exercise 5.3: entropy_bonus(logits)
# --------------------------------------------------------------------------- #
def _entropies_by_hand(probabilities):
    return [-sum(p * math.log(p) for p in row if p > 0) for row in probabilities]


@exercise("entropy_bonus", points=2)
def test_uniform_logits_give_log_n_in_nats(student):
    """Equal logits give the entropy log n, whatever their common value."""
    for logits, n in ((torch.zeros(2, 4), 4), (torch.full((3, 5), 7.0), 5)):
        got = _scalar_tensor(student.entropy_bonus(logits), "entropy_bonus")
        assert abs(got.item() - math.log(n)) < 1e-5, (
            f"equal logits over {n} actions are a uniform policy, entropy log {n} = "
            f"{math.log(n):.4f} nats, got {got.item():.4f}: use the natural log, and "
            "mean over the batch rows (sum over actions)")


@exercise("entropy_bonus", points=2)
def test_is_a_mean_over_states_not_a_sum(student):
    """Three uniform two-action states have mean entropy log 2, not 3 log 2."""
    got = _scalar_tensor(student.entropy_bonus(torch.zeros(3, 2)), "entropy_bonus")
    assert abs(got.item() - math.log(2)) < 1e-5, (
        f"three states with a uniform choice between 2 actions: the MEAN entropy is "
        f"log 2 = {math.log(2):.4f}, got {got.item():.4f} (3 log 2 = "
        f"{3 * math.log(2):.4f} would be the sum over states)")


@exercise("entropy_bonus", points=2)
def test_mixed_batch_matches_entropies_by_hand(student):
    """Two different states: the mean of their entropies, each summed over actions."""
    probabilities = [[0.5, 0.25, 0.25], [0.9, 0.05, 0.05]]
    logits = torch.log(torch.tensor(probabilities, dtype=torch.float64)) + 3.0
    expected = float(np.mean(_entropies_by_hand(probabilities)))  # (1.0397 + 0.3944) / 2
    got = _scalar_tensor(student.entropy_bonus(logits), "entropy_bonus")
    assert abs(got.item() - expected) < 1e-6, (
        f"policies {probabilities} (one row per state) have entropies "
        f"{np.round(_entropies_by_hand(probabilities), 4).tolist()}, mean {expected:.4f}; "
        f"got {got.item():.4f}: softmax over the ACTIONS (the last axis), "
        "H = -sum p log p with the minus sign")


@exercise("entropy_bonus", points=2)
def test_large_logits_stay_finite(student):
    """A near-certain policy has entropy ~0, and two huge equal logits give log 2."""
    cases = ((torch.tensor([[1000.0, 0.0, 0.0]]), 0.0),
             (torch.tensor([[1000.0, 1000.0, 0.0]]), math.log(2)))
    for logits, expected in cases:
        got = _scalar_tensor(student.entropy_bonus(logits), "entropy_bonus")
        assert math.isfinite(got.item()) and abs(got.item() - expected) < 1e-3, (
            f"logits {logits.tolist()} should give entropy {expected:.4f}, got "
            f"{got.item()}: log(softmax(...)) underflows to log 0 = -inf and 0 * -inf is "
            "NaN; take the log-probabilities from torch.log_softmax")


@exercise("entropy_bonus", points=2)
def test_gradient_flows_back_to_the_logits(student):
    """d H / d logits matches the closed form -pi (log pi + H) / B."""
    logits = torch.tensor([[0.3, -0.2, 1.0], [0.0, 0.5, -1.0]], dtype=torch.float64,
                          requires_grad=True)
    got = student.entropy_bonus(logits)
    assert isinstance(got, torch.Tensor) and got.requires_grad, (
        "entropy_bonus must return a tensor attached to the graph of the logits (it is "
        "added to the loss): no .item(), no .detach(), no torch.tensor(...) around it")
    got.backward()
    pi = np.exp(logits.detach().numpy())
    pi /= pi.sum(axis=1, keepdims=True)
    entropy = -(pi * np.log(pi)).sum(axis=1, keepdims=True)
    expected = -pi * (np.log(pi) + entropy) / 2  # B = 2 states
    assert logits.grad is not None and np.allclose(logits.grad.numpy(), expected,
                                                   atol=1e-8), (
        f"d entropy / d logits should be {np.round(expected, 4).tolist()}, got "
        f"{None if logits.grad is None else np.round(logits.grad.numpy(), 4).tolist()}")


# --------------------------------------------------------------------------- #
# Exercise 5.4: explained_variance(values, returns)
# --------------------------------------------------------------------------- #
def _python_float(got):
    assert isinstance(got, float), (
        f"explained_variance should return a Python float, got {type(got).__name__}")
    return got


@exercise("explained_variance", points=2)
def test_worked_example_is_0_85(student):
    """The docstring's example: values [1, 2, 3, 3] for returns [1, 2, 3, 4]."""
    got = _python_float(student.explained_variance([1.0, 2.0, 3.0, 3.0],
                                                   [1.0, 2.0, 3.0, 4.0]))
    # Var[returns - values] = Var[0, 0, 0, 1] = 0.1875; Var[returns] = 1.25
    assert abs(got - 0.85) < 1e-9, (
        f"1 - Var[returns - values] / Var[returns] = 1 - 0.1875 / 1.25 = 0.85, got "
        f"{got:.4f}: the denominator is the variance of the RETURNS (the second argument)")


@exercise("explained_variance", points=2)
def test_perfect_critic_even_with_a_constant_offset_scores_one(student):
    """values == returns gives 1, and so does values == returns + 5."""
    returns = np.array([0.5, -1.0, 2.0, 3.5, 0.0])
    for offset in (0.0, 5.0):
        got = _python_float(student.explained_variance(returns + offset, returns))
        assert abs(got - 1.0) < 1e-9, (
            f"values = returns + {offset:g} explain all of the returns' variance: "
            f"expected 1.0, got {got:.4f}. The numerator is the VARIANCE of "
            "returns - values (a constant offset cancels), not its mean square")


@exercise("explained_variance", points=2)
def test_constant_prediction_scores_zero(student):
    """A critic that always says 3 explains nothing: 0."""
    got = _python_float(student.explained_variance([3.0, 3.0, 3.0, 3.0],
                                                   [1.0, 2.0, 3.0, 4.0]))
    assert abs(got) < 1e-9, (
        f"a constant prediction leaves Var[returns - values] = Var[returns]: expected "
        f"1 - 1 = 0.0, got {got:.4f}")


@exercise("explained_variance", points=2)
def test_a_critic_worse_than_a_constant_scores_negative(student):
    """values that move against the returns give 1 - 4 = -3."""
    got = _python_float(student.explained_variance([4.0, 3.0, 2.0, 1.0],
                                                   [1.0, 2.0, 3.0, 4.0]))
    # returns - values = [-3, -1, 1, 3]: variance 5 = 4 * Var[returns]
    assert abs(got + 3.0) < 1e-9, (
        f"values [4, 3, 2, 1] for returns [1, 2, 3, 4]: Var[returns - values] = 5, "
        f"Var[returns] = 1.25, so 1 - 4 = -3.0, got {got:.4f}: the explained variance "
        "is negative for a critic worse than a constant; do not square or clip it")


@exercise("explained_variance", points=2)
def test_returns_that_do_not_vary_give_nan(student):
    """Var[returns] = 0 leaves the ratio undefined: nan, no exception."""
    got = _python_float(student.explained_variance(np.array([1.0, 2.0, 3.0]),
                                                   np.array([2.0, 2.0, 2.0])))
    assert math.isnan(got), (
        f"all returns equal 2, so Var[returns] = 0 and the ratio is undefined: return "
        f"float('nan'), got {got}")


@exercise("explained_variance", points=2)
def test_accepts_arrays_and_does_not_modify_them(student):
    """Numpy arrays in, the inputs left untouched."""
    values, returns = np.array([0.0, 1.0, 1.0, 4.0]), np.array([1.0, 1.0, 2.0, 4.0])
    got = _python_float(student.explained_variance(values, returns))
    # returns - values = [1, 0, 1, 0]: Var 0.25; Var[returns] = 1.5
    assert abs(got - (1 - 0.25 / 1.5)) < 1e-9, (
        f"expected 1 - 0.25 / 1.5 = {1 - 0.25 / 1.5:.4f}, got {got:.4f}")
    assert np.array_equal(values, [0.0, 1.0, 1.0, 4.0]) and np.array_equal(
        returns, [1.0, 1.0, 2.0, 4.0]), "explained_variance changed its inputs: only read them"
