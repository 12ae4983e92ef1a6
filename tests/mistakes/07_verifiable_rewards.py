"""Typical wrong answers to the exercises of chapter 07; every one must lose points."""

import math

import torch

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# group_relative_advantages
# --------------------------------------------------------------------------- #
@mistake("group_relative_advantages", "constant answer: zeros")
def group_relative_advantages_zeros(rewards, group_size, eps=1e-6):
    return torch.zeros_like(rewards)


@mistake("group_relative_advantages",
         "sample std (unbiased, divisor G - 1) instead of the population std")
def group_relative_advantages_sample_std(rewards, group_size, eps=1e-6):
    grouped = rewards.reshape(-1, group_size)
    mean, std = grouped.mean(dim=1, keepdim=True), grouped.std(dim=1, keepdim=True)
    return ((grouped - mean) / (std + eps)).reshape(-1)


@mistake("group_relative_advantages", "normalises by the whole batch instead of each group")
def group_relative_advantages_batch(rewards, group_size, eps=1e-6):
    return (rewards - rewards.mean()) / (rewards.std(correction=0) + eps)


@mistake("group_relative_advantages", "the whole batch with torch's default (sample) std")
def group_relative_advantages_batch_sample_std(rewards, group_size, eps=1e-6):
    return (rewards - rewards.mean()) / (rewards.std() + eps)


@mistake("group_relative_advantages",
         "interleaved groups: reshape(group_size, -1), normalised over dim 0")
def group_relative_advantages_strided(rewards, group_size, eps=1e-6):
    grouped = rewards.reshape(group_size, -1)  # column j = samples j, j + n, ...
    mean = grouped.mean(dim=0, keepdim=True)
    std = grouped.std(dim=0, correction=0, keepdim=True)
    return ((grouped - mean) / (std + eps)).reshape(-1)


@mistake("group_relative_advantages",
         "reshape(group_size, -1), normalised over dim 1: groups of n_prompts samples")
def group_relative_advantages_chunks(rewards, group_size, eps=1e-6):
    grouped = rewards.reshape(group_size, -1)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, correction=0, keepdim=True)
    return ((grouped - mean) / (std + eps)).reshape(-1)


@mistake("group_relative_advantages", "no eps: nan on a group of equal rewards")
def group_relative_advantages_no_eps(rewards, group_size, eps=1e-6):
    grouped = rewards.reshape(-1, group_size)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, correction=0, keepdim=True)
    return ((grouped - mean) / std).reshape(-1)


@mistake("group_relative_advantages", "eps under the square root: sqrt(var + eps)")
def group_relative_advantages_eps_in_var(rewards, group_size, eps=1e-6):
    grouped = rewards.reshape(-1, group_size)
    mean = grouped.mean(dim=1, keepdim=True)
    var = grouped.var(dim=1, correction=0, keepdim=True)
    return ((grouped - mean) / torch.sqrt(var + eps)).reshape(-1)


@mistake("group_relative_advantages", "centred only, no division by the std (Dr. GRPO)")
def group_relative_advantages_centred_only(rewards, group_size, eps=1e-6):
    grouped = rewards.reshape(-1, group_size)
    return (grouped - grouped.mean(dim=1, keepdim=True)).reshape(-1)


@mistake("group_relative_advantages", "divides by the std without centring")
def group_relative_advantages_not_centred(rewards, group_size, eps=1e-6):
    grouped = rewards.reshape(-1, group_size)
    return (grouped / (grouped.std(dim=1, correction=0, keepdim=True) + eps)).reshape(-1)


@mistake("group_relative_advantages", "returns the [n_prompts, group_size] matrix, not [B]")
def group_relative_advantages_matrix(rewards, group_size, eps=1e-6):
    grouped = rewards.reshape(-1, group_size)
    mean = grouped.mean(dim=1, keepdim=True)
    return (grouped - mean) / (grouped.std(dim=1, correction=0, keepdim=True) + eps)


@mistake("group_relative_advantages", "hard-codes eps = 1e-6 instead of using the argument")
def group_relative_advantages_fixed_eps(rewards, group_size, eps=1e-6):
    grouped = rewards.reshape(-1, group_size)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, correction=0, keepdim=True)
    return ((grouped - mean) / (std + 1e-6)).reshape(-1)


