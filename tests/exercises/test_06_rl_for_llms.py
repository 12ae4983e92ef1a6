"""Graded tests of chapter 06: RL for language models.

Every expected value is computed here, independently of the reference solution: with
Python's math module on plain floats, or by hand for the small examples (derivations in the
comments). Tensors are tiny and seeded, so the whole file runs in well under a second.
"""

import math

import torch

from rlbook_utils.exercises import exercise


# --------------------------------------------------------------------------- #
# Independent references
# --------------------------------------------------------------------------- #
def _neg_log_sigmoid(x):
    """-log sigmoid(x) = log(1 + e^-x), without overflow."""
    return max(-x, 0.0) + math.log1p(math.exp(-abs(x)))


def _close(got, expected, tol=1e-4):
    got = [float(g) for g in got]
    return len(got) == len(expected) and all(abs(g - e) <= tol for g, e in zip(got, expected))


def _as_list(x):
    """A tensor, array or list of numbers as a flat list of floats."""
    if isinstance(x, torch.Tensor):
        return [float(v) for v in x.detach().reshape(-1).tolist()]
    return [float(v) for v in x]


def _three_numbers(result):
    """kl_estimates' answer as three floats; a clear message if it is not three scalars."""
    assert isinstance(result, (tuple, list)) and len(result) == 3, (
        f"return a tuple of three numbers (k1, k2, k3), got {type(result).__name__}"
        f"{'' if not hasattr(result, '__len__') else f' of length {len(result)}'}")
    numbers = []
    for name, value in zip(("k1", "k2", "k3"), result):
        size = value.numel() if isinstance(value, torch.Tensor) else getattr(value, "size", 1)
        assert size == 1, (
            f"{name} has {size} entries: return the MEAN over the N samples (a float or a "
            "0-d tensor), not the per-sample values")
        numbers.append(float(value))
    return numbers


def _kl_by_hand(log_ratios):
    """(k1, k2, k3) from a list of log r = log pi_ref - log pi, with plain floats."""
    n = len(log_ratios)
    return [sum(-u for u in log_ratios) / n,
            sum(u * u / 2 for u in log_ratios) / n,
            sum(math.exp(u) - 1 - u for u in log_ratios) / n]


# --------------------------------------------------------------------------- #
# dpo_implicit_reward
# --------------------------------------------------------------------------- #
@exercise("dpo_implicit_reward", points=2)
def test_implicit_reward_matches_the_docstring_example(student):
    got = student.dpo_implicit_reward(torch.tensor([-2.0, -5.0]), torch.tensor([-3.0, -4.0]),
                                      0.5)
    # 0.5 * (-2 + 3) = 0.5 and 0.5 * (-5 + 4) = -0.5
    assert isinstance(got, torch.Tensor) and tuple(got.shape) == (2,), (
        "return a tensor with one reward per text, shape [B] = (2,); got "
        f"{type(got).__name__} {tuple(getattr(got, 'shape', ()))}")
    assert _close(got, [0.5, -0.5], 1e-6), (
        f"expected beta * (logp_policy - logp_ref) = [0.5, -0.5], got {_as_list(got)}: "
        "the policy's log-probability comes first, the reference's is subtracted, and beta "
        "multiplies the difference")


@exercise("dpo_implicit_reward", points=2)
def test_implicit_reward_scales_with_beta_and_is_zero_at_the_reference(student):
    logp = torch.tensor([-1.5, -7.0, -0.25])
    zero = student.dpo_implicit_reward(logp, logp.clone(), 2.0)
    assert _close(zero, [0.0, 0.0, 0.0], 1e-6), (
        f"a policy equal to the reference has log-ratio 0 on every text, so every implicit "
        f"reward is 0; got {_as_list(zero)}")
    got = student.dpo_implicit_reward(torch.tensor([-1.0, -4.0, -2.0]),
                                      torch.tensor([-2.0, -3.0, -2.5]), 2.0)
    # log-ratios [1, -1, 0.5] times beta = 2
    assert _close(got, [2.0, -2.0, 1.0], 1e-6), (
        f"with log-ratios [1, -1, 0.5] and beta = 2 the rewards are [2, -2, 1], got "
        f"{_as_list(got)}: multiply the log-ratio by beta (do not divide, do not exponentiate)")


