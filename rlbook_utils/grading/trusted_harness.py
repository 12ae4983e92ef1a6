"""The trusted side of the grader: reads a submission, runs its cells in the
sandboxed runner, and runs every test here, in this process.

Trust boundary: the student's code runs only in ``untrusted_runner``, in its own
process, inside bubblewrap (``sandbox``). Tests, private tests included, never
leave this process: they are read into memory once (``TestSuite``), and each test
is an ordinary pytest function of ``student`` that this process calls with a
``RemoteStudent``. ``student.value_iteration(P, 0.9)`` sends the function's handle
and plain-data arguments across the channel and gets back plain data (numbers,
strings, containers, numpy arrays, torch tensors with their gradients), never a
pickle; an object that is not data (an instance of the student's class, a
generator) comes back as a ``RemoteObject`` whose methods are further calls. A
test's own objects (an environment, a model, a dict that counts reads) are handed
to the student's code as handles: its calls on them come back here, with plain-data
arguments only, and run under the test's control.

So nothing the notebook does to its own process (patching numpy, rlbook_utils,
builtins or IPython, printing fake results, writing files) reaches a verdict: it
controls only the values its functions return.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from rlbook_utils import __version__
from rlbook_utils.exercises import (
    CHAPTER_PATTERN,
    MissingDefinition,
    TestTimeout,
    default_tests_dir,
    exercises_in,
    factory_path,
    run_exercise,
)
from rlbook_utils.grading import sandbox
from rlbook_utils.grading.channel import (
    ChannelClosed,
    ChannelError,
    Codec,
    Endpoint,
    RemoteError,
    with_gradient_path,
)

MAX_NOTEBOOK_BYTES = 50 * 2**20

GRADER_SEED = 0
"""PYTHONHASHSEED of every kernel; the tests seed their own generators."""


@dataclass
class Limits:
    cell_timeout: float = 60.0  # seconds one student cell may run
    notebook_timeout: float = 600.0  # seconds the whole notebook may take
    memory_mb: int = 4096  # address-space cap of the notebook's process
    output_kb: int = 2048  # what the notebook may print before the rest is dropped
    test_timeout: float = 20.0  # seconds one test may run (an endless loop fails it)
    sandbox: bool = True  # run the notebook inside bubblewrap (False: --no-sandbox)


@dataclass
class Report:
    notebook: str
    student: str
    chapter: str | None
    exercises: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    grader_version: str = __version__
    seed: int = GRADER_SEED

    @property
    def score(self) -> float:
        return round(sum(row["score"] for row in self.exercises), 2)

    @property
    def points(self) -> float:
        return sum(row["points"] for row in self.exercises)

    def to_dict(self) -> dict:
        return {**vars(self), "score": self.score, "points": self.points}


# --------------------------------------------------------------------------- #
# Reading a submission (no student code runs here)
# --------------------------------------------------------------------------- #
def defined_names(source: str) -> set[str]:
    """Top-level functions and classes a cell defines; none if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def code_cells(notebook) -> list[tuple[int, str]]:
    return [(index, cell.source) for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code"]


def detect_chapter(notebook, path: Path, tests: "TestSuite") -> str | None:
    """The chapter a notebook belongs to: its metadata, its name, or its content
    (``notebook`` is None when the file could not be read: its name is all we have)."""
    chapters = tests.chapters()
    claimed = notebook.metadata.get("rlbook", {}).get("chapter") if notebook else None
    if claimed in chapters:
        return claimed
    for part in (path.stem, path.parent.name):
        for chapter in chapters:
            if part.startswith(chapter) or part.startswith(chapter[:2] + "_"):
                return chapter
    if notebook is None:
        return None
    defined = set().union(*(defined_names(src) for _, src in code_cells(notebook)))
    overlap = {chapter: len(defined & set(tests.specs(chapter))) for chapter in chapters}
    best = max(overlap, key=overlap.get, default=None)
    return best if best and overlap[best] else None


def grading_plan(notebook, exercise_ids: list[str]) -> dict[int, list[str]]:
    """Cell index -> exercises graded right after it (the last cell defining each).

    An exercise that no cell defines is graded after the last cell, where its tests
    report the missing name.
    """
    last_definition = {}
    for index, source in code_cells(notebook):
        for name in defined_names(source) & set(exercise_ids):
            last_definition[name] = index
    plan: dict[int, list[str]] = {}
    end = len(notebook.cells)
    for exercise_id in exercise_ids:
        plan.setdefault(last_definition.get(exercise_id, end), []).append(exercise_id)
    return plan


def defined_more_than_once(notebook, exercise_ids: list[str]) -> list[str]:
    cells_defining = {exercise_id: [] for exercise_id in exercise_ids}
    for index, source in code_cells(notebook):
        for name in defined_names(source) & set(exercise_ids):
            cells_defining[name].append(index + 1)
    return [f"`{name}` is defined in cells {', '.join(map(str, cells))}; "
            "the last definition is the one graded"
            for name, cells in cells_defining.items() if len(cells) > 1]


def describe_cell(notebook, index: int) -> str:
    if index >= len(notebook.cells):
        return "the end of the notebook"
    first_line = next((line for line in notebook.cells[index].source.splitlines()
                       if line.strip()), "")
    return f"cell {index + 1} (`{first_line[:50]}`)"


# --------------------------------------------------------------------------- #
# The grader's side
# --------------------------------------------------------------------------- #
GENERIC_STEMS = {"exercises", "submission", "notebook", "solution", "homework", "untitled"}


def student_name(path: Path, root: Path | None = None) -> str:
    """The student a notebook belongs to: its folder under ``root`` when it sits in
    one (``class/alice/02_mdps.ipynb`` is alice's), else its file name, unless that
    is generic (``exercises.ipynb``, ``02_mdps.ipynb``), then its folder's name."""
    if root is not None and path.parent != root and root in path.parents:
        return path.relative_to(root).parts[0]
    stem = path.stem
    if stem.lower() in GENERIC_STEMS or CHAPTER_PATTERN.match(stem):
        return path.resolve().parent.name
    return stem


def _zero_row(spec, reason: str) -> dict:
    """The row of an exercise that could not be graded."""
    return {"exercise": spec.exercise_id, "points": spec.points, "score": 0.0,
            "reason": reason, "tests": []}


class TestSuite:
    """The chapters' test files, read into memory once, before any notebook runs.

    They are compiled from memory into modules of this process; nothing is written
    to disk and nothing is sent to a sandbox, so a submission can neither read nor
    edit them (private tests included).
    """

    def __init__(self, folder: str | Path | None = None):
        folder = Path(folder or default_tests_dir())
        self.files = {path.name: path.read_bytes() for path in sorted(folder.glob("*.py"))}
        self._specs: dict = {}
        self._lock = threading.Lock()

    def chapters(self) -> list[str]:
        return sorted(name[len("test_"):-len(".py")] for name in self.files
                      if name.startswith("test_")
                      and CHAPTER_PATTERN.match(name[len("test_"):-len(".py")]))

    def specs(self, chapter: str) -> dict:
        with self._lock:
            if chapter not in self._specs:
                name = f"test_{chapter}.py"
                module = types.ModuleType(f"rlbook_grading_tests_{chapter}_{secrets.token_hex(4)}")
                module.__file__ = name
                sys.modules[module.__name__] = module  # dataclasses and pickling resolve
                exec(compile(self.files[name].decode("utf-8"), name, "exec"), module.__dict__)
                self._specs[chapter] = exercises_in(module)
            return self._specs[chapter]

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- #
# The session: one sandboxed runner and the channel to it
# --------------------------------------------------------------------------- #
GRACE_SECONDS = 5.0
"""How long past its time limit the runner may take to say so before it is killed."""

_SAFE_BUILTIN_ERRORS = {
    name for name in dir(builtins)
    if isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), Exception)
    and name not in ("AssertionError", "StopIteration", "StopAsyncIteration",
                     "NotImplementedError", "SystemExit", "KeyboardInterrupt",
                     "GeneratorExit", "BaseExceptionGroup", "ExceptionGroup")}


