"""Document segments: how long documents are cut, and what a segment's overlap rebuilds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from translator.documents import Segment, segments
from translator.inference import Translator


def test_size_zero_keeps_every_document_whole() -> None:
    assert segments([3, 0, 7], 0, 3) == [Segment(0, 0, 3, 0), Segment(1, 0, 0, 0), Segment(2, 0, 7, 0)]


@pytest.mark.parametrize(("n", "size", "overlap"), [(57, 12, 3), (13, 12, 0), (12, 12, 5), (5, 1, 2), (40, 7, 10)])
def test_segments_keep_every_sentence_once_in_order(n: int, size: int, overlap: int) -> None:
    parts = segments([n], size, overlap)
    kept = [i for p in parts for i in range(p.first + p.warmup, p.stop)]
    assert kept == list(range(n))
    assert all(p.stop - p.first - p.warmup <= size for p in parts)
    lengths = [p.stop - p.first - p.warmup for p in parts]
    assert max(lengths) - min(lengths) <= 1  # near-equal: the job waits for its longest segment
    assert all(p.warmup == min(overlap, p.first + p.warmup) for p in parts)  # as much overlap as the document has


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="segment"):
        segments([4], -1, 0)
    with pytest.raises(ValueError, match="segment"):
        segments([4], 2, -1)


def test_a_segment_larger_than_every_document_changes_nothing(trained_run: Path) -> None:
    t = Translator.load(trained_run)
    docs = [["look at that cow .", "it is very cute .", "look at that dog ."], ["look at that book ."]]
    whole = t.translate_documents(docs)
    cut = t.translate_documents(docs, decode=dataclasses.replace(t.config.decode, segment_sentences=3))
    assert [[x.text for x in d] for d in cut] == [[x.text for x in d] for d in whole]


def test_the_overlap_rebuilds_the_context_a_segment_starts_from(trained_run: Path) -> None:
    """One sentence per segment: the pronoun's sentence starts a segment, its antecedent is one back.

    Without overlap it starts from an empty context, so "it is very cute ." comes out the same after
    a cow and after a dog (one of them wrong); one sentence of overlap puts the noun back.
    """
    t = Translator.load(trained_run)
    docs = [["look at that cow .", "it is very cute ."], ["look at that dog .", "it is very cute ."]]

    def second_sentences(overlap: int) -> list[str]:
        decode = dataclasses.replace(t.config.decode, segment_sentences=1, segment_overlap=overlap)
        return [doc[1].text.removesuffix(" .") for doc in t.translate_documents(docs, decode=decode)]

    cold = second_sentences(0)
    assert cold[0] == cold[1]
    cow, dog = second_sentences(1)
    assert cow.endswith("a") and dog.endswith("o")
    whole = t.translate_documents(docs)
    assert [cow, dog] == [doc[1].text.removesuffix(" .") for doc in whole]
