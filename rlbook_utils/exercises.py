"""Graded exercises: how tests are declared, run, and reported.

Introduced in chapter 02 and used by every chapter's exercise notebook.

A test of an exercise is an ordinary pytest function that takes the fixture
``student`` (the student's notebook, as a namespace) and is tagged with the
exercise it grades::

    @exercise("discounted_return", points=2)
    def test_first_reward_is_not_discounted(student):
        got = student.discounted_return([1.0], gamma=0.5)
        assert float(got) == 1.0, "the first reward is multiplied by gamma**0 = 1"

The assertion message is what a learner reads when the test fails, so it says what
is wrong and where to look. The same test functions run in three places:

- under pytest, against the reference solution (``tests/exercises/conftest.py``);
- in a notebook, through ``check(fn)`` right under each exercise;
- in the grader (``rlbook_utils.grading``), in the grader's own process, calling the
  student's functions across a channel into a sandboxed process.

An exercise's score is its points times the fraction of its tests that pass.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import sys
import threading
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

TEST_TIMEOUT_SECONDS = 20
"""Longest a single test may run before it fails as a probable infinite loop."""

CHAPTER_PATTERN = re.compile(r"^(\d\d)_[a-z0-9_]+$")


# --------------------------------------------------------------------------- #
# Declaring tests
# --------------------------------------------------------------------------- #
def exercise(exercise_id: str, points: float):
    """Tag a test function as one check of the exercise ``exercise_id``.

    Every test of one exercise must give the same ``points``: they are the
    exercise's points, shared out equally among its tests.
    """

    def tag(test_function):
        test_function.rlbook_exercise = exercise_id
        test_function.rlbook_points = float(points)
        return test_function

    return tag


class MissingDefinition(Exception):
    """The notebook does not define a name a test needs."""


class Student:
    """A student's notebook seen as a namespace: ``student.value_iteration(...)``.

    A name the notebook does not define raises ``MissingDefinition`` with a message
    a learner understands, rather than a bare ``AttributeError``.
    """

    def __init__(self, namespace: dict):
        self._namespace = namespace

    def __getattr__(self, name):
        try:
            return self._namespace[name]
        except KeyError:
            raise MissingDefinition(
                f"the notebook defines no `{name}`: was its cell deleted, renamed, "
                "or not run?"
            ) from None

    def record_calls(self, *names: str, keep: int = 20) -> "CallRecording":
        """Watch the notebook's own functions ``names`` while a test runs one of them::

            with student.record_calls("exact_policy_evaluation") as calls:
                student.policy_iteration(P, 0.9)
            calls.count("exact_policy_evaluation"), calls.of("exact_policy_evaluation")

        Inside the block, a call of the notebook's function ``name`` from any of its
        other functions is recorded: how many calls there were, and the first ``keep``
        calls' arguments and results. It only observes. The grader records the same
        way on the student's side of its sandbox and hands the test plain data.
        """
        return CallRecording(self._namespace, names, keep)

    def make(self, factory, *args, **kwargs):
        """Build an input of a test in the notebook's process: ``factory(*args, **kwargs)``.

        ``factory`` is a class or function of an installed package (``gymnasium``,
        ``torch``, ``numpy`` or ``rlbook_utils``), never one defined in a test file, and
        the arguments are plain data or objects ``make`` built before::

            env = student.make(Watched, student.make(ChainEnv))
            student.run_q_learning(env, 100, 0.5, 0.9, 0.1, seed=0)
            env.reset_seeds

        Here it only calls ``factory``. In the grader the object is built on the
        student's side of the sandbox, so that the notebook's code uses it without a
        round trip per call (an environment stepped thousands of times); the test reads
        what it recorded as values the notebook's process sends back.
        """
        check_factory(factory)
        return factory(*args, **kwargs)


FACTORY_PACKAGES = ("gymnasium", "torch", "numpy", "rlbook_utils")


def factory_path(factory) -> tuple[str, str]:
    """(module, qualified name) of a factory ``Student.make`` accepts, else TypeError."""
    module = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", None)
    if (not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname
            or module.split(".")[0] not in FACTORY_PACKAGES):
        raise TypeError(
            f"student.make builds objects of the packages {', '.join(FACTORY_PACKAGES)} "
            f"only, not {getattr(factory, '__qualname__', factory)!r} of "
            f"{module or 'no module'}: a test file's own classes stay in the grader")
    return module, qualname


check_factory = factory_path


class CallRecording:
    """What ``Student.record_calls`` saw: ``count(name)`` and ``of(name)``, a list of
    ``(args, kwargs, result)`` for the first calls (``result`` is None when the call
    raised)."""

    def __init__(self, namespace: dict, names, keep: int = 20):
        self._namespace, self._names, self._keep = namespace, tuple(names), keep
        self.counts = {name: 0 for name in self._names}
        self.calls = {name: [] for name in self._names}
        self._saved: dict = {}

    def count(self, name: str) -> int:
        return self.counts[name]

    def of(self, name: str) -> list:
        return self.calls[name]

    def _watch(self, name, function):
        def watched(*args, **kwargs):
            self.counts[name] += 1
            record = len(self.calls[name]) < self._keep
            try:
                result = function(*args, **kwargs)
            except BaseException:
                if record:
                    self.calls[name].append((args, kwargs, None))
                raise
            if record:
                self.calls[name].append((args, kwargs, result))
            return result
        return watched

    def __enter__(self) -> "CallRecording":
        for name in self._names:
            function = self._namespace.get(name)
            if callable(function):
                self._saved[name] = function
                self._namespace[name] = self._watch(name, function)
        return self

    def __exit__(self, *exc_info) -> None:
        for name, function in self._saved.items():
            self._namespace[name] = function
        self._saved.clear()


# --------------------------------------------------------------------------- #
# Finding the tests of a chapter
# --------------------------------------------------------------------------- #
def repo_root() -> Path:
    """The checkout this package was installed from (it is installed editable)."""
    return Path(__file__).resolve().parent.parent


def default_tests_dir() -> Path:
    return Path(os.environ.get("RLBOOK_TESTS_DIR", repo_root() / "tests" / "exercises"))


def chapters_with_tests(tests_dir: Path | None = None) -> list[str]:
    tests_dir = Path(tests_dir or default_tests_dir())
    return sorted(
        path.stem[len("test_"):]
        for path in tests_dir.glob("test_*.py")
        if CHAPTER_PATTERN.match(path.stem[len("test_"):])
    )


def load_test_module(chapter: str, tests_dir: Path | None = None):
    """Import ``test_<chapter>.py`` from ``tests_dir`` under a private module name."""
    path = Path(tests_dir or default_tests_dir()) / f"test_{chapter}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no tests for chapter {chapter!r}: {path} is missing")
    module_name = f"rlbook_exercise_tests_{chapter}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class ExerciseSpec:
    exercise_id: str
    points: float
    tests: list = field(default_factory=list)


def exercises_in(test_module) -> dict[str, ExerciseSpec]:
    """The exercises a test module grades, in the order their tests appear."""
    specs: dict[str, ExerciseSpec] = {}
    for name, obj in vars(test_module).items():
        exercise_id = getattr(obj, "rlbook_exercise", None)
        if not (name.startswith("test") and callable(obj) and exercise_id):
            continue
        spec = specs.setdefault(exercise_id, ExerciseSpec(exercise_id, obj.rlbook_points))
        if spec.points != obj.rlbook_points:
            raise ValueError(f"tests of {exercise_id} disagree on its points")
        spec.tests.append(obj)
    return specs


# --------------------------------------------------------------------------- #
# Running the tests of one exercise
# --------------------------------------------------------------------------- #
@dataclass
class TestOutcome:
    name: str
    purpose: str
    passed: bool
    message: str = ""
    not_implemented: bool = False
    kind: str = "passed"  # or: assertion, missing, timeout, error, not_implemented


@dataclass
class ExerciseResult:
    exercise_id: str
    points: float
    outcomes: list[TestOutcome]

    @property
    def n_passed(self) -> int:
        return sum(outcome.passed for outcome in self.outcomes)

    @property
    def score(self) -> float:
        if not self.outcomes:
            return 0.0
        return round(self.points * self.n_passed / len(self.outcomes), 2)

    @property
    def reason(self) -> str:
        failed = [outcome for outcome in self.outcomes if not outcome.passed]
        if not failed:
            return ""
        if all(outcome.not_implemented for outcome in failed):
            return "not implemented"
        first = next(outcome for outcome in failed if not outcome.not_implemented)
        return f"{len(failed)} of {len(self.outcomes)} checks failed: {first.message}"

    def to_dict(self) -> dict:
        return {
            "exercise": self.exercise_id,
            "points": self.points,
            "score": self.score,
            "reason": self.reason,
            "tests": [vars(outcome) for outcome in self.outcomes],
        }


class TestTimeout(Exception):
    pass


def _purpose(test_function) -> str:
    doc = (test_function.__doc__ or "").strip()
    if doc:
        return doc.splitlines()[0]
    return test_function.__name__.removeprefix("test_").replace("_", " ")


def _describe_error(error: BaseException) -> str:
    if isinstance(error, AssertionError):
        text = str(error).split("\nassert ")[0].strip()
        return text or "a check failed (the test gave no message)"
    if isinstance(error, MissingDefinition):
        return str(error)
    if isinstance(error, TestTimeout):
        return str(error)
    if hasattr(error, "rlbook_where"):  # raised by the student's code, in the sandbox
        where = f" ({error.rlbook_where})" if error.rlbook_where else ""
        text = str(error)
        if type(error).__name__ == "StudentError":
            return f"your code raised {text}{where}"
        return f"your code raised {type(error).__name__}: {text}{where}"
    if type(error).__name__ == "NotebookStopped":
        return f"the notebook stopped: {error}"
    frame = traceback.extract_tb(error.__traceback__)[-1:]
    where = f" (line {frame[0].lineno} of {frame[0].name})" if frame else ""
    return f"your code raised {type(error).__name__}: {error}{where}"


def _kind_of(error: BaseException) -> str:
    for kind, error_type in (("assertion", AssertionError), ("missing", MissingDefinition),
                             ("timeout", TestTimeout)):
        if isinstance(error, error_type):
            return kind
    return "error"


def _run_with_timeout(function, seconds: float):
    """Run ``function()``; on the main thread, stop it after ``seconds``."""
    if threading.current_thread() is not threading.main_thread():
        return function()

    def on_alarm(signum, frame):
        raise TestTimeout(
            f"took longer than {seconds:g} s and was stopped: is there a loop that "
            "never ends (e.g. a convergence test that can never be met)?"
        )

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_exercise(spec: ExerciseSpec, namespace,
                 timeout: float = TEST_TIMEOUT_SECONDS) -> ExerciseResult:
    """Run every test of one exercise against a notebook: a namespace (``check`` and
    pytest) or a student object such as the grader's ``RemoteStudent``, which
    enforces ``timeout`` itself (``time_limit``)."""
    student = Student(namespace) if isinstance(namespace, dict) else namespace
    limited = student.time_limit if hasattr(type(student), "time_limit") else None
    outcomes = []
    timed_out = None
    for test_function in spec.tests:
        outcome = TestOutcome(test_function.__name__, _purpose(test_function), True)
        if timed_out:  # one endless loop is enough: do not wait for it again
            outcome.passed, outcome.message, outcome.kind = False, timed_out, "timeout"
            outcomes.append(outcome)
            continue
        try:
            if limited is not None:
                with limited(timeout):
                    test_function(student)
            else:
                _run_with_timeout(lambda: test_function(student), timeout)
        except NotImplementedError:
            outcome.passed, outcome.kind = False, "not_implemented"
            outcome.not_implemented = True
            outcome.message = "not implemented: replace `raise NotImplementedError()`"
        except (Exception, TestTimeout) as error:  # a student's bug is a failed test
            outcome.passed = False
            outcome.message = _describe_error(error)
            outcome.kind = _kind_of(error)
            if isinstance(error, TestTimeout):
                timed_out = outcome.message
            if type(error).__name__ == "NotebookStopped":
                timed_out = outcome.message
        outcomes.append(outcome)
    return ExerciseResult(spec.exercise_id, spec.points, outcomes)


# --------------------------------------------------------------------------- #
# check(fn): instant feedback inside a notebook
# --------------------------------------------------------------------------- #
_checks_enabled = True


def format_feedback(result: ExerciseResult) -> str:
    total = len(result.outcomes)
    if result.n_passed == total:
        return f"{result.exercise_id}: all {total} checks pass ✓"
    if result.reason == "not implemented":
        return f"{result.exercise_id}: not implemented yet (0 of {total} checks pass)"
    lines = [f"{result.exercise_id}: {result.n_passed} of {total} checks pass"]
    messages: dict[str, int] = {}
    for outcome in result.outcomes:  # one line per distinct message, however many fail
        if not outcome.passed:
            messages[outcome.message] = messages.get(outcome.message, 0) + 1
    lines += [f"  ✗ {message}" + (f"  (in {count} checks)" if count > 1 else "")
              for message, count in messages.items()]
    return "\n".join(lines)


def checker(chapter: str, tests_dir: str | Path | None = None):
    """Return ``check(fn)`` for one chapter's exercise notebook.

    ``check(discounted_return)`` runs that exercise's tests against the notebook the
    function was defined in, and prints which pass and, for each failure, why.
    """
    if os.environ.get("RLBOOK_GRADING") == "1":
        # Inside the grader's sandbox: no tests are there to load, and the grader
        # runs them itself, outside the notebook's process.
        return lambda function: None
    test_module = load_test_module(chapter, tests_dir)
    specs = exercises_in(test_module)

    def check(function):
        if not _checks_enabled or os.environ.get("RLBOOK_GRADING") == "1":
            return None  # the grader runs the tests itself, once, under its control
        exercise_id = getattr(function, "__name__", str(function))
        if exercise_id not in specs:
            known = ", ".join(specs)
            print(f"check: {exercise_id!r} is not an exercise of chapter {chapter} "
                  f"(its exercises: {known})")
            return None
        # A function carries its notebook's globals; a class (ReplayBuffer) does not,
        # but the module it was defined in does.
        namespace = getattr(function, "__globals__", None)
        if namespace is None:
            namespace = vars(sys.modules[function.__module__])
        result = run_exercise(specs[exercise_id], namespace)
        print(format_feedback(result))
        return None

    return check


# --------------------------------------------------------------------------- #
# Loading a trusted notebook in-process (reference solutions, under pytest)
# --------------------------------------------------------------------------- #
def load_notebook_namespace(path: str | Path) -> dict:
    """Execute a notebook's code cells in a fresh namespace and return it.

    For our own notebooks only (the reference solutions under pytest): a student's
    notebook is never executed in-process; the grader runs it in its own kernel.
    A cell that raises is skipped, as a kernel would go on to the next cell;
    ``check`` calls are silenced while loading.
    """
    global _checks_enabled
    notebook = nbformat.read(path, as_version=4)
    module = types.ModuleType(f"rlbook_notebook_{Path(path).stem}_{id(notebook)}")
    sys.modules[module.__name__] = module  # so classes and dataclasses resolve
    namespace = module.__dict__
    _checks_enabled = False
    try:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            try:
                exec(compile(cell.source, str(path), "exec"), namespace)
            except Exception:  # noqa: BLE001 - the stub cells of an exercise raise
                pass
    finally:
        _checks_enabled = True
    return namespace



# --------------------------------------------------------------------------- #
# Typical wrong answers, to prove the tests can fail
# --------------------------------------------------------------------------- #
def mistake(exercise_id: str, description: str):
    """Tag a function as a typical wrong answer to ``exercise_id``.

    ``tests/mistakes/NN_slug.py`` collects such functions; a test suite is only
    trusted when every one of them loses points (``tests/test_exercise_sensitivity.py``).
    """

    def tag(function):
        function.rlbook_mistake_of = exercise_id
        function.rlbook_mistake = description
        return function

    return tag
