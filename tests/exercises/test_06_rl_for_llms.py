"""Graded tests of chapter 06: RL for language models.

Every expected value is computed here, independently of the reference solution: with
Python's math module on plain floats, or by hand for the small examples (derivations in the
comments). Tensors are tiny and seeded, so the whole file runs in well under a second.

A failed check names a cause only when the answer matches it: the helpers ``_reward_hint``,
``_kl_hint``, ``_token_rewards_hint`` and ``_beta_hint`` recompute what each typical mistake
would return on the test's inputs and compare it with the answer; otherwise the message gives
the rule.
"""

import math

import torch

from rlbook_utils.exercises import exercise


# --------------------------------------------------------------------------- #
# Independent references and shared checks
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


def _type_name(value):
    """How a learner would describe the type of ``value``: '0-d torch.Tensor (float32)'."""
    if isinstance(value, torch.Tensor):
        return f"a {value.dim()}-d torch.Tensor ({str(value.dtype).removeprefix('torch.')})"
    module = type(value).__module__
    name = type(value).__name__ if module == "builtins" else f"{module}.{type(value).__name__}"
    return f"a {name}"


def _first_match(got, candidates, expected, close):
    """The cause of the first candidate answer that ``got`` equals and ``expected`` does not."""
    for value, cause in candidates:
        try:
            if close(got, value) and not close(expected, value):
                return cause
        except (TypeError, ValueError, OverflowError, ZeroDivisionError):
            continue
    return None


# --------------------------------------------------------------------------- #
# dpo_implicit_reward
# --------------------------------------------------------------------------- #
def _one_reward_per_text(got, expected):
    """The answer of dpo_implicit_reward as a tensor [B] (B = len(expected), the right
    rewards); a message naming the shape's cause when it is not [B]."""
    n = len(expected)
    assert isinstance(got, torch.Tensor), (
        f"dpo_implicit_reward returned {_type_name(got)}: return a torch tensor with one "
        f"reward per text, shape [B] = ({n},)")
    shape = tuple(got.shape)
    if shape == (n,):
        return got
    values = _as_list(got)
    even, odd = torch.tensor(expected[0::2]), torch.tensor(expected[1::2])
    margins = [[expected[i] - expected[i + 1] for i in range(0, n - 1, 2)]]
    try:
        margins.append(_as_list(even - odd))
    except RuntimeError:  # shapes that do not broadcast
        pass
    if _close(values, [sum(expected) / n], 1e-6):
        why = "the batch mean of the rewards"
    elif _close(values, [sum(expected)], 1e-6):
        why = "the batch sum of the rewards"
    elif any(_close(values, m, 1e-6) for m in margins):
        why = ("differences between the rewards of neighbouring texts: a margin "
               "r(chosen) - r(rejected) is the DPO loss's job, the reward belongs to each text")
    else:
        why = None
    raise AssertionError(f"expected shape [B] = ({n},), one reward per text, got {shape}"
                         + (f": these values are {why}" if why else ""))


def _reward_hint(got, logp_policy, logp_ref, beta):
    """Why per-text rewards ``got`` differ from beta * (logp_policy - logp_ref)."""
    pairs = list(zip(logp_policy, logp_ref))
    expected = [beta * (p - q) for p, q in pairs]
    candidates = [
        ([beta * (q - p) for p, q in pairs],
         "the sign is flipped: the policy's log-probability comes first, "
         "beta * (logp_policy - logp_ref)"),
        ([(p - q) / beta for p, q in pairs], "the log-ratio is divided by beta: multiply it"),
        ([p - q for p, q in pairs], "beta is missing: multiply the log-ratio by beta"),
        ([beta * math.exp(p - q) for p, q in pairs],
         "these are beta times probability ratios: the reward uses the log-ratio, "
         "not its exponential"),
        ([beta * p for p, _ in pairs], "the reference is missing: subtract logp_ref"),
    ]
    cause = _first_match(got, candidates, expected, lambda a, b: _close(a, b, 1e-6))
    return cause or ("the reward of each text is beta * (logp_policy - logp_ref): the policy's "
                     "log-probability first, the reference's subtracted, times beta")


