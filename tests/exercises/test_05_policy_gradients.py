"""Graded tests of chapter 05: policy gradients.

Every expected value is computed here, independently of the reference solution: by hand
for tiny inputs (the arithmetic is in the comments), by closed forms (the entropy of a
uniform policy is log n; d H / d logits = -pi (log pi + H)), by sums written out term by
term (GAE as sum_l (gamma lam)**l delta_{t+l}), or from exact probabilities (the KL
between two softmax policies), never by the same recursion or vectorised line the
solution uses.

Conventions the tests check, as the exercise docstrings state them: rewards[t] is the
reward received after the action at step t; terminated[t] flags that very step; the
ratio is exp(logp_new - logp_old); the entropy is a MEAN over the batch, in nats; the
explained variance is nan when the returns do not vary.

Tolerances accept float32 arithmetic (torch's default dtype, and the lesson's critic
outputs): about 1e-5, relative and absolute. Every typical mistake is off by far more.
No test puts a ratio exactly on the clip boundary |rho - 1| = eps, where rounding decides.

A hint names a cause only when the answer matches what that mistake would give (the
_diagnosis helpers recompute each mistake on the test's own inputs); otherwise it states
the rule.
"""

import math

import numpy as np
import torch

from rlbook_utils.exercises import exercise

RTOL, ATOL = 1e-5, 1e-5  # float32 rounding is about 1e-7 relative: well inside


def _close(got, expected, rtol=RTOL, atol=ATOL):
    """Elementwise |got - expected| <= atol + rtol |expected|; nan matches nan."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(
        np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True))


def _rounded(values, digits=4):
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def _first_match(got, expected, candidates, rtol=RTOL, atol=ATOL):
    """The hints of the candidate mistakes ``got`` matches (and the truth does not).

    A candidate is (value, hint) or (value, hint, "broad"). Several causes can give the
    same numbers on one input: their hints are joined with "or", each once. A broad
    candidate (e.g. both masks missing) is dropped when a precise one listed before it
    already gave the same value (one mask missing). A nan candidate matches nothing.
    """
    hints, matched = [], []
    for value, hint, *broad in candidates:
        if (np.isnan(np.asarray(value, dtype=np.float64)).any()
                or _close(value, expected, rtol, atol) or not _close(got, value, rtol, atol)):
            continue
        if broad and any(_close(value, m, rtol, atol) for m in matched):
            continue
        if hint not in hints:
            hints.append(hint)
        matched.append(value)
    return "; or ".join(hints)


# --------------------------------------------------------------------------- #
# Exercise 5.1: gae_advantages(rewards, values, next_value, terminated, gamma, lam)
# --------------------------------------------------------------------------- #
def _float_array(got, name, length):
    assert isinstance(got, np.ndarray), (
        f"{name} should return a numpy array, got {type(got).__name__}")
    assert got.shape == (length,), (
        f"{name} should return an array of shape ({length},), one entry per step, "
        f"got shape {got.shape}")
    if np.issubdtype(got.dtype, np.integer) or got.dtype == bool:
        raise AssertionError(
            f"{name} should return a FLOAT array, got dtype {got.dtype} (values "
            f"{got.tolist()}): an array made with np.zeros_like(...) of integer inputs "
            "is an integer array and truncates every advantage written into it; start "
            "from np.zeros(T) or convert the inputs with dtype=float")
    assert np.issubdtype(got.dtype, np.floating), (
        f"{name} should return floats, got dtype {got.dtype}: start from np.zeros(T)")
    return got


def _gae_variant(rewards, values, next_value, terminated, gamma, lam, *, delta_mask="same",
                 trace_mask="same", trace_factor=None, bootstrap_last=True,
                 previous_value=False):
    """A_t = sum_l [prod_{j<l} f (1 - m_(t+j))] delta_(t+l), written out term by term.

    The defaults are the rule; the keywords rebuild typical mistakes for the hints:
    masks taken from another step ("next", "prev") or left out ("none"), a trace factor
    other than gamma lam, a last step that never bootstraps, or V(s_(t-1)) in place of
    V(s_t).
    """
    T = len(rewards)
    rewards = [float(r) for r in rewards]
    values = [float(v) for v in values]
    done = [float(d) for d in terminated]
    masks = {"same": done, "none": [0.0] * T, "next": done[1:] + [0.0],
             "prev": [0.0] + done[:-1]}
    next_values = values[1:] + [float(next_value) if bootstrap_last else 0.0]
    if previous_value:  # delta_t = r_t + gamma V(s_t) - V(s_(t-1))
        deltas = [rewards[t] + gamma * values[t] * (1 - masks[delta_mask][t])
                  - values[max(t - 1, 0)] for t in range(T)]
    else:
        deltas = [rewards[t] + gamma * next_values[t] * (1 - masks[delta_mask][t])
                  - values[t] for t in range(T)]
    factor = gamma * lam if trace_factor is None else trace_factor
    advantages = []
    for t in range(T):
        total, weight = 0.0, 1.0
        for l in range(T - t):
            total += weight * deltas[t + l]
            weight *= factor * (1 - masks[trace_mask][t + l])
        advantages.append(total)
    return np.array(advantages)


_SAME_STEP = ("use terminated[t] of the step itself, 1 - d_t, for both delta_t and the "
              "trace")


def _gae_diagnosis(got, args):
    """The typical mistake the answer matches on these arguments, or ''."""
    rewards, values, next_value, terminated, gamma, lam = args
    expected = _gae_variant(*args)

    def variant(**options):
        return _gae_variant(rewards, values, next_value, terminated, gamma, lam, **options)

    integers = all(isinstance(x, (int, np.integer)) and not isinstance(x, bool)
                   for x in list(rewards) + list(values))
    truncated = [(np.trunc(expected), "that is every advantage truncated to an integer: "
                  "the array they were written into had an integer dtype (np.zeros_like "
                  "of integer inputs); start from np.zeros(T)")] if integers else []
    return _first_match(got, expected, truncated + [
        (_gae_variant(rewards, values, next_value, terminated, lam, gamma),
         "it matches gamma and lam swapped: gamma discounts V(s_(t+1)) in delta_t, and "
         "gamma * lam weighs the later deltas"),
        (variant(bootstrap_last=False), "it matches a last step that never bootstraps: "
         "unless terminated[-1], delta_(T-1) = r + gamma * next_value - V(s_(T-1)); a "
         "segment cut by a time limit still has a future"),
        (variant(trace_factor=0.0), "it matches the TD errors delta_t alone: "
         "A_t = delta_t + gamma * lam * (1 - d_t) * A_(t+1) needs A_(t+1) first, so loop "
         "backwards, from t = T - 1 down to 0"),
        (variant(trace_factor=lam), "it matches a trace that decays by lam alone: the "
         "factor on A_(t+1) is gamma * lam"),
        (variant(trace_mask="none"), "it matches a trace that runs past the termination: "
         "delta_t is masked, but gamma * lam * A_(t+1) must be multiplied by "
         "(1 - terminated[t]) too"),
        (variant(delta_mask="none"), "it matches a delta that bootstraps past the "
         "termination: the trace is cut, but gamma * V(s_(t+1)) must be multiplied by "
         "(1 - terminated[t]) too"),
        (variant(delta_mask="none", trace_mask="none"), "it matches no termination mask "
         "at all: at a terminated step nothing is bootstrapped and the trace stops, "
         "so multiply both gamma * V(s_(t+1)) and gamma * lam * A_(t+1) by "
         "(1 - terminated[t])", "broad"),
        (variant(trace_mask="next"), "it matches a trace masked with terminated[t + 1], "
         "the NEXT step's flag: " + _SAME_STEP),
        (variant(delta_mask="next", trace_mask="next"), "it matches the masks of the NEXT "
         "step, terminated[t + 1]: " + _SAME_STEP, "broad"),
        (variant(delta_mask="prev", trace_mask="prev"), "it matches the masks of the "
         "PREVIOUS step, terminated[t - 1]: " + _SAME_STEP, "broad"),
        (variant(previous_value=True), "it matches delta_t = r + gamma V(s_t) - V(s_(t-1)), "
         "the values one step late: values[t] is V(s_t), and V(s_(t+1)) is values[t + 1] "
         "(next_value for the last step)"),
    ])


def _assert_gae(student, args, what, rule):
    """Call gae_advantages(*args) and compare it with the rule written out as sums."""
    got = _float_array(student.gae_advantages(*args), "gae_advantages", len(args[0]))
    expected = _gae_variant(*args)
    assert _close(got, expected), (
        f"{what}: expected {_rounded(expected)}, got {_rounded(got)}: "
        + (_gae_diagnosis(got, args) or rule))
    return got


_REWARDS = [1.0, 0.5, -1.0, 2.0, 1.0]
_VALUES = [0.3, -0.2, 1.1, 0.4, 0.9]


@exercise("gae_advantages", points=3)
def test_worked_example(student):
    """The docstring's example, with its integer lists: [4.0, 6.0], as floats."""
    # A_1 = 1 + 0.5 * 10 - 0 = 6; A_0 = delta_0 + 0.5 * 1 * A_1 = 1 + 0.5 * 6 = 4
    args = ([1, 1], [0, 0], 10.0, [False, False], 0.5, 1.0)
    assert _close(_gae_variant(*args), [4.0, 6.0])
    _assert_gae(student, args, "the docstring's example gae_advantages([1, 1], [0, 0], "
                "10.0, [False, False], 0.5, 1.0)",
                "A_1 = 1 + 0.5 * 10 - 0 = 6, then A_0 = delta_0 + gamma * lam * A_1 = "
                "1 + 0.5 * 6 = 4")


