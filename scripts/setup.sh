#!/usr/bin/env bash
# Idempotent set-up: .venv with torch 2.13.0 (CPU build) and stsr, libmpv2, real weights.
# Safe to run again and again; does only what is missing.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="$repo/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
log="$venv/setup.log"

quietly() {  # run a step with its output in $log; show the log only if it fails
  if ! "$@" >>"$log" 2>&1; then
    echo "[setup] failed: $* (log: $log)" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
}

stamp="$venv/.stsr-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing torch==2.13.0 and stsr into $venv"
  quietly "${pip[@]}" install "torch==2.13.0"
  quietly "${pip[@]}" install -e ".[dev,cluster]"
  touch "$stamp"
fi

# libmpv for `stsr play` (Debian 12: libmpv2). Installed only when missing.
if ! ldconfig -p 2>/dev/null | grep -q 'libmpv\.so'; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "[setup] installing libmpv2 with apt-get"
    quietly apt-get update -q
    quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libmpv2
  else
    echo "[setup] libmpv is missing; for 'stsr play' run: sudo apt-get install -y libmpv2"
  fi
fi

# Real GMFSS_union weights (downloaded once, sha256-checked, cached).
if "$venv/bin/stsr" weights --help >/dev/null 2>&1; then
  "$venv/bin/stsr" weights fetch --quiet
fi