@exercise("dpo_implicit_reward", points=2)
def test_implicit_reward_matches_the_docstring_example(student):
    got = _one_reward_per_text(
        student.dpo_implicit_reward(torch.tensor([-2.0, -5.0]), torch.tensor([-3.0, -4.0]), 0.5),
        [0.5, -0.5])
    # 0.5 * (-2 + 3) = 0.5 and 0.5 * (-5 + 4) = -0.5
    assert _close(got, [0.5, -0.5], 1e-6), (
        f"expected beta * (logp_policy - logp_ref) = [0.5, -0.5], got {_as_list(got)}: "
        + _reward_hint(_as_list(got), [-2.0, -5.0], [-3.0, -4.0], 0.5))


@exercise("dpo_implicit_reward", points=2)
def test_implicit_reward_scales_with_beta_and_is_zero_at_the_reference(student):
    logp = torch.tensor([-1.5, -7.0, -0.25])
    zero = _one_reward_per_text(student.dpo_implicit_reward(logp, logp.clone(), 2.0),
                                [0.0, 0.0, 0.0])
    assert _close(zero, [0.0, 0.0, 0.0], 1e-6), (
        f"a policy equal to the reference has log-ratio 0 on every text, so every implicit "
        f"reward is 0; got {_as_list(zero)}: "
        + _reward_hint(_as_list(zero), logp.tolist(), logp.tolist(), 2.0))
    got = _one_reward_per_text(
        student.dpo_implicit_reward(torch.tensor([-1.0, -4.0, -2.0]),
                                    torch.tensor([-2.0, -3.0, -2.5]), 2.0), [2.0, -2.0, 1.0])
    # log-ratios [1, -1, 0.5] times beta = 2
    assert _close(got, [2.0, -2.0, 1.0], 1e-6), (
        f"with log-ratios [1, -1, 0.5] and beta = 2 the rewards are [2, -2, 1], got "
        f"{_as_list(got)}: "
        + _reward_hint(_as_list(got), [-1.0, -4.0, -2.0], [-2.0, -3.0, -2.5], 2.0))


@exercise("dpo_implicit_reward", points=2)
def test_dpo_loss_is_the_bradley_terry_loss_of_the_implicit_reward(student):
    pi_c, pi_r = torch.tensor([-2.0, -5.0]), torch.tensor([-6.0, -3.0])
    ref_c, ref_r = torch.tensor([-3.0, -4.0]), torch.tensor([-5.0, -5.0])
    r_c = _one_reward_per_text(student.dpo_implicit_reward(pi_c, ref_c, 0.5), [0.5, -0.5])
    r_r = _one_reward_per_text(student.dpo_implicit_reward(pi_r, ref_r, 0.5), [-0.5, 1.0])
    got = [_neg_log_sigmoid(c - r) for c, r in zip(_as_list(r_c), _as_list(r_r))]
    # margins (pi_c - ref_c) - (pi_r - ref_r) = [2, -3]; beta * margin = [1, -1.5]
    expected = [_neg_log_sigmoid(1.0), _neg_log_sigmoid(-1.5)]
    assert _close(got, expected, 1e-5), (
        f"-log sigmoid(r(chosen) - r(rejected)) with these rewards gives {got}, but the DPO "
        f"loss of these pairs is {expected}: the implicit reward must be beta times the "
        "log-ratio of each text, so that DPO is Bradley-Terry on it")


@exercise("dpo_implicit_reward", points=2)
def test_implicit_reward_carries_the_gradient_of_the_policy(student):
    # The third text has policy == reference, where every DPO run starts: a form that
    # splits or folds the log-ratio there (clamp, abs) has the right values but not
    # the gradient beta.
    logp_policy = torch.tensor([-3.0, -1.0, -2.0], requires_grad=True)
    got = _one_reward_per_text(
        student.dpo_implicit_reward(logp_policy, torch.tensor([-2.0, -2.0, -2.0]), 0.25),
        [-0.25, 0.25, 0.0])
    assert got.requires_grad, (
        "the result has no gradient: compute it from the input tensors (no .item(), "
        ".detach(), numpy or torch.no_grad), so a DPO loss can be built on it")
    got.sum().backward()
    grad = None if logp_policy.grad is None else logp_policy.grad.tolist()
    assert grad is not None and _close(grad, [0.25, 0.25, 0.25], 1e-6), (
        f"d reward / d logp_policy should be beta = 0.25 for each text, got {grad}"
        + (": the gradient is 0, so autograd sees no dependence on logp_policy (was it "
           "detached on the way?)"
           if grad is not None and all(g == 0 for g in grad) else "")
        + (": it is right except for the third text, where policy == reference: a clamp, "
           "abs or sign of the log-ratio has a kink there that changes the gradient; "
           "beta * (logp_policy - logp_ref) has none"
           if grad is not None and _close(grad[:2], [0.25, 0.25], 1e-6)
           and not _close(grad[2:], [0.25], 1e-6) else ""))


