"""Corpus metrics through sacrebleu; the signature always travels with the score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sacrebleu.metrics import BLEU, CHRF, TER


@dataclass(frozen=True)
class MetricScore:
    name: str
    score: float
    signature: str

    def __str__(self) -> str:
        return f"{self.name} = {self.score:.2f}  ({self.signature})"


def corpus_scores(hyps: Sequence[str], refs: Sequence[str], ter: bool = False) -> dict[str, MetricScore]:
    """BLEU and chrF (and TER on request) of detokenised hypotheses against one reference."""
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    metrics = {"bleu": BLEU(), "chrf": CHRF(), **({"ter": TER()} if ter else {})}
    out = {}
    for name, metric in metrics.items():
        result = metric.corpus_score(list(hyps), [list(refs)])
        out[name] = MetricScore(
            name.upper() if name != "chrf" else "chrF", float(result.score), str(metric.get_signature())
        )
    return out
