"""The claim mechanism: a lesson's result sentences are checked by its own executed cells.

`rlbook_utils.claims.claim(sentence, holds, **evidence)` raises when the run contradicts
the sentence; these tests prove that it can fail, that a failing claim fails a real
Jupyter Book build, and that every claim in a lesson quotes a sentence the lesson prints.
"""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml

from rlbook_utils.claims import ClaimError, claim

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(ROOT.glob("chapters/*/lesson.ipynb"))


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def claims_in(notebook) -> list[tuple[str, list[str]]]:
    """(quoted sentence, tags of its cell) for every claim("...", ...) call."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "claim"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.append((node.args[0].value, list(cell.metadata.get("tags", []))))
    return found


def prose_of(notebook) -> str:
    """What the reader reads: markdown cells, figure captions and images' alt texts."""
    parts = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source)
        figure_settings = cell.metadata.get("mystnb", {})
        parts += [str(figure_settings.get("figure", {}).get("caption", "")),
                  str(figure_settings.get("image", {}).get("alt", ""))]
    return _words(" ".join(parts))


# --------------------------------------------------------------------------- #
# claim() itself
# --------------------------------------------------------------------------- #
def test_a_true_claim_passes_silently():
    assert claim("two is more than one", 2 > 1, two=2) is None
    assert claim("every run solved", np.all(np.array([True, True]))) is None


def test_a_false_claim_names_the_sentence_and_the_evidence():
    with pytest.raises(ClaimError) as error:
        claim("every run was solved", np.all(np.array([True, False])),
              solved=np.array([1, 0]), median_step=24012.345678)
    message = str(error.value)
    assert "every run was solved" in message and "contradicts" in message
    assert "solved=[1, 0]" in message and "median_step=24012.3" in message
    assert isinstance(error.value, AssertionError)  # a failed check, as an assert would be


def test_a_claim_refuses_an_ambiguous_condition_or_no_sentence():
    with pytest.raises(TypeError, match="np.all"):
        claim("the curve rises", np.array([1.0, 2.0]) > 0)
    with pytest.raises(TypeError, match="sentence"):
        claim("", True)


# --------------------------------------------------------------------------- #
# a false claim fails the build
# --------------------------------------------------------------------------- #
def _tiny_book(folder: Path, condition: str) -> None:
    """A one-page Jupyter Book with the real book's execution settings and one claim."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    tiny_config = {"title": "claims", "execute": config["execute"],
                   "sphinx": {"config": {"suppress_warnings": []}}}
    tiny_config["execute"]["exclude_patterns"] = []
    (folder / "_config.yml").write_text(yaml.safe_dump(tiny_config))
    (folder / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Claims\n\nOur agent solved every seed."),
        nbformat.v4.new_code_cell(
            "from rlbook_utils.claims import claim\n"
            f"claim('Our agent solved every seed', {condition}, solved=[1, 1, 0])",
            metadata={"tags": ["remove-cell"]}),
    ]
    nbformat.write(notebook, folder / "page.ipynb")


def _build(folder: Path) -> subprocess.CompletedProcess:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run([str(jupyter_book), "build", str(folder), "-W", "-n",
                           "--keep-going"], capture_output=True, text=True, timeout=600)


def test_the_book_builds_with_errors_fatal():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["allow_errors"] is False
    assert config["execute"]["execute_notebooks"] in ("cache", "force", "auto")
    script = (ROOT / "scripts/book").read_text()
    assert re.search(r"jupyter-book build \. -W", script), "the site build must use -W"


def test_a_false_claim_fails_a_real_build_and_a_true_one_passes(tmp_path):
    false_book, true_book = tmp_path / "false", tmp_path / "true"
    for folder, condition in ((false_book, "False"), (true_book, "True")):
        folder.mkdir()
        _tiny_book(folder, condition)
    failed = _build(false_book)
    assert failed.returncode != 0, "a false claim must fail the build"
    log = failed.stdout + failed.stderr
    report = "".join(path.read_text() for path in false_book.rglob("*.err.log"))
    assert "Executing notebook failed" in log
    assert "Our agent solved every seed" in report and "contradicts" in report
    built = _build(true_book)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    page = (true_book / "_build/html/page.html").read_text()
    assert "Our agent solved every seed" in page and "claim(" not in page  # the cell is hidden
    shutil.rmtree(tmp_path, ignore_errors=True)


# --------------------------------------------------------------------------- #
# every lesson's claims quote its own prose and stay hidden
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.parent.name)
def test_every_claim_quotes_a_sentence_of_its_lesson_and_is_hidden(lesson):
    notebook = nbformat.read(lesson, as_version=4)
    prose = prose_of(notebook)
    for sentence, tags in claims_in(notebook):
        assert _words(sentence) in prose, (
            f"{lesson.parent.name}: claim({sentence!r}) quotes no sentence of the lesson; "
            "quote the prose word for word (glue roles included), or change both together")
        assert "remove-cell" in tags, (
            f"{lesson.parent.name}: the cell of claim({sentence!r}) is shown on the page; "
            "tag it remove-cell (checks are for the build, not for the reader)")


def test_the_detector_finds_claims_and_misquotes():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("The  agent\nsolved it."),
                      nbformat.v4.new_code_cell("claim('The agent solved it', True)\n"
                                                "claim('The agent failed', False)",
                                                metadata={"tags": ["remove-cell"]})]
    found = claims_in(notebook)
    assert [sentence for sentence, _ in found] == ["The agent solved it", "The agent failed"]
    prose = prose_of(notebook)
    assert _words(found[0][0]) in prose and _words(found[1][0]) not in prose
    notebook.cells[1].metadata["mystnb"] = {"figure": {"caption": "Returns rise."},
                                            "image": {"alt": "A line that rises."}}
    assert "Returns rise." in prose_of(notebook) and "A line that rises." in prose_of(notebook)


def test_the_evidence_keeps_small_values_and_rounds_float32_arrays():
    with pytest.raises(ClaimError) as error:
        claim("the gap is tiny", False, gap=4.3e-8,
              shares=np.array([0.0481, 0.5], dtype=np.float32))
    assert "gap=4.3e-08" in str(error.value) and "shares=[0.0481, 0.5]" in str(error.value)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.parent.name)
def test_every_lesson_checks_its_results(lesson):
    """a lesson with results and no claim has sentences nothing checks"""
    claims = claims_in(nbformat.read(lesson, as_version=4))
    assert len(claims) >= 5, (
        f"{lesson.parent.name} backs only {len(claims)} sentences with claim(): every "
        "sentence that states a result needs one")