# --------------------------------------------------------------------------- #
# kl_estimates
# --------------------------------------------------------------------------- #
def _three_floats(result):
    """kl_estimates' answer as three floats; a clear message if it is not three floats."""
    assert isinstance(result, (tuple, list)) and len(result) == 3, (
        f"return a tuple of three Python floats (k1, k2, k3), got {_type_name(result)}"
        f"{'' if not hasattr(result, '__len__') else f' of length {len(result)}'}")
    for name, value in zip(("k1", "k2", "k3"), result):
        size = value.numel() if isinstance(value, torch.Tensor) else getattr(value, "size", 1)
        assert size == 1, (
            f"{name} has {size} entries: return the MEAN over the N samples as a Python "
            "float, not the per-sample values")
        assert isinstance(value, float), (
            f"{name} is {_type_name(value)}, not a Python float: return three Python floats "
            "(convert each mean with .item() or float(...))")
    return [float(value) for value in result]


def _kl_by_hand(log_ratios):
    """(k1, k2, k3) from a list of log r = log pi_ref - log pi, with plain floats."""
    n = len(log_ratios)
    return [sum(-u for u in log_ratios) / n,
            sum(u * u / 2 for u in log_ratios) / n,
            sum(math.exp(u) - 1 - u for u in log_ratios) / n]


_KL_RULES = ("k1 = mean(-log r)", "k2 = mean((log r)**2 / 2)",
             "k3 = mean((r - 1) - log r) with r = exp(log r), per sample, then averaged")


def _kl_hint(got, log_ratios, tol):
    """Why (k1, k2, k3) = ``got`` differs from the estimates of these log-ratios."""
    expected = _kl_by_hand(log_ratios)
    n, u = len(log_ratios), log_ratios
    if not all(math.isfinite(g) for g in got):
        return ("an estimate is nan or inf although every log r here is small: form "
                "log r = logp_ref - logp_policy and exponentiate only log r")

    def close(a, b):
        return _close(a, b, tol)

    whole = [
        ([0.0, 0.0, 0.0], "all three estimates are 0, yet log r is not 0 on every sample here"),
        (_kl_by_hand([-x for x in u]),
         "all three match the ratio the wrong way round: r = pi_ref / pi, so "
         "log r = logp_ref - logp_policy"),
        ([n * e for e in expected], "these are sums over the N samples: return their means"),
    ]
    cause = _first_match(got, whole, expected, close)
    if cause:
        return cause
    if close(sorted(got), sorted(expected)):
        return "the right three numbers in the wrong order: return (k1, k2, k3)"
    mean_u = sum(u) / n
    per_estimate = [
        [(sum(u) / n, "k1 has the wrong sign: k1 = -log r = logp_policy - logp_ref"),
         (max(expected[0], 0.0), "k1 is clipped at 0: its batch mean may be negative, keep it"),
         (abs(expected[0]), "k1 lost its sign: its batch mean may be negative, keep it")],
        [(sum(x * x for x in u) / n, "k2 lacks the 1/2: k2 = (log r)**2 / 2"),
         (mean_u ** 2 / 2, "k2 squares the mean log r: square each sample, then average"),
         (sum(math.expm1(x) ** 2 / 2 for x in u) / n,
          "k2 is (r - 1)**2 / 2: it is (log r)**2 / 2")],
        [(sum(math.exp(x) - 1 + x for x in u) / n,
          "k3 adds log r: k3 = (r - 1) - log r subtracts it"),
         (sum(math.exp(-x) - 1 + x for x in u) / n,
          "k3 uses the inverse ratio pi / pi_ref: r = exp(logp_ref - logp_policy)"),
         (math.exp(mean_u) - 1 - mean_u,
          "k3 is computed from the mean log r: apply (r - 1) - log r to each sample, then "
          "average"),
         (max(expected[0], 0.0), "k3 is k1 clipped at 0: k3 = (r - 1) - log r")],
    ]
    causes = []
    for i, (name, rule) in enumerate(zip(("k1", "k2", "k3"), _KL_RULES)):
        if abs(got[i] - expected[i]) <= tol:
            continue
        if got[i] == 0:
            causes.append(f"{name} is 0 here, but should follow {rule}")
            continue
        found = _first_match([got[i]], [([v], c) for v, c in per_estimate[i]], [expected[i]],
                             close)
        causes.append(found or f"{name} should follow {rule}")
    return "; ".join(causes)


