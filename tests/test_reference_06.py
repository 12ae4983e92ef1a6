"""Chapter 06's reference pipeline meets its target: the RL-tuned model's mean labeller
score at least doubles over the reference model while its KL to the reference stays within
the budget the chapter sets. Runs the lesson's own cells tagged ``reference`` (one seed,
about half a minute on a laptop core); behaviour only, never wall-clock time."""

import math

import pytest

from rlbook_utils.lessons import load_reference


@pytest.fixture(scope="module")
def result():
    return load_reference("06_rl_for_llms").run_rlhf_pipeline(seed=0)


def test_pipeline_returns_every_figure_the_benchmark_reads(result):
    expected = {"reward_ref", "reward_rl", "kl_rl", "kl_budget", "reward_dpo", "kl_dpo",
                "rm_accuracy"}
    assert expected <= set(result), f"missing keys: {expected - set(result)}"
    assert all(math.isfinite(result[key]) for key in expected)


def test_rl_at_least_doubles_the_reward_within_the_kl_budget(result):
    assert result["reward_ref"] > 0
    assert result["reward_rl"] >= 2 * result["reward_ref"], result
    assert 0 <= result["kl_rl"] <= result["kl_budget"], result


def test_reward_model_ranks_held_out_pairs_well(result):
    assert result["rm_accuracy"] >= 0.9, result