@exercise("gae_advantages", points=3)
def test_integer_inputs_give_float_advantages(student):
    """Integer lists in, the exact float advantages out (not truncated to integers)."""
    # delta = [1 + 0.9 * 1 - 0, 0 + 0 - 1, 2 - 0] = [1.9, -1, 2] (the last step terminated)
    # A_2 = 2; A_1 = -1 + 0.855 * 2 = 0.71; A_0 = 1.9 + 0.855 * 0.71 = 2.50705
    args = ([1, 0, 2], [0, 1, 0], 3, [False, False, True], 0.9, 0.95)
    assert _close(_gae_variant(*args), [2.50705, 0.71, 2.0])
    _assert_gae(student, args, "gae_advantages([1, 0, 2], [0, 1, 0], 3, "
                "[False, False, True], 0.9, 0.95)",
                "delta_t = r + gamma V(s_(t+1)) (1 - d_t) - V(s_t), "
                "A_t = delta_t + gamma lam (1 - d_t) A_(t+1)")


@exercise("gae_advantages", points=3)
def test_lambda_zero_gives_the_one_step_td_errors(student):
    """With lambda = 0 the advantages are the one-step TD errors."""
    gamma, next_value = 0.9, 0.7
    args = (_REWARDS, _VALUES, next_value, [False] * 5, gamma, 0.0)
    # independent of the sums: r_t + gamma V(s_(t+1)) - V(s_t), one step at a time
    next_values = _VALUES[1:] + [next_value]
    assert _close(_gae_variant(*args), [r + gamma * v_next - v for r, v, v_next
                                        in zip(_REWARDS, _VALUES, next_values)])
    _assert_gae(student, args, "with lam = 0 the advantages are the TD errors "
                "r_t + gamma V(s_(t+1)) - V(s_t)",
                "delta_t = rewards[t] + gamma * values[t + 1] - values[t], with "
                "next_value in place of values[T] for the last step")


