"""One seed, one run: the same training curve wherever a reference agent is trained.

Chapters 04 and 05 train their agents in three places: the lesson's kernel, the
benchmark (``rlbook bench dqn``/``pg``) and the tests. ``make_reproducible(seed)``, called
at the top of each training function, makes the three give the same numbers on one
machine: it seeds every random generator the code could touch, fixes torch to one
thread (a sum split over several threads is added in another order, which changes the
last bits and, over thousands of updates, the curve) and asks torch for deterministic
kernels. Environments and evaluation episodes are seeded by the training code itself.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def make_reproducible(seed: int) -> None:
    """Seed Python's, numpy's and torch's generators; one torch thread; deterministic ops.

    Process-wide, as torch's own settings are. Different CPUs may still differ in the
    last bits (their vector instructions differ); the same machine gives the same run.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