def _assert_kl(got, log_ratios, tol, context):
    expected = _kl_by_hand(log_ratios)
    assert _close(got, expected, tol), (
        f"{context}expected (k1, k2, k3) = {[round(e, 4) for e in expected]}, got "
        f"{[round(g, 4) for g in got]}: {_kl_hint(got, log_ratios, tol)}")


@exercise("kl_estimates", points=3)
def test_kl_estimates_match_the_docstring_example(student):
    logp_policy = torch.log(torch.tensor([0.5, 0.5]))
    logp_ref = torch.log(torch.tensor([0.25, 1.0]))
    got = _three_floats(student.kl_estimates(logp_policy, logp_ref))
    # log r = [-ln 2, ln 2]: k1 = 0, k2 = (ln 2)^2 / 2, k3 = mean(0.5 - 1 + ln 2, 2 - 1 - ln 2)
    _assert_kl(got, [-math.log(2), math.log(2)], 1e-5, "")


@exercise("kl_estimates", points=3)
def test_kl_estimates_are_zero_when_the_models_agree(student):
    logp = torch.tensor([-0.2, -1.7, -3.1, -0.9])
    got = _three_floats(student.kl_estimates(logp, logp.clone()))
    assert _close(got, [0.0, 0.0, 0.0], 1e-6), (
        f"when policy and reference give every sample the same log-probability, r = 1 and "
        f"all three estimates are 0; got {[round(g, 4) for g in got]}")
    # Zeros are right only there: a reference that disagrees gives other numbers.
    logp_ref = logp + torch.tensor([0.3, -0.2, 0.1, -0.4])
    log_ratios = (logp_ref - logp).tolist()
    got = _three_floats(student.kl_estimates(logp, logp_ref))
    _assert_kl(got, log_ratios, 1e-5, "log ratios log r = [0.3, -0.2, 0.1, -0.4]: ")


@exercise("kl_estimates", points=3)
def test_k1_and_k3_equal_the_exact_kl_on_a_proportional_sample(student):
    # pi = [1/2, 1/4, 1/4], pi_ref = [1/4, 1/4, 1/2]; the sample [0, 0, 1, 2] holds each
    # outcome exactly in proportion to pi, so sample means are expectations under pi.
    pi, pi_ref = [0.5, 0.25, 0.25], [0.25, 0.25, 0.5]
    sample = [0, 0, 1, 2]
    exact_kl = sum(p * math.log(p / q) for p, q in zip(pi, pi_ref))  # (ln 2) / 4
    log_ratios = [math.log(pi_ref[x] / pi[x]) for x in sample]
    assert abs(_kl_by_hand(log_ratios)[0] - exact_kl) < 1e-12  # the premise of this test
    logp_policy = torch.log(torch.tensor([pi[x] for x in sample]))
    logp_ref = torch.log(torch.tensor([pi_ref[x] for x in sample]))
    got = _three_floats(student.kl_estimates(logp_policy, logp_ref))
    _assert_kl(got, log_ratios, 1e-5,
               f"on a sample proportional to pi, the unbiased k1 and k3 both equal the exact "
               f"KL(pi || pi_ref) = {exact_kl:.5f}: ")


@exercise("kl_estimates", points=3)
def test_k1_can_be_negative_but_k3_cannot(student):
    # the reference likes both samples more than the policy: log r = [ln 3, ln 2] > 0
    logp_policy = torch.log(torch.tensor([0.1, 0.2]))
    logp_ref = torch.log(torch.tensor([0.3, 0.4]))
    got = _three_floats(student.kl_estimates(logp_policy, logp_ref))
    _assert_kl(got, [math.log(3.0), math.log(2.0)], 1e-5,  # k1 < 0, k3 = 0.604
               "when pi_ref > pi on every sample, k1 = -log r is negative and "
               "k3 = (r - 1) - log r is positive: ")


