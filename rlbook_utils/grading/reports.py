"""What the grader writes: terminal tables, a CSV gradebook, JSON, feedback files,
and Gradescope's ``results.json``."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from rlbook_utils.grading.trusted_harness import Report


def _number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def format_report(report: Report, width: int = 100) -> str:
    """One notebook: its problems, then exercise, points, score, reason, and a total."""
    lines = [f"{report.notebook}  (student {report.student}, chapter "
             f"{report.chapter or '?'}, graded in {report.seconds:.1f} s)"]
    lines += [f"  ! {_one_line(problem)}"[:width] for problem in report.problems]
    if report.exercises:
        name_width = max(len("exercise"), *(len(row["exercise"]) for row in report.exercises))
        lines.append(f"{'exercise':<{name_width}}  points  score  reason")
        for row in report.exercises:
            line = (f"{row['exercise']:<{name_width}}  {_number(row['points']):>6}  "
                    f"{row['score']:>5.1f}  {_one_line(row['reason'])}")
            lines.append(line if len(line) <= width else line[: width - 1] + "…")
        lines.append(f"{'total':<{name_width}}  {_number(report.points):>6}  "
                     f"{report.score:>5.1f} / {_number(report.points)}")
    return "\n".join(lines)


def format_summary(reports: list[Report]) -> str:
    """A class at a glance: one line per student."""
    name_width = max([len("student"), *(len(r.student) for r in reports)])
    lines = [f"{'student':<{name_width}}  chapter              score   problems"]
    for report in reports:
        score = f"{report.score:g} / {_number(report.points)}" if report.exercises else "-"
        problems = _one_line(report.problems[0]) if report.problems else ""
        if len(report.problems) > 1:
            problems += f" (+{len(report.problems) - 1} more)"
        lines.append(f"{report.student:<{name_width}}  {report.chapter or '?':<19}  "
                     f"{score:>7}   {problems[:70]}")
    return "\n".join(lines)


def write_gradebook(path: Path, reports: list[Report]) -> None:
    """One row per student, one column per exercise, then total and out_of."""
    exercise_ids = list(dict.fromkeys(row["exercise"] for report in reports
                                      for row in report.exercises))
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "notebook", "chapter", *exercise_ids, "total", "out_of",
                         "problems"])
        for report in reports:
            scores = {row["exercise"]: row["score"] for row in report.exercises}
            writer.writerow([report.student, report.notebook, report.chapter or "",
                             *(scores.get(e, "") for e in exercise_ids),
                             report.score, report.points,
                             " | ".join(_one_line(p) for p in report.problems)])


def write_json(path: Path, reports: list[Report]) -> None:
    Path(path).write_text(json.dumps([r.to_dict() for r in reports], indent=2),
                          encoding="utf-8")


def failure_lines(row: dict, private_tests: bool) -> list[str]:
    """What failed, one line per test; a private test's assertion stays secret."""
    lines = []
    for test in row["tests"]:
        if test["passed"]:
            continue
        if private_tests and test.get("kind") == "assertion":
            lines.append(f"failed: {test['purpose']}")
        else:
            lines.append(_one_line(test["message"]))
    return list(dict.fromkeys(lines))


def feedback_text(report: Report, private_tests: bool = False) -> str:
    """A learner's feedback: each exercise, its score, and what failed, in words.

    With private tests only each failed test's purpose is named: their messages may
    reveal expected values.
    """
    lines = [f"# Feedback for {report.student}", "",
             f"Notebook: {Path(report.notebook).name}  ",
             f"Chapter: {report.chapter or 'unknown'}  ",
             f"Score: {report.score:g} / {_number(report.points)}", ""]
    if report.problems:
        lines += ["## While running your notebook", ""]
        lines += [f"- {_one_line(problem)}" for problem in report.problems] + [""]
    for row in report.exercises:
        lines += [f"## {row['exercise']}: {row['score']:g} / {_number(row['points'])}", ""]
        if not row["tests"] or row["reason"] == "not implemented":
            lines.append(f"- {_one_line(row['reason']) or 'all checks pass'}")
        else:
            lines += [f"- {line}" for line in failure_lines(row, private_tests)]
            lines += ["- all checks pass"] if row["score"] == row["points"] else []
        lines.append("")
    return "\n".join(lines)


def write_feedback(folder: Path, reports: list[Report], private_tests: bool = False) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for report in reports:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", report.student) or "student"
        (folder / f"{safe}.md").write_text(feedback_text(report, private_tests),
                                           encoding="utf-8")


def gradescope_results(report: Report, private_tests: bool = False) -> dict:
    """Gradescope's autograder ``results.json`` for one submission."""
    tests = []
    for row in report.exercises:
        output = "\n".join(failure_lines(row, private_tests))
        tests.append({"name": row["exercise"], "score": row["score"],
                      "max_score": row["points"],
                      "output": output or _one_line(row["reason"]) or "all checks pass",
                      "visibility": "visible"})
    return {"score": report.score, "execution_time": report.seconds,
            "output": "\n".join(report.problems), "tests": tests,
            "stdout_visibility": "hidden",
            "extra_data": {"grader_version": report.grader_version, "seed": report.seed,
                           "chapter": report.chapter}}