@exercise("gae_advantages", points=3)
def test_lambda_one_gives_the_bootstrapped_return_minus_the_value(student):
    """With lambda = 1 the advantage is the bootstrapped return minus V(s_t)."""
    gamma, next_value = 0.9, 0.7
    args = (_REWARDS, _VALUES, next_value, [False] * 5, gamma, 1.0)
    # Monte Carlo: G_t = sum_{k>=t} gamma**(k-t) r_k + gamma**(T-t) V(s_T); A_t = G_t - V(s_t)
    monte_carlo = [sum(gamma ** (k - t) * _REWARDS[k] for k in range(t, 5))
                   + gamma ** (5 - t) * next_value - _VALUES[t] for t in range(5)]
    assert _close(_gae_variant(*args), monte_carlo)
    _assert_gae(student, args, "with lam = 1 and no termination, A_t is the discounted "
                "return bootstrapped with next_value, minus V(s_t)",
                "the trace is A_t = delta_t + gamma * lam * A_(t+1), from A_T = 0")


@exercise("gae_advantages", points=3)
def test_matches_the_sum_of_discounted_td_errors(student):
    """A_t equals the sum over l of (gamma lambda)**l delta_(t+l)."""
    _assert_gae(student, (_REWARDS, _VALUES, -0.6, [False] * 5, 0.9, 0.8),
                "with gamma = 0.9, lam = 0.8: A_t = sum_l (gamma lam)**l delta_(t+l)",
                "A_t = delta_t + gamma * lam * A_(t+1), computed backwards from A_T = 0")


@exercise("gae_advantages", points=3)
def test_truncated_segment_bootstraps_from_next_value(student):
    """A segment cut by a time limit bootstraps from next_value."""
    # The segment was cut by a time limit: nothing terminated, so V(s_T) = 10 counts.
    # delta_1 = 1 + 0.5 * 10 - 2 = 4; delta_0 = 1 + 0.5 * 2 - 2 = 0; A_0 = 0 + 0.25 * 4 = 1
    args = ([1.0, 1.0], [2.0, 2.0], 10.0, [False, False], 0.5, 0.5)
    assert _close(_gae_variant(*args), [1.0, 4.0])
    _assert_gae(student, args, "a segment whose last step did not terminate (cut by a "
                "time limit) must bootstrap from next_value = V(s_T) = 10",
                "delta_1 = 1 + 0.5 * 10 - 2 = 4, delta_0 = 1 + 0.5 * 2 - 2 = 0, "
                "A_0 = 0 + 0.25 * 4 = 1; only `terminated` stops the bootstrap")


@exercise("gae_advantages", points=3)
def test_termination_at_the_last_step_ignores_next_value(student):
    """A terminated last step ignores next_value, whatever it is."""
    for next_value in (0.0, 1e6):
        # delta_1 = 1 - 2 = -1 (no bootstrap); delta_0 = 1 + 0.5 * 2 - 2 = 0;
        # A_0 = 0 + 0.25 * (-1) = -0.25
        args = ([1.0, 1.0], [2.0, 2.0], next_value, [False, True], 0.5, 0.5)
        assert _close(_gae_variant(*args), [-0.25, -1.0])
        got = _float_array(student.gae_advantages(*args), "gae_advantages", 2)
        if _close(got, [-0.25, -1.0]):
            continue
        diagnosis = _gae_diagnosis(got, args)
        if diagnosis:
            rule = diagnosis
        elif not _close(got[1], -1.0):
            rule = (f"A_1 should be -1 = r - V(s_1), got {got[1]:.4g}"
                    + (f": that is 1 + 0.5 * next_value - 2, but the last step "
                       f"terminated, so next_value ({next_value:g}) must not count; "
                       "multiply gamma * V(s_(t+1)) by (1 - terminated[t])"
                       if _close(got[1], 1.0 + 0.5 * next_value - 2.0) else ""))
        else:
            rule = (f"A_1 = -1 is right, but A_0 should be delta_0 + gamma * lam * A_1 = "
                    f"0 + 0.25 * (-1) = -0.25, got {got[0]:.4g}"
                    + (": step 0 did not terminate, so its trace goes on to A_1: mask it "
                       "with (1 - terminated[0]) of step 0 itself, and compute A_1 before "
                       "A_0 (loop backwards)" if _close(got[0], 0.0) else
                       ": A_0 = delta_0 + gamma * lam * (1 - terminated[0]) * A_1"))
        raise AssertionError(
            f"terminated = [False, True], next_value = {next_value:g}: expected "
            f"[-0.25, -1.0], got {_rounded(got)}. {rule}")


@exercise("gae_advantages", points=3)
def test_termination_mid_segment_cuts_exactly_at_that_step(student):
    """A termination mid-segment cuts the bootstrap and the trace at that step."""
    # Step 1 ends an episode; step 2 starts the next one (values[2] is its first state).
    terminated = [False, True, False, False, False]
    _assert_gae(student, (_REWARDS, _VALUES, 0.7, terminated, 0.9, 0.8),
                f"terminated = {terminated}: step 1 neither bootstraps from V(s_2) nor "
                "sees the new episode's TD errors, while step 0 still bootstraps from "
                "V(s_1)",
                "delta_t = r + gamma V(s_(t+1)) (1 - d_t) - V(s_t) and "
                "A_t = delta_t + gamma lam (1 - d_t) A_(t+1), with d_t = terminated[t]")


def _changed(name, before, after):
    if np.array_equal(before, after):
        return []
    return [f"{name} was {_rounded(before)} and is now {_rounded(after)}"]


