"""The reference DQN of chapter 04, loaded from the lesson's cells tagged `reference`.

Behaviour only: the agent must solve CartPole-v1 (greedy mean over 20 evaluation
episodes >= 475) within 50,000 environment steps on seed 0, and the TD target must stop
bootstrapping on `terminated`, never on `truncated`. No wall-clock assertions.
"""

import re

import nbformat
import numpy as np
import pytest
import torch

from rlbook_utils.exercises import repo_root
from rlbook_utils.lessons import REFERENCE_TAG, load_reference

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


def test_polyak_update_moves_target_by_tau(reference):
    torch.manual_seed(0)
    target = reference.make_q_net(4, 2, 8)
    online = reference.make_q_net(4, 2, 8)
    before = [p.detach().clone() for p in target.parameters()]
    reference.polyak_update(target, online, 0.25)
    for after, old, new in zip(target.parameters(), before, online.parameters()):
        assert torch.allclose(after.detach(), 0.25 * new.detach() + 0.75 * old, atol=1e-6)


def test_dqn_solves_cartpole_on_seed_0_within_50k_steps(reference):
    torch.set_num_threads(1)
    history = reference.train_dqn(reference.DQNConfig(), seed=0)
    assert len(history["env_steps"]) == len(history["eval_returns"]) > 0
    assert history["solved_at"] is not None, (
        f"not solved within 50,000 steps; best evaluation {max(history['eval_returns'])}")
    assert history["solved_at"] <= 50_000
    assert history["eval_returns"][-1] >= 475.0
    assert history["env_steps"][-1] == history["solved_at"]
    assert "q_net" in history
