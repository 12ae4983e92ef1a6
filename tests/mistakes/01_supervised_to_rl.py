"""Typical wrong answers to the exercises of chapter 01; every one must lose points."""

import torch
from torch import nn

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# evaluate_in_batches
# --------------------------------------------------------------------------- #
@mistake("evaluate_in_batches", "returns a constant (0.0, 0.0)")
def evaluate_in_batches_constant(model, loss_fn, X, y, batch_size):
    return 0.0, 0.0


@mistake("evaluate_in_batches", "plain average of the batch means (last batch over-weighted)")
def evaluate_in_batches_unweighted_mean(model, loss_fn, X, y, batch_size):
    losses, accuracies = [], []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            logits = model(X[start:start + batch_size])
            yb = y[start:start + batch_size]
            losses.append(loss_fn(logits, yb).item())
            accuracies.append((logits.argmax(dim=-1) == yb).float().mean().item())
    return sum(losses) / len(losses), sum(accuracies) / len(accuracies)


@mistake("evaluate_in_batches", "drops the last, smaller batch")
def evaluate_in_batches_drops_last(model, loss_fn, X, y, batch_size):
    total, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for start in range(0, len(X) - batch_size + 1, batch_size):
            logits = model(X[start:start + batch_size])
            yb = y[start:start + batch_size]
            total += loss_fn(logits, yb).item() * len(yb)
            correct += (logits.argmax(dim=-1) == yb).sum().item()
            seen += len(yb)
    return total / max(seen, 1), correct / max(seen, 1)


@mistake("evaluate_in_batches", "sums the batch means without dividing by N")
def evaluate_in_batches_sum(model, loss_fn, X, y, batch_size):
    total, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            logits = model(X[start:start + batch_size])
            yb = y[start:start + batch_size]
            total += loss_fn(logits, yb).item()
            correct += (logits.argmax(dim=-1) == yb).sum().item()
    return total, correct / len(X)


@mistake("evaluate_in_batches", "one forward pass over everything (the lesson's evaluate)")
def evaluate_in_batches_full_batch(model, loss_fn, X, y, batch_size):
    with torch.no_grad():
        logits = model(X)
        return loss_fn(logits, y).item(), (logits.argmax(dim=-1) == y).float().mean().item()


@mistake("evaluate_in_batches", "forgets torch.no_grad(): builds a graph per batch")
def evaluate_in_batches_with_grad(model, loss_fn, X, y, batch_size):
    total, correct = 0.0, 0
    for start in range(0, len(X), batch_size):
        logits = model(X[start:start + batch_size])
        yb = y[start:start + batch_size]
        total += loss_fn(logits, yb).item() * len(yb)
        correct += (logits.argmax(dim=-1) == yb).sum().item()
    return total / len(X), correct / len(X)


@mistake("evaluate_in_batches", "returns tensors instead of Python floats")
def evaluate_in_batches_tensors(model, loss_fn, X, y, batch_size):
    total, correct = torch.tensor(0.0), torch.tensor(0)
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            logits = model(X[start:start + batch_size])
            yb = y[start:start + batch_size]
            total = total + loss_fn(logits, yb) * len(yb)
            correct = correct + (logits.argmax(dim=-1) == yb).sum()
    return total / len(X), correct / len(X)


@mistake("evaluate_in_batches", "ignores loss_fn and uses plain cross-entropy")
def evaluate_in_batches_own_loss(model, loss_fn, X, y, batch_size):
    total, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            logits = model(X[start:start + batch_size])
            yb = y[start:start + batch_size]
            total += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(dim=-1) == yb).sum().item()
    return total / len(X), correct / len(X)


# --------------------------------------------------------------------------- #
# perplexity
# --------------------------------------------------------------------------- #
@mistake("perplexity", "returns a constant 1.0")
def perplexity_constant(logits, targets):
    return 1.0


@mistake("perplexity", "returns the cross-entropy itself, without the exp")
def perplexity_no_exp(logits, targets):
    return nn.functional.cross_entropy(logits.double(), targets).item()


