"""Typical wrong answers to the exercises of chapter 06; every one must lose points."""

import numpy as np
import torch

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# dpo_implicit_reward
# --------------------------------------------------------------------------- #
@mistake("dpo_implicit_reward", "constant answer: zeros")
def dpo_implicit_reward_zeros(logp_policy, logp_ref, beta):
    return torch.zeros_like(logp_policy)


@mistake("dpo_implicit_reward", "sign error: beta * (logp_ref - logp_policy)")
def dpo_implicit_reward_swapped(logp_policy, logp_ref, beta):
    return beta * (logp_ref - logp_policy)


@mistake("dpo_implicit_reward", "forgets beta: the raw log-ratio")
def dpo_implicit_reward_no_beta(logp_policy, logp_ref, beta):
    return logp_policy - logp_ref


@mistake("dpo_implicit_reward", "divides the log-ratio by beta")
def dpo_implicit_reward_divided(logp_policy, logp_ref, beta):
    return (logp_policy - logp_ref) / beta


@mistake("dpo_implicit_reward", "the probability ratio instead of its log")
def dpo_implicit_reward_ratio(logp_policy, logp_ref, beta):
    return beta * torch.exp(logp_policy - logp_ref)


@mistake("dpo_implicit_reward", "ignores the reference model")
def dpo_implicit_reward_no_reference(logp_policy, logp_ref, beta):
    return beta * logp_policy


@mistake("dpo_implicit_reward", "averages over the batch: one number, not one per text")
def dpo_implicit_reward_mean(logp_policy, logp_ref, beta):
    return (beta * (logp_policy - logp_ref)).mean()


@mistake("dpo_implicit_reward", "detaches the result: no gradient for a loss built on it")
def dpo_implicit_reward_detached(logp_policy, logp_ref, beta):
    return (beta * (logp_policy - logp_ref)).detach()


@mistake("dpo_implicit_reward", "pairwise margins of consecutive texts, not one reward per text")
def dpo_implicit_reward_pair_margins(logp_policy, logp_ref, beta):
    reward = beta * (logp_policy - logp_ref)
    return reward[0::2] - reward[1::2]


@mistake("dpo_implicit_reward",
         "a 'stable' split into positive and negative parts with clamp: right values, but "
         "the gradient doubles where policy == reference (where every DPO run starts)")
def dpo_implicit_reward_clamped_parts(logp_policy, logp_ref, beta):
    log_ratio = logp_policy - logp_ref
    return beta * (log_ratio.clamp(min=0) + log_ratio.clamp(max=0))


@mistake("dpo_implicit_reward",
         "beta * |log-ratio| * sign: right values, but no gradient where policy == reference")
def dpo_implicit_reward_abs_sign(logp_policy, logp_ref, beta):
    log_ratio = logp_policy - logp_ref
    return beta * log_ratio.abs() * torch.sign(log_ratio)


@mistake("dpo_implicit_reward", "the policy detached inside: a gradient of 0, not beta")
def dpo_implicit_reward_zero_gradient(logp_policy, logp_ref, beta):
    return beta * (logp_policy.detach() - logp_ref) + 0 * logp_policy


# --------------------------------------------------------------------------- #
# kl_estimates
# --------------------------------------------------------------------------- #
@mistake("kl_estimates", "constant answer: three zeros")
def kl_estimates_zeros(logp_policy, logp_ref):
    return 0.0, 0.0, 0.0


@mistake("kl_estimates", "ratio the wrong way round: log r = logp_policy - logp_ref")
def kl_estimates_inverted_ratio(logp_policy, logp_ref):
    log_ratio = logp_policy - logp_ref
    return ((-log_ratio).mean().item(), (log_ratio ** 2 / 2).mean().item(),
            (torch.expm1(log_ratio) - log_ratio).mean().item())


