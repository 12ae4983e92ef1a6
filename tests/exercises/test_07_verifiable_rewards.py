"""Graded tests of chapter 07: RL with verifiable rewards.

Every expected value is computed here, independently of the reference solution: with plain
Python floats and lists, ``math.comb`` and ``fractions.Fraction`` (exact pass@k), by
enumerating every subset of the samples (pass@k as a probability), or by hand for the
small examples (the arithmetic is in the comments). No tensor operation of the reference
is reused.

Conventions the tests check, as the exercise docstrings state them:
- a batch holds ``n_prompts`` groups of ``group_size`` samples, each group CONSECUTIVE
  (samples 0 .. G-1 answer prompt 0, G .. 2G-1 prompt 1, ...);
- GRPO's advantage divides by the POPULATION std of the group plus eps; a group whose
  rewards are all equal gets zeros, never nan;
- rloo_advantages needs group_size >= 2 (with one sample there is no other sample to
  average): the docstring says so and no test calls it with 1;
- pass_at_k assumes 0 <= c <= n and 1 <= k <= n, and returns a Python float;
- grpo_loss averages over the valid tokens of the whole batch (sum / mask.sum()); padding
  may hold any finite log-probabilities (tests use ratios up to e^80, finite in float32).

Tolerances accept float32 arithmetic (torch's default dtype): about 1e-5. Every typical
mistake is off by far more. No test puts a ratio on the clip boundary |rho - 1| = eps.

A hint names a cause only when the answer matches what that mistake would give on the
test's own inputs (the ``_*_hint`` helpers recompute each one); otherwise the message
states the case, the expected and the actual values, and the rule.
"""

import itertools
import math
from fractions import Fraction

import torch

from rlbook_utils.exercises import exercise

TOL = 1e-5


# --------------------------------------------------------------------------- #
# Shared helpers
# --------------------------------------------------------------------------- #
def _close(got, expected, tol=TOL):
    """Two flat lists of floats agree within tol (relative for large values); nan never
    matches."""
    return len(got) == len(expected) and all(
        math.isfinite(g) and abs(g - e) <= tol * max(1.0, abs(e))
        for g, e in zip(got, expected))


def _rounded(values, digits=4):
    return [round(v, digits) + 0.0 for v in values]  # + 0.0 turns -0.0 into 0.0


def _type_name(value):
    """How a learner would describe the type of ``value``: 'a 0-d torch.Tensor (float32)'."""
    if isinstance(value, torch.Tensor):
        return f"a {value.dim()}-d torch.Tensor ({str(value.dtype).removeprefix('torch.')})"
    module = type(value).__module__
    name = type(value).__name__ if module == "builtins" else f"{module}.{type(value).__name__}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _first_match(got, expected, candidates, tol=TOL):
    """The causes of the candidate answers that ``got`` equals and the truth does not,
    joined with "or" when several mistakes give the same numbers on this input."""
    causes = []
    for value, cause in candidates:
        if value is None or not all(math.isfinite(v) for v in value):
            continue
        if _close(got, value, tol) and not _close(expected, value, tol) and cause not in causes:
            causes.append(cause)
    return "; or ".join(causes) or None


def _unchanged(inputs, copies):
    """Names of the tensors a call modified in place."""
    return [name for (name, x), c in zip(inputs.items(), copies) if not torch.equal(x, c)]


# --------------------------------------------------------------------------- #
# Group layouts, by hand: which indices of the batch form each group
# --------------------------------------------------------------------------- #
def _groups(batch_size, group_size, layout="consecutive"):
    """Index lists of the groups. consecutive: the rule, [0..G-1], [G..2G-1], ...;
    strided: group j = samples j, j + n, j + 2n (reshape(group_size, -1), columns);
    chunks: n_prompts-sized rows of reshape(group_size, -1); across: position j of every
    group (dim 0 of reshape(-1, group_size)); batch: one group of all."""
    n_prompts = batch_size // group_size
    if layout == "consecutive":
        return [list(range(g * group_size, (g + 1) * group_size)) for g in range(n_prompts)]
    if layout == "strided":
        return [list(range(j, batch_size, n_prompts)) for j in range(n_prompts)]
    if layout == "chunks":
        return [list(range(i * n_prompts, (i + 1) * n_prompts)) for i in range(group_size)]
    if layout == "across":
        return [list(range(j, batch_size, group_size)) for j in range(group_size)]
    return [list(range(batch_size))]


def _mean(values):
    return sum(values) / len(values)


def _std(values, ddof=0):
    if len(values) - ddof <= 0:
        return math.nan
    m = _mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - ddof))


# --------------------------------------------------------------------------- #
# group_relative_advantages
# --------------------------------------------------------------------------- #
def _grpo_advantages(rewards, group_size, eps=1e-6, ddof=0, layout="consecutive",
                     denominator="std+eps", centre=True):
    """GRPO's advantages by hand, or what a typical mistake returns: ddof=1 (sample std),
    another layout, denominator "std" (no eps: nan on a flat group), "sqrt(var+eps)",
    "none" (centred only, as Dr. GRPO), centre=False (r / std)."""
    advantages = [math.nan] * len(rewards)
    for group in _groups(len(rewards), group_size, layout):
        values = [rewards[i] for i in group]
        mean, std = _mean(values), _std(values, ddof)
        scale = {"std+eps": std + eps, "std": std, "none": 1.0,
                 "sqrt(var+eps)": math.sqrt(std ** 2 + eps)}[denominator]
        for i in group:
            top = rewards[i] - mean if centre else rewards[i]
            if scale == 0 or math.isnan(scale):
                advantages[i] = math.nan
            else:
                advantages[i] = top / scale
    return advantages