@exercise("gae_advantages", points=3)
def test_leaves_the_callers_buffers_untouched(student):
    """Views of a rollout buffer in, as in the lesson: the buffers are left untouched."""
    # The lesson's layout: buffers [S steps, N envs]; float64 rewards, float32 values from
    # the critic, bool flags; each call gets column views of a piece of episode.
    rewards = np.array([[1.0, 0.5], [0.0, -1.0], [2.0, 0.25], [1.0, 0.0]])
    values = np.array([[0.5, 0.25], [0.5, -0.5], [0.5, 1.0], [0.5, 2.0]], dtype=np.float32)
    terminated = np.array([[False, False], [True, False], [False, False], [False, False]])
    copies = [array.copy() for array in (rewards, values, terminated)]
    calls = [(slice(0, 4), 1, np.float32(-2.0)),  # column 1, the whole segment
             (slice(0, 2), 0, np.float32(0.0)),  # column 0, steps 0-1: ends terminated
             (slice(2, 4), 0, np.float32(3.0)),  # column 0, steps 2-3: bootstraps
             (slice(0, 4), 0, np.float32(3.0))]  # column 0 whole: terminates mid-way
    for steps, env, next_value in calls:
        args = (rewards[steps, env], values[steps, env], next_value,
                terminated[steps, env], 0.9, 0.9)
        expected = _gae_variant(copies[0][steps, env], copies[1][steps, env], next_value,
                                copies[2][steps, env], 0.9, 0.9)
        got = _float_array(student.gae_advantages(*args), "gae_advantages", len(expected))
        changes = (_changed("the rewards buffer", copies[0], rewards)
                   + _changed("the values buffer", copies[1], values)
                   + _changed("the terminated buffer", copies[2], terminated))
        assert not changes, (
            f"gae_advantages(rewards[{steps.start}:{steps.stop}, {env}], ...) changed the "
            f"caller's arrays: {'; '.join(changes)}. The arguments can be views of a "
            "rollout buffer, and np.asarray(x) returns x itself, not a copy: only read "
            "them, and write into new arrays")
        assert _close(got, expected), (
            f"on the views rewards[{steps.start}:{steps.stop}, {env}] (float64), "
            f"values[...] (float32) and terminated[...] of a rollout buffer: expected "
            f"{_rounded(expected)}, got {_rounded(got)}"
            + "".join(": " + hint for hint in [_gae_diagnosis(got, args)] if hint))


# --------------------------------------------------------------------------- #
# Exercise 5.2: ppo_diagnostics(logp_new, logp_old, clip_eps)
# --------------------------------------------------------------------------- #
def _log(values, dtype=torch.float64):
    return torch.log(torch.tensor(values, dtype=dtype))


def _two_floats(got):
    assert isinstance(got, tuple) and len(got) == 2, (
        f"ppo_diagnostics should return a tuple (approx_kl, clip_fraction), got {got!r}")
    for name, value in zip(("approx_kl", "clip_fraction"), got):
        assert isinstance(value, float), (
            f"{name} should be a plain Python float, got {type(value).__name__}: "
            "convert with float(...) or .item()")
    return got


def _kl_diagnosis(got, log_ratios):
    """The typical estimator the approx_kl matches on these log ratios, or ''."""
    lr = np.asarray(log_ratios, dtype=np.float64)
    rho = np.exp(lr)
    expected = float(np.mean((rho - 1) - lr))
    return _first_match(got, expected, [
        (len(lr) * expected, f"that is the SUM over the {len(lr)} samples: approx_kl is "
         "their MEAN"),
        (float(np.mean(-lr)), "that is the mean of -log rho (the k1 estimator), which can "
         "be negative: the exercise asks for the mean of (rho - 1) - log rho"),
        (float(np.mean(lr)), "that is the mean of log rho: the exercise asks for the mean "
         "of (rho - 1) - log rho"),
        (float(np.mean(lr ** 2) / 2), "that is the mean of (log rho)^2 / 2 (the k2 "
         "estimator), another estimator: the exercise asks for (rho - 1) - log rho"),
        (float(np.mean((1 / rho - 1) + lr)), "it matches the ratio upside down, "
         "pi_old / pi_new: rho = exp(logp_new - logp_old)"),
        (float(np.mean(rho - 1)), "it matches mean(rho - 1) without the - log rho term"),
    ])


def _kl_message(got, log_ratios, what):
    lr = np.asarray(log_ratios, dtype=np.float64)
    expected = float(np.mean((np.exp(lr) - 1) - lr))
    return (f"{what}: approx_kl = mean((rho - 1) - log rho) = {expected:.5f}, got "
            f"{got:.5f}: " + (_kl_diagnosis(got, lr) or "with rho = "
                              "exp(logp_new - logp_old), average (rho - 1) - log rho "
                              "over the samples"))


_ONE_SIDE = ("it counts only one side of the clip range: a ratio below 1 - eps is "
             "outside [1 - eps, 1 + eps] just as one above 1 + eps is")


def _clip_diagnosis(got, ratios, clip_eps):
    """The typical clip test the clip_fraction matches on these ratios, or ''."""
    rho = np.asarray(ratios, dtype=np.float64)
    expected = float(np.mean(np.abs(rho - 1) > clip_eps))
    exact = dict(rtol=0.0, atol=1e-6)
    return _first_match(got, expected, [candidate for candidate in [
        (float(np.sum(np.abs(rho - 1) > clip_eps)), "that is the COUNT of clipped samples: "
         "return their share, count / N"),
        (float(np.mean(rho > 1 + clip_eps)), _ONE_SIDE),
        (float(np.mean(rho < 1 - clip_eps)), _ONE_SIDE),
        (float(np.mean(np.abs(np.log(rho)) > clip_eps)), "it matches |log rho| > eps: the "
         "range applies to rho itself, |rho - 1| > eps"),
        (float(np.mean(np.abs(1 / rho - 1) > clip_eps)), "it matches the ratio upside "
         "down, pi_old / pi_new: rho = exp(logp_new - logp_old)"),
    ] if candidate[0] != 0.0], **exact)  # a share of 0 is also what a constant 0 gives


def _clip_message(got, ratios, clip_eps, what):
    rho = np.asarray(ratios, dtype=np.float64)
    expected = float(np.mean(np.abs(rho - 1) > clip_eps))
    return (f"{what}: clip_fraction = {expected:.4f}, got {got:.4f}: "
            + (_clip_diagnosis(got, rho, clip_eps) or "the share of samples with "
               "|rho - 1| > eps, on both sides of the range"))


