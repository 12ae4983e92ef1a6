"""The reference DQN of chapter 04, loaded from the lesson's cells tagged `reference`.

Behaviour only: on one seed the agent must solve CartPole-v1 (greedy mean over 20
evaluation episodes >= 475) and still be solved at the end of a shortened budget, and the
TD target must stop bootstrapping on `terminated`, never on `truncated`. No wall-clock
assertions.
"""

import dataclasses
import re

import nbformat
import numpy as np
import pytest
import torch

from rlbook_utils.exercises import repo_root
from rlbook_utils.lessons import REFERENCE_TAG, load_reference
from rlbook_utils.stability import solved_for_good_from

CHAPTER = "04_deep_q_learning"


@pytest.fixture(scope="module")
def reference():
    return load_reference(CHAPTER)


def test_reference_exposes_config_networks_and_train_dqn(reference):
    config = reference.DQNConfig()
    assert config.env_id == "CartPole-v1"
    assert config.total_steps <= 50_000 and config.solved_return == 475.0
    assert config.eval_episodes == 20
    q_net = reference.make_q_net(4, 2, config.hidden)
    assert tuple(q_net(torch.zeros(3, 4)).shape) == (3, 2)


def test_replay_memory_keeps_the_terminated_flag_it_is_given(reference):
    buffer = reference.ReplayBuffer(4, 2, seed=0)
    buffer.add(np.zeros(2), 1, 1.0, np.ones(2), False)  # e.g. truncated by the time limit
    buffer.add(np.zeros(2), 0, 1.0, np.ones(2), True)
    assert len(buffer) == 2
    batch = buffer.sample(64, torch.device("cpu"))
    # action 1 was stored with terminated=False, action 0 with terminated=True
    assert torch.equal(batch["terminated"], (batch["actions"] == 0).float())


def test_training_loop_stores_terminated_not_truncated():
    lesson = nbformat.read(repo_root() / "chapters" / CHAPTER / "lesson.ipynb", as_version=4)
    sources = [cell.source for cell in lesson.cells if cell.cell_type == "code"
               and REFERENCE_TAG in cell.metadata.get("tags", [])
               and "def train_dqn(" in cell.source]
    assert len(sources) == 1, "one reference cell should define train_dqn"
    source = sources[0]
    add_calls = re.findall(r"buffer\.add\(([^)]*)\)", source)
    assert add_calls, "train_dqn should store transitions with buffer.add(...)"
    for arguments in add_calls:
        last = arguments.split(",")[-1].strip()
        assert last == "terminated", (
            f"the stored done flag must be `terminated` alone, got {last!r}: a truncated "
            "step (time limit) still bootstraps")
    assert "(1 - batch[\"terminated\"])" in source.replace("'", '"'), (
        "the TD target should be masked by (1 - batch['terminated'])")
    # The n-step store: a transition is stored as an ending (no bootstrap) only under
    # `if terminated:`, never when the time limit truncated the episode.
    lines = source.splitlines()
    endings = [i for i, line in enumerate(lines)
               if "store_oldest(" in line and ", True," in line]
    assert endings, "train_dqn should store the waiting transitions as endings somewhere"
    for i in endings:
        branch = next(line.split("#")[0].strip() for line in reversed(lines[:i])
                      if line.strip().startswith(("if ", "elif ")))
        assert branch == "if terminated:", (
            f"transitions are stored as endings under {branch!r}: only `terminated` ends the "
            "bootstrap, a truncated step still has a future")


def test_n_step_transition_stores_the_discounted_sum_and_the_state_n_steps_later(reference):
    from collections import deque

    buffer = reference.ReplayBuffer(8, 2, seed=0)
    states = [np.full(2, float(i), dtype=np.float32) for i in range(4)]  # s_0 .. s_3
    waiting = deque([(states[0], 1, 1.0), (states[1], 0, 2.0), (states[2], 1, 3.0)])
    reference.store_oldest(buffer, waiting, states[3], False, 0.5)
    assert len(buffer) == 1 and len(waiting) == 2  # the oldest left the queue
    assert buffer.rewards[0] == 1.0 + 0.5 * 2.0 + 0.25 * 3.0  # r_0 + g r_1 + g^2 r_2
    assert buffer.actions[0] == 1 and buffer.terminated[0] == 0.0
    assert np.array_equal(buffer.obs[0], states[0]) and np.array_equal(buffer.next_obs[0], states[3])
    reference.store_oldest(buffer, waiting, states[3], True, 0.5)  # an ending: fewer rewards
    assert buffer.rewards[1] == 2.0 + 0.5 * 3.0 and buffer.terminated[1] == 1.0


def test_polyak_update_moves_target_by_tau(reference):
    torch.manual_seed(0)
    target = reference.make_q_net(4, 2, 8)
    online = reference.make_q_net(4, 2, 8)
    before = [p.detach().clone() for p in target.parameters()]
    reference.polyak_update(target, online, 0.25)
    for after, old, new in zip(target.parameters(), before, online.parameters()):
        assert torch.allclose(after.detach(), 0.25 * new.detach() + 0.75 * old, atol=1e-6)


def test_dqn_is_solved_and_still_solved_at_the_end_of_a_shortened_budget(reference):
    # The benchmark's protocol on one seed: no early stop, an evaluation every 2,000
    # steps; a run that reached 475 and fell back would fail the second assertion.
    torch.set_num_threads(1)
    # DQN's curves depend on the seed and, through floating-point rounding, on the CPU:
    # seed 0 on this 2-core machine settles at 18k; the bound leaves a margin. With the
    # usual gamma 0.99 and one-step targets (n_step=1) seed 0 is not solved by 30k.
    config = dataclasses.replace(reference.DQNConfig(), total_steps=30_000, eval_every=2_000,
                                 stop_when_solved=False)
    history = reference.train_dqn(config, seed=0)
    returns = history["eval_returns"]
    assert len(history["env_steps"]) == len(returns) == 15
    assert history["solved_at"] is not None, f"never solved: evaluations {returns}"
    good_from = solved_for_good_from(history["env_steps"], returns, 475.0)
    assert good_from is not None and good_from <= 24_000, (
        f"solved at {history['solved_at']:,} steps but not still solved from 24,000 on: "
        f"evaluations {[round(r) for r in returns]}")
    assert history["env_steps"][-1] == 30_000 and "q_net" in history
