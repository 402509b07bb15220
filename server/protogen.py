"""Generate the Python gRPC stubs in `server/gen/` from `proto/translator/v1/translator.proto`.

The stubs are committed (a server needs no code generator); `scripts/gen-proto.sh`
reruns this after a change to the .proto, and a test checks the committed stubs
are what the .proto generates. protoc names the stub's import after the proto
package (`translator.v1`), which would collide with this project's `translator`
package, so that one import is rewritten to point into `server.gen`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO = Path("translator/v1/translator.proto")
GEN = ROOT / "server" / "gen"
FILES = ("translator_pb2.py", "translator_pb2.pyi", "translator_pb2_grpc.py")


def generate(out_dir: Path) -> dict[str, str]:
    """Run protoc into `out_dir`; returns {file name: content} of the three stubs."""
    from grpc_tools import protoc  # dev dependency: only needed to regenerate

    with tempfile.TemporaryDirectory() as tmp:
        args = ["protoc", f"-I{ROOT / 'proto'}", f"--python_out={tmp}", f"--pyi_out={tmp}", f"--grpc_python_out={tmp}"]
        if protoc.main([*args, str(ROOT / "proto" / PROTO)]) != 0:
            raise RuntimeError(f"protoc failed on {PROTO}")
        produced = Path(tmp) / PROTO.parent
        files = {name: (produced / name).read_text(encoding="utf-8") for name in FILES}
    files["translator_pb2_grpc.py"] = files["translator_pb2_grpc.py"].replace(
        "from translator.v1 import translator_pb2", "from server.gen import translator_pb2"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    return files


if __name__ == "__main__":
    generate(GEN if len(sys.argv) < 2 else Path(sys.argv[1]))
    print(f"wrote {', '.join(FILES)} to {GEN}")
