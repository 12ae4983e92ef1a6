"""Typical wrong answers to the exercises of chapter 04; every one must lose points."""

import torch
import torch.nn.functional as F

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# huber_loss
# --------------------------------------------------------------------------- #
@mistake("huber_loss", "a constant: always zero")
def huber_loss_zero(predicted, target, delta=1.0):
    return torch.zeros(())


@mistake("huber_loss", "the squared error everywhere, 0.5 x^2 (no linear piece)")
def huber_loss_squared(predicted, target, delta=1.0):
    return (0.5 * (predicted - target) ** 2).mean()


@mistake("huber_loss", "sums over the batch instead of averaging")
def huber_loss_sum(predicted, target, delta=1.0):
    return F.huber_loss(predicted, target, delta=delta, reduction="sum")


@mistake("huber_loss", "smooth_l1_loss(beta=delta): the Huber loss divided by delta")
def huber_loss_smooth_l1_beta(predicted, target, delta=1.0):
    return F.smooth_l1_loss(predicted, target, beta=delta)


@mistake("huber_loss", "linear piece |x| - 0.5 whatever delta is")
def huber_loss_ignores_delta_in_linear_piece(predicted, target, delta=1.0):
    error = predicted - target
    return torch.where(error.abs() <= delta, 0.5 * error ** 2, error.abs() - 0.5).mean()


@mistake("huber_loss", "linear piece without the offset: delta * |x|")
def huber_loss_no_offset(predicted, target, delta=1.0):
    error = predicted - target
    return torch.where(error.abs() <= delta, 0.5 * error ** 2, delta * error.abs()).mean()


@mistake("huber_loss", "forgets the absolute value in the linear piece")
def huber_loss_no_abs(predicted, target, delta=1.0):
    error = predicted - target
    return torch.where(error.abs() <= delta, 0.5 * error ** 2,
                       delta * (error - 0.5 * delta)).mean()


@mistake("huber_loss", "returns a Python float (.item()): no gradient")
def huber_loss_item(predicted, target, delta=1.0):
    return F.huber_loss(predicted, target, delta=delta).item()


@mistake("huber_loss", "computed under no_grad: the loss carries no gradient")
def huber_loss_no_grad(predicted, target, delta=1.0):
    with torch.no_grad():
        return F.huber_loss(predicted, target, delta=delta)


@mistake("huber_loss", "default threshold 0.5 instead of 1")
def huber_loss_wrong_default(predicted, target, delta=0.5):
    return F.huber_loss(predicted, target, delta=delta)


@mistake("huber_loss", "linear piece delta * |x| - 0.5 * delta (offset not squared)")
def huber_loss_offset_not_squared(predicted, target, delta=1.0):
    error = predicted - target
    return torch.where(error.abs() <= delta, 0.5 * error ** 2,
                       delta * error.abs() - 0.5 * delta).mean()


@mistake("huber_loss", "threshold hard-coded at 1 whatever delta is")
def huber_loss_threshold_1(predicted, target, delta=1.0):
    error = predicted - target
    return torch.where(error.abs() <= 1.0, 0.5 * error ** 2,
                       delta * (error.abs() - 0.5 * delta)).mean()


@mistake("huber_loss", "clips the error, then squares it: flat beyond delta")
def huber_loss_clipped_error(predicted, target, delta=1.0):
    return (0.5 * (predicted - target).clamp(-delta, delta) ** 2).mean()


@mistake("huber_loss", "error predicted + target")
def huber_loss_plus_target(predicted, target, delta=1.0):
    return F.huber_loss(predicted + target, torch.zeros_like(target), delta=delta)


@mistake("huber_loss", "subtracts in place: writes the errors into the caller's predicted")
def huber_loss_in_place(predicted, target, delta=1.0):
    error = predicted
    error -= target  # the same tensor as predicted
    return F.huber_loss(error, torch.zeros_like(error), delta=delta)


# --------------------------------------------------------------------------- #
# double_dqn_target
# --------------------------------------------------------------------------- #
@mistake("double_dqn_target", "a constant: the rewards alone, never bootstrapping")
def double_dqn_target_rewards_only(rewards, next_q_online, next_q_target, terminated, gamma):
    return rewards.detach().clone()


@mistake("double_dqn_target", "max of the target net: plain DQN")
def double_dqn_target_is_dqn(rewards, next_q_online, next_q_target, terminated, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - terminated) * next_q_target.max(dim=1).values


