"""Typical wrong answers to the exercises of chapter 04; every one must lose points."""

import numpy as np
import torch
import torch.nn.functional as F

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# ReplayBuffer
# --------------------------------------------------------------------------- #
class _CorrectBuffer:
    """The right buffer, for the mistakes below to change one thing each."""

    def __init__(self, capacity, obs_dim, seed):
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.position = 0
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def add(self, obs, action, reward, next_obs, terminated):
        i = self.position
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, float(terminated)
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def _indices(self, batch_size):
        return self.rng.integers(0, self.size, size=batch_size)

    def _batch(self, idx):
        return {"obs": torch.as_tensor(self.obs[idx]),
                "actions": torch.as_tensor(self.actions[idx]),
                "rewards": torch.as_tensor(self.rewards[idx]),
                "next_obs": torch.as_tensor(self.next_obs[idx]),
                "terminated": torch.as_tensor(self.terminated[idx])}

    def sample(self, batch_size):
        return self._batch(self._indices(batch_size))

    def __len__(self):
        return self.size


@mistake("ReplayBuffer", "a Python list that keeps growing past capacity")
class ReplayBufferGrowsPastCapacity:
    def __init__(self, capacity, obs_dim, seed):
        self.transitions = []
        self.rng = np.random.default_rng(seed)

    def add(self, obs, action, reward, next_obs, terminated):
        self.transitions.append((obs, action, reward, next_obs, float(terminated)))

    def sample(self, batch_size):
        idx = self.rng.integers(0, len(self.transitions), size=batch_size)
        rows = [self.transitions[i] for i in idx]
        return {"obs": torch.tensor(np.array([r[0] for r in rows]), dtype=torch.float32),
                "actions": torch.tensor([r[1] for r in rows], dtype=torch.int64),
                "rewards": torch.tensor([r[2] for r in rows], dtype=torch.float32),
                "next_obs": torch.tensor(np.array([r[3] for r in rows]), dtype=torch.float32),
                "terminated": torch.tensor([r[4] for r in rows], dtype=torch.float32)}

    def __len__(self):
        return len(self.transitions)


@mistake("ReplayBuffer", "does not wrap: once full it ignores new transitions")
class ReplayBufferStopsWhenFull(_CorrectBuffer):
    def add(self, obs, action, reward, next_obs, terminated):
        if self.size < self.capacity:
            super().add(obs, action, reward, next_obs, terminated)


@mistake("ReplayBuffer", "samples the newest batch_size transitions instead of at random")
class ReplayBufferSamplesNewest(_CorrectBuffer):
    def sample(self, batch_size):
        idx = (self.position - 1 - np.arange(batch_size)) % max(self.size, 1)
        return self._batch(idx)


@mistake("ReplayBuffer", "draws indices below capacity, so it samples empty slots")
class ReplayBufferSamplesEmptySlots(_CorrectBuffer):
    def _indices(self, batch_size):
        return self.rng.integers(0, self.capacity, size=batch_size)


@mistake("ReplayBuffer", "draws separate indices for each array, mixing transitions")
class ReplayBufferMixesTransitions(_CorrectBuffer):
    def sample(self, batch_size):
        batch = self._batch(self._indices(batch_size))
        batch["obs"] = torch.as_tensor(self.obs[self._indices(batch_size)])
        return batch


@mistake("ReplayBuffer", "returns float64 observations and float32 actions")
class ReplayBufferWrongDtypes(_CorrectBuffer):
    def sample(self, batch_size):
        batch = super().sample(batch_size)
        batch["obs"] = batch["obs"].double()
        batch["actions"] = batch["actions"].float()
        return batch


@mistake("ReplayBuffer", "samples with the global np.random instead of its own generator")
class ReplayBufferGlobalRandom(_CorrectBuffer):
    def _indices(self, batch_size):
        return np.random.randint(0, self.size, size=batch_size)


# --------------------------------------------------------------------------- #
# linear_epsilon
# --------------------------------------------------------------------------- #
@mistake("linear_epsilon", "does not clip: keeps falling past end (overshoots)")
def linear_epsilon_overshoots(step, start, end, duration):
    return float(start + (end - start) * step / duration)


@mistake("linear_epsilon", "divides by duration + 1, so it never quite reaches end on time")
def linear_epsilon_off_by_one(step, start, end, duration):
    return float(start + (end - start) * min(step / (duration + 1), 1.0))


@mistake("linear_epsilon", "exponential decay towards end, which it never reaches")
def linear_epsilon_exponential(step, start, end, duration):
    return float(end + (start - end) * np.exp(-5.0 * step / duration))


@mistake("linear_epsilon", "clips with max(end, ...), which breaks a rising schedule")
def linear_epsilon_clips_with_max(step, start, end, duration):
    return float(max(end, start + (end - start) * step / duration))


# --------------------------------------------------------------------------- #
# td_target
# --------------------------------------------------------------------------- #
@mistake("td_target", "no terminal masking: bootstraps through terminal states")
def td_target_no_mask(rewards, next_q_target, terminated, gamma):
    with torch.no_grad():
        return rewards + gamma * next_q_target.max(dim=1).values


@mistake("td_target", "mask inverted: bootstraps only on terminal transitions")
def td_target_inverted_mask(rewards, next_q_target, terminated, gamma):
    with torch.no_grad():
        return rewards + gamma * terminated * next_q_target.max(dim=1).values


