#!/usr/bin/env bash
# The README's main command: set up (idempotent), make the sample on twos, convert it to 59.94 fps.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/setup.sh"
cd "$repo"
exec .venv/bin/stsr demo "$@"