@exercise("dpo_implicit_reward", points=2)
def test_dpo_loss_is_the_bradley_terry_loss_of_the_implicit_reward(student):
    pi_c, pi_r = torch.tensor([-2.0, -5.0]), torch.tensor([-6.0, -3.0])
    ref_c, ref_r = torch.tensor([-3.0, -4.0]), torch.tensor([-5.0, -5.0])
    r_c = student.dpo_implicit_reward(pi_c, ref_c, 0.5)
    r_r = student.dpo_implicit_reward(pi_r, ref_r, 0.5)
    got = [_neg_log_sigmoid(c - r) for c, r in zip(_as_list(r_c), _as_list(r_r))]
    # margins (pi_c - ref_c) - (pi_r - ref_r) = [2, -3]; beta * margin = [1, -1.5]
    expected = [_neg_log_sigmoid(1.0), _neg_log_sigmoid(-1.5)]
    assert _close(got, expected, 1e-5), (
        f"-log sigmoid(r(chosen) - r(rejected)) with your rewards gives {got}, but the DPO "
        f"loss of these pairs is {expected}: the implicit reward must be beta times the "
        "log-ratio of each text, so that DPO is Bradley-Terry on it")


@exercise("dpo_implicit_reward", points=2)
def test_implicit_reward_carries_the_gradient_of_the_policy(student):
    logp_policy = torch.tensor([-3.0, -1.0], requires_grad=True)
    got = student.dpo_implicit_reward(logp_policy, torch.tensor([-2.0, -2.0]), 0.25)
    assert isinstance(got, torch.Tensor) and got.requires_grad, (
        "the result has no gradient: compute it from the input tensors (no .item(), "
        ".detach(), numpy or torch.no_grad), so a DPO loss can be built on it")
    got.sum().backward()
    assert _close(logp_policy.grad, [0.25, 0.25], 1e-6), (
        f"d reward / d logp_policy should be beta = 0.25 for each text, got "
        f"{logp_policy.grad.tolist()}")


# --------------------------------------------------------------------------- #
# kl_estimates
# --------------------------------------------------------------------------- #
@exercise("kl_estimates", points=3)
def test_kl_estimates_match_the_docstring_example(student):
    logp_policy = torch.log(torch.tensor([0.5, 0.5]))
    logp_ref = torch.log(torch.tensor([0.25, 1.0]))
    got = _three_numbers(student.kl_estimates(logp_policy, logp_ref))
    # log r = [-ln 2, ln 2]: k1 = 0, k2 = (ln 2)^2 / 2, k3 = mean(0.5 - 1 + ln 2, 2 - 1 - ln 2)
    expected = [0.0, math.log(2) ** 2 / 2, 0.25]
    assert _close(got, expected, 1e-5), (
        f"expected (k1, k2, k3) = {[round(e, 4) for e in expected]}, got "
        f"{[round(g, 4) for g in got]}: with log r = logp_ref - logp_policy, k1 = -log r, "
        "k2 = (log r)^2 / 2, k3 = (r - 1) - log r, each averaged over the samples, in that order")


@exercise("kl_estimates", points=3)
def test_kl_estimates_are_zero_when_the_models_agree(student):
    logp = torch.tensor([-0.2, -1.7, -3.1, -0.9])
    got = _three_numbers(student.kl_estimates(logp, logp.clone()))
    assert _close(got, [0.0, 0.0, 0.0], 1e-6), (
        f"when policy and reference give every sample the same log-probability, r = 1 and "
        f"all three estimates are 0; got {[round(g, 4) for g in got]}")


@exercise("kl_estimates", points=3)
def test_k1_and_k3_equal_the_exact_kl_on_a_proportional_sample(student):
    # pi = [1/2, 1/4, 1/4], pi_ref = [1/4, 1/4, 1/2]; the sample [0, 0, 1, 2] holds each
    # outcome exactly in proportion to pi, so sample means are expectations under pi.
    pi, pi_ref = [0.5, 0.25, 0.25], [0.25, 0.25, 0.5]
    sample = [0, 0, 1, 2]
    exact_kl = sum(p * math.log(p / q) for p, q in zip(pi, pi_ref))  # (ln 2) / 4
    log_ratios = [math.log(pi_ref[x] / pi[x]) for x in sample]
    expected_k2 = _kl_by_hand(log_ratios)[1]
    logp_policy = torch.log(torch.tensor([pi[x] for x in sample]))
    logp_ref = torch.log(torch.tensor([pi_ref[x] for x in sample]))
    k1, k2, k3 = _three_numbers(student.kl_estimates(logp_policy, logp_ref))
    assert abs(k1 - exact_kl) < 1e-5 and abs(k3 - exact_kl) < 1e-5, (
        f"on a sample proportional to pi, the unbiased k1 and k3 must both equal the exact "
        f"KL(pi || pi_ref) = {exact_kl:.5f}; got k1 = {k1:.5f}, k3 = {k3:.5f}. Check that "
        "r = pi_ref / pi (reference over policy) and that you average, not sum")
    assert abs(k2 - expected_k2) < 1e-5, (
        f"k2 = mean((log r)^2 / 2) should be {expected_k2:.5f} here, got {k2:.5f}")


