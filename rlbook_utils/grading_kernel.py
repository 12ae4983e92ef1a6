"""The part of the grader that runs inside a student's kernel.

The grader injects two kinds of cells the student never sees:

1. before any student cell, ``prepare(...)``: loads the chapter's tests from the
   grader's private copy (so later edits to test files change nothing) and takes a
   snapshot of the modules the tests rely on (numpy, torch, builtins, ...);
2. right after the cell that defines an exercise, ``grade_into(...)``: puts back
   any module attribute the student's code replaced (``np.allclose = ...``), runs
   that exercise's tests against the kernel's namespace, and appends one JSON line
   per exercise, stamped with a nonce that appears only in that cell, to a results
   file outside the student's folder. The grader keeps the first stamped line per
   exercise, so a line forged later by student code that read the nonce is ignored.

This defends against accidents and naive tampering; a student who attacks these
functions themselves, in the same process, is out of its reach (see the README's
threat model).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rlbook_utils.exercises import exercises_in, load_test_module, run_exercise

PROTECTED_PREFIXES = ("numpy", "torch", "math", "builtins", "json", "random", "gymnasium",
                      "pytest", "_pytest", "rlbook_utils", "signal", "traceback")

# The kernel swaps these in and out around every cell on its own.
KERNEL_MANAGED = {("builtins", "input"), ("builtins", "raw_input"), ("getpass", "getpass")}

_state: dict = {}


def _protected(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in PROTECTED_PREFIXES)


def prepare(chapter: str, tests_dir: str) -> None:
    test_module = load_test_module(chapter, Path(tests_dir))
    _state["specs"] = exercises_in(test_module)
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


_MISSING = object()


def grade_into(results_path: str, nonce: str, exercise_ids: list[str],
               namespace: dict, test_timeout: float) -> None:
    tampered = restore_modules()
    with open(results_path, "a", encoding="utf-8") as results:
        for exercise_id in exercise_ids:
            result = run_exercise(_state["specs"][exercise_id], namespace, test_timeout)
            line = {"nonce": nonce, **result.to_dict(), "restored": tampered}
            results.write(json.dumps(line) + "\n")
            results.flush()