@exercise("ppo_diagnostics", points=3)
def test_worked_example_ratios_two_and_one(student):
    """The docstring's example: ratios 2 and 1, clip_eps 0.2."""
    approx_kl, clip_fraction = _two_floats(
        student.ppo_diagnostics(_log([0.5, 0.5]), _log([0.25, 0.5]), 0.2))
    expected_kl = ((2.0 - 1.0) - math.log(2.0) + 0.0) / 2  # 0.1534
    assert _close(approx_kl, expected_kl), _kl_message(
        approx_kl, [math.log(2.0), 0.0], "ratios [2, 1] (the docstring's example)")
    assert _close(clip_fraction, 0.5), _clip_message(
        clip_fraction, [2.0, 1.0], 0.2, "ratios [2, 1] with eps = 0.2: only 2 lies "
        "outside [0.8, 1.2]")


@exercise("ppo_diagnostics", points=3)
def test_identical_policies_give_zero_and_zero(student):
    """When the log-probs agree, both diagnostics are 0; when they do not, they are not."""
    logp = _log([0.1, 0.7, 0.2, 0.9])
    approx_kl, clip_fraction = _two_floats(
        student.ppo_diagnostics(logp.clone(), logp.clone(), 0.2))
    assert _close(approx_kl, 0.0) and clip_fraction == 0.0, (
        f"logp_new == logp_old means every ratio is 1: expected (0.0, 0.0), got "
        f"({approx_kl:.4g}, {clip_fraction:.4g})")
    # Ratios e^0.5 = 1.65 (outside [0.8, 1.2]) and e^-0.1 = 0.90 (inside).
    log_ratio = torch.tensor([0.5, -0.1], dtype=torch.float64)
    logp_old = _log([0.3, 0.6])
    approx_kl, clip_fraction = _two_floats(
        student.ppo_diagnostics(logp_old + log_ratio, logp_old, 0.2))
    expected = ((math.exp(0.5) - 1 - 0.5) + (math.exp(-0.1) - 1 + 0.1)) / 2
    assert _close(approx_kl, expected) and _close(clip_fraction, 0.5), (
        f"log ratios [0.5, -0.1]: expected ({expected:.4f}, 0.5), one of two ratios "
        f"outside [0.8, 1.2], got ({approx_kl:.4g}, {clip_fraction:.4g})")


@exercise("ppo_diagnostics", points=3)
def test_approx_kl_is_the_non_negative_estimator(student):
    """approx_kl is the mean of (rho - 1) - log rho, not of -log rho or (log rho)^2 / 2."""
    log_ratio = torch.tensor([0.5, -0.1], dtype=torch.float64)
    logp_old = _log([0.3, 0.6])
    approx_kl, _ = _two_floats(student.ppo_diagnostics(logp_old + log_ratio, logp_old, 0.2))
    # ((e^0.5 - 1) - 0.5 + (e^-0.1 - 1) + 0.1) / 2 = (0.14872 + 0.00484) / 2 = 0.07678
    expected = ((math.exp(0.5) - 1 - 0.5) + (math.exp(-0.1) - 1 + 0.1)) / 2
    assert _close(approx_kl, expected), _kl_message(approx_kl, [0.5, -0.1],
                                                    "log ratios [0.5, -0.1]")


@exercise("ppo_diagnostics", points=3)
def test_approx_kl_estimates_kl_of_old_from_new_on_average(student):
    """Over many samples of pi_old, approx_kl is close to the exact KL(pi_old || pi_new)."""
    p_old = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    p_new = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    exact = float((p_old * (p_old / p_new).log()).sum())  # 0.2749
    # The ratio upside down would estimate E_old[pi_old / pi_new] - 1 - KL = 0.355.
    generator = torch.Generator().manual_seed(0)
    actions = torch.multinomial(p_old, 200_000, replacement=True, generator=generator)
    logp_new, logp_old = p_new.log()[actions], p_old.log()[actions]
    approx_kl, _ = _two_floats(student.ppo_diagnostics(logp_new, logp_old, 0.2))
    # Standard error of the estimate is about 0.0006; the margin is 0.005.
    assert abs(approx_kl - exact) < 0.005, (
        f"with 200,000 actions sampled from pi_old = {p_old.tolist()} and pi_new = "
        f"{p_new.tolist()}, approx_kl should be close to KL(pi_old || pi_new) = "
        f"{exact:.4f}, got {approx_kl:.4f}: "
        + (_kl_diagnosis(approx_kl, (logp_new - logp_old).numpy()) or
           "the mean of (rho - 1) - log rho with rho = exp(logp_new - logp_old) estimates "
           "KL(pi_old || pi_new) from samples of pi_old"))


@exercise("ppo_diagnostics", points=3)
def test_very_unlikely_actions_stay_finite(student):
    """Log-probs near -120 (float32) or -800 (float64): the ratio is still e^1."""
    # exp(-120) is 0 in float32 and exp(-800) is 0 in float64: exp(new) / exp(old) = 0 / 0.
    # log ratios [1, 0]: approx_kl = ((e - 1) - 1 + 0) / 2 = (e - 2) / 2 = 0.35914
    expected_kl = (math.e - 2) / 2
    for dtype, far in ((torch.float32, -120.0), (torch.float64, -800.0)):
        logp_new = torch.tensor([far, -0.5], dtype=dtype)
        logp_old = torch.tensor([far - 1.0, -0.5], dtype=dtype)
        approx_kl, clip_fraction = _two_floats(
            student.ppo_diagnostics(logp_new, logp_old, 0.2))
        finite = math.isfinite(approx_kl) and math.isfinite(clip_fraction)
        assert finite and _close(approx_kl, expected_kl) and _close(clip_fraction, 0.5), (
            f"{dtype} log-probs logp_new = [{far:g}, -0.5], logp_old = [{far - 1:g}, "
            f"-0.5] have ratios [e, 1]: expected ({expected_kl:.5f}, 0.5), got "
            f"({approx_kl:.5f}, {clip_fraction:.4f}). "
            + ((f"exp({far:g}) underflows to 0 in {dtype}, so exp(logp_new) / "
                "exp(logp_old) is 0 / 0 = nan: form the ratio as "
                "exp(logp_new - logp_old), from the difference of the log-probs")
               if not finite else
               _kl_diagnosis(approx_kl, [1.0, 0.0])
               or "rho = exp(logp_new - logp_old) is e and 1 here"))


