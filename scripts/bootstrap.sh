#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install mediamix with its dev extras.
# Interpreter search order: $PYTHON, then python3.13/python3.12/python3 on PATH,
# then pyenv's versions. Stops with a clear message when none is suitable.
set -euo pipefail

VENV="${VENV:-.venv}"
REQUIRED="3.12"

ok() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    if ok "$PYTHON"; then echo "$PYTHON"; return 0; fi
    echo "error: PYTHON=$PYTHON is not a Python >= $REQUIRED with the venv module." >&2
    return 1
  fi
  local c
  for c in python3.13 python3.12 python3; do
    if command -v "$c" >/dev/null 2>&1 && ok "$(command -v "$c")"; then command -v "$c"; return 0; fi
  done
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 /root/.pyenv/versions/3.1[2-9]*/bin/python3; do
    if [ -x "$c" ] && ok "$c"; then echo "$c"; return 0; fi
  done
  echo "error: mediamix needs Python >= $REQUIRED (PyMC 6 does), and none was found." >&2
  echo "       Install one (e.g. 'pyenv install 3.12') or point to it: make PYTHON=/path/to/python3.12 ..." >&2
  return 1
}

if [ -x "$VENV/bin/python" ] && ! ok "$VENV/bin/python"; then
  echo "bootstrap: $VENV has an old Python; recreating it." >&2
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  PY="$(find_python)"
  echo "bootstrap: creating $VENV with $PY ($("$PY" --version 2>&1))"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
echo "bootstrap: $VENV ready ($("$VENV/bin/python" --version 2>&1))"