@mistake("perplexity", "exp of the SUM of negative log-probabilities")
def perplexity_sum(logits, targets):
    return float(torch.exp(nn.functional.cross_entropy(logits.double(), targets,
                                                       reduction="sum")))


@mistake("perplexity", "arithmetic mean of 1/p instead of the geometric mean")
def perplexity_arithmetic_mean(logits, targets):
    probs = torch.softmax(logits.double(), dim=-1)
    return float((1 / probs[torch.arange(len(targets)), targets]).mean())


@mistake("perplexity", "base 2: 2 ** (cross-entropy in nats)")
def perplexity_base_two(logits, targets):
    return float(2 ** nn.functional.cross_entropy(logits.double(), targets))


@mistake("perplexity", "treats the raw logits as log-probabilities (no softmax)")
def perplexity_raw_logits(logits, targets):
    return float(torch.exp(-logits.double()[torch.arange(len(targets)), targets].mean()))


@mistake("perplexity", "softmax as exp(z) / sum(exp(z)): overflows for large logits")
def perplexity_naive_softmax(logits, targets):
    exp = torch.exp(logits)
    probs = exp / exp.sum(dim=-1, keepdim=True)
    return float(torch.exp(-torch.log(probs[torch.arange(len(targets)), targets]).mean()))


@mistake("perplexity", "uses the argmax's probability instead of the target's")
def perplexity_argmax(logits, targets):
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    return float(torch.exp(-log_probs.max(dim=-1).values.mean()))


@mistake("perplexity", "log(softmax(z)): a target probability below 1e-45 becomes log 0")
def perplexity_log_of_softmax(logits, targets):
    log_probs = torch.log(torch.softmax(logits, dim=-1))
    return float(torch.exp(-log_probs[torch.arange(len(targets)), targets].mean()))


@mistake("perplexity", "logsumexp shifted by the global max, not each row's")
def perplexity_global_max_shift(logits, targets):
    shift = logits.max()
    log_norm = shift + torch.log(torch.exp(logits - shift).sum(dim=-1))  # [N]
    log_probs = logits[torch.arange(len(targets)), targets] - log_norm
    return float(torch.exp(-log_probs.mean()))


# --------------------------------------------------------------------------- #
# top_k_accuracy
# --------------------------------------------------------------------------- #
@mistake("top_k_accuracy", "returns a constant 0.5")
def top_k_accuracy_constant(logits, y, k):
    return 0.5


@mistake("top_k_accuracy", "checks only the k-th best class, not all k")
def top_k_accuracy_kth_only(logits, y, k):
    return (logits.topk(k, dim=-1).indices[:, -1] == y).float().mean().item()


@mistake("top_k_accuracy", "takes the k smallest logits")
def top_k_accuracy_smallest(logits, y, k):
    top = logits.topk(k, dim=-1, largest=False).indices
    return (top == y[:, None]).any(dim=-1).float().mean().item()


@mistake("top_k_accuracy", "ranks over the examples (dim=0), transposed to fit")
def top_k_accuracy_wrong_dim(logits, y, k):
    top = logits.topk(k, dim=0).indices.T  # [n_classes, k]
    return (top == y[:len(top), None]).any(dim=-1).float().mean().item()


@mistake("top_k_accuracy", "off by one: the k + 1 best")
def top_k_accuracy_off_by_one(logits, y, k):
    k = min(k + 1, logits.shape[-1])
    top = logits.topk(k, dim=-1).indices
    return (top == y[:, None]).any(dim=-1).float().mean().item()


@mistake("top_k_accuracy", "returns the count of hits, not the fraction")
def top_k_accuracy_count(logits, y, k):
    top = logits.topk(k, dim=-1).indices
    return float((top == y[:, None]).any(dim=-1).sum().item())


