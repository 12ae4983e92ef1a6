"""The ``rlbook`` command: ``rlbook assign`` and ``rlbook grade``.

Exit codes: 0 when the work was done (a notebook that scores zero is still graded);
1 when ``assign --check`` finds a drifted exercise notebook; 2 when the command
itself could not run (bad arguments, no such file, no tests for the chapter).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from rlbook_utils.assign import SolutionMarkerError, assign
from rlbook_utils.exercises import chapters_with_tests, default_tests_dir, repo_root
from rlbook_utils.grader import Limits, format_report, grade_notebook


def _assign(args) -> int:
    try:
        changed = assign(Path(args.root), check_only=args.check)
    except SolutionMarkerError as error:
        print(f"rlbook assign: {error}", file=sys.stderr)
        return 2
    for path in changed:
        if args.check:
            print(f"drifted: {path} differs from what `rlbook assign` makes from "
                  "solutions/; run `rlbook assign` and commit the result")
        else:
            print(f"wrote {path}")
    if args.check and changed:
        return 1
    if not changed:
        print("every exercise notebook is up to date")
    return 0


def _grade(args) -> int:
    tests_dir = Path(args.tests) if args.tests else default_tests_dir()
    if not tests_dir.is_dir():
        print(f"rlbook grade: no tests folder at {tests_dir}", file=sys.stderr)
        return 2
    if args.chapter and args.chapter not in chapters_with_tests(tests_dir):
        print(f"rlbook grade: no tests for chapter {args.chapter!r} in {tests_dir}",
              file=sys.stderr)
        return 2
    notebooks = []
    for name in args.paths:
        path = Path(name)
        if path.is_dir():
            notebooks += sorted(path.rglob("*.ipynb"))
        elif path.exists():
            notebooks.append(path)
        else:
            print(f"rlbook grade: no such file or folder: {path}", file=sys.stderr)
            return 2
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.timeout,
                    memory_mb=args.memory_mb)
    reports = []
    for notebook in notebooks:
        report = grade_notebook(notebook, chapter=args.chapter, tests_dir=tests_dir,
                                limits=limits)
        reports.append(report)
        print(format_report(report))
        print()
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in reports], indent=2))
    if args.csv:
        _write_gradebook(Path(args.csv), reports)
    return 0


def _write_gradebook(path: Path, reports) -> None:
    exercise_ids = list(dict.fromkeys(row["exercise"] for report in reports
                                      for row in report.exercises))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "chapter", *exercise_ids, "total", "out_of"])
        for report in reports:
            scores = {row["exercise"]: row["score"] for row in report.exercises}
            writer.writerow([report.student, report.chapter,
                             *(scores.get(e, "") for e in exercise_ids),
                             report.score, report.points])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlbook", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    assign_parser = commands.add_parser(
        "assign", help="regenerate chapters/*/exercises.ipynb from solutions/")
    assign_parser.add_argument("--check", action="store_true",
                               help="change nothing; exit 1 if any exercise notebook drifted")
    assign_parser.add_argument("--root", default=str(repo_root()), help=argparse.SUPPRESS)
    assign_parser.set_defaults(run=_assign)

    grade_parser = commands.add_parser(
        "grade", help="grade notebooks (files or folders) in isolated kernels")
    grade_parser.add_argument("paths", nargs="+", metavar="PATH")
    grade_parser.add_argument("--chapter", help="chapter id, e.g. 02_mdps (default: detect)")
    grade_parser.add_argument("--tests", help="folder of test_NN_slug.py files "
                              "(default: the repo's tests/exercises)")
    grade_parser.add_argument("--timeout", type=float, default=Limits.notebook_timeout,
                              help="seconds per notebook (default %(default)s)")
    grade_parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout,
                              help="seconds per cell (default %(default)s)")
    grade_parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                              help="memory cap per notebook in MB (default %(default)s)")
    grade_parser.add_argument("--json", metavar="FILE", help="write every result as JSON")
    grade_parser.add_argument("--csv", metavar="FILE", help="write a gradebook as CSV")
    grade_parser.set_defaults(run=_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
