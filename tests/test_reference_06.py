"""Chapter 06's reference pipeline behaves as the chapter says, on seed 0: supervised
fine-tuning improves on the pre-trained model; RL with the KL penalty, by REINFORCE and by
PPO, at least doubles the SFT (reference) model's labeller score within the KL budget; DPO
and the reward model rank held-out pairs well; and the run without a penalty over-optimises:
the labeller's score falls from its peak while the reward model's score rises. Runs the
lesson's own cells tagged ``reference`` (one seed, well under a minute on a laptop core);
behaviour only, never wall-clock time."""

import math

import numpy as np
import pytest

from rlbook_utils.lessons import load_reference


@pytest.fixture(scope="module")
def result():
    return load_reference("06_rl_for_llms").run_rlhf_pipeline(seed=0)


SCALARS = {"reward_pretrained", "reward_ref", "reward_rl", "kl_rl", "reward_reinforce",
           "kl_reinforce", "reward_dpo", "kl_dpo", "reward_hack", "kl_hack", "kl_budget",
           "rm_accuracy", "dpo_accuracy", "reward_model_rl", "reward_model_hack"}
CURVES = {"hack_labeller_curve", "hack_proxy_curve", "hack_kl_curve", "ppo_labeller_curve"}


def test_pipeline_returns_every_figure_the_benchmark_reads(result):
    assert SCALARS | CURVES <= set(result), f"missing keys: {(SCALARS | CURVES) - set(result)}"
    assert all(math.isfinite(result[key]) for key in SCALARS)
    assert all(np.all(np.isfinite(result[key])) and len(result[key]) >= 6 for key in CURVES)


def test_supervised_fine_tuning_improves_on_the_pretrained_model(result):
    assert result["reward_pretrained"] > 0
    assert result["reward_ref"] > result["reward_pretrained"] + 0.05, result


@pytest.mark.parametrize("method", ["rl", "reinforce"])  # PPO and REINFORCE
def test_rl_at_least_doubles_the_reward_within_the_kl_budget(result, method):
    assert result[f"reward_{method}"] >= 2 * result["reward_ref"], result
    assert 0 <= result[f"kl_{method}"] <= result["kl_budget"], result


def test_reward_model_and_dpo_rank_held_out_pairs_well(result):
    assert result["rm_accuracy"] >= 0.9, result
    assert result["dpo_accuracy"] >= 0.9, result
    assert result["reward_dpo"] > result["reward_ref"], result


def test_the_unpenalised_run_over_optimises(result):
    labeller, proxy = result["hack_labeller_curve"], result["hack_proxy_curve"]
    peak = int(np.argmax(labeller))
    assert labeller[peak] > result["reward_ref"], "the labeller's score first rises"
    assert labeller[-1] < labeller[peak] - 0.3, "then falls from its peak by a clear margin"
    assert proxy[-1] > proxy[peak] + 0.5, "while the reward model's score keeps rising"
    assert proxy[-1] >= 0.9 * proxy.max(), "and ends near its highest"
    assert result["kl_hack"] > result["kl_budget"] > result["kl_rl"], result
    assert result["reward_hack"] < result["reward_rl"], result
    assert result["reward_model_hack"] > result["reward_model_rl"], result


def test_the_penalised_run_keeps_its_gain(result):
    curve = result["ppo_labeller_curve"]
    assert curve[-3:].mean() > curve.max() - 0.25, "the penalised run stays near its best"
