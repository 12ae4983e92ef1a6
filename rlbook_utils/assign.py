"""Generate each chapter's exercise notebook from its reference solution.

``solutions/NN_slug.ipynb`` is the single source of ``chapters/NN_slug/exercises.ipynb``.
Lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers)
become ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` at the same indent;
outputs and execution counts are cleared; everything else is copied as is.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_MARKER = re.compile(r"^(?P<indent>\s*)### (?P<kind>BEGIN|END) SOLUTION\s*$")


class SolutionMarkerError(ValueError):
    pass


def strip_solution(source: str, where: str = "cell") -> str:
    """Replace every solution block of one cell's source by a stub."""
    kept, inside = [], False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = _MARKER.match(line)
        if marker and marker["kind"] == "BEGIN":
            if inside:
                raise SolutionMarkerError(f"{where}, line {number}: nested {BEGIN}")
            inside = True
            kept += [f"{marker['indent']}# YOUR CODE HERE",
                     f"{marker['indent']}raise NotImplementedError()"]
        elif marker:
            if not inside:
                raise SolutionMarkerError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise SolutionMarkerError(f"{where}: {BEGIN} is never closed")
    return "\n".join(kept)


def exercise_notebook(solution: nbformat.NotebookNode, chapter: str) -> nbformat.NotebookNode:
    """The learner's notebook for one chapter, made from its reference solution."""
    notebook = copy.deepcopy(solution)
    notebook.metadata.pop("widgets", None)
    notebook.metadata["rlbook"] = {"chapter": chapter, "generated_from": f"solutions/{chapter}.ipynb"}
    for index, cell in enumerate(notebook.cells):
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.source = strip_solution(cell.source, where=f"{chapter}, cell {index}")
        cell.outputs = []
        cell.execution_count = None
    return notebook


def exercise_path(root: Path, chapter: str) -> Path:
    return root / "chapters" / chapter / "exercises.ipynb"


def assign(root: Path, check_only: bool = False) -> list[Path]:
    """Regenerate every exercise notebook; return those that were (or would be) changed."""
    changed = []
    for solution_path in sorted((root / "solutions").glob("*.ipynb")):
        chapter = solution_path.stem
        solution = nbformat.read(solution_path, as_version=4)
        text = nbformat.writes(exercise_notebook(solution, chapter)) + "\n"
        target = exercise_path(root, chapter)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        changed.append(target)
        if not check_only:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return changed


def toc_without_solutions(root: Path) -> str:
    """``_toc.yml`` without the reference solutions, as YAML text.

    For an instructor whose class is graded on the exercises: the site built from it
    (``bash scripts/book build --no-solutions``) has no page of answers to copy.
    Every entry whose file lies under ``solutions/`` is dropped, and so is a part
    left empty.
    """
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))

    def keep(entries):
        kept = []
        for entry in entries:
            if str(entry.get("file", "")).startswith("solutions/"):
                continue
            if "sections" in entry:
                entry = {**entry, "sections": keep(entry["sections"])}
            kept.append(entry)
        return kept

    parts = [{**part, "chapters": keep(part.get("chapters", []))}
             for part in toc.get("parts", [])]
    toc["parts"] = [part for part in parts if part["chapters"]]
    return yaml.safe_dump(toc, sort_keys=False)