def _grpo_hint(got, rewards, group_size, eps):
    expected = _grpo_advantages(rewards, group_size, eps)
    groups = _groups(len(rewards), group_size)
    flat_group = any(_std([rewards[i] for i in g]) == 0 for g in groups)
    if not all(math.isfinite(g) for g in got):
        if flat_group:
            return ("the result holds nan or inf: a group whose rewards are all equal has "
                    "std 0, and (r - mean) / std is then 0 / 0; divide by (std + eps)")
        return "the result holds nan or inf, yet every group here has a non-zero std"
    if all(g == 0 for g in got):
        return ("every advantage is 0, yet some group here has rewards that differ: "
                "(r - mean) / (std + eps) is 0 only in a group of equal rewards")
    candidates = [
        (_grpo_advantages(rewards, group_size, eps, ddof=1),
         "this divides by the SAMPLE std (unbiased, divisor G - 1): use the population std "
         "of the group, std(unbiased=False) or std(correction=0), divisor G"),
        (_grpo_advantages(rewards, group_size, eps, layout="batch"),
         "these are normalised by the mean and std of the whole batch: each group is "
         "normalised by its own mean and std"),
        (_grpo_advantages(rewards, group_size, eps, ddof=1, layout="batch"),
         "these are normalised by the whole batch's mean and sample std: normalise each "
         "group by its own mean and population std"),
        (_grpo_advantages(rewards, group_size, eps, layout="strided"),
         "the groups are interleaved (sample j, j + n_prompts, ...): a group is "
         "group_size CONSECUTIVE samples, rewards.reshape(n_prompts, group_size) "
         "(or reshape(-1, group_size))"),
        (_grpo_advantages(rewards, group_size, eps, layout="chunks"),
         "the groups have n_prompts samples each, as from rewards.reshape(group_size, -1): "
         "a group is group_size consecutive samples, reshape(-1, group_size)"),
        (_grpo_advantages(rewards, group_size, eps, layout="across"),
         "each position is normalised across the prompts (dim=0 of the [n_prompts, "
         "group_size] matrix): normalise along dim=1, within each prompt's group"),
        (_grpo_advantages(rewards, group_size, eps, denominator="none"),
         "the rewards are centred but not divided by the group's std + eps"),
        (_grpo_advantages(rewards, group_size, eps, centre=False),
         "the rewards are divided by the std but not centred: subtract the group's mean"),
        ([-a for a in expected], "the sign is flipped: it is r minus the group's mean"),
        (_grpo_advantages(rewards, group_size, eps, denominator="sqrt(var+eps)"),
         "eps is added to the variance under the square root: add it to the std, "
         "(r - mean) / (std + eps)"),
        (_grpo_advantages(rewards, group_size, 1e-6),
         f"eps = {eps:g} was not used (this is the answer with eps = 1e-6): divide by "
         "std + eps with the eps given"),
    ]
    return _first_match(got, expected, candidates) or (
        "each sample's advantage is (r - mean of its group) / (population std of its "
        "group + eps), the groups being group_size consecutive samples")


def _advantages_vector(got, rewards, name):
    """The answer as a flat list of floats, after checking it is a float tensor [B]."""
    n = len(rewards)
    assert isinstance(got, torch.Tensor), (
        f"{name} returned {_type_name(got)}: return a torch tensor of shape [B] = ({n},), "
        "one advantage per sample")
    assert tuple(got.shape) == (n,), (
        f"{name} should return shape [B] = ({n},), one advantage per sample in the order "
        f"of rewards, got shape {tuple(got.shape)}"
        + (": reshape the [n_prompts, group_size] result back to [B]"
           if got.dim() == 2 and got.numel() == n else ""))
    assert got.is_floating_point(), f"{name} should return floats, got {got.dtype}"
    return [float(v) for v in got.detach().tolist()]


def _assert_grpo(student, rewards, group_size, context, eps=None, dtype=torch.float32):
    kwargs = {} if eps is None else {"eps": eps}
    got = _advantages_vector(
        student.group_relative_advantages(torch.tensor(rewards, dtype=dtype), group_size,
                                          **kwargs),
        rewards, "group_relative_advantages")
    expected = _grpo_advantages(rewards, group_size, 1e-6 if eps is None else eps)
    assert _close(got, expected), (
        f"{context}: expected {_rounded(expected)}, got {_rounded(got)}: "
        + _grpo_hint(got, rewards, group_size, 1e-6 if eps is None else eps))


@exercise("group_relative_advantages", points=3)
def test_group_advantages_match_the_docstring_example(student):
    # group [1, 0, 0, 0]: mean 1/4, population std sqrt(1/4 * 3/4) = sqrt(3)/4, so
    # (3/4) / (sqrt(3)/4) = sqrt(3) = 1.7321 and (-1/4) / (sqrt(3)/4) = -0.5774;
    # group [1, 1, 1, 1]: every reward equals the mean, so all four are 0
    _assert_grpo(student, [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0], 4,
                 "rewards [1, 0, 0, 0, 1, 1, 1, 1] in 2 groups of 4")


@exercise("group_relative_advantages", points=3)
def test_groups_are_consecutive_blocks_normalised_on_their_own(student):
    # groups [1, 1, 0] and [0, 0, 0]: mean 2/3, std sqrt(2)/3 -> [0.7071, 0.7071, -1.4142];
    # the second group is flat -> zeros. Interleaved groups ([1, 0, 0] and [1, 0, 0]) or
    # the whole batch (mean 1/3) give [1.41, 1.41, -0.71, -0.71, -0.71, -0.71].
    _assert_grpo(student, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0], 3,
                 "rewards [1, 1, 0, 0, 0, 0] in 2 groups of 3 (samples 0-2, then 3-5)")
    # three prompts of two samples, on very different scales: every unequal pair is -1, +1
    _assert_grpo(student, [0.0, 10.0, 5.0, 4.0, -2.0, -2.5], 2,
                 "rewards [0, 10, 5, 4, -2, -2.5] in 3 groups of 2")


