#!/usr/bin/env bash
# Side by side with OpenNMT-py 3.5.1 on the same CPU, data and SentencePiece model (docs/benchmark.md).
#
#   bench/compare_opennmt.sh                 # the record: 30 minutes of training each, then translation
#   bench/compare_opennmt.sh --minutes 1     # a smoke check of the whole pipeline (a few minutes)
#
# OpenNMT-py goes into its own virtual environment (never a project dependency). Its metadata asks
# for torch<2.3, which pip would satisfy with a multi-gigabyte CUDA build, so torch 2.13.0 is
# installed first, pinned, then OpenNMT-py without dependencies, then its other requirements.
set -euo pipefail
cd "$(dirname "$0")/.."
ONMT_VENV=${ONMT_VENV:-.bench/onmt-venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x "$ONMT_VENV/bin/onmt_train" ]; then
    "$PYTHON" -m venv "$ONMT_VENV"
    pip=("$ONMT_VENV/bin/python" -m pip install -q --disable-pip-version-check)
    "${pip[@]}" "torch==2.13.0"
    "${pip[@]}" --no-deps "opennmt-py==3.5.1"
    # OpenNMT-py 3.5.1's requirements, less torch.
    "${pip[@]}" configargparse "ctranslate2>=4,<5" "tensorboard>=2.3" flask waitress "pyonmttok>=1.37,<2" \
        pyyaml sacrebleu rapidfuzz pyahocorasick fasttext-wheel spacy six
fi
[ -x .venv/bin/nmt ] || bash scripts/setup.sh
exec .venv/bin/python bench/compare_opennmt.py --onmt-venv "$ONMT_VENV" "$@"
