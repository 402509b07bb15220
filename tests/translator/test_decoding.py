"""Decoding with one loaded model: what a search that found nothing turns into, and alignments per hypothesis."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from translator.inference import Translator
from translator.search import NoHypothesisError, beam_search


def test_finish_reports_a_search_that_found_nothing(trained_run: Path) -> None:
    """A sentence left with no hypothesis (NaN scores) is a clear error, never an IndexError."""
    translator = Translator.load(trained_run)
    decoding = translator.decoding
    pieces = decoding.tokenizer.encode_batch(["look at that cow ."])
    start = decoding.prepare(pieces, None, translator.config.decode)
    with pytest.raises(NoHypothesisError, match="sentence 0 .* not finite"):
        decoding.finish([[]], start.encoder_final)


def test_each_alternative_has_its_own_alignment(trained_run: Path) -> None:
    """With decode.alignment, every hypothesis of the n-best list is aligned from its own attention;
    without it, none is."""
    translator = Translator.load(trained_run)
    base = dataclasses.replace(translator.config.decode, beam_size=4, n_best=3)
    decoding, pieces = translator.decoding, translator.tokenizer.encode_batch(["look at that cow ."])
    start = decoding.prepare(pieces, None, base)
    with torch.inference_mode():
        nbest = beam_search(decoding.model, start.enc, start.state, start.max_len, 4, 3, base.length_penalty, True)
        [translation], _ = decoding.finish(nbest, start.encoder_final, pieces)
    assert len(translation.alternative_alignments) == len(translation.alternatives) == 2
    expected = [decoding.word_alignment(pieces[0], h.tokens, h.attended) for h in nbest[0]]
    assert [translation.alignment, *translation.alternative_alignments] == expected
    for (text, _), links in zip(translation.alternatives, translation.alternative_alignments, strict=True):
        assert links and all(i < 5 and j < len(text.split()) for i, j in links)
    [plain], _ = translator.translate_sentences(["look at that cow ."], None, base)
    assert plain.alignment == [] and plain.alternative_alignments == []