@exercise("group_relative_advantages", points=3)
def test_a_group_of_equal_rewards_gets_zeros_not_nan(student):
    # [0.5] * 4 has std 0: (0 / (0 + eps)) = 0; [0, 0, 1, 1]: mean 0.5, std 0.5 -> -1, 1
    _assert_grpo(student, [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 1.0, 1.0], 4,
                 "a group whose four answers all got 0.5, then a group [0, 0, 1, 1]")
    # group_size 1: each sample is alone in its group, so it equals its group's mean
    _assert_grpo(student, [0.0, 1.0, 3.0], 1, "group_size 1: every group is one sample, so "
                 "every advantage is 0")


@exercise("group_relative_advantages", points=3)
def test_the_std_is_the_population_std(student):
    # [3, 5]: mean 4, population std 1 -> [-1, 1] (the sample std sqrt(2) gives -0.71, 0.71)
    # [0, 3, 6]: mean 3, population std sqrt(6) -> [-1.2247, 0, 1.2247] (sample std 3: -1, 0, 1)
    _assert_grpo(student, [3.0, 5.0, -1.0, 1.0], 2, "rewards [3, 5, -1, 1] in 2 groups of 2")
    _assert_grpo(student, [0.0, 3.0, 6.0, 1.0, 1.0, 4.0], 3,
                 "rewards [0, 3, 6, 1, 1, 4] in 2 groups of 3")


@exercise("group_relative_advantages", points=3)
def test_eps_is_added_to_the_std(student):
    # [0, 4]: mean 2, std 2; with eps = 1: -2 / (2 + 1) = -0.6667 and 0.6667
    # (sqrt(var + eps) = sqrt(5) would give -0.8944; ignoring eps gives -1; no std, -2)
    _assert_grpo(student, [0.0, 4.0, 4.0, 4.0], 2,
                 "rewards [0, 4, 4, 4] in groups of 2 with eps = 1.0", eps=1.0)


@exercise("group_relative_advantages", points=3)
def test_group_advantages_keep_shape_and_dtype_and_leave_rewards_alone(student):
    rewards = torch.tensor([2.0, 0.0, 1.0, 0.0, 0.0, 4.0], dtype=torch.float64)
    before = rewards.clone()
    got = student.group_relative_advantages(rewards, 3)
    assert torch.equal(rewards, before), (
        "rewards was modified in place: compute the advantages in a new tensor "
        "(r - mean, not r.sub_(mean) or r -= mean)")
    vector = _advantages_vector(got, before.tolist(), "group_relative_advantages")
    assert got.dtype == torch.float64, (
        f"float64 rewards should give float64 advantages, got {got.dtype}: build the result "
        "from the rewards tensor (or pass dtype=rewards.dtype)")
    expected = _grpo_advantages(before.tolist(), 3)
    assert _close(vector, expected), (
        f"rewards [2, 0, 1, 0, 0, 4] in float64, groups of 3: expected {_rounded(expected)}, "
        f"got {_rounded(vector)}: " + _grpo_hint(vector, before.tolist(), 3, 1e-6))


# --------------------------------------------------------------------------- #
# rloo_advantages
# --------------------------------------------------------------------------- #
def _rloo(rewards, group_size, baseline="others", layout="consecutive"):
    """RLOO by hand, or a typical mistake: baseline "mean" (the group mean, the sample
    included), "others/G" (the others' sum over G), "batch" (the other samples of the
    whole batch); another layout."""
    advantages = [math.nan] * len(rewards)
    groups = _groups(len(rewards), group_size, layout)
    if baseline == "batch":
        groups = [list(range(len(rewards)))]
    for group in groups:
        total, size = sum(rewards[i] for i in group), len(group)
        for i in group:
            if baseline == "mean":
                b = total / size
            elif baseline == "others/G":
                b = (total - rewards[i]) / size
            else:
                b = (total - rewards[i]) / (size - 1) if size > 1 else math.nan
            advantages[i] = rewards[i] - b
    return advantages


def _rloo_hint(got, rewards, group_size):
    expected = _rloo(rewards, group_size)
    others = [r - a for r, a in zip(rewards, expected)]  # the right baselines
    if not all(math.isfinite(g) for g in got):
        return "the result holds nan or inf, yet every group here has two or more samples"
    if all(g == 0 for g in got):
        return ("every advantage is 0, yet some group here has rewards that differ: "
                "r_i minus the mean of the others is 0 only in a group of equal rewards")
    candidates = [
        (_rloo(rewards, group_size, "mean"),
         "the baseline is the group's mean, which includes the sample itself: leave it out, "
         "b_i = (sum of the group - r_i) / (group_size - 1)"),
        (_rloo(rewards, group_size, "others/G"),
         "the other samples' sum is divided by group_size: there are group_size - 1 others"),
        (_rloo(rewards, group_size, layout="strided"),
         "the groups are interleaved (sample j, j + n_prompts, ...): a group is "
         "group_size CONSECUTIVE samples, rewards.reshape(-1, group_size)"),
        (_rloo(rewards, group_size, layout="chunks"),
         "the groups have n_prompts samples each, as from rewards.reshape(group_size, -1): "
         "use reshape(-1, group_size)"),
        (_rloo(rewards, group_size, layout="across"),
         "the baseline averages across the prompts (dim=0 of the [n_prompts, group_size] "
         "matrix): sum along dim=1, within each prompt's group"),
        (_rloo(rewards, group_size, "batch"),
         "the baseline averages the other samples of the whole batch: only the other "
         "samples of the same group (the same prompt)"),
        ([-a for a in expected], "the sign is flipped: it is r_i minus the baseline"),
        (others, "these are the baselines themselves: return r_i minus the baseline"),
        (_grpo_advantages(rewards, group_size),
         "these are GRPO's normalised advantages: RLOO subtracts the leave-one-out mean "
         "and does not divide by a std"),
    ]
    return _first_match(got, expected, candidates) or (
        "each advantage is r_i minus the mean of the OTHER group_size - 1 rewards of its "
        "group (group_size consecutive samples)")


def _assert_rloo(student, rewards, group_size, context, dtype=torch.float32):
    got = _advantages_vector(
        student.rloo_advantages(torch.tensor(rewards, dtype=dtype), group_size), rewards,
        "rloo_advantages")
    expected = _rloo(rewards, group_size)
    assert _close(got, expected), (
        f"{context}: expected {_rounded(expected)}, got {_rounded(got)}: "
        + _rloo_hint(got, rewards, group_size))


