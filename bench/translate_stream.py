"""`nmt translate` on a long input: peak memory, lines/s, and when the first line comes out.

    python bench/translate_stream.py --model runs/bible --lines 1000000 -- --int8 --beam 1

It writes an input of --lines sentence lines by cycling through the documents of --data's source
side (a blank line between documents, as `nmt translate` reads them), runs `nmt translate` on it in
a child process (stdin from the file, stdout read here), and prints the child's peak RSS (from the
kernel's accounting of that process alone), lines/s from start to exit (model loading included),
and the seconds until the first translated line arrived. Arguments after `--` go to `nmt translate`.
Compare two --lines sizes: with streaming the peak RSS stays about the same.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from translator.corpus import read_corpus

ROOT = Path(__file__).resolve().parent.parent


def write_input(path: Path, data: str, src: str, tgt: str, lines: int) -> int:
    """--lines sentences from the corpus's documents, cycled; returns the documents written."""
    docs = [d.sources for d in read_corpus(data, src, tgt) if d.sources]
    written, n_docs = 0, 0
    with path.open("w", encoding="utf-8") as out:
        for doc in itertools.cycle(docs):
            doc = doc[: lines - written]
            out.write(("\n" if n_docs else "") + "".join(f"{s}\n" for s in doc))
            written, n_docs = written + len(doc), n_docs + 1
            if written >= lines:
                return n_docs
    return n_docs


def run(model: str, source: Path, extra: list[str]) -> tuple[float, float, int, int]:
    """(seconds, seconds to the first output line, output lines, peak RSS in KiB) of one `nmt translate`."""
    command = [sys.executable, "-m", "nmt", "translate", "--model", model, *extra]
    start, first, count = time.perf_counter(), float("nan"), 0
    with source.open("rb") as stdin:
        proc = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        for _ in proc.stdout:
            if not count:
                first = time.perf_counter() - start
            count += 1
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"nmt translate exited with {proc.returncode}: {' '.join(command)}")
    return time.perf_counter() - start, first, count, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="checkpoint file or run directory")
    parser.add_argument("--data", default=str(ROOT / "data/bible-en-es/test"), help="corpus PREFIX (or .tsv)")
    parser.add_argument("--src", default="en")
    parser.add_argument("--tgt", default="es")
    parser.add_argument("--lines", type=int, default=1_000_000, help="sentence lines of input")
    parser.add_argument("extra", nargs="*", help="after --: arguments for nmt translate")
    args = parser.parse_args()
    from translator import devices

    print(f"hardware: {devices.describe()}")  # every figure names the CPU it was measured on
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "input.txt"
        docs = write_input(source, args.data, args.src, args.tgt, args.lines)
        seconds, first, lines, rss = run(args.model, source, args.extra)
    translated = lines - (docs - 1)  # the output has a blank line between documents
    print(
        f"{args.lines:,} lines in {docs:,} documents: {translated / seconds:,.1f} lines/s ({seconds:.1f} s, "
        f"model loading included), first line after {first:.1f} s, peak RSS {rss / 1024:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
