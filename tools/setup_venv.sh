#!/usr/bin/env bash
# Builds .venv from a Python 3.7 interpreter found on this machine and installs
# the runtime and test requirements. Safe to run again: an existing venv on
# Python 3.7 is reused and only brought up to date with the requirements.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

is_py37() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 7) else 1)' \
    >/dev/null 2>&1
}

find_python37() {
  local cand root
  # An explicit choice wins, then python3.7 on PATH (pyenv's shim refuses to
  # run unless 3.7 is selected, which is_py37 detects), then pyenv's installs.
  for cand in "${PYTHON37:-}" python3.7; do
    if [ -n "$cand" ] && command -v "$cand" >/dev/null 2>&1 && is_py37 "$cand"; then
      command -v "$cand"
      return 0
    fi
  done
  root=$( (pyenv root 2>/dev/null) || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for cand in $(ls -d "$root"/versions/3.7.*/bin/python 2>/dev/null | sort -V -r); do
    if is_py37 "$cand"; then
      echo "$cand"
      return 0
    fi
  done
  return 1
}

if [ -x "$VENV/bin/python" ] && ! is_py37 "$VENV/bin/python"; then
  echo "setup: $VENV is not Python 3.7; rebuilding it" >&2
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! PY37=$(find_python37); then
    echo "setup: no Python 3.7 found (TensorFlow 1.15 needs it); install one, e.g. 'pyenv install 3.7.16', or set PYTHON37=/path/to/python3.7" >&2
    exit 1
  fi
  echo "setup: creating $VENV with $PY37"
  "$PY37" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade 'pip<24.1' 2>&1 | grep -v 'is ignored' || true
"$VENV/bin/python" -m pip install --quiet -r requirements.txt -r requirements-test.txt 2>&1 \
  | grep -v 'is ignored: it is neither a file nor a directory' || true
"$VENV/bin/python" -c 'import tensorflow, tf_slim' 2>/dev/null \
  || { echo "setup: TensorFlow did not import from $VENV" >&2; exit 1; }
touch "$VENV/.installed"