@exercise("rloo_advantages", points=2)
def test_rloo_matches_the_docstring_example(student):
    # [1, 0, 0]: 1 - (0 + 0)/2 = 1, 0 - (1 + 0)/2 = -0.5 (twice); [1, 1, 1]: 1 - 1 = 0
    _assert_rloo(student, [1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 3,
                 "rewards [1, 0, 0, 1, 1, 1] in 2 groups of 3")


@exercise("rloo_advantages", points=2)
def test_the_baseline_leaves_the_sample_itself_out(student):
    # [2, 4, 9]: 2 - 13/2 = -4.5, 4 - 11/2 = -1.5, 9 - 6/2 = 6 (the group mean 5 gives
    # -3, -1, 4; the others' sum over 3 gives -2.33, 0.33, 7)
    _assert_rloo(student, [2.0, 4.0, 9.0], 3, "one group [2, 4, 9]")
    # groups of two: the baseline is the other sample, so A = [3 - 7, 7 - 3, 0, 0]
    _assert_rloo(student, [3.0, 7.0, -1.0, -1.0], 2, "rewards [3, 7, -1, -1] in groups of 2")


@exercise("rloo_advantages", points=2)
def test_rloo_groups_are_consecutive_blocks(student):
    # groups [1, 1, 0] and [0, 0, 0]: [1 - 1/2, 1 - 1/2, 0 - 1] = [0.5, 0.5, -1], then zeros;
    # interleaved groups [1, 0, 0] and [1, 0, 0] would give [1, 1, -0.5, -0.5, -0.5, -0.5]
    _assert_rloo(student, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0], 3,
                 "rewards [1, 1, 0, 0, 0, 0] in 2 groups of 3 (samples 0-2, then 3-5)")


@exercise("rloo_advantages", points=2)
def test_rloo_is_the_centred_reward_scaled_by_g_over_g_minus_1(student):
    # r_i - (S - r_i)/(G - 1) = G/(G - 1) (r_i - S/G): checked on seeded random rewards,
    # three prompts of five samples each, against the leave-one-out sum written out
    generator = torch.Generator().manual_seed(7)
    rewards = torch.randn(15, generator=generator).tolist()
    _assert_rloo(student, rewards, 5, "random rewards, 3 groups of 5")
    for g in range(3):
        block = rewards[5 * g:5 * g + 5]
        mean = _mean(block)
        assert _close(_rloo(rewards, 5)[5 * g:5 * g + 5],
                      [1.25 * (r - mean) for r in block], 1e-9)  # the premise of the comment


@exercise("rloo_advantages", points=2)
def test_rloo_keeps_shape_and_dtype_and_leaves_rewards_alone(student):
    rewards = torch.tensor([0.0, 1.0, 1.0, 1.0, 2.0, 5.0, 0.0, 3.0], dtype=torch.float64)
    before = rewards.clone()
    got = student.rloo_advantages(rewards, 4)
    assert torch.equal(rewards, before), (
        "rewards was modified in place: compute the advantages in a new tensor")
    vector = _advantages_vector(got, before.tolist(), "rloo_advantages")
    assert got.dtype == torch.float64, (
        f"float64 rewards should give float64 advantages, got {got.dtype}: build the result "
        "from the rewards tensor (or pass dtype=rewards.dtype)")
    expected = _rloo(before.tolist(), 4)
    assert _close(vector, expected), (
        f"rewards [0, 1, 1, 1, 2, 5, 0, 3] in float64, groups of 4: expected "
        f"{_rounded(expected)}, got {_rounded(vector)}: "
        + _rloo_hint(vector, before.tolist(), 4))


