"""rlbook assign: exercise notebooks are made from the solutions, and drift is caught."""

import shutil
import subprocess
import sys

import nbformat
import pytest

from rlbook_utils.assign import SolutionMarkerError, assign, exercise_notebook, strip_solution
from rlbook_utils.exercises import repo_root

SOLVED = '''def double(x):
    """Twice x."""
    ### BEGIN SOLUTION
    y = 2 * x
    return y
    ### END SOLUTION
'''


def test_solution_block_becomes_a_stub_at_the_same_indent():
    assert strip_solution(SOLVED) == (
        'def double(x):\n    """Twice x."""\n'
        "    # YOUR CODE HERE\n    raise NotImplementedError()"
    )


def test_source_without_markers_is_unchanged():
    assert strip_solution("x = 1\nprint(x)") == "x = 1\nprint(x)"


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
])
def test_unbalanced_markers_are_an_error(source, problem):
    with pytest.raises(SolutionMarkerError, match=problem):
        strip_solution(source)


def test_exercise_notebook_has_no_solution_and_no_outputs():
    solution = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("**Exercise 1.**"),
        nbformat.v4.new_code_cell(SOLVED, execution_count=3, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="hi\n")]),
    ])
    exercise = exercise_notebook(solution, "99_toy")
    code = exercise.cells[1]
    assert "2 * x" not in code.source and "raise NotImplementedError()" in code.source
    assert code.outputs == [] and code.execution_count is None
    assert exercise.cells[0].source == "**Exercise 1.**"
    assert exercise.metadata["rlbook"]["chapter"] == "99_toy"
    assert solution.cells[1].source == SOLVED, "the solution itself must not change"


def make_repo(tmp_path):
    root = tmp_path / "repo"
    (root / "solutions").mkdir(parents=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SOLVED)])
    nbformat.write(notebook, root / "solutions" / "99_toy.ipynb")
    return root


def test_assign_writes_then_check_finds_nothing(tmp_path):
    root = make_repo(tmp_path)
    assert assign(root) == [root / "chapters" / "99_toy" / "exercises.ipynb"]
    assert assign(root, check_only=True) == []


def test_check_names_a_hand_edited_exercise_notebook_and_leaves_it(tmp_path):
    root = make_repo(tmp_path)
    assign(root)
    target = root / "chapters" / "99_toy" / "exercises.ipynb"
    target.write_text(target.read_text().replace("YOUR CODE HERE", "edited by hand"))
    before = target.read_text()
    result = subprocess.run(
        [sys.executable, "-m", "rlbook_utils.cli", "assign", "--check", "--root", str(root)],
        capture_output=True, text=True)
    assert result.returncode == 1
    assert "99_toy/exercises.ipynb" in result.stdout
    assert target.read_text() == before


def test_committed_exercise_notebooks_match_their_solutions(tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(repo_root() / "solutions", root / "solutions")
    shutil.copytree(repo_root() / "chapters", root / "chapters")
    assert assign(root, check_only=True) == []


def test_toc_without_solutions_drops_every_solution_page_and_keeps_the_rest():
    import yaml

    from rlbook_utils.assign import toc_without_solutions

    def files(toc):
        found = []

        def walk(entries):
            for entry in entries:
                found.append(entry.get("file"))
                walk(entry.get("sections", []))

        for part in toc["parts"]:
            walk(part["chapters"])
        return found

    root = repo_root()
    full = files(yaml.safe_load((root / "_toc.yml").read_text()))
    students = files(yaml.safe_load(toc_without_solutions(root)))
    assert any(f.startswith("solutions/") for f in full)  # or this test proves nothing
    assert not any(f.startswith("solutions/") for f in students)
    assert students == [f for f in full if not f.startswith("solutions/")]
