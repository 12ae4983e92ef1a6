"""The grader on a corpus of broken and hostile notebooks (tests/grader_corpus).

Every notebook is graded once, in one batch with two jobs, against the tests of a
toy chapter (90_corpus) passed as private tests; then each case's outcome is
asserted. Every case must cost only what it breaks, name the reason, never crash
the batch, and leave the submission file as it was.
"""

import hashlib
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

import rlbook_utils
from rlbook_utils.grading.sandbox import check_bubblewrap
from rlbook_utils.grading.trusted_harness import Limits, grade_many

CORPUS = Path(__file__).parent / "grader_corpus"
FULL = {"mean_reward": 2.0, "greedy_action": 2.0, "count_visits": 1.0}
ZERO = dict.fromkeys(FULL, 0.0)
# cell_timeout leaves room for a busy CI machine: the huge-output cell alone took
# over 5 s there while the other worker ran the browser test.
LIMITS = Limits(cell_timeout=15, notebook_timeout=120, test_timeout=3, output_kb=256)


# What the hostile notebooks look for, to prove they found nothing.
LISTEN_PORTS = range(47613, 47621)  # the ports opens_network tries
DAEMON_MARK = "rlbook-daemon-mark"
PRIVATE_MARK = "rlbook-private-tests-marker"  # a comment in tests/test_90_corpus.py
REPOSITORY = Path(rlbook_utils.__file__).resolve().parent.parent


def digests(*folders):
    """sha256 of every file under the folders (the repository's tests and package)."""
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in folders for path in sorted(Path(folder).rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


def marked_processes(mark=DAEMON_MARK):
    """The PIDs of this machine's processes whose command line holds ``mark``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and mark in (entry / "cmdline").read_bytes().decode(
                    errors="replace"):
                found.append(entry.name)
        except OSError:
            pass
    return found


class Listener:
    """A port on the grader's machine that the notebooks try to reach."""

    def __init__(self):
        for port in LISTEN_PORTS:  # the first free one (two test workers may both listen)
            try:
                self.server = socket.create_server(("127.0.0.1", port))
                break
            except OSError:
                continue
        else:
            raise OSError(f"no free port among {LISTEN_PORTS}")
        self.server.settimeout(0.2)
        self.accepted, self.done = [], False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.done:
            try:
                connection, address = self.server.accept()
            except OSError:
                continue
            self.accepted.append(address)
            connection.close()

    def close(self):
        self.done = True
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    # The hostile notebooks kill processes and overwrite files: never run them outside
    # the sandbox (the test command installs bubblewrap).
    why = check_bubblewrap()
    assert not why, f"the corpus is only graded inside the sandbox: {why}"
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copytree(CORPUS / "notebooks", folder / "notebooks")
    shutil.copytree(CORPUS / "tests", folder / "tests")
    paths = sorted((folder / "notebooks").glob("*.ipynb"))
    before = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}
    repository_before = digests(REPOSITORY / "tests", REPOSITORY / "rlbook_utils",
                                folder / "tests")
    listener = Listener()
    try:
        reports = grade_many([(path, path.stem) for path in paths], jobs=2,
                             chapter="90_corpus", tests_dir=folder / "tests", limits=LIMITS)
    finally:
        listener.close()
    after = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}
    traces = {"repository_before": repository_before,
              "repository_after": digests(REPOSITORY / "tests", REPOSITORY / "rlbook_utils",
                                          folder / "tests"),
              "connections": listener.accepted, "processes": marked_processes(),
              "tests_dir": str(folder / "tests")}
    return {report.student: report for report in reports}, before, after, traces


def scores(report):
    return {row["exercise"]: row["score"] for row in report.exercises}


def reason(report, exercise_id):
    return next(row["reason"] for row in report.exercises if row["exercise"] == exercise_id)


def problems(report):
    return " | ".join(report.problems)


def test_no_submission_is_modified(graded):
    _, before, after, _ = graded
    assert before == after


def test_every_report_records_grader_version_and_seed(graded):
    reports, _, _, _ = graded
    for report in reports.values():
        assert report.grader_version and report.seed == 0


def test_perfect_notebook_gets_full_marks(graded):
    assert scores(graded[0]["perfect"]) == FULL
    assert graded[0]["perfect"].problems == []


def test_blank_notebook_scores_zero_as_not_implemented(graded):
    report = graded[0]["blank"]
    assert scores(report) == ZERO
    assert {reason(report, e) for e in FULL} == {"not implemented"}


@pytest.mark.parametrize("name", ["not_a_notebook", "invalid_json"])
def test_unreadable_file_scores_zero_with_a_reason(graded, name):
    report = graded[0][name]
    assert scores(report) == ZERO
    assert "not a readable notebook" in problems(report)