# --------------------------------------------------------------------------- #
# pass_at_k
# --------------------------------------------------------------------------- #
def _pass_at_k_exact(n, c, k):
    """1 - C(n - c, k) / C(n, k) in exact rationals (math.comb is 0 when k > n - c)."""
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def _pass_at_k_by_enumeration(n, c, k):
    """The share of the C(n, k) subsets of k samples that hold a correct one (samples
    0 .. c-1 are the correct ones)."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in subset) for subset in subsets) / len(subsets)


def _pass_at_k_hint(got, n, c, k):
    expected = _pass_at_k_exact(n, c, k)
    if not math.isfinite(got):
        return (f"the result is {got}: with n = {n}, factorials and binomials computed as "
                "floats overflow (200! is about 8e374, C(2000, 1000) about 2e600, and a float "
                "stops at 1.8e308); use math.comb on Python ints, or the product form "
                "1 - prod_{i = n-c+1}^{n} (1 - k / i)")
    if n - c == k and got == 1.0:
        return (f"with n - c = k = {k}, exactly one of the C(n, k) subsets is all wrong, so "
                "pass@k is just below 1 (a guard n - c <= k instead of n - c < k, or a "
                "product that starts at i = n - c instead of n - c + 1, gives 1.0 here)")
    if n - c < k and got == 0.0:
        return (f"with n - c = {n - c} wrong samples, fewer than k = {k}, every subset of k "
                "samples holds a correct one: 1.0")
    p = c / n
    candidates = [
        ([p], "this is c / n, which is pass@1 only: for k > 1 the chance that one of k "
              "samples is correct is higher"),
        ([1 - (1 - p) ** k],
         "this is 1 - (1 - c/n)**k, the plug-in estimate, which is biased (it treats the k "
         "samples as drawn with replacement): use 1 - C(n - c, k) / C(n, k)"),
        ([math.comb(n - c, k) / math.comb(n, k)],
         "this is C(n - c, k) / C(n, k), the chance that all k samples are WRONG: pass@k is "
         "1 minus it"),
        ([1 - math.comb(c, k) / math.comb(n, k)] if c >= k else None,
         "this uses C(c, k), the number of all-correct subsets: the failures are the subsets "
         "of the n - c wrong samples, C(n - c, k)"),
        ([1 - math.prod(1 - k / i for i in range(n - c, n + 1))] if n - c >= 1 else None,
         "the product has one factor too many: it runs over i = n - c + 1, ..., n "
         "(range(n - c + 1, n + 1)), c factors"),
        ([k * p] if k * p < 1 else None,
         "this is k * c / n: pass@k is 1 - C(n - c, k) / C(n, k)"),
        ([0.0] if c > 0 else None, "the result is 0, yet some of the n samples are correct"),
    ]
    cause = _first_match([got], [expected], candidates, 1e-9)
    if cause:
        return cause
    rounded = [round(expected, digits) for digits in range(1, 9)]
    rounded.append(torch.tensor(expected, dtype=torch.float32).item())
    if got not in (0.0, 1.0) and any(abs(got - r) < 1e-12 for r in rounded):
        return ("close, but not exact: is the result rounded, or computed in float32? "
                "Compute it with Python floats or ints")
    return ("pass@k = 1 - C(n - c, k) / C(n, k), and 1.0 when n - c < k"
            + ("; with n this large, check that nothing overflows (numpy integers wrap around "
               "silently past 9.2e18, floats stop at 1.8e308)" if n >= 100 else ""))


def _assert_pass_at_k(student, n, c, k, context="", expected=None):
    got = student.pass_at_k(n, c, k)
    assert isinstance(got, float), (
        f"pass_at_k({n}, {c}, {k}) returned {_type_name(got)}, not a Python float: return "
        "a float (float(...) of the value; 1.0 and 0.0 rather than 1 and 0)")
    if expected is None:
        expected = _pass_at_k_exact(n, c, k)
    assert math.isfinite(got) and abs(got - expected) <= 1e-8, (
        f"{context}pass_at_k({n}, {c}, {k}) should be {expected:.6f}, got {got:.6f}: "
        + _pass_at_k_hint(got, n, c, k))


@exercise("pass_at_k", points=2)
def test_pass_at_k_matches_the_docstring_example(student):
    # 1 - C(3, 2) / C(5, 2) = 1 - 3/10 = 0.7
    _assert_pass_at_k(student, 5, 2, 2, "", 0.7)
    # 1 - C(7, 5) / C(10, 5) = 1 - 21/252 = 11/12
    _assert_pass_at_k(student, 10, 3, 5, "", 11 / 12)


@exercise("pass_at_k", points=2)
def test_pass_at_1_is_the_fraction_of_correct_samples(student):
    _assert_pass_at_k(student, 10, 3, 1, "with k = 1, one sample: ", 0.3)
    _assert_pass_at_k(student, 200, 37, 1, "with k = 1, one sample: ", 0.185)


@exercise("pass_at_k", points=2)
def test_pass_at_k_is_0_without_a_correct_sample_and_1_with_all(student):
    _assert_pass_at_k(student, 10, 0, 3, "no correct sample among the n: ", 0.0)
    _assert_pass_at_k(student, 10, 10, 3, "every sample correct: ", 1.0)
    # 1 - C(8, 3) / C(10, 3) = 1 - 56/120 = 8/15
    _assert_pass_at_k(student, 10, 2, 3, "", 8 / 15)


@exercise("pass_at_k", points=2)
def test_fewer_wrong_samples_than_k_gives_1(student):
    # n - c = 2 < k = 3: every subset of 3 holds a correct sample
    _assert_pass_at_k(student, 10, 8, 3, "n - c = 2 wrong samples, fewer than k = 3: ", 1.0)
    _assert_pass_at_k(student, 4, 1, 4, "k = n = 4 with one correct sample: ", 1.0)
    # n - c = k = 3: one subset of 120 is all wrong, 1 - 1/120
    _assert_pass_at_k(student, 10, 7, 3, "n - c = k = 3: ", 1 - 1 / 120)


@exercise("pass_at_k", points=2)
def test_pass_at_k_is_the_share_of_k_subsets_holding_a_correct_sample(student):
    # the definition itself: draw k of the n samples without replacement
    for n, c, k in [(6, 2, 3), (7, 3, 2), (8, 1, 5), (9, 4, 4)]:
        _assert_pass_at_k(student, n, c, k,
                          f"over all C({n}, {k}) subsets of {k} samples: ",
                          _pass_at_k_by_enumeration(n, c, k))


@exercise("pass_at_k", points=2)
def test_pass_at_k_is_unbiased_not_the_plug_in_estimate(student):
    # 1 - C(15, 4) / C(20, 4) = 1 - 1365/4845 = 0.718266; 1 - (1 - 0.25)**4 = 0.683594
    _assert_pass_at_k(student, 20, 5, 4, "", 1 - 1365 / 4845)


@exercise("pass_at_k", points=2)
def test_pass_at_k_handles_many_samples_without_overflow(student):
    # Chen et al. draw n = 200: C(200, 100) ~ 9e58; C(2000, 1000) ~ 2e600 is beyond a float
    _assert_pass_at_k(student, 200, 37, 50, "n = 200 samples: ")
    # 1 - C(199, 100) / C(200, 100) = 1 - 100/200
    _assert_pass_at_k(student, 200, 1, 100, "n = 200 samples: ", 0.5)
    # 1 - C(1997, 1000) / C(2000, 1000) = 1 - (1000 * 999 * 998) / (2000 * 1999 * 1998)
    _assert_pass_at_k(student, 2000, 3, 1000, "n = 2000 samples: ",
                      1 - (1000 * 999 * 998) / (2000 * 1999 * 1998))


# --------------------------------------------------------------------------- #
# grpo_loss
# --------------------------------------------------------------------------- #
def _grpo_loss(logp_new, logp_old, advantages, mask, clip_eps, pick="min", clip="ratio",
               mean="token", sign=-1.0, ratio_of="exp", broadcast="rows", masked=True,
               pad_ratio_one=False):
    """GRPO's clipped loss by hand, plain floats, with d loss / d logp_new per token.

    Or what a typical mistake returns: pick "max"; clip "none" / "log" (clip the
    log-ratio, then exponentiate) / "always" (clipped term only) / "upper" (clamp(max=1+e));
    mean "sequence" (mean per sequence, then over sequences) / "all" (divide by B*T) /
    "sum"; sign +1; ratio_of "log" (not exponentiated) / "inverse"; broadcast "columns"
    (advantages[t] on column t, when B == T) / "tiled" (advantages.repeat(T).view(B, T));
    masked False (padding counted as tokens);
    pad_ratio_one (the log-ratio masked, so padding counts with ratio 1)."""
    lo, hi = 1 - clip_eps, 1 + clip_eps
    rows, grads = [], []
    for b, (new_row, old_row, m_row) in enumerate(zip(logp_new, logp_old, mask)):
        terms, grad_row = [], []
        for t, (new, old, m) in enumerate(zip(new_row, old_row, m_row)):
            a = {"rows": advantages[b], "columns": advantages[t % len(advantages)],
                 "tiled": advantages[(b * len(new_row) + t) % len(advantages)]}[broadcast]
            log_ratio = 0.0 if (pad_ratio_one and not m) else new - old
            ratio = {"exp": math.exp(log_ratio) if log_ratio < 700 else math.inf,
                     "log": log_ratio, "inverse": math.exp(-log_ratio)}[ratio_of]
            if clip == "log":
                clipped = math.exp(min(max(log_ratio, -clip_eps), clip_eps))
            elif clip == "upper":
                clipped = min(ratio, hi)
            else:
                clipped = min(max(ratio, lo), hi)
            unclipped_term, clipped_term = ratio * a, clipped * a
            if clip == "none":
                term = unclipped_term
            elif clip == "always":
                term = clipped_term
            elif pick == "max":
                term = max(unclipped_term, clipped_term)
            else:
                term = min(unclipped_term, clipped_term)
            inside = lo < ratio < hi
            active = inside or unclipped_term < clipped_term  # the gradient flows
            weight = 1.0 if (m or not masked) else 0.0
            terms.append((term, weight))
            grad_row.append(sign * a * ratio * weight if active else 0.0)
        rows.append(terms)
        grads.append(grad_row)
    n_valid = sum(w for row in rows for _, w in row)
    if mean == "token":
        total = sum(term * w for row in rows for term, w in row if w) / n_valid
        grads = [[g / n_valid for g in row] for row in grads]
    elif mean == "sequence":
        per_sequence = [sum(term * w for term, w in row if w) / sum(w for _, w in row)
                        for row in rows]
        total = sum(per_sequence) / len(rows)
    elif mean == "sequence_sum":
        total = sum(sum(term * w for term, w in row if w) for row in rows) / len(rows)
    elif mean == "unmasked_over_valid":
        total = sum(term for row in rows for term, _ in row) / sum(
            m for m_row in mask for m in m_row)
    elif mean == "all":
        total = sum(term * w for row in rows for term, w in row if w) / sum(
            len(row) for row in rows)
    else:
        total = sum(term * w for row in rows for term, w in row if w)
    return sign * total, grads


def _loss_hint(got, args):
    expected, _ = _grpo_loss(*args)
    square = len(args[0]) == len(args[0][0])  # B == T: advantages[t] broadcasts silently
    candidates = [
        (_grpo_loss(*args, sign=1.0)[0],
         "the sign is flipped: the loss is the NEGATIVE surrogate, -mean(min(...)), so that "
         "minimising it raises the objective"),
        (_grpo_loss(*args, pick="max")[0],
         "this takes the max of the clipped and unclipped terms: PPO/GRPO take the min, the "
         "pessimistic bound"),
        (_grpo_loss(*args, clip="none")[0],
         "the ratio is never clipped: min(rho * A, clip(rho, 1 - eps, 1 + eps) * A)"),
        (_grpo_loss(*args, clip="always")[0],
         "this is clip(rho) * A alone: take the min of rho * A and clip(rho) * A"),
        (_grpo_loss(*args, clip="log")[0],
         "the log-ratio is clipped to [-eps, eps] and then exponentiated: clip the ratio "
         "rho itself to [1 - eps, 1 + eps]"),
        (_grpo_loss(*args, clip="upper")[0],
         "the ratio is clipped from above only, as with min(rho, clip(rho)) * A: take the "
         "min of the two TERMS, rho * A and clip(rho, 1 - eps, 1 + eps) * A, so that the sign "
         "of A decides which side of the clip binds"),
        (_grpo_loss(*args, ratio_of="log")[0],
         "the ratio is logp_new - logp_old, not exponentiated: rho = exp(logp_new - logp_old)"),
        (_grpo_loss(*args, ratio_of="inverse")[0],
         "the ratio is upside down: rho = exp(logp_new - logp_old), new over old"),
        (_grpo_loss(*args, mean="sequence")[0],
         "this averages each sequence's tokens first, then the sequences (the GRPO paper's "
         "normalisation): average over all valid tokens of the batch at once, "
         "sum / mask.sum()"),
        (_grpo_loss(*args, mean="sequence_sum")[0],
         "this sums each sequence's tokens and averages over the sequences: divide the sum "
         "over all valid tokens by their number, mask.sum()"),
        (_grpo_loss(*args, mean="unmasked_over_valid")[0],
         "the padded tokens' terms are in the sum: multiply the per-token terms by the mask "
         "(or select mask == 1) before summing"),
        (_grpo_loss(*args, mean="all")[0],
         "this divides by every position, padding included (B * T, or .mean()): divide the "
         "masked sum by mask.sum()"),
        (_grpo_loss(*args, masked=False)[0],
         "padding tokens are counted: multiply by the mask (or select the tokens where "
         "mask == 1) before averaging"),
        (_grpo_loss(*args, mean="sum")[0],
         "this is the sum over valid tokens: divide it by their number, mask.sum()"),
        (_grpo_loss(*args, masked=False, mean="all", pad_ratio_one=True)[0],
         "padding is counted with ratio 1, as when the log-ratio (not the per-token term) is "
         "multiplied by the mask: mask the terms, then divide by mask.sum()"),
        (_grpo_loss(*args, broadcast="columns")[0] if square else None,
         "the advantages are spread along the wrong axis (advantages[t] on column t): "
         "sequence b's advantage goes on every token of ROW b, advantages[:, None]"),
        (_grpo_loss(*args, broadcast="tiled")[0],
         "the advantages are tiled, as advantages.repeat(T).view(B, T) does: sequence b's "
         "advantage goes on every token of row b, advantages[:, None] (or "
         "repeat_interleave)"),
        (_grpo_loss(*args[:4], 0.2)[0] if args[4] != 0.2 else None,
         f"this is the loss with clip_eps = 0.2: use the clip_eps given ({args[4]:g})"),
        (0.0, "the loss is 0 here, yet the advantages and ratios are not: compute it from the "
              "inputs"),
    ]
    return _first_match([got], [expected], [([v] if v is not None else None, c)
                                            for v, c in candidates]) or (
        "the loss is -sum over valid tokens of min(rho * A_b, clip(rho, 1 - eps, 1 + eps) * "
        "A_b) / mask.sum(), with rho = exp(logp_new - logp_old) and A_b the advantage of the "
        "token's sequence")


def _call_loss(student, logp_new, logp_old, advantages, mask, clip_eps):
    """The student's loss (0-d tensor, checked) and the leaf logp_new it was given."""
    new = torch.tensor(logp_new, requires_grad=True)
    got = student.grpo_loss(new, torch.tensor(logp_old), torch.tensor(advantages),
                            torch.tensor(mask), clip_eps)
    assert isinstance(got, torch.Tensor), (
        f"grpo_loss returned {_type_name(got)}: return a 0-d torch tensor (a scalar "
        "loss that .backward() can be called on)")
    assert got.dim() == 0, (
        f"grpo_loss should return a scalar (0-d) tensor, got shape {tuple(got.shape)}: "
        "sum the per-token terms over the valid tokens and divide by mask.sum()")
    return got, new