@mistake("td_target", "max over the batch (dim 0) instead of over the actions")
def td_target_max_over_batch(rewards, next_q_target, terminated, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - terminated) * next_q_target.max(dim=0).values


@mistake("td_target", "mean over the actions instead of the max")
def td_target_mean(rewards, next_q_target, terminated, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - terminated) * next_q_target.mean(dim=1)


@mistake("td_target", "gradient not stopped: the target still requires grad")
def td_target_keeps_gradient(rewards, next_q_target, terminated, gamma):
    return rewards + gamma * (1 - terminated) * next_q_target.max(dim=1).values


@mistake("td_target", "discounts the reward too: gamma * (r + max Q)")
def td_target_discounts_reward(rewards, next_q_target, terminated, gamma):
    with torch.no_grad():
        return gamma * (rewards + (1 - terminated) * next_q_target.max(dim=1).values)


# --------------------------------------------------------------------------- #
# dqn_loss
# --------------------------------------------------------------------------- #
def _taken(q_net, batch):
    return q_net(batch["obs"]).gather(1, batch["actions"].long().unsqueeze(1)).squeeze(1)


def _target(net, batch, gamma, done):
    with torch.no_grad():
        return batch["rewards"] + gamma * (1 - done) * net(batch["next_obs"]).max(1).values


@mistake("dqn_loss", "masks with terminated OR truncated: treats the time limit as an end")
def dqn_loss_masks_truncated(q_net, target_net, batch, gamma):
    done = batch["terminated"]
    if "truncated" in batch:
        done = torch.clamp(done + batch["truncated"], max=1.0)
    return F.smooth_l1_loss(_taken(q_net, batch), _target(target_net, batch, gamma, done))


@mistake("dqn_loss", "targets from q_net instead of target_net")
def dqn_loss_bootstraps_on_online_net(q_net, target_net, batch, gamma):
    return F.smooth_l1_loss(_taken(q_net, batch),
                            _target(q_net, batch, gamma, batch["terminated"]))


@mistake("dqn_loss", "gradients flow into the target network (no no_grad / detach)")
def dqn_loss_trains_target_net(q_net, target_net, batch, gamma):
    targets = (batch["rewards"] + gamma * (1 - batch["terminated"])
               * target_net(batch["next_obs"]).max(1).values)
    return F.smooth_l1_loss(_taken(q_net, batch), targets)


@mistake("dqn_loss", "uses max_a Q(s, a) instead of Q(s, a) of the taken action")
def dqn_loss_max_instead_of_taken(q_net, target_net, batch, gamma):
    return F.smooth_l1_loss(q_net(batch["obs"]).max(1).values,
                            _target(target_net, batch, gamma, batch["terminated"]))


@mistake("dqn_loss", "mean squared error where the docstring asks for Huber")
def dqn_loss_mse(q_net, target_net, batch, gamma):
    return F.mse_loss(_taken(q_net, batch),
                      _target(target_net, batch, gamma, batch["terminated"]))


@mistake("dqn_loss", "no terminal masking in the target")
def dqn_loss_no_mask(q_net, target_net, batch, gamma):
    return F.smooth_l1_loss(_taken(q_net, batch),
                            _target(target_net, batch, gamma, torch.zeros(1)))


@mistake("dqn_loss", "sums over the batch instead of averaging")
def dqn_loss_sum(q_net, target_net, batch, gamma):
    return F.smooth_l1_loss(_taken(q_net, batch),
                            _target(target_net, batch, gamma, batch["terminated"]),
                            reduction="sum")


# --------------------------------------------------------------------------- #
# polyak_update
# --------------------------------------------------------------------------- #
@mistake("polyak_update", "tau the wrong way round: (1 - tau) * online + tau * target")
def polyak_update_swapped_tau(target_net, online_net, tau):
    with torch.no_grad():
        for t, o in zip(target_net.parameters(), online_net.parameters()):
            t.copy_((1 - tau) * o + tau * t)


@mistake("polyak_update", "updates the online network towards the target")
def polyak_update_moves_online(target_net, online_net, tau):
    with torch.no_grad():
        for t, o in zip(target_net.parameters(), online_net.parameters()):
            o.copy_(tau * o + (1 - tau) * t)


@mistake("polyak_update", "rebinds a loop variable, so nothing changes")
def polyak_update_rebinds(target_net, online_net, tau):
    with torch.no_grad():
        for t, o in zip(target_net.parameters(), online_net.parameters()):
            t = tau * o + (1 - tau) * t  # noqa: F841 - the typical slip


@mistake("polyak_update", "updates the weights but forgets the biases")
def polyak_update_weights_only(target_net, online_net, tau):
    with torch.no_grad():
        for (name, t), o in zip(target_net.named_parameters(), online_net.parameters()):
            if name.endswith("weight"):
                t.mul_(1 - tau).add_(o, alpha=tau)


@mistake("polyak_update", "replaces the parameter tensors instead of updating in place")
def polyak_update_new_tensors(target_net, online_net, tau):
    new_state = {name: tau * o.detach() + (1 - tau) * t.detach()
                 for (name, t), o in zip(target_net.named_parameters(),
                                         online_net.parameters())}
    for module_name, module in target_net.named_modules():
        for param_name, _ in list(module.named_parameters(recurse=False)):
            key = f"{module_name}.{param_name}" if module_name else param_name
            setattr(module, param_name, torch.nn.Parameter(new_state[key].clone()))
