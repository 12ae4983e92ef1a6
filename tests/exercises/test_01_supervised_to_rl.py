"""Graded tests of chapter 01: from supervised learning to RL.

Every expected value is computed here, independently of the reference solution:
by hand on tiny inputs, with one full-batch forward pass, or from the closed forms
the exercise markdown states (the softmax's log-derivative e_a - pi).
"""

import math

import numpy as np
import torch
from torch import nn

from rlbook_utils.exercises import exercise


# --------------------------------------------------------------------------- #
# Exercise 1.1: evaluate_in_batches(model, loss_fn, X, y, batch_size)
# --------------------------------------------------------------------------- #
class _RecordingModel(nn.Module):
    """A small classifier that remembers the batch sizes and grad mode it was run with."""

    def __init__(self, n_features=3, n_classes=3, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(n_features, 5), nn.Tanh(), nn.Linear(5, n_classes))
        self.batch_sizes, self.grad_enabled = [], []

    def forward(self, x):
        self.batch_sizes.append(len(x))
        self.grad_enabled.append(torch.is_grad_enabled())
        return self.net(x)


def _classification_data(n, n_features=3, n_classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, n_features, generator=generator)  # [n, n_features]
    y = torch.randint(0, n_classes, (n,), generator=generator)  # [n]
    return X, y


def _full_batch(model, loss_fn, X, y):
    with torch.no_grad():
        logits = model.net(X)  # the plain network: not recorded
        return (loss_fn(logits, y).item(),
                (logits.argmax(dim=-1) == y).float().mean().item())


def _batch_losses(model, loss_fn, X, y, batch_size):
    """(mean loss, rows) of each batch, with the plain network: not recorded."""
    with torch.no_grad():
        return [(loss_fn(model.net(X[start:start + batch_size]),
                         y[start:start + batch_size]).item(),
                 len(X[start:start + batch_size]))
                for start in range(0, len(X), batch_size)]


def _batch_loss_hint(loss, model, loss_fn, X, y, batch_size):
    """The typical mistake a wrong loss matches on this input, if any, else ""."""
    batches = _batch_losses(model, loss_fn, X, y, batch_size)
    full = [(value, rows) for value, rows in batches if rows == batch_size]
    expected = sum(value * rows for value, rows in batches) / len(X)
    candidates = [
        (sum(value for value, _ in batches) / len(batches),
         "that is the plain average of the batch means, which over-weights the smaller "
         "last batch: weight each batch's mean loss by its number of rows and divide by N"),
        (sum(value * rows for value, rows in full) / max(1, sum(rows for _, rows in full)),
         f"that leaves out the last, smaller batch of {len(X) % batch_size} rows: "
         "include every row"),
        (sum(value for value, _ in batches),
         "that is the sum of the batch means: weight each by its number of rows and "
         "divide by N"),
    ]
    hints = [hint for candidate, hint in candidates
             if abs(loss - candidate) < 1e-5 and abs(candidate - expected) > 1e-5]
    return "".join(": " + hint for hint in hints[:1]) + "".join("; or " + h for h in hints[1:])


def _batched(student, model, loss_fn, X, y, batch_size):
    result = student.evaluate_in_batches(model, loss_fn, X, y, batch_size)
    assert isinstance(result, tuple) and len(result) == 2, (
        "evaluate_in_batches should return a tuple (loss, accuracy)")
    return result


@exercise("evaluate_in_batches", points=3)
def test_equals_one_full_batch_pass_when_the_last_batch_is_smaller(student):
    """the last, smaller batch is weighted by its size"""
    model, loss_fn = _RecordingModel(seed=1), nn.CrossEntropyLoss()
    X, y = _classification_data(10, seed=1)
    expected_loss, expected_acc = _full_batch(model, loss_fn, X, y)
    loss, acc = _batched(student, model, loss_fn, X, y, batch_size=4)
    assert abs(float(loss) - expected_loss) < 1e-5, (
        f"10 examples in batches of 4, 4, 2: the loss should be {expected_loss:.5f} (one "
        f"pass over all rows), got {float(loss):.5f}"
        + _batch_loss_hint(float(loss), model, loss_fn, X, y, batch_size=4))
    assert abs(float(acc) - expected_acc) < 1e-6, (
        f"the accuracy should be {expected_acc:.3f} (correct rows / N), got {float(acc)}")