@exercise("ppo_diagnostics", points=3)
def test_clip_fraction_counts_both_sides_of_the_clip_range(student):
    """Ratios below 1 - eps count as clipped, just as ratios above 1 + eps do."""
    ratios = [1.5, 0.5, 1.1, 0.9, 1.0]
    logp_old = _log([0.1, 0.4, 0.2, 0.5, 0.3])
    logp_new = logp_old + _log(ratios)
    _, clip_fraction = _two_floats(student.ppo_diagnostics(logp_new, logp_old, 0.2))
    assert _close(clip_fraction, 0.4), _clip_message(
        clip_fraction, ratios, 0.2, f"ratios {ratios} with eps = 0.2: 1.5 and 0.5 lie "
        "outside [0.8, 1.2], so 2 / 5")


@exercise("ppo_diagnostics", points=3)
def test_clip_fraction_tests_the_ratio_not_the_log_ratio(student):
    """The clip range applies to rho itself: |rho - 1| > eps, not |log rho| > eps."""
    ratios = [1.21, 1.21, 0.81]  # |rho - 1| = 0.21, 0.21, 0.19; |log rho| = 0.19, 0.19, 0.21
    logp_old = _log([0.2, 0.3, 0.5])
    logp_new = logp_old + _log(ratios)
    _, clip_fraction = _two_floats(student.ppo_diagnostics(logp_new, logp_old, 0.2))
    assert _close(clip_fraction, 2 / 3), _clip_message(
        clip_fraction, ratios, 0.2, f"ratios {ratios} with eps = 0.2: 1.21 is outside "
        "[0.8, 1.2] twice, 0.81 is inside, so 2 / 3")


@exercise("ppo_diagnostics", points=3)
def test_accepts_log_probs_attached_to_the_policy_graph(student):
    """logp_new straight from a policy network (requires grad) is accepted."""
    logits = torch.tensor([[0.2, -0.1], [1.0, 0.0]], requires_grad=True)
    actions = torch.tensor([0, 1])
    logp_new = torch.log_softmax(logits, dim=1)[torch.arange(2), actions]
    logp_old = logp_new.detach() - 0.3  # every ratio is e^0.3 = 1.35
    approx_kl, clip_fraction = _two_floats(student.ppo_diagnostics(logp_new, logp_old, 0.2))
    assert _close(approx_kl, math.exp(0.3) - 1 - 0.3), _kl_message(
        approx_kl, [0.3, 0.3], "float32 log-probs attached to a graph, every ratio "
        "e^0.3 = 1.35")
    assert _close(clip_fraction, 1.0), _clip_message(
        clip_fraction, [math.exp(0.3)] * 2, 0.2, "every ratio is e^0.3 = 1.35, outside "
        "[0.8, 1.2]")


# --------------------------------------------------------------------------- #
# Exercise 5.3: entropy_bonus(logits)
# --------------------------------------------------------------------------- #
def _scalar_tensor(got, name):
    assert isinstance(got, torch.Tensor), (
        f"{name} should return a torch tensor, got {type(got).__name__}")
    assert got.dim() == 0, (
        f"{name} should return ONE number (a 0-dimensional tensor), got shape "
        f"{tuple(got.shape)}: average over the batch with .mean()")
    return got


def _entropies_by_hand(probabilities):
    return [-sum(p * math.log(p) for p in row if p > 0) for row in probabilities]


def _entropy_diagnosis(got, logits):
    """The typical mistake the mean entropy ``got`` matches on these logits, or ''."""
    z = np.asarray(logits.detach().double().numpy())  # [B, n]
    if not math.isfinite(got):
        return ("log(softmax(...)) underflows to log 0 = -inf and 0 * -inf is NaN; take "
                "the log-probabilities from torch.log_softmax")
    B, n = z.shape
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    plogp = np.exp(log_p) * log_p  # [B, n]
    expected = float(-plogp.sum(axis=1).mean())
    log_p0 = z - z.max(axis=0, keepdims=True)  # softmax over the batch axis
    log_p0 -= np.log(np.exp(log_p0).sum(axis=0, keepdims=True))
    wrong_axis = float(-(np.exp(log_p0) * log_p0).sum(axis=0).mean())
    return _first_match(got, expected, [
        (-expected, "that is -H: the entropy is -sum p log p, with the minus sign (it is "
         ">= 0)"),
        (expected / math.log(2), "that is the entropy in bits (log base 2): use the "
         "natural log, nats"),
        (B * expected, f"that is the SUM over the {B} states: return their MEAN"),
        (expected / n, f"that averages over the {n} actions too: SUM -p log p over the "
         "actions, then take the mean over the states"),
        (wrong_axis, "it matches a softmax over the batch axis (dim 0): softmax each row, "
         "over the ACTIONS (the last axis, dim=-1)"),
        (float(-(np.exp(log_p) * z).sum(axis=1).mean()), "it matches -sum p * logits: the "
         "raw logits are not log-probabilities, take them from torch.log_softmax"),
    ], rtol=1e-4, atol=1e-5)


def _entropy_message(got, logits, expected, what, rule):
    return (f"{what}: expected {expected:.4f} nats, got {got:.4f}: "
            + (_entropy_diagnosis(got, logits) or rule))


_ENTROPY_RULE = ("the mean over the rows (states) of -sum over the actions of p log p, "
                 "with p = softmax(row) and the natural log")


