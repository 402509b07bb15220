"""The document stream: lanes walk documents in order, resets at boundaries, exact resume."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from training.binarize import write_store
from training.data import DocumentStream
from training.store import Pair, Recipe, TokenStore, open_store
from translator.batch import source_ids
from translator.tokenizer import PAD_ID, Tokenizer


def docs(n: int) -> list[list[Pair]]:
    """Document d has d % 3 + 1 sentences; sentence s of document d is [10 + d, 100 + s]."""
    return [[([10 + d, 100 + s], [10 + d]) for s in range(d % 3 + 1)] for d in range(n)]


@pytest.fixture
def store_of(tmp_path: Path, tokenizer: Tokenizer):  # type: ignore[no-untyped-def]
    """Documents of id pairs into a binarized store (ids below the tokenizer's 200 pieces)."""
    made = iter(range(1000))

    def make(documents: Sequence[Sequence[Pair]]) -> TokenStore:
        recipe = Recipe("pairs", "", 0, False, "en", "es")
        return open_store(write_store(tmp_path / f"store{next(made)}", documents, tokenizer.model_proto, recipe))

    return make


def lane_rows(slot_src: torch.Tensor) -> list[tuple[int, int]]:
    return [(int(r[0]) - 10, int(r[1]) - 100) for r in slot_src]


def test_each_lane_reads_whole_documents_in_order(store_of) -> None:  # type: ignore[no-untyped-def]
    stream = DocumentStream(store_of(docs(7)), lanes=3, seed=0)
    seen: dict[int, list[int]] = {}
    previous: list[tuple[int, int] | None] = [None] * 3
    for _ in range(30):
        slot = stream.next_slot()
        for lane, ((doc, sent), start) in enumerate(zip(lane_rows(slot.src), slot.start.tolist(), strict=True)):
            assert start == (sent == 0)  # context reset exactly at document starts
            if not start:
                assert previous[lane] == (doc, sent - 1)  # same document, next sentence
            previous[lane] = (doc, sent)
            seen.setdefault(doc, []).append(sent)
    assert set(seen) == set(range(7))  # every document is read (epochs follow each other)


def test_one_epoch_covers_every_document_once_before_repeating(store_of) -> None:  # type: ignore[no-untyped-def]
    stream = DocumentStream(store_of(docs(12)), lanes=2, seed=3)
    starts = []
    while stream.epoch == 0:
        slot = stream.next_slot()
        starts += [d for (d, s), st in zip(lane_rows(slot.src), slot.start.tolist(), strict=True) if st]
    assert sorted(starts[:12]) == list(range(12))


def test_state_dict_resumes_the_exact_same_sequence(store_of) -> None:  # type: ignore[no-untyped-def]
    store = store_of(docs(9))
    a = DocumentStream(store, lanes=4, seed=5)
    for _ in range(7):
        a.next_slot()
    b = DocumentStream(store, lanes=4, seed=5)
    b.load_state_dict(a.state_dict())
    for _ in range(20):
        sa, sb = a.next_slot(), b.next_slot()
        assert torch.equal(sa.src, sb.src) and torch.equal(sa.start, sb.start)


def test_ranks_map_one_store_and_read_disjoint_shards(store_of) -> None:  # type: ignore[no-untyped-def]
    store = store_of(docs(10))
    shards = [DocumentStream(store, lanes=2, seed=0, rank=r, world=2) for r in range(2)]
    read: list[set[int]] = [set(), set()]
    for rank, stream in enumerate(shards):
        for _ in range(40):  # several epochs of a 5-document shard
            read[rank] |= {d for d, _ in lane_rows(stream.next_slot().src)}
    assert not read[0] & read[1] and read[0] | read[1] == set(range(10))


def test_slot_tensors_are_padded_teacher_forcing_pairs(store_of) -> None:  # type: ignore[no-untyped-def]
    slot = DocumentStream(store_of([[([5, 6, 7], [8, 9])], [([5], [8])]]), lanes=2, seed=0).next_slot()
    assert slot.src_len.tolist() in ([4, 2], [2, 4])
    row = int(slot.src_len.argmax())
    assert slot.src[row].tolist() == source_ids([5, 6, 7])
    assert slot.tgt_in[row].tolist() == [2, 8, 9] and slot.tgt_out[row].tolist() == [8, 9, 3]
    assert slot.tgt_in[1 - row].tolist() == [2, 8, PAD_ID] and slot.tokens == 4 + 2 + 3 + 2


def test_subword_sampling_is_seeded_keeps_the_text_and_varies_by_epoch(
    store_of, tokenizer: Tokenizer, synthetic_docs  # type: ignore[no-untyped-def]
) -> None:
    """data.spm_alpha: every read re-segments a sentence (BPE-dropout for this BPE model), the same way
    for the same (seed, epoch, pair) so that a resume replays it, and never changes the sentence."""
    from training.data import SubwordSampler

    pairs = [(tokenizer.encode(d.sources[0]), tokenizer.encode(d.targets[0])) for d in synthetic_docs[:40]]
    sample = SubwordSampler(tokenizer, alpha=0.3, nbest=-1, seed=1, max_len=150)
    first = [sample(p, i, 0) for i, p in enumerate(pairs)]
    assert first == [sample(p, i, 0) for i, p in enumerate(pairs)]  # seeded: the same again
    assert first != [sample(p, i, 1) for i, p in enumerate(pairs)]  # another epoch, other pieces
    assert sum(s != p for s, p in zip(first, pairs, strict=True)) > 10  # most sentences are re-segmented
    for sampled, original in zip(first, pairs, strict=True):
        assert [tokenizer.decode(side) for side in sampled] == [tokenizer.decode(side) for side in original]
    short = SubwordSampler(tokenizer, alpha=0.3, nbest=-1, seed=1, max_len=3)
    assert all(len(s) <= 3 and len(t) <= 3 for s, t in (short(p, i, 0) for i, p in enumerate(pairs)))
    stream = DocumentStream(store_of([[p] for p in pairs]), lanes=4, seed=0, segment=sample)
    slot = stream.next_slot()
    assert slot.src.shape[0] == 4
