"""Every chapter is complete and wired in: lesson, exercises, solution, tests,
typical mistakes, table of contents, and a lesson that names its exercises."""

import builtins
import io
import keyword
import re
import textwrap
import tokenize

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


# --------------------------------------------------------------------------- #
# Exercises are the next step, never a retype of the lesson
# --------------------------------------------------------------------------- #
_KEEP_NAMES = set(dir(builtins)) | {"np", "torch", "nn", "F", "self"}


def _shape_of_lines(source: str) -> list[tuple[str, ...]]:
    """Each logical line as the shape of its tokens: local names become N, numbers 0,
    strings S; builtins, library aliases and attribute names stay. Two pieces of code
    with the same shape are the same code under other names."""
    source = textwrap.dedent(source)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    lines, current, previous = [], [], None
    skipped = (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)
    for token in tokens:
        if token.type in skipped:
            continue
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if current:
                lines.append(tuple(current))
            current = []
            continue
        if token.type == tokenize.NAME and not keyword.iskeyword(token.string):
            word = token.string if token.string in _KEEP_NAMES or previous == "." else "N"
        elif token.type == tokenize.NUMBER:
            word = "0"
        elif token.type == tokenize.STRING:
            word = "S"
        else:
            word = token.string
        current.append(word)
        previous = token.string
    return lines


def _answers(chapter: str) -> dict[str, list[str]]:
    """The reference answers of a chapter: exercise id -> its solution blocks."""
    solution = nbformat.read(ROOT / "solutions" / f"{chapter}.ipynb", as_version=4)
    answers: dict[str, list[str]] = {}
    for cell in solution.cells:
        defined = re.search(r"^(?:def|class) (\w+)", cell.source, re.M)
        blocks = re.findall(r"### BEGIN SOLUTION\n(.*?)\n[ \t]*### END SOLUTION",
                            cell.source, re.S)
        if cell.cell_type == "code" and defined and blocks:
            answers.setdefault(defined.group(1), []).extend(blocks)
    return answers


def _longest_shared_run(first: list, second: list) -> int:
    best = 0
    for i in range(len(first)):
        for j in range(len(second)):
            length = 0
            while (i + length < len(first) and j + length < len(second)
                   and first[i + length] == second[j + length]):
                length += 1
            best = max(best, length)
    return best


def _lesson_code(chapter: str) -> list[str]:
    lesson = nbformat.read(ROOT / "chapters" / chapter / "lesson.ipynb", as_version=4)
    return [cell.source for cell in lesson.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_three_to_six_exercises_worth_about_ten_points(chapter):
    specs = exercises_in(load_test_module(chapter))
    points = sum(spec.points for spec in specs.values())
    assert 3 <= len(specs) <= 6, f"{chapter} has {len(specs)} graded exercises"
    assert 8 <= points <= 12, f"{chapter}'s exercises are worth {points:g} points"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_lesson_never_defines_a_graded_exercise(chapter):
    code = "\n".join(_lesson_code(chapter))
    for exercise_id in exercises_in(load_test_module(chapter)):
        defined = re.search(rf"^\s*(?:def|class)\s+{exercise_id}\b|^\s*{exercise_id}\s*=\s*lambda",
                            code, re.M)
        assert not defined, (
            f"{chapter}'s lesson defines the exercise {exercise_id}: a learner could copy "
            "it; show its equation and results, and load it with lessons.load_solution")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_lesson_never_shows_an_answer_under_other_names(chapter):
    lesson_lines = [line for source in _lesson_code(chapter) for line in _shape_of_lines(source)]
    for exercise_id, blocks in _answers(chapter).items():
        for block in blocks:
            answer = _shape_of_lines(block)
            shared = _longest_shared_run(answer, lesson_lines)
            limit = 3 if len(answer) >= 3 else max(len(answer), 2)
            assert shared < limit, (
                f"{chapter}'s lesson contains {shared} consecutive lines of the answer to "
                f"{exercise_id} (names aside): a learner could copy them")


def test_shared_run_detector_sees_renamed_code():
    answer = _shape_of_lines("total = 0.0\nfor r in reversed(rewards):\n"
                             "    total = r + gamma * total\nreturn total\n")
    renamed = _shape_of_lines("def f(xs, g):\n    acc = 0.0\n    for x in reversed(xs):\n"
                              "        acc = x + g * acc\n    return acc\n")
    different = _shape_of_lines("def f(xs, g):\n    return sum(g ** k * x for k, x in "
                                "enumerate(xs))\n")
    assert _longest_shared_run(answer, renamed) == 4
    assert _longest_shared_run(answer, different) < 2
