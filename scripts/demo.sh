#!/usr/bin/env bash
# The main job on the default corpus: build the Bible corpus from Debian's SWORD
# modules, train the default model if there is none yet (30 minutes on 2 cores;
# MINUTES=5 scripts/demo.sh for a quick look), start the gRPC server on it, and
# translate a sample document through the server (context carried across sentences).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
DATA=data/bible-en-es
RUN=runs/bible
PORT=${PORT:-50051}
if [ ! -s "$DATA/test.en" ]; then
    nmt prepare bible --out "$DATA"
fi
if [ ! -f "$RUN/best.pt" ]; then
    nmt train --config configs/bible.yaml --out "$RUN" --max-minutes "${MINUTES:-30}"
fi

echo "== starting the server (logs: runs/demo-server.log)"
nmt serve --model "bible=$RUN" --port "$PORT" --metrics-port 0 --log-format text 2>runs/demo-server.log &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 120); do
    nmt client health --target "127.0.0.1:$PORT" --timeout 1 >/dev/null 2>&1 && break
    kill -0 $SERVER 2>/dev/null || { cat runs/demo-server.log; exit 1; }
    sleep 0.5
done
nmt client health --target "127.0.0.1:$PORT"

echo "== sample document (docs/sample.en), translated by the server, one call per document:"
nmt client translate --target "127.0.0.1:$PORT" --input docs/sample.en
