#!/usr/bin/env bash
# Builds the venv of one runtime and installs its requirements and the test
# requirements. Safe to run again: an existing venv on the right Python is
# reused and only brought up to date with the requirements.
#
#   TF=1 (default): .venv, Python 3.7, requirements.txt (TensorFlow 1.15)
#   TF=2:           .venv-tf2, Python 3.12/3.11/3.10, requirements-tf2.txt
#
# The interpreter is found as: an explicit variable ($PYTHON37 or $PYTHON_TF2),
# then pythonX.Y on PATH (pyenv's shims refuse to run unless selected, which
# the version check detects), then pyenv's installs.
#
#   tools/setup_venv.sh --runtime   prints 1 if a Python 3.7 is found, else 2
#                                   (with one line on stderr saying so)
set -euo pipefail
cd "$(dirname "$0")/.."

py_is() {  # py_is PYTHON MINOR...: the interpreter runs and is 3.MINOR
  local py=$1; shift
  "$py" -c 'import sys; sys.exit(0 if "%d.%d" % sys.version_info[:2] in sys.argv[1:] else 1)' \
    "${@/#/3.}" >/dev/null 2>&1
}

find_python() {  # find_python EXPLICIT MINOR...: prints the first match
  local explicit=$1; shift
  local cand root minor
  if [ -n "$explicit" ] && py_is "$explicit" "$@"; then
    command -v "$explicit"; return 0
  fi
  root=$( (pyenv root 2>/dev/null) || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for minor in "$@"; do  # in order of preference
    for cand in "python3.$minor" \
        $(ls -d "$root"/versions/3."$minor".*/bin/python 2>/dev/null | sort -V -r); do
      if command -v "$cand" >/dev/null 2>&1 && py_is "$cand" "$minor"; then
        command -v "$cand"; return 0
      fi
    done
  done
  return 1
}

TF2_MINORS=(12 11 10)

if [ "${1:-}" = "--runtime" ]; then
  if find_python "${PYTHON37:-}" 7 >/dev/null; then echo 1; exit 0; fi
  if find_python "${PYTHON_TF2:-}" "${TF2_MINORS[@]}" >/dev/null; then
    echo "setup: no Python 3.7 here (TensorFlow 1.15 needs it): using the TensorFlow 2 runtime (TF=2)" >&2
    echo 2; exit 0
  fi
  echo 1; exit 0  # let the build below say what is missing
fi

TF=${TF:-1}
case "$TF" in
  1) VENV=${VENV:-.venv}; REQS=requirements.txt; MINORS=(7); EXPLICIT=${PYTHON37:-}
     PIP_SPEC='pip<24.1'
     NONE_MSG="no Python 3.7 found (TensorFlow 1.15 needs it); install one ('pyenv install 3.7.16') or set PYTHON37=/path/to/python3.7, or use TensorFlow 2: make test TF=2" ;;
  2) VENV=${VENV:-.venv-tf2}; REQS=requirements-tf2.txt; MINORS=("${TF2_MINORS[@]}"); EXPLICIT=${PYTHON_TF2:-}
     PIP_SPEC='pip'
     NONE_MSG="no Python 3.10-3.12 found (TensorFlow 2.21 needs one); install one ('pyenv install 3.12') or set PYTHON_TF2=/path/to/python3.12" ;;
  *) echo "setup: TF=$TF is not a runtime; expected one of: 1, 2" >&2; exit 2 ;;
esac

if [ -x "$VENV/bin/python" ] && ! py_is "$VENV/bin/python" "${MINORS[@]}"; then
  echo "setup: $VENV is not on Python 3.{${MINORS[*]}}; rebuilding it" >&2
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python "$EXPLICIT" "${MINORS[@]}"); then
    echo "setup: $NONE_MSG" >&2
    exit 1
  fi
  echo "setup: creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade "$PIP_SPEC" 2>&1 | grep -v 'is ignored' || true
"$VENV/bin/python" -m pip install --quiet -r "$REQS" -r requirements-test.txt 2>&1 \
  | grep -v 'is ignored: it is neither a file nor a directory' || true
"$VENV/bin/python" -c 'import tf_compat, tf_slim' 2>/dev/null \
  || { echo "setup: TensorFlow did not import from $VENV" >&2; exit 1; }
touch "$VENV/.installed"