def _assert_loss(student, args, context):
    got, _ = _call_loss(student, *args)
    expected, _ = _grpo_loss(*args)
    value = float(got.detach())
    assert _close([value], [expected]), (
        f"{context}: expected a loss of {expected:.5f}, got {value:.5f}: "
        + _loss_hint(value, args))


def _gradient_of(student, args):
    got, new = _call_loss(student, *args)
    assert got.requires_grad, (
        "the loss carries no gradient: compute it from logp_new with torch operations "
        "(no .item(), .detach(), numpy or torch.no_grad), so that loss.backward() "
        "reaches the policy")
    got.backward()
    assert new.grad is not None, (
        "loss.backward() gave logp_new no gradient: the loss must be computed from logp_new")
    return new.grad.tolist()


def _assert_gradient(student, args, context, rule):
    got = _gradient_of(student, args)
    _, expected = _grpo_loss(*args)
    flat_got = [g for row in got for g in row]
    flat_expected = [g for row in expected for g in row]
    assert _close(flat_got, flat_expected), (
        f"{context}: d loss / d logp_new should be "
        f"{[_rounded(row) for row in expected]}, got {[_rounded(row) for row in got]}: {rule}")


# The docstring's example: ratios [[1, 1.5], [0.5, 2]], the last token padding
DOC_EXAMPLE = ([[0.0, math.log(1.5)], [math.log(0.5), math.log(2.0)]], [[0.0, 0.0], [0.0, 0.0]],
               [2.0, -1.0], [[1.0, 1.0], [1.0, 0.0]], 0.2)


