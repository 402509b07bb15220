"""Decoding options (and models) side by side: interleaved rounds, so the machine's drift hits all alike.

    python bench/decode.py --model .bench/compare-untied/ours beam5+int8 beam5+int8+shortlist --rounds 4
    python bench/decode.py --model runs/bible --model runs/other beam5 greedy+int8   # two models

Each variant is `beam<K>` or `greedy`, plus any of `+int8`, `+shortlist` and `+sentences`. Every
round translates the test split once per variant, in one process, in document mode (what `nmt
translate` does), or with `+sentences` as independent sentences in fixed batches of 64 in file
order, the way OpenNMT-py translates (no context: what the document order costs), so
start-up and model loading are not timed (unlike `bench/compare_opennmt.sh`). This 2-core machine's
speed drifts by 10-20% within minutes: compare medians of a run, never figures of two runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import sacrebleu
import torch

from translator import devices
from translator.config import DecodeConfig
from translator.corpus import read_corpus
from translator.inference import Translation, Translator

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    beam: int
    int8: bool
    shortlist: bool
    sentences: bool

    @classmethod
    def parse(cls, name: str) -> Variant:
        search, *options = name.split("+")
        if search != "greedy" and not (search.startswith("beam") and search[4:].isdigit()):
            raise argparse.ArgumentTypeError(f"{name}: starts with greedy or beam<K>")
        if unknown := set(options) - {"int8", "shortlist", "sentences"}:
            raise argparse.ArgumentTypeError(f"{name}: unknown options {sorted(unknown)}")
        beam = 1 if search == "greedy" else int(search[4:])
        return cls(name, beam, "int8" in options, "shortlist" in options, "sentences" in options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = ROOT.parent / "shared/data/bible-en-es"
    parser.add_argument("variants", nargs="+", type=Variant.parse)
    parser.add_argument("--model", type=Path, action="append", required=True, help="checkpoint or run directory")
    parser.add_argument("--data", type=Path, default=shared if shared.exists() else ROOT / "data/bible-en-es")
    parser.add_argument("--split", default="test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"hardware: {devices.describe()}")  # every figure names the CPU it was measured on

    docs = read_corpus(args.data / args.split, "en", "es")
    sources, refs = [d.sources for d in docs], [t for d in docs for t in d.targets]
    rows = [(m, v) for m in args.model for v in args.variants]
    loads = {(m, v.int8) for m, v in rows}  # each model loaded once per precision
    models = {(m, int8): Translator.load(m, int8=int8) for m, int8 in loads}
    seconds: dict[tuple[Path, Variant], list[float]] = {row: [] for row in rows}
    bleu: dict[tuple[Path, Variant], float] = {}
    for _ in range(args.rounds):
        for m, v in rows:
            t = models[m, v.int8]
            decode = dataclasses.replace(t.config.decode, beam_size=v.beam, shortlist=v.shortlist, batch_size=64)
            start = time.perf_counter()
            out = sentence_batches(t, sources, decode) if v.sentences else t.translate_documents(sources, decode=decode)
            seconds[m, v].append(time.perf_counter() - start)
            bleu[m, v] = sacrebleu.corpus_bleu([x.text for doc in out for x in doc], [refs]).score
    n = len(refs)
    print(f"{n} sentences in {len(docs)} documents, {args.rounds} rounds, {args.threads} threads")
    print("| model | variant | BLEU | median seconds | sentences/s | all rounds, seconds |")
    print("|---|---|---:|---:|---:|---|")
    for (m, v), times in seconds.items():
        median = statistics.median(times)
        rounds = ", ".join(f"{s:.2f}" for s in times)
        print(f"| {m} | {v.name} | {bleu[m, v]:.2f} | {median:.2f} | {n / median:.1f} | {rounds} |")


def sentence_batches(t: Translator, docs: Sequence[Sequence[str]], decode: DecodeConfig) -> list[list[Translation]]:
    """Every sentence alone, in fixed batches of `decode.batch_size` in file order (one document of results)."""
    flat = [s for doc in docs for s in doc]
    out: list[Translation] = []
    for i in range(0, len(flat), decode.batch_size):
        out += t.translate_sentences(flat[i : i + decode.batch_size], None, decode)[0]
    return [out]


if __name__ == "__main__":
    main()
