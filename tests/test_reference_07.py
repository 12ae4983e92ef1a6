"""Chapter 07's reference pipeline behaves as the chapter says, on the page's first GRPO
seed: the SFT warm start is sometimes right (far more often greedily than by sampling),
and GRPO against the verifier's 0/1 reward at least doubles held-out pass@1, raises the
greedy accuracy and pass@8, and stays near the reference model. Runs the lesson's own
cells tagged ``reference`` (one SFT model and one RL run, a few seconds on a laptop core);
behaviour only, never wall-clock time."""

import math

import numpy as np
import pytest

from rlbook_utils.lessons import load_reference


@pytest.fixture(scope="module")
def result():
    return load_reference("07_verifiable_rewards").run_grpo_pipeline(seed=1)


SCALARS = {"pass_at_1_before", "pass_at_1_after", "greedy_before", "greedy_after", "kl",
           "pass_at_8_before", "pass_at_8_after"}


def test_pipeline_returns_every_figure_the_benchmark_reads(result):
    assert SCALARS | {"pass_at_1_curve", "n_samples"} <= set(result), (
        f"missing keys: {(SCALARS | {'pass_at_1_curve', 'n_samples'}) - set(result)}")
    assert all(math.isfinite(result[key]) for key in SCALARS)
    curve = result["pass_at_1_curve"]
    assert len(curve) >= 10 and np.all(np.isfinite(curve)), curve


def test_the_warm_start_is_sometimes_right(result):
    assert 0.05 < result["pass_at_1_before"] < 0.35, (
        "the SFT model should be right on some samples, not most: RL needs both", result)
    assert result["greedy_before"] > 2 * result["pass_at_1_before"], result
    assert result["pass_at_1_curve"][0] == pytest.approx(result["pass_at_1_before"]), (
        "the learning curve starts at the SFT model")


def test_grpo_at_least_doubles_held_out_pass_at_1(result):
    assert result["pass_at_1_after"] >= 2 * result["pass_at_1_before"], result
    assert result["pass_at_1_curve"][-1] == pytest.approx(result["pass_at_1_after"], abs=1e-6)


def test_grpo_raises_greedy_accuracy_and_pass_at_8(result):
    assert result["greedy_after"] > result["greedy_before"], result
    assert result["pass_at_8_after"] > result["pass_at_8_before"], result


def test_the_policy_stays_near_the_reference_model(result):
    assert 0 < result["kl"] < 5, f"KL {result['kl']:.2f} nats per answer: far from the reference"
