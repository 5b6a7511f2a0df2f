#!/usr/bin/env bash
# README command 1: set up, then the main job against the embedded default target (a run directory in
# reports/runs/<id>/). Extra arguments go to `hgharness run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hgharness run "$@"