@mistake("top_k_accuracy", "returns a tensor instead of a Python float")
def top_k_accuracy_tensor(logits, y, k):
    top = logits.topk(k, dim=-1).indices
    return (top == y[:, None]).any(dim=-1).float().mean()


# --------------------------------------------------------------------------- #
# score_function_gradient
# --------------------------------------------------------------------------- #
def _probs_and_one_hot(logits, actions):
    probs = torch.softmax(logits.detach().double(), dim=-1)
    return probs, nn.functional.one_hot(actions.long(), len(probs)).double()


@mistake("score_function_gradient", "returns zeros")
def score_function_gradient_zeros(logits, actions, rewards):
    return torch.zeros(len(logits))


@mistake("score_function_gradient", "wrong sign: the gradient of the loss -r log pi")
def score_function_gradient_loss_sign(logits, actions, rewards):
    probs, one_hot = _probs_and_one_hot(logits, actions)
    return -(rewards.double()[:, None] * (one_hot - probs)).mean(dim=0)


@mistake("score_function_gradient", "sum over the samples instead of the mean")
def score_function_gradient_sum(logits, actions, rewards):
    probs, one_hot = _probs_and_one_hot(logits, actions)
    return (rewards.double()[:, None] * (one_hot - probs)).sum(dim=0)


@mistake("score_function_gradient", "one-hot alone: forgets the -pi of the softmax")
def score_function_gradient_one_hot_only(logits, actions, rewards):
    _, one_hot = _probs_and_one_hot(logits, actions)
    return (rewards.double()[:, None] * one_hot).mean(dim=0)


@mistake("score_function_gradient", "-pi alone: forgets the drawn arm's one-hot")
def score_function_gradient_probs_only(logits, actions, rewards):
    probs, _ = _probs_and_one_hot(logits, actions)
    return -(rewards.double().mean() * probs)


@mistake("score_function_gradient", "gradient of pi(a), not of log pi(a)")
def score_function_gradient_of_prob(logits, actions, rewards):
    probs, one_hot = _probs_and_one_hot(logits, actions)
    drawn = probs[actions.long()][:, None]  # pi(a_i)
    return (rewards.double()[:, None] * drawn * (one_hot - probs)).mean(dim=0)


@mistake("score_function_gradient", "subtracts the mean reward as a baseline")
def score_function_gradient_baseline(logits, actions, rewards):
    probs, one_hot = _probs_and_one_hot(logits, actions)
    centred = rewards.double() - rewards.double().mean()
    return (centred[:, None] * (one_hot - probs)).mean(dim=0)


@mistake("score_function_gradient", "averages per arm (divides by each arm's count)")
def score_function_gradient_per_arm_mean(logits, actions, rewards):
    probs, one_hot = _probs_and_one_hot(logits, actions)
    counts = one_hot.sum(dim=0).clamp(min=1)
    return (rewards.double()[:, None] * one_hot).sum(dim=0) / counts - (
        rewards.double().mean() * probs)


@mistake("score_function_gradient", "needs logits that require grad (autograd.grad on them)")
def score_function_gradient_autograd_on_input(logits, actions, rewards):
    log_probs = torch.log_softmax(logits, dim=-1)[actions.long()]
    gradient, = torch.autograd.grad((rewards * log_probs).mean(), logits)
    return gradient


@mistake("score_function_gradient", "calls backward() through the caller's logits")
def score_function_gradient_backward_on_input(logits, actions, rewards):
    logits.requires_grad_(True)
    log_probs = torch.log_softmax(logits, dim=-1)[actions.long()]
    (rewards * log_probs).mean().backward()
    return logits.grad.clone()


@mistake("score_function_gradient", "centres the rewards in place (modifies the input)")
def score_function_gradient_in_place(logits, actions, rewards):
    probs, one_hot = _probs_and_one_hot(logits, actions)
    estimate = (rewards.double()[:, None] * (one_hot - probs)).mean(dim=0)
    rewards -= rewards.mean()  # meant for a baseline, never used, but the caller's data changed
    return estimate
