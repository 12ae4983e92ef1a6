"""What instructors and students read: summaries, gradebooks, feedback, Gradescope."""

import csv
import json

from rlbook_utils.grading.trusted_harness import Report
from rlbook_utils.grading.reports import (
    feedback_text,
    format_report,
    format_summary,
    gradescope_results,
    write_gradebook,
    write_json,
)

SECRET = "expected V[0] = 0.5403"


def report(student="alice"):
    failed = {"name": "test_frozen_lake", "purpose": "values are optimal on FrozenLake",
              "passed": False, "message": SECRET, "kind": "assertion",
              "not_implemented": False}
    missing = {"name": "test_shape", "purpose": "returns an array", "passed": False,
               "message": "the notebook defines no `q_from_v`", "kind": "missing",
               "not_implemented": False}
    passed = {"name": "test_ok", "purpose": "ok", "passed": True, "message": "",
              "kind": "passed", "not_implemented": False}
    return Report(notebook=f"class/{student}.ipynb", student=student, chapter="02_mdps",
                  problems=["cell 3 (`x = 1/0`) raised ZeroDivisionError: division by zero"],
                  exercises=[
                      {"exercise": "value_iteration", "points": 3.0, "score": 1.5,
                       "reason": f"1 of 2 checks failed: {SECRET}", "tests": [failed, passed]},
                      {"exercise": "q_from_v", "points": 2.0, "score": 0.0,
                       "reason": "1 of 1 checks failed", "tests": [missing]},
                      {"exercise": "discounted_return", "points": 2.0, "score": 0.0,
                       "reason": "not implemented", "tests": []}])


def test_table_has_each_exercise_and_the_total():
    text = format_report(report())
    assert "value_iteration" in text and "1.5" in text
    assert "total" in text and "1.5 / 7" in text
    assert "ZeroDivisionError" in text


def test_summary_has_a_line_per_student():
    text = format_summary([report("alice"), report("bob")])
    assert len(text.splitlines()) == 3 and "bob" in text and "1.5 / 7" in text


def test_gradebook_has_a_row_per_student_and_a_column_per_exercise(tmp_path):
    path = tmp_path / "gradebook.csv"
    write_gradebook(path, [report("alice"), report("bob")])
    rows = list(csv.DictReader(path.open()))
    assert [row["student"] for row in rows] == ["alice", "bob"]
    assert rows[0]["value_iteration"] == "1.5" and rows[0]["total"] == "1.5"
    assert rows[0]["out_of"] == "7.0"


def test_json_keeps_every_test(tmp_path):
    path = tmp_path / "results.json"
    write_json(path, [report()])
    (saved,) = json.loads(path.read_text())
    assert saved["exercises"][0]["tests"][0]["message"] == SECRET
    assert saved["grader_version"] and saved["seed"] == 0


def test_feedback_explains_failures_in_words():
    text = feedback_text(report())
    assert SECRET in text
    assert "the notebook defines no `q_from_v`" in text
    assert "not implemented" in text
    assert "Score: 1.5 / 7" in text


def test_feedback_from_private_tests_names_the_purpose_but_not_the_expected_values():
    text = feedback_text(report(), private_tests=True)
    assert SECRET not in text
    assert "failed: values are optimal on FrozenLake" in text
    assert "the notebook defines no `q_from_v`" in text  # no secret in a missing name


def test_gradescope_results_follow_its_schema():
    results = gradescope_results(report())
    assert results["score"] == 1.5
    assert [test["name"] for test in results["tests"]] == [
        "value_iteration", "q_from_v", "discounted_return"]
    assert all({"score", "max_score", "output"} <= set(test) for test in results["tests"])
    assert SECRET not in json.dumps(gradescope_results(report(), private_tests=True)["tests"])
