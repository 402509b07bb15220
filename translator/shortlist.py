"""Output-vocabulary shortlist: at each decoding step, score only the pieces a batch can plausibly use.

The output layer is the largest single cost of a decoding step (with the default model, 2.0M of
its 3.9M multiply-adds per hypothesis, plus a softmax over the whole vocabulary). Marian's lexical
shortlists cut it to the target words that the source words of the batch translate to. Ours come
from co-occurrence counts in the training corpus, read once when training starts:

- `frequent`: the most frequent target pieces (function words, punctuation, common suffixes);
- `candidates[s]`: for source piece s, the target pieces most associated with it over the
  sentence pairs, by the Dice coefficient 2 c(s,t) / (c(s) + c(t)) of pair counts (raw
  co-occurrence would rank every source's list by target frequency; frequent ones are left out
  here as they are always in);
- the batch's own source pieces (names and numbers pass through a joint vocabulary) and EOS/UNK.

Scores are renormalised over the shortlist (the softmax runs over it alone), so a hypothesis
scores the same as it would with a model whose vocabulary were the shortlist. Pieces outside get
-inf, so greedy and beam search need no change. When every piece the full search would pick is
in the shortlist, the translation is identical; `docs/benchmark.md` reports the BLEU it costs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.ao.nn.quantized import dynamic as nnqd

from translator.tokenizer import EOS_ID, PAD_ID, UNK_ID


class Shortlist:
    """Per-source-piece candidate lists plus always-on frequent pieces (long tensors, CPU)."""

    def __init__(self, frequent: Tensor, candidates: Tensor) -> None:
        if frequent.dim() != 1 or candidates.dim() != 2:
            raise ValueError("shortlist: frequent must be (F,) and candidates (V, K)")
        vocab = candidates.shape[0]
        for name, t in (("frequent", frequent), ("candidates", candidates)):
            in_range = not t.numel() or 0 <= int(t.min()) <= int(t.max()) < vocab
            if t.dtype not in (torch.int32, torch.int64) or not in_range:
                raise ValueError(f"shortlist: {name} must hold piece ids in [0, {vocab})")
        self.frequent = frequent.long()
        self.candidates = candidates.long()

    @property
    def vocab_size(self) -> int:
        return int(self.candidates.shape[0])

    @classmethod
    def build(
        cls,
        pairs: Iterable[tuple[Sequence[int], Sequence[int]]],
        vocab_size: int,
        frequent: int = 100,
        per_source: int = 20,
    ) -> Shortlist:
        """Count, over sentence pairs, in how many pairs each (source, target) piece pair occurs.

        Counting is per pair (a piece twice in one sentence counts once), with a sort-based
        tally whose memory grows with the corpus, not with vocab_size squared.
        """
        src_pairs = torch.zeros(vocab_size, dtype=torch.long)  # pairs containing the piece: c(s), c(t)
        tgt_pairs = torch.zeros(vocab_size, dtype=torch.long)
        keys, seen_tgt = [], []
        for src, tgt in pairs:
            s, t = torch.tensor(sorted(set(src)), dtype=torch.long), torch.tensor(sorted(set(tgt)), dtype=torch.long)
            src_pairs[s] += 1
            tgt_pairs[t] += 1
            seen_tgt.append(torch.tensor(tgt, dtype=torch.long))
            keys.append((s[:, None] * vocab_size + t[None, :]).flatten())
        empty = torch.zeros(0, dtype=torch.long)
        tgt_counts = torch.bincount(torch.cat(seen_tgt) if seen_tgt else empty, minlength=vocab_size)  # occurrences
        tgt_counts[[PAD_ID, UNK_ID, EOS_ID]] = 0  # specials are added to every shortlist anyway
        always = torch.argsort(-tgt_counts, stable=True)[:frequent]
        always = always[tgt_counts[always] > 0]
        pair_keys, counts = torch.unique(torch.cat(keys) if keys else empty, return_counts=True)
        src_ids, tgt_ids = pair_keys // vocab_size, pair_keys % vocab_size  # sorted by source, then target
        keep = ~torch.isin(tgt_ids, always) & (tgt_ids > EOS_ID)
        src_ids, tgt_ids, counts = src_ids[keep], tgt_ids[keep], counts[keep]
        dice = 2 * counts.double() / (src_pairs[src_ids] + tgt_pairs[tgt_ids]).double()
        by_dice = torch.argsort(-dice, stable=True)  # most associated first; ties keep target order
        order = by_dice[torch.argsort(src_ids[by_dice], stable=True)]  # then grouped by source
        src_ids, tgt_ids = src_ids[order], tgt_ids[order]
        first = torch.searchsorted(src_ids, src_ids)  # start of each source's run
        rank = torch.arange(len(src_ids)) - first
        top = rank < per_source
        candidates = torch.full((vocab_size, per_source), EOS_ID, dtype=torch.long)  # EOS pads: always in anyway
        candidates[src_ids[top], rank[top]] = tgt_ids[top]
        return cls(always, candidates)

    def ids(self, sources: Sequence[Sequence[int]]) -> Tensor:
        """Sorted piece ids a batch with these source pieces may produce."""
        src = torch.tensor(sorted({i for s in sources for i in s}), dtype=torch.long)
        src = src[src < self.vocab_size]
        parts = [torch.tensor([UNK_ID, EOS_ID]), self.frequent, src, self.candidates[src].flatten()]
        return torch.unique(torch.cat(parts))

    def to_tensors(self) -> dict[str, Tensor]:
        return {"frequent": self.frequent.int(), "candidates": self.candidates.int()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor]) -> Shortlist:
        return cls(tensors["frequent"], tensors["candidates"])


class OutputRows:
    """The model's output layer restricted to the rows `ids`: float or dynamic-int8 alike."""

    def __init__(self, layer: nn.Module, ids: Tensor, vocab_size: int) -> None:
        self.ids, self.vocab_size = ids, vocab_size
        if isinstance(layer, nnqd.Linear):  # int8: requantize the chosen rows with the layer's own scale
            weight, bias = layer.weight(), layer.bias()
            if weight.qscheme() not in (torch.per_tensor_affine, torch.per_tensor_symmetric):
                raise ValueError(f"shortlist: unsupported int8 weight scheme {weight.qscheme()}")
            rows = torch.quantize_per_tensor(
                weight.dequantize()[ids], weight.q_scale(), weight.q_zero_point(), torch.qint8
            )
            quantized = nnqd.Linear(layer.in_features, len(ids), dtype=torch.qint8)
            quantized.set_weight_bias(rows, bias[ids] if bias is not None else None)
            self._linear: Callable[[Tensor], Tensor] = quantized
        elif isinstance(layer, nn.Linear):
            rows_on = ids.to(layer.weight.device)
            weight, bias = (
                layer.weight.detach()[rows_on],
                layer.bias.detach()[rows_on] if layer.bias is not None else None,
            )
            self._linear = lambda x: F.linear(x, weight, bias)
        else:
            raise TypeError(f"shortlist: cannot restrict a {type(layer).__name__}")

    def log_probs(self, features: Tensor) -> Tensor:
        """(B, F) -> (B, V) log-probabilities normalised over `ids`, -inf elsewhere."""
        sub = self._linear(features).float().log_softmax(dim=-1)  # (B, N)
        full = sub.new_full((features.shape[0], self.vocab_size), float("-inf"))
        return full.index_copy_(1, self.ids.to(sub.device), sub)
