"""Writing the binarized training corpus (its format: training/store.py): the parallel writer and its workers.

The corpus is streamed and tokenized by worker processes a chunk at a time while this process
writes, so neither the corpus nor its ids are ever held whole. Here too is which store a training
run uses (`train_store`): data.train itself when it is one, else one built in the run directory and
reused while its corpus and SentencePiece recipe (training/spm.py: `spm_recipe`) stay the same.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from training.spm import spm_model_for, spm_recipe
from training.store import (
    ARRAYS,
    FORMAT,
    META,
    SHORTLIST,
    SPM,
    Pair,
    Recipe,
    StoreError,
    check_fingerprint,
    is_store,
    open_store,
    read_meta,
    recipe_for,
    sha256_files,
    sha256_of,
)
from translator.config import Config
from translator.corpus import iter_corpus
from translator.shortlist import PairChunk, Shortlist, ShortlistCounts
from translator.tokenizer import Tokenizer

log = logging.getLogger(__name__)

RUN_STORE = Path("data") / "train.store"  # where `nmt train` builds one, inside the run directory
CHUNK_PAIRS = 2000  # pairs a worker encodes at once: large enough to amortise the pickling


# ---------------------------------------------------------------- writing


@dataclass
class Encoded:
    """Whole documents, tokenized: ids of both sides flat, and lengths per pair and per document."""

    src: np.ndarray
    src_len: np.ndarray
    tgt: np.ndarray
    tgt_len: np.ndarray
    doc_len: np.ndarray  # pairs per document

    def pair_chunk(self) -> PairChunk:
        """The same pairs as flat tensors with offsets (what the shortlist counts)."""

        def offsets(lengths: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

        src, tgt = (torch.from_numpy(a.astype(np.int64)) for a in (self.src, self.tgt))
        return PairChunk(src, offsets(self.src_len), tgt, offsets(self.tgt_len))

    @classmethod
    def of(cls, docs: Sequence[Sequence[Pair]], dtype: Any) -> Encoded:
        pairs = [p for d in docs for p in d]
        return cls(
            np.fromiter(chain.from_iterable(s for s, _ in pairs), dtype),
            np.array([len(s) for s, _ in pairs], np.int64),
            np.fromiter(chain.from_iterable(t for _, t in pairs), dtype),
            np.array([len(t) for _, t in pairs], np.int64),
            np.array([len(d) for d in docs], np.int64),
        )


class _Writer:
    """Appends `Encoded` chunks to a temp directory, hashing as it writes; `publish` renames it into place."""

    def __init__(self, path: Path, spm_model: bytes) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{path.name}.*.tmp"):  # an earlier build killed half way
            shutil.rmtree(stale, ignore_errors=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        self.spm_model = spm_model
        vocab = Tokenizer(spm_model).vocab_size  # also refuses a model with other special ids
        self.dtype = np.dtype(np.uint16 if vocab <= 1 << 16 else np.int32)
        self.vocab_size = vocab
        self.files: dict[str, BinaryIO] = {name: (self.tmp / name).open("wb") for name in ARRAYS}
        self.hashes = {name: hashlib.sha256() for name in ARRAYS}
        self.ends = {"src_off.bin": 0, "tgt_off.bin": 0, "doc_off.bin": 0}
        for name in self.ends:
            self._write(name, np.zeros(1, np.int64))
        self.n_docs = 0
        self.counts = ShortlistCounts(vocab)  # counted as chunks arrive, beside the workers' encoding

    def add(self, enc: Encoded) -> None:
        if len(enc.doc_len) and int(enc.doc_len.min()) == 0:
            raise StoreError(f"{self.path}: a document without sentence pairs cannot be stored")
        self._write("src.bin", enc.src.astype(self.dtype, copy=False))
        self._write("tgt.bin", enc.tgt.astype(self.dtype, copy=False))
        for name, lengths in (("src_off.bin", enc.src_len), ("tgt_off.bin", enc.tgt_len), ("doc_off.bin", enc.doc_len)):
            offsets = self.ends[name] + np.cumsum(lengths, dtype=np.int64)
            self._write(name, offsets)
            self.ends[name] = int(offsets[-1]) if len(offsets) else self.ends[name]
        self.n_docs += len(enc.doc_len)
        self.counts.add(enc.pair_chunk())

    def _write(self, name: str, array: np.ndarray) -> None:
        data = array.tobytes()
        self.files[name].write(data)
        self.hashes[name].update(data)

    def publish(self, recipe: Recipe, info: dict[str, Any]) -> Path:
        """Close, add the model, the shortlist and meta.json, fsync, and rename the directory into place."""
        if not self.n_docs:
            raise StoreError(f"{self.path}: no documents to store (is the corpus empty, or every line skipped?)")
        for f in self.files.values():
            f.flush()
            os.fsync(f.fileno())
            f.close()
        (self.tmp / SPM).write_bytes(self.spm_model)
        files = {
            name: {"bytes": (self.tmp / name).stat().st_size, "sha256": h.hexdigest()}
            for name, h in self.hashes.items()
        }
        partial = {
            "format": FORMAT,
            "dtype": self.dtype.name,
            "n_docs": self.n_docs,
            "n_pairs": self.ends["doc_off.bin"],
        }
        torch.save(self.counts.shortlist().to_tensors(), self.tmp / SHORTLIST)
        for name in (SPM, SHORTLIST):
            files[name] = {"bytes": (self.tmp / name).stat().st_size, "sha256": sha256_files([self.tmp / name])}
        meta = {
            **partial,
            "fingerprint": recipe.fingerprint,
            "recipe": dataclasses.asdict(recipe),
            "vocab_size": self.vocab_size,
            "n_src_tokens": self.ends["src_off.bin"],
            "n_tgt_tokens": self.ends["tgt_off.bin"],
            **info,
            "files": files,
        }
        (self.tmp / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        os.chmod(self.tmp, 0o755)  # mkdtemp makes it private
        _replace_dir(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        for f in self.files.values():
            f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def write_store(path: str | Path, docs: Iterable[Sequence[Pair]], spm_model: bytes, recipe: Recipe) -> Path:
    """Store already-tokenized documents (small corpora and tests; `build_store` tokenizes in parallel)."""
    writer = _Writer(Path(path), spm_model)
    try:
        for batch in _batches(iter(docs), CHUNK_PAIRS, len):
            writer.add(Encoded.of(batch, writer.dtype))
        return writer.publish(recipe, {})
    except BaseException:
        writer.abort()
        raise


def build_store(
    path: str | Path,
    cfg: Config,
    spm_model: bytes,
    spec: str | None = None,
    workers: int = 0,
    info: dict[str, Any] | None = None,
) -> Path:
    """Tokenize corpus `spec` (default data.train; text, gzip or TSV) into a store at `path`.

    The corpus is streamed (one chunk of documents per worker in flight, never the whole
    corpus); `workers` processes (0: one per core) run SentencePiece on chunks while this
    one parses and writes. Corpus errors keep their ``file:line``. Progress goes to stderr.
    """
    d, path = cfg.data, Path(path)
    spec = spec or d.train
    recipe = recipe_for(cfg, spm_model, spec)
    docs = iter_corpus(spec, d.src_lang, d.tgt_lang, skip_invalid=d.skip_invalid)
    chunks = _batches(((doc.sources, doc.targets) for doc in docs), CHUNK_PAIRS, lambda doc: len(doc[0]))
    writer = _Writer(path, spm_model)
    progress = _Progress(f"binarize {spec}")
    try:
        for enc in _encode_all(chunks, spm_model, d.max_len, workers or os.cpu_count() or 1):
            writer.add(enc)
            progress.update(len(enc.src_len))
        progress.done()
        return writer.publish(recipe, {"source": str(spec), "spm_recipe": (info or {}).get("spm_recipe")})
    except BaseException:
        writer.abort()
        raise


def _batches(items: Iterator[Any], size: int, weight: Any) -> Iterator[list[Any]]:
    """Consecutive items grouped until their `weight` reaches `size` (whole documents per chunk)."""
    batch, total = [], 0
    for item in items:
        batch.append(item)
        total += weight(item)
        if total >= size:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


_worker_tokenizer: Tokenizer | None = None
_worker_max_len = 0


def _init_worker(spm_model: bytes, max_len: int) -> None:
    global _worker_tokenizer, _worker_max_len
    _worker_tokenizer, _worker_max_len = Tokenizer(spm_model), max_len


def _encode_chunk(docs: list[tuple[Sequence[str], Sequence[str]]]) -> Encoded:
    """Runs in a worker: SentencePiece over a chunk of documents, truncated to max_len."""
    assert _worker_tokenizer is not None
    tok, n = _worker_tokenizer, _worker_max_len
    dtype = np.uint16 if tok.vocab_size <= 1 << 16 else np.int32
    src = [ids[:n] for ids in tok.encode_batch([s for srcs, _ in docs for s in srcs])]
    tgt = [ids[:n] for ids in tok.encode_batch([t for _, tgts in docs for t in tgts])]
    return Encoded(
        np.fromiter(chain.from_iterable(src), dtype),
        np.array([len(s) for s in src], np.int64),
        np.fromiter(chain.from_iterable(tgt), dtype),
        np.array([len(t) for t in tgt], np.int64),
        np.array([len(srcs) for srcs, _ in docs], np.int64),
    )


def _encode_all(chunks: Iterator[list[Any]], spm_model: bytes, max_len: int, workers: int) -> Iterator[Encoded]:
    """Encoded chunks in corpus order; at most two per worker in flight, so memory stays bounded."""
    if workers <= 1:
        _init_worker(spm_model, max_len)
        yield from map(_encode_chunk, chunks)
        return
    # fork: workers need only SentencePiece and numpy, and start at once (spawn would re-import torch)
    with multiprocessing.get_context("fork").Pool(workers, _init_worker, (spm_model, max_len)) as pool:
        pending: deque[AsyncResult[Encoded]] = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_encode_chunk, (chunk,)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


class _Progress:
    """Pairs done and pairs/s on stderr: a refreshed line on a terminal, a line every 10 s otherwise."""

    def __init__(self, label: str) -> None:
        self.label, self.pairs, self.start = label, 0, time.monotonic()
        self.tty = sys.stderr.isatty()
        self.shown = self.start

    def update(self, pairs: int) -> None:
        self.pairs += pairs
        now = time.monotonic()
        if now - self.shown >= (0.5 if self.tty else 10.0):
            self._show("\r" if self.tty else "\n")
            self.shown = now

    def done(self) -> None:
        self._show("\n")

    def _show(self, end: str) -> None:
        elapsed = max(1e-9, time.monotonic() - self.start)
        line = f"{self.label}: {self.pairs:,} pairs, {self.pairs / elapsed:,.0f} pairs/s"
        print(("\r" if self.tty else "") + line, end=end, file=sys.stderr, flush=True)


def _replace_dir(tmp: Path, path: Path) -> None:
    """Rename `tmp` to `path`, replacing an older store; a crash in between leaves one of them whole."""
    if path.exists():
        old = path.with_name(f".{path.name}.old.tmp")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)


# ---------------------------------------------------------------- the store a training run uses


def train_store_path(cfg: Config, out_dir: Path) -> Path:
    """data.train if it is a store, else where `train_store` builds one in the run directory."""
    return Path(cfg.data.train) if is_store(cfg.data.train) else out_dir / RUN_STORE


def train_store(cfg: Config, out_dir: Path, spm_model: bytes | None = None, expected: str | None = None) -> Path:
    """The store to train on: data.train itself if it is one, else RUN/data/train.store, (re)built if stale.

    `spm_model` and `expected` (the checkpoint's fingerprint) are given on resume: the store
    must then be the checkpoint's corpus, checked before anything is built. A fresh run
    reuses a store built from the same corpus bytes with the same SentencePiece recipe.
    """
    if is_store(cfg.data.train):
        return _given_store(cfg, expected)
    path = train_store_path(cfg, out_dir)
    old = _meta_or_none(path)
    if spm_model is not None:
        recipe = recipe_for(cfg, spm_model)
        if expected is not None:
            check_fingerprint(recipe.fingerprint, expected, f"resume from {out_dir}")
        if old and old["fingerprint"] == recipe.fingerprint:
            log.info("reusing the binarized corpus %s", path)
            return path
        return build_store(path, cfg, spm_model)
    wanted = spm_recipe(cfg)
    if old and old.get("spm_recipe") == wanted:
        recipe = recipe_for(cfg, (path / SPM).read_bytes())
        if old["fingerprint"] == recipe.fingerprint:
            log.info("reusing the binarized corpus %s (same corpus and SentencePiece recipe)", path)
            return path
    return build_store(path, cfg, spm_model_for(cfg), info={"spm_recipe": wanted})


def _given_store(cfg: Config, expected: str | None) -> Path:
    path = Path(cfg.data.train)
    meta = read_meta(path)
    if expected is not None:
        check_fingerprint(str(meta["fingerprint"]), expected, f"resume on {path}")
    if cfg.data.spm_model and sha256_of(Path(cfg.data.spm_model).read_bytes()) != meta["recipe"]["spm_sha256"]:
        raise StoreError(
            f"{path / SPM}: data.spm_model {cfg.data.spm_model} is not the model this store was built with"
        )
    if meta["recipe"]["max_len"] != cfg.data.max_len:
        raise StoreError(
            f"{path / META}: built with max_len {meta['recipe']['max_len']}, config says {cfg.data.max_len}"
        )
    return path


def _meta_or_none(path: Path) -> dict[str, Any] | None:
    try:
        return read_meta(path) if path.exists() else None
    except StoreError as e:
        log.warning("rebuilding: %s", e)
        return None


def binarize(cfg: Config, path: str | Path, workers: int = 0) -> Path:
    """`nmt binarize`: data.train into a store at `path`, with data.spm_model or a SentencePiece model trained here."""
    return build_store(path, cfg, spm_model_for(cfg), workers=workers, info={"spm_recipe": spm_recipe(cfg)})


def corpus_shortlist(cfg: Config, spm_model: bytes, frequent: int, per_source: int) -> Shortlist:
    """The shortlist of data.train (a store made with `spm_model`, or a corpus binarized here to a temp dir)."""
    if is_store(cfg.data.train):
        store = open_store(cfg.data.train)
        if store.spm_model != spm_model:
            raise StoreError(f"{store.path / SPM}: not the checkpoint's SentencePiece model")
        return Shortlist.build_from_chunks(store.chunks(), Tokenizer(spm_model).vocab_size, frequent, per_source)
    with tempfile.TemporaryDirectory() as tmp:
        built = dataclasses.replace(
            cfg, data=dataclasses.replace(cfg.data, train=build_store(Path(tmp) / "s", cfg, spm_model).as_posix())
        )
        return corpus_shortlist(built, spm_model, frequent, per_source)
