"""Same seed, same run: a reference agent's curve does not depend on where it is trained.

The lesson trains in a Jupyter kernel, the benchmark and these tests in a Python process
with torch's default thread count. ``make_reproducible`` (called by each training
function) must make a short DQN and PPO run on one seed give the identical evaluation
curve in a fresh interpreter and in this process, whatever the thread count was before.
"""

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from rlbook_utils.lessons import load_reference

SHORT_RUNS = {
    "04_deep_q_learning": ("train_dqn", "DQNConfig",
                           dict(total_steps=3_000, eval_every=1_000, eval_episodes=5,
                                learning_starts=500, stop_when_solved=False)),
    "05_policy_gradients": ("train_policy_gradient", "PPOConfig",
                            dict(total_env_steps=5_000, eval_every=2_500, eval_episodes=5)),
}
CURVE_KEYS = ("env_steps", "eval_returns", "eval_start_values")


def _short_run(chapter: str, seed: int) -> dict:
    train_name, config_name, overrides = SHORT_RUNS[chapter]
    lesson = load_reference(chapter)
    config = getattr(lesson, config_name)(**overrides)
    history = getattr(lesson, train_name)(config, seed)
    curve = {key: [float(v) for v in history[key]] for key in CURVE_KEYS if key in history}
    curve["episode_returns"] = [float(v) for v in history.get("episode_returns", [])]
    if "diagnostics" in history:
        curve["approx_kl"] = [float(v) for v in history["diagnostics"]["approx_kl"]]
    return curve


def _short_run_in_a_fresh_interpreter(chapter: str, seed: int) -> dict:
    code = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        from test_reproducible import _short_run
        print(json.dumps(_short_run({chapter!r}, {seed})))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("chapter", sorted(SHORT_RUNS))
def test_the_same_seed_gives_the_same_curve_in_any_process(chapter):
    torch.set_num_threads(2)  # what a 2-core machine starts with; the run must not care
    here = _short_run(chapter, seed=3)
    elsewhere = _short_run_in_a_fresh_interpreter(chapter, seed=3)
    assert len(here["eval_returns"]) >= 2
    assert here == elsewhere, "the same seed gave two different runs"
    assert torch.get_num_threads() == 1  # the training function fixed it


@pytest.mark.parametrize("chapter", sorted(SHORT_RUNS))
def test_another_seed_gives_another_run(chapter):
    """the check above could pass on a run that ignores its seed: it must not"""
    assert _short_run(chapter, seed=3) != _short_run(chapter, seed=4)