@mistake("kl_estimates", "k1 with the wrong sign: +log r")
def kl_estimates_k1_sign(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return (log_ratio.mean().item(), (log_ratio ** 2 / 2).mean().item(),
            (torch.expm1(log_ratio) - log_ratio).mean().item())


@mistake("kl_estimates", "k2 without the 1/2")
def kl_estimates_k2_no_half(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return ((-log_ratio).mean().item(), (log_ratio ** 2).mean().item(),
            (torch.expm1(log_ratio) - log_ratio).mean().item())


@mistake("kl_estimates", "k2 as (r - 1)^2 / 2 instead of (log r)^2 / 2")
def kl_estimates_k2_chi_square(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return ((-log_ratio).mean().item(), (torch.expm1(log_ratio) ** 2 / 2).mean().item(),
            (torch.expm1(log_ratio) - log_ratio).mean().item())


@mistake("kl_estimates", "k3 with the wrong sign on log r: (r - 1) + log r")
def kl_estimates_k3_sign(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return ((-log_ratio).mean().item(), (log_ratio ** 2 / 2).mean().item(),
            (torch.expm1(log_ratio) + log_ratio).mean().item())


@mistake("kl_estimates", "clips k1 at 0 (a KL cannot be negative, but its estimate can)")
def kl_estimates_k1_clipped(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return (max((-log_ratio).mean().item(), 0.0), (log_ratio ** 2 / 2).mean().item(),
            (torch.expm1(log_ratio) - log_ratio).mean().item())


@mistake("kl_estimates", "sums over the samples instead of averaging")
def kl_estimates_sum(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return ((-log_ratio).sum().item(), (log_ratio ** 2 / 2).sum().item(),
            (torch.expm1(log_ratio) - log_ratio).sum().item())


@mistake("kl_estimates", "returns the per-sample values instead of their means")
def kl_estimates_per_sample(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return -log_ratio, log_ratio ** 2 / 2, torch.expm1(log_ratio) - log_ratio


@mistake("kl_estimates", "returns the estimates in the wrong order (k3, k2, k1)")
def kl_estimates_reversed_order(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return ((torch.expm1(log_ratio) - log_ratio).mean().item(),
            (log_ratio ** 2 / 2).mean().item(), (-log_ratio).mean().item())


@mistake("kl_estimates", "returns three 0-d tensors instead of three Python floats")
def kl_estimates_tensors(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return ((-log_ratio).mean(), (log_ratio ** 2 / 2).mean(),
            (torch.expm1(log_ratio) - log_ratio).mean())


@mistake("kl_estimates", "three float64 0-d tensors: right values, not Python floats")
def kl_estimates_float64_tensors(logp_policy, logp_ref):
    log_ratio = (logp_ref - logp_policy).double()
    return ((-log_ratio).mean(), (log_ratio ** 2 / 2).mean(),
            (torch.expm1(log_ratio) - log_ratio).mean())


@mistake("kl_estimates", "ratio as exp(logp_ref) / exp(logp_policy): 0 / 0 for whole texts")
def kl_estimates_ratio_of_exps(logp_policy, logp_ref):
    ratio = torch.exp(logp_ref) / torch.exp(logp_policy)
    log_ratio = torch.log(ratio)
    return ((-log_ratio).mean().item(), (log_ratio ** 2 / 2).mean().item(),
            (ratio - 1 - log_ratio).mean().item())


@mistake("kl_estimates", "k2 as the square of the mean log r")
def kl_estimates_k2_square_of_mean(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return ((-log_ratio).mean().item(), (log_ratio.mean() ** 2 / 2).item(),
            (torch.expm1(log_ratio) - log_ratio).mean().item())


@mistake("kl_estimates", "k3 of the inverse ratio pi / pi_ref")
def kl_estimates_k3_inverse_ratio(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    return ((-log_ratio).mean().item(), (log_ratio ** 2 / 2).mean().item(),
            (torch.expm1(-log_ratio) + log_ratio).mean().item())


@mistake("kl_estimates", "k3 replaced by k1 clipped at 0")
def kl_estimates_k3_is_clipped_k1(logp_policy, logp_ref):
    log_ratio = logp_ref - logp_policy
    k1 = (-log_ratio).mean().item()
    return k1, (log_ratio ** 2 / 2).mean().item(), max(k1, 0.0)


# --------------------------------------------------------------------------- #
# masked_kl_rewards
# --------------------------------------------------------------------------- #
@mistake("masked_kl_rewards", "constant answer: zeros")
def masked_kl_rewards_zeros(scores, logp_policy, logp_ref, mask, beta):
    return torch.zeros_like(logp_policy)


@mistake("masked_kl_rewards", "the lesson's last-column version: score on column T-1")
def masked_kl_rewards_last_column(scores, logp_policy, logp_ref, mask, beta):
    per_token = -beta * (logp_policy - logp_ref) * mask
    per_token[:, -1] += scores
    return per_token


@mistake("masked_kl_rewards", "off by one: score on the first padding position")
def masked_kl_rewards_off_by_one(scores, logp_policy, logp_ref, mask, beta):
    per_token = -beta * (logp_policy - logp_ref) * mask
    after_last = mask.sum(dim=1).long().clamp(max=mask.shape[1] - 1)
    per_token[torch.arange(len(scores)), after_last] += scores
    return per_token


@mistake("masked_kl_rewards", "forgets the mask on the penalty: padding is penalised")
def masked_kl_rewards_no_mask(scores, logp_policy, logp_ref, mask, beta):
    per_token = -beta * (logp_policy - logp_ref)
    last_real = mask.sum(dim=1).long() - 1
    per_token[torch.arange(len(scores)), last_real] += scores
    return per_token


@mistake("masked_kl_rewards", "adds the score at every real token")
def masked_kl_rewards_every_token(scores, logp_policy, logp_ref, mask, beta):
    return (-beta * (logp_policy - logp_ref) + scores[:, None]) * mask


@mistake("masked_kl_rewards", "adds the score at the first token")
def masked_kl_rewards_first_token(scores, logp_policy, logp_ref, mask, beta):
    per_token = -beta * (logp_policy - logp_ref) * mask
    per_token[:, 0] += scores
    return per_token


@mistake("masked_kl_rewards", "KL the wrong way round: -beta * (logp_ref - logp_policy)")
def masked_kl_rewards_reversed(scores, logp_policy, logp_ref, mask, beta):
    per_token = -beta * (logp_ref - logp_policy) * mask
    last_real = mask.sum(dim=1).long() - 1
    per_token[torch.arange(len(scores)), last_real] += scores
    return per_token


@mistake("masked_kl_rewards", "forgets beta: the raw log-ratio")
def masked_kl_rewards_no_beta(scores, logp_policy, logp_ref, mask, beta):
    per_token = -(logp_policy - logp_ref) * mask
    last_real = mask.sum(dim=1).long() - 1
    per_token[torch.arange(len(scores)), last_real] += scores
    return per_token


@mistake("masked_kl_rewards", "writes into logp_policy in place")
def masked_kl_rewards_in_place(scores, logp_policy, logp_ref, mask, beta):
    per_token = logp_policy.sub_(logp_ref).mul_(-beta).mul_(mask)
    last_real = mask.sum(dim=1).long() - 1
    per_token[torch.arange(len(scores)), last_real] += scores
    return per_token


@mistake("masked_kl_rewards", "the score replaces the last token's KL penalty (= instead of +=)")
def masked_kl_rewards_overwrite(scores, logp_policy, logp_ref, mask, beta):
    per_token = -beta * (logp_policy - logp_ref) * mask
    last_real = mask.sum(dim=1).long() - 1
    per_token[torch.arange(len(scores)), last_real] = scores
    return per_token


@mistake("masked_kl_rewards", "scatter_ overwrites the last token's KL penalty with the score")
def masked_kl_rewards_scatter_overwrite(scores, logp_policy, logp_ref, mask, beta):
    per_token = -beta * (logp_policy - logp_ref) * mask
    last_real = mask.sum(dim=1).long() - 1
    return per_token.scatter_(1, last_real[:, None], scores[:, None])


@mistake("masked_kl_rewards", "argmax of the mask: the score on the first real token")
def masked_kl_rewards_argmax(scores, logp_policy, logp_ref, mask, beta):
    per_token = -beta * (logp_policy - logp_ref) * mask
    per_token[torch.arange(len(scores)), mask.argmax(dim=1)] += scores
    return per_token


@mistake("masked_kl_rewards", "indexes a B x B block: rewards[:, last] += scores")
def masked_kl_rewards_block_index(scores, logp_policy, logp_ref, mask, beta):
    per_token = -beta * (logp_policy - logp_ref) * mask
    last_real = mask.sum(dim=1).long() - 1
    per_token[:, last_real] += scores
    return per_token


# --------------------------------------------------------------------------- #
# adaptive_kl_coef
# --------------------------------------------------------------------------- #
@mistake("adaptive_kl_coef", "constant answer: returns beta unchanged")
def adaptive_kl_coef_constant(beta, kl, kl_target, horizon, n_samples):
    return beta


@mistake("adaptive_kl_coef", "no clipping of the relative error")
def adaptive_kl_coef_no_clip(beta, kl, kl_target, horizon, n_samples):
    return beta * (1 + (kl / kl_target - 1) * n_samples / horizon)


@mistake("adaptive_kl_coef", "clips after scaling by n_samples / horizon")
def adaptive_kl_coef_clip_after(beta, kl, kl_target, horizon, n_samples):
    return beta * (1 + float(np.clip((kl / kl_target - 1) * n_samples / horizon, -0.2, 0.2)))


@mistake("adaptive_kl_coef", "wrong direction: a KL above target lowers beta")
def adaptive_kl_coef_wrong_direction(beta, kl, kl_target, horizon, n_samples):
    error = float(np.clip(1 - kl / kl_target, -0.2, 0.2))
    return beta * (1 + error * n_samples / horizon)


@mistake("adaptive_kl_coef", "absolute error kl - kl_target instead of the relative one")
def adaptive_kl_coef_absolute_error(beta, kl, kl_target, horizon, n_samples):
    error = float(np.clip(kl - kl_target, -0.2, 0.2))
    return beta * (1 + error * n_samples / horizon)


@mistake("adaptive_kl_coef", "ignores n_samples / horizon")
def adaptive_kl_coef_no_gain(beta, kl, kl_target, horizon, n_samples):
    return beta * (1 + float(np.clip(kl / kl_target - 1, -0.2, 0.2)))


@mistake("adaptive_kl_coef", "adds the correction to beta instead of multiplying")
def adaptive_kl_coef_additive(beta, kl, kl_target, horizon, n_samples):
    return beta + float(np.clip(kl / kl_target - 1, -0.2, 0.2)) * n_samples / horizon


@mistake("adaptive_kl_coef", "returns a float32 0-d tensor instead of a Python float")
def adaptive_kl_coef_tensor(beta, kl, kl_target, horizon, n_samples):
    error = float(np.clip(kl / kl_target - 1, -0.2, 0.2))
    return torch.tensor(beta * (1 + error * n_samples / horizon))


@mistake("adaptive_kl_coef", "returns a float64 0-d tensor: right value, not a Python float")
def adaptive_kl_coef_float64_tensor(beta, kl, kl_target, horizon, n_samples):
    error = float(np.clip(kl / kl_target - 1, -0.2, 0.2))
    return torch.tensor(beta * (1 + error * n_samples / horizon), dtype=torch.float64)


@mistake("adaptive_kl_coef", "inverted error: kl_target / kl - 1")
def adaptive_kl_coef_inverted_error(beta, kl, kl_target, horizon, n_samples):
    error = float(np.clip(kl_target / kl - 1, -0.2, 0.2)) if kl > 0 else 0.2
    return beta * (1 + error * n_samples / horizon)


@mistake("adaptive_kl_coef", "inverted gain: horizon / n_samples")
def adaptive_kl_coef_inverted_gain(beta, kl, kl_target, horizon, n_samples):
    return beta * (1 + float(np.clip(kl / kl_target - 1, -0.2, 0.2)) * horizon / n_samples)


@mistake("adaptive_kl_coef", "compounds: beta * (1 + e) ** (n_samples / horizon)")
def adaptive_kl_coef_compounded(beta, kl, kl_target, horizon, n_samples):
    return beta * (1 + float(np.clip(kl / kl_target - 1, -0.2, 0.2))) ** (n_samples / horizon)


@mistake("adaptive_kl_coef", "integer division n_samples // horizon")
def adaptive_kl_coef_integer_gain(beta, kl, kl_target, horizon, n_samples):
    return beta * (1 + float(np.clip(kl / kl_target - 1, -0.2, 0.2)) * (n_samples // horizon))


@mistake("adaptive_kl_coef", "clips the error from above only")
def adaptive_kl_coef_clip_above_only(beta, kl, kl_target, horizon, n_samples):
    return beta * (1 + min(kl / kl_target - 1, 0.2) * n_samples / horizon)


@mistake("adaptive_kl_coef", "rounds the result to 4 decimals")
def adaptive_kl_coef_rounded(beta, kl, kl_target, horizon, n_samples):
    error = float(np.clip(kl / kl_target - 1, -0.2, 0.2))
    return round(beta * (1 + error * n_samples / horizon), 4)
