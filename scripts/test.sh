#!/usr/bin/env bash
# The test command of the README: set up (idempotent), lint, run the whole suite.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/setup.sh"
cd "$repo"
.venv/bin/ruff check .
# pytest (not python -m pytest): the repository root stays off sys.path, so only the installed stsr is importable.
exec .venv/bin/pytest "$@"