@mistake("double_dqn_target", "max of the online net: both choosing and valuing online")
def double_dqn_target_max_online(rewards, next_q_online, next_q_target, terminated, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - terminated) * next_q_online.max(dim=1).values


@mistake("double_dqn_target", "roles swapped: the target net chooses, the online net values")
def double_dqn_target_swapped(rewards, next_q_online, next_q_target, terminated, gamma):
    with torch.no_grad():
        best = next_q_target.argmax(dim=1, keepdim=True)
        return rewards + gamma * (1 - terminated) * next_q_online.gather(1, best).squeeze(1)


@mistake("double_dqn_target", "no terminal mask: bootstraps through terminal states")
def double_dqn_target_no_mask(rewards, next_q_online, next_q_target, terminated, gamma):
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return rewards + gamma * next_q_target.gather(1, best).squeeze(1)


@mistake("double_dqn_target", "gradient not stopped: the target still requires grad")
def double_dqn_target_keeps_gradient(rewards, next_q_online, next_q_target, terminated,
                                     gamma):
    best = next_q_online.argmax(dim=1, keepdim=True)
    return rewards + gamma * (1 - terminated) * next_q_target.gather(1, best).squeeze(1)


@mistake("double_dqn_target", "forgets squeeze: returns shape [B, 1]")
def double_dqn_target_keeps_dim(rewards, next_q_online, next_q_target, terminated, gamma):
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return (rewards[:, None]
                + gamma * (1 - terminated[:, None]) * next_q_target.gather(1, best))


@mistake("double_dqn_target", "indexes columns with the actions: next_q_target[:, a], [B, B]")
def double_dqn_target_column_index(rewards, next_q_online, next_q_target, terminated, gamma):
    with torch.no_grad():
        best = next_q_online.argmax(dim=1)
        return rewards + gamma * (1 - terminated) * next_q_target[:, best]


@mistake("double_dqn_target", "one action for the whole batch (argmax of the summed values)")
def double_dqn_target_one_action(rewards, next_q_online, next_q_target, terminated, gamma):
    with torch.no_grad():
        best = next_q_online.sum(dim=0).argmax()  # a single action index
        return rewards + gamma * (1 - terminated) * next_q_target[:, best]


@mistake("double_dqn_target", "discounts the reward too: gamma * (r + Q_target(s', a*))")
def double_dqn_target_discounts_reward(rewards, next_q_online, next_q_target, terminated,
                                       gamma):
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return gamma * (rewards + (1 - terminated) * next_q_target.gather(1, best).squeeze(1))


@mistake("double_dqn_target", "adds into the caller's rewards: rewards += ... under no_grad")
def double_dqn_target_mutates_rewards(rewards, next_q_online, next_q_target, terminated,
                                      gamma):
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        rewards += gamma * (1 - terminated) * next_q_target.gather(1, best).squeeze(1)
        return rewards


@mistake("double_dqn_target", "detaches the Q values only: grad still flows from rewards")
def double_dqn_target_detaches_q_only(rewards, next_q_online, next_q_target, terminated,
                                      gamma):
    best = next_q_online.argmax(dim=1, keepdim=True)
    values = next_q_target.detach().gather(1, best).squeeze(1)
    return rewards + gamma * (1 - terminated) * values


@mistake("double_dqn_target", "mask inverted: gamma * terminated * Q_target(s', a*)")
def double_dqn_target_mask_inverted(rewards, next_q_online, next_q_target, terminated,
                                    gamma):
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        return rewards + gamma * terminated * next_q_target.gather(1, best).squeeze(1)


@mistake("double_dqn_target", "(1 - terminated) multiplies the whole target, reward too")
def double_dqn_target_masks_reward(rewards, next_q_online, next_q_target, terminated,
                                   gamma):
    with torch.no_grad():
        best = next_q_online.argmax(dim=1, keepdim=True)
        values = next_q_target.gather(1, best).squeeze(1)
        return (1 - terminated) * (rewards + gamma * values)


