"""Graded tests of chapter 06: RL for language models.

Every expected value is computed here, independently of the reference solution: with
Python's math module on plain floats (log-sum-exp written out, log(1 + e^-x) for
-log sigmoid(x)), or by hand for the small examples (derivations in the comments).
Tensors are tiny and seeded, so the whole file runs in well under a second.
"""

import math

import torch

from rlbook_utils.exercises import exercise


# --------------------------------------------------------------------------- #
# Independent references
# --------------------------------------------------------------------------- #
def _softplus(x):
    """log(1 + e^x) for any float x, without overflow: -log sigmoid(-x)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _neg_log_sigmoid(x):
    """-log sigmoid(x) = log(1 + e^-x)."""
    return _softplus(-x)


def _log_prob_by_loops(logits, tokens, mask):
    """sum_t mask * (logit of the token - logsumexp of the row), with Python floats."""
    out = []
    for b in range(len(tokens)):
        total = 0.0
        for t in range(len(tokens[b])):
            if mask[b][t] == 0:
                continue
            row = [float(v) for v in logits[b][t]]
            top = max(row)
            logsumexp = top + math.log(sum(math.exp(v - top) for v in row))
            total += row[int(tokens[b][t])] - logsumexp
        out.append(total)
    return out


def _close(got, expected, tol=1e-4):
    return all(abs(float(g) - e) <= tol for g, e in zip(got, expected))


# --------------------------------------------------------------------------- #
# sequence_log_prob
# --------------------------------------------------------------------------- #
@exercise("sequence_log_prob", points=3)
def test_matches_a_hand_computed_log_probability(student):
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5)  # B=2, T=3, V=5: three different sizes
    tokens = torch.tensor([[1, 4, 0], [3, 2, 2]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    got = student.sequence_log_prob(logits, tokens, mask)
    expected = _log_prob_by_loops(logits.tolist(), tokens.tolist(), mask.tolist())
    assert tuple(got.shape) == (2,), (
        f"expected one log-probability per text, shape [B] = (2,), got {tuple(got.shape)}")
    assert _close(got, expected), (
        f"expected {[round(e, 4) for e in expected]}, got {[round(float(g), 4) for g in got]}:"
        " take log_softmax over the LAST (vocabulary) dimension, pick the token's entry at "
        "each position, multiply by the mask and sum over positions")


@exercise("sequence_log_prob", points=3)
def test_padding_positions_contribute_nothing(student):
    torch.manual_seed(1)
    logits = torch.randn(1, 4, 3)
    tokens = torch.tensor([[0, 2, 1, 1]])
    mask = torch.tensor([[1.0, 1.0, 0.0, 0.0]])  # the last two positions are padding
    other_logits, other_tokens = logits.clone(), tokens.clone()
    other_logits[0, 2:] = torch.tensor([[9.0, -9.0, 0.0], [-5.0, 5.0, 3.0]])
    other_tokens[0, 2:] = torch.tensor([0, 2])
    first = student.sequence_log_prob(logits, tokens, mask)
    second = student.sequence_log_prob(other_logits, other_tokens, mask)
    expected = _log_prob_by_loops(logits.tolist(), tokens.tolist(), mask.tolist())
    assert _close(first, expected) and _close(second, expected), (
        "changing the logits or token ids at padded positions (mask = 0) changed the result: "
        "multiply each position's log-probability by mask before summing")


@exercise("sequence_log_prob", points=3)
def test_is_a_sum_over_tokens_not_a_mean(student):
    logits = torch.zeros(2, 3, 4)  # uniform over V = 4: every token has log-prob log(1/4)
    tokens = torch.tensor([[0, 1, 2], [3, 3, 0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    got = student.sequence_log_prob(logits, tokens, mask)
    expected = [3 * math.log(0.25), math.log(0.25)]  # 3 real tokens, then 1 real token
    assert _close(got, expected), (
        f"uniform logits over 4 tokens: a text of 3 real tokens has log-probability "
        f"3 * log(1/4) = {expected[0]:.4f} and one of 1 token log(1/4) = {expected[1]:.4f}; "
        f"got {[round(float(g), 4) for g in got]}. The log-probability of a text is the SUM "
        "over its real tokens, not the mean")


@exercise("sequence_log_prob", points=3)
def test_logits_at_t_score_the_token_at_t(student):
    # logits[:, t] puts 8 on tokens[:, t] and 0 elsewhere (V = 4): each real token has
    # log-prob 8 - log(e^8 + 3); a shift by one position would score other ids.
    tokens = torch.tensor([[2, 0, 3, 1]])
    logits = torch.zeros(1, 4, 4)
    logits[0, torch.arange(4), tokens[0]] = 8.0
    mask = torch.ones(1, 4)
    got = student.sequence_log_prob(logits, tokens, mask)
    expected = 4 * (8.0 - math.log(math.exp(8.0) + 3))
    assert _close(got, [expected]), (
        f"logits[:, t] scores tokens[:, t] (the model's input was already shifted): expected "
        f"{expected:.4f}, got {float(got[0]):.4f}. Do not shift logits or tokens by one")


@exercise("sequence_log_prob", points=3)
def test_gradient_flows_to_the_logits_of_real_tokens_only(student):
    torch.manual_seed(2)
    logits = torch.randn(1, 3, 4, requires_grad=True)
    tokens = torch.tensor([[1, 2, 3]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    got = student.sequence_log_prob(logits, tokens, mask)
    assert isinstance(got, torch.Tensor) and got.requires_grad, (
        "return a torch tensor computed from logits (no .item(), .detach() or numpy), so "
        "that the policy can be trained through it")
    got.sum().backward()
    probs = torch.softmax(logits.detach(), dim=-1)[0]  # d log p_y / d logits = onehot - p
    expected = torch.zeros(3, 4)
    for t in range(2):
        expected[t] = -probs[t]
        expected[t, tokens[0, t]] += 1.0
    assert torch.allclose(logits.grad[0], expected, atol=1e-5), (
        "the gradient with respect to the logits is wrong: it should be onehot(token) - "
        "softmax(logits) at real positions and exactly 0 at padded positions")


# --------------------------------------------------------------------------- #
# bradley_terry_loss
# --------------------------------------------------------------------------- #
@exercise("bradley_terry_loss", points=2)
def test_equal_rewards_give_log_two(student):
    got = student.bradley_terry_loss(torch.tensor([0.3, -1.2]), torch.tensor([0.3, -1.2]))
    assert abs(float(got) - math.log(2)) < 1e-5, (
        f"when both texts of every pair get the same reward, P(chosen wins) = 1/2 and the "
        f"loss is log 2 = {math.log(2):.4f}; got {float(got):.4f}")


@exercise("bradley_terry_loss", points=2)
def test_matches_the_closed_form_and_prefers_the_chosen_text(student):
    r_chosen, r_rejected = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 2.5])
    got = student.bradley_terry_loss(r_chosen, r_rejected)
    # margins r_c - r_r = 1 and -2: loss = mean(log(1 + e^-1), log(1 + e^2))
    expected = (_neg_log_sigmoid(1.0) + _neg_log_sigmoid(-2.0)) / 2
    assert got.dim() == 0, f"return a scalar (0-dimensional) tensor, got shape {tuple(got.shape)}"
    assert abs(float(got) - expected) < 1e-4, (
        f"margins r_chosen - r_rejected = [1, -2] should give the mean of -log sigmoid(margin),"
        f" {expected:.4f}; got {float(got):.4f}. Check the sign (the CHOSEN reward comes "
        "first), the minus in front, and that you average over pairs rather than sum")


@exercise("bradley_terry_loss", points=2)
def test_is_finite_for_a_large_reward_gap(student):
    got = student.bradley_terry_loss(torch.tensor([0.0, 0.0]), torch.tensor([200.0, -200.0]))
    # margins -200 and +200: -log sigmoid(-200) = 200, -log sigmoid(200) = 0 (to 1e-87)
    assert math.isfinite(float(got)) and abs(float(got) - 100.0) < 1e-3, (
        f"margins -200 and +200 should give (200 + 0) / 2 = 100, got {float(got)}: "
        "log(sigmoid(-200)) underflows to log(0) = -inf; use F.logsigmoid")


@exercise("bradley_terry_loss", points=2)
def test_gradient_pushes_the_chosen_reward_up(student):
    r_chosen = torch.tensor([0.0, 1.0], requires_grad=True)
    r_rejected = torch.tensor([0.0, 0.0], requires_grad=True)
    student.bradley_terry_loss(r_chosen, r_rejected).backward()
    # d/d r_c of -log sigmoid(r_c - r_r) / B = -sigmoid(-(r_c - r_r)) / B
    expected = [-0.5 / 2, -1 / (1 + math.e) / 2]
    assert r_chosen.grad is not None and _close(r_chosen.grad, expected, 1e-5), (
        f"d loss / d r_chosen should be -sigmoid(r_rejected - r_chosen) / B = "
        f"{[round(e, 4) for e in expected]}; got "
        f"{None if r_chosen.grad is None else r_chosen.grad.tolist()}")
    assert _close(r_rejected.grad, [-e for e in expected], 1e-5), (
        "d loss / d r_rejected should be the opposite of d loss / d r_chosen")


# --------------------------------------------------------------------------- #
# kl_penalized_rewards
# --------------------------------------------------------------------------- #
@exercise("kl_penalized_rewards", points=2)
def test_docstring_example(student):
    got = student.kl_penalized_rewards(torch.tensor([1.0]), torch.tensor([[-1.0, -2.0]]),
                                       torch.tensor([[-1.5, -1.0]]), 0.5)
    # t=0: -0.5 * (-1.0 + 1.5) = -0.25; t=1: -0.5 * (-2.0 + 1.0) + 1.0 = 1.5
    assert tuple(got.shape) == (1, 2), f"expected shape [B, T] = (1, 2), got {tuple(got.shape)}"
    assert _close(got[0], [-0.25, 1.5]), (
        f"expected [[-0.25, 1.5]], got {got.tolist()}: each token gets "
        "-beta * (logp_policy - logp_ref), and the last column also gets the sequence reward")


@exercise("kl_penalized_rewards", points=2)
def test_sequence_reward_goes_to_the_last_column_only(student):
    logp = torch.tensor([[-0.3, -0.7, -0.1], [-1.0, -0.2, 0.0]])  # row 2: last is padding
    got = student.kl_penalized_rewards(torch.tensor([2.0, -3.0]), logp, logp.clone(), 0.1)
    expected = [[0.0, 0.0, 2.0], [0.0, 0.0, -3.0]]  # equal log-probs: no penalty at all
    assert torch.allclose(got, torch.tensor(expected), atol=1e-6), (
        f"with logp_policy == logp_ref there is no penalty, so the result is the sequence "
        f"reward in the last column (t = T-1) and 0 elsewhere: expected {expected}, got "
        f"{got.tolist()}. Add the reward once, at column -1: not at every token, not at t = 0")


@exercise("kl_penalized_rewards", points=2)
def test_penalty_is_on_the_policy_log_ratio(student):
    logp_policy = torch.tensor([[-0.1, -2.0, -0.5]])
    logp_ref = torch.tensor([[-1.1, -1.0, -0.5]])
    got = student.kl_penalized_rewards(torch.tensor([0.0]), logp_policy, logp_ref, 0.2)
    # log-ratios log pi - log pi_ref = [1, -1, 0] -> rewards -0.2 * [1, -1, 0]
    expected = [-0.2, 0.2, 0.0]
    assert _close(got[0], expected, 1e-6), (
        f"a token the policy likes more than the reference (log-ratio +1) must cost "
        f"beta * 1: expected {expected}, got {got[0].tolist()}. The penalty is "
        "-beta * (logp_policy - logp_ref), KL of the policy FROM the reference")


@exercise("kl_penalized_rewards", points=2)
def test_leaves_its_inputs_unchanged(student):
    rewards = torch.tensor([1.0, 2.0])
    logp_policy = torch.tensor([[-0.5, -0.2], [-0.3, -0.9]])
    logp_ref = torch.tensor([[-0.4, -0.6], [-0.3, -0.1]])
    copies = [x.clone() for x in (rewards, logp_policy, logp_ref)]
    student.kl_penalized_rewards(rewards, logp_policy, logp_ref, 0.1)
    assert all(torch.equal(x, c) for x, c in zip((rewards, logp_policy, logp_ref), copies)), (
        "the inputs were modified in place: build a new tensor (e.g. from "
        "-beta * (logp_policy - logp_ref)) before adding the reward to its last column")


# --------------------------------------------------------------------------- #
# dpo_loss
# --------------------------------------------------------------------------- #
@exercise("dpo_loss", points=3)
def test_policy_equal_to_reference_gives_log_two(student):
    pi_c, pi_r = torch.tensor([-3.0, -7.5]), torch.tensor([-4.0, -2.0])
    got = student.dpo_loss(pi_c, pi_r, pi_c.clone(), pi_r.clone(), beta=0.3)
    assert abs(float(got) - math.log(2)) < 1e-5, (
        f"when the policy equals the reference every log-ratio is 0 and the loss is "
        f"log 2 = {math.log(2):.4f} whatever beta; got {float(got):.4f}. The reference "
        "log-probs must be subtracted from the policy's")


@exercise("dpo_loss", points=3)
def test_matches_the_closed_form(student):
    pi_c, pi_r = torch.tensor([-2.0, -5.0]), torch.tensor([-6.0, -3.0])
    ref_c, ref_r = torch.tensor([-3.0, -4.0]), torch.tensor([-5.0, -5.0])
    got = student.dpo_loss(pi_c, pi_r, ref_c, ref_r, beta=0.5)
    # margins: (-2+3) - (-6+5) = 2 and (-5+4) - (-3+5) = -3; beta * margin = 1, -1.5
    expected = (_neg_log_sigmoid(1.0) + _neg_log_sigmoid(-1.5)) / 2
    assert got.dim() == 0, f"return a scalar (0-dimensional) tensor, got shape {tuple(got.shape)}"
    assert abs(float(got) - expected) < 1e-4, (
        f"expected -mean(log sigmoid(beta * margin)) = {expected:.4f} with margins "
        f"(pi_c - ref_c) - (pi_r - ref_r) = [2, -3] and beta = 0.5, got {float(got):.4f}. "
        "Check that beta multiplies the margin INSIDE the sigmoid, that chosen comes first, "
        "and that you average over pairs")


@exercise("dpo_loss", points=3)
def test_is_finite_for_a_large_log_ratio_margin(student):
    zero = torch.zeros(2)
    got = student.dpo_loss(torch.tensor([0.0, 0.0]), torch.tensor([600.0, -600.0]),
                           zero, zero, beta=0.5)
    # beta * margin = -300 and +300: losses 300 and 0
    assert math.isfinite(float(got)) and abs(float(got) - 150.0) < 1e-3, (
        f"beta * margin = -300 and +300 should give (300 + 0) / 2 = 150, got {float(got)}: "
        "log(sigmoid(-300)) underflows to -inf; use F.logsigmoid")


@exercise("dpo_loss", points=3)
def test_gradient_raises_chosen_and_lowers_rejected(student):
    pi_c = torch.tensor([-1.0], requires_grad=True)
    pi_r = torch.tensor([-1.0], requires_grad=True)
    student.dpo_loss(pi_c, pi_r, torch.tensor([-2.0]), torch.tensor([0.0]), beta=2.0).backward()
    # margin = (-1+2) - (-1-0) = 2; d loss / d pi_c = -beta * sigmoid(-beta * margin)
    expected = -2.0 / (1 + math.exp(4.0))
    assert pi_c.grad is not None, (
        "no gradient reached pi_chosen: compute the loss from the input tensors")
    assert abs(float(pi_c.grad) - expected) < 1e-5, (
        f"d loss / d pi_chosen should be -beta * sigmoid(-beta * margin) = {expected:.5f}, "
        f"got {float(pi_c.grad):.5f}: beta multiplies the margin inside the sigmoid")
    assert abs(float(pi_r.grad) + expected) < 1e-5, (
        "d loss / d pi_rejected should be the opposite of d loss / d pi_chosen")
