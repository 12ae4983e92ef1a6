"""What a notebook sees from inside the grader's sandbox (bubblewrap).

Each probe runs as a notebook cell in a real sandboxed runner and hands back what it
found as plain data: no network, no view of the repository's tests, the class folder
or the harness's processes, a read-only package, a private /tmp and home, none of the
grader's environment, and nothing left running once the session is closed.
"""

import socket
from pathlib import Path

import pytest

import rlbook_utils
from rlbook_utils.grading.sandbox import _readonly_paths, check_bubblewrap
from rlbook_utils.grading.trusted_harness import Limits, Session
from test_grader_corpus import marked_processes

pytestmark = pytest.mark.skipif(bool(check_bubblewrap()), reason=check_bubblewrap())

REPOSITORY = Path(rlbook_utils.__file__).resolve().parent.parent
# What the sandbox's own /tmp holds before a notebook writes there: the mount points of
# the read-only paths that live under /tmp (a repository cloned there, as CI does).
TMP_MOUNTS = sorted({Path(path).parts[2] for path in _readonly_paths()
                     if path.startswith("/tmp/")})
MARK = "rlbook-sandbox-test-mark"


@pytest.fixture
def session():
    session = Session(Limits(), sandboxed=True)
    yield session
    session.close()


def probe(session, source, name="found"):
    result = session.run_cell(source)
    assert result["error"] is None, result["error"]
    return session.lookup(name)


def test_no_network_not_even_the_graders_loopback(session):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.settimeout(0.5)
    try:
        found = probe(session, f"""
import socket
found = []
for host, port in [("127.0.0.1", {port}), ("1.1.1.1", 53)]:
    try:
        socket.create_connection((host, port), timeout=2).close()
        found.append("connected")
    except OSError as error:
        found.append(type(error).__name__)
found.append(sorted(name for _, name in socket.if_nameindex()))  # its network interfaces
""")
        with pytest.raises(OSError):
            server.accept()
    finally:
        server.close()
    assert "connected" not in found[:2]
    assert found[2] == ["lo"]  # a network namespace of its own: loopback only


def test_tests_class_folder_and_gradebook_are_out_of_view(session, tmp_path):
    class_folder = tmp_path / "class"
    class_folder.mkdir()
    (class_folder / "alice.ipynb").write_text("{}")
    places = [str(REPOSITORY / "tests"), str(REPOSITORY / "solutions"),
              str(class_folder), str(class_folder / "alice.ipynb")]
    found = probe(session, f"import os\nfound = [[os.path.exists(p) for p in {places!r}], "
                           f"sorted(os.listdir({str(REPOSITORY)!r}))]")
    assert found[0] == [False] * len(places)
    # Of the repository it sees only what it runs on: the package and the venv.
    assert set(found[1]) <= {"rlbook_utils", ".venv"} and "rlbook_utils" in found[1]


def test_the_package_is_read_only_and_tmp_and_home_are_private(session, tmp_path):
    package = Path(rlbook_utils.__file__)
    found = probe(session, f"""
import os, pathlib
found = []
try:
    open({str(package)!r}, "a").close()
    found.append("package writable")
except OSError:
    found.append("package read-only")
pathlib.Path("/tmp/{MARK}").write_text("x")
pathlib.Path.home().joinpath("{MARK}").write_text("x")
found += [str(pathlib.Path.home()), sorted(os.listdir("/tmp"))]
""")
    assert found[0] == "package read-only"
    assert found[1] == "/home/student" and found[2] == sorted([MARK, *TMP_MOUNTS])
    assert not Path("/tmp", MARK).exists()  # the grader's /tmp never saw it
    other = Session(Limits(), sandboxed=True)  # and neither does the next submission
    try:
        assert probe(other, "import os\nfound = sorted(os.listdir('/tmp'))") == TMP_MOUNTS
    finally:
        other.close()


def test_own_pid_namespace_and_an_empty_environment(monkeypatch):
    monkeypatch.setenv("RLBOOK_SECRET_OF_THE_GRADER", "s3cret")
    inside = Session(Limits(), sandboxed=True)
    try:
        found = probe(inside, """
import os
pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
found = [max(pids), len(pids), sorted(os.environ)]
""")
    finally:
        inside.close()
    largest_pid, n_processes, variables = found
    assert largest_pid < 100 and n_processes < 10  # not the machine's processes
    assert "RLBOOK_SECRET_OF_THE_GRADER" not in variables
    assert "RLBOOK_GRADING" in variables


def marked():
    return marked_processes(MARK)


def test_a_setsid_daemon_dies_with_its_session():
    session = Session(Limits(), sandboxed=True)
    try:
        probe(session, f"""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{MARK}"],
                 start_new_session=True)
import time; time.sleep(0.5)
found = True
""")
        assert marked(), "the daemon did not start: this test would prove nothing"
    finally:
        session.close()
    import time

    deadline = time.monotonic() + 5
    while marked() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marked() == []
