"""rlbook_utils: the small package every chapter of rlbook shares.

- ``envs``: the 2 x 3 grid world of chapter 02, a Gymnasium environment.
- ``plotting``: value heatmaps with greedy-policy arrows (chapters 02, 03).
- ``exercises``: how graded tests are declared and run; ``check`` in notebooks.
- ``assign``: exercise notebooks generated from the reference solutions.
- ``grading``: the grader, split along its trust boundary (harness, sandboxed runner).
- ``lessons``: a lesson's reference code and a chapter's solutions, loaded for reuse.
- ``claims``: ``claim(sentence, holds)``, a lesson's result sentences checked at build.
- ``reproducible``: one seed, one run (chapters 04, 05).
"""

__version__ = "0.1.0"