@mistake("group_relative_advantages", "rewards.sub_(mean): modifies the rewards in place")
def group_relative_advantages_in_place(rewards, group_size, eps=1e-6):
    grouped = rewards.view(-1, group_size)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, correction=0, keepdim=True)
    return grouped.sub_(mean).div_(std + eps).reshape(-1)


@mistake("group_relative_advantages",
         "builds the result with torch.tensor(list): float32 whatever the rewards' dtype")
def group_relative_advantages_float32_list(rewards, group_size, eps=1e-6):
    values = rewards.tolist()
    result = []
    for start in range(0, len(values), group_size):
        group = values[start:start + group_size]
        mean = sum(group) / len(group)
        std = math.sqrt(sum((r - mean) ** 2 for r in group) / len(group))
        result += [(r - mean) / (std + eps) for r in group]
    return torch.tensor(result)


# --------------------------------------------------------------------------- #
# rloo_advantages
# --------------------------------------------------------------------------- #
@mistake("rloo_advantages", "constant answer: zeros")
def rloo_advantages_zeros(rewards, group_size):
    return torch.zeros_like(rewards)


@mistake("rloo_advantages",
         "the plain group mean as baseline: the sample is in its own baseline")
def rloo_advantages_group_mean(rewards, group_size):
    grouped = rewards.reshape(-1, group_size)
    return (grouped - grouped.mean(dim=1, keepdim=True)).reshape(-1)


@mistake("rloo_advantages", "divides the others' sum by group_size instead of group_size - 1")
def rloo_advantages_divide_by_g(rewards, group_size):
    grouped = rewards.reshape(-1, group_size)
    others = grouped.sum(dim=1, keepdim=True) - grouped
    return (grouped - others / group_size).reshape(-1)


@mistake("rloo_advantages", "interleaved groups: reshape(group_size, -1), over dim 0")
def rloo_advantages_strided(rewards, group_size):
    grouped = rewards.reshape(group_size, -1)
    others = grouped.sum(dim=0, keepdim=True) - grouped
    return (grouped - others / (group_size - 1)).reshape(-1)


@mistake("rloo_advantages", "leave-one-out over the whole batch instead of the group")
def rloo_advantages_batch(rewards, group_size):
    others = rewards.sum() - rewards
    return rewards - others / (len(rewards) - 1)


@mistake("rloo_advantages", "returns the baselines instead of r minus the baseline")
def rloo_advantages_baseline(rewards, group_size):
    grouped = rewards.reshape(-1, group_size)
    others = grouped.sum(dim=1, keepdim=True) - grouped
    return (others / (group_size - 1)).reshape(-1)


@mistake("rloo_advantages", "sign flipped: baseline minus reward")
def rloo_advantages_sign(rewards, group_size):
    grouped = rewards.reshape(-1, group_size)
    others = grouped.sum(dim=1, keepdim=True) - grouped
    return (others / (group_size - 1) - grouped).reshape(-1)


@mistake("rloo_advantages", "GRPO's normalised advantages instead of RLOO's")
def rloo_advantages_grpo(rewards, group_size):
    grouped = rewards.reshape(-1, group_size)
    mean = grouped.mean(dim=1, keepdim=True)
    return ((grouped - mean) / (grouped.std(dim=1, correction=0, keepdim=True) + 1e-6)
            ).reshape(-1)


@mistake("rloo_advantages", "modifies the rewards in place")
def rloo_advantages_in_place(rewards, group_size):
    grouped = rewards.view(-1, group_size)
    others = grouped.sum(dim=1, keepdim=True) - grouped
    return grouped.sub_(others / (group_size - 1)).reshape(-1)


@mistake("rloo_advantages", "builds the result with torch.tensor(list): float32 always")
def rloo_advantages_float32_list(rewards, group_size):
    values = rewards.tolist()
    result = []
    for start in range(0, len(values), group_size):
        group = values[start:start + group_size]
        result += [r - (sum(group) - r) / (group_size - 1) for r in group]
    return torch.tensor(result)


# --------------------------------------------------------------------------- #
# pass_at_k
# --------------------------------------------------------------------------- #
@mistake("pass_at_k", "constant answer: 0.5")
def pass_at_k_constant(n, c, k):
    return 0.5


@mistake("pass_at_k", "c / n for every k")
def pass_at_k_fraction(n, c, k):
    return c / n


