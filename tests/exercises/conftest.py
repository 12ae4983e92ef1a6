"""Run the graded tests under pytest against a chapter's notebook.

By default ``tests/exercises/test_NN_slug.py`` runs against the reference solution
``solutions/NN_slug.ipynb``; ``--notebook PATH`` points it at another notebook
(trusted code only: it is executed in this process).
"""

from pathlib import Path

import pytest

from rlbook_utils.exercises import Student, load_notebook_namespace, repo_root

_namespaces: dict[Path, dict] = {}


def pytest_addoption(parser):
    parser.addoption("--notebook", default=None,
                     help="notebook to test instead of the chapter's reference solution")


@pytest.fixture
def student(request):
    notebook = request.config.getoption("--notebook")
    if notebook is None:
        chapter = Path(request.node.fspath).stem.removeprefix("test_")
        notebook = repo_root() / "solutions" / f"{chapter}.ipynb"
    notebook = Path(notebook).resolve()
    if notebook not in _namespaces:
        _namespaces[notebook] = load_notebook_namespace(notebook)
    return Student(_namespaces[notebook])
