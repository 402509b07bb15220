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


@dataclass(frozen=True)
class PairedResult:
    """One metric, a system against a baseline on the same segments."""

    metric: str
    baseline: float
    system: float
    p_value: float  # chance of a difference this large if the systems were interchangeable
    test: str  # "bs" (paired bootstrap) or "ar" (approximate randomisation)
    signature: str
    system_mean: float | None = None  # bootstrap only: estimated true score ...
    system_ci: float | None = None  # ... and the half-width of its 95% confidence interval
    baseline_mean: float | None = None
    baseline_ci: float | None = None

    def __str__(self) -> str:
        line = f"{self.metric}: baseline {self.baseline:.2f}  system {self.system:.2f}  "
        line += f"delta {self.system - self.baseline:+.2f}  p = {self.p_value:.4f} ({self.test})"
        if self.system_ci is not None and self.baseline_ci is not None:
            line += f"  95% CI: baseline {self.baseline_mean:.2f} ± {self.baseline_ci:.2f}"
            line += f", system {self.system_mean:.2f} ± {self.system_ci:.2f}"
        return line


def paired_significance(
    baseline: Sequence[str], system: Sequence[str], refs: Sequence[str], test: str = "bs", samples: int = 0
) -> list[PairedResult]:
    """BLEU / chrF / TER of two systems on the same references, with sacrebleu's paired tests.

    `test`: "bs" paired bootstrap resampling (p-value and 95% confidence
    intervals, 1,000 samples by default) or "ar" approximate randomisation
    (p-value, 10,000 samples by default). sacrebleu seeds its sampler
    (seed 12345, in the signature), so results are reproducible.
    """
    from sacrebleu.significance import PairedTest

    if not len(baseline) == len(system) == len(refs):
        raise ValueError(f"{len(baseline)} baseline, {len(system)} system lines but {len(refs)} references")
    if test not in ("bs", "ar"):
        raise ValueError(f"test must be 'bs' or 'ar', not {test!r}")
    metrics = {"BLEU": BLEU(), "chrF": CHRF(), "TER": TER()}
    named: list[tuple[str, Sequence[str]]] = [("baseline", list(baseline)), ("system", list(system))]
    signatures, results = PairedTest(named, metrics, [list(refs)], test_type=test, n_samples=samples)()
    out = []
    for name in (k for k in results if k != "System"):
        base, sys_ = results[name]
        assert not isinstance(base, str) and not isinstance(sys_, str)
        out.append(
            PairedResult(
                name,
                float(base.score),
                float(sys_.score),
                float(sys_.p_value),  # type: ignore[arg-type]
                test,
                str(signatures[name]),
                *(None if v is None else float(v) for v in (sys_.mean, sys_.ci, base.mean, base.ci)),
            )
        )
    return out