@exercise("kl_estimates", points=3)
def test_estimates_of_whole_texts_are_finite_in_float32(student):
    # log-probabilities of whole texts, in float32: exp(-97.25) is a subnormal ~5e-43 and
    # exp(-120) ... exp(-142) are 0, so only log r = logp_ref - logp_policy is usable.
    logp_policy = torch.tensor([-120.0, -131.5, -97.25, -142.0], dtype=torch.float32)
    logp_ref = torch.tensor([-121.0, -130.0, -98.0, -141.5], dtype=torch.float32)
    log_ratios = [-1.0, 1.5, -0.75, 0.5]  # exact in float32
    got = _three_floats(student.kl_estimates(logp_policy, logp_ref))
    if not all(math.isfinite(g) for g in got):
        naive = torch.exp(logp_ref) / torch.exp(logp_policy)  # what exp of each gives
        cause = ("exp(logp_ref) / exp(logp_policy) is 0 / 0 here, so that ratio is nan: "
                 "form log r = logp_ref - logp_policy and exponentiate only log r"
                 if not torch.isfinite(naive).all() else
                 "form log r = logp_ref - logp_policy and exponentiate only log r")
        raise AssertionError(
            f"whole-text log-probabilities around -120 in float32 gave (k1, k2, k3) = "
            f"{got}: exp(-120) underflows to 0 in float32; {cause}")
    _assert_kl(got, log_ratios, 1e-4,
               "whole-text log-probabilities around -120 in float32, log r = "
               "[-1, 1.5, -0.75, 0.5]: ")


@exercise("kl_estimates", points=3)
def test_k1_and_k3_are_unbiased_over_many_random_samples(student):
    for seed in range(3):
        generator = torch.Generator().manual_seed(seed)
        logp = torch.log_softmax(torch.randn(6, generator=generator), dim=0)  # pi, [6]
        logp_ref = torch.log_softmax(torch.randn(6, generator=generator), dim=0)
        exact_kl = float((logp.exp() * (logp - logp_ref)).sum())
        x = torch.multinomial(logp.exp(), 20_000, replacement=True, generator=generator)
        k1, _, k3 = _three_floats(student.kl_estimates(logp[x], logp_ref[x]))
        # the standard error of the mean of 20k samples is below 0.02 for these pairs
        assert abs(k1 - exact_kl) < 0.08 and abs(k3 - exact_kl) < 0.08, (
            f"seed {seed}: 20 000 samples of pi should give k1 and k3 within 0.08 of the "
            f"exact KL {exact_kl:.3f}; got k1 = {k1:.3f}, k3 = {k3:.3f}")


# --------------------------------------------------------------------------- #
# masked_kl_rewards
# --------------------------------------------------------------------------- #
def _token_rewards(scores, logp_policy, logp_ref, mask, beta, place="last", overwrite=False,
                   masked=True, sign=1.0):
    """Per-token rewards by hand (lists of floats), or what a typical mistake returns:
    place = where the score goes ("last" real token, "last_column", "after_last" = first
    padding position, "first" token, "every" real token); overwrite = the score replaces the
    penalty there; masked = False penalises padding too; sign = -1 flips the penalty."""
    rows = []
    for score, lp, lr, m in zip(scores, logp_policy, logp_ref, mask):
        length, width = int(sum(m)), len(m)
        row = [-sign * beta * (p - q) if (mi or not masked) else 0.0
               for p, q, mi in zip(lp, lr, m)]
        targets = (range(length) if place == "every" else
                   [{"last": length - 1, "last_column": width - 1,
                     "after_last": min(length, width - 1), "first": 0}[place]])
        for t in targets:
            row[t] = score if overwrite else row[t] + score
        rows.append(row)
    return rows


