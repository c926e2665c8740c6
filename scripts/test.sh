#!/usr/bin/env bash
# The test command of the README: set up (idempotent), lint, run the whole suite.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/setup.sh"
cd "$repo"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
