#!/usr/bin/env bash
# Regenerate the Python stubs in server/gen/ from proto/ (needs grpcio-tools, a dev dependency).
# The stubs are committed; tests/server/test_proto.py checks they match the .proto.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m server.protogen "$@"
