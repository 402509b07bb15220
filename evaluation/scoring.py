"""Contrastive evaluation (ContraPro style): does the model prefer the right pronoun?

Each item gives a context (source sentences and their reference
translations), a source sentence, its reference and contrastive variants
that differ only in, say, a pronoun's gender. The context is forced through
the model, then the reference and each variant are scored from the state it
leaves; the item is correct when the reference scores strictly best. A
sentence-level model sees no context, so it can only guess.

Accuracy moves only when the context outweighs everything else, so the report
also keeps each item's margin: the reference's log-probability minus its best
variant's. On a balanced set (twins that share the current sentence and swap
reference and variant) a model that ignores the context has exactly opposite
margins on the two twins of a pair; the pair's mean margin is then zero, and it
is positive when the context pushes toward the right answer, even where it
does not push far enough to flip a choice. Half the spread of a pair's two
margins (`pair_gap`) is the preference the current sentence and the prior give
one candidate: the context flips the pair's choices only where it outweighs that.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from translator.config import ContextMode
from translator.inference import Translator
from translator.state import DocState


class ContrastiveFormatError(ValueError):
    """A JSONL line is not a valid contrastive item (message names file and line)."""


@dataclass(frozen=True)
class ContrastiveItem:
    src: str
    ref: str
    contrastive: tuple[str, ...]
    context_src: tuple[str, ...] = ()
    context_tgt: tuple[str, ...] = ()
    distance: Any = None
    kind: Any = None
    pair: Any = None  # twins of a balanced set share a pair id (both must be right for the pair to count)


@dataclass
class ContrastiveReport:
    correct: int = 0
    n: int = 0
    by_distance: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    pairs: dict[str, list[int]] = field(default_factory=dict)  # pair id -> [twins right, twins]
    margins: list[float] = field(default_factory=list)  # per item: log p(reference) - max log p(variant)
    pair_margins: dict[str, list[float]] = field(default_factory=dict)  # pair id -> its twins' margins

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def add(self, item: ContrastiveItem, ok: bool, margin: float | None = None) -> None:
        self.correct += ok
        self.n += 1
        if margin is not None:
            self.margins.append(margin)
        if item.pair is not None:
            counts = self.pairs.setdefault(str(item.pair), [0, 0])
            counts[0] += ok
            counts[1] += 1
            if margin is not None:
                self.pair_margins.setdefault(str(item.pair), []).append(margin)
        for table, key in ((self.by_distance, item.distance), (self.by_kind, item.kind)):
            if key is not None:
                table[str(key)][0] += ok
                table[str(key)][1] += 1

    def to_dict(self) -> dict[str, Any]:
        def acc(table: dict[str, list[int]]) -> dict[str, dict[str, float]]:
            return {k: {"accuracy": c / n, "n": n} for k, (c, n) in sorted(table.items())}

        out: dict[str, Any] = {
            "accuracy": self.accuracy,
            "n": self.n,
            "by_distance": acc(self.by_distance),
            "by_kind": acc(self.by_kind),
        }
        if self.pairs:
            both_right = sum(right == n for right, n in self.pairs.values())
            both_wrong = sum(right == 0 for right, n in self.pairs.values())
            out["pair_accuracy"] = both_right / len(self.pairs)
            out["pairs"] = len(self.pairs)
            out["pairs_both_wrong"] = both_wrong
            out["p_value"] = sign_test(both_right, both_wrong)
        if self.margins:
            out["mean_margin"] = sum(self.margins) / len(self.margins)
        if self.pair_margins:
            out.update(_lean(self.pair_margins))
        return out


def _lean(pair_margins: dict[str, list[float]], tie: float = 1e-3) -> dict[str, Any]:
    """Which way the context pushes each twin pair: the sign of the mean of its twins' margins.

    Zero (within `tie` nats: the twins are scored in different batches) for a
    model that ignores the context; the sign test asks whether the pairs that
    lean the right way outnumber those that lean the wrong way.
    """
    means = [sum(m) / len(m) for m in pair_margins.values()]
    right, wrong = sum(m > tie for m in means), sum(m < -tie for m in means)
    gaps = [(max(m) - min(m)) / 2 for m in pair_margins.values()]
    return {
        "pair_margin": sum(means) / len(means),
        "pair_gap": sum(gaps) / len(gaps),  # what the context would have to outweigh: half the twins' spread
        "pairs_leaning_right": right,
        "pairs_leaning_wrong": wrong,
        "lean_p_value": sign_test(right, wrong),
    }


def sign_test(both_right: int, both_wrong: int) -> float:
    """One-sided exact sign test that the context helps, over twin pairs.

    A model that ignores the context prefers the same candidate in both twins,
    so it gets exactly one twin of every pair right, whatever its accuracy.
    Only pairs it gets both right or both wrong say anything about the
    context: if the context were noise, those two outcomes would be equally
    likely. p = P(X >= both_right) for X ~ Binomial(both_right + both_wrong, 1/2);
    1.0 when no pair is decided (a sentence-level model).
    """
    n = both_right + both_wrong
    return sum(math.comb(n, k) for k in range(both_right, n + 1)) / 2**n if n else 1.0


def load_contrastive(path: str | Path) -> list[ContrastiveItem]:
    """Read JSON lines; blank lines are ignored, anything malformed names its line."""
    items = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                items.append(_parse_item(line, f"{path}:{number}"))
    return items


def _parse_item(line: str, where: str) -> ContrastiveItem:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as e:
        raise ContrastiveFormatError(f"{where}: invalid JSON: {e}") from e
    if not isinstance(raw, dict):
        raise ContrastiveFormatError(f"{where}: expected a JSON object")
    for key in ("src", "ref"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ContrastiveFormatError(f"{where}: {key!r} must be a non-empty string")
    lists = {k: raw.get(k, []) for k in ("contrastive", "context_src", "context_tgt")}
    for key, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            raise ContrastiveFormatError(f"{where}: {key!r} must be a list of non-empty strings")
    if not lists["contrastive"]:
        raise ContrastiveFormatError(f"{where}: 'contrastive' needs at least one variant")
    if len(lists["context_src"]) != len(lists["context_tgt"]):
        raise ContrastiveFormatError(f"{where}: context_src and context_tgt differ in length")
    return ContrastiveItem(
        raw["src"],
        raw["ref"],
        tuple(lists["contrastive"]),
        tuple(lists["context_src"]),
        tuple(lists["context_tgt"]),
        raw.get("distance"),
        raw.get("kind"),
        raw.get("pair"),
    )


def context_state(translator: Translator, item: ContrastiveItem, mode: ContextMode | None = None) -> DocState | None:
    """The document state `item`'s sentence starts from: its context forced through, in order.

    The reset state with `mode="none"` (None for a sentence-level model).
    """
    state = translator.empty_doc_state(1)
    if translator.model.uses_context and mode != "none":
        for src, tgt in zip(item.context_src, item.context_tgt, strict=True):
            state = translator.force_sentences([src], [tgt], state)[2]
    return state


def score_contrastive(
    translator: Translator,
    items: Sequence[ContrastiveItem],
    mode: ContextMode | None = None,
    progress: Callable[[int], None] | None = None,
) -> ContrastiveReport:
    """Accuracy of preferring each item's reference over its variants (`progress` is told 1 per item)."""
    report = ContrastiveReport()
    for item in items:
        state = context_state(translator, item, mode)
        candidates = [item.ref, *item.contrastive]
        if state is not None:
            same_row = torch.zeros(len(candidates), dtype=torch.long, device=translator.device)
            state = state.index_select(same_row)  # every candidate continues the same context
        scores = translator.force_sentences([item.src] * len(candidates), candidates, state)[0]
        margin = float(scores[0] - scores[1:].max())
        report.add(item, margin > 0, margin)
        if progress is not None:
            progress(1)
    return report