def test_old_nbformat_is_converted_and_graded(graded):
    assert scores(graded[0]["old_nbformat_v3"]) == FULL


def test_empty_notebook_scores_zero_naming_missing_functions(graded):
    report = graded[0]["empty"]
    assert scores(report) == ZERO
    assert "defines no `mean_reward`" in reason(report, "mean_reward")


def test_syntax_error_costs_only_its_exercise(graded):
    report = graded[0]["syntax_error"]
    assert scores(report) == {**FULL, "greedy_action": 0.0}
    assert "SyntaxError" in problems(report)


def test_exception_in_a_cell_later_exercises_still_count(graded):
    report = graded[0]["exception_in_cell"]
    assert scores(report) == FULL
    assert "ValueError: something went wrong here" in problems(report)


def test_renamed_function_is_named_as_missing(graded):
    report = graded[0]["renamed_function"]
    assert scores(report) == {**FULL, "greedy_action": 0.0}
    assert "defines no `greedy_action`" in reason(report, "greedy_action")


def test_wrong_type_and_nan_fail_with_messages(graded):
    report = graded[0]["wrong_type_and_nan"]
    assert scores(report)["mean_reward"] < FULL["mean_reward"]
    assert scores(report)["greedy_action"] == 0.0
    assert scores(report)["count_visits"] == FULL["count_visits"]


def test_infinite_loop_in_a_cell_stops_and_zeroes_what_follows(graded):
    report = graded[0]["infinite_loop_cell"]
    assert scores(report) == {**ZERO, "mean_reward": 2.0}
    assert "ran past the limit of 15 s per cell" in reason(report, "greedy_action")
    assert "cell 4" in reason(report, "greedy_action")


def test_infinite_loop_inside_a_graded_function_fails_only_that_exercise(graded):
    report = graded[0]["infinite_loop_in_function"]
    assert scores(report) == {**FULL, "greedy_action": 0.0}
    assert "took longer than 3 s" in reason(report, "greedy_action")


def test_memory_blowup_is_a_memory_error_not_a_crash(graded):
    report = graded[0]["memory_blowup"]
    assert scores(report) == FULL
    assert "MemoryError" in problems(report)


@pytest.mark.parametrize("name, error", [("sys_exit", "SystemExit"),
                                         ("keyboard_interrupt", "KeyboardInterrupt")])
def test_exit_and_interrupt_in_a_cell_cost_nothing_else(graded, name, error):
    report = graded[0][name]
    assert scores(report) == FULL
    assert error in problems(report)


@pytest.mark.parametrize("name", ["os_exit", "kernel_crash"])
def test_kernel_death_zeroes_later_exercises_and_names_the_cell(graded, name):
    report = graded[0][name]
    assert scores(report) == {**ZERO, "mean_reward": 2.0}
    assert "the kernel died while running cell 4" in reason(report, "count_visits")


def test_huge_output_is_capped_and_grading_goes_on(graded):
    report = graded[0]["huge_output"]
    assert scores(report) == FULL
    assert "printed more than 256 KB" in problems(report)


def test_printed_and_written_fake_results_do_not_count(graded):
    assert scores(graded[0]["writes_files"]) == FULL  # and not 4 for greedy_action


def test_deleting_everything_in_its_folder_does_not_stop_grading(graded):
    report = graded[0]["deletes_files"]
    assert scores(report) == FULL, problems(report)


def test_monkeypatched_numpy_and_builtins_change_no_verdict(graded):
    # The tests' numpy is the grader's own: patching the notebook's changes nothing.
    report = graded[0]["monkeypatch_numpy"]
    assert scores(report) == {**ZERO, "mean_reward": 2.0}
    assert report.problems == []


def test_editing_test_files_on_disk_changes_nothing(graded):
    report = graded[0]["edits_tests"]
    assert scores(report) == {**FULL, "count_visits": 0.0}


def test_reordered_cells_are_graded_where_they_are_defined(graded):
    report = graded[0]["cells_reordered"]
    # The setup cell (import numpy) now comes last, after the functions were graded:
    # only the check that needs no numpy (the empty list) passes.
    assert scores(report) == {**ZERO, "mean_reward": 1.0}
    assert "name 'np' is not defined" in reason(report, "mean_reward")


def test_cell_type_changes_are_reported(graded):
    report = graded[0]["cell_type_changed"]
    assert scores(report) == {**FULL, "mean_reward": 0.0}
    assert "SyntaxError" in problems(report)


def test_exercise_defined_twice_grades_the_last_definition_and_says_so(graded):
    report = graded[0]["defined_twice"]
    assert scores(report) == {**FULL, "greedy_action": 0.0}
    assert "`greedy_action` is defined in cells 3, 5" in problems(report)