# --------------------------------------------------------------------------- #
# n_step_targets
# --------------------------------------------------------------------------- #
def _n_step(rewards, terminated, next_values, gamma, n, *, bootstrap=True,
            exponent_shift=0, value_shift=0, reward_shift=0, tail_exponent_n=False,
            cross_endings=False):
    """A configurable n-step target, for the mistakes below to change one thing each."""
    T = len(rewards)
    targets = torch.zeros(T)
    for t in range(T):
        target, m, ended = 0.0, 0, False
        for i in range(t, min(t + n, T)):
            target += gamma ** (i - t + reward_shift) * float(rewards[i])
            m += 1
            if terminated[i] and not cross_endings:
                ended = True
                break
        last = t + m - 1
        if bootstrap and not ended:
            exponent = (n if tail_exponent_n else m) + exponent_shift
            index = min(last + value_shift, T - 1)
            target += gamma ** exponent * (1 - float(terminated[last])) * float(
                next_values[index])
        targets[t] = target
    return targets


@mistake("n_step_targets", "a constant: all zeros")
def n_step_targets_zeros(rewards, terminated, next_values, gamma, n):
    return torch.zeros(len(rewards))


@mistake("n_step_targets", "bootstraps with gamma**(m - 1) instead of gamma**m")
def n_step_targets_exponent_off_by_one(rewards, terminated, next_values, gamma, n):
    return _n_step(rewards, terminated, next_values, gamma, n, exponent_shift=-1)


@mistake("n_step_targets", "bootstraps from next_values[t + m] instead of [t + m - 1]")
def n_step_targets_value_off_by_one(rewards, terminated, next_values, gamma, n):
    return _n_step(rewards, terminated, next_values, gamma, n, value_shift=1)


@mistake("n_step_targets", "sums rewards across a terminal transition into the next episode")
def n_step_targets_crosses_endings(rewards, terminated, next_values, gamma, n):
    return _n_step(rewards, terminated, next_values, gamma, n, cross_endings=True)


@mistake("n_step_targets", "near the end of the data uses gamma**n, not gamma**m")
def n_step_targets_tail_exponent(rewards, terminated, next_values, gamma, n):
    return _n_step(rewards, terminated, next_values, gamma, n, tail_exponent_n=True)


@mistake("n_step_targets", "never bootstraps: the n-step sum of rewards only")
def n_step_targets_no_bootstrap(rewards, terminated, next_values, gamma, n):
    return _n_step(rewards, terminated, next_values, gamma, n, bootstrap=False)


@mistake("n_step_targets", "discounts the first reward: sum of gamma**(k+1) * r_{t+k}")
def n_step_targets_discounts_first_reward(rewards, terminated, next_values, gamma, n):
    return _n_step(rewards, terminated, next_values, gamma, n, reward_shift=1)


@mistake("n_step_targets", "ignores n: always the one-step target")
def n_step_targets_one_step(rewards, terminated, next_values, gamma, n):
    return rewards + gamma * (1 - terminated) * next_values


def _correct_n_step(rewards, terminated, next_values, gamma, n, out):
    """The right targets, written into ``out`` (for the aliasing mistake)."""
    T = len(rewards)
    for t in range(T):
        total, discount, i = 0.0, 1.0, t
        for i in range(t, min(t + n, T)):
            total += discount * float(rewards[i])
            discount *= gamma
            if terminated[i]:
                break
        else:
            total += discount * float(next_values[i])
        out[t] = total
    return out


@mistake("n_step_targets", "bootstraps after a terminal transition (no mask)")
def n_step_targets_unmasked_after_terminal(rewards, terminated, next_values, gamma, n):
    T = len(rewards)
    targets = torch.zeros(T)
    for t in range(T):
        total, discount, last = 0.0, 1.0, t
        for i in range(t, min(t + n, T)):
            total += discount * float(rewards[i])
            discount *= gamma
            last = i
            if terminated[i]:
                break
        targets[t] = total + discount * float(next_values[last])
    return targets


@mistake("n_step_targets", "masks the bootstrap with d_t, the first transition's flag")
def n_step_targets_mask_of_first(rewards, terminated, next_values, gamma, n):
    T = len(rewards)
    targets = torch.zeros(T)
    for t in range(T):
        total, discount, last = 0.0, 1.0, t
        for i in range(t, min(t + n, T)):
            total += discount * float(rewards[i])
            discount *= gamma
            last = i
            if terminated[i]:
                break
        targets[t] = total + discount * (1 - float(terminated[t])) * float(next_values[last])
    return targets