@exercise("grpo_loss", points=3)
def test_grpo_loss_matches_the_docstring_example(student):
    # sequence 0 (A = 2): min(2, 2) = 2 and min(3, 2.4) = 2.4; sequence 1 (A = -1):
    # min(-0.5, -0.8) = -0.8, then padding. Loss -(2 + 2.4 - 0.8) / 3 valid tokens = -1.2
    _assert_loss(student, DOC_EXAMPLE, "the docstring's example")


@exercise("grpo_loss", points=3)
def test_at_ratio_one_the_loss_is_minus_the_token_mean_of_the_advantages(student):
    # ratio 1 on every real token: -(2 * 3 + (-1) * 1 + 0.5 * 2) / 6 valid tokens = -1.0.
    # Advantages put on columns instead of rows would give -(1.5 + 2 + 1) / 6 = -0.75.
    # The padding holds other ratios (e^-2, e^2), which must not count.
    args = ([[-0.7, -1.2, -0.1], [-2.0, -5.0, -5.0], [-0.3, -0.9, -4.0]],
            [[-0.7, -1.2, -0.1], [-2.0, -3.0, -3.0], [-0.3, -0.9, -6.0]],
            [2.0, -1.0, 0.5], [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]], 0.2)
    _assert_loss(student, args, "logp_new == logp_old on every real token (ratio 1), "
                 "advantages [2, -1, 0.5], sequences of 3, 1 and 2 tokens")


@exercise("grpo_loss", points=3)
def test_min_keeps_the_pessimistic_term_on_each_side_of_the_clip(student):
    # four one-token sequences, eps = 0.2: (A, rho) = (2, 1.5) -> min(3, 2.4) = 2.4;
    # (1, 0.5) -> min(0.5, 0.8) = 0.5; (-1, 1.5) -> min(-1.5, -1.2) = -1.5;
    # (-0.5, 0.5) -> min(-0.25, -0.4) = -0.4. Loss -(2.4 + 0.5 - 1.5 - 0.4) / 4 = -0.25
    # (max: -0.5875; no clip: -0.4375; the clipped term alone: -0.4)
    args = ([[math.log(1.5)], [math.log(0.5)], [math.log(1.5)], [math.log(0.5)]], [[0.0]] * 4,
            [2.0, 1.0, -1.0, -0.5], [[1.0]] * 4, 0.2)
    _assert_loss(student, args, "ratios [1.5, 0.5, 1.5, 0.5] with advantages [2, 1, -1, -0.5]")


