"""Graded tests of chapter 01: from supervised learning to RL.

Every expected value is computed here, independently of the reference solution:
index bookkeeping by hand, and one step of SGD or Adam written out with
torch.autograd.grad on a copy of the model.
"""

import copy

import numpy as np
import torch
from torch import nn

from rlbook_utils.exercises import exercise


# --------------------------------------------------------------------------- #
# Exercise 1.1: minibatches(X, y, batch_size, rng)
# --------------------------------------------------------------------------- #
def _paired_data(n):
    """Features whose first column is the example's index; labels equal that index."""
    X = np.stack([np.arange(n), 100 + np.arange(n)], axis=1)  # [n, 2]
    y = np.arange(n)  # [n]
    return X, y


def _label_order(batches):
    return np.concatenate([np.asarray(yb).reshape(-1) for _, yb in batches])


@exercise("minibatches", points=3)
def test_every_example_appears_exactly_once_per_pass(student):
    X, y = _paired_data(23)
    batches = list(student.minibatches(X, y, 5, np.random.default_rng(0)))
    seen = np.sort(_label_order(batches))
    assert len(seen) == 23, (
        f"one pass over 23 examples yielded {len(seen)} examples: every example must "
        "appear once (did you drop the last, smaller batch, or draw indices with "
        "replacement?)")
    assert np.array_equal(seen, np.arange(23)), (
        "some examples appear twice and others never: draw ONE permutation of "
        "range(N) per pass (rng.permutation), not random indices with replacement")


@exercise("minibatches", points=3)
def test_last_batch_holds_the_leftovers(student):
    X, y = _paired_data(23)
    sizes = [len(yb) for _, yb in student.minibatches(X, y, 5, np.random.default_rng(1))]
    assert sizes == [5, 5, 5, 5, 3], (
        f"23 examples in batches of 5 should give sizes [5, 5, 5, 5, 3], got {sizes}: "
        "keep the last, smaller batch")


@exercise("minibatches", points=3)
def test_features_and_labels_are_shuffled_together(student):
    X, y = _paired_data(40)
    for xb, yb in student.minibatches(X, y, 8, np.random.default_rng(2)):
        xb, yb = np.asarray(xb), np.asarray(yb)
        assert np.array_equal(xb[:, 0], yb) and np.array_equal(xb[:, 1], 100 + yb), (
            "a batch's features do not belong to its labels: index X and y with the "
            "SAME index array, so that row i of X_batch and y_batch is one example")


@exercise("minibatches", points=3)
def test_order_is_shuffled_and_reproducible_from_rng(student):
    X, y = _paired_data(50)
    order_a = _label_order(student.minibatches(X, y, 7, np.random.default_rng(3)))
    order_b = _label_order(student.minibatches(X, y, 7, np.random.default_rng(3)))
    order_c = _label_order(student.minibatches(X, y, 7, np.random.default_rng(4)))
    assert not np.array_equal(order_a, np.arange(50)), (
        "the examples come out in their original order: shuffle them with rng "
        "(rng.permutation(N)) at the start of the pass")
    assert np.array_equal(order_a, order_b), (
        "two generators with the same seed gave different orders: take all randomness "
        "from the `rng` argument, not from np.random or torch's global state")
    assert not np.array_equal(order_a, order_c), (
        "generators with different seeds gave the same order: shuffle with `rng`")


@exercise("minibatches", points=3)
def test_works_with_torch_tensors(student):
    X = torch.stack([torch.arange(10.0), 100 + torch.arange(10.0)], dim=1)  # [10, 2]
    y = torch.arange(10)  # [10]
    batches = list(student.minibatches(X, y, 4, np.random.default_rng(5)))
    assert all(isinstance(xb, torch.Tensor) and isinstance(yb, torch.Tensor)
               for xb, yb in batches), (
        "with tensors in, batches should be tensors: index X and y with an index "
        "array (X[idx]) instead of converting them")
    labels = torch.cat([yb for _, yb in batches])
    assert sorted(labels.tolist()) == list(range(10)), (
        "with torch tensors, one pass should still visit each example exactly once")
    assert all(torch.equal(xb[:, 0].long(), yb) for xb, yb in batches), (
        "with torch tensors, the features of a batch do not belong to its labels")