class StudentError(Exception):
    """An exception the student's code raised whose type is the student's own, or an
    AssertionError of theirs (the message is theirs, not a test's)."""


class NotebookStopped(Exception):
    """The runner died or stopped answering: nothing more can be asked of it."""


class Session:
    """One submission's runner, sandboxed (or not, with ``sandboxed=False``)."""

    def __init__(self, limits: Limits, sandboxed: bool = True):
        self.limits = limits
        self.deadline: float | None = None
        self.dead: str | None = None
        self._trusted_errors: dict[str, BaseException] = {}
        self.codec = Codec("trusted", self._proxy, strict=True)
        self.codec.proxy_type = RemoteObject
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = parent
        self.home = None
        runner = sandbox.runner_command(child.fileno(), limits.memory_mb)
        if sandboxed:
            command, cwd, env = sandbox.bwrap_command(runner), None, {}
        else:
            self.home = tempfile.mkdtemp(prefix="rlbook-unsandboxed-")
            command, cwd = runner, self.home
            env = {**sandbox.ENVIRONMENT, "HOME": self.home,
                   "MPLCONFIGDIR": os.path.join(self.home, ".matplotlib")}
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        child.close()
        # Drained all along (a full pipe would stall the runner); its tail explains a
        # runner or sandbox that would not start.
        self._stderr_tail = b""
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()
        self.endpoint = Endpoint(parent, self.codec, self._serve_callback)
        try:
            self._request("hello", timeout=60)
        except NotebookStopped as error:
            self.close()
            lines = self._stderr_tail.decode(errors="replace").strip().splitlines()
            raise NotebookStopped(f"{error}" + (f": {lines[-1][:300]}" if lines else "")) \
                from None

    def _drain_stderr(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: self.process.stderr.read1(4096), b""):
                self._stderr_tail = (self._stderr_tail + chunk)[-4096:]

    # -- lifetime --------------------------------------------------------------- #
    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.sock.close()
        self._stderr_reader.join(timeout=5)
        if self.process.stderr:
            self.process.stderr.close()
        if self.home:
            shutil.rmtree(self.home, ignore_errors=True)

    def _stop(self, why: str) -> NotebookStopped:
        self.dead = why
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return NotebookStopped(why)

    # -- requests ---------------------------------------------------------------- #
    def _request(self, op: str, timeout: float, **fields) -> dict:
        if self.dead:
            raise NotebookStopped(self.dead)
        self.sock.settimeout(timeout + GRACE_SECONDS)
        try:
            return self.endpoint.request(op, timeout=timeout, **fields)
        except TimeoutError:
            raise self._stop("the notebook stopped answering") from None
        except (ChannelClosed, OSError):
            raise self._stop("the notebook's process died") from None
        except ChannelError as error:
            raise self._stop(f"the notebook broke the grader's protocol ({error})") from None

    def _time_left(self) -> float:
        if self.deadline is None:
            return self.limits.test_timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TestTimeout(_timeout_message(self.limits.test_timeout))
        return left

    def _raise(self, error: dict):
        if not isinstance(error, dict):
            raise StudentError("your code raised an error")
        type_name = str(error.get("type", "Exception"))[:100]
        message = str(error.get("message", ""))[:2000]
        where = str(error.get("where", ""))[:200]
        token = error.get("token")
        if isinstance(token, str) and token in self._trusted_errors:
            raise self._trusted_errors.pop(token)
        if type_name == "GradingTimeout":
            raise TestTimeout(_timeout_message(self.limits.test_timeout))
        if type_name == "NotImplementedError":
            raise NotImplementedError(message)
        if type_name == "StopIteration":
            raise StopIteration(message)
        if type_name in _SAFE_BUILTIN_ERRORS:
            exception = getattr(builtins, type_name)(message)
        else:
            exception = StudentError(f"{type_name}: {message}" if message else type_name)
        exception.rlbook_where = where
        exception.rlbook_type = type_name
        raise exception

    def run_cell(self, source: str) -> dict:
        reply = self._request("run_cell", timeout=self.limits.cell_timeout, source=source)
        result = reply.get("ok")
        if not isinstance(result, dict):
            return {"timed_out": False, "error": None, "printed": 0}
        return result

    def lookup(self, name: str):
        reply = self._request("lookup", timeout=self._time_left(), name=name)
        if "error" in reply:
            self._raise(reply["error"])
        result = reply.get("ok") or {}
        if result.get("missing"):
            raise MissingDefinition(
                f"the notebook defines no `{name}`: was its cell deleted, renamed, or not run?")
        return self.codec.decode(result.get("value"))

    def apply(self, function: str, target, args=(), kwargs=None, jacobian=False):
        """Run ``function(target, *args, **kwargs)`` on the student's side."""
        self.codec.tensors = []
        try:
            encoded_args = self.codec.encode(list(args))
            encoded_kwargs = self.codec.encode(dict(kwargs or {}))
            tensors = self.codec.tensors
        finally:
            self.codec.tensors = None
        reply = self._request("apply", timeout=self._time_left(), function=function,
                              target=target._rlbook_ref(), args=encoded_args,
                              kwargs=encoded_kwargs, jacobian=bool(jacobian and tensors))
        if "error" in reply:
            self._raise(reply["error"])
        result = reply.get("ok") or {}
        after = result.get("arguments_after")
        if isinstance(after, list) and len(after) == 2:
            new_args, new_kwargs = (self.codec.decode(tree) for tree in after)
            _copy_back(list(args), new_args)
            _copy_back(dict(kwargs or {}), new_kwargs)
        value = self.codec.decode(result.get("value"))
        return with_gradient_path(value, tensors) if tensors else value

    def make(self, factory, args, kwargs):
        module, qualname = factory_path(factory)
        self.codec.tensors = []
        try:
            encoded = {"args": self.codec.encode(list(args)),
                       "kwargs": self.codec.encode(dict(kwargs))}
        finally:
            self.codec.tensors = None
        reply = self._request("make", timeout=self._time_left(), module=module,
                              qualname=qualname, **encoded)
        if "error" in reply:
            self._raise(reply["error"])
        return self.codec.decode((reply.get("ok") or {}).get("value"))

    def record(self, names, keep: int):
        reply = self._request("record", timeout=self._time_left(), names=list(names),
                              keep=keep)
        if "error" in reply:
            self._raise(reply["error"])
        return (reply.get("ok") or {}).get("recording")

    def recorded(self, key):
        reply = self._request("recorded", timeout=max(self._time_left(), 1.0), recording=key)
        if "error" in reply:
            self._raise(reply["error"])
        result = reply.get("ok") or {}
        return result.get("counts") or {}, self.codec.decode(result.get("calls"))

    # -- the student's code calling the test's objects back ----------------------- #
    def _proxy(self, side, handle_id, type_name):
        if side != "untrusted":
            raise ChannelError("a handle of the grader's that it does not know")
        return RemoteObject(self, handle_id, type_name)

    def _serve_callback(self, message: dict) -> dict:
        if message.get("op") != "apply":
            raise RemoteError("ChannelError", "the grader's objects only answer calls")
        function = message.get("function")
        target = self.codec.decode(message.get("target"))
        if isinstance(target, RemoteObject):
            raise RemoteError("TypeError", "not one of the grader's objects")
        args = self.codec.decode(message.get("args"))
        kwargs = self.codec.decode(message.get("kwargs"))
        if not isinstance(args, list) or not isinstance(kwargs, dict) or _holds_remote(
                [args, kwargs]):
            raise RemoteError("TypeError", "the grader's objects accept only plain data "
                              "(numbers, strings, lists, arrays, tensors), not objects "
                              "of the notebook")
        try:
            result = _callback(function, target, args, kwargs,
                               message.get("grad_enabled") is not False)
        except Exception as error:  # noqa: BLE001 - the test's object raised: pass it on
            token = secrets.token_hex(8)
            self._trusted_errors[token] = error
            raise RemoteError(type(error).__name__, str(error)[:2000], "", token) from None
        return {"ok": self.codec.encode(result)}