@exercise("entropy_bonus", points=2)
def test_uniform_logits_give_log_n_in_nats(student):
    """Equal logits give the entropy log n, whatever their common value; others less."""
    for logits, n in ((torch.full((3, 5), 7.0), 5), (torch.zeros(2, 4), 4)):
        got = _scalar_tensor(student.entropy_bonus(logits), "entropy_bonus").item()
        assert _close(got, math.log(n)), _entropy_message(
            got, logits, math.log(n), f"{tuple(logits.shape)} equal logits are a uniform "
            f"policy over {n} actions in every state, entropy log {n}", _ENTROPY_RULE)
    probabilities = [[0.6, 0.2, 0.2]]
    logits = torch.log(torch.tensor(probabilities, dtype=torch.float64))
    expected = float(np.mean(_entropies_by_hand(probabilities)))  # 0.9503 < log 3
    got = _scalar_tensor(student.entropy_bonus(logits), "entropy_bonus").item()
    assert _close(got, expected), _entropy_message(
        got, logits, expected, "a policy [0.6, 0.2, 0.2] is not uniform: its entropy is "
        f"{expected:.4f}, less than log 3", _ENTROPY_RULE)


@exercise("entropy_bonus", points=2)
def test_is_a_mean_over_states_not_a_sum(student):
    """Two uniform two-action states and a 0.9 / 0.1 one: the mean of the three."""
    probabilities = [[0.5, 0.5], [0.5, 0.5], [0.9, 0.1]]
    logits = torch.log(torch.tensor(probabilities, dtype=torch.float64))
    by_hand = _entropies_by_hand(probabilities)  # [0.6931, 0.6931, 0.3251]
    expected = float(np.mean(by_hand))  # 0.5705; their sum is 1.7114
    got = _scalar_tensor(student.entropy_bonus(logits), "entropy_bonus").item()
    assert _close(got, expected), _entropy_message(
        got, logits, expected, f"three states of entropies {[round(h, 4) for h in by_hand]}: "
        f"the MEAN entropy is {expected:.4f}", _ENTROPY_RULE)


@exercise("entropy_bonus", points=2)
def test_mixed_batch_matches_entropies_by_hand(student):
    """Two different states: the mean of their entropies, each summed over actions."""
    probabilities = [[0.5, 0.25, 0.25], [0.9, 0.05, 0.05]]
    logits = torch.log(torch.tensor(probabilities, dtype=torch.float64)) + 3.0
    by_hand = _entropies_by_hand(probabilities)  # [1.0397, 0.3944]
    expected = float(np.mean(by_hand))  # 0.7171
    got = _scalar_tensor(student.entropy_bonus(logits), "entropy_bonus").item()
    assert _close(got, expected), _entropy_message(
        got, logits, expected, f"policies {probabilities} (one row per state) have "
        f"entropies {_rounded(by_hand)}, mean {expected:.4f}", _ENTROPY_RULE)


@exercise("entropy_bonus", points=2)
def test_large_logits_stay_finite(student):
    """A near-certain policy has entropy ~0, and two huge equal logits give log 2."""
    cases = ((torch.tensor([[1000.0, 0.0, 0.0]]), 0.0),
             (torch.tensor([[1000.0, 1000.0, 0.0]]), math.log(2)))
    for logits, expected in cases:
        got = _scalar_tensor(student.entropy_bonus(logits), "entropy_bonus").item()
        assert math.isfinite(got) and abs(got - expected) < 1e-3, _entropy_message(
            got, logits, expected, f"logits {logits.tolist()}",
            "the answer is finite but wrong: " + _ENTROPY_RULE)


@exercise("entropy_bonus", points=2)
def test_gradient_flows_back_to_the_logits(student):
    """d H / d logits matches the closed form -pi (log pi + H) / B."""
    logits = torch.tensor([[0.3, -0.2, 1.0], [0.0, 0.5, -1.0]], dtype=torch.float64,
                          requires_grad=True)
    got = student.entropy_bonus(logits)
    assert isinstance(got, torch.Tensor) and got.requires_grad, (
        "entropy_bonus must return a tensor attached to the graph of the logits (it is "
        "added to the loss): no .item(), no .detach(), no torch.no_grad(), no "
        "torch.tensor(...) around it")
    got.backward()
    pi = np.exp(logits.detach().numpy())
    pi /= pi.sum(axis=1, keepdims=True)
    entropy = -(pi * np.log(pi)).sum(axis=1, keepdims=True)
    expected = -pi * (np.log(pi) + entropy) / 2  # B = 2 states
    assert logits.grad is not None and _close(logits.grad.numpy(), expected, atol=1e-6), (
        f"d entropy / d logits should be {_rounded(expected)}, got "
        f"{None if logits.grad is None else _rounded(logits.grad.numpy())}")


# --------------------------------------------------------------------------- #
# Exercise 5.4: explained_variance(values, returns)
# --------------------------------------------------------------------------- #
def _python_float(got):
    assert isinstance(got, float), (
        f"explained_variance should return a Python float, got {type(got).__name__}: "
        "convert with float(...)")
    return got