@exercise("kl_estimates", points=3)
def test_k1_can_be_negative_but_k3_cannot(student):
    # the reference likes both samples more than the policy: log r = [ln 3, ln 2] > 0
    logp_policy = torch.log(torch.tensor([0.1, 0.2]))
    logp_ref = torch.log(torch.tensor([0.3, 0.4]))
    got = _three_numbers(student.kl_estimates(logp_policy, logp_ref))
    expected = _kl_by_hand([math.log(3.0), math.log(2.0)])  # k1 < 0, k3 = 0.604
    assert _close(got, expected, 1e-5), (
        f"expected (k1, k2, k3) = {[round(e, 4) for e in expected]}, got "
        f"{[round(g, 4) for g in got]}: when pi_ref > pi on every sample, k1 = -log r is "
        "negative (do not clip it or take an absolute value) and k3 = (r - 1) - log r > 0")


@exercise("kl_estimates", points=3)
def test_k1_and_k3_are_unbiased_over_many_random_samples(student):
    for seed in range(3):
        generator = torch.Generator().manual_seed(seed)
        logp = torch.log_softmax(torch.randn(6, generator=generator), dim=0)  # pi, [6]
        logp_ref = torch.log_softmax(torch.randn(6, generator=generator), dim=0)
        exact_kl = float((logp.exp() * (logp - logp_ref)).sum())
        x = torch.multinomial(logp.exp(), 20_000, replacement=True, generator=generator)
        k1, _, k3 = _three_numbers(student.kl_estimates(logp[x], logp_ref[x]))
        # the standard error of the mean of 20k samples is below 0.02 for these pairs
        assert abs(k1 - exact_kl) < 0.08 and abs(k3 - exact_kl) < 0.08, (
            f"seed {seed}: 20 000 samples of pi should give k1 and k3 within 0.08 of the "
            f"exact KL {exact_kl:.3f}; got k1 = {k1:.3f}, k3 = {k3:.3f}")


# --------------------------------------------------------------------------- #
# masked_kl_rewards
# --------------------------------------------------------------------------- #
@exercise("masked_kl_rewards", points=3)
def test_masked_rewards_match_the_docstring_example(student):
    got = student.masked_kl_rewards(
        torch.tensor([1.0, 2.0]),
        torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -9.0, -9.0]]),
        torch.tensor([[-1.5, -1.0, -3.0], [-0.5, 0.0, 0.0]]),
        torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]), 0.5)
    # row 0: -0.5 * [0.5, -1, 0] + [0, 0, 1]; row 1: one real token, its score at t = 0
    expected = [[-0.25, 0.5, 1.0], [2.0, 0.0, 0.0]]
    assert tuple(got.shape) == (2, 3), f"expected shape [B, T] = (2, 3), got {tuple(got.shape)}"
    assert torch.allclose(got, torch.tensor(expected), atol=1e-6), (
        f"expected {expected}, got {got.tolist()}: -beta * (logp_policy - logp_ref) on real "
        "tokens, 0 on padding, and each score added on its text's last real token")


@exercise("masked_kl_rewards", points=3)
def test_score_goes_on_each_texts_last_real_token(student):
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    logp = torch.full((3, 4), -0.7)
    got = student.masked_kl_rewards(torch.tensor([3.0, -2.0, 5.0]), logp, logp.clone(), mask,
                                    0.1)
    # equal log-probs: no penalty; scores at columns 3 (full row), 1 and 0
    expected = [[0.0, 0.0, 0.0, 3.0], [0.0, -2.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0]]
    assert torch.allclose(got, torch.tensor(expected), atol=1e-6), (
        f"texts of 4, 2 and 1 real tokens end at columns 3, 1 and 0 (mask.sum() - 1): "
        f"expected {expected}, got {got.tolist()}. Add each score once, on its own last real "
        "token: not on the last column, not on the first padding position, not on every token")


@exercise("masked_kl_rewards", points=3)
def test_padding_gets_exactly_zero_whatever_is_stored_there(student):
    mask = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    logp_policy = torch.tensor([[-0.4, -0.6, -5.0, -2.0]])  # garbage on the padding
    logp_ref = torch.tensor([[-0.4, -0.6, -1.0, -9.0]])
    got = student.masked_kl_rewards(torch.tensor([1.0]), logp_policy, logp_ref, mask, 0.5)
    expected = [[0.0, 1.0, 0.0, 0.0]]
    assert torch.allclose(got, torch.tensor(expected), atol=1e-6), (
        f"padded positions must get reward 0 even when logp_policy and logp_ref disagree "
        f"there: expected {expected}, got {got.tolist()}. Multiply the penalty by the mask")


