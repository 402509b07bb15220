"""A training split made of several corpora's training splits, for a second domain beside the first.

`nmt prepare mix --corpus-dir BIBLE --also STORIES --out MIX` writes MIX/train =
BIBLE/train followed by STORIES/train (documents whole; the trainer shuffles
documents, so the order does not matter), and MIX/dev, MIX/test = BIBLE's,
so that validation and every figure stay on the first corpus. Document ids
must not clash: a corpus's ids are prefixed with its directory's name when
they would.

The parts are read into memory (this is for corpora the size of the
benchmark's; for millions of pairs, concatenate the files and their .doc ids).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from translator.corpus import Document, read_corpus, write_parallel


def build_mix(first: Path, others: Sequence[Path], out: Path, src: str = "en", tgt: str = "es") -> dict[str, int]:
    """Write `out`/{train,dev,test}; returns the sentences each part adds to train."""
    train: list[Document] = []
    counts = {}
    seen: set[str] = set()
    for part in (first, *others):
        docs = read_corpus(part / "train", src, tgt)
        if any(doc.doc_id in seen for doc in docs):
            docs = [dataclasses.replace(doc, doc_id=f"{part.name}/{doc.doc_id}") for doc in docs]
        seen.update(doc.doc_id for doc in docs)
        train += docs
        counts[f"train_sentences_from_{part.name}"] = sum(len(doc.sources) for doc in docs)
    write_parallel(out / "train", src, tgt, train)
    for split in ("dev", "test"):
        if Path(f"{first / split}.{src}").exists():
            write_parallel(out / split, src, tgt, read_corpus(first / split, src, tgt))
    return counts
