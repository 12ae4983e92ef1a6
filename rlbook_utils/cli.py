"""The ``rlbook`` command: ``rlbook assign``, ``grade``, ``toc`` and ``bench``.

Exit codes: 0 when the work was done (a notebook that scores zero is still graded);
1 when ``assign --check`` finds a drifted exercise notebook; 2 when the command
itself could not run (bad arguments, no such file, no tests for the chapter).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path

from tqdm import tqdm

from rlbook_utils.grading import reports
from rlbook_utils.assign import SolutionMarkerError, assign, toc_without_solutions
from rlbook_utils.exercises import chapters_with_tests, default_tests_dir, repo_root
from rlbook_utils.grading import sandbox
from rlbook_utils.grading.trusted_harness import Limits, grade_many, student_name


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


def collect_submissions(names: list[str]) -> list[tuple[Path, str]]:
    """(notebook, student) for every file given and every notebook under a folder."""
    submissions = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.ipynb")
                           if ".ipynb_checkpoints" not in p.parts)
            submissions += [(p, student_name(p, root=path)) for p in found]
        elif path.exists():
            submissions.append((path, student_name(path)))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return submissions


class Progress:
    """tqdm's progress bar on a terminal; a plain line per notebook otherwise (CI logs)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.lock = threading.Lock()
        self.tty = stream.isatty()
        self.bar = tqdm(total=total, desc="grading", unit="notebook", file=stream,
                        disable=not self.tty, dynamic_ncols=True)

    def __call__(self, report) -> None:
        with self.lock:
            self.done += 1
            if self.tty:
                self.bar.set_postfix_str(report.student, refresh=False)
                self.bar.update()
            else:
                self.stream.write(f"graded {self.done}/{self.total}: {report.student} "
                                  f"{report.score:g}/{report.points:g}\n")
                self.stream.flush()

    def close(self) -> None:
        self.bar.close()


def _grade(args) -> int:
    tests_dir = Path(args.tests) if args.tests else default_tests_dir()
    if not tests_dir.is_dir():
        print(f"rlbook grade: no tests folder at {tests_dir}", file=sys.stderr)
        return 2
    if args.chapter and args.chapter not in chapters_with_tests(tests_dir):
        print(f"rlbook grade: no tests for chapter {args.chapter!r} in {tests_dir}",
              file=sys.stderr)
        return 2
    try:
        submissions = collect_submissions(args.paths)
    except FileNotFoundError as error:
        print(f"rlbook grade: {error}", file=sys.stderr)
        return 2
    if not submissions:
        print("rlbook grade: no notebooks found", file=sys.stderr)
        return 2
    if args.format == "gradescope" and len(submissions) != 1:
        print("rlbook grade: --format gradescope grades exactly one notebook",
              file=sys.stderr)
        return 2
    if not args.no_sandbox:
        why = sandbox.check_bubblewrap()
        if why:
            print(f"rlbook grade: refusing to run student code outside a sandbox: {why}. "
                  "Pass --no-sandbox to grade without one (student code can then read "
                  "and write your files; see the README's threat model).", file=sys.stderr)
            return 2
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.timeout,
                    memory_mb=args.memory_mb, sandbox=not args.no_sandbox)
    progress = Progress(len(submissions)) if len(submissions) > 1 else None
    try:
        graded = grade_many(submissions, args.jobs, args.chapter, tests_dir, limits,
                            on_done=progress)
    finally:
        if progress:
            progress.close()
    private = args.tests is not None
    if args.format == "gradescope":
        results = reports.gradescope_results(graded[0], private_tests=private)
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(results, indent=2))
        print(f"wrote {args.output}")
    elif len(graded) == 1:
        print(reports.format_report(graded[0]))
    else:
        if args.verbose:
            for report in graded:
                print(reports.format_report(report), end="\n\n")
        print(reports.format_summary(graded))
    if args.json:
        reports.write_json(Path(args.json), graded)
    if args.csv:
        reports.write_gradebook(Path(args.csv), graded)
    if args.feedback:
        reports.write_feedback(Path(args.feedback), graded, private_tests=private)
    return 0


def _toc(args) -> int:
    print(toc_without_solutions(Path(args.root)), end="")
    return 0


def _bench(args) -> int:
    from rlbook_utils import benchmark

    rows = benchmark.run(args.only or list(benchmark.SECTIONS), seeds=args.seeds,
                         copies=args.copies)
    print(benchmark.format_table(rows))
    return 0


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
        "grade", help="grade notebooks (files or folders), each in a sandbox",
        description="Grade notebooks: one per student, named after the file, or after "
                    "its folder when it sits in one.")
    grade_parser.add_argument("paths", nargs="+", metavar="PATH",
                              help="notebooks, or folders searched for notebooks")
    grade_parser.add_argument("--chapter", help="chapter id, e.g. 02_mdps (default: detect)")
    grade_parser.add_argument("--tests", metavar="DIR",
                              help="private tests (test_NN_slug.py files); feedback then "
                                   "names failed tests without revealing them")
    grade_parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                              help="notebooks graded at once (default: cores, %(default)s)")
    grade_parser.add_argument("--timeout", type=float, default=Limits.notebook_timeout,
                              help="seconds per notebook (default %(default)s)")
    grade_parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout,
                              help="seconds per cell (default %(default)s)")
    grade_parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                              help="memory cap per notebook in MB (default %(default)s)")
    grade_parser.add_argument("--json", metavar="FILE", help="write every result as JSON")
    grade_parser.add_argument("--csv", metavar="FILE",
                              help="write a gradebook: a row per student, a column per exercise")
    grade_parser.add_argument("--feedback", metavar="DIR",
                              help="write one feedback file per student into DIR")
    grade_parser.add_argument("--format", choices=["table", "gradescope"], default="table",
                              help="gradescope: write Gradescope's results.json (one notebook)")
    grade_parser.add_argument("--output", default="results/results.json",
                              help="where --format gradescope writes (default %(default)s)")
    grade_parser.add_argument("--no-sandbox", action="store_true",
                              help="run notebooks without bubblewrap, where it cannot run "
                                   "(e.g. Gradescope's image); tests still run outside the "
                                   "notebook's process, but its code can reach your files")
    grade_parser.add_argument("--verbose", "-v", action="store_true",
                              help="print every notebook's table, not just the summary")
    grade_parser.set_defaults(run=_grade)

    toc_parser = commands.add_parser(
        "toc", help="print the table of contents without the reference solutions",
        description="Print _toc.yml without its reference solutions, for "
                    "`jupyter-book build . --toc FILE` (what `bash scripts/book build "
                    "--no-solutions` does).")
    toc_parser.add_argument("--without-solutions", action="store_true", required=True,
                            help="drop every page under solutions/ (required)")
    toc_parser.add_argument("--root", default=str(repo_root()), help=argparse.SUPPRESS)
    toc_parser.set_defaults(run=_toc)

    from rlbook_utils.benchmark import SECTIONS

    bench_parser = commands.add_parser(
        "bench", help="measure every target of the course (not a test; takes minutes)")
    bench_parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                              help=f"run only these sections: {', '.join(SECTIONS)}")
    bench_parser.add_argument("--seeds", type=int, default=5,
                              help="seeds per CartPole method (default %(default)s)")
    bench_parser.add_argument("--copies", type=int, default=10,
                              help="notebooks in the grading throughput run (default %(default)s)")
    bench_parser.set_defaults(run=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
