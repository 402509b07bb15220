"""What every twin set must give a model that ignores the context (exactly half the items, no pair), and
the Spanish words that may differ between twins (those that change with the thing's gender)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

from evaluation.scoring import ContrastiveItem, ContrastiveReport


def assert_context_blind_scores_half(items: Sequence[ContrastiveItem]) -> None:
    """Score with a stand-in for a sentence-level model (any fixed score of source and candidate)."""

    def score(src: str, candidate: str) -> int:
        return zlib.crc32(f"{src}\t{candidate}".encode())

    report = ContrastiveReport()
    for item in items:
        margin = score(item.src, item.ref) - max(score(item.src, c) for c in item.contrastive)
        report.add(item, margin > 0, float(margin))
    result = report.to_dict()
    assert result["accuracy"] == 0.5 and result["pair_accuracy"] == 0.0 and result["pairs_both_wrong"] == 0
    assert result["pairs"] == len(items) // 2 and result["pair_margin"] == 0.0


GENDER_PAIRS = {("él", "ella"), ("ellos", "ellas"), ("el", "la"), ("un", "una"), ("del", "de la"), ("al", "a la")}


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def masculine_to_feminine(m: str, f: str) -> bool:
    """`f` is `m` with the feminine gender: a known pair, or -o/-a, -os/-as (lo/la, lávalo/lávala too), -or/-ora."""
    return (
        (m, f) in GENDER_PAIRS
        or (m.endswith("o") and f == m[:-1] + "a")
        or (m.endswith("os") and f == m[:-2] + "as")
        or (m.endswith("or") and f == m + "a")
    )
