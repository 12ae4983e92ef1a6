"""The grader, split along its trust boundary.

- ``trusted_harness``: the grader's own process. Reads submissions, holds the tests
  (in memory), runs every test and decides every score.
- ``untrusted_runner``: the student's notebook, run in a separate process inside the
  sandbox; it only executes cells and answers calls.
- ``sandbox``: the bubblewrap command that confines the runner.
- ``channel``: the plain-data protocol between the two (no pickles).
- ``reports``: what the trusted side writes (tables, CSV, JSON, feedback, Gradescope).
"""
