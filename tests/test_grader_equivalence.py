"""The grader's verdicts across the sandbox equal the verdicts in one process.

The graded tests run in the trusted harness and call the notebook's functions across
the channel (``RemoteStudent``); ``check`` and the sensitivity tests call them in
one process (``Student``). For every chapter, the reference solution and each typical
mistake of ``tests/mistakes/`` must pass and fail the same tests both ways: the
channel changes where the code runs, never what a test sees.
"""

import nbformat
import pytest

from rlbook_utils.exercises import run_exercise
from rlbook_utils.grading.sandbox import check_bubblewrap
from rlbook_utils.grading.trusted_harness import Limits, RemoteStudent, Session, code_cells
from test_exercise_sensitivity import (
    CHAPTERS, ROOT, mistakes, solution_namespace, specs, with_mistake)

pytestmark = pytest.mark.skipif(bool(check_bubblewrap()), reason=check_bubblewrap())


def passed(result):
    return [outcome.name for outcome in result.outcomes if outcome.passed]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_mistake_fails_the_same_tests_in_the_sandbox(chapter):
    session = Session(Limits(), sandboxed=True)
    try:
        notebook = nbformat.read(ROOT / "solutions" / f"{chapter}.ipynb", as_version=4)
        for _, source in code_cells(notebook):
            assert session.run_cell(source)["error"] is None, source[:80]
        # The mistakes, as a module of the notebook's process (their helpers stay theirs).
        source = (ROOT / "tests" / "mistakes" / f"{chapter}.py").read_text()
        loaded = session.run_cell(
            "import types as _types\n"
            "_mistakes = _types.ModuleType('rlbook_mistakes')\n"
            f"exec(compile({source!r}, 'mistakes.py', 'exec'), _mistakes.__dict__)\n")
        assert loaded["error"] is None, loaded["error"]
        remote = RemoteStudent(session)
        differences = []
        cases = [(spec, None) for spec in specs(chapter).values()]
        cases += [(specs(chapter)[wrong.rlbook_mistake_of], wrong) for wrong in mistakes(chapter)]
        for spec, wrong in cases:
            name = spec.exercise_id
            namespace = solution_namespace(chapter)
            if wrong is not None:
                namespace = with_mistake(namespace, wrong, name)
                # The same there: the mistake, with the notebook's globals.
                swap = (f"_reference_{name} = {name}\n"
                        "for _key, _value in vars(_mistakes).items():\n"
                        "    if not _key.startswith('__'):\n"
                        "        globals().setdefault(_key, _value)\n"
                        f"_wrong = _mistakes.{wrong.__name__}\n"
                        f"{name} = _types.FunctionType(_wrong.__code__, globals(), "
                        "_wrong.__name__, _wrong.__defaults__, _wrong.__closure__)\n"
                        f"{name}.__kwdefaults__ = _wrong.__kwdefaults__")
                assert session.run_cell(swap)["error"] is None
            here = passed(run_exercise(spec, namespace))
            there = passed(run_exercise(spec, remote, timeout=60))
            if here != there:
                label = wrong.__name__ if wrong else "the reference"
                differences.append(f"{name} / {label}: in one process {here}, "
                                   f"in the sandbox {there}")
            if wrong is not None:
                assert session.run_cell(f"{name} = _reference_{name}")["error"] is None
        assert not differences, "\n".join(differences)
    finally:
        session.close()
