#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install a locked requirement set into it.
# Usage: scripts/bootstrap.sh [requirements/dev.txt]
# Idempotent: does nothing when the lock file has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
lock=${1:-requirements/dev.txt}
venv=${VENV:-.venv}
stamp="$venv/.installed-$(basename "$lock" .txt)"

works() { "$@" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

find_python() {
  local c
  if [ -n "${PYTHON:-}" ]; then works "$PYTHON" && { echo "$PYTHON"; return; }; fi
  for c in python3.14 python3.13 python3.12 python3 python; do
    command -v "$c" >/dev/null 2>&1 && works "$c" && { command -v "$c"; return; }
  done
  # pyenv shims fail unless a version is selected; look at the installed versions directly.
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    [ -x "$c" ] && works "$c" && { echo "$c"; return; }
  done
  return 1
}

if [ ! -x "$venv/bin/python" ] || ! works "$venv/bin/python"; then
  py=$(find_python) || {
    echo "error: Streamflow DataOps needs Python 3.12 or newer, and none was found on PATH or under pyenv." >&2
    echo "       Install one (e.g. 'pyenv install 3.12') or point PYTHON=/path/to/python3.12 at it." >&2
    exit 1
  }
  echo "Creating $venv with $py ($("$py" --version 2>&1))"
  rm -rf "$venv"
  "$py" -m venv "$venv"
fi

want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "Installing $lock into $venv ..."
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
echo "$want" > "$stamp"
