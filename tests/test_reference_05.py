"""Chapter 05's reference implementation, as written in the lesson, solves CartPole-v1.

The lesson's cells tagged ``reference`` are loaded with ``load_reference`` and run as
they are. Behaviour only: the greedy policy's mean return over 20 evaluation episodes
must reach 475 within 100,000 environment steps on seed 0. How long it takes is the
benchmark's business (``rlbook bench pg``), never a test's.
"""

from rlbook_utils.lessons import load_reference

BUDGET = 100_000
SOLVED = 475.0


def test_ppo_solves_cartpole_within_budget_on_seed_0():
    lesson = load_reference("05_policy_gradients")
    assert lesson.config.total_env_steps <= BUDGET and lesson.config.eval_episodes == 20
    history = lesson.train_policy_gradient(lesson.config, seed=0)
    assert len(history["env_steps"]) == len(history["eval_returns"]) > 0
    assert history["solved_at"] is not None, (
        f"never reached {SOLVED} within {BUDGET} env steps; evaluations: "
        f"{[round(r) for r in history['eval_returns']]}")
    assert history["solved_at"] <= BUDGET
    assert history["eval_returns"][-1] >= SOLVED
    assert history["env_steps"][-1] == history["solved_at"]
