#!/usr/bin/env bash
# Sets up everything deepscope needs on a fresh machine: a virtualenv with PyTorch (a CPU build
# when no GPU is present), the package with its extras, and Debian's Chromium for browser tests.
# Idempotent: a second run only installs what changed.
set -euo pipefail

VENV="${VENV:-.venv}"
STAMP="$VENV/.deepscope-installed"

pick_python() {
    for candidate in python3.11 python3.12 python3.10 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
            echo "$candidate"; return
        fi
    done
    echo "deepscope needs Python >= 3.10; none found on PATH" >&2
    exit 1
}

if [ ! -x "$VENV/bin/python" ]; then
    PY=$(pick_python)
    # Reuse a torch already installed for this interpreter rather than downloading another.
    if "$PY" -c 'import torch, sys; v=tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2]); sys.exit(0 if v >= (2, 4) else 1)' 2>/dev/null; then
        echo "setup: reusing the installed torch of $PY"
        "$PY" -m venv --system-site-packages "$VENV"
    else
        "$PY" -m venv "$VENV"
    fi
fi

PIP="$VENV/bin/python -m pip"
$PIP install --quiet --upgrade pip

if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    # torch==2.13.0 is a CPU build that pip finds on this kind of machine without a download;
    # elsewhere, without a GPU, use PyTorch's CPU wheels rather than a multi-GB CUDA build.
    if ! $PIP install --quiet "torch==2.13.0"; then
        if command -v nvidia-smi >/dev/null 2>&1; then
            $PIP install --quiet "torch>=2.4"
        else
            $PIP install --quiet "torch>=2.4" --index-url https://download.pytorch.org/whl/cpu
        fi
    fi
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    $PIP install --quiet -e ".[all,dev]"
    touch "$STAMP"
fi

# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
        echo "setup: installing Chromium for the browser tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "setup: Chromium not found; browser tests will be skipped (set CI to make that an error)" >&2
    fi
fi
