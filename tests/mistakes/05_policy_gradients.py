"""Typical wrong answers to the exercises of chapter 05; every one must lose points."""

import math

import numpy as np
import torch

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# gae_advantages
# --------------------------------------------------------------------------- #
def _gae(rewards, values, next_value, terminated, gamma, lam, mask_delta, mask_trace,
         trace_factor=None, bootstrap_last=True):
    rewards = np.asarray(rewards, dtype=float)
    values = np.asarray(values, dtype=float)
    next_values = np.append(values[1:], next_value if bootstrap_last else 0.0)
    out, running = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * next_values[t] * mask_delta[t] - values[t]
        factor = gamma * lam if trace_factor is None else trace_factor
        running = delta + factor * mask_trace[t] * running
        out[t] = running
    return out


@mistake("gae_advantages", "no termination mask: bootstraps and traces through terminal steps")
def gae_no_mask(rewards, values, next_value, terminated, gamma, lam):
    ones = np.ones(len(rewards))
    return _gae(rewards, values, next_value, terminated, gamma, lam, ones, ones)


@mistake("gae_advantages", "masks the wrong index: uses terminated[t + 1] for step t")
def gae_mask_next_index(rewards, values, next_value, terminated, gamma, lam):
    shifted = np.append(np.asarray(terminated, dtype=float)[1:], 0.0)
    return _gae(rewards, values, next_value, terminated, gamma, lam, 1 - shifted, 1 - shifted)


@mistake("gae_advantages", "masks the wrong index: uses terminated[t - 1] for step t")
def gae_mask_previous_index(rewards, values, next_value, terminated, gamma, lam):
    shifted = np.insert(np.asarray(terminated, dtype=float)[:-1], 0, 0.0)
    return _gae(rewards, values, next_value, terminated, gamma, lam, 1 - shifted, 1 - shifted)


@mistake("gae_advantages", "masks the delta but lets the trace run past a termination")
def gae_trace_not_masked(rewards, values, next_value, terminated, gamma, lam):
    keep = 1 - np.asarray(terminated, dtype=float)
    return _gae(rewards, values, next_value, terminated, gamma, lam, keep,
                np.ones(len(rewards)))


@mistake("gae_advantages", "gamma and lambda swapped")
def gae_swapped(rewards, values, next_value, terminated, gamma, lam):
    keep = 1 - np.asarray(terminated, dtype=float)
    return _gae(rewards, values, next_value, terminated, lam, gamma, keep, keep)


@mistake("gae_advantages", "trace decays by lambda only, without gamma")
def gae_trace_without_gamma(rewards, values, next_value, terminated, gamma, lam):
    keep = 1 - np.asarray(terminated, dtype=float)
    return _gae(rewards, values, next_value, terminated, gamma, lam, keep, keep,
                trace_factor=lam)


@mistake("gae_advantages", "treats the end of the segment as a termination (ignores next_value)")
def gae_ignores_next_value(rewards, values, next_value, terminated, gamma, lam):
    keep = 1 - np.asarray(terminated, dtype=float)
    return _gae(rewards, values, next_value, terminated, gamma, lam, keep, keep,
                bootstrap_last=False)


@mistake("gae_advantages", "constant answer: all advantages zero")
def gae_zeros(rewards, values, next_value, terminated, gamma, lam):
    return np.zeros(len(rewards))


@mistake("gae_advantages", "returns the TD errors only, whatever lambda is")
def gae_td_errors_only(rewards, values, next_value, terminated, gamma, lam):
    keep = 1 - np.asarray(terminated, dtype=float)
    return _gae(rewards, values, next_value, terminated, gamma, 0.0, keep, keep)


@mistake("gae_advantages", "masks delta_t with terminated[t] but the trace with terminated[t + 1]")
def gae_trace_masked_with_next_step(rewards, values, next_value, terminated, gamma, lam):
    keep = 1 - np.asarray(terminated, dtype=float)
    return _gae(rewards, values, next_value, terminated, gamma, lam, keep,
                np.append(keep[1:], 1.0))


@mistake("gae_advantages", "masks the trace but bootstraps delta_t past the termination")
def gae_delta_not_masked(rewards, values, next_value, terminated, gamma, lam):
    keep = 1 - np.asarray(terminated, dtype=float)
    return _gae(rewards, values, next_value, terminated, gamma, lam, np.ones(len(keep)), keep)


@mistake("gae_advantages", "values one step late: delta_t = r_t + gamma V(s_t) - V(s_(t-1))")
def gae_values_one_step_late(rewards, values, next_value, terminated, gamma, lam):
    rewards, values = np.asarray(rewards, dtype=float), np.asarray(values, dtype=float)
    keep = 1 - np.asarray(terminated, dtype=float)
    out, running = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * values[t] * keep[t] - values[max(t - 1, 0)]
        running = delta + gamma * lam * keep[t] * running
        out[t] = running
    return out


