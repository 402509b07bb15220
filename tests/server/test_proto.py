"""The committed stubs are exactly what the .proto generates (no hand edits, no stale stubs)."""

from __future__ import annotations

from pathlib import Path

from server import protogen


def test_committed_stubs_match_the_proto(tmp_path: Path) -> None:
    fresh = protogen.generate(tmp_path)
    for name, text in fresh.items():
        assert (protogen.GEN / name).read_text(encoding="utf-8") == text, f"run scripts/gen-proto.sh ({name} is stale)"
    assert "from server.gen import translator_pb2" in fresh["translator_pb2_grpc.py"]