@mistake("pass_at_k", "the biased plug-in estimate 1 - (1 - c/n)**k")
def pass_at_k_plug_in(n, c, k):
    return 1.0 - (1.0 - c / n) ** k


@mistake("pass_at_k", "log-gamma binomials without the n - c < k guard: a math domain error")
def pass_at_k_no_guard(n, c, k):
    def log_comb(a, b):
        return math.lgamma(a + 1) - math.lgamma(b + 1) - math.lgamma(a - b + 1)
    return 1.0 - math.exp(log_comb(n - c, k) - log_comb(n, k))


@mistake("pass_at_k", "the guard returns 0.0 instead of 1.0 when n - c < k")
def pass_at_k_guard_inverted(n, c, k):
    if n - c < k:
        return 0.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


@mistake("pass_at_k", "binomials as floats (math.gamma ratios): overflow for large n")
def pass_at_k_float_binomials(n, c, k):
    if n - c < k:
        return 1.0

    def comb(a, b):
        return math.gamma(a + 1) / (math.gamma(b + 1) * math.gamma(a - b + 1))
    try:
        return 1.0 - comb(n - c, k) / comb(n, k)
    except OverflowError:
        return math.nan


@mistake("pass_at_k", "returns the chance that all k samples are wrong")
def pass_at_k_complement(n, c, k):
    return math.comb(n - c, k) / math.comb(n, k)


@mistake("pass_at_k", "C(c, k) in place of C(n - c, k)")
def pass_at_k_swapped(n, c, k):
    return 1.0 - math.comb(c, k) / math.comb(n, k)


@mistake("pass_at_k", "returns the Fraction, not a Python float")
def pass_at_k_fraction_type(n, c, k):
    from fractions import Fraction
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


@mistake("pass_at_k", "returns a 0-d tensor instead of a Python float")
def pass_at_k_tensor(n, c, k):
    return torch.tensor(1.0 - math.comb(n - c, k) / math.comb(n, k), dtype=torch.float64)


@mistake("pass_at_k", "returns the int 1 (not 1.0) when n - c < k")
def pass_at_k_int_one(n, c, k):
    if n - c < k:
        return 1
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@mistake("pass_at_k", "product over the wrong range: i from n - c to n")
def pass_at_k_off_by_one(n, c, k):
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(max(n - c, 1), n + 1))


# --------------------------------------------------------------------------- #
# grpo_loss
# --------------------------------------------------------------------------- #
def _terms(logp_new, logp_old, advantages, clip_eps):
    ratio = torch.exp(logp_new - logp_old)
    a = advantages[:, None]
    return ratio * a, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * a


@mistake("grpo_loss", "constant answer: a zero tensor")
def grpo_loss_zero(logp_new, logp_old, advantages, mask, clip_eps):
    return torch.zeros(())


