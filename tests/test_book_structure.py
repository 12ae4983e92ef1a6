"""Every chapter is complete and wired in: lesson, exercises, solution, tests,
typical mistakes, table of contents, and a lesson that names its exercises."""

import re

import nbformat
import pytest
import yaml

from rlbook_utils.exercises import CHAPTER_PATTERN, exercises_in, load_test_module, repo_root

ROOT = repo_root()
CHAPTERS = sorted(path.parent.name for path in (ROOT / "chapters").glob("*/lesson.ipynb"))


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return set(files)


def test_there_are_chapters():
    assert CHAPTERS and all(CHAPTER_PATTERN.match(chapter) for chapter in CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_every_part(chapter):
    for path in (f"chapters/{chapter}/exercises.ipynb", f"solutions/{chapter}.ipynb",
                 f"tests/exercises/test_{chapter}.py", f"tests/mistakes/{chapter}.py"):
        assert (ROOT / path).exists(), f"{chapter}: {path} is missing"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_is_in_the_table_of_contents(chapter):
    files = toc_files()
    for page in (f"chapters/{chapter}/lesson", f"chapters/{chapter}/exercises",
                 f"solutions/{chapter}"):
        assert page in files, f"_toc.yml does not list {page}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_lesson_names_every_exercise_and_links_the_notebook(chapter):
    lesson = nbformat.read(ROOT / "chapters" / chapter / "lesson.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in lesson.cells if c.cell_type == "markdown")
    for exercise_id in exercises_in(load_test_module(chapter)):
        assert f"`{exercise_id}" in markdown, f"{chapter}'s lesson never names {exercise_id}"
    assert "exercises.ipynb" in markdown, f"{chapter}'s lesson does not link its exercises"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_lesson_is_committed_without_outputs(chapter):
    lesson = nbformat.read(ROOT / "chapters" / chapter / "lesson.ipynb", as_version=4)
    executed = [i for i, c in enumerate(lesson.cells)
                if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not executed, f"{chapter}'s lesson has stored outputs in cells {executed}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solution_every_exercise_is_checked_in_place(chapter):
    solution = nbformat.read(ROOT / "solutions" / f"{chapter}.ipynb", as_version=4)
    code = "\n".join(c.source for c in solution.cells if c.cell_type == "code")
    for exercise_id in exercises_in(load_test_module(chapter)):
        assert re.search(rf"^check\({exercise_id}\)", code, re.M), (
            f"{chapter}: no `check({exercise_id})` cell under the exercise")