@exercise("evaluate_in_batches", points=3)
def test_any_batch_size_gives_the_same_result(student):
    """batch sizes 1, 3, 7 and larger than N all give the full-batch result"""
    model, loss_fn = _RecordingModel(seed=2), nn.CrossEntropyLoss()
    X, y = _classification_data(7, seed=2)
    expected_loss, expected_acc = _full_batch(model, loss_fn, X, y)
    for batch_size in (1, 3, 7, 50):
        loss, acc = _batched(student, model, loss_fn, X, y, batch_size)
        assert abs(float(loss) - expected_loss) < 1e-5 and abs(float(acc) - expected_acc) < 1e-6, (
            f"with batch_size={batch_size} on 7 examples the result should be "
            f"({expected_loss:.5f}, {expected_acc:.3f}), got ({float(loss):.5f}, "
            f"{float(acc):.3f}): the batch size must not change the answer")


@exercise("evaluate_in_batches", points=3)
def test_the_model_never_sees_more_than_batch_size_rows(student):
    """the model is run on consecutive batches that together cover every row once"""
    model, loss_fn = _RecordingModel(seed=3), nn.CrossEntropyLoss()
    X, y = _classification_data(23, seed=3)
    _batched(student, model, loss_fn, X, y, batch_size=5)
    sizes = model.batch_sizes
    assert sizes, "evaluate_in_batches never called the model on the 23 examples"
    assert max(sizes) <= 5, (
        f"with batch_size=5 the model was called on batches of sizes {sizes}: feed it at "
        "most batch_size rows at a time (X[start:start + batch_size]); a held-out set "
        "too large for memory is the reason for this function")
    assert sum(sizes) == 23, (
        f"the model saw {sum(sizes)} rows in all, but the data set has 23: run every row "
        "through the model exactly once")


@exercise("evaluate_in_batches", points=3)
def test_runs_without_gradients_and_returns_floats(student):
    """evaluation builds no graph, leaves .grad alone and returns two floats"""
    model, loss_fn = _RecordingModel(seed=4), nn.CrossEntropyLoss()
    X, y = _classification_data(9, seed=4)
    before = [p.detach().clone() for p in model.parameters()]
    loss, acc = _batched(student, model, loss_fn, X, y, batch_size=4)
    assert isinstance(loss, float) and isinstance(acc, float), (
        f"returned ({type(loss).__name__}, {type(acc).__name__}): return two Python "
        "floats (.item()), so no tensor or graph outlives the call")
    assert model.grad_enabled, "evaluate_in_batches never called the model on the 9 examples"
    assert not any(model.grad_enabled), (
        "the model ran with gradients enabled: wrap the forward passes in "
        "`with torch.no_grad():`, since evaluation trains nothing and a graph per batch "
        "only costs memory")
    assert all(p.grad is None for p in model.parameters()), (
        "the parameters received gradients: evaluation must not call backward()")
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before)), (
        "the parameters changed: evaluation must not update the model")


@exercise("evaluate_in_batches", points=3)
def test_uses_the_loss_function_it_is_given(student):
    """the loss is loss_fn's, here cross-entropy with label smoothing"""
    model, loss_fn = _RecordingModel(seed=5), nn.CrossEntropyLoss(label_smoothing=0.3)
    X, y = _classification_data(10, seed=5)
    expected_loss, _ = _full_batch(model, loss_fn, X, y)
    plain_loss, _ = _full_batch(model, nn.CrossEntropyLoss(), X, y)
    loss, _ = _batched(student, model, loss_fn, X, y, batch_size=3)
    assert abs(float(loss) - expected_loss) < 1e-5, (
        f"with loss_fn = nn.CrossEntropyLoss(label_smoothing=0.3) the loss should be "
        f"{expected_loss:.5f}, got {float(loss):.5f}"
        + (": that is plain cross-entropy; call the loss_fn argument on each batch rather "
           "than a loss of your own" if abs(float(loss) - plain_loss) < 1e-5 else
           _batch_loss_hint(float(loss), model, loss_fn, X, y, batch_size=3)))


