"""Grade student notebooks without ever running their code in the grader's process.

The grader (this process) reads the submission with nbformat, works out its chapter
and where each exercise is defined, and hands a copy to a worker process started in
a fresh temporary folder, under a memory cap. The worker starts a Jupyter kernel
(nbclient) and runs the student's cells one by one with a time limit per cell.
Right after the cell that defines an exercise, the worker runs a grading cell that
the student never sees: it runs the exercise's tests in the kernel and displays the
results under the grader's own MIME type, stamped with a nonce that appears nowhere
before that cell. The worker reads results from that cell's outputs only, and
reports to the grader on a pipe the kernel cannot write to; nothing the notebook
prints or writes counts. The tests and nonces reach the worker on its stdin, never
through files. If the kernel dies or hangs, the exercises not yet graded score zero
and the report names the cell.
"""

from __future__ import annotations

import ast
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from rlbook_utils import __version__
from rlbook_utils.exercises import (
    CHAPTER_PATTERN,
    chapters_with_tests,
    default_tests_dir,
    exercises_in,
    load_test_module,
)

MAX_NOTEBOOK_BYTES = 50 * 2**20

GRADER_SEED = 0
"""PYTHONHASHSEED of every kernel; the tests seed their own generators."""


@dataclass
class Limits:
    cell_timeout: float = 60.0  # seconds one student cell may run
    notebook_timeout: float = 600.0  # seconds the whole notebook may take
    memory_mb: int = 4096  # address-space cap of the worker and its kernel
    output_kb: int = 2048  # what the notebook may print before the rest is dropped
    test_timeout: float = 20.0  # seconds one test may run (an endless loop fails it)


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


def _limit_resources(pid: int, memory_mb: int) -> None:
    """Cap a process's memory (and so its kernel's, started later) and its core dumps.

    Set from outside with prlimit rather than in a preexec_fn, which is unsafe when
    the grader runs several workers from threads.
    """
    cap = memory_mb * 1024 * 1024
    resource.prlimit(pid, resource.RLIMIT_AS, (cap, cap))
    resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))


