"""What every twin set must give a model that ignores the context: exactly half the items, no pair."""

from __future__ import annotations

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
