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
scores the same as it would with a model whose vocabulary were the shortlist. The search sees
one column per shortlisted piece and maps the columns it picks back to pieces (`StepOutput.ids`).
When every piece the full search would pick is in the shortlist, the translation is identical;
`docs/benchmark.md` reports the BLEU it costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.ao.nn.quantized import dynamic as nnqd

from translator.output import OutputRows
from translator.state import EncoderOutput, LSTMState
from translator.tokenizer import EOS_ID, PAD_ID, UNK_ID

if TYPE_CHECKING:
    from translator.model import Seq2Seq
    from translator.output import StepOutput


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
        """`build_from_chunks` over sentence pairs given as id lists (small corpora, tests)."""
        return cls.build_from_chunks(PairChunk.batches(pairs), vocab_size, frequent, per_source)

    @classmethod
    def build_from_chunks(
        cls, chunks: Iterable[PairChunk], vocab_size: int, frequent: int = 100, per_source: int = 20
    ) -> Shortlist:
        """One streaming pass of `ShortlistCounts` over the chunks."""
        counts = ShortlistCounts(vocab_size)
        for chunk in chunks:
            counts.add(chunk)
        return counts.shortlist(frequent, per_source)

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


class ShortlistCounts:
    """The counts a shortlist is chosen from, fed one chunk of sentence pairs at a time.

    Counting is per pair (a piece twice in one sentence counts once). Memory holds the
    (source, target) piece-pair counts plus one chunk, never the corpus, so a corpus is counted
    in one streaming pass, or chunk by chunk while it is being binarized (training/binarize.py).
    """

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        self.src_pairs = torch.zeros(vocab_size, dtype=torch.long)  # pairs containing the piece: c(s), c(t)
        self.tgt_pairs = torch.zeros(vocab_size, dtype=torch.long)
        self.tgt_counts = torch.zeros(vocab_size, dtype=torch.long)  # occurrences
        self.together = _Cooccurrence(vocab_size)

    def add(self, chunk: PairChunk) -> None:
        v = self.vocab_size
        s_pair, s_piece = _pieces_per_pair(chunk.src, chunk.src_off, v)
        t_pair, t_piece = _pieces_per_pair(chunk.tgt, chunk.tgt_off, v)
        self.src_pairs += torch.bincount(s_piece, minlength=v)
        self.tgt_pairs += torch.bincount(t_piece, minlength=v)
        self.tgt_counts += torch.bincount(chunk.tgt.long(), minlength=v)
        self.together.add(s_pair, s_piece, t_pair, t_piece, len(chunk))

    def shortlist(self, frequent: int = 100, per_source: int = 20) -> Shortlist:
        """The `frequent` most frequent target pieces, and each source piece's `per_source` by Dice."""
        v, tgt_counts = self.vocab_size, self.tgt_counts.clone()
        tgt_counts[[PAD_ID, UNK_ID, EOS_ID]] = 0  # specials are added to every shortlist anyway
        always = torch.argsort(-tgt_counts, stable=True)[:frequent]
        always = always[tgt_counts[always] > 0]
        pair_keys, counts = self.together.total()
        src_ids, tgt_ids = pair_keys // v, pair_keys % v  # sorted by source, then target
        keep = ~torch.isin(tgt_ids, always) & (tgt_ids > EOS_ID)
        src_ids, tgt_ids, counts = src_ids[keep], tgt_ids[keep], counts[keep]
        dice = 2 * counts.double() / (self.src_pairs[src_ids] + self.tgt_pairs[tgt_ids]).double()
        by_dice = torch.argsort(-dice, stable=True)  # most associated first; ties keep target order
        order = by_dice[torch.argsort(src_ids[by_dice], stable=True)]  # then grouped by source
        src_ids, tgt_ids = src_ids[order], tgt_ids[order]
        first = torch.searchsorted(src_ids, src_ids)  # start of each source's run
        rank = torch.arange(len(src_ids)) - first
        top = rank < per_source
        candidates = torch.full((v, per_source), EOS_ID, dtype=torch.long)  # EOS pads: always in anyway
        candidates[src_ids[top], rank[top]] = tgt_ids[top]
        return Shortlist(always, candidates)


