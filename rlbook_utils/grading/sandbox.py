"""The OS sandbox a submission runs in: bubblewrap (Debian package ``bubblewrap``).

Inside it the untrusted runner has no network (a network namespace of its own with
only a loopback), its own PID, IPC and UTS namespaces (it cannot see the grader's or
other submissions' processes), a new session (no terminal to inject keystrokes
into), an empty environment, a read-only view of the system, the Python install,
the virtual environment and the ``rlbook_utils`` package, and a private, size-capped
``/tmp`` and home. The class folder, the private tests, the repository's tests and
the gradebook are not in its view at all. Everything it starts dies with it: when
the sandbox's first process goes, the kernel kills the rest of its PID namespace,
``setsid`` daemons included. Its only way out is the socket it inherits.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import rlbook_utils

HOME = "/home/student"
TMPFS_BYTES = 512 * 2**20

ENVIRONMENT = {
    "HOME": HOME, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "RLBOOK_GRADING": "1",
    "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib", "SDL_VIDEODRIVER": "dummy",
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TQDM_DISABLE": "1",
}


class SandboxUnavailable(Exception):
    pass


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _readonly_paths() -> list[str]:
    """What the runner must see: the system, Python, the venv, the package."""
    paths = ["/usr", "/etc"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.exists(name):
            paths.append(name)
    package = str(Path(rlbook_utils.__file__).resolve().parent)
    for prefix in {sys.base_prefix, sys.prefix, sys.exec_prefix, package}:
        prefix = str(Path(prefix).resolve())
        if not any(prefix == p or prefix.startswith(p + "/") for p in ("/usr",)):
            paths.append(prefix)
    # The venv's python may be a symlink to an interpreter elsewhere.
    real = str(Path(sys.executable).resolve().parent.parent)
    if real not in paths and not real.startswith("/usr/"):
        paths.append(real)
    return sorted(set(paths))


def bwrap_command(runner: list[str]) -> list[str]:
    command = [bwrap_path() or "bwrap", "--unshare-all", "--die-with-parent",
               "--new-session", "--clearenv", "--cap-drop", "ALL",
               # The private /tmp and /home first: a repository cloned under either
               # (/tmp/..., /home/alice/...) is then bound read-only on top of them.
               "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp",
               "--size", str(TMPFS_BYTES), "--tmpfs", "/home", "--dir", HOME]
    for path in _readonly_paths():
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
        else:
            command += ["--ro-bind", path, path]
    command += ["--proc", "/proc", "--dev", "/dev", "--chdir", HOME]
    for key, value in ENVIRONMENT.items():
        command += ["--setenv", key, value]
    return command + ["--"] + runner


def runner_command(fd: int, memory_mb: int) -> list[str]:
    return [sys.executable, "-I", "-m", "rlbook_utils.grading.untrusted_runner",
            "--fd", str(fd), "--memory-mb", str(memory_mb)]


@functools.lru_cache(maxsize=1)
def check_bubblewrap() -> str:
    """'' when bubblewrap can build the sandbox here, else why not (one line)."""
    if bwrap_path() is None:
        return ("bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; "
                "`bash scripts/book setup` installs it)")
    try:
        done = subprocess.run(bwrap_command(["/usr/bin/true"]), capture_output=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start: {error}"
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        return ("bubblewrap cannot create a sandbox here (no user namespaces?): "
                + (why[-1] if why else f"exit code {done.returncode}"))
    return ""