def _token_rewards_hint(got, scores, logp_policy, logp_ref, mask, beta):
    """Why per-token rewards ``got`` differ from the right ones, named from the symptom."""
    args = (scores, logp_policy, logp_ref, mask, beta)
    expected = _token_rewards(*args)
    where = "column mask[i].sum() - 1"
    candidates = [
        ([[0.0] * len(row) for row in mask],
         "every reward is 0, yet these texts have scores and non-zero log-ratios"),
        (_token_rewards(*args, overwrite=True),
         "the score replaces the last real token's KL penalty: add it to that penalty "
         "(+=, not = or scatter_)"),
        (_token_rewards(*args, place="last_column"),
         f"each score is on the last column T - 1; a shorter text ends earlier, at {where}"),
        (_token_rewards(*args, place="after_last"),
         f"each score is one column too far, on the first padding position: a text of T_i "
         f"real tokens ends at column T_i - 1 ({where})"),
        (_token_rewards(*args, place="first"),
         f"each score is on the text's first token: it goes on the last real one, {where}"),
        (_token_rewards(*args, place="every"),
         "the score is added on every real token: add it once, on the last real token"),
        (_token_rewards(*args, masked=False),
         "padding is penalised: multiply the penalty by the mask (or zero it where mask == 0)"),
        (_token_rewards(*args, sign=-1.0),
         "the penalty has the wrong sign: it is -beta * (logp_policy - logp_ref), a cost where "
         "the policy likes a token more than the reference"),
        (_token_rewards(scores, logp_policy, logp_ref, mask, 1.0),
         "beta is missing from the penalty: -beta * (logp_policy - logp_ref)"),
    ]

    def close(a, b):
        return torch.allclose(torch.as_tensor(a, dtype=torch.float64),
                              torch.as_tensor(b, dtype=torch.float64), atol=1e-6)

    return _first_match(got, candidates, expected, close) or (
        f"the reward is -beta * (logp_policy - logp_ref) on real tokens and 0 on padding, "
        f"plus each score once, added on its text's last real token ({where})")


def _check_token_rewards(student, scores, logp_policy, logp_ref, mask, beta, context=""):
    got = student.masked_kl_rewards(torch.tensor(scores), torch.tensor(logp_policy),
                                    torch.tensor(logp_ref), torch.tensor(mask), beta)
    shape = (len(mask), len(mask[0]))
    assert isinstance(got, torch.Tensor) and tuple(got.shape) == shape, (
        f"expected a tensor of shape [B, T] = {shape}, got {_type_name(got)}"
        f"{'' if not isinstance(got, torch.Tensor) else f' of shape {tuple(got.shape)}'}")
    expected = _token_rewards(scores, logp_policy, logp_ref, mask, beta)
    got_rows = got.detach().to(torch.float64).tolist()
    assert torch.allclose(torch.tensor(got_rows, dtype=torch.float64),
                          torch.tensor(expected, dtype=torch.float64), atol=1e-6), (
        f"{context}expected {[[round(v, 4) + 0.0 for v in row] for row in expected]}, got "
        f"{[[round(v, 4) + 0.0 for v in row] for row in got_rows]}: "
        + _token_rewards_hint(got_rows, scores, logp_policy, logp_ref, mask, beta))


@exercise("masked_kl_rewards", points=3)
def test_masked_rewards_match_the_docstring_example(student):
    # row 0: log-ratios [0.5, -1, -1] -> -0.5 * them = [-0.25, 0.5, 0.5], + 1 at t = 2;
    # row 1: one real token, log-ratio 1 -> -0.5, + 2 at t = 0; padding 0
    # -> [[-0.25, 0.5, 1.5], [1.5, 0.0, 0.0]]
    _check_token_rewards(student, [1.0, 2.0], [[-1.0, -2.0, -3.0], [-0.5, -9.0, -9.0]],
                         [[-1.5, -1.0, -2.0], [-1.5, 0.0, 0.0]],
                         [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]], 0.5)


