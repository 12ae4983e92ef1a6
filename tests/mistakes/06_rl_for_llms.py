"""Typical wrong answers to the exercises of chapter 06; every one must lose points."""

import torch
import torch.nn.functional as F

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# sequence_log_prob
# --------------------------------------------------------------------------- #
def _token_log_probs(logits, tokens):
    return torch.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


@mistake("sequence_log_prob", "forgets the mask: padding tokens are counted")
def sequence_log_prob_no_mask(logits, tokens, mask):
    return _token_log_probs(logits, tokens).sum(dim=-1)


@mistake("sequence_log_prob", "averages over the real tokens instead of summing")
def sequence_log_prob_mean(logits, tokens, mask):
    return (_token_log_probs(logits, tokens) * mask).sum(dim=-1) / mask.sum(dim=-1)


@mistake("sequence_log_prob", "logits misaligned by one: logits[:, t-1] scores tokens[:, t]")
def sequence_log_prob_shifted(logits, tokens, mask):
    log_probs = torch.log_softmax(logits[:, :-1], dim=-1)  # [B, T-1, V]
    picked = log_probs.gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)
    return (picked * mask[:, 1:]).sum(dim=-1)


@mistake("sequence_log_prob", "softmax over the time dimension instead of the vocabulary")
def sequence_log_prob_wrong_dim(logits, tokens, mask):
    picked = torch.log_softmax(logits, dim=1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(dim=-1)


@mistake("sequence_log_prob", "sums probabilities instead of log-probabilities")
def sequence_log_prob_probabilities(logits, tokens, mask):
    picked = torch.softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(dim=-1)


@mistake("sequence_log_prob", "detaches the result: no gradient reaches the model")
def sequence_log_prob_detached(logits, tokens, mask):
    return (_token_log_probs(logits, tokens) * mask).sum(dim=-1).detach()


# --------------------------------------------------------------------------- #
# bradley_terry_loss
# --------------------------------------------------------------------------- #
@mistake("bradley_terry_loss", "swaps chosen and rejected (sign error in the margin)")
def bradley_terry_loss_swapped(r_chosen, r_rejected):
    return -F.logsigmoid(r_rejected - r_chosen).mean()


@mistake("bradley_terry_loss", "naive log(sigmoid(x)): -inf for a large negative margin")
def bradley_terry_loss_naive(r_chosen, r_rejected):
    return -torch.log(torch.sigmoid(r_chosen - r_rejected)).mean()


@mistake("bradley_terry_loss", "sums over the pairs instead of averaging")
def bradley_terry_loss_sum(r_chosen, r_rejected):
    return -F.logsigmoid(r_chosen - r_rejected).sum()


@mistake("bradley_terry_loss", "forgets the minus: returns the log-likelihood")
def bradley_terry_loss_no_minus(r_chosen, r_rejected):
    return F.logsigmoid(r_chosen - r_rejected).mean()


@mistake("bradley_terry_loss", "log-sigmoid of each reward separately instead of the margin")
def bradley_terry_loss_separate(r_chosen, r_rejected):
    return -(F.logsigmoid(r_chosen) - F.logsigmoid(r_rejected)).mean()


# --------------------------------------------------------------------------- #
# kl_penalized_rewards
# --------------------------------------------------------------------------- #
@mistake("kl_penalized_rewards", "KL the wrong way round: -beta * (logp_ref - logp_policy)")
def kl_penalized_rewards_reversed(rewards, logp_policy, logp_ref, beta):
    per_token = -beta * (logp_ref - logp_policy)
    per_token[:, -1] += rewards
    return per_token


@mistake("kl_penalized_rewards", "adds the sequence reward at every token")
def kl_penalized_rewards_every_token(rewards, logp_policy, logp_ref, beta):
    return -beta * (logp_policy - logp_ref) + rewards[:, None]


@mistake("kl_penalized_rewards", "adds the sequence reward at the first token")
def kl_penalized_rewards_first_token(rewards, logp_policy, logp_ref, beta):
    per_token = -beta * (logp_policy - logp_ref)
    per_token[:, 0] += rewards
    return per_token


@mistake("kl_penalized_rewards", "forgets beta: the penalty is the raw log-ratio")
def kl_penalized_rewards_no_beta(rewards, logp_policy, logp_ref, beta):
    per_token = -(logp_policy - logp_ref)
    per_token[:, -1] += rewards
    return per_token


@mistake("kl_penalized_rewards", "writes into logp_policy in place")
def kl_penalized_rewards_in_place(rewards, logp_policy, logp_ref, beta):
    per_token = logp_policy.sub_(logp_ref).mul_(-beta)
    per_token[:, -1] += rewards
    return per_token


# --------------------------------------------------------------------------- #
# dpo_loss
# --------------------------------------------------------------------------- #
@mistake("dpo_loss", "beta outside the sigmoid: -beta * log sigmoid(margin)")
def dpo_loss_beta_outside(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta):
    margin = (pi_chosen - ref_chosen) - (pi_rejected - ref_rejected)
    return -(beta * F.logsigmoid(margin)).mean()


@mistake("dpo_loss", "swaps chosen and rejected")
def dpo_loss_swapped(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta):
    margin = (pi_rejected - ref_rejected) - (pi_chosen - ref_chosen)
    return -F.logsigmoid(beta * margin).mean()


@mistake("dpo_loss", "ignores the reference model")
def dpo_loss_no_reference(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta):
    return -F.logsigmoid(beta * (pi_chosen - pi_rejected)).mean()


@mistake("dpo_loss", "adds the reference log-probs instead of subtracting them")
def dpo_loss_reference_sign(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta):
    margin = (pi_chosen + ref_chosen) - (pi_rejected + ref_rejected)
    return -F.logsigmoid(beta * margin).mean()


@mistake("dpo_loss", "naive log(sigmoid(x)): -inf for a large negative margin")
def dpo_loss_naive(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta):
    margin = (pi_chosen - ref_chosen) - (pi_rejected - ref_rejected)
    return -torch.log(torch.sigmoid(beta * margin)).mean()


@mistake("dpo_loss", "sums over the pairs instead of averaging")
def dpo_loss_sum(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta):
    margin = (pi_chosen - ref_chosen) - (pi_rejected - ref_rejected)
    return -F.logsigmoid(beta * margin).sum()
