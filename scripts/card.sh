#!/usr/bin/env bash
# The default model's card, measured:  scripts/card.sh [RUN]
# Prints what the README's "Current default model" card quotes, each with the command that gives it:
# training (steps, minutes, tokens/s, hardware), test BLEU/chrF/TER at beam 5 with the context carried
# and reset, the context test sets on held-out documents with the reset beside each (natural twins:
# hand-written; held-out-shape stories: pieces no training story has; held-out stories), and, when the
# run kept step checkpoints (train.keep_checkpoints), the average of the last five against best.pt
# (paired bootstrap). Needs the corpora scripts/demo.sh builds, plus `nmt prepare natural-twins`.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/bible-stories}
MODEL=${MODEL:-$RUN}  # e.g. MODEL=$RUN/last.pt: the weights of the last step, whatever best.pt holds
DATA=${DATA:-data/bible-en-es}
STORIES=${STORIES:-data/stories}
NATURAL=${NATURAL:-data/natural}
. .venv/bin/activate
[ -s "$NATURAL/natural-twins.contrastive.jsonl" ] || nmt prepare natural-twins --out "$NATURAL" >/dev/null
python - "$RUN" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(f"{sys.argv[1]}/metrics.jsonl")]
train = [r for r in rows if r["kind"] == "train"]
print(f"training: {train[-1]['step']} steps in {train[-1]['elapsed'] / 60:.1f} min (validation included), "
      f"mean {sum(r['tok_s'] for r in train) / len(train):,.0f} source+target tokens/s over logging windows")
PY
for flag in "" --sentence-level; do
    echo "== test, beam 5 ${flag:-(context carried)}"
    nmt evaluate --model "$MODEL" --data "$DATA/test" --beam 5 --threads "${THREADS:-0}" $flag | tail -1
done
# HELDOUT / STORIES_TEST name other files of those sets (their prefixes); EXTRA adds more contrastive sets.
for set in "$NATURAL/natural-twins" "${HELDOUT:-$STORIES/heldout_shape}" "${STORIES_TEST:-$STORIES/test}" ${EXTRA:-}; do
    for flag in "" --sentence-level; do
        echo "== $set.contrastive.jsonl ${flag:-(context carried)}"
        nmt score --model "$MODEL" --contrastive "$set.contrastive.jsonl" --threads "${THREADS:-0}" $flag | grep -E "^(accuracy|pair)"
    done
done
if [ -z "${NO_AVERAGE:-}" ] && [ -n "$(ls "$RUN"/steps/step-*.pt 2>/dev/null)" ]; then
    nmt average --run "$RUN" --last 5 -o "$RUN/average.pt"
    echo "== best.pt against the average of the last five kept checkpoints, test, beam 5 (paired bootstrap)"
    nmt evaluate --model "$RUN" --model "$RUN/average.pt" --data "$DATA/test" --beam 5 --test bs | tail -4
fi
