"""CXMI: how much a model's document context raises the probability of the reference.

Conditional cross-mutual information (Fernandes et al. 2021, "Measuring and
Increasing Context Usage in Context-Aware Machine Translation") is estimated
here as the mean over reference tokens of

    log p(y_t | y_<t, x, true context) - log p(y_t | y_<t, x, control context),

with every document's references forced through the model in order, so the
true context of sentence i is the state the model left after forcing
sentences 0..i-1 of the same document (what `nmt translate` carries, with the
reference in place of the model's own output). Two controls:

- `reset`: the empty context of a document's first sentence, i.e. what
  `--sentence-level` does at inference. CXMI against it is all the context does.
- `random`: the context of a *different* document after the same number of
  sentences. Each document d is paired once with a partner: drawn with a
  torch generator seeded by `seed` among the other documents at least as long
  as d (so the partner has always reached sentence i when d has), or, for
  the longest document, among the other documents of the greatest length
  left. Where that partner is shorter, its state after its last sentence
  stands in (`random_partner.exhausted_sentences` counts how often). A model
  that gains against `reset` but not against `random` uses the context as
  regularisation (a non-zero start state), not as information about the
  document (Li et al. 2020).

Batches are identical in the true pass and the control passes (the document
walk of `Translator.force_documents`), so a model that ignores its context
(`context: none`) scores exactly zero, not zero up to rounding.
Confidence intervals: percentile bootstrap over sentences.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from evaluation.words import CLASSES, GENDERED, OTHER, piece_classes
from translator.corpus import Document
from translator.documents import Progress, rounds
from translator.inference import Forced, Translator
from translator.state import DocState

CONTROLS = ("reset", "random")
POSITION_BUCKETS = ((1, 1), (2, 2), (3, 3), (4, 5), (6, 10), (11, 20), (21, 10**9))  # 1-based sentence numbers


@dataclass
class SentenceScores:
    """Per-token log-probabilities of one reference under the true context and each control."""

    doc: int
    position: int  # 0-based index of the sentence in its document
    pieces: list[str]  # the forced pieces, "</s>" last
    classes: list[str]  # word class of each piece (evaluation.words)
    true: list[float]
    controls: dict[str, list[float]] = field(default_factory=dict)

    def gains(self, control: str) -> list[float]:
        return [t - c for t, c in zip(self.true, self.controls[control], strict=True)]


def pick_partners(lengths: Sequence[int], seed: int) -> list[int]:
    """For each document, the different document whose states make its `random` control (see module doc)."""
    if len(lengths) < 2:
        raise ValueError("the random-context control needs at least two documents")
    gen = torch.Generator().manual_seed(seed)
    partners = []
    for d, n in enumerate(lengths):
        others = [e for e in range(len(lengths)) if e != d]
        longer = [e for e in others if lengths[e] >= n]
        if not longer:
            longest = max(lengths[e] for e in others)
            longer = [e for e in others if lengths[e] == longest]
        partners.append(longer[int(torch.randint(len(longer), (1,), generator=gen))])
    return partners


def force_with_controls(
    translator: Translator,
    docs: Sequence[Document],
    seed: int = 1,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> tuple[list[SentenceScores], dict[str, int]]:
    """Force every document's references with the true context, then with each control.

    Returns the per-sentence scores (document order) and facts about the
    random pairing (partner per document, sentences whose partner had ended).
    `progress` is told the sentences of each batch, once per pass (two passes).
    """
    for d in docs:
        if len(d.targets) != len(d.sources):
            raise ValueError(f"document {d.doc_id}: CXMI needs a reference for every sentence")
    items = [[(i, pos) for pos in range(len(d.sources))] for i, d in enumerate(docs)]
    batch = batch_size or translator.config.decode.batch_size
    partners = pick_partners([len(d.sources) for d in docs], seed)
    after: dict[tuple[int, int], DocState] = {}  # (doc, pos) -> the context that sentence leaves
    scores: dict[tuple[int, int], SentenceScores] = {}

    def true_pass(rows: list[tuple[int, int]], doc_state: DocState | None) -> tuple[list[None], DocState | None]:
        forced = _force(translator, docs, rows, doc_state)
        for r, (d, pos) in enumerate(rows):
            pieces = [*translator.tokenizer.pieces(docs[d].targets[pos]), "</s>"]
            n = int(forced.mask[r].sum())
            if n != len(pieces):
                raise RuntimeError(
                    f"document {docs[d].doc_id} sentence {pos + 1}: {n} forced tokens, {len(pieces)} pieces"
                )
            classes = [*piece_classes(pieces[:-1]), OTHER]
            scores[d, pos] = SentenceScores(d, pos, pieces, classes, forced.log_probs[r, :n].tolist())
            if forced.doc_state is not None:
                after[d, pos] = forced.doc_state.index_select(torch.tensor([r], device=translator.device))
        return [None] * len(rows), forced.doc_state

    exhausted = 0

    def partner_context(d: int, pos: int) -> DocState:
        """The state partner p left after min(pos, its length) sentences (zeros before its first)."""
        nonlocal exhausted
        p = partners[d]
        reached = min(pos, len(docs[p].sources))
        exhausted += reached < pos
        if reached > 0:
            return after[p, reached - 1]
        empty = translator.empty_doc_state(1)
        assert empty is not None  # only called for models that carry a context
        return empty

    def control_pass(rows: list[tuple[int, int]], _: DocState | None) -> tuple[list[None], None]:
        contexts: dict[str, DocState | None] = {"reset": None, "random": None}
        if translator.model.uses_context:
            contexts["random"] = DocState.cat([partner_context(d, pos) for d, pos in rows])
        for name, doc_state in contexts.items():
            forced = _force(translator, docs, rows, doc_state)
            for r, row in enumerate(rows):
                scores[row].controls[name] = forced.log_probs[r, : len(scores[row].true)].tolist()
        return [None] * len(rows), None

    rounds(items, batch, true_pass, progress)
    rounds(items, batch, control_pass, progress)  # the same batches, in the same order
    ordered = [scores[d, pos] for d, rows in enumerate(items) for _, pos in rows]
    return ordered, {"seed": seed, "exhausted_sentences": exhausted}


def _force(
    translator: Translator, docs: Sequence[Document], rows: list[tuple[int, int]], doc_state: DocState | None
) -> Forced:
    return translator.force_tokens(
        [docs[d].sources[pos] for d, pos in rows], [docs[d].targets[pos] for d, pos in rows], doc_state
    )


def bootstrap(sums: torch.Tensor, counts: torch.Tensor, samples: int, seed: int) -> tuple[float, float]:
    """Percentile 95% interval of sum(sums)/sum(counts), resampling sentences with replacement."""
    n = sums.numel()
    if n == 0 or samples <= 0:
        return (float("nan"), float("nan"))
    idx = torch.randint(n, (samples, n), generator=torch.Generator().manual_seed(seed))
    stats = sums[idx].sum(1) / counts[idx].sum(1).clamp(min=1)
    low, high = torch.quantile(stats, torch.tensor([0.025, 0.975], dtype=stats.dtype)).tolist()
    return (low, high)


def _estimate(per_sentence: list[tuple[float, int]], samples: int, seed: int) -> dict[str, Any]:
    """CXMI and its interval from (gain sum, token count) per sentence (sentences without tokens left out)."""
    kept = [(s, n) for s, n in per_sentence if n > 0]
    sums = torch.tensor([s for s, _ in kept], dtype=torch.float64)
    counts = torch.tensor([n for _, n in kept], dtype=torch.float64)
    tokens = int(counts.sum())
    value = float(sums.sum() / tokens) if tokens else float("nan")
    return {
        "cxmi": value,
        "ci95": list(bootstrap(sums, counts, samples, seed)),
        "tokens": tokens,
        "sentences": len(kept),
    }


def _bucket(position: int) -> str:
    number = position + 1
    low, high = next((lo, hi) for lo, hi in POSITION_BUCKETS if lo <= number <= hi)
    return str(low) if low == high else f"{low}+" if high >= 10**9 else f"{low}-{high}"


def summarise(
    scores: Sequence[SentenceScores], samples: int = 1000, seed: int = 1, top: int = 20, min_count: int = 3
) -> dict[str, Any]:
    """CXMI against each control: overall, by position in the document, by word class, and P-CXMI's top pieces."""
    out: dict[str, Any] = {}
    for control in CONTROLS:
        gains = [s.gains(control) for s in scores]
        report: dict[str, Any] = _estimate([(sum(g), len(g)) for g in gains], samples, seed)
        by_position: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for s, g in zip(scores, gains, strict=True):
            by_position[_bucket(s.position)].append((sum(g), len(g)))
        ordered = sorted(by_position.items(), key=lambda kv: int(kv[0].split("-")[0].rstrip("+")))
        report["by_position"] = {k: _estimate(v, samples, seed) for k, v in ordered}
        report["by_class"] = {}
        for name, members in [*((c, (c,)) for c in CLASSES), ("gendered", GENDERED)]:
            rows = [_class_sum(s, g, members) for s, g in zip(scores, gains, strict=True)]
            report["by_class"][name] = _estimate(rows, samples, seed)
        gendered, overall = report["by_class"]["gendered"]["cxmi"], report["cxmi"]
        report["gendered_over_all"] = gendered / overall if overall else float("nan")  # the 3x goal
        report["top_pieces"] = _top_pieces(scores, gains, top, min_count)
        out[control] = report
    return out


