"""Load a lesson's reference implementation from the lesson itself.

A lesson writes its algorithm out in full, in cells tagged ``reference`` (the config
cell, the networks, the training function). Tests, the benchmark and later chapters
run that very code by loading those cells, so the book and what is measured can
never drift apart. Introduced for chapter 04; used by chapter 05 and the benchmark.
"""

from __future__ import annotations

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
