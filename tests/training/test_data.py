"""The document stream: lanes walk documents in order, resets at boundaries, exact resume."""

from __future__ import annotations

import torch

from training.data import DocumentStream, Pair
from translator.batch import source_ids
from translator.tokenizer import PAD_ID


def docs(n: int) -> list[list[Pair]]:
    """Document d has d % 3 + 1 sentences; sentence s of document d is [10 + d, 100 + s]."""
    return [[([10 + d, 100 + s], [10 + d]) for s in range(d % 3 + 1)] for d in range(n)]


def lane_rows(slot_src: torch.Tensor) -> list[tuple[int, int]]:
    return [(int(r[0]) - 10, int(r[1]) - 100) for r in slot_src]


def test_each_lane_reads_whole_documents_in_order() -> None:
    stream = DocumentStream(docs(7), lanes=3, seed=0)
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


def test_one_epoch_covers_every_document_once_before_repeating() -> None:
    stream = DocumentStream(docs(12), lanes=2, seed=3)
    starts = []
    while stream.epoch == 0:
        slot = stream.next_slot()
        starts += [d for (d, s), st in zip(lane_rows(slot.src), slot.start.tolist(), strict=True) if st]
    assert sorted(starts[:12]) == list(range(12))


def test_state_dict_resumes_the_exact_same_sequence() -> None:
    a = DocumentStream(docs(9), lanes=4, seed=5)
    for _ in range(7):
        a.next_slot()
    b = DocumentStream(docs(9), lanes=4, seed=5)
    b.load_state_dict(a.state_dict())
    for _ in range(20):
        sa, sb = a.next_slot(), b.next_slot()
        assert torch.equal(sa.src, sb.src) and torch.equal(sa.start, sb.start)


def test_ranks_get_disjoint_shards() -> None:
    shards = [DocumentStream(docs(10), lanes=2, seed=0, rank=r, world=2) for r in range(2)]
    firsts = [{d[0][0][0] for d in s.docs} for s in shards]
    assert not firsts[0] & firsts[1] and len(firsts[0] | firsts[1]) == 10


def test_slot_tensors_are_padded_teacher_forcing_pairs() -> None:
    slot = DocumentStream([[([5, 6, 7], [8, 9])], [([5], [8])]], lanes=2, seed=0).next_slot()
    assert slot.src_len.tolist() in ([4, 2], [2, 4])
    row = int(slot.src_len.argmax())
    assert slot.src[row].tolist() == source_ids([5, 6, 7])
    assert slot.tgt_in[row].tolist() == [2, 8, 9] and slot.tgt_out[row].tolist() == [8, 9, 3]
    assert slot.tgt_in[1 - row].tolist() == [2, 8, PAD_ID] and slot.tokens == 4 + 2 + 3 + 2
