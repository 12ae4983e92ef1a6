"""Load a lesson's reference implementation from the lesson itself.

A lesson writes its algorithm out in full, in cells tagged ``reference`` (the config
cell, the networks, the training function). Tests, the benchmark and later chapters
run that very code by loading those cells, so the book and what is measured can
never drift apart. Introduced for chapter 04; used by chapter 05 and the benchmark.
"""

from __future__ import annotations

import ast
import sys
import types

import nbformat

from rlbook_utils.exercises import repo_root

REFERENCE_TAG = "reference"


def load_reference(chapter: str) -> types.ModuleType:
    """Execute the cells tagged ``reference`` of ``chapters/<chapter>/lesson.ipynb``.

    Returns them as a module: ``load_reference("04_deep_q_learning").train_dqn``.
    """
    path = repo_root() / "chapters" / chapter / "lesson.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"
             and REFERENCE_TAG in cell.metadata.get("tags", [])]
    if not cells:
        raise LookupError(f"{path} has no cells tagged {REFERENCE_TAG!r}")
    module = types.ModuleType(f"rlbook_reference_{chapter}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module
    for cell in cells:
        exec(compile(cell.source, f"{path}:{notebook.cells.index(cell)}", "exec"),
             module.__dict__)
    return module


def _is_constant_assignment(node: ast.stmt) -> bool:
    """``N_ARMS = 5``: an assignment to UPPER_CASE names only."""
    if not isinstance(node, (ast.Assign, ast.AnnAssign)):
        return False
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return all(isinstance(t, ast.Name) and t.id.isupper() for t in targets)


def load_solution(chapter: str, *names: str) -> types.ModuleType:
    """The reference answers of a chapter's exercises, for its lesson to use quietly.

    A lesson whose exercise asks for a function does not print that function's code;
    when the lesson needs it anyway (to train, to plot), it takes the reference from
    ``solutions/<chapter>.ipynb``. Only the solution's imports, ``def``/``class``
    statements and UPPER_CASE constants are executed: no demo cell, no ``check``.
    ``names``, if given, must all be defined (a clear error otherwise)::

        perplexity = load_solution("01_supervised_to_rl", "perplexity").perplexity
    """
    path = repo_root() / "solutions" / f"{chapter}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    module = types.ModuleType(f"rlbook_solution_{chapter}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # so classes and dataclasses resolve
    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        tree.body = [node for node in tree.body
                     if isinstance(node, kept) or _is_constant_assignment(node)]
        exec(compile(tree, f"{path}:cell {index}", "exec"), module.__dict__)
    missing = [name for name in names if name not in module.__dict__]
    if missing:
        raise LookupError(f"{path} defines no {', '.join(missing)}")
    return module