def _class_sum(s: SentenceScores, gains: list[float], members: tuple[str, ...]) -> tuple[float, int]:
    picked = [g for g, c in zip(gains, s.classes, strict=True) if c in members]
    return sum(picked), len(picked)


def _top_pieces(
    scores: Sequence[SentenceScores], gains: list[list[float]], top: int, min_count: int
) -> list[dict[str, Any]]:
    """Pointwise CXMI (P-CXMI) averaged per piece: the pieces whose probability the context raises most."""
    per_piece: dict[str, list[float]] = defaultdict(list)
    kind: dict[str, str] = {}
    for s, g in zip(scores, gains, strict=True):
        for piece, cls, gain in zip(s.pieces, s.classes, g, strict=True):
            per_piece[piece].append(gain)
            kind.setdefault(piece, cls)
    means = sorted(((sum(v) / len(v), p) for p, v in per_piece.items() if len(v) >= min_count), reverse=True)
    return [{"piece": p, "n": len(per_piece[p]), "mean_gain": m, "class": kind[p]} for m, p in means[:top]]


def measure(
    translator: Translator,
    docs: Sequence[Document],
    samples: int = 1000,
    seed: int = 1,
    top: int = 20,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Force the documents with every context and summarise: what `nmt cxmi` and `evaluate --cxmi` report."""
    scores, pairing = force_with_controls(translator, docs, seed, batch_size, progress)
    return {"sentences": len(scores), "random_partner": pairing, **summarise(scores, samples, seed, top)}


def format_table(summary: dict[str, Any], header: str) -> str:
    """The human-readable table `nmt cxmi` prints (the JSON line follows it)."""

    def cell(row: dict[str, Any]) -> str:
        lo, hi = row["ci95"]
        return f"{row['cxmi']:+.4f} [{lo:+.4f}, {hi:+.4f}]"

    reset, random_ = summary["reset"], summary["random"]
    lines = [header, f"{'':24}{'vs reset context':34}{'vs random context':34}tokens"]
    lines.append(f"{'all':24}{cell(reset):34}{cell(random_):34}{reset['tokens']}")
    for key in reset["by_position"]:
        label = f"sentence {key}"
        a, b = reset["by_position"][key], random_["by_position"][key]
        lines.append(f"{label:24}{cell(a):34}{cell(b):34}{a['tokens']}")
    for key, a in reset["by_class"].items():
        b = random_["by_class"][key]
        lines.append(f"{'class ' + key:24}{cell(a):34}{cell(b):34}{a['tokens']}")
    ratios = [f"{summary[c]['gendered_over_all']:.2f} vs {c}" for c in CONTROLS]
    lines.append("gendered words' CXMI / all tokens': " + ", ".join(ratios))
    for control in CONTROLS:
        tops = ", ".join(f"{r['piece']} {r['mean_gain']:+.2f} ({r['n']})" for r in summary[control]["top_pieces"][:10])
        lines.append(f"top pieces vs {control}: {tops}")
    return "\n".join(lines)
