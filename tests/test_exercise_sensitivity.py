"""The graded tests can fail: they pass the reference solution, give zero to the
blank exercise notebook, and catch every typical mistake in tests/mistakes/."""

import importlib.util
import types
from pathlib import Path

import pytest

from rlbook_utils.exercises import (
    exercises_in,
    load_notebook_namespace,
    load_test_module,
    repo_root,
    run_exercise,
)

ROOT = repo_root()
CHAPTERS = sorted(path.stem for path in (ROOT / "solutions").glob("*.ipynb"))
_cache: dict = {}


def cached(key, make):
    if key not in _cache:
        _cache[key] = make()
    return _cache[key]


def specs(chapter):
    return cached(("specs", chapter), lambda: exercises_in(load_test_module(chapter)))


def solution_namespace(chapter):
    return cached(("solution", chapter),
                  lambda: load_notebook_namespace(ROOT / "solutions" / f"{chapter}.ipynb"))


def mistakes(chapter):
    def load():
        path = ROOT / "tests" / "mistakes" / f"{chapter}.py"
        spec = importlib.util.spec_from_file_location(f"rlbook_mistakes_{chapter}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return [obj for obj in vars(module).values() if hasattr(obj, "rlbook_mistake_of")]
    return cached(("mistakes", chapter), load)


def with_mistake(namespace, wrong, exercise_id):
    """A copy of a notebook's ``namespace`` in which ``exercise_id`` is the mistake
    ``wrong``, defined the way a notebook defines it: its globals are the notebook's
    (the mistake module's helpers added where the notebook has no such name), so that
    its calls of the notebook's other functions are calls a test can watch."""
    namespace = dict(namespace)
    for key, value in wrong.__globals__.items():
        if not key.startswith("__"):
            namespace.setdefault(key, value)
    rebound = types.FunctionType(wrong.__code__, namespace, wrong.__name__,
                                 wrong.__defaults__, wrong.__closure__)
    rebound.__kwdefaults__ = wrong.__kwdefaults__
    rebound.__dict__.update(wrong.__dict__)
    namespace[exercise_id] = rebound
    return namespace


def all_mistakes():
    return [pytest.param(chapter, wrong, id=f"{chapter}-{wrong.__name__}")
            for chapter in CHAPTERS for wrong in mistakes(chapter)]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_reference_solution_gets_full_marks(chapter):
    namespace = solution_namespace(chapter)
    for spec in specs(chapter).values():
        result = run_exercise(spec, namespace)
        assert result.score == spec.points, f"{spec.exercise_id}: {result.reason}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_blank_exercise_notebook_scores_zero_as_not_implemented(chapter):
    notebook = ROOT / "chapters" / chapter / "exercises.ipynb"
    namespace = load_notebook_namespace(notebook)
    for spec in specs(chapter).values():
        result = run_exercise(spec, namespace)
        assert result.score == 0, f"{spec.exercise_id} scores {result.score} on its stub"
        assert result.reason == "not implemented", f"{spec.exercise_id}: {result.reason}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_has_typical_mistakes_to_catch(chapter):
    covered = {wrong.rlbook_mistake_of for wrong in mistakes(chapter)}
    missing = set(specs(chapter)) - covered
    assert not missing, f"no typical mistakes in tests/mistakes/{chapter}.py for {missing}"


@pytest.mark.parametrize("chapter, wrong", all_mistakes())
def test_typical_mistake_loses_points(chapter, wrong):
    spec = specs(chapter)[wrong.rlbook_mistake_of]
    namespace = with_mistake(solution_namespace(chapter), wrong, spec.exercise_id)
    result = run_exercise(spec, namespace)
    assert result.score < spec.points, (
        f"the tests of {spec.exercise_id} do not catch: {wrong.rlbook_mistake}")


def _zero(*args, **kwargs):
    return 0.0


def _first_argument(*args, **kwargs):
    return args[0] if args else None


def _zeros_like_first_argument(*args, **kwargs):
    import numpy as np
    import torch

    first = args[0] if args else 0.0
    if isinstance(first, torch.Tensor):
        return torch.zeros_like(first)
    try:
        return np.zeros_like(np.asarray(first, dtype=float))
    except (TypeError, ValueError):
        return 0.0


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_constant_and_identity_answers_earn_nothing(chapter):
    """0.0, zeros shaped like the input, or the input itself: no point anywhere, and a
    typical mistake that is a constant answer earns nothing either (a test of an edge
    case whose answer is a constant also checks a case whose answer is not)."""
    earned = []
    for exercise_id, spec in specs(chapter).items():
        for answer in (_zero, _first_argument, _zeros_like_first_argument):
            result = run_exercise(spec, {**solution_namespace(chapter), exercise_id: answer})
            if result.score:
                earned.append(f"{exercise_id} <- {answer.__name__}: {result.score}")
    for wrong in mistakes(chapter):
        text = wrong.rlbook_mistake.lower()
        if text.startswith(("a constant", "constant answer", "returns a constant",
                            "returns zeros")):
            spec = specs(chapter)[wrong.rlbook_mistake_of]
            result = run_exercise(spec, with_mistake(solution_namespace(chapter), wrong,
                                                     spec.exercise_id))
            if result.score:
                earned.append(f"{spec.exercise_id} <- {wrong.rlbook_mistake}: {result.score}")
    assert not earned, "constant answers that earn points: " + "; ".join(earned)
