"""rlbook grade on real chapter notebooks: full marks, zero, and broken submissions.

Each case runs a real kernel in a separate process, as an instructor's run would.
"""

import hashlib
import io
import json
import re
import subprocess
import sys
import types

import nbformat
import pytest

from rlbook_utils.cli import Progress
from rlbook_utils.exercises import exercises_in, load_test_module, repo_root
from rlbook_utils.grading.trusted_harness import Limits, defined_names, grade_notebook

ROOT = repo_root()
SOLUTION = ROOT / "solutions" / "02_mdps.ipynb"
BLANK = ROOT / "chapters" / "02_mdps" / "exercises.ipynb"
POINTS = {spec.exercise_id: spec.points
          for spec in exercises_in(load_test_module("02_mdps")).values()}
FAST = Limits(cell_timeout=10, notebook_timeout=120)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scores(report):
    return {row["exercise"]: row["score"] for row in report.exercises}


def reasons(report):
    return {row["exercise"]: row["reason"] for row in report.exercises}


def variant(tmp_path, name, edit):
    """A copy of the reference solution changed by `edit(cells)`."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    edit(notebook.cells)
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def index_defining(cells, name):
    return next(i for i, cell in enumerate(cells)
                if cell.cell_type == "code" and name in defined_names(cell.source))


def test_reference_solution_gets_full_marks_through_the_cli(tmp_path):
    before = digest(SOLUTION)
    out = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "rlbook_utils.cli", "grade", str(SOLUTION), "--json", str(out)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(out.read_text())
    assert report["chapter"] == "02_mdps"
    assert {row["exercise"]: row["score"] for row in report["exercises"]} == POINTS
    assert report["score"] == sum(POINTS.values())
    total = sum(POINTS.values())
    assert re.search(rf"^total\s+{total:g}\s+{total:.1f} / {total:g}$", result.stdout, re.M)
    assert digest(SOLUTION) == before, "the grader must never modify a submission"


def test_blank_exercise_notebook_scores_zero_as_not_implemented():
    report = grade_notebook(BLANK, limits=FAST)
    assert report.chapter == "02_mdps"
    assert scores(report) == {exercise_id: 0.0 for exercise_id in POINTS}
    assert set(reasons(report).values()) == {"not implemented"}


def test_syntax_error_costs_only_that_exercise(tmp_path):
    def break_advantages(cells):
        cell = cells[index_defining(cells, "advantages")]
        cell.source = cell.source.replace("def advantages(", "def advantages((")
    report = grade_notebook(variant(tmp_path, "syntax", break_advantages), limits=FAST)
    assert scores(report)["advantages"] == 0
    assert "defines no `advantages`" in reasons(report)["advantages"]
    assert any("SyntaxError" in problem for problem in report.problems)
    assert scores(report)["exact_policy_evaluation"] == POINTS["exact_policy_evaluation"]
    assert scores(report)["policy_iteration"] == POINTS["policy_iteration"]


def test_kernel_death_zeroes_later_exercises_and_names_the_cell(tmp_path):
    def exit_after_first_exercise(cells):
        at = index_defining(cells, "exact_policy_evaluation") + 1
        cells.insert(at, nbformat.v4.new_code_cell("import os\nos._exit(3)"))
    report = grade_notebook(variant(tmp_path, "dies", exit_after_first_exercise),
                            limits=FAST)
    assert scores(report)["exact_policy_evaluation"] == POINTS["exact_policy_evaluation"]
    for exercise_id in ("advantages", "policy_iteration"):
        assert scores(report)[exercise_id] == 0
        assert "kernel died" in reasons(report)[exercise_id]
    assert any("kernel died while running cell" in problem for problem in report.problems)


def test_infinite_loop_is_stopped_and_costs_only_what_follows(tmp_path):
    def loop_forever(cells):
        at = index_defining(cells, "advantages") + 1
        cells.insert(at, nbformat.v4.new_code_cell("while True:\n    pass"))
    report = grade_notebook(variant(tmp_path, "hangs", loop_forever),
                            limits=Limits(cell_timeout=3, notebook_timeout=120))
    assert scores(report)["advantages"] == POINTS["advantages"]
    assert scores(report)["policy_iteration"] == 0
    assert "ran past the limit of 3 s per cell" in reasons(report)["policy_iteration"]


def test_printed_fake_scores_do_not_count(tmp_path):
    def print_full_marks(cells):
        at = index_defining(cells, "exact_policy_evaluation")
        cells[at].source = ("def exact_policy_evaluation(P, policy, gamma):\n"
                            "    return np.zeros(len(P))\n"
                            "print(json.dumps({'exercise': 'exact_policy_evaluation', "
                            "'score': 3}))\n"
                            "import json")
    report = grade_notebook(variant(tmp_path, "fake", print_full_marks), limits=FAST)
    assert scores(report)["exact_policy_evaluation"] < POINTS["exact_policy_evaluation"]


def test_file_that_is_not_a_notebook_is_reported_not_crashed(tmp_path):
    path = tmp_path / "02_mdps_alice.ipynb"
    path.write_text("this is not JSON")
    report = grade_notebook(path, limits=FAST)
    assert scores(report) == {exercise_id: 0.0 for exercise_id in POINTS}
    assert "not a readable notebook" in report.problems[0]
    assert path.read_text() == "this is not JSON"


@pytest.mark.parametrize("argv, problem", [
    (["grade", "no/such/file.ipynb"], "no such file"),
    (["grade", str(SOLUTION), "--chapter", "99_nothing"], "no tests for chapter"),
])
def test_grader_that_cannot_run_exits_2(argv, problem):
    result = subprocess.run([sys.executable, "-m", "rlbook_utils.cli", *argv],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert problem in result.stderr


def test_without_bubblewrap_it_refuses_in_one_line_unless_told_no_sandbox(tmp_path):
    # No bwrap on PATH: the grader says so and grades nothing, then grades with the flag.
    command = [sys.executable, "-m", "rlbook_utils.cli", "grade", str(BLANK)]
    environment = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    refused = subprocess.run(command, capture_output=True, text=True, env=environment,
                             cwd=ROOT, timeout=120)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "bubblewrap is not installed" in refused.stderr and "--no-sandbox" in refused.stderr
    graded = subprocess.run(command + ["--no-sandbox"], capture_output=True, text=True,
                            env=environment, cwd=ROOT, timeout=300)
    assert graded.returncode == 0, graded.stderr
    assert re.search(r"^total\s+\d+\s+0\.0 / \d+$", graded.stdout, re.M)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_is_a_bar_on_a_terminal_and_plain_lines_in_a_log(terminal):
    stream = _Terminal() if terminal else io.StringIO()
    progress = Progress(2, stream=stream)
    for student in ("alice", "bob"):
        progress(types.SimpleNamespace(student=student, score=3.0, points=10.0))
    progress.close()
    if terminal:  # tqdm's bar, redrawn in place, ending full
        assert "\r" in stream.getvalue()
        assert re.search(r"grading: 100%\|.*\| 2/2 \[", stream.getvalue())
    else:  # no carriage returns in a CI log: one line per notebook graded
        assert stream.getvalue() == "graded 1/2: alice 3/10\ngraded 2/2: bob 3/10\n"
