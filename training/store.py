"""The binarized training corpus: token ids in flat memory-mapped arrays, built once per corpus.

The role fairseq's `fairseq-preprocess` and mmap indexed datasets play. A store is a directory:

    src.bin, tgt.bin      every pair's source / target pieces, concatenated (uint16; int32 past 65,536 pieces)
    src_off.bin, tgt_off.bin   int64, pairs + 1: pair i is src[src_off[i]:src_off[i + 1]]
    doc_off.bin           int64, documents + 1: document d is pairs doc_off[d]..doc_off[d + 1] - 1
    spm.model             the SentencePiece model the ids come from
    shortlist.pt          the vocabulary shortlist (translator/shortlist.py) of the pairs, default sizes
    meta.json             counts, dtype, each file's size and SHA-256, and the fingerprint

Pieces are truncated to `data.max_len` at build time, as training reads them.

Why numpy memmap (not pyarrow or Hugging Face `datasets`): the data is three flat integer
arrays and an index, which is exactly what a memory map of a raw file is; numpy is already
installed with torch, the pages are the kernel's page cache (shared by every DDP rank on the
machine and reclaimable), and opening a store costs nothing but its checksum pass. Arrow
would add a large dependency for the same layout.

The fingerprint is a SHA-256 of what decides the ids: the bytes of the corpus files, the
SentencePiece model, `max_len`, `skip_invalid` and the language suffixes. Checkpoints keep
it, so a resume against another corpus is refused (`check_fingerprint`) instead of silently
walking other documents.

A store is written (training/binarize.py) into a temp directory beside its final path and
renamed into place, so a crash leaves no half store; a truncated or corrupted file is refused
naming that file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from translator.config import Config
from translator.corpus import corpus_files
from translator.shortlist import PairChunk, Shortlist

log = logging.getLogger(__name__)

FORMAT = 1
META = "meta.json"
SPM = "spm.model"
SHORTLIST = "shortlist.pt"
ARRAYS = ("src.bin", "tgt.bin", "src_off.bin", "tgt_off.bin", "doc_off.bin")

Pair = tuple[list[int], list[int]]  # source pieces, target pieces


class StoreError(ValueError):
    """A store that cannot be used: the message names the file, or says which corpus differs."""


@dataclass(frozen=True)
class Recipe:
    """What the token ids are a function of; its hash is the store's fingerprint."""

    corpus_sha256: str  # of the corpus files' bytes, in `corpus_files` order
    spm_sha256: str
    max_len: int
    skip_invalid: bool
    src_lang: str
    tgt_lang: str

    @property
    def fingerprint(self) -> str:
        text = json.dumps({"format": FORMAT, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def recipe_for(cfg: Config, spm_model: bytes, spec: str | None = None) -> Recipe:
    """The recipe of a store built from `spec` (default data.train) with `spm_model` under `cfg`."""
    d = cfg.data
    files = corpus_files(spec or d.train, d.src_lang, d.tgt_lang)
    return Recipe(sha256_files(files), sha256_of(spm_model), d.max_len, d.skip_invalid, d.src_lang, d.tgt_lang)


# ---------------------------------------------------------------- reading


class TokenStore:
    """A store, mapped read-only: documents and pairs by index, and chunks for one streaming pass."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path, self.meta = path, meta
        dtype = np.dtype(meta["dtype"])
        self.src, self.tgt = _map(path / "src.bin", dtype), _map(path / "tgt.bin", dtype)
        self.src_off, self.tgt_off = _map(path / "src_off.bin", np.int64), _map(path / "tgt_off.bin", np.int64)
        self.doc_off = _map(path / "doc_off.bin", np.int64)
        self.spm_model = (path / SPM).read_bytes()
        self._check_shape()

    @property
    def fingerprint(self) -> str:
        return str(self.meta["fingerprint"])

    @property
    def n_docs(self) -> int:
        return len(self.doc_off) - 1

    @property
    def n_pairs(self) -> int:
        return len(self.src_off) - 1

    def doc_pairs(self, doc: int) -> tuple[int, int]:
        """First pair index of document `doc`, and one past its last."""
        start, end = self.doc_off[doc : doc + 2]
        return int(start), int(end)

    def pair(self, i: int) -> Pair:
        s0, s1 = self.src_off[i : i + 2]
        t0, t1 = self.tgt_off[i : i + 2]
        return self.src[s0:s1].tolist(), self.tgt[t0:t1].tolist()

    def document(self, doc: int) -> list[Pair]:
        return [self.pair(i) for i in range(*self.doc_pairs(doc))]

    def chunks(self, pairs: int = 8192) -> Iterator[PairChunk]:
        """All pairs in order, `pairs` at a time, as flat tensors (the shortlist's input)."""
        for start in range(0, self.n_pairs, pairs):
            end = min(start + pairs, self.n_pairs)
            so, to = self.src_off[start : end + 1], self.tgt_off[start : end + 1]
            yield PairChunk(
                torch.from_numpy(self.src[so[0] : so[-1]].astype(np.int64)),
                torch.from_numpy(so - so[0]),
                torch.from_numpy(self.tgt[to[0] : to[-1]].astype(np.int64)),
                torch.from_numpy(to - to[0]),
            )

    def shortlist(self) -> Shortlist:
        """The shortlist built with the store (default sizes)."""
        file = self.path / SHORTLIST
        try:
            return Shortlist.from_tensors(torch.load(file, weights_only=True))
        except Exception as e:
            raise StoreError(f"{file}: cannot read the store's shortlist: {e}") from e

    def _check_shape(self) -> None:
        """Cheap consistency of the index with the arrays (the checksums catch the rest)."""
        m = self.meta
        checks = [
            ("doc_off.bin", len(self.doc_off) == m["n_docs"] + 1 and self.doc_off[-1] == self.n_pairs),
            ("src_off.bin", len(self.src_off) == m["n_pairs"] + 1 and self.src_off[-1] == len(self.src)),
            ("tgt_off.bin", len(self.tgt_off) == m["n_pairs"] + 1 and self.tgt_off[-1] == len(self.tgt)),
        ]
        for name, ok in checks:
            if not ok:
                raise StoreError(f"{self.path / name}: corrupted: its index does not match {META}")


def is_store(spec: str | Path) -> bool:
    """A store is a directory; a corpus is a file prefix or a .tsv file."""
    return Path(spec).is_dir()


def open_store(path: str | Path, verify: bool = True) -> TokenStore:
    """Map a store after checking every file's size (and, with `verify`, its SHA-256: one read of the store).

    Raises:
        StoreError: naming the missing, truncated or corrupted file.
    """
    path = Path(path)
    meta = read_meta(path)
    for name, want in meta["files"].items():
        file = path / name
        if not file.is_file():
            raise StoreError(f"{file}: missing from the binarized corpus")
        size = file.stat().st_size
        if size != want["bytes"]:
            raise StoreError(f"{file}: truncated or corrupted: {size} bytes, {META} says {want['bytes']}")
        if verify and sha256_files([file]) != want["sha256"]:
            raise StoreError(f"{file}: corrupted: its SHA-256 differs from the one in {META}")
    return TokenStore(path, meta)


def read_meta(path: Path) -> dict[str, Any]:
    file = path / META
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(
            f"{file}: missing: {path} is not a binarized corpus (or its build did not finish); "
            f"a text corpus is a file PREFIX, not a directory: e.g. {path / 'train'} for {path / 'train'}.en"
        ) from None
    except (OSError, ValueError) as e:
        raise StoreError(f"{file}: unreadable: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise StoreError(f"{file}: not a format-{FORMAT} binarized corpus")
    return meta


def check_fingerprint(fingerprint: str, expected: str | None, what: str) -> None:
    """Refuse to resume `what` on data other than the checkpoint's (None: an old checkpoint, not checked)."""
    if expected is None:
        log.warning("%s: the checkpoint predates corpus fingerprints; the training corpus is not checked", what)
    elif fingerprint != expected:
        raise StoreError(
            f"{what}: the training corpus changed since the checkpoint was written (fingerprint "
            f"{fingerprint[:12]}, checkpoint {expected[:12]}): its files, the SentencePiece model, data.max_len, "
            "data.skip_invalid or the languages differ. Resume with the original corpus, or start a new run."
        )


def _map(file: Path, dtype: Any) -> np.ndarray:
    if file.stat().st_size == 0:  # mmap refuses empty files
        return np.zeros(0, dtype=dtype)
    return np.memmap(file, dtype=dtype, mode="r").view(np.ndarray)  # plain views: cheap slicing


def sha256_of(data: bytes) -> str:
    """The hex SHA-256 of `data` (a SentencePiece model: the recipe keeps it)."""
    return hashlib.sha256(data).hexdigest()


def sha256_files(files: Iterable[Path]) -> str:
    """One SHA-256 over the files' bytes, read 16 MiB at a time."""
    h = hashlib.sha256()
    for file in files:
        with file.open("rb") as f:
            while block := f.read(1 << 24):
                h.update(block)
    return h.hexdigest()