@mistake("gae_advantages", "loops forwards: A_(t+1) is still 0 when A_t is computed")
def gae_forward_loop(rewards, values, next_value, terminated, gamma, lam):
    rewards, values = np.asarray(rewards, dtype=float), np.asarray(values, dtype=float)
    keep = 1 - np.asarray(terminated, dtype=float)
    next_values = np.append(values[1:], next_value)
    out = np.zeros(len(rewards) + 1)
    for t in range(len(rewards)):
        delta = rewards[t] + gamma * next_values[t] * keep[t] - values[t]
        out[t] = delta + gamma * lam * keep[t] * out[t + 1]
    return out[:-1]


def _gae_loop_into(out, rewards, values, next_value, terminated, gamma, lam):
    running, v_next = 0.0, next_value
    for t in reversed(range(len(rewards))):
        keep = 0.0 if terminated[t] else 1.0
        running = rewards[t] + gamma * v_next * keep - values[t] + gamma * lam * keep * running
        out[t] = running
        v_next = values[t]
    return out


@mistake("gae_advantages", "np.zeros_like(values): an integer array for integer inputs")
def gae_zeros_like_values(rewards, values, next_value, terminated, gamma, lam):
    values = np.asarray(values)
    return _gae_loop_into(np.zeros_like(values), rewards, values, next_value, terminated,
                          gamma, lam)


@mistake("gae_advantages", "np.zeros_like(rewards): an integer array for integer inputs")
def gae_zeros_like_rewards(rewards, values, next_value, terminated, gamma, lam):
    rewards = np.asarray(rewards)
    return _gae_loop_into(np.zeros_like(rewards), rewards, values, next_value, terminated,
                          gamma, lam)


@mistake("gae_advantages", "folds gamma * next_value into rewards[-1] in place (np.asarray "
         "does not copy: the caller's rollout buffer changes)")
def gae_mutates_rewards(rewards, values, next_value, terminated, gamma, lam):
    rewards = np.asarray(rewards)  # the caller's array itself when it is already float
    values = np.asarray(values, dtype=float)
    keep = 1 - np.asarray(terminated, dtype=float)
    if len(rewards) and keep[-1]:
        rewards[-1] += gamma * next_value
    return _gae(rewards, values, next_value, terminated, gamma, lam, keep, keep,
                bootstrap_last=False)


@mistake("gae_advantages", "zeroes V(s_(t+1)) after terminations inside the caller's values")
def gae_mutates_values(rewards, values, next_value, terminated, gamma, lam):
    values = np.asarray(values)  # a view of the caller's float32 buffer
    done = np.asarray(terminated, dtype=bool)
    values[1:][done[:-1]] = 0.0  # "nothing after a termination"... in the caller's buffer
    keep = 1 - done.astype(float)
    return _gae(rewards, values, next_value, terminated, gamma, lam, keep, keep)


# --------------------------------------------------------------------------- #
# ppo_diagnostics
# --------------------------------------------------------------------------- #
def _ratio(logp_new, logp_old):
    return torch.exp(logp_new.detach() - logp_old)


def _share(flags):
    return float(flags.float().mean())


@mistake("ppo_diagnostics", "constant answer: (0.0, 0.0)")
def ppo_diagnostics_zeros(logp_new, logp_old, clip_eps):
    return 0.0, 0.0


@mistake("ppo_diagnostics", "approx KL as the plain mean of log(pi_old / pi_new) (can be negative)")
def ppo_diagnostics_k1(logp_new, logp_old, clip_eps):
    ratio = _ratio(logp_new, logp_old)
    return float((logp_old - logp_new.detach()).mean()), _share((ratio - 1).abs() > clip_eps)


@mistake("ppo_diagnostics", "approx KL with the sign of the log ratio flipped: mean(log rho)")
def ppo_diagnostics_k1_flipped(logp_new, logp_old, clip_eps):
    ratio = _ratio(logp_new, logp_old)
    return float((logp_new.detach() - logp_old).mean()), _share((ratio - 1).abs() > clip_eps)


@mistake("ppo_diagnostics", "approx KL as mean((log rho)^2) / 2, the other estimator")
def ppo_diagnostics_k2(logp_new, logp_old, clip_eps):
    log_ratio = logp_new.detach() - logp_old
    ratio = log_ratio.exp()
    return float((log_ratio**2).mean() / 2), _share((ratio - 1).abs() > clip_eps)