def _ev_diagnosis(got, values, returns):
    """The typical mistake the explained variance ``got`` matches, or ''."""
    v = np.asarray(values, dtype=np.float64)
    g = np.asarray(returns, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        residual, spread, spread_v = np.var(g - v), np.var(g), np.var(v)
        expected = 1 - residual / spread if spread > 0 else math.nan
        correlation = (np.mean((g - g.mean()) * (v - v.mean())) / np.sqrt(spread * spread_v)
                       if spread * spread_v > 0 else math.nan)
        candidates = [
            (1 - np.mean((g - v) ** 2) / spread, "it matches 1 - mean((returns - values)^2) "
             "/ Var[returns]: the numerator is the VARIANCE of returns - values (a "
             "constant offset cancels), not its mean square"),
            (1 - spread / residual, "it matches the ratio upside down, 1 - Var[returns] / "
             "Var[returns - values]: Var[returns - values] goes on top"),
            (1 - residual / spread_v, "it matches Var[values] in the denominator: divide "
             "by the variance of the RETURNS, the second argument"),
            (residual / spread, "that is the UNEXPLAINED share Var[returns - values] / "
             "Var[returns]: the explained variance is 1 minus it"),
            (correlation ** 2, "that is the squared correlation of values and returns, "
             "which ignores how far off the predictions are: use 1 - Var[returns - "
             "values] / Var[returns]"),
            (spread_v / spread, "it matches Var[values] / Var[returns], which compares "
             "spreads, not predictions: use the residual returns - values"),
            (1 - spread_v / spread, "it matches 1 - Var[values] / Var[returns]: the "
             "numerator is the variance of the residual returns - values"),
            (max(0.0, expected) if math.isfinite(expected) else math.nan, "negative "
             "values are allowed (a critic worse than a constant): do not clip at 0"),
            (abs(expected), "negative values are allowed: do not take the absolute "
             "value"),
        ]
    return _first_match(got, expected, candidates)


def _ev_message(got, values, returns, what):
    v, g = np.asarray(values, dtype=np.float64), np.asarray(returns, dtype=np.float64)
    expected = 1 - np.var(g - v) / np.var(g)
    if math.isnan(got) and np.var(v) == 0:
        hint = ("nan here, where the VALUES do not vary but the returns do: only "
                "Var[returns] == 0 (the second argument) makes the ratio undefined")
    elif math.isnan(got):
        hint = "only Var[returns] == 0 makes the ratio undefined, and here it is not 0"
    else:
        hint = (_ev_diagnosis(got, v, g) or "EV = 1 - Var[returns - values] / Var[returns] "
                "(both variances over the N samples)")
    return (f"{what}: 1 - Var[returns - values] / Var[returns] = 1 - {np.var(g - v):g} / "
            f"{np.var(g):g} = {expected:.4f}, got {got:.4f}: {hint}")


@exercise("explained_variance", points=2)
def test_worked_example_is_0_85(student):
    """The docstring's example: values [1, 2, 3, 3] for returns [1, 2, 3, 4]."""
    values, returns = [1, 2, 3, 3], [1, 2, 3, 4]
    got = _python_float(student.explained_variance(values, returns))
    # Var[returns - values] = Var[0, 0, 0, 1] = 0.1875; Var[returns] = 1.25
    assert _close(got, 0.85), _ev_message(got, values, returns,
                                          "the docstring's example, integer lists")


@exercise("explained_variance", points=2)
def test_perfect_critic_even_with_a_constant_offset_scores_one(student):
    """values == returns gives 1, and so does values == returns + 5; half of them, 0.75."""
    returns = np.array([0.5, -1.0, 2.0, 3.5, 0.0])
    for offset in (0.0, 5.0):
        got = _python_float(student.explained_variance(returns + offset, returns))
        assert _close(got, 1.0), _ev_message(
            got, returns + offset, returns, f"values = returns + {offset:g} explain all "
            "of the returns' variance")
    got = _python_float(student.explained_variance(returns / 2, returns))
    assert _close(got, 0.75), _ev_message(
        got, returns / 2, returns, "values = returns / 2 leave Var[returns / 2] = "
        "Var[returns] / 4 unexplained: 1 - 1/4 = 0.75")


@exercise("explained_variance", points=2)
def test_constant_prediction_scores_zero(student):
    """A critic that always says 3 explains nothing: 0; one that moves with them, 0.9."""
    values, returns = [3.0, 3.0, 3.0, 3.0], [1.0, 2.0, 3.0, 4.0]
    got = _python_float(student.explained_variance(values, returns))
    assert _close(got, 0.0), _ev_message(
        got, values, returns, "a constant prediction leaves Var[returns - values] = "
        "Var[returns]")
    values = [1.5, 2.0, 3.0, 3.5]  # returns - values = [-0.5, 0, 0, 0.5]: variance 0.125
    got = _python_float(student.explained_variance(values, returns))
    assert _close(got, 0.9), _ev_message(
        got, values, returns, "Var[returns - values] = 0.125 of Var[returns] = 1.25: "
        "1 - 0.1 = 0.9")


@exercise("explained_variance", points=2)
def test_a_critic_worse_than_a_constant_scores_negative(student):
    """values that move against the returns give 1 - 4 = -3."""
    values, returns = [4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]
    got = _python_float(student.explained_variance(values, returns))
    # returns - values = [-3, -1, 1, 3]: variance 5 = 4 * Var[returns]
    assert _close(got, -3.0), _ev_message(
        got, values, returns, "values [4, 3, 2, 1] for returns [1, 2, 3, 4], a critic "
        "worse than a constant")


@exercise("explained_variance", points=2)
def test_returns_that_do_not_vary_give_nan(student):
    """Var[returns] = 0 leaves the ratio undefined: nan, no exception."""
    got = _python_float(student.explained_variance(np.array([1.0, 2.0, 3.0]),
                                                   np.array([2.0, 2.0, 2.0])))
    assert math.isnan(got), (
        f"all returns equal 2, so Var[returns] = 0 and the ratio is undefined: expected "
        f"nan, got {got}: "
        + ("a division by Var[returns] = 0 gives infinity; test Var[returns] == 0 first "
           "and return float('nan')" if math.isinf(got) else
           f"{got:g} hides that nothing can be explained; return float('nan')"))


@exercise("explained_variance", points=2)
def test_accepts_arrays_and_does_not_modify_them(student):
    """float32 values (a critic's outputs) and float64 returns in, both left untouched."""
    values = np.array([0.0, 1.0, 1.0, 4.0], dtype=np.float32)
    returns = np.array([1.0, 1.0, 2.0, 4.0])
    got = _python_float(student.explained_variance(values, returns))
    # returns - values = [1, 0, 1, 0]: Var 0.25; Var[returns] = 1.5
    assert _close(got, 1 - 0.25 / 1.5), _ev_message(
        got, values, returns, "float32 values [0, 1, 1, 4] for returns [1, 1, 2, 4]")
    assert np.array_equal(values, [0.0, 1.0, 1.0, 4.0]) and np.array_equal(
        returns, [1.0, 1.0, 2.0, 4.0]), (
        f"explained_variance changed its inputs (values are now {values.tolist()}, "
        f"returns {returns.tolist()}): only read them")
