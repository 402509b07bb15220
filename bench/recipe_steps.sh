#!/usr/bin/env bash
# Which recipe choice slows learning at the reference size? Trains ours for a fixed number of steps
# once per change, then prints each run's dev NLL and greedy dev BLEU (docs/history/benchmark-2026-11.md).
# Needs the SentencePiece model that bench/compare_opennmt.sh made (or any: SPM=...).
#   bench/recipe_steps.sh                      # the five runs of docs/history/benchmark-2026-11.md (~1 hour)
#   STEPS=50 bench/recipe_steps.sh             # a quick look
#   SIZE=default bench/recipe_steps.sh base untied   # some runs, at configs/bible.yaml's own size
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/bible-en-es}
SPM=${SPM:-.bench/compare/spm.model}
WORK=${WORK:-.bench/recipe}
STEPS=${STEPS:-250}
SIZE=${SIZE:-reference}  # reference: OpenNMT-py's size (bench/compare_opennmt.py); default: configs/bible.yaml's
[ -x .venv/bin/nmt ] || bash scripts/setup.sh
mkdir -p "$WORK"
# The base is the recipe as it was when these runs were made: a tied output layer (untied since).
base=(data.train="$DATA/train" data.dev="$DATA/dev" data.spm_model="$SPM" model.tie_output=true
    train.lr=0.002 train.schedule=inverse_sqrt train.warmup_steps=100 train.max_steps="$STEPS"
    train.valid_every=100000000 train.patience=0 train.threads=2 train.save_every=100000 train.tensorboard=false)
case $SIZE in
    reference) base+=(model.enc_layers=2 model.dec_layers=2 model.dropout=0.3 train.lanes=55) ;;
    default) ;;
    *) echo "SIZE must be reference or default, got $SIZE" >&2; exit 2 ;;
esac
run() {
    local name=$1 sets=()
    shift
    for s in "${base[@]}" "$@" "train.out_dir=$WORK/$name"; do sets+=(--set "$s"); done
    rm -rf "${WORK:?}/$name"
    .venv/bin/nmt train --config configs/bible.yaml "${sets[@]}" >"$WORK/$name.log" 2>&1
    .venv/bin/python - "$name" "$WORK/$name/metrics.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[2])]
train, valid = [r for r in rows if r["kind"] == "train"], rows[-1]
print(f"{sys.argv[1]:10} dev NLL {valid['nll']:.2f}  dev BLEU {valid['bleu']:.2f}  "
      f"last train loss {train[-1]['loss']:.2f}  tokens/s {statistics.mean(r['tok_s'] for r in train[1:]):,.0f}")
PY
}
declare -A change=(
    [base]=""
    [nols]="train.label_smoothing=0"
    [clip5]="train.clip_norm=5"
    [untied]="model.tie_output=false"
    [lanes110]="train.lanes=110 train.bptt_sentences=1"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(base nols clip5 untied lanes110)
for name in "${names[@]}"; do
    [ -v "change[$name]" ] || { echo "unknown run $name (one of: ${!change[*]})" >&2; exit 2; }
    # shellcheck disable=SC2086  # a change is several words on purpose
    run "$name" ${change[$name]}
done