# --------------------------------------------------------------------------- #
# Exercise 1.2: train_step(model, optimizer, loss_fn, xb, yb) -> float
# --------------------------------------------------------------------------- #
def _tiny_problem(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    xb = torch.randn(5, 3)  # [5, 3]
    yb = torch.tensor([0, 1, 1, 0, 1])  # [5]
    return model, xb, yb


def _sgd_by_hand(model, xb, yb, lr):
    """One plain SGD step computed with torch.autograd.grad: returns (loss, new params)."""
    params = list(model.parameters())
    loss = nn.functional.cross_entropy(model(xb), yb)
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        new_params = [p - lr * g for p, g in zip(params, grads)]
    for p, new in zip(params, new_params):
        p.data.copy_(new)
    return loss.item(), [p.detach().clone() for p in params]


def _close(params_a, params_b):
    return all(torch.allclose(a, b, atol=1e-6) for a, b in zip(params_a, params_b))


@exercise("train_step", points=3)
def test_returns_the_loss_before_the_update_as_a_float(student):
    model, xb, yb = _tiny_problem()
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model(xb), yb).item()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    got = student.train_step(model, optimizer, nn.CrossEntropyLoss(), xb, yb)
    assert isinstance(got, float), (
        f"train_step returned a {type(got).__name__}: return loss.item(), a Python "
        "float, so the caller does not keep the whole graph alive")
    assert abs(got - expected) < 1e-5, (
        f"returned loss {got:.6f}, but the loss of the parameters before the update is "
        f"{expected:.6f}: return the loss you back-propagated, not one computed after "
        "optimizer.step()")


