"""The Gradescope autograder: the zip's layout, and run_autograder on a submission in
a simulated /autograder folder (Gradescope's results.json schema)."""

import json
import os
import shutil
import subprocess
import zipfile

from rlbook_utils.exercises import exercises_in, load_test_module, repo_root

ROOT = repo_root()


def test_zip_has_the_two_scripts_at_its_root_and_the_repository(tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    (private / "test_02_mdps.py").write_text("# an instructor's private tests\n")
    subprocess.run(["bash", "scripts/gradescope/make_zip.sh", str(private)], cwd=ROOT,
                   check=True, capture_output=True)
    with zipfile.ZipFile(ROOT / "_build" / "gradescope_autograder.zip") as archive:
        names = set(archive.namelist())
        mode = archive.getinfo("run_autograder").external_attr >> 16
    assert {"setup.sh", "run_autograder", "scripts/book", "requirements.txt",
            "rlbook_utils/grading/trusted_harness.py", "private_tests/test_02_mdps.py"} <= names
    assert mode & 0o111, "run_autograder must be executable"


def test_run_autograder_writes_results_json_for_a_submission(tmp_path):
    autograder = tmp_path / "autograder"
    (autograder / "submission").mkdir(parents=True)
    os.symlink(ROOT, autograder / "source")
    shutil.copy(ROOT / "solutions" / "02_mdps.ipynb", autograder / "submission" / "hw.ipynb")
    subprocess.run(["bash", str(ROOT / "scripts" / "gradescope" / "run_autograder")],
                   env={**os.environ, "AUTOGRADER_ROOT": str(autograder)},
                   check=True, capture_output=True, timeout=300)
    results = json.loads((autograder / "results" / "results.json").read_text())
    points = {spec.exercise_id: spec.points
              for spec in exercises_in(load_test_module("02_mdps")).values()}
    assert results["score"] == sum(points.values())
    assert {test["name"]: test["max_score"] for test in results["tests"]} == points
    assert all(test["score"] == test["max_score"] for test in results["tests"])


def test_run_autograder_without_a_notebook_scores_zero(tmp_path):
    autograder = tmp_path / "autograder"
    (autograder / "submission").mkdir(parents=True)
    (autograder / "submission" / "essay.txt").write_text("no notebook here")
    os.symlink(ROOT, autograder / "source")
    subprocess.run(["bash", str(ROOT / "scripts" / "gradescope" / "run_autograder")],
                   env={**os.environ, "AUTOGRADER_ROOT": str(autograder)}, check=True,
                   capture_output=True)
    results = json.loads((autograder / "results" / "results.json").read_text())
    assert results["score"] == 0 and "No .ipynb" in results["output"]
