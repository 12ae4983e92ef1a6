#!/usr/bin/env bash
# Build the Gradescope autograder zip from the committed repository:
#   bash scripts/gradescope/make_zip.sh [PRIVATE_TESTS_DIR]
# writes _build/gradescope_autograder.zip with setup.sh and run_autograder at its root.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p _build
out=_build/gradescope_autograder.zip
rm -f "$out"
git archive --format=zip -o "$out" HEAD
python3 - "$out" "${1:-}" <<'PY'
import sys, zipfile, pathlib
out, private = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "a") as archive:
    for name in ("setup.sh", "run_autograder"):
        info = zipfile.ZipInfo(name)
        info.external_attr = 0o755 << 16
        archive.writestr(info, pathlib.Path("scripts/gradescope", name).read_text())
    if private:
        for path in sorted(pathlib.Path(private).glob("*.py")):
            archive.write(path, f"private_tests/{path.name}")
print(f"wrote {out}")
PY