def test_duplicated_cells_are_harmless(graded):
    assert scores(graded[0]["duplicated_cells"]) == FULL


def test_deleted_setup_cell_costs_what_needs_it(graded):
    report = graded[0]["deleted_setup_cell"]
    assert scores(report) == {**ZERO, "mean_reward": 1.0}
    assert "name 'np' is not defined" in reason(report, "greedy_action")


# --------------------------------------------------------------------------- #
# Notebooks that attack the grader from inside: each gets the score its functions
# earn and leaves no trace on disk, in processes or on the network.
# --------------------------------------------------------------------------- #
def test_patching_the_graders_classes_and_functions_changes_no_verdict(graded):
    report = graded[0]["patches_grader_classes"]
    assert scores(report) == ZERO
    assert reason(report, "mean_reward") == "not implemented"


def test_editing_the_runners_state_changes_no_verdict(graded):
    # Its forged replies (a pickle, a "passed" flag, a reply nobody asked for) break
    # the protocol: the grader stops the notebook and grades what it saw, nothing.
    report = graded[0]["edits_runner_state"]
    assert scores(report) == ZERO
    assert report.score == 0


def test_rewriting_what_ipython_displays_changes_no_verdict(graded):
    report = graded[0]["rewrites_display"]
    assert scores(report) == ZERO
    assert "passed" not in problems(report).lower()


def test_answers_that_equal_anything_are_compared_as_plain_values(graded):
    # Across the channel an answer is its value: a float subclass whose == is always
    # True arrives as the float 0.0, right only for the empty list.
    report = graded[0]["answers_equal_anything"]
    assert scores(report) == {**ZERO, "mean_reward": 1.0}


def test_overwriting_tests_and_grader_on_disk_changes_nothing(graded):
    _, _, _, traces = graded
    report = graded[0]["overwrites_tests_on_disk"]
    assert scores(report) == FULL, problems(report)
    changed = [path for path, digest in traces["repository_before"].items()
               if traces["repository_after"].get(path) != digest]
    assert changed == []


def test_other_submissions_are_out_of_reach(graded):
    _, before, after, _ = graded
    assert scores(graded[0]["writes_other_submissions"]) == FULL
    assert before == after


def test_private_tests_never_reach_the_feedback(graded):
    _, _, _, traces = graded
    report = graded[0]["reads_private_tests"]
    assert scores(report) == FULL
    text = problems(report) + " ".join(str(row) for row in report.exercises)
    assert "ValueError: LEAK" in text  # the notebook's own error is reported...
    assert PRIVATE_MARK not in text  # ...but it found neither the tests' text
    assert "test_90_corpus" not in text and traces["tests_dir"] not in text  # nor their path
    assert PRIVATE_MARK in (CORPUS / "tests" / "test_90_corpus.py").read_text()


def test_no_process_outlives_its_notebook(graded):
    _, _, _, traces = graded
    assert scores(graded[0]["leaves_daemon"]) == FULL
    assert traces["processes"] == [], "a notebook's daemon is still running"


def test_a_notebook_has_no_network(graded):
    _, _, _, traces = graded
    assert scores(graded[0]["opens_network"]) == FULL
    assert traces["connections"] == []


def test_killing_every_process_it_sees_costs_only_the_notebook_itself(graded):
    reports = graded[0]
    report = reports["kills_everything"]
    assert scores(report) == FULL  # graded before its last cell killed its own sandbox
    assert "died" in problems(report)
    assert scores(reports["perfect"]) == FULL  # graded beside it, untouched


def test_corpus_is_complete():
    names = {path.stem for path in (CORPUS / "notebooks").glob("*.ipynb")}
    tested = {"perfect", "blank", "not_a_notebook", "invalid_json", "old_nbformat_v3",
              "empty", "syntax_error", "exception_in_cell", "renamed_function",
              "wrong_type_and_nan", "infinite_loop_cell", "infinite_loop_in_function",
              "memory_blowup", "sys_exit", "keyboard_interrupt", "os_exit", "kernel_crash",
              "huge_output", "writes_files", "deletes_files", "monkeypatch_numpy",
              "edits_tests", "cells_reordered", "cell_type_changed", "defined_twice",
              "duplicated_cells", "deleted_setup_cell", "patches_grader_classes",
              "edits_runner_state", "rewrites_display", "answers_equal_anything",
              "overwrites_tests_on_disk", "writes_other_submissions",
              "reads_private_tests", "leaves_daemon", "opens_network", "kills_everything"}
    assert names == tested, f"untested corpus notebooks: {names - tested}"
