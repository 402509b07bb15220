#!/usr/bin/env bash
# The test command: install (if needed), then the whole test suite on CPU.
# Extra arguments go to pytest, e.g.  scripts/test.sh -k search -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
python -m pytest -q "$@"
