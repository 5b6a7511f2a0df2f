#!/usr/bin/env bash
# The installed harness, not the checkout: `pip install .` (not editable) into a fresh venv that also holds
# PyPI's `fixtures` package (a top-level name our layers must not shadow), then the main job from a directory
# outside the checkout. Called by scripts/test.sh; extra arguments go to `hgharness run`.
set -euo pipefail
cd "$(dirname "$0")/.."
# the installed copy alone: a PYTHONPATH (a test session puts the checkout on it) would import the checkout
unset PYTHONPATH PYTHONHOME
root=$(pwd)
PY=${HGHARNESS_PYTHON:-$(.venv/bin/python -c 'import sys; print(sys._base_executable)')}
work=$(mktemp -d "${TMPDIR:-/tmp}/hgharness-install-check-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 143' TERM   # so that the EXIT trap runs on SIGTERM and Ctrl-C too
trap 'exit 130' INT
say() { printf '[install-check] %s\n' "$*" >&2; }

# a copy of the tree (tracked and new files, nothing ignored): setuptools' build/ stays out of the checkout
mkdir "$work/src"
git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work/src"
say "fresh venv in $work/venv, pip install . fixtures (not editable)"
"$PY" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$work/src" fixtures 2>&1 | grep -v -e '^WARNING: Location' >&2 || true
mkdir "$work/elsewhere"
cd "$work/elsewhere"
"$work/venv/bin/python" - <<'PY'
import importlib.metadata as md, pathlib, sys
import fixtures, hgharness, hgharness.fixtures
site = pathlib.Path(hgharness.__file__).resolve().parents[1]
assert "site-packages" in str(site), f"hgharness imported from {site}, not from the installed copy"
assert md.version("fixtures") and pathlib.Path(fixtures.__file__).parent.name == "fixtures", fixtures.__file__
assert hasattr(fixtures, "Fixture"), "PyPI's fixtures package is shadowed"
top = sorted({f.parts[0] for f in md.files("hgharness") if f.parts[0].isidentifier() or f.suffix == ".py"})
assert top == ["hgharness"], f"the distribution installs top-level names {top}"
print(f"[install-check] hgharness {hgharness.__version__} installed in {site}; PyPI fixtures {md.version('fixtures')} intact", file=sys.stderr)
PY
say "hgharness run from $(pwd)"
started=$SECONDS
# a password the run must never write anywhere (tests/test_install_check.py reads the kept run for it)
secret="install-check-secret-$$"
HGHARNESS_PASSWORD=$secret "$work/venv/bin/hgharness" run --runs-dir runs --run-id main "$@" 2>&1 | tee "$work/main-job.log"
test -f runs/main/index.html && test -f runs/main/summary.json
say "PASSED: the installed harness ran the main job outside the checkout in $((SECONDS - started)) s"
if [ -n "${HGHARNESS_KEEP_MAIN_RUN:-}" ]; then
    # kept for tests/test_install_check.py, which inspects this run
    rm -rf "$HGHARNESS_KEEP_MAIN_RUN"
    mkdir -p "$HGHARNESS_KEEP_MAIN_RUN"
    cp -r runs/main "$HGHARNESS_KEEP_MAIN_RUN/run"
    cp "$work/main-job.log" "$HGHARNESS_KEEP_MAIN_RUN/output.log"
    printf '%s' "$secret" > "$HGHARNESS_KEEP_MAIN_RUN/secret"
    git -C "$root" rev-parse HEAD 2>/dev/null > "$HGHARNESS_KEEP_MAIN_RUN/commit" || true
fi