@mistake("ppo_diagnostics", "ratio upside down: pi_old / pi_new in the KL estimator")
def ppo_diagnostics_inverse_ratio(logp_new, logp_old, clip_eps):
    ratio = _ratio(logp_new, logp_old)
    inverse = 1 / ratio
    return (float(((inverse - 1) - inverse.log()).mean()),
            _share((ratio - 1).abs() > clip_eps))


@mistake("ppo_diagnostics", "approx KL summed over the samples instead of averaged")
def ppo_diagnostics_kl_sum(logp_new, logp_old, clip_eps):
    ratio = _ratio(logp_new, logp_old)
    return float(((ratio - 1) - ratio.log()).sum()), _share((ratio - 1).abs() > clip_eps)


@mistake("ppo_diagnostics", "clip fraction counts only ratios above 1 + eps")
def ppo_diagnostics_one_sided(logp_new, logp_old, clip_eps):
    ratio = _ratio(logp_new, logp_old)
    return float(((ratio - 1) - ratio.log()).mean()), _share(ratio > 1 + clip_eps)


@mistake("ppo_diagnostics", "clip fraction tests |log rho| > eps instead of |rho - 1| > eps")
def ppo_diagnostics_log_ratio_range(logp_new, logp_old, clip_eps):
    ratio = _ratio(logp_new, logp_old)
    return float(((ratio - 1) - ratio.log()).mean()), _share(ratio.log().abs() > clip_eps)


@mistake("ppo_diagnostics", "clip fraction as a count of samples, not a share")
def ppo_diagnostics_count(logp_new, logp_old, clip_eps):
    ratio = _ratio(logp_new, logp_old)
    return (float(((ratio - 1) - ratio.log()).mean()),
            float(((ratio - 1).abs() > clip_eps).sum()))


@mistake("ppo_diagnostics", "returns 0-d tensors instead of Python floats")
def ppo_diagnostics_tensors(logp_new, logp_old, clip_eps):
    ratio = _ratio(logp_new, logp_old)
    return ((ratio - 1) - ratio.log()).mean(), ((ratio - 1).abs() > clip_eps).float().mean()


@mistake("ppo_diagnostics", "the two numbers in the wrong order")
def ppo_diagnostics_swapped(logp_new, logp_old, clip_eps):
    ratio = _ratio(logp_new, logp_old)
    return _share((ratio - 1).abs() > clip_eps), float(((ratio - 1) - ratio.log()).mean())


@mistake("ppo_diagnostics", "calls .numpy() on logp_new without detaching it")
def ppo_diagnostics_numpy_without_detach(logp_new, logp_old, clip_eps):
    log_ratio = logp_new.numpy() - logp_old.numpy()
    ratio = np.exp(log_ratio)
    return float(np.mean((ratio - 1) - log_ratio)), float(np.mean(np.abs(ratio - 1) > clip_eps))


@mistake("ppo_diagnostics", "ratio from probabilities, exp(logp_new) / exp(logp_old): "
         "0 / 0 = nan once a log-prob underflows")
def ppo_diagnostics_probability_ratio(logp_new, logp_old, clip_eps):
    with torch.no_grad():
        ratio = logp_new.exp() / logp_old.exp()
        return (float(((ratio - 1) - ratio.log()).mean()),
                _share((ratio - 1).abs() > clip_eps))


@mistake("ppo_diagnostics", "ratio upside down everywhere: exp(logp_old - logp_new)")
def ppo_diagnostics_ratio_upside_down(logp_new, logp_old, clip_eps):
    log_ratio = logp_old - logp_new.detach()
    ratio = log_ratio.exp()
    return float(((ratio - 1) - log_ratio).mean()), _share((ratio - 1).abs() > clip_eps)


# --------------------------------------------------------------------------- #
# entropy_bonus
# --------------------------------------------------------------------------- #
@mistake("entropy_bonus", "constant answer: zero")
def entropy_bonus_zero(logits):
    return (logits * 0.0).sum()


@mistake("entropy_bonus", "constant answer: the maximal entropy log n")
def entropy_bonus_log_n(logits):
    return (logits * 0.0).sum() + math.log(logits.shape[-1])


@mistake("entropy_bonus", "log(softmax(...)): NaN once one logit dwarfs the others")
def entropy_bonus_log_of_softmax(logits):
    probs = torch.softmax(logits, dim=-1)
    return -(probs * torch.log(probs)).sum(dim=-1).mean()


@mistake("entropy_bonus", "sums the entropies over the batch instead of averaging them")
def entropy_bonus_sum_over_batch(logits):
    log_probs = torch.log_softmax(logits, dim=-1)
    return -(log_probs.exp() * log_probs).sum()