class TestSuite:
    """The chapters' test files, read into memory once, before any notebook runs.

    Each kernel receives the tests as text from memory, so a submission that finds
    and edits test files on disk changes nothing for itself or the rest of a batch.
    """

    def __init__(self, folder: str | Path | None = None):
        folder = Path(folder or default_tests_dir())
        self.files = {path.name: path.read_bytes() for path in sorted(folder.glob("*.py"))}
        self._specs: dict = {}
        self._loaded_from = Path(tempfile.mkdtemp(prefix="rlbook-tests-"))
        self.write_to(self._loaded_from)

    def write_to(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            (folder / name).write_bytes(content)

    def chapters(self) -> list[str]:
        return chapters_with_tests(self._loaded_from)

    def specs(self, chapter: str) -> dict:
        if chapter not in self._specs:
            self._specs[chapter] = exercises_in(load_test_module(chapter, self._loaded_from))
        return self._specs[chapter]

    def close(self) -> None:
        shutil.rmtree(self._loaded_from, ignore_errors=True)


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

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            return list(pool.map(grade, paths))
    finally:
        suite.close()


def grade_notebook(path: str | Path, chapter: str | None = None,
                   tests: TestSuite | str | Path | None = None,
                   limits: Limits | None = None, student: str | None = None) -> Report:
    """Grade one notebook; never raises for anything wrong with the notebook."""
    if not isinstance(tests, TestSuite):
        suite = TestSuite(tests)
        try:
            return grade_notebook(path, chapter, suite, limits, student)
        finally:
            suite.close()
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
        _grade_in_worker(notebook, path, report, specs, tests, limits)
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _grade_in_worker(notebook, path: Path, report: Report, specs, tests: TestSuite,
                     limits: Limits) -> None:
    # The student's folder holds only a copy of the notebook. Everything else the
    # worker needs (tests, nonces) travels on its stdin, so nothing on disk can be
    # read or edited by this submission or by another one graded at the same time.
    work = Path(tempfile.mkdtemp(prefix="rlbook-work-"))
    try:
        submission = work / path.name
        nbformat.write(notebook, submission)
        plan = grading_plan(notebook, list(specs))
        job = {
            "notebook": str(submission), "chapter": report.chapter,
            "tests": {name: content.decode("utf-8") for name, content in tests.files.items()},
            "cell_timeout": limits.cell_timeout, "test_timeout": limits.test_timeout,
            "output_bytes": limits.output_kb * 1024,
            "plan": {str(index): ids for index, ids in plan.items()},
            "nonces": {str(index): secrets.token_hex(16) for index in plan},
            "status_key": secrets.token_hex(16),
        }
        env = {**os.environ, "PYTHONHASHSEED": str(GRADER_SEED), "RLBOOK_GRADING": "1",
               "MPLBACKEND": "Agg", "SDL_VIDEODRIVER": "dummy"}
        worker = subprocess.Popen(
            [sys.executable, "-m", "rlbook_utils.grader", "--worker"],
            cwd=work, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        stdout = stderr = b""
        try:
            # The worker waits for its job on stdin before it starts the kernel, so
            # the cap is in place before any student code can run.
            _limit_resources(worker.pid, limits.memory_mb)
            stdout, stderr = worker.communicate(json.dumps(job).encode(),
                                                timeout=limits.notebook_timeout)
        except subprocess.TimeoutExpired:
            report.problems.append(f"the notebook ran past the limit of "
                                   f"{limits.notebook_timeout:g} s and was stopped")
        finally:
            _kill_group(worker)
        outcome = _worker_outcome(stdout, job["status_key"])
        _fill_report(report, specs, outcome, stderr, limits)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _worker_outcome(stdout: bytes, status_key: str) -> dict:
    """The worker's last word: the one stdout line carrying the status key."""
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("status_key") == status_key:
            return message
    return {}


def _fill_report(report: Report, specs, outcome: dict, stderr: bytes,
                 limits: Limits) -> None:
    graded = outcome.get("graded", {})
    report.problems += [f"{error['cell']} raised {error['error']}"
                        for error in outcome.get("cell_errors", [])]
    report.problems += outcome.get("grading_errors", [])
    if outcome.get("output_capped"):
        report.problems.append(f"the notebook printed more than {limits.output_kb} KB; "
                               "the rest of its output was dropped")
    restored = sorted({name for row in graded.values() for name in row.pop("restored", [])})
    if restored:
        report.problems.append("the notebook replaced parts of modules the tests use; "
                               f"they were put back before grading: {', '.join(restored)}")
    stopped = outcome.get("stopped")
    if stopped:
        report.problems.append(stopped)
    if not outcome and not report.problems:
        tail = stderr.decode(errors="replace").strip()[-300:]
        report.problems.append(f"the grading worker failed: {tail}")
    why_missing = stopped or (report.problems[-1] if report.problems else
                              "the grading cell did not report")
    for spec in specs.values():
        report.exercises.append(graded.get(spec.exercise_id)
                                or _zero_row(spec, f"not graded: {why_missing}"))


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


# --------------------------------------------------------------------------- #
# The worker's side: drives the kernel, never executes student code itself
# --------------------------------------------------------------------------- #
def _cell_error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            evalue = str(output.get("evalue", "")).splitlines()
            return f"{output.get('ename', 'an error')}: {evalue[0] if evalue else ''}".strip()
    return None


def _collect_results(cell, nonce: str, graded: dict) -> None:
    """Keep the first result stamped with ``nonce`` per exercise, from a grading
    cell's own outputs (the only place the worker looks)."""
    from rlbook_utils.grading_kernel import RESULT_MIME

    for output in cell.get("outputs", []):
        row = output.get("data", {}).get(RESULT_MIME)
        if (isinstance(row, dict) and row.pop("nonce", None) == nonce
                and isinstance(row.get("exercise"), str) and row["exercise"] not in graded):
            graded[row["exercise"]] = row


def _worker_main() -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    job = json.loads(sys.stdin.read())
    nonces = job["nonces"]
    notebook = nbformat.read(job["notebook"], as_version=4)
    plan = {int(index): ids for index, ids in job["plan"].items()}
    outcome = {"status_key": job["status_key"], "cell_errors": [], "grading_errors": [],
               "stopped": None, "output_capped": False, "graded": {}}
    # The kernel runs a copy with one spare cell at the end, where grading cells go;
    # `notebook` itself stays as submitted, for naming cells in the report.
    executed = nbformat.from_dict(json.loads(json.dumps(notebook)))
    executed.cells.append(nbformat.v4.new_code_cell(""))
    grading_index = len(executed.cells) - 1

    class CappedClient(NotebookClient):
        """Keeps at most `output_bytes` of what the notebook prints; errors always."""
        printed = 0

        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] != "error" and cell_index != grading_index:
                CappedClient.printed += len(json.dumps(msg.get("content", {})))
                if CappedClient.printed > job["output_bytes"]:
                    outcome["output_capped"] = True
                    return None
            return super().output(outs, msg, display_id, cell_index)

    client = CappedClient(executed, timeout=job["cell_timeout"], kernel_name="python3",
                          allow_errors=True, record_timing=False,
                          resources={"metadata": {"path": str(Path(job["notebook"]).parent)}})

    def run(source, index, timeout):
        cell = nbformat.v4.new_code_cell(source) if isinstance(source, str) else source
        client.timeout = timeout
        client.execute_cell(cell, index)
        return cell

    kernel_side = "__import__('rlbook_utils.grading_kernel').grading_kernel"
    with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        prepared = run(f"{kernel_side}.prepare({job['chapter']!r}, {job['tests']!r})",
                       grading_index, 120)
        if _cell_error(prepared):
            outcome["stopped"] = f"the grader could not load the tests: {_cell_error(prepared)}"
        for index in range(len(notebook.cells) + 1) if not outcome["stopped"] else []:
            cell = executed.cells[index] if index < len(notebook.cells) else None
            where = describe_cell(notebook, index)
            try:
                if cell is not None and cell.cell_type == "code":
                    run(cell, index, job["cell_timeout"])
                    error = _cell_error(cell)
                    if error:
                        outcome["cell_errors"].append({"cell": where, "error": error})
                if index in plan:
                    call = (f"{kernel_side}.grade_into({nonces[str(index)]!r}, "
                            f"{plan[index]!r}, globals(), {job['test_timeout']!r})")
                    graded = run(call, grading_index,
                                 job["cell_timeout"] + 30 * len(plan[index]))
                    _collect_results(graded, nonces[str(index)], outcome["graded"])
                    if _cell_error(graded):
                        outcome["grading_errors"].append(
                            f"grading {', '.join(plan[index])} failed: {_cell_error(graded)}")
            except CellTimeoutError:
                outcome["stopped"] = (f"{where} ran past the limit of "
                                      f"{job['cell_timeout']:g} s per cell and was stopped")
                break
            except DeadKernelError:
                outcome["stopped"] = (f"the kernel died while running {where} "
                                      "(a crash, os._exit, or too much memory?)")
                break
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        _worker_main()
