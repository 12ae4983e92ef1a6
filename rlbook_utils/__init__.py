"""rlbook_utils: the small package every chapter of rlbook shares.

- ``envs``: the 2 x 3 grid world of chapter 02, a Gymnasium environment.
- ``plotting``: value heatmaps with greedy-policy arrows (chapters 02, 03).
- ``exercises``: how graded tests are declared and run; ``check`` in notebooks.
- ``assign``: exercise notebooks generated from the reference solutions.
- ``grader``: grading student notebooks in isolated kernels.
"""

__version__ = "0.1.0"