# --------------------------------------------------------------------------- #
# Exercise 1.2: perplexity(logits, targets) -> float
# --------------------------------------------------------------------------- #
def _perplexity_hint(got, logits, targets):
    """The typical mistake a wrong perplexity matches on this input, if any, else ""."""
    rows = torch.arange(len(targets))
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    picked = log_probs[rows, targets]  # [N]
    cross_entropy = float(-picked.mean())
    expected = math.exp(cross_entropy)
    shift = logits.max()  # one max for every row, in the logits' own dtype
    log_norm = shift + torch.log(torch.exp(logits - shift).sum(dim=-1))
    candidates = [
        (cross_entropy, "that is the cross-entropy itself: perplexity is exp of it"),
        (float(torch.exp(-picked.sum())), "that is exp of the SUM of -log p over the "
         f"{len(targets)} targets: take exp of their MEAN"),
        (float(torch.exp(-picked).mean()), "that is the arithmetic mean of 1/p: "
         "perplexity is exp of the mean -log p (a geometric mean)"),
        (2.0 ** cross_entropy, "that is 2 ** (cross-entropy in nats): use exp, the natural "
         "log's base"),
        (float(torch.exp(-logits.double()[rows, targets].mean())), "that treats the raw "
         "logits as log-probabilities: normalise each row first (torch.log_softmax)"),
        (float(torch.exp(-log_probs.max(dim=-1).values.mean())), "that uses the "
         "probability of each row's largest logit: use the probability of its target, "
         "targets[i]"),
        (float(torch.exp(-(logits[rows, targets] - log_norm).double().mean())), "that "
         "normalises every row with one global max: each row needs ITS OWN logsumexp "
         "(torch.log_softmax along dim=-1)"),
    ]
    hints = [hint for candidate, hint in candidates
             if math.isfinite(candidate) and candidate != 1.0  # 1: a constant answer too
             and abs(got - candidate) <= 1e-4 * abs(candidate)
             and abs(candidate - expected) > 1e-4 * expected]
    return "".join(": " + hint for hint in hints[:1]) + "".join("; or " + h for h in hints[1:])


@exercise("perplexity", points=2)
def test_uniform_logits_give_the_number_of_classes(student):
    """a uniform guess among V tokens has perplexity V"""
    for n_classes, value in ((5, 0.0), (12, 3.7)):
        logits = torch.full((6, n_classes), value)  # [6, V], every row uniform
        targets = torch.arange(6) % n_classes
        got = float(student.perplexity(logits, targets))
        assert abs(got - n_classes) < 1e-4, (
            f"uniform logits over {n_classes} classes should give perplexity {n_classes}, "
            f"got {got:.4f}" + _perplexity_hint(got, logits, targets))


@exercise("perplexity", points=2)
def test_perplexity_is_the_geometric_mean_of_inverse_probabilities(student):
    """probabilities 1/2 and 1/4 of the targets give exp((ln 2 + ln 4) / 2) = sqrt(8)"""
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25],
                                     [0.25, 0.5, 0.25]])) + 1.5  # [2, 3], shifted on purpose
    targets = torch.tensor([0, 2])  # probabilities 1/2 and 1/4
    got = student.perplexity(logits, targets)
    assert isinstance(got, float), (
        f"perplexity returned a {type(got).__name__}: return a Python float")
    assert abs(got - math.sqrt(8)) < 1e-5, (
        f"target probabilities 1/2 and 1/4 give perplexity exp((ln 2 + ln 4) / 2) = "
        f"{math.sqrt(8):.4f}, got {got:.4f}" + _perplexity_hint(got, logits, targets))


@exercise("perplexity", points=2)
def test_picks_the_probability_of_each_target(student):
    """each row contributes the probability of its own target, not of its argmax"""
    torch.manual_seed(0)
    logits = torch.randn(7, 4)  # [7, 4]
    targets = torch.tensor([3, 0, 1, 1, 2, 0, 3])
    probs = torch.softmax(logits.double(), dim=-1)
    expected = float(torch.exp(-torch.log(probs[torch.arange(7), targets]).mean()))
    got = float(student.perplexity(logits, targets))
    assert abs(got - expected) < 1e-4 * expected, (
        f"expected perplexity {expected:.4f}, got {got:.4f}"
        + _perplexity_hint(got, logits, targets))


