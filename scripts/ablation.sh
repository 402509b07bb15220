#!/usr/bin/env bash
# The context ablation: train the same default config with context none / carry / attend, on the
# Bible corpus and on the synthetic pronoun corpus, then evaluate them side by side.
#
#   scripts/ablation.sh OUT                  # train (unless OUT/<run>/best.pt exists), then evaluate
#   STAGE=train scripts/ablation.sh OUT      # only train;  STAGE=evaluate: only evaluate
#
# Budget: STEPS (default 961: what 30 minutes bought the tied recipe on the 2-core reference CPU, kept so
# ablations stay comparable; the untied default gets about 910) or
# MINUTES; SYNTH_STEPS for the synthetic corpus. PARALLEL=1 trains all runs at once (a GPU machine).
# DATA is the Bible corpus (default data/bible-en-es). PYTHON runs the package (default .venv/bin/python).
# CORPORA (default "bible synthetic") and VARIANTS (default "none carry attend") pick the runs; THREADS
# the torch threads for evaluation. Reports: OUT/report-{bible,synthetic}/report.md; the context models'
# contrastive accuracy with the context reset: OUT/<run>.reset.<set>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/ablation.sh OUT}
DATA=${DATA:-data/bible-en-es}
PYTHON=${PYTHON:-.venv/bin/python}
STEPS=${STEPS:-961}
MINUTES=${MINUTES:-0}
SYNTH_STEPS=${SYNTH_STEPS:-2000}
VARIANTS=${VARIANTS:-none carry attend}
CORPORA=${CORPORA:-bible synthetic}
STAGE=${STAGE:-all}
EXTRA=${EXTRA:-}  # more --set overrides for every run, e.g. "train.threads=2"
nmt() { "$PYTHON" -m nmt "$@"; }
mkdir -p "$OUT"

if [ ! -f "$OUT/synthetic/test.contrastive.jsonl" ]; then
    nmt prepare synthetic-pronouns --out "$OUT/synthetic" --docs 20000 >"$OUT/synthetic.prepare.json"
fi
if [ ! -f "$OUT/contrastive/dev.contrastive.jsonl" ]; then
    nmt prepare bible-contrastive --corpus-dir "$DATA" --out "$OUT/contrastive" >"$OUT/contrastive.prepare.json"
fi

train() {  # corpus variant steps
    local run="$OUT/$1-$2" sets=()
    [ -f "$run/best.pt" ] && return 0
    for s in $EXTRA; do sets+=(--set "$s"); done
    if [ "$1" = synthetic ]; then
        sets+=(--train "$OUT/synthetic/train" --dev "$OUT/synthetic/dev")
    else
        sets+=(--train "$DATA/train" --dev "$DATA/dev")
    fi
    nmt train --config configs/bible.yaml --context "$2" --out "$run" --max-steps "$3" \
        --max-minutes "$MINUTES" --set train.patience=0 "${sets[@]}" >"$run.log" 2>&1
}

if [ "$STAGE" != evaluate ]; then
    for v in $VARIANTS; do
        for c in $CORPORA; do
            steps=$STEPS
            [ "$c" = synthetic ] && steps=$SYNTH_STEPS
            if [ "${PARALLEL:-0}" = 1 ]; then train "$c" "$v" "$steps" & else train "$c" "$v" "$steps"; fi
        done
    done
    wait
fi
[ "$STAGE" = train ] && exit 0

runs() { for v in $VARIANTS; do echo "--model $OUT/$1-$v"; done; }
for c in $CORPORA; do
    if [ "$c" = bible ]; then
        # shellcheck disable=SC2046
        nmt evaluate $(runs bible) --data "$DATA/test" --dev "$DATA/dev" --threads "${THREADS:-0}" \
            --contrastive "$OUT/contrastive/dev.contrastive.jsonl" \
            --contrastive "$OUT/contrastive/test.contrastive.jsonl" --report "$OUT/report-bible"
    else
        # shellcheck disable=SC2046
        nmt evaluate $(runs synthetic) --data "$OUT/synthetic/test" --threads "${THREADS:-0}" \
            --contrastive "$OUT/synthetic/test.contrastive.jsonl" --report "$OUT/report-synthetic"
    fi
    # The context models once more with their context reset before every sentence: same weights, no document.
    for v in $VARIANTS; do
        [ "$v" = none ] && continue
        for set in "$OUT"/contrastive/*.contrastive.jsonl "$OUT"/synthetic/test.contrastive.jsonl; do
            case "$c:$set" in bible:*synthetic* | synthetic:*/contrastive/*) continue ;; esac
            nmt score --model "$OUT/$c-$v" --contrastive "$set" --sentence-level --threads "${THREADS:-0}" |
                tail -1 >"$OUT/$c-$v.reset.$(basename "$set" .jsonl).json"
        done
    done
done
