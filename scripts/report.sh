#!/usr/bin/env bash
# Reproduce the README's figures for a trained run:  scripts/report.sh [RUN] [DATA]
# Prints training throughput (from RUN/metrics.jsonl) and dev/test scores with signatures.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/bible-stories}
DATA=${2:-data/bible-en-es}
. .venv/bin/activate
python - "$RUN" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(f"{sys.argv[1]}/metrics.jsonl")]
train = [r for r in rows if r["kind"] == "train"]
valid = [r for r in rows if r["kind"] == "valid"]
print(f"training: {train[-1]['step']} steps in {train[-1]['elapsed'] / 60:.1f} min (validation included), "
      f"mean {sum(r['tok_s'] for r in train) / len(train):,.0f} source+target tokens/s over logging windows")
best = max(valid, key=lambda r: r["bleu"])
print(f"best dev BLEU (greedy, during training): {best['bleu']:.2f} at step {best['step']}")
PY
for split in dev test; do
    for beam in 5 1; do
        echo "== $split, beam $beam"
        nmt evaluate --model "$RUN" --data "$DATA/$split" --beam "$beam" --threads 2 | tail -1
    done
done
for beam in 5 1; do
    echo "== test, beam $beam, int8"
    nmt evaluate --model "$RUN" --data "$DATA/test" --beam "$beam" --threads 2 --int8 | tail -1
done
