#!/usr/bin/env bash
# README command 2: set up, then the harness's own tests (they start embedded targets, healthy and broken).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
# the installed harness runs the main job outside the checkout; its run is kept for the test that inspects it
export HGHARNESS_KEEP_MAIN_RUN="$PWD/reports/runs/install-check-main"
bash scripts/install-check.sh
exec .venv/bin/python -m pytest tests -n 2 --dist loadgroup "$@"
