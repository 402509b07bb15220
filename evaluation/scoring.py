"""Contrastive evaluation (ContraPro style): does the model prefer the right pronoun?

Each item gives a context (source sentences and their reference
translations), a source sentence, its reference and contrastive variants
that differ only in, say, a pronoun's gender. The context is forced through
the model, then the reference and each variant are scored from the state it
leaves; the item is correct when the reference scores strictly best. A
sentence-level model sees no context, so it can only guess.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from translator.config import ContextMode
from translator.inference import Translator


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
    pairs: dict[str, bool] = field(default_factory=dict)  # pair id -> every twin right so far

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def add(self, item: ContrastiveItem, ok: bool) -> None:
        self.correct += ok
        self.n += 1
        if item.pair is not None:
            self.pairs[str(item.pair)] = self.pairs.get(str(item.pair), True) and ok
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
            out["pair_accuracy"] = sum(self.pairs.values()) / len(self.pairs)
            out["pairs"] = len(self.pairs)
        return out


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


def score_contrastive(
    translator: Translator, items: Sequence[ContrastiveItem], context: ContextMode | None = None
) -> ContrastiveReport:
    """Accuracy of preferring each item's reference over its variants."""
    use_context = translator.model.uses_context and context != "none"
    report = ContrastiveReport()
    for item in items:
        state = translator.empty_doc_state(1)
        if use_context:
            for src, tgt in zip(item.context_src, item.context_tgt, strict=True):
                state = translator.force([src], [tgt], state)[2]
        candidates = [item.ref, *item.contrastive]
        if state is not None:
            same_row = torch.zeros(len(candidates), dtype=torch.long, device=translator.device)
            state = state.index_select(same_row)  # every candidate continues the same context
        scores = translator.force([item.src] * len(candidates), candidates, state)[0]
        report.add(item, bool(scores[0] > scores[1:].max()))
    return report
