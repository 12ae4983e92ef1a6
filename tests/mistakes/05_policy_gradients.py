"""Typical wrong answers to the exercises of chapter 05; every one must lose points."""

import numpy as np
import torch

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# reward_to_go
# --------------------------------------------------------------------------- #
def _suffix(rewards, weight):
    rewards = np.asarray(rewards, dtype=float)
    T = len(rewards)
    return np.array([sum(weight(t, k) * rewards[k] for k in range(t, T)) for t in range(T)],
                    dtype=float).reshape(T)


@mistake("reward_to_go", "no discounting: plain suffix sums")
def reward_to_go_undiscounted(rewards, gamma):
    return _suffix(rewards, lambda t, k: 1.0)


@mistake("reward_to_go", "the whole episode's discounted return at every step")
def reward_to_go_total_return(rewards, gamma):
    rewards = np.asarray(rewards, dtype=float)
    total = sum(gamma**k * r for k, r in enumerate(rewards))
    return np.full(len(rewards), float(total))


@mistake("reward_to_go", "off-by-one: the first reward after t is discounted by gamma")
def reward_to_go_off_by_one(rewards, gamma):
    return _suffix(rewards, lambda t, k: gamma ** (k - t + 1))


@mistake("reward_to_go", "discounts from the start of the episode (gamma**k, not gamma**(k-t))")
def reward_to_go_discounted_from_start(rewards, gamma):
    return _suffix(rewards, lambda t, k: gamma**k)


@mistake("reward_to_go", "reversed: accumulates from the start (G_t sums the past rewards)")
def reward_to_go_accumulates_the_past(rewards, gamma):
    rewards = np.asarray(rewards, dtype=float)
    out, running = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards)):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


# --------------------------------------------------------------------------- #
# policy_gradient_loss
# --------------------------------------------------------------------------- #
def _weights(log_probs, weights):
    return torch.as_tensor(weights, dtype=log_probs.dtype)


@mistake("policy_gradient_loss", "missing minus sign: gradient descent lowers J")
def policy_gradient_loss_no_minus(log_probs, weights):
    return (log_probs * _weights(log_probs, weights).detach()).mean()


@mistake("policy_gradient_loss", "lets the gradient flow through the weights (no detach)")
def policy_gradient_loss_through_weights(log_probs, weights):
    return -(log_probs * _weights(log_probs, weights)).mean()


@mistake("policy_gradient_loss", "sum over the batch instead of the required mean")
def policy_gradient_loss_sum(log_probs, weights):
    return -(log_probs * _weights(log_probs, weights).detach()).sum()


@mistake("policy_gradient_loss", "weights the probabilities instead of the log-probabilities")
def policy_gradient_loss_probabilities(log_probs, weights):
    return -(log_probs.exp() * _weights(log_probs, weights).detach()).mean()


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


# --------------------------------------------------------------------------- #
# ppo_clip_loss
# --------------------------------------------------------------------------- #
@mistake("ppo_clip_loss", "clips without the min: -mean(clip(rho) * A)")
def ppo_clip_loss_no_min(logp_new, logp_old, advantages, clip_eps):
    ratio = torch.exp(logp_new - logp_old)
    return -(torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages).mean()


@mistake("ppo_clip_loss", "ratio as logp_new / logp_old instead of exp(logp_new - logp_old)")
def ppo_clip_loss_ratio_of_logs(logp_new, logp_old, advantages, clip_eps):
    ratio = logp_new / logp_old
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -torch.min(ratio * advantages, clipped * advantages).mean()


@mistake("ppo_clip_loss", "missing minus sign")
def ppo_clip_loss_no_minus(logp_new, logp_old, advantages, clip_eps):
    ratio = torch.exp(logp_new - logp_old)
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return torch.min(ratio * advantages, clipped * advantages).mean()


@mistake("ppo_clip_loss", "max instead of min (optimistic instead of pessimistic)")
def ppo_clip_loss_max(logp_new, logp_old, advantages, clip_eps):
    ratio = torch.exp(logp_new - logp_old)
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -torch.max(ratio * advantages, clipped * advantages).mean()


@mistake("ppo_clip_loss", "no clipping at all: the plain importance-weighted loss")
def ppo_clip_loss_unclipped(logp_new, logp_old, advantages, clip_eps):
    return -(torch.exp(logp_new - logp_old) * advantages).mean()