@exercise("masked_kl_rewards", points=3)
def test_penalty_is_beta_times_the_policy_log_ratio(student):
    logp_policy = torch.tensor([[-0.1, -2.0, -0.5]])
    logp_ref = torch.tensor([[-1.1, -1.0, -0.5]])
    got = student.masked_kl_rewards(torch.tensor([0.0]), logp_policy, logp_ref,
                                    torch.ones(1, 3), 0.2)
    # log pi - log pi_ref = [1, -1, 0] -> -0.2 * [1, -1, 0]
    assert _close(got[0], [-0.2, 0.2, 0.0], 1e-6), (
        f"a token the policy likes more than the reference (log-ratio +1) costs beta: "
        f"expected [-0.2, 0.2, 0.0], got {got[0].tolist()}. The penalty is "
        "-beta * (logp_policy - logp_ref)")


@exercise("masked_kl_rewards", points=3)
def test_masked_rewards_leave_their_inputs_unchanged(student):
    scores = torch.tensor([1.0, 2.0])
    logp_policy = torch.tensor([[-0.5, -0.2], [-0.3, -0.9]])
    logp_ref = torch.tensor([[-0.4, -0.6], [-0.3, -0.1]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    inputs = (scores, logp_policy, logp_ref, mask)
    copies = [x.clone() for x in inputs]
    student.masked_kl_rewards(scores, logp_policy, logp_ref, mask, 0.1)
    assert all(torch.equal(x, c) for x, c in zip(inputs, copies)), (
        "an input was modified in place: build a new tensor (e.g. from "
        "-beta * (logp_policy - logp_ref) * mask) before adding the scores to it")


# --------------------------------------------------------------------------- #
# adaptive_kl_coef
# --------------------------------------------------------------------------- #
@exercise("adaptive_kl_coef", points=2)
def test_beta_stays_put_at_the_target(student):
    got = student.adaptive_kl_coef(0.3, 4.0, 4.0, 1000, 64)
    assert abs(float(got) - 0.3) < 1e-9, (
        f"a KL exactly on target is no error: beta should stay 0.3, got {float(got)}")


@exercise("adaptive_kl_coef", points=2)
def test_small_errors_scale_beta_proportionally(student):
    above = float(student.adaptive_kl_coef(0.2, 5.5, 5.0, 1000, 100))
    below = float(student.adaptive_kl_coef(0.2, 4.5, 5.0, 1000, 100))
    # errors +0.1 and -0.1 (inside the clip), K = 100 / 1000: 0.2 * (1 +- 0.01)
    assert abs(above - 0.202) < 1e-9 and abs(below - 0.198) < 1e-9, (
        f"KL 5.5 and 4.5 against a target of 5 are relative errors +0.1 and -0.1; with "
        f"n_samples / horizon = 0.1 beta = 0.2 becomes 0.202 and 0.198, got {above:.6f} and "
        f"{below:.6f}. The error is kl / kl_target - 1, and a KL above target raises beta")


@exercise("adaptive_kl_coef", points=2)
def test_large_errors_are_clipped_before_scaling(student):
    got = float(student.adaptive_kl_coef(0.1, 9.0, 6.0, 10_000, 256))
    # error 0.5 -> clipped to 0.2 -> 0.1 * (1 + 0.2 * 0.0256)
    assert abs(got - 0.100512) < 1e-9, (
        f"KL 9 against a target of 6 is an error of 0.5, clipped to 0.2, then scaled by "
        f"n_samples / horizon = 0.0256: expected 0.100512, got {got:.6f}")
    low = float(student.adaptive_kl_coef(0.1, 0.0, 6.0, 1000, 500))
    # error -1 -> clipped to -0.2 -> 0.1 * (1 - 0.2 * 0.5)
    assert abs(low - 0.09) < 1e-9, (
        f"a KL of 0 against a target of 6 is an error of -1, clipped to -0.2: with "
        f"n_samples / horizon = 0.5 beta = 0.1 becomes 0.09, got {low:.6f}")


@exercise("adaptive_kl_coef", points=2)
def test_update_multiplies_beta(student):
    small = float(student.adaptive_kl_coef(0.01, 6.0, 5.0, 200, 100))
    large = float(student.adaptive_kl_coef(1.0, 6.0, 5.0, 200, 100))
    # error 0.2, K = 0.5: beta * 1.1 for any beta
    assert abs(small - 0.011) < 1e-9 and abs(large - 1.1) < 1e-9, (
        f"the controller scales beta by (1 + error * n_samples / horizon) = 1.1 here, so "
        f"0.01 -> 0.011 and 1.0 -> 1.1; got {small:.6f} and {large:.6f}. Multiply beta, "
        "do not add the error to it")
