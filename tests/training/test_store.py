"""The binarized corpus: it round-trips, streams the same lanes as in-memory tokenization, refuses what is wrong."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import tiny_config
from training.binarize import build_store
from training.data import DocumentStream, make_slot
from training.spm import reservoir_sample
from training.store import StoreError, open_store
from training.trainer import train
from translator import checkpoint
from translator.config import Config
from translator.corpus import CorpusError, Document, read_corpus
from translator.shortlist import Shortlist
from translator.tokenizer import Tokenizer

Pair = tuple[list[int], list[int]]


def reference_encode(docs: Sequence[Document], tokenizer: Tokenizer, max_len: int) -> list[list[Pair]]:
    """The trainer's old in-memory tokenization (training/data.py before the store), kept as the reference."""
    encoded = []
    for doc in docs:
        src = tokenizer.encode_batch(doc.sources)
        tgt = tokenizer.encode_batch(doc.targets)
        encoded.append([(s[:max_len], t[:max_len]) for s, t in zip(src, tgt, strict=True)])
    return encoded


class ReferenceStream:
    """The old in-memory DocumentStream (lists of pairs, sharded docs[rank::world]), kept as the reference."""

    def __init__(self, docs: list[list[Pair]], lanes: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.docs = [d for d in docs[rank::world] if d]
        self.lanes, self.seed = lanes, seed
        self.epoch, self.next_doc = 0, 0
        self.order = self._order(0)
        self.lane_doc = [self._take() for _ in range(lanes)]
        self.lane_pos = [0] * lanes

    def _order(self, epoch: int) -> list[int]:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(len(self.docs), generator=gen).tolist()

    def _take(self) -> int:
        if self.next_doc == len(self.order):
            self.epoch += 1
            self.order, self.next_doc = self._order(self.epoch), 0
        self.next_doc += 1
        return self.order[self.next_doc - 1]

    def next_slot(self) -> Any:
        pairs, starts = [], []
        for lane in range(self.lanes):
            doc = self.docs[self.lane_doc[lane]]
            if self.lane_pos[lane] == len(doc):
                self.lane_doc[lane], self.lane_pos[lane] = self._take(), 0
                doc = self.docs[self.lane_doc[lane]]
            starts.append(self.lane_pos[lane] == 0)
            pairs.append(doc[self.lane_pos[lane]])
            self.lane_pos[lane] += 1
        return make_slot(pairs, starts)


def config(corpus: str | Path, max_len: int = 4) -> Config:
    return tiny_config().override([f"data.train={corpus}", f"data.max_len={max_len}"])


@pytest.fixture
def store_dir(tmp_path: Path, synthetic_corpus: dict[str, str], tokenizer: Tokenizer) -> Path:
    return build_store(tmp_path / "train.store", config(synthetic_corpus["train"]), tokenizer.model_proto, workers=2)


def test_store_round_trips_the_tokenized_corpus(
    store_dir: Path, synthetic_corpus: dict[str, str], tokenizer: Tokenizer
) -> None:
    store = open_store(store_dir)
    expected = reference_encode(read_corpus(synthetic_corpus["train"], "en", "es"), tokenizer, 4)
    assert [store.document(d) for d in range(store.n_docs)] == expected
    assert any(len(s) == 4 for doc in expected for s, _ in doc)  # truncation was exercised
    assert store.spm_model == tokenizer.model_proto
    pairs = [p for doc in expected for p in doc]
    reference = Shortlist.build(pairs, tokenizer.vocab_size)
    shortlist = store.shortlist()
    assert torch.equal(shortlist.frequent, reference.frequent)
    assert torch.equal(shortlist.candidates, reference.candidates)


def test_gzip_and_tsv_corpora_make_the_same_documents(
    tmp_path: Path, store_dir: Path, synthetic_corpus: dict[str, str], tokenizer: Tokenizer
) -> None:
    prefix = Path(synthetic_corpus["train"])
    for ext in ("en", "es", "doc"):
        (tmp_path / f"gz.{ext}.gz").write_bytes(gzip.compress(Path(f"{prefix}.{ext}").read_bytes()))
    lines = zip(*(Path(f"{prefix}.{ext}").read_text().splitlines() for ext in ("doc", "en", "es")), strict=True)
    (tmp_path / "c.tsv").write_text("".join("\t".join(row) + "\n" for row in lines))
    want = open_store(store_dir)
    for corpus in (tmp_path / "gz", tmp_path / "c.tsv"):
        got = open_store(build_store(tmp_path / f"{corpus.name}.store", config(corpus), tokenizer.model_proto))
        assert [got.document(d) for d in range(got.n_docs)] == [want.document(d) for d in range(want.n_docs)]


def test_corpus_errors_keep_file_and_line_and_leave_no_store(tmp_path: Path, tokenizer: Tokenizer) -> None:
    (tmp_path / "bad.tsv").write_text("a\tHello.\tHola.\nb\tYes.\tSí.\na\tBack.\tVuelta.\n")
    with pytest.raises(CorpusError, match=r"bad.tsv:3: document id 'a' reappears"):
        build_store(tmp_path / "s", config(tmp_path / "bad.tsv"), tokenizer.model_proto, workers=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tsv"]  # no store, no temp directory


def test_lanes_from_the_store_equal_the_in_memory_path(
    store_dir: Path, synthetic_corpus: dict[str, str], tokenizer: Tokenizer
) -> None:
    store = open_store(store_dir)
    encoded = reference_encode(read_corpus(synthetic_corpus["train"], "en", "es"), tokenizer, 4)
    for rank, world in ((0, 1), (0, 2), (1, 2)):
        ours, ref = DocumentStream(store, 16, 3, rank, world), ReferenceStream(encoded, 16, 3, rank, world)
        for step in range(300):  # 4800 sentences: several epochs of 800 pairs
            if step == 150:  # and a resume half way through, from the position alone
                state = ours.state_dict()
                ours = DocumentStream(store, 16, 3, rank, world)
                ours.load_state_dict(state)
            a, b = ours.next_slot(), ref.next_slot()
            for name in ("src", "tgt_in", "tgt_out", "start"):
                assert torch.equal(getattr(a, name), getattr(b, name)), (rank, world, step, name)
        assert ours.epoch >= 2 and ours.epoch == ref.epoch


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("src.bin", "truncate", r"src\.bin: truncated or corrupted"),
        ("tgt_off.bin", "flip", r"tgt_off\.bin: corrupted"),
        ("meta.json", "delete", r"meta\.json: missing"),
        ("meta.json", "flip", r"meta\.json: unreadable"),
        ("spm.model", "delete", r"spm\.model: missing"),
    ],
)
def test_damaged_store_is_refused_naming_the_file(store_dir: Path, name: str, damage: str, message: str) -> None:
    file = store_dir / name
    data = file.read_bytes()
    if damage == "truncate":
        file.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        file.write_bytes(data[:8] + bytes([data[8] ^ 0xFF]) + data[9:])
    else:
        file.unlink()
    with pytest.raises(StoreError, match=message):
        open_store(store_dir)