@exercise("perplexity", points=2)
def test_large_logits_do_not_overflow(student):
    """logits of size 1000 give a finite answer (log-softmax, not exp of the logits)"""
    logits = torch.tensor([[1000.0, 999.0, 990.0],
                           [-5.0, 1000.0, 1000.0]])  # [2, 3]
    targets = torch.tensor([0, 1])
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    expected = float(torch.exp(-(log_probs[0, 0] + log_probs[1, 1]) / 2))
    got = float(student.perplexity(logits, targets))
    assert math.isfinite(got) and abs(got - expected) < 1e-4, (
        f"with logits near 1000 the perplexity should be {expected:.4f}, got {got}"
        + (": exp(1000) overflows, so compute log-probabilities as z - logsumexp(z) "
           "(torch.log_softmax or nn.functional.cross_entropy)" if not math.isfinite(got)
           else _perplexity_hint(got, logits, targets)))


@exercise("perplexity", points=2)
def test_targets_far_below_their_row_max_stay_finite(student):
    """rows on scales 1000, 120 and 1, targets far below the max: still finite and exact"""
    logits = torch.tensor([[1000.0, 999.0, 990.0],
                           [120.0, 0.0, 0.0],
                           [0.0, 1.0, 2.0]])  # [3, 3]
    targets = torch.tensor([0, 1, 2])  # row 1's target has probability about e^-120
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    expected = float(torch.exp(-log_probs[torch.arange(3), targets].mean()))  # about 3e17
    got = float(student.perplexity(logits, targets))
    assert math.isfinite(got) and abs(got - expected) < 1e-4 * expected, (
        f"expected perplexity {expected:.4e}, got {got:.4e}"
        + (". An infinite answer means a probability underflowed to 0 before its log: "
           "e^-120 is 0 in float32, so take log-probabilities directly "
           "(torch.log_softmax, z - logsumexp(z) per row), never log(softmax(z))"
           if math.isinf(got) else
           ". nan comes from exp(1000) = inf (inf / inf = nan): compute log-probabilities "
           "as z - logsumexp(z) per row (torch.log_softmax)"
           if math.isnan(got) else _perplexity_hint(got, logits, targets)))


# --------------------------------------------------------------------------- #
# Exercise 1.3: top_k_accuracy(logits, y, k) -> float
# --------------------------------------------------------------------------- #
_TOP_K_LOGITS = torch.tensor([[0.1, 2.0, -1.0, 0.7],
                              [3.0, 0.0, 0.5, -2.0],
                              [0.0, 0.2, 0.1, 0.3],
                              [-1.0, -2.0, -0.5, -3.0],
                              [1.0, 0.4, 0.0, 0.9]])  # ranks per row, best first:
# row 0: 1, 3, 0, 2   row 1: 0, 2, 1, 3   row 2: 3, 1, 2, 0
# row 3: 2, 0, 1, 3   row 4: 0, 3, 1, 2
_TOP_K_LABELS = torch.tensor([3, 0, 2, 1, 2])  # true class at rank 2, 1, 3, 3, 4


def _top_k_hint(got, logits, labels, k):
    """The typical mistake a wrong top-k accuracy matches on this input, if any, else ""."""
    expected = (logits.topk(k, dim=-1).indices == labels[:, None]).any(dim=-1).float().mean()
    candidates = [
        ((logits.topk(k, dim=-1).indices[:, -1] == labels).float().mean(),
         "that counts a row only when its label is the k-th best: count it when the label "
         "is ANY of the k largest"),
        ((logits.topk(k, dim=-1, largest=False).indices == labels[:, None])
         .any(dim=-1).float().mean(),
         "that is the accuracy of the k SMALLEST logits; take the k largest of each row "
         "(topk's largest=True, or argsort descending)"),
        ((logits.topk(min(k + 1, logits.shape[-1]), dim=-1).indices == labels[:, None])
         .any(dim=-1).float().mean(),
         f"that counts the label among the {k + 1} largest: take exactly k"),
        ((logits.topk(k, dim=-1).indices == labels[:, None]).any(dim=-1).float().sum(),
         "that is the number of rows counted: divide it by the number of rows"),
    ]
    if k <= len(logits):
        top = logits.topk(k, dim=0).indices.T  # ranked over the examples
        candidates.append(((top == labels[:len(top), None]).any(dim=-1).float().mean(),
                           "that ranks over the examples (dim=0): rank along the last "
                           "dimension (dim=-1), the classes"))
    hints = [hint for candidate, hint in candidates
             if abs(got - float(candidate)) < 1e-6 and abs(float(candidate - expected)) > 1e-6]
    return "".join(": " + hint for hint in hints[:1]) + "".join("; or " + h for h in hints[1:])


