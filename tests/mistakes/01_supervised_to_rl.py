"""Typical wrong answers to the exercises of chapter 01; every one must lose points."""

import numpy as np
import torch

from rlbook_utils.exercises import mistake


# --------------------------------------------------------------------------- #
# minibatches
# --------------------------------------------------------------------------- #
@mistake("minibatches", "shuffles the features but not the labels")
def minibatches_shuffles_features_only(X, y, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        yield X[order[start:start + batch_size]], y[start:start + batch_size]


@mistake("minibatches", "shuffles features and labels with two different permutations")
def minibatches_two_permutations(X, y, batch_size, rng):
    order_x, order_y = rng.permutation(len(X)), rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        yield X[order_x[start:start + batch_size]], y[order_y[start:start + batch_size]]


@mistake("minibatches", "drops the last, smaller batch")
def minibatches_drops_last(X, y, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


@mistake("minibatches", "does not shuffle at all")
def minibatches_not_shuffled(X, y, batch_size, rng):
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]


@mistake("minibatches", "samples indices with replacement")
def minibatches_with_replacement(X, y, batch_size, rng):
    for start in range(0, len(X), batch_size):
        idx = rng.integers(0, len(X), size=min(batch_size, len(X) - start))
        yield X[idx], y[idx]


@mistake("minibatches", "shuffles with the global numpy state instead of rng")
def minibatches_global_rng(X, y, batch_size, rng):
    order = np.random.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


@mistake("minibatches", "converts tensors to numpy arrays")
def minibatches_to_numpy(X, y, batch_size, rng):
    X, y = np.asarray(X), np.asarray(y)
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


# --------------------------------------------------------------------------- #
# train_step
# --------------------------------------------------------------------------- #
@mistake("train_step", "forgets optimizer.zero_grad(): gradients accumulate")
def train_step_no_zero_grad(model, optimizer, loss_fn, xb, yb):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


@mistake("train_step", "zeroes the gradients after the step instead of before backward")
def train_step_zero_grad_last(model, optimizer, loss_fn, xb, yb):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


@mistake("train_step", "returns the loss after the update")
def train_step_loss_after_update(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss_fn(model(xb), yb).backward()
    optimizer.step()
    with torch.no_grad():
        return loss_fn(model(xb), yb).item()


@mistake("train_step", "returns the loss as a tensor")
def train_step_returns_tensor(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss


@mistake("train_step", "calls optimizer.step() before loss.backward()")
def train_step_step_before_backward(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    optimizer.step()
    loss.backward()
    return loss.item()


@mistake("train_step", "updates the parameters by hand with SGD, ignoring the optimizer")
def train_step_manual_sgd(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    lr = optimizer.param_groups[0]["lr"]
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss.item()


# --------------------------------------------------------------------------- #
# next_token_pairs
# --------------------------------------------------------------------------- #
@mistake("next_token_pairs", "one window too many: N = T - context + 1")
def next_token_pairs_one_too_many(token_ids, context):
    ids = np.asarray(token_ids, dtype=np.int64)
    n = len(ids) - context + 1
    X = np.array([ids[i:i + context] for i in range(n)], dtype=np.int64)
    Y = np.append(ids[context:], 0).astype(np.int64)
    return X, Y


@mistake("next_token_pairs", "Y shifted by one: the window's last token instead of the next")
def next_token_pairs_y_shifted(token_ids, context):
    ids = np.asarray(token_ids, dtype=np.int64)
    n = max(len(ids) - context, 0)
    X = ids[np.arange(n)[:, None] + np.arange(context)[None, :]]
    Y = ids[context - 1:context - 1 + n]
    return X, Y


@mistake("next_token_pairs", "one window too few: N = T - context - 1")
def next_token_pairs_one_too_few(token_ids, context):
    ids = np.asarray(token_ids, dtype=np.int64)
    n = max(len(ids) - context - 1, 0)
    X = ids[np.arange(n)[:, None] + np.arange(context)[None, :]]
    Y = ids[context:context + n]
    return X, Y


@mistake("next_token_pairs", "returns Python lists instead of int64 arrays")
def next_token_pairs_lists(token_ids, context):
    ids = [int(t) for t in token_ids]
    X = [ids[i:i + context] for i in range(len(ids) - context)]
    Y = [ids[i + context] for i in range(len(ids) - context)]
    return X, Y


# --------------------------------------------------------------------------- #
# accuracy
# --------------------------------------------------------------------------- #
@mistake("accuracy", "argmax over the examples (dim=0) instead of the classes")
def accuracy_wrong_dim(logits, y):
    return (logits.argmax(dim=0) == y).float().mean().item()


@mistake("accuracy", "returns the count of correct rows, not the fraction")
def accuracy_count(logits, y):
    return float((logits.argmax(dim=-1) == y).sum().item())


@mistake("accuracy", "returns a tensor instead of a Python float")
def accuracy_tensor(logits, y):
    return (logits.argmax(dim=-1) == y).float().mean()


@mistake("accuracy", "compares the largest logit's value, not its index, with y")
def accuracy_max_value(logits, y):
    return (logits.max(dim=-1).values == y).float().mean().item()
