from __future__ import annotations

import pytest
from sacrebleu.metrics import BLEU

from translator.metrics import corpus_scores


def test_scores_match_sacrebleu_and_carry_signatures() -> None:
    hyps, refs = ["el perro es lindo .", "la casa"], ["el perro es lindo .", "la casa es vieja ."]
    scores = corpus_scores(hyps, refs, ter=True)
    assert scores["bleu"].score == pytest.approx(BLEU().corpus_score(hyps, [refs]).score)
    assert set(scores) == {"bleu", "chrf", "ter"}
    assert all("version:" in s.signature for s in scores.values())
    assert corpus_scores(refs, refs)["bleu"].score == pytest.approx(100.0)


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        corpus_scores(["a", "b"], ["a"])