@exercise("top_k_accuracy", points=2)
def test_counts_rows_whose_label_is_among_the_k_best(student):
    """hand-ranked rows: acc@1 = 1/5, acc@2 = 2/5, acc@3 = 4/5"""
    for k, expected in ((1, 0.2), (2, 0.4), (3, 0.8)):
        got = student.top_k_accuracy(_TOP_K_LOGITS, _TOP_K_LABELS, k)
        assert isinstance(got, float), (
            f"top_k_accuracy returned a {type(got).__name__}: return a Python float")
        assert abs(got - expected) < 1e-6, (
            f"with k={k} the true class is among the {k} largest logits in "
            f"{round(expected * 5)} of 5 rows, so acc@{k} = {expected}; got {got}"
            + _top_k_hint(got, _TOP_K_LOGITS, _TOP_K_LABELS, k))


@exercise("top_k_accuracy", points=2)
def test_k_one_is_plain_accuracy_and_k_all_is_one(student):
    """k = 1 is the argmax accuracy; k = n_classes is 1.0"""
    torch.manual_seed(1)
    logits = torch.randn(9, 5)  # [9, 5]
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2, 3])
    plain = (logits.argmax(dim=-1) == labels).float().mean().item()
    got = float(student.top_k_accuracy(logits, labels, 1))
    assert abs(got - plain) < 1e-6, (
        f"with k=1 top-k accuracy is the plain accuracy {plain:.3f}, got {got:.3f}"
        + _top_k_hint(got, logits, labels, 1))
    got = float(student.top_k_accuracy(logits, labels, 5))
    assert abs(got - 1.0) < 1e-6, (
        f"with k = 5 = n_classes every label is among the top k, so acc@5 = 1.0; got {got}"
        + _top_k_hint(got, logits, labels, 5))


@exercise("top_k_accuracy", points=2)
def test_ranks_over_classes_not_over_examples(student):
    """with as many rows as classes, the ranking runs along each row"""
    logits = torch.tensor([[2.0, 0.0, 4.0],
                           [8.0, 6.0, 0.0],
                           [6.0, 3.0, 2.0]])  # top-2 per row: {2, 0}, {0, 1}, {0, 1}
    labels = torch.tensor([0, 0, 1])  # every row's label is in its top 2
    got = float(student.top_k_accuracy(logits, labels, 2))
    assert abs(got - 1.0) < 1e-6, (
        f"each row's label is among that row's 2 largest logits, so acc@2 = 1.0; got {got}"
        + _top_k_hint(got, logits, labels, 2))


