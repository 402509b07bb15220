#!/usr/bin/env bash
# Create .venv and install the project into it. Safe to re-run.
# torch is installed first, pinned: any other version (or an open range) would pull
# a multi-gigabyte CUDA build; with 2.13.0 present, pip sees the pin satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check "torch==2.13.0"
python -m pip install -q --disable-pip-version-check -e ".[dev]"
python - <<'PY'
import torch
assert torch.__version__.startswith("2.13.0"), f"unexpected torch {torch.__version__}"
PY