def _timeout_message(seconds: float) -> str:
    return (f"took longer than {seconds:g} s and was stopped: is there a loop that never "
            "ends (e.g. a convergence test that can never be met)?")


def _holds_remote(value, depth=0) -> bool:
    if isinstance(value, RemoteObject):
        return True
    if depth > 50:
        return False
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_remote(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return any(_holds_remote(k, depth + 1) or _holds_remote(v, depth + 1)
                   for k, v in value.items())
    return False


_CALLBACK_DUNDERS = {"call": lambda f, *a, **k: f(*a, **k), "getitem": lambda o, k: o[k],
                     "len": len, "iter": iter, "next": next, "contains": lambda o, x: x in o,
                     "bool": bool, "repr": lambda o: repr(o)[:2000],
                     "str": lambda o: str(o)[:2000]}


def _callback(function, target, args, kwargs, grad_enabled: bool):
    """What the student's code may do with a test's object: call it, call its public
    methods, read public attributes, index, iterate; never set anything."""
    if function == "getattr":
        (name,) = args if len(args) == 1 and not kwargs else (None,)
        if not isinstance(name, str) or name.startswith("_"):
            raise AttributeError(f"the grader's {type(target).__name__} has no public "
                                 f"attribute {name!r}")
        return getattr(target, name)
    operation = _CALLBACK_DUNDERS.get(function)
    if operation is None:
        raise TypeError(f"the grader's {type(target).__name__} does not allow {function}")
    torch = sys.modules.get("torch")
    if torch is None:
        return operation(target, *args, **kwargs)
    with torch.set_grad_enabled(grad_enabled):
        return operation(target, *args, **kwargs)


def _copy_back(original, new, depth=0) -> None:
    """Make the test's arguments show what the student's code did to its copies
    (changed values, an appended element, a .grad), as with one shared object."""
    if depth > 50:
        return
    np_module = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(original, torch.Tensor):
        if not isinstance(new, torch.Tensor) or new.shape != original.shape:
            return
        with torch.no_grad():
            if new.dtype == original.dtype and not torch.equal(new.detach(), original.detach()):
                original.copy_(new)
        if original.is_leaf:
            if new.requires_grad != original.requires_grad and original.is_floating_point():
                original.requires_grad_(new.requires_grad)
            if new.grad is not None and original.requires_grad:
                original.grad = new.grad.to(original.dtype)
        return
    if np_module is not None and isinstance(original, np_module.ndarray):
        if (isinstance(new, np_module.ndarray) and new.shape == original.shape
                and original.flags.writeable and not np_module.array_equal(
                    new, original, equal_nan=original.dtype.kind in "fc")):
            with contextlib.suppress(TypeError, ValueError):
                original[...] = new
        return
    if isinstance(original, list) and isinstance(new, list):
        if len(original) == len(new):
            for i, (old_item, new_item) in enumerate(zip(original, new)):
                if _mutable(old_item):
                    _copy_back(old_item, new_item, depth + 1)
                elif type(old_item) is not type(new_item) or old_item != new_item:
                    original[i] = new_item
        else:
            original[:] = new
        return
    if isinstance(original, tuple) and isinstance(new, tuple) and len(original) == len(new):
        for old_item, new_item in zip(original, new):
            _copy_back(old_item, new_item, depth + 1)
        return
    if isinstance(original, dict) and type(original) is dict and isinstance(new, dict):
        if list(original) == list(new):
            for key in original:
                if _mutable(original[key]):
                    _copy_back(original[key], new[key], depth + 1)
                elif type(original[key]) is not type(new[key]) or original[key] != new[key]:
                    original[key] = new[key]
        else:
            original.clear()
            original.update(new)


def _mutable(value) -> bool:
    torch = sys.modules.get("torch")
    np_module = sys.modules.get("numpy")
    return (type(value) in (list, dict, tuple)
            or (np_module is not None and isinstance(value, np_module.ndarray))
            or (torch is not None and isinstance(value, torch.Tensor)))


class RemoteObject:
    """An object that lives in the student's process (a function, an instance of the
    student's class, a generator): every use is a call across the channel, and what
    comes back is plain data or another RemoteObject."""

    def __init__(self, session: Session, handle_id: int, type_name: str):
        object.__setattr__(self, "_rlbook_session", session)
        object.__setattr__(self, "_rlbook_id", handle_id)
        object.__setattr__(self, "_rlbook_type", type_name)

    def _rlbook_ref(self) -> dict:
        return {"t": "handle", "side": "untrusted", "id": self._rlbook_id,
                "type": self._rlbook_type}

    def _apply(self, function, *args, **kwargs):
        return self._rlbook_session.apply(function, self, args, kwargs,
                                          jacobian=function == "call")

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._apply("getattr", name)

    def __setattr__(self, name, value):
        self._apply("setattr", name, value)

    def __call__(self, *args, **kwargs):
        return self._apply("call", *args, **kwargs)

    def __getitem__(self, key):
        return self._apply("getitem", key)

    def __setitem__(self, key, value):
        self._apply("setitem", key, value)

    def __len__(self):
        value = self._apply("len")
        if type(value) is not int:
            raise TypeError("len() of the notebook's object is not an int")
        return value

    def __iter__(self):
        return self._apply("iter")

    def __next__(self):
        return self._apply("next")

    def __contains__(self, item):
        return bool(self._apply("contains", item) is True)

    def __bool__(self):
        return self._apply("bool") is True

    def __repr__(self):
        text = self._apply("repr")
        return text if isinstance(text, str) else f"<a {self._rlbook_type} of the notebook>"

    @property
    def __name__(self):
        return self._rlbook_type


class RemoteRecording:
    """``student.record_calls(...)`` in the grader: the same interface as
    ``exercises.CallRecording``, recorded on the student's side."""

    def __init__(self, session: Session, names, keep: int):
        self._session, self._names, self._keep = session, tuple(names), keep
        self.counts = {name: 0 for name in self._names}
        self.calls = {name: [] for name in self._names}

    def __enter__(self):
        self._key = self._session.record(self._names, self._keep)
        return self

    def __exit__(self, *exc_info):
        if self._session.dead:
            return
        counts, calls = self._session.recorded(self._key)
        for name in self._names:
            count = counts.get(name) if isinstance(counts, dict) else 0
            self.counts[name] = count if type(count) is int else 0
            entries = calls.get(name, []) if isinstance(calls, dict) else []
            self.calls[name] = [(tuple(e[0]), dict(e[1]), e[2]) for e in entries
                                if isinstance(e, list) and len(e) == 3
                                and isinstance(e[0], list) and isinstance(e[1], dict)]

    def count(self, name: str) -> int:
        return self.counts[name]

    def of(self, name: str) -> list:
        return self.calls[name]


class RemoteStudent:
    """``student`` in the grader: the notebook's names, across the channel."""

    def __init__(self, session: Session):
        object.__setattr__(self, "_session", session)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._session.lookup(name)

    def record_calls(self, *names: str, keep: int = 20) -> RemoteRecording:
        return RemoteRecording(self._session, names, keep)

    def make(self, factory, *args, **kwargs):
        """``exercises.Student.make``, on the student's side: the object is built in
        the sandbox and comes back as a handle (or as data)."""
        return self._session.make(factory, args, kwargs)

    @contextlib.contextmanager
    def time_limit(self, seconds: float):
        """Every call a test makes shares ``seconds``; past it the student's code is
        interrupted (or, if it does not stop, the runner is killed)."""
        self._session.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self._session.deadline = None


# --------------------------------------------------------------------------- #
# Grading
# --------------------------------------------------------------------------- #
def grade_many(paths: list[tuple[Path, str]], jobs: int, chapter: str | None = None,
               tests_dir: str | Path | None = None, limits: Limits | None = None,
               on_done=None) -> list[Report]:
    """Grade (path, student) pairs, ``jobs`` at a time; reports in the order given."""
    from concurrent.futures import ThreadPoolExecutor

    suite = TestSuite(tests_dir)
    for chapter_id in suite.chapters():  # load in one thread, before any grading
        suite.specs(chapter_id)

    def grade(item):
        path, student = item
        report = grade_notebook(path, chapter, suite, limits, student=student)
        if on_done:
            on_done(report)
        return report

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(grade, paths))