# --------------------------------------------------------------------------- #
# Exercise 1.4: score_function_gradient(logits, actions, rewards) -> Tensor
# --------------------------------------------------------------------------- #
def _array(values, dtype=np.float64):
    """A float64 (or integer) numpy copy of a list or tensor, graph or not."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=dtype)


def _closed_form(logits, actions, rewards):
    """mean_i r_i (e_{a_i} - pi), in float64, with pi = softmax(logits)."""
    probs = np.exp(_array(logits))
    probs /= probs.sum()
    one_hot = np.eye(len(probs))[_array(actions, np.int64)]  # [N, n_arms]
    return (_array(rewards)[:, None] * (one_hot - probs)).mean(axis=0)


def _diagnosis(got, logits, actions, rewards):
    """The hint for a wrong estimate: the typical mistake it matches, if any."""
    expected = _closed_form(logits, actions, rewards)
    logits, actions, rewards = _array(logits), _array(actions, np.int64), _array(rewards)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    one_hot = np.eye(len(probs))[actions]  # [N, n_arms]
    centred = rewards - rewards.mean()
    candidates = [
        (-expected, "it is the NEGATIVE of the estimate: a positive reward should raise the "
                    "drawn arm's logit, so return the gradient of the expected reward, not of "
                    "the loss -r log pi"),
        (len(rewards) * expected, "it is N times the estimate: take the MEAN over the N "
                                  "samples, not the sum"),
        ((rewards[:, None] * one_hot).mean(axis=0), "it keeps only the one-hot part: "
         "d log pi(a) / d z_b = 1[a == b] - pi(b), and the arms not drawn lose probability"),
        (-(rewards[:, None] * probs).mean(axis=0), "it keeps only the -pi part: "
         "d log pi(a) / d z_b = 1[a == b] - pi(b), and the drawn arm also gets its 1"),
        ((rewards[:, None] * (one_hot - probs) * probs[actions][:, None]).mean(axis=0),
         "it multiplies by pi(a): the score function is the gradient of LOG pi(a), "
         "not of pi(a)"),
        ((centred[:, None] * (one_hot - probs)).mean(axis=0), "it subtracts the mean "
         "reward: the exercise asks for the plain estimate, rewards used as given"),
    ]
    for candidate, hint in candidates:
        if np.allclose(got, candidate, atol=1e-5) and not np.allclose(candidate, expected,
                                                                      atol=1e-5):
            if np.allclose(candidate, 0.0, atol=1e-5):  # a zero answer matches it too
                return ("every entry is 0, which is also what subtracting the mean reward "
                        "gives here: the exercise asks for the plain estimate, rewards used "
                        "as given")
            return hint
    return ("the estimate is the mean over the N samples of r_i * (e_{a_i} - softmax(logits)), "
            "the gradient of the expected reward")


def _gradient(student, logits, actions, rewards):
    try:
        got = student.score_function_gradient(logits, actions, rewards)
    except RuntimeError as error:
        if "does not require grad" not in str(error):
            raise
        raise AssertionError(
            "autograd failed because these logits do not require grad: the logits may or "
            "may not carry a graph, so differentiate your own leaf copy "
            "(logits.detach().requires_grad_()) or use the closed form") from None
    assert isinstance(got, torch.Tensor), (
        f"score_function_gradient returned a {type(got).__name__}: return a torch tensor")
    assert tuple(got.shape) == (len(logits),), (
        f"the gradient should have one entry per arm, shape ({len(logits)},); got "
        f"{tuple(got.shape)}: average over the N samples (dim 0), keep the arms")
    return got.detach().double().numpy()


@exercise("score_function_gradient", points=3)
def test_one_rewarded_sample_raises_its_own_logit(student):
    """logits [0, 0], arm 0 rewarded 1: gradient [0.5, -0.5] (ascent, not a loss's)"""
    got = _gradient(student, torch.zeros(2), torch.tensor([0]), torch.tensor([1.0]))
    assert np.allclose(got, [0.5, -0.5], atol=1e-6), (
        f"with logits [0, 0], one sample of arm 0 and reward 1 the estimate is "
        f"1 * (e_0 - pi) = [0.5, -0.5]; got {np.round(got, 4).tolist()}: "
        + _diagnosis(got, [0.0, 0.0], [0], [1.0]))


@exercise("score_function_gradient", points=3)
def test_every_arm_gets_the_softmax_jacobian(student):
    """pi = [1/4, 1/2, 1/4], arm 1 rewarded 2: gradient 2 (e_1 - pi) = [-0.5, 1, -0.5]"""
    logits = torch.log(torch.tensor([1.0, 2.0, 1.0]))  # pi = [0.25, 0.5, 0.25]
    got = _gradient(student, logits, torch.tensor([1]), torch.tensor([2.0]))
    assert np.allclose(got, [-0.5, 1.0, -0.5], atol=1e-6), (
        f"pi = [1/4, 1/2, 1/4], one sample of arm 1 with reward 2: the estimate is "
        f"2 * (e_1 - pi) = [-0.5, 1.0, -0.5]; got {np.round(got, 4).tolist()}: "
        + _diagnosis(got, logits, [1], [2.0]))


@exercise("score_function_gradient", points=3)
def test_averages_over_samples_instead_of_summing(student):
    """the same sample repeated 4 times gives the same estimate as once"""
    logits = torch.tensor([0.3, -0.2, 0.5])
    once = _gradient(student, logits, torch.tensor([2]), torch.tensor([1.5]))
    four = _gradient(student, logits, torch.tensor([2, 2, 2, 2]), torch.full((4,), 1.5))
    expected = _closed_form(logits, [2], [1.5])
    assert np.allclose(four, expected, atol=1e-5) and np.allclose(once, expected, atol=1e-5), (
        f"one sample and four copies of it should both give {np.round(expected, 4).tolist()}; "
        f"got {np.round(once, 4).tolist()} and {np.round(four, 4).tolist()}: "
        + (_diagnosis(four, logits, [2] * 4, [1.5] * 4)
           if not np.allclose(four, expected, atol=1e-5) else
           _diagnosis(once, logits, [2], [1.5])))


@exercise("score_function_gradient", points=3)
def test_a_batch_that_follows_pi_exactly_gives_the_exact_gradient(student):
    """counts proportional to pi: the estimate equals pi(a) (rbar(a) - sum pi rbar)"""
    logits = torch.log(torch.tensor([1.0, 2.0, 1.0]))  # pi = [1/4, 1/2, 1/4]
    arm_rewards = np.array([3.0, -1.0, 1.0])  # rbar
    actions = torch.tensor([0, 1, 1, 2])  # each arm as often as pi says
    rewards = torch.tensor(arm_rewards[actions.numpy()])  # [4], float64 on purpose
    pi = np.array([0.25, 0.5, 0.25])
    exact = pi * (arm_rewards - pi @ arm_rewards)  # [0.75, -0.5, 0.25]
    got = _gradient(student, logits, actions, rewards)
    assert np.allclose(got, exact, atol=1e-5), (
        f"when the 4 samples follow pi = [1/4, 1/2, 1/4] exactly, the estimate must equal "
        f"the exact gradient pi(a) (rbar(a) - sum_b pi(b) rbar(b)) = {exact.tolist()}; got "
        f"{np.round(got, 4).tolist()}: " + _diagnosis(got, logits, actions, rewards))


@exercise("score_function_gradient", points=3)
def test_matches_the_closed_form_on_random_batches(student):
    """random logits, samples and rewards: mean_i r_i (e_{a_i} - pi) within 1e-5"""
    rng = np.random.default_rng(0)
    for n_arms, n_samples in ((2, 1), (4, 7), (6, 50)):
        logits = torch.tensor(rng.normal(size=n_arms), dtype=torch.float32)
        actions = torch.tensor(rng.integers(0, n_arms, size=n_samples))
        rewards = torch.tensor(rng.normal(size=n_samples), dtype=torch.float32)
        expected = _closed_form(logits, actions, rewards)
        got = _gradient(student, logits, actions, rewards)
        assert np.allclose(got, expected, atol=1e-5), (
            f"{n_arms} arms, {n_samples} samples: expected {np.round(expected, 4).tolist()}, "
            f"got {np.round(got, 4).tolist()}: " + _diagnosis(got, logits, actions, rewards))
        assert abs(got.sum()) < 1e-5, (
            "the entries of the estimate should sum to 0 (adding a constant to every "
            "logit leaves softmax unchanged)")


def _right_without_graph(student, expected, actions, rewards):
    """Whether the estimate is right for the same logits without requires_grad."""
    try:
        got = _gradient(student, torch.tensor([0.2, -0.4, 0.1]), actions.clone(),
                        rewards.clone())
    except Exception:
        return False
    return bool(np.allclose(got, expected, atol=1e-5))


@exercise("score_function_gradient", points=3)
def test_works_on_logits_that_require_grad_and_leaves_inputs_unchanged(student):
    """logits with or without requires_grad; no input is changed, no .grad left behind"""
    actions = torch.tensor([0, 2, 2, 1, 0])
    rewards = torch.tensor([1.0, -1.0, 0.5, 2.0, 0.0])
    expected = _closed_form([0.2, -0.4, 0.1], actions, rewards)
    for requires_grad in (True, False):
        logits = torch.tensor([0.2, -0.4, 0.1], requires_grad=requires_grad)
        saved = (logits.detach().clone(), actions.clone(), rewards.clone())
        got = _gradient(student, logits, actions, rewards)
        assert np.allclose(got, expected, atol=1e-5), (
            f"with logits.requires_grad={requires_grad} the estimate should be "
            f"{np.round(expected, 4).tolist()}, got {np.round(got, 4).tolist()}: "
            + ("the function must work whether or not the logits carry a graph (detach "
               "them, or make your own leaf copy)"
               if not requires_grad or _right_without_graph(student, expected, actions,
                                                             rewards)
               else _diagnosis(got, [0.2, -0.4, 0.1], actions, rewards)))
        unchanged = (torch.equal(logits.detach(), saved[0]) and torch.equal(actions, saved[1])
                     and torch.equal(rewards, saved[2]))
        assert unchanged, (
            "the inputs changed during the call: do not modify logits, actions or rewards "
            "in place (no -=, no .add_())")
        assert logits.grad is None and logits.requires_grad == requires_grad, (
            "the caller's logits were touched: a .grad appeared or requires_grad changed. "
            "Differentiate a copy (logits.detach().requires_grad_()) or use the closed form, "
            "never backward() through the caller's tensor")