@mistake("entropy_bonus", "missing minus sign: returns -H")
def entropy_bonus_no_minus(logits):
    log_probs = torch.log_softmax(logits, dim=-1)
    return (log_probs.exp() * log_probs).sum(dim=-1).mean()


@mistake("entropy_bonus", "softmax over the batch axis (dim=0) instead of the actions")
def entropy_bonus_wrong_axis(logits):
    log_probs = torch.log_softmax(logits, dim=0)
    return -(log_probs.exp() * log_probs).sum(dim=0).mean()


@mistake("entropy_bonus", "entropy in bits (log base 2) instead of nats")
def entropy_bonus_bits(logits):
    log_probs = torch.log_softmax(logits, dim=-1)
    return -(log_probs.exp() * log_probs).sum(dim=-1).mean() / math.log(2)


@mistake("entropy_bonus", "averages over actions too: mean of -p log p over every entry")
def entropy_bonus_mean_over_actions(logits):
    log_probs = torch.log_softmax(logits, dim=-1)
    return -(log_probs.exp() * log_probs).mean()


@mistake("entropy_bonus", "detached: returns torch.tensor(H.item()), no gradient")
def entropy_bonus_detached(logits):
    log_probs = torch.log_softmax(logits, dim=-1)
    return torch.tensor(-(log_probs.exp() * log_probs).sum(dim=-1).mean().item())


@mistake("entropy_bonus", "-sum(p * logits): uses the raw logits as log-probabilities")
def entropy_bonus_raw_logits(logits):
    probs = torch.softmax(logits, dim=-1)
    return -(probs * logits).sum(dim=-1).mean()


# --------------------------------------------------------------------------- #
# explained_variance
# --------------------------------------------------------------------------- #
def _arrays(values, returns):
    return np.asarray(values, dtype=float), np.asarray(returns, dtype=float)


@mistake("explained_variance", "constant answer: 0.0")
def explained_variance_zero(values, returns):
    return 0.0


@mistake("explained_variance", "constant answer: 1.0")
def explained_variance_one(values, returns):
    return 1.0


@mistake("explained_variance", "forgets the 1 -: returns the unexplained share")
def explained_variance_unexplained(values, returns):
    values, returns = _arrays(values, returns)
    return float(np.var(returns - values) / np.var(returns))


@mistake("explained_variance", "divides by Var[values] instead of Var[returns]")
def explained_variance_wrong_denominator(values, returns):
    values, returns = _arrays(values, returns)
    if np.var(values) == 0:
        return float("nan")
    return float(1 - np.var(returns - values) / np.var(values))


@mistake("explained_variance", "mean squared error instead of the variance of the residual (R^2)")
def explained_variance_r_squared(values, returns):
    values, returns = _arrays(values, returns)
    if np.var(returns) == 0:
        return float("nan")
    return float(1 - np.mean((returns - values) ** 2) / np.var(returns))


@mistake("explained_variance", "squared correlation of values and returns")
def explained_variance_squared_correlation(values, returns):
    values, returns = _arrays(values, returns)
    if np.var(returns) == 0 or np.var(values) == 0:
        return float("nan")
    return float(np.corrcoef(values, returns)[0, 1] ** 2)


@mistake("explained_variance", "Var[values] / Var[returns]: compares spreads, not predictions")
def explained_variance_variance_ratio(values, returns):
    values, returns = _arrays(values, returns)
    if np.var(returns) == 0:
        return float("nan")
    return float(np.var(values) / np.var(returns))


@mistake("explained_variance", "clips negative values to 0")
def explained_variance_clipped(values, returns):
    values, returns = _arrays(values, returns)
    if np.var(returns) == 0:
        return float("nan")
    return float(max(0.0, 1 - np.var(returns - values) / np.var(returns)))


@mistake("explained_variance", "constant returns: 1.0 instead of nan")
def explained_variance_one_when_constant(values, returns):
    values, returns = _arrays(values, returns)
    if np.var(returns) == 0:
        return 1.0
    return float(1 - np.var(returns - values) / np.var(returns))


@mistake("explained_variance", "constant returns: divides by zero (an exception or -inf)")
def explained_variance_divides_by_zero(values, returns):
    values, returns = _arrays(values, returns)
    return float(1 - np.var(returns - values) / np.var(returns))


@mistake("explained_variance", "ratio upside down: 1 - Var[returns] / Var[returns - values]")
def explained_variance_upside_down(values, returns):
    values, returns = _arrays(values, returns)
    if np.var(returns) == 0:
        return float("nan")
    with np.errstate(divide="ignore"):
        return float(1 - np.var(returns) / np.var(returns - values))