def grade_notebook(path: str | Path, chapter: str | None = None,
                   tests: TestSuite | str | Path | None = None,
                   limits: Limits | None = None, student: str | None = None) -> Report:
    """Grade one notebook; never raises for anything wrong with the notebook."""
    if not isinstance(tests, TestSuite):
        tests = TestSuite(tests)
    path = Path(path)
    limits = limits or Limits()
    started = time.monotonic()
    report = Report(notebook=str(path), student=student or student_name(path),
                    chapter=chapter)
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"the file is over {MAX_NOTEBOOK_BYTES // 2**20} MB")
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # noqa: BLE001 - any unreadable file is reported
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        report.problems.append(f"not a readable notebook: {type(error).__name__}: "
                               f"{first_line}")
        notebook = None
    if report.chapter is None:
        report.chapter = detect_chapter(notebook, path, tests)
    if report.chapter is None:
        report.problems.append("could not tell which chapter this notebook belongs to "
                               "(use --chapter)")
        report.seconds = round(time.monotonic() - started, 2)
        return report
    specs = tests.specs(report.chapter)
    if notebook is None:
        report.exercises = [_zero_row(spec, report.problems[-1]) for spec in specs.values()]
    else:
        report.problems += defined_more_than_once(notebook, list(specs))
        _grade_in_sandbox(notebook, report, specs, limits)
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _grade_in_sandbox(notebook, report: Report, specs, limits: Limits) -> None:
    plan = grading_plan(notebook, list(specs))
    graded: dict[str, dict] = {}
    stopped = None
    started = time.monotonic()
    try:
        session = Session(limits, sandboxed=limits.sandbox)
    except (NotebookStopped, OSError) as error:
        detail = ""
        report.problems.append(f"the grader could not start the notebook's sandbox: "
                               f"{error}{detail}")
        report.exercises = [_zero_row(spec, "not graded: the sandbox did not start")
                            for spec in specs.values()]
        return
    try:
        printed_over = False
        for index in range(len(notebook.cells) + 1):
            cell = notebook.cells[index] if index < len(notebook.cells) else None
            where = describe_cell(notebook, index)
            if time.monotonic() - started > limits.notebook_timeout:
                stopped = (f"the notebook ran past the limit of {limits.notebook_timeout:g} s "
                           "and was stopped")
                break
            try:
                if cell is not None and cell.cell_type == "code":
                    result = session.run_cell(cell.source)
                    if result.get("timed_out"):
                        stopped = (f"{where} ran past the limit of {limits.cell_timeout:g} s "
                                   "per cell and was stopped")
                        break
                    if isinstance(result.get("error"), str):
                        report.problems.append(f"{where} raised {result['error'][:300]}")
                    printed = result.get("printed")
                    if (not printed_over and isinstance(printed, int)
                            and printed > limits.output_kb * 1024):
                        printed_over = True
                        report.problems.append(
                            f"the notebook printed more than {limits.output_kb} KB; "
                            "the rest of its output was dropped")
            except NotebookStopped as error:
                stopped = (f"the kernel died while running {where} (a crash, os._exit, or "
                           f"too much memory?)" if "died" in str(error) else
                           f"{where} ran past the limit of {limits.cell_timeout:g} s per "
                           "cell and was stopped")
                break
            for exercise_id in plan.get(index, []):
                result = run_exercise(specs[exercise_id], RemoteStudent(session),
                                      limits.test_timeout)
                graded[exercise_id] = result.to_dict()
            if session.dead:
                stopped = (f"the notebook stopped while its tests ran after {where}: "
                           f"{session.dead}")
                break
    finally:
        session.close()
    if stopped:
        report.problems.append(stopped)
    for spec in specs.values():
        report.exercises.append(graded.get(spec.exercise_id)
                                or _zero_row(spec, f"not graded: {stopped}"))
