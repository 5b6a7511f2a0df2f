#!/usr/bin/env bash
# README command 2: set up, then the harness's own tests (they start embedded targets, healthy and broken).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
# the installed harness's main job (scripts/install-check.sh) is one of the tests: tests/test_install_check.py
# the slowest tests are listed at the end: what CI time goes to
exec .venv/bin/python -m pytest tests -n 2 --dist loadgroup --durations=30 "$@"