def test_a_corpus_directory_given_as_a_store_says_a_corpus_is_a_prefix(tmp_path: Path) -> None:
    """A directory is read as a store; `nmt prepare`'s corpus directory given instead names the PREFIX wanted."""
    (tmp_path / "train.en").write_text("a\n")
    with pytest.raises(StoreError, match="not a binarized corpus") as error:
        open_store(tmp_path)
    assert f"a text corpus is a file PREFIX, not a directory: e.g. {tmp_path / 'train'}" in str(error.value)


def test_training_on_a_truncated_store_fails_naming_the_file(tmp_path: Path, store_dir: Path) -> None:
    src = store_dir / "src.bin"
    src.write_bytes(src.read_bytes()[:-2])
    with pytest.raises(StoreError, match=rf"{src}: truncated"):
        train(config(store_dir).override([f"train.out_dir={tmp_path / 'run'}", "train.max_steps=1"]))


@pytest.mark.slow
def test_resume_on_a_changed_corpus_is_refused(tmp_path: Path, synthetic_corpus: dict[str, str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for ext in ("en", "es", "doc"):
        shutil.copy(f"{synthetic_corpus['train']}.{ext}", corpus / f"train.{ext}")
    run = train(tiny_config(tmp_path / "run", max_steps=2).override([f"data.train={corpus / 'train'}"]))
    ckpt = checkpoint.load(run, prefer=checkpoint.LAST)
    assert ckpt.trainer["data_fingerprint"] == open_store(run / "data" / "train.store").fingerprint

    es = corpus / "train.es"
    es.write_text(es.read_text().replace(" .", " !", 1))  # one character of one line
    cfg = ckpt.config.override(["train.max_steps=4"])
    with pytest.raises(StoreError, match="training corpus changed since the checkpoint"):
        train(cfg, ckpt)

    other = build_store(tmp_path / "other.store", cfg, ckpt.spm_model)  # a store of the changed corpus, given directly
    with pytest.raises(StoreError, match="training corpus changed since the checkpoint"):
        train(cfg.override([f"data.train={other}"]), ckpt)
    assert checkpoint.load(run, prefer=checkpoint.LAST).step == 2  # nothing trained on other documents


def test_reservoir_sample_is_uniform_bounded_and_seeded() -> None:
    counts = [0] * 20
    for seed in range(2000):
        sample = reservoir_sample(iter(range(20)), 5, seed)  # type: ignore[arg-type]
        assert len(sample) == len(set(sample)) == 5
        for item in sample:
            counts[item] += 1
    assert all(400 < c < 600 for c in counts)  # 500 expected for each item
    assert reservoir_sample(iter("abc"), 5, 1) == ["a", "b", "c"]  # a short stream is kept whole, in order
    assert reservoir_sample(iter(range(100)), 3, 7) == reservoir_sample(iter(range(100)), 3, 7)  # type: ignore[arg-type]