class PairChunk:
    """Consecutive sentence pairs as flat id tensors: pair i's source is ``src[src_off[i]:src_off[i + 1]]``.

    The shape a binarized corpus stores them in, so counting needs no per-sentence Python objects.
    """

    def __init__(self, src: Tensor, src_off: Tensor, tgt: Tensor, tgt_off: Tensor) -> None:
        if len(src_off) != len(tgt_off) or not len(src_off):
            raise ValueError("shortlist: a chunk needs as many source as target offsets (pairs + 1)")
        self.src, self.src_off, self.tgt, self.tgt_off = src, src_off.long(), tgt, tgt_off.long()

    def __len__(self) -> int:
        return len(self.src_off) - 1

    @classmethod
    def of(cls, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> PairChunk:
        def flat(side: int) -> tuple[Tensor, Tensor]:
            lengths = torch.tensor([0, *(len(p[side]) for p in pairs)], dtype=torch.long)
            ids = torch.tensor([i for p in pairs for i in p[side]], dtype=torch.long)
            return ids, torch.cumsum(lengths, 0)

        (src, src_off), (tgt, tgt_off) = flat(0), flat(1)
        return cls(src, src_off, tgt, tgt_off)

    @classmethod
    def batches(cls, pairs: Iterable[tuple[Sequence[int], Sequence[int]]], size: int = 4096) -> Iterator[PairChunk]:
        batch: list[tuple[Sequence[int], Sequence[int]]] = []
        for pair in pairs:
            batch.append(pair)
            if len(batch) == size:
                yield cls.of(batch)
                batch = []
        if batch:
            yield cls.of(batch)


def _pieces_per_pair(ids: Tensor, offsets: Tensor, vocab_size: int) -> tuple[Tensor, Tensor]:
    """(pair index, piece) of each distinct piece of each pair, sorted by pair, then piece."""
    pair = torch.repeat_interleave(torch.arange(len(offsets) - 1), offsets.diff())
    keys = torch.unique(pair * vocab_size + ids.long())
    return keys // vocab_size, keys % vocab_size


class _Cooccurrence:
    """In how many pairs each (source piece, target piece) occurs, summed over chunks.

    Per chunk, every (source piece, target piece) combination within a sentence pair is listed
    as a key source * V + target (`_piece_pairs`: a few million int64 per chunk of 8,192 pairs,
    in C++ through tensor ops). Up to `dense_max` piece pairs (256 MiB of int32 at the default
    8,000 pieces) the keys are added into a dense V x V count; past it, each chunk's distinct
    keys and counts wait in a list and are summed (concatenate, unique) once they outgrow the
    running total. (A sparse matrix product X_src^T X_tgt did the same work but leaked about
    2 KB per sentence pair in torch 2.13's CPU sparse CSR kernel: 19 GB for 10M pairs.)
    """

    dense_max = 1 << 27  # V * V entries: 11,585 pieces
    merge_above = 1 << 22  # sparse entries waiting before a merge (or the total's size, if larger)

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        self.dense = torch.zeros(vocab_size**2, dtype=torch.int32) if vocab_size**2 <= self.dense_max else None
        self.keys: list[Tensor] = []  # sorted distinct keys of each waiting part (the first: the running total)
        self.counts: list[Tensor] = []
        self.pending, self.merged = 0, 0

    def add(self, s_pair: Tensor, s_piece: Tensor, t_pair: Tensor, t_piece: Tensor, n: int) -> None:
        if self.dense is not None:  # keys < V * V <= dense_max fit int32: half the memory traffic
            keys = _piece_pairs(s_pair, s_piece, t_pair, t_piece, n, self.vocab_size, torch.int32)
            self.dense.index_add_(0, keys, torch.ones(len(keys), dtype=torch.int32))
            return
        keys = _piece_pairs(s_pair, s_piece, t_pair, t_piece, n, self.vocab_size, torch.long)
        distinct, counts = torch.unique(keys, return_counts=True)
        self.keys.append(distinct)
        self.counts.append(counts)
        self.pending += len(distinct)
        if self.pending > max(self.merge_above, self.merged):
            self._merge()

    def _merge(self) -> None:
        keys = torch.cat(self.keys) if self.keys else torch.zeros(0, dtype=torch.long)
        counts = torch.cat(self.counts) if self.counts else torch.zeros(0, dtype=torch.long)
        distinct, where = torch.unique(keys, return_inverse=True)
        self.keys, self.counts = [distinct], [torch.zeros(len(distinct), dtype=torch.long).index_add_(0, where, counts)]
        self.pending, self.merged = 0, len(distinct)

    def total(self) -> tuple[Tensor, Tensor]:
        """Sorted keys source * V + target of the pairs that occur, and in how many sentence pairs."""
        if self.dense is not None:
            keys = self.dense.nonzero().squeeze(1)
            return keys, self.dense[keys].long()
        self._merge()
        return self.keys[0], self.counts[0]


def _piece_pairs(
    s_pair: Tensor, s_piece: Tensor, t_pair: Tensor, t_piece: Tensor, n: int, vocab_size: int, dtype: torch.dtype
) -> Tensor:
    """Keys source * V + target of every (source piece, target piece) of the same sentence pair.

    Inputs as `_pieces_per_pair` gives them (sorted by pair). Each source entry of pair i is
    repeated once per target entry of pair i, and beside it the target index runs through
    pair i's target entries: two `repeat_interleave`s and one gather, no per-pair Python.
    """
    s_pair, s_piece, t_pair, t_piece = (x.to(dtype) for x in (s_pair, s_piece, t_pair, t_piece))
    t_count = torch.bincount(t_pair, minlength=n).to(dtype)
    t_start = torch.cumsum(t_count, 0, dtype=dtype) - t_count  # pair i's first target entry
    reps = t_count[s_pair]  # how many target pieces each source entry meets
    run_start = torch.cumsum(reps, 0, dtype=dtype) - reps  # where each source entry's run begins
    total = int(reps.sum())
    t_index = torch.arange(total, dtype=dtype) - torch.repeat_interleave(
        run_start - t_start[s_pair], reps, output_size=total
    )
    return torch.repeat_interleave(s_piece * vocab_size, reps, output_size=total) + t_piece[t_index]


class OutputLayer:
    """The model's output layer, unpacked once, so that restricting it to rows is cheap and can be frequent.

    Unpacking a dynamic-int8 layer's weight costs about 6 ms at 8k x 256;
    the document walk restricts the layer every time sentences join.
    """

    def __init__(self, layer: nn.Module) -> None:
        self.int8 = isinstance(layer, nnqd.Linear)
        if isinstance(layer, nnqd.Linear):  # rows are requantized with the layer's own scale
            weight, bias = layer.weight(), layer.bias()
            if weight.qscheme() not in (torch.per_tensor_affine, torch.per_tensor_symmetric):
                raise ValueError(f"shortlist: unsupported int8 weight scheme {weight.qscheme()}")
            self.scale, self.zero_point = weight.q_scale(), weight.q_zero_point()
            self.weight, self.bias = weight.dequantize(), bias
        elif isinstance(layer, nn.Linear):
            self.weight = layer.weight.detach()
            self.bias = layer.bias.detach() if layer.bias is not None else None
        else:
            raise TypeError(f"shortlist: cannot restrict a {type(layer).__name__}")
        self.vocab_size = self.weight.shape[0]

    def rows(self, ids: Tensor) -> OutputRows:
        """The layer restricted to the rows `ids` (sorted piece ids, EOS among them: the search needs it)."""
        if not bool(torch.isin(torch.tensor(EOS_ID), ids)):
            raise ValueError("shortlist: the restricted output layer must keep EOS")
        rows_on = ids.to(self.weight.device)
        weight, bias = self.weight[rows_on], self.bias[rows_on] if self.bias is not None else None
        if not self.int8:
            return OutputRows(rows_on, lambda x: F.linear(x, weight, bias))
        qweight = torch.quantize_per_tensor(weight, self.scale, self.zero_point, torch.qint8)
        packed = torch.ops.quantized.linear_prepack(qweight, bias)  # what nnqd.Linear holds, packed once
        # reduce_range as nnqd.Linear's forward passes it (fbgemm's 7-bit activations), so scores match the layer's
        return OutputRows(rows_on, lambda x: torch.ops.quantized.linear_dynamic(x, packed, True))


class ShortlistStepper:
    """A search `Stepper`: the model's own step, its output layer restricted to a shortlist.

    `cover` keeps the scored set to what the sentences in the search may
    produce: it widens the set as the union while newcomers need pieces it
    lacks, and rebuilds it over the live sentences alone once the union has
    grown well past them (the document walk and the server admit sentences
    while a search runs; the union alone would grow towards the whole
    vocabulary). Hypotheses already running score over the new set from
    their next step on. A set larger than `full_above` of the vocabulary is
    not worth restricting the layer for (restricting an int8 layer
    requantizes and repacks it): the step then scores everything.
    """

    full_above = 0.25  # of the vocabulary: a larger set does not pay for restricting the layer (docs/benchmark.md)

    def __init__(self, model: Seq2Seq, shortlist: Shortlist) -> None:
        self.model, self.shortlist = model, shortlist
        self.layer = OutputLayer(model.output)
        self.ids: Tensor | None = torch.zeros(0, dtype=torch.long)  # None: the whole vocabulary
        self.rows: OutputRows | None = None  # None: the model's own output layer
        self._full_with = 0  # live sentences when `cover` last went to the whole vocabulary

    def cover(self, joining: Sequence[list[int]], live: Sequence[list[int]]) -> None:
        """Make sure the `joining` sources are covered, `live` being every source in the search (a superset).

        The set grows as the union until it is half as large again as what
        the live sentences need; it is then rebuilt over them alone.
        Rebuilding on every join would cost more than it saves.
        """
        if self.ids is None and len(live) >= self._full_with:
            return  # scoring everything: at least as many sentences as then likely need as many pieces
        needed = self.shortlist.ids(joining)
        if self.ids is not None and bool(torch.isin(needed, self.ids).all()):
            return
        live_ids = self.shortlist.ids(live)
        union = torch.unique(torch.cat([self.ids, needed])) if self.ids is not None else live_ids
        self._use(union if len(union) <= 1.5 * len(live_ids) else live_ids)
        if self.ids is None:
            self._full_with = len(live)

    def _use(self, ids: Tensor) -> None:
        """Score `ids` from now on; the whole vocabulary once they are more than `full_above` of it."""
        if len(ids) > self.full_above * self.layer.vocab_size:
            self.ids, self.rows = None, None
        elif self.ids is None or not torch.equal(ids, self.ids):
            self.ids, self.rows = ids, self.layer.rows(ids)

    def step(self, prev_tokens: Tensor, state: LSTMState, enc: EncoderOutput) -> StepOutput:
        return self.model.step(prev_tokens, state, enc, self.rows)
