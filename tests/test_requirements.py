"""The pinned requirements install on every Python that `scripts/book` accepts.

For each supported version pip resolves requirements.txt against PyPI, as a newcomer's
machine would, taking binary wheels only and installing nothing (`--dry-run`; only the
packages' metadata is downloaded), so no interpreter of that version is needed. The
machine's own pip configuration (local wheel folders, caps) is left out. The
versions resolve at the same time, each in its own pip process. Marked `network`: it
needs PyPI, and CI runs it.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from rlbook_utils.exercises import repo_root

ROOT = repo_root()


def supported_pythons() -> list[str]:
    """The range `scripts/book` accepts: PYTHON_OLDEST=11 PYTHON_NEWEST=13 -> 3.11..3.13."""
    script = (ROOT / "scripts" / "book").read_text()
    oldest, newest = (int(re.search(rf"\bPYTHON_{end}=(\d+)", script).group(1))
                      for end in ("OLDEST", "NEWEST"))
    return [f"3.{minor}" for minor in range(oldest, newest + 1)]


SUPPORTED = supported_pythons()


@pytest.fixture(scope="module")
def resolutions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dry_run")
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("PIP_") or name in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT")}
    environment["PIP_CONFIG_FILE"] = os.devnull  # PyPI alone, as on a newcomer's machine
    runs = {}
    for version in SUPPORTED:
        report = folder / f"report-{version}.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                   "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
                   "--python-version", version, "--target", str(folder / "never-written"),
                   "--index-url", "https://pypi.org/simple", "--report", str(report),
                   "-r", str(ROOT / "requirements.txt")]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, env=environment)
        runs[version] = (process, report)
    yield runs
    for process, _ in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_supported_range_is_the_readmes_and_the_packages():
    oldest, newest = SUPPORTED[0], SUPPORTED[-1]
    readme = (ROOT / "README.md").read_text()
    assert f"Python {oldest} to {newest}" in readme, "the README must state the range"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'requires-python = ">={oldest}"' in pyproject


@pytest.mark.network
@pytest.mark.parametrize("version", SUPPORTED)
def test_every_pin_has_a_wheel_for_each_supported_python(resolutions, version):
    process, report = resolutions[version]
    output, _ = process.communicate(timeout=900)
    assert process.returncode == 0, f"Python {version}: pip cannot install the pins:\n{output}"
    installed = {canonical(item["metadata"]["name"]): item["metadata"]["version"]
                 for item in json.loads(report.read_text())["install"]}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, pinned = line.split("==")
            assert installed[canonical(name)] == pinned.strip(), f"Python {version}: {line}"


def canonical(name: str) -> str:
    """A distribution's name as PyPI compares them: Sphinx_Book.Theme -> sphinx-book-theme."""
    return re.sub(r"[-_.]+", "-", re.sub(r"\[.*\]", "", name)).lower().strip()