@exercise("masked_kl_rewards", points=3)
def test_score_goes_on_each_texts_last_real_token(student):
    # texts of 4, 2 and 1 real tokens end at columns 3, 1 and 0; every real token, the last
    # one included, has a non-zero log-ratio, so the score must be added to its penalty
    mask = [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    logp_policy = [[-0.5, -1.0, -0.25, -2.0], [-1.5, -0.5, -4.0, -4.0],
                   [-3.0, -1.0, -1.0, -1.0]]
    logp_ref = [[-1.0, -0.5, -1.25, -1.0], [-0.5, -2.5, -4.0, -4.0],
                [-1.0, -1.0, -1.0, -1.0]]
    _check_token_rewards(student, [3.0, -2.0, 5.0], logp_policy, logp_ref, mask, 0.25,
                         "texts of 4, 2 and 1 real tokens end at columns 3, 1 and 0: ")


@exercise("masked_kl_rewards", points=3)
def test_padding_gets_exactly_zero_whatever_is_stored_there(student):
    mask = [[1.0, 1.0, 0.0, 0.0]]
    logp_policy = [[-0.4, -0.6, -5.0, -2.0]]  # finite garbage on the padding
    logp_ref = [[-0.9, -1.6, -1.0, -9.0]]
    # real tokens: -0.5 * [0.5, 1] = [-0.25, -0.5], + 2 on t = 1; padding 0
    _check_token_rewards(student, [2.0], logp_policy, logp_ref, mask, 0.5,
                         "padded positions get reward 0 even when logp_policy and logp_ref "
                         "disagree there: ")


@exercise("masked_kl_rewards", points=3)
def test_penalty_is_beta_times_the_policy_log_ratio(student):
    # log pi - log pi_ref = [1, -1, 0.5] -> -0.2 * [1, -1, 0.5]; the score is 0
    _check_token_rewards(student, [0.0], [[-0.1, -2.0, -0.5]], [[-1.1, -1.0, -1.0]],
                         [[1.0, 1.0, 1.0]], 0.2,
                         "a token the policy likes more than the reference (log-ratio +1) "
                         "costs beta: ")


@exercise("masked_kl_rewards", points=3)
def test_masked_rewards_leave_their_inputs_unchanged(student):
    scores = torch.tensor([1.0, 2.0])
    logp_policy = torch.tensor([[-0.5, -0.2], [-0.3, -0.9]])
    logp_ref = torch.tensor([[-0.4, -0.6], [-0.5, -0.1]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    inputs = (scores, logp_policy, logp_ref, mask)
    copies = [x.clone() for x in inputs]
    student.masked_kl_rewards(scores, logp_policy, logp_ref, mask, 0.1)
    changed = [name for name, x, c in zip(("scores", "logp_policy", "logp_ref", "mask"),
                                          inputs, copies) if not torch.equal(x, c)]
    assert not changed, (
        f"{', '.join(changed)} was modified in place: build a new tensor (e.g. from "
        "-beta * (logp_policy - logp_ref) * mask) before adding the scores to it")
    _check_token_rewards(student, *(x.tolist() for x in copies), 0.1,
                         "and the rewards themselves are right: ")


# --------------------------------------------------------------------------- #
# adaptive_kl_coef
# --------------------------------------------------------------------------- #
def _new_beta(student, beta, kl, kl_target, horizon, n_samples):
    """The student's next beta; fails first, and says so, when it is not a Python float."""
    got = student.adaptive_kl_coef(beta, kl, kl_target, horizon, n_samples)
    assert isinstance(got, float), (
        f"adaptive_kl_coef returned {_type_name(got)}, not a Python float: return a float "
        "(convert with float(...) or .item())")
    return got


def _clip(error):
    return min(max(error, -0.2), 0.2)


def _beta_hint(got, beta, kl, kl_target, horizon, n_samples):
    """Why the new beta ``got`` differs from the controller's, named from the symptom."""
    relative, gain = kl / kl_target - 1, n_samples / horizon
    expected = beta * (1 + _clip(relative) * gain)
    candidates = [
        (beta, "beta came back unchanged: it must be scaled by (1 + e * n_samples / horizon) "
               "(note that n_samples // horizon is 0 when n_samples < horizon)"),
        (beta + _clip(relative) * gain,
         "the correction is added to beta: the update multiplies it, "
         "beta * (1 + e * n_samples / horizon)"),
        (beta * (1 - _clip(relative) * gain),
         "beta moved the wrong way: a KL above the target must raise it, with "
         "e = kl / kl_target - 1"),
        (beta * (1 + _clip(kl_target / kl - 1) * gain) if kl > 0 else math.nan,
         "the error is inverted: e = kl / kl_target - 1, not kl_target / kl - 1"),
        (beta * (1 + _clip(kl - kl_target) * gain),
         "the error is absolute: it is relative, e = kl / kl_target - 1"),
        (beta * (1 + _clip(relative) * horizon / n_samples),
         "the gain is inverted: the error is scaled by n_samples / horizon"),
        (beta * (1 + _clip(relative) * (n_samples // horizon)),
         "n_samples // horizon is an integer division (0 when n_samples < horizon): "
         "use n_samples / horizon"),
        (beta * (1 + _clip(relative)) ** gain,
         "beta is compounded, (1 + e) ** (n_samples / horizon): the update is "
         "beta * (1 + e * n_samples / horizon)"),
        (beta * (1 + relative * gain),
         f"the relative error {relative:g} was used as it is: clip it to [-0.2, 0.2] before "
         "scaling it by n_samples / horizon"),
        (beta * (1 + _clip(relative * gain)),
         "the clip comes after scaling by n_samples / horizon: clip the error first"),
        (beta * (1 + _clip(relative)), "the error is not scaled by n_samples / horizon"),
    ]

    def close(a, b):
        return abs(a[0] - b[0]) < 1e-9

    cause = _first_match([got], [([v], c) for v, c in candidates], [expected], close)
    if cause:
        return cause
    if abs(got - expected) < 1e-4:
        return ("close, but not exact: is the result rounded, or computed in float32? "
                "Compute it with Python floats")
    return ("the next beta is beta * (1 + clip(kl / kl_target - 1, -0.2, 0.2) * "
            "n_samples / horizon)")


def _assert_beta(student, args, expected, context):
    got = _new_beta(student, *args)
    assert abs(got - expected) < 1e-9, (
        f"{context}: expected {expected:.6f}, got {got:.6f}. {_beta_hint(got, *args)}")


@exercise("adaptive_kl_coef", points=2)
def test_beta_stays_put_at_the_target(student):
    _assert_beta(student, (0.3, 4.0, 4.0, 1000, 64), 0.3,
                 "a KL exactly on target is no error, so beta stays 0.3")
    # Off target it moves: error +0.1, n_samples / horizon = 0.064, 0.3 * 1.0064
    _assert_beta(student, (0.3, 4.4, 4.0, 1000, 64), 0.30192,
                 "KL 4.4 against a target of 4 is an error of +0.1: with n_samples / "
                 "horizon = 0.064, beta = 0.3 becomes 0.30192")


@exercise("adaptive_kl_coef", points=2)
def test_small_errors_scale_beta_proportionally(student):
    # errors +0.1 and -0.1 (inside the clip), K = 100 / 1000: 0.2 * (1 +- 0.01)
    _assert_beta(student, (0.2, 5.5, 5.0, 1000, 100), 0.202,
                 "KL 5.5 against a target of 5 is a relative error of +0.1; with "
                 "n_samples / horizon = 0.1, beta = 0.2 becomes 0.202")
    _assert_beta(student, (0.2, 4.5, 5.0, 1000, 100), 0.198,
                 "KL 4.5 against a target of 5 is a relative error of -0.1; with "
                 "n_samples / horizon = 0.1, beta = 0.2 becomes 0.198")


@exercise("adaptive_kl_coef", points=2)
def test_large_errors_are_clipped_before_scaling(student):
    # error 0.5 -> clipped to 0.2 -> 0.1 * (1 + 0.2 * 0.0256)
    _assert_beta(student, (0.1, 9.0, 6.0, 10_000, 256), 0.100512,
                 "KL 9 against a target of 6 is an error of 0.5, clipped to 0.2, then scaled "
                 "by n_samples / horizon = 0.0256")
    # error -1 -> clipped to -0.2 -> 0.1 * (1 - 0.2 * 0.5)
    _assert_beta(student, (0.1, 0.0, 6.0, 1000, 500), 0.09,
                 "a KL of 0 against a target of 6 is an error of -1, clipped to -0.2; with "
                 "n_samples / horizon = 0.5, beta = 0.1 becomes 0.09")


@exercise("adaptive_kl_coef", points=2)
def test_update_multiplies_beta(student):
    # error 0.2, K = 0.5: beta * 1.1 for any beta
    _assert_beta(student, (0.01, 6.0, 5.0, 200, 100), 0.011,
                 "the controller scales beta by (1 + error * n_samples / horizon) = 1.1 "
                 "here, so 0.01 becomes 0.011")
    _assert_beta(student, (1.0, 6.0, 5.0, 200, 100), 1.1,
                 "the controller scales beta by (1 + error * n_samples / horizon) = 1.1 "
                 "here, so 1.0 becomes 1.1")
