"""Claims: every sentence of a lesson that states a result is checked when the book is built.

A lesson states a result in its prose ("every run was solved", "Double Q-learning's share
stays near 5%") and proves it in a hidden cell (tag ``remove-cell``) right after the code
that produced it:

    claim("Double Q-learning's share of left actions stays near the optimal 5%",
          abs(double_share_late - 0.05) < 0.03, late_share=double_share_late)

The quoted text must appear word for word in one of the lesson's markdown cells
(``tests/test_claims.py`` checks that), so the sentence and its check cannot drift apart.
When the run stops supporting the sentence (a change of code, seed, library or machine),
``claim`` raises and the site build fails (the book executes lessons with
``allow_errors: false`` and builds with ``-W``), naming the sentence and the evidence.
"""

from __future__ import annotations

import numbers

import numpy as np


class ClaimError(AssertionError):
    """A sentence of the lesson that this run contradicts."""


def _plain(value):
    if isinstance(value, np.ndarray):
        return [_plain(item) for item in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        return float(f"{float(value):.6g}")  # 6 significant digits: 4.3e-08 stays visible
    return value


def claim(sentence: str, holds, **evidence) -> None:
    """Check that ``sentence``, quoted from the lesson's prose, is true of this run.

    ``holds`` is the condition the sentence asserts (any value numpy can read as one
    bool: a comparison, ``np.all(...)``); ``evidence`` names the measured values that
    decide it, shown in the error when the claim is false.
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise TypeError("claim() needs the sentence it checks, quoted from the lesson")
    verdict = np.asarray(holds)
    if verdict.shape != ():
        raise TypeError(f"claim({sentence!r}): the condition must be one bool, got an array "
                        f"of shape {verdict.shape}; use np.all(...) or np.any(...)")
    if not bool(verdict):
        shown = ", ".join(f"{name}={_plain(value)!r}" for name, value in evidence.items())
        raise ClaimError(f"the lesson says {sentence!r}, but this run contradicts it"
                         + (f" ({shown})" if shown else ""))