@mistake("grpo_loss", "positive sign: returns the surrogate, not its negative")
def grpo_loss_positive(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, clipped = _terms(logp_new, logp_old, advantages, clip_eps)
    return (torch.minimum(unclipped, clipped) * mask).sum() / mask.sum()


@mistake("grpo_loss", "max instead of min")
def grpo_loss_max(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, clipped = _terms(logp_new, logp_old, advantages, clip_eps)
    return -(torch.maximum(unclipped, clipped) * mask).sum() / mask.sum()


@mistake("grpo_loss", "no clip: the plain ratio * A")
def grpo_loss_no_clip(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, _ = _terms(logp_new, logp_old, advantages, clip_eps)
    return -(unclipped * mask).sum() / mask.sum()


@mistake("grpo_loss", "only the clipped term, no min")
def grpo_loss_clipped_only(logp_new, logp_old, advantages, mask, clip_eps):
    _, clipped = _terms(logp_new, logp_old, advantages, clip_eps)
    return -(clipped * mask).sum() / mask.sum()


@mistake("grpo_loss", "clips the log-ratio to [-eps, eps], then exponentiates")
def grpo_loss_clip_log_ratio(logp_new, logp_old, advantages, mask, clip_eps):
    log_ratio = logp_new - logp_old
    a = advantages[:, None]
    clipped = torch.exp(torch.clamp(log_ratio, -clip_eps, clip_eps)) * a
    return -(torch.minimum(log_ratio.exp() * a, clipped) * mask).sum() / mask.sum()


@mistake("grpo_loss", "clips the ratio from above only")
def grpo_loss_clip_upper(logp_new, logp_old, advantages, mask, clip_eps):
    ratio = torch.exp(logp_new - logp_old)
    a = advantages[:, None]
    clipped = torch.clamp(ratio, max=1 + clip_eps) * a
    return -(torch.minimum(ratio * a, clipped) * mask).sum() / mask.sum()


@mistake("grpo_loss", "ratio not exponentiated: logp_new - logp_old")
def grpo_loss_log_ratio(logp_new, logp_old, advantages, mask, clip_eps):
    ratio = logp_new - logp_old
    a = advantages[:, None]
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * a
    return -(torch.minimum(ratio * a, clipped) * mask).sum() / mask.sum()


@mistake("grpo_loss", "ratio upside down: exp(logp_old - logp_new)")
def grpo_loss_inverse_ratio(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, clipped = _terms(logp_old, logp_new, advantages, clip_eps)
    return -(torch.minimum(unclipped, clipped) * mask).sum() / mask.sum()


@mistake("grpo_loss", "per-sequence mean, then mean over sequences (GRPO paper)")
def grpo_loss_sequence_mean(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, clipped = _terms(logp_new, logp_old, advantages, clip_eps)
    per_sequence = (torch.minimum(unclipped, clipped) * mask).sum(dim=1) / mask.sum(dim=1)
    return -per_sequence.mean()


@mistake("grpo_loss", "masked sum divided by every position (.mean() over B x T)")
def grpo_loss_mean_over_all(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, clipped = _terms(logp_new, logp_old, advantages, clip_eps)
    return -(torch.minimum(unclipped, clipped) * mask).mean()


@mistake("grpo_loss", "no mask: padding counted as tokens")
def grpo_loss_no_mask(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, clipped = _terms(logp_new, logp_old, advantages, clip_eps)
    return -torch.minimum(unclipped, clipped).mean()


@mistake("grpo_loss", "masked sum, not divided by the number of tokens")
def grpo_loss_sum(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, clipped = _terms(logp_new, logp_old, advantages, clip_eps)
    return -(torch.minimum(unclipped, clipped) * mask).sum()


@mistake("grpo_loss", "advantages broadcast along the tokens: ratio * advantages")
def grpo_loss_columns(logp_new, logp_old, advantages, mask, clip_eps):
    ratio = torch.exp(logp_new - logp_old)
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -(torch.minimum(ratio * advantages, clipped * advantages) * mask).sum() / mask.sum()


@mistake("grpo_loss", "advantages.repeat(T).view(B, T): tiles instead of repeating each")
def grpo_loss_tiled(logp_new, logp_old, advantages, mask, clip_eps):
    n_sequences, n_tokens = logp_new.shape
    a = advantages.repeat(n_tokens).view(n_sequences, n_tokens)
    ratio = torch.exp(logp_new - logp_old)
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -(torch.minimum(ratio * a, clipped * a) * mask).sum() / mask.sum()


@mistake("grpo_loss", "detaches the loss: a number with no gradient")
def grpo_loss_detached(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, clipped = _terms(logp_new, logp_old, advantages, clip_eps)
    return torch.tensor((-(torch.minimum(unclipped, clipped) * mask).sum() / mask.sum()).item())


@mistake("grpo_loss", "hard-codes clip_eps = 0.2")
def grpo_loss_fixed_eps(logp_new, logp_old, advantages, mask, clip_eps):
    unclipped, clipped = _terms(logp_new, logp_old, advantages, 0.2)
    return -(torch.minimum(unclipped, clipped) * mask).sum() / mask.sum()


@mistake("grpo_loss", "masks the log-ratio, not the term: padding counts with ratio 1")
def grpo_loss_mask_log_ratio(logp_new, logp_old, advantages, mask, clip_eps):
    ratio = torch.exp((logp_new - logp_old) * mask)
    a = advantages[:, None]
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * a
    return -torch.minimum(ratio * a, clipped).mean()


@mistake("grpo_loss",
         "forms the log-ratio in logp_old's memory: logp_old.neg_().add_(logp_new)")
def grpo_loss_in_place(logp_new, logp_old, advantages, mask, clip_eps):
    ratio = torch.exp(logp_old.neg_().add_(logp_new))
    a = advantages[:, None]
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * a
    return -(torch.minimum(ratio * a, clipped) * mask).sum() / mask.sum()
