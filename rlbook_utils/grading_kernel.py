"""The part of the grader that runs inside a student's kernel.

The grader injects two kinds of cells the student never sees:

1. before any student cell, ``prepare(chapter, sources)``: builds the chapter's test
   module from source text handed over in the cell itself (nothing on disk that
   another submission could edit), forgets that cell's text, and takes a snapshot
   of the modules the tests rely on (numpy, torch, builtins, ...);
2. right after the cell that defines an exercise, ``grade_into(...)``: puts back
   any module attribute the student's code replaced (``np.allclose = ...``), runs
   that exercise's tests against the kernel's namespace, and displays the results
   under a MIME type of the grader's, stamped with a nonce that appears nowhere
   before that cell. The worker reads them from that cell's outputs only.

This defends against accidents and naive tampering; a student who attacks these
functions themselves, in the same process, is out of its reach (see the README's
threat model).
"""

from __future__ import annotations

import sys
import types

from rlbook_utils.exercises import exercises_in, run_exercise

RESULT_MIME = "application/vnd.rlbook.result+json"

PROTECTED_PREFIXES = ("numpy", "torch", "math", "builtins", "json", "random", "gymnasium",
                      "pytest", "_pytest", "rlbook_utils", "signal", "traceback", "IPython")

# The kernel swaps these in and out around every cell on its own.
KERNEL_MANAGED = {("builtins", "input"), ("builtins", "raw_input"), ("getpass", "getpass")}

_MISSING = object()
_state: dict = {}


def _protected(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in PROTECTED_PREFIXES)


def _forget_current_cell() -> None:
    """Blank this cell's text in IPython's input history (the tests were in it)."""
    try:
        history = get_ipython().history_manager  # noqa: F821 - defined in a kernel
    except NameError:
        return
    for inputs in (history.input_hist_parsed, history.input_hist_raw):
        if inputs:
            inputs[-1] = ""


def prepare(chapter: str, sources: dict[str, str]) -> None:
    _forget_current_cell()
    module = types.ModuleType(f"rlbook_grading_tests_{chapter}")
    module.__file__ = f"test_{chapter}.py"
    exec(compile(sources[f"test_{chapter}.py"], module.__file__, "exec"), module.__dict__)
    _state["specs"] = exercises_in(module)
    _state["modules"] = {
        name: (module, {key: value for key, value in vars(module).items()
                        if not key.startswith("_")})
        for name, module in list(sys.modules.items())
        if module is not None and _protected(name)}


def restore_modules() -> list[str]:
    """Undo replacements of protected modules and their attributes; name them."""
    replaced = []
    for name, (module, attributes) in _state["modules"].items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            replaced.append(name)
        current = vars(module)  # public names only: modules update private caches
        for key, value in attributes.items():
            if (name, key) in KERNEL_MANAGED:
                continue
            if current.get(key, _MISSING) is not value:
                try:
                    setattr(module, key, value)
                except (AttributeError, TypeError):
                    continue
                replaced.append(f"{name}.{key}")
    return replaced


def grade_into(nonce: str, exercise_ids: list[str], namespace: dict,
               test_timeout: float) -> None:
    from IPython.display import display

    tampered = restore_modules()
    for exercise_id in exercise_ids:
        result = run_exercise(_state["specs"][exercise_id], namespace, test_timeout)
        display({RESULT_MIME: {"nonce": nonce, **result.to_dict(), "restored": tampered}},
                raw=True)