@mistake("n_step_targets", "treats the end of the data as a terminal: no bootstrap there")
def n_step_targets_no_bootstrap_at_data_end(rewards, terminated, next_values, gamma, n):
    T = len(rewards)
    targets = torch.zeros(T)
    for t in range(T):
        total, discount, ended = 0.0, 1.0, t + n > T
        for i in range(t, min(t + n, T)):
            total += discount * float(rewards[i])
            discount *= gamma
            if terminated[i]:
                ended = True
                break
        if not ended:
            total += discount * float(next_values[t + n - 1])
        targets[t] = total
    return targets


@mistake("n_step_targets", "stops the sum before the terminal transition's reward")
def n_step_targets_drops_terminal_reward(rewards, terminated, next_values, gamma, n):
    T = len(rewards)
    targets = torch.zeros(T)
    for t in range(T):
        total, discount, ended, last = 0.0, 1.0, False, t
        for i in range(t, min(t + n, T)):
            if terminated[i] and i > t:
                ended = True
                break
            total += discount * float(rewards[i])
            discount *= gamma
            last = i
            if terminated[i]:
                ended = True
                break
        if not ended:
            total += discount * float(next_values[last])
        targets[t] = total
    return targets


@mistake("n_step_targets", "sums n - 1 rewards before bootstrapping")
def n_step_targets_n_minus_one_rewards(rewards, terminated, next_values, gamma, n):
    return _n_step(rewards, terminated, next_values, gamma, max(n - 1, 1))


@mistake("n_step_targets", "out = rewards (no clone): writes the targets into the rewards")
def n_step_targets_aliases_rewards(rewards, terminated, next_values, gamma, n):
    out = rewards  # the caller's tensor, not a copy
    return _correct_n_step(rewards, terminated, next_values, gamma, n, out)


@mistake("n_step_targets", "clears the caller's next_values in place after use")
def n_step_targets_clobbers_next_values(rewards, terminated, next_values, gamma, n):
    targets = _correct_n_step(rewards, terminated, next_values, gamma, n,
                              torch.zeros(len(rewards)))
    next_values.mul_(0)
    return targets


# --------------------------------------------------------------------------- #
# dueling_q
# --------------------------------------------------------------------------- #
@mistake("dueling_q", "a constant: all zeros")
def dueling_q_zeros(values, advantages):
    return torch.zeros_like(advantages)


@mistake("dueling_q", "V + A without centring the advantages")
def dueling_q_not_centred(values, advantages):
    return values + advantages


@mistake("dueling_q", "subtracts the max advantage instead of the mean")
def dueling_q_max(values, advantages):
    return values + advantages - advantages.max(dim=1, keepdim=True).values


@mistake("dueling_q", "mean over the batch (dim 0) instead of over the actions")
def dueling_q_batch_mean(values, advantages):
    return values + advantages - advantages.mean(dim=0, keepdim=True)


@mistake("dueling_q", "mean over the actions without keepdim: broadcasts along the wrong axis")
def dueling_q_no_keepdim(values, advantages):
    return values + advantages - advantages.mean(dim=1)


@mistake("dueling_q", "one mean over the whole tensor")
def dueling_q_global_mean(values, advantages):
    return values + advantages - advantages.mean()


@mistake("dueling_q", "detaches the mean, so the advantage head's gradient is wrong")
def dueling_q_detached_mean(values, advantages):
    return values + advantages - advantages.mean(dim=1, keepdim=True).detach()


@mistake("dueling_q", "detaches the value head")
def dueling_q_detached_value(values, advantages):
    return values.detach() + advantages - advantages.mean(dim=1, keepdim=True)


@mistake("dueling_q", "centres the caller's advantages in place when no grad is needed")
def dueling_q_in_place_without_grad(values, advantages):
    if torch.is_grad_enabled() and advantages.requires_grad:
        return values + advantages - advantages.mean(dim=1, keepdim=True)
    advantages -= advantages.mean(dim=1, keepdim=True)
    return values + advantages


@mistake("dueling_q", "the mean of V over the batch instead of each state's V")
def dueling_q_batch_mean_value(values, advantages):
    return values.mean() + advantages - advantages.mean(dim=1, keepdim=True)


@mistake("dueling_q", "values squeezed to [B]: broadcasts along the actions")
def dueling_q_values_squeezed(values, advantages):
    return values.squeeze(1) + advantages - advantages.mean(dim=1, keepdim=True)


@mistake("dueling_q", "subtracts the sum of the advantages, not their mean")
def dueling_q_sum(values, advantages):
    return values + advantages - advantages.sum(dim=1, keepdim=True)