@exercise("grpo_loss", points=3)
def test_the_gradient_is_zero_where_the_clip_binds(student):
    # the same four tokens: the clip binds for (A > 0, rho > 1 + eps) and (A < 0,
    # rho < 1 - eps), where the gradient is 0; elsewhere d loss / d logp = -A rho / N:
    # (1, 0.5) -> -0.5 / 4 = -0.125 and (-1, 1.5) -> 1.5 / 4 = 0.375
    args = ([[math.log(1.5)], [math.log(0.5)], [math.log(1.5)], [math.log(0.5)]], [[0.0]] * 4,
            [2.0, 1.0, -1.0, -0.5], [[1.0]] * 4, 0.2)
    _assert_gradient(
        student, args, "ratios [1.5, 0.5, 1.5, 0.5] with advantages [2, 1, -1, -0.5]",
        "where rho is above 1 + eps with A > 0, or below 1 - eps with A < 0, the min picks "
        "the clipped term, a constant, so no gradient flows; elsewhere the gradient is "
        "-A * rho / (number of valid tokens)")


@exercise("grpo_loss", points=3)
def test_the_mean_is_over_valid_tokens_not_per_sequence(student):
    # A = [2, -1]; sequence 0 has 1 valid token (ratio 1), sequence 1 has 3 (ratio 1):
    # token mean (2 - 3) / 4 = -0.25 -> loss 0.25; per-sequence means (2 + (-1)) / 2 = 0.5
    # -> loss -0.5. Padding of sequence 0 holds ratio e^0.3 (not 1).
    args = ([[-1.0, 0.3, 0.3], [-0.5, -0.2, -2.0]], [[-1.0, 0.0, 0.0], [-0.5, -0.2, -2.0]],
            [2.0, -1.0], [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]], 0.2)
    _assert_loss(student, args, "a 1-token sequence with A = 2 and a 3-token one with A = -1")


@exercise("grpo_loss", points=3)
def test_padding_values_change_neither_the_loss_nor_the_gradient(student):
    # the docstring's example with garbage on the padded token: ratios e^80 (5.5e34, still
    # finite in float32) and e^-85; the loss stays -(2 + 2.4 - 0.8) / 3 and padding gets
    # no gradient
    for garbage_new, garbage_old in [(40.0, -40.0), (-60.0, 25.0)]:
        logp_new = [row[:] for row in DOC_EXAMPLE[0]]
        logp_old = [row[:] for row in DOC_EXAMPLE[1]]
        logp_new[1][1], logp_old[1][1] = garbage_new, garbage_old
        args = (logp_new, logp_old) + DOC_EXAMPLE[2:]
        context = (f"the docstring's example with logp_new = {garbage_new:g}, logp_old = "
                   f"{garbage_old:g} on its padded token")
        _assert_loss(student, args, context)
        _assert_gradient(student, args, context,
                         "a padded token (mask 0) gets gradient 0, whatever is stored there")


@exercise("grpo_loss", points=3)
def test_the_clip_is_on_the_ratio_not_the_log_ratio(student):
    # eps = 0.5: (A, rho) = (1, 2) -> min(2, 1.5) = 1.5; (-1, 0.25) -> min(-0.25, -0.5)
    # = -0.5. Loss -(1.5 - 0.5) / 2 = -0.5 (clipping log rho to [-0.5, 0.5] gives
    # e^0.5 = 1.65 and e^-0.5 = 0.61: -0.521)
    args = ([[math.log(2.0)], [math.log(0.25)]], [[0.0], [0.0]], [1.0, -1.0],
            [[1.0], [1.0]], 0.5)
    _assert_loss(student, args, "ratios [2, 0.25], advantages [1, -1], clip_eps = 0.5")


@exercise("grpo_loss", points=3)
def test_grpo_loss_is_a_scalar_with_the_policy_gradient_at_ratio_one(student):
    # at ratio 1, d loss / d logp_new = -A_b / N on each valid token (N = 3): the
    # policy-gradient step, and 0 on padding
    args = ([[-0.4, -1.1, -0.8], [-0.9, -2.0, -3.0]], [[-0.4, -1.1, -0.8], [-0.9, -2.0, -3.0]],
            [1.5, -3.0], [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], 0.2)
    _assert_gradient(student, args,
                     "logp_new == logp_old, advantages [1.5, -3], 3 valid tokens",
                     "at ratio 1 no clip binds: each valid token of sequence b gets "
                     "-A_b / (number of valid tokens), each padded one 0")


@exercise("grpo_loss", points=3)
def test_grpo_loss_leaves_its_inputs_unchanged(student):
    logp_new = torch.tensor([[-0.2, -1.5], [-0.7, -0.3]], requires_grad=True)
    logp_old = torch.tensor([[-0.5, -1.0], [-0.6, -9.0]])
    advantages = torch.tensor([0.5, -2.0])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    inputs = {"logp_new": logp_new, "logp_old": logp_old, "advantages": advantages,
              "mask": mask}
    copies = [x.detach().clone() for x in inputs.values()]
    got = student.grpo_loss(logp_new, logp_old, advantages, mask, 0.2)
    changed = _unchanged({k: v.detach() for k, v in inputs.items()}, copies)
    assert not changed, (
        f"{', '.join(changed)} was modified in place: build new tensors "
        "(logp_new - logp_old, advantages[:, None]), never sub_, neg_, unsqueeze_ or -= "
        "on an input")
    args = tuple(x.tolist() for x in copies) + (0.2,)
    expected, _ = _grpo_loss(*args)
    assert isinstance(got, torch.Tensor) and got.dim() == 0, (
        f"grpo_loss should return a 0-d tensor, got {_type_name(got)}")
    value = float(got.detach())
    assert _close([value], [expected]), (
        f"and the loss itself: expected {expected:.5f}, got {value:.5f}: "
        + _loss_hint(value, args))
