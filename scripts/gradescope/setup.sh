#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# The repository sits in $AUTOGRADER_ROOT/source (unzipped from the autograder zip).
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
if ! command -v python3.11 >/dev/null 2>&1; then
  apt-get update
  apt-get install -y software-properties-common
  add-apt-repository -y ppa:deadsnakes/ppa
  apt-get update
  apt-get install -y python3.11 python3.11-venv
fi
# The grader's sandbox; where the container has no user namespaces it cannot be used,
# and run_autograder grades with --no-sandbox instead.
{ apt-get update && apt-get install -y bubblewrap; } || true
cd "$root/source"
PYTHON=python3.11 bash scripts/book setup
