#!/usr/bin/env bash
# The main job on the default corpus: build the Bible corpus from Debian's SWORD
# modules, train the default model if there is none yet (30 minutes on 2 cores;
# MINUTES=5 scripts/demo.sh for a quick look), then translate a sample document.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
DATA=data/bible-en-es
RUN=runs/bible
if [ ! -s "$DATA/test.en" ]; then
    nmt prepare bible --out "$DATA"
fi
if [ ! -f "$RUN/best.pt" ]; then
    nmt train --config configs/bible.yaml --out "$RUN" --max-minutes "${MINUTES:-30}"
fi
echo "== sample document (docs/sample.en), translated with context carried across sentences:"
nmt translate --model "$RUN" --input docs/sample.en
