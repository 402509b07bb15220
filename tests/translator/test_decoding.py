"""Decoding with one loaded model: what a search that found nothing turns into."""

from __future__ import annotations

from pathlib import Path

import pytest

from translator.inference import Translator
from translator.search import NoHypothesisError


def test_finish_reports_a_search_that_found_nothing(trained_run: Path) -> None:
    """A sentence left with no hypothesis (NaN scores) is a clear error, never an IndexError."""
    translator = Translator.load(trained_run)
    decoding = translator.decoding
    pieces = decoding.tokenizer.encode_batch(["look at that cow ."])
    start = decoding.prepare(pieces, None, translator.config.decode)
    with pytest.raises(NoHypothesisError, match="sentence 0 .* not finite"):
        decoding.finish([[]], start.encoder_final)