@exercise("train_step", points=3)
def test_one_step_equals_plain_sgd(student):
    model, xb, yb = _tiny_problem()
    reference = copy.deepcopy(model)
    _, expected = _sgd_by_hand(reference, xb, yb, lr=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    student.train_step(model, optimizer, nn.CrossEntropyLoss(), xb, yb)
    assert _close(model.parameters(), expected), (
        "after one train_step with SGD the parameters differ from theta - lr * grad: "
        "call loss.backward() BEFORE optimizer.step(), exactly once")


@exercise("train_step", points=3)
def test_gradients_do_not_accumulate_across_steps(student):
    model, xb, yb = _tiny_problem(seed=1)
    reference = copy.deepcopy(model)
    _sgd_by_hand(reference, xb, yb, lr=0.5)
    _, expected = _sgd_by_hand(reference, xb, yb, lr=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(2):
        student.train_step(model, optimizer, nn.CrossEntropyLoss(), xb, yb)
    assert _close(model.parameters(), expected), (
        "after two train_step calls the parameters differ from two independent SGD "
        "steps: PyTorch adds new gradients to .grad, so call optimizer.zero_grad() "
        "at the start of every step")


@exercise("train_step", points=3)
def test_stale_gradients_are_cleared_before_backward(student):
    model, xb, yb = _tiny_problem(seed=2)
    reference = copy.deepcopy(model)
    _, expected = _sgd_by_hand(reference, xb, yb, lr=0.5)
    for p in model.parameters():
        p.grad = torch.full_like(p, 3.0)  # left over from some earlier computation
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    student.train_step(model, optimizer, nn.CrossEntropyLoss(), xb, yb)
    assert _close(model.parameters(), expected), (
        "gradients left in .grad before the call leaked into the update: zero them "
        "(optimizer.zero_grad()) before loss.backward(), not after the step")


@exercise("train_step", points=3)
def test_uses_the_optimizer_it_is_given(student):
    model, xb, yb = _tiny_problem(seed=3)
    reference = copy.deepcopy(model)
    reference_optimizer = torch.optim.Adam(reference.parameters(), lr=0.1)
    for _ in range(3):
        reference_optimizer.zero_grad()
        nn.functional.cross_entropy(reference(xb), yb).backward()
        reference_optimizer.step()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(3):
        student.train_step(model, optimizer, nn.CrossEntropyLoss(), xb, yb)
    assert _close(model.parameters(), list(reference.parameters())), (
        "with Adam, three train_step calls do not match three Adam steps: update the "
        "parameters with optimizer.step(), not by hand")


# --------------------------------------------------------------------------- #
# Exercise 1.3: next_token_pairs(token_ids, context) -> (X, Y)
# --------------------------------------------------------------------------- #
@exercise("next_token_pairs", points=2)
def test_there_are_length_minus_context_pairs(student):
    X, Y = student.next_token_pairs(list(range(10)), 3)
    assert np.shape(X) == (7, 3) and np.shape(Y) == (7,), (
        f"10 tokens with context 3 give 7 pairs: X [7, 3] and Y [7]; got "
        f"{np.shape(X)} and {np.shape(Y)} (the last window has no next token)")


@exercise("next_token_pairs", points=2)
def test_each_row_is_a_window_and_its_label_the_token_after_it(student):
    token_ids = np.array([7, 3, 9, 9, 1, 4, 0, 2, 8, 5, 6])
    context = 4
    X, Y = student.next_token_pairs(token_ids, context)
    for i in range(len(token_ids) - context):
        assert list(np.asarray(X)[i]) == list(token_ids[i:i + context]), (
            f"row {i} of X should be token_ids[{i}:{i + context}]")
        assert int(np.asarray(Y)[i]) == int(token_ids[i + context]), (
            f"Y[{i}] should be token_ids[{i + context}], the token right AFTER the "
            f"window, not the window's last token")


@exercise("next_token_pairs", points=2)
def test_returns_int64_numpy_arrays_for_lists_and_tensors(student):
    for token_ids in ([5, 6, 7, 8], torch.tensor([5, 6, 7, 8])):
        X, Y = student.next_token_pairs(token_ids, 2)
        assert isinstance(X, np.ndarray) and isinstance(Y, np.ndarray), (
            f"for input of type {type(token_ids).__name__}, return numpy arrays "
            "(np.asarray(token_ids) first)")
        assert X.dtype == np.int64 and Y.dtype == np.int64, (
            f"X and Y should have dtype int64, got {X.dtype} and {Y.dtype}")
        assert X.tolist() == [[5, 6], [6, 7]] and Y.tolist() == [7, 8], (
            "next_token_pairs([5, 6, 7, 8], 2) should give X = [[5, 6], [6, 7]] and "
            "Y = [7, 8]")


@exercise("next_token_pairs", points=2)
def test_context_one_gives_bigrams_and_short_input_gives_no_pairs(student):
    X, Y = student.next_token_pairs([4, 2, 4, 1], 1)
    assert np.asarray(X).tolist() == [[4], [2], [4]] and np.asarray(Y).tolist() == [2, 4, 1], (
        "with context 1, X is every token but the last (as a column) and Y every token "
        "but the first")
    X, Y = student.next_token_pairs([4, 2, 4], 3)
    assert np.shape(X) == (0, 3) and np.shape(Y) == (0,), (
        f"a sequence exactly as long as the context has no pairs: expected shapes "
        f"(0, 3) and (0,), got {np.shape(X)} and {np.shape(Y)}")


# --------------------------------------------------------------------------- #
# Exercise 1.4: accuracy(logits, y) -> float
# --------------------------------------------------------------------------- #
@exercise("accuracy", points=2)
def test_accuracy_is_the_fraction_of_correct_rows(student):
    logits = torch.tensor([[0.1, 2.0, -1.0],
                           [3.0, 0.0, 0.5],
                           [0.0, 0.2, 0.1],
                           [-1.0, -2.0, -0.5],
                           [1.0, 0.0, 0.0]])  # argmax per row: 1, 0, 1, 2, 0
    y = torch.tensor([1, 0, 2, 2, 1])  # rows 0, 1 and 3 are right
    got = student.accuracy(logits, y)
    assert isinstance(got, float), (
        f"accuracy returned a {type(got).__name__}: return a Python float (.item())")
    assert abs(got - 3 / 5) < 1e-6, (
        f"3 of 5 rows are right, so the accuracy is 0.6; got {got}: divide the number "
        "of correct rows by the number of rows")


@exercise("accuracy", points=2)
def test_argmax_runs_over_classes_not_over_examples(student):
    logits = torch.tensor([[5.0, 0.0, 0.0],
                           [4.0, 1.0, 0.0],
                           [3.0, 0.0, 2.0]])  # rows all predict class 0
    y = torch.tensor([0, 0, 0])
    got = student.accuracy(logits, y)
    assert abs(float(got) - 1.0) < 1e-6, (
        f"every row's largest logit is in column 0 and every label is 0, so the "
        f"accuracy is 1.0; got {float(got)}: take the argmax over the last dimension "
        "(dim=-1), the classes")


@exercise("accuracy", points=2)
def test_accuracy_of_all_wrong_and_all_right_predictions(student):
    torch.manual_seed(0)
    logits = torch.randn(8, 4)  # [8, 4]
    predicted = torch.tensor([int(np.argmax(row)) for row in logits.tolist()])
    assert abs(float(student.accuracy(logits, predicted)) - 1.0) < 1e-6, (
        "when every label equals the row's argmax the accuracy should be 1.0")
    assert abs(float(student.accuracy(logits, (predicted + 1) % 4))) < 1e-6, (
        "when no label equals the row's argmax the accuracy should be 0.0")
