"""Does the document state hold the antecedent's gender? A linear probe on it.

CXMI and the contrastive sets measure whether the context changes the output.
When it does not, two causes look the same from outside: the state that
reaches the sentence never held the antecedent's gender (nothing to read), or
it holds it and the decoder does not read it. A probing classifier tells them
apart (Belinkov 2022, "Probing Classifiers"): for every contrastive item, the
context is forced through the model as `nmt score` does, and a logistic
regression learns to read, from the document state the item's sentence starts
from, the gender of the reference's gendered word ("linda" vs "lindo").

The probe is cross-validated by group: the twins of a balanced pair (`pair`)
share a group and so a fold, and the probe is never tested on a pair whose
other twin it was fitted on (it would learn the pair, not the gender). A probe
on a reset state reads nothing, so the majority class is the floor to compare
with; a linear probe finds only what is linearly there, so a low score says
"not in a form a linear read-out finds", which is the form the decoder's
gates and attention read.

Parts of the state: the encoder's carried LSTM state (h and c), the
decoder's, the mean of the memory's entries (`context: attend` or `target`),
and all of them together.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from evaluation.scoring import ContrastiveItem, context_state
from evaluation.words import gender
from translator.config import ContextMode
from translator.inference import Translator
from translator.state import DocState


@dataclass(frozen=True)
class ProbeReport:
    items: int  # items with a gender the probe could label
    groups: int  # cross-validation groups (twin pairs, or single items)
    skipped: int  # items whose reference and variant do not differ in a gendered word
    majority: float  # the floor: share of the commoner gender
    parts: dict[str, dict[str, Any]]  # part -> {"accuracy", "by_distance": {distance: accuracy}}
    # twins only: part -> {distance: median of |state(twin 0) - state(twin 1)| / |state|}
    twin_spread: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def reference_gender(item: ContrastiveItem) -> str | None:
    """The gender of the first word where the reference and its first variant differ, if they differ in it."""
    for ours, theirs in zip(item.ref.split(), item.contrastive[0].split(), strict=False):
        if ours != theirs:
            mine, other = gender(ours), gender(theirs)
            return mine if mine and other and mine != other else None
    return None


def state_features(state: DocState | None) -> dict[str, Tensor]:
    """One row (1-D) per part of a batch-of-one document state."""
    if state is None:
        raise ValueError("a sentence-level model has no document state to probe")
    parts = {
        "encoder": torch.cat([state.encoder.h.flatten(), state.encoder.c.flatten()]),
        "decoder": torch.cat([state.decoder.h.flatten(), state.decoder.c.flatten()]),
    }
    if state.memory is not None:
        mask = state.memory.mask[0].unsqueeze(-1).to(state.memory.states.dtype)
        parts["memory"] = (state.memory.states[0] * mask).sum(0) / mask.sum().clamp(min=1)
    parts["all"] = torch.cat(list(parts.values()))
    # a copy outside inference mode: the probe's regression takes gradients through these rows
    return {name: row.to("cpu", torch.float64).clone() for name, row in parts.items()}


def fold_of_groups(groups: Sequence[object], folds: int) -> Tensor:
    """Each item's fold: groups dealt round-robin in order of first appearance, so twins share a fold."""
    first: dict[object, int] = {}
    for g in groups:
        first.setdefault(g, len(first))
    return torch.tensor([first[g] % folds for g in groups])


def cross_validated(x: Tensor, y: Tensor, fold: Tensor, l2: float = 1e-2) -> Tensor:
    """Per item: did an L2 logistic regression fitted on the other folds predict its label (0/1)?"""
    right = torch.zeros(len(y), dtype=torch.bool)
    for f in fold.unique().tolist():
        test, train = fold == f, fold != f
        mean, std = x[train].mean(0), x[train].std(0).clamp(min=1e-6)
        w, b = fit_logistic((x[train] - mean) / std, y[train], l2)
        right[test] = (((x[test] - mean) / std @ w + b) > 0).double() == y[test]
    return right


def fit_logistic(x: Tensor, y: Tensor, l2: float) -> tuple[Tensor, Tensor]:
    """Weights and bias minimising the mean logistic loss plus `l2` times the squared weights (L-BFGS)."""
    w = torch.zeros(x.shape[1], dtype=x.dtype, requires_grad=True)
    b = torch.zeros(1, dtype=x.dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

    def loss() -> Tensor:
        optimizer.zero_grad()
        value = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y) + l2 * w.pow(2).sum()
        value.backward()
        return value

    optimizer.step(loss)  # type: ignore[no-untyped-call]
    return w.detach(), b.detach()


def probe_gender(
    translator: Translator, items: Sequence[ContrastiveItem], mode: ContextMode | None = None, folds: int = 10
) -> ProbeReport:
    """How well a linear probe reads each item's reference gender from the state its sentence starts from."""
    rows: list[dict[str, Tensor]] = []
    labels: list[float] = []
    groups: list[object] = []
    distances: list[str] = []
    for number, item in enumerate(items):
        label = reference_gender(item)
        if label is None:
            continue
        rows.append(state_features(context_state(translator, item, mode)))
        labels.append(1.0 if label == "f" else 0.0)
        groups.append(item.pair if item.pair is not None else f"#{number}")
        distances.append(str(item.distance))
    if len(set(labels)) < 2:
        raise ValueError(f"the probe needs items of both genders (found {len(labels)} labelled items)")
    y = torch.tensor(labels, dtype=torch.float64)
    n_groups = len(set(groups))
    fold = fold_of_groups(groups, min(folds, n_groups))  # as many folds as groups at most
    parts = {}
    for name in rows[0]:
        right = cross_validated(torch.stack([row[name] for row in rows]), y, fold)
        parts[name] = {"accuracy": right.double().mean().item(), "by_distance": _by(distances, right)}
    share = y.mean().item()
    spread = twin_spread(rows, groups, distances)
    return ProbeReport(len(y), n_groups, len(items) - len(y), max(share, 1 - share), parts, spread)


def twin_spread(
    rows: Sequence[dict[str, Tensor]], groups: Sequence[object], distances: Sequence[str]
) -> dict[str, dict[str, float]]:
    """How much of the antecedent is left in the state: the twins' states differ only through it.

    Per part and distance, the median over pairs of |a - b| / mean(|a|, |b|); groups of two only.
    """
    members: dict[object, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    spread: dict[str, dict[str, float]] = {}
    for name in rows[0] if rows else ():
        cells: dict[str, list[float]] = defaultdict(list)
        for a, b in (m for m in members.values() if len(m) == 2):
            x, y = rows[a][name], rows[b][name]
            cells[distances[a]].append(float(2 * (x - y).norm() / (x.norm() + y.norm()).clamp(min=1e-12)))
        if cells:
            spread[name] = {d: statistics.median(v) for d, v in sorted(cells.items())}
    return spread


def _by(keys: Sequence[str], right: Tensor) -> dict[str, float]:
    cells: dict[str, list[bool]] = defaultdict(list)
    for key, ok in zip(keys, right.tolist(), strict=True):
        cells[key].append(ok)
    return {key: sum(v) / len(v) for key, v in sorted(cells.items())}
