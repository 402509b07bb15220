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

import warnings
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
        """Count, over sentence pairs, in how many pairs each (source, target) piece pair occurs.

        Counting is per pair (a piece twice in one sentence counts once): per chunk, the
        product of the chunk's sparse pair-by-piece matrices. Memory grows with the distinct
        (source, target) piece pairs seen plus one chunk, not with the corpus: one streaming
        pass over a binarized corpus of any size.
        """
        src_pairs = torch.zeros(vocab_size, dtype=torch.long)  # pairs containing the piece: c(s), c(t)
        tgt_pairs = torch.zeros(vocab_size, dtype=torch.long)
        tgt_counts = torch.zeros(vocab_size, dtype=torch.long)  # occurrences
        together = _Cooccurrence(vocab_size)
        for chunk in chunks:
            s_pair, s_piece = _pieces_per_pair(chunk.src, chunk.src_off, vocab_size)
            t_pair, t_piece = _pieces_per_pair(chunk.tgt, chunk.tgt_off, vocab_size)
            src_pairs += torch.bincount(s_piece, minlength=vocab_size)
            tgt_pairs += torch.bincount(t_piece, minlength=vocab_size)
            tgt_counts += torch.bincount(chunk.tgt.long(), minlength=vocab_size)
            together.add(s_pair, s_piece, t_pair, t_piece, len(chunk))
        tgt_counts[[PAD_ID, UNK_ID, EOS_ID]] = 0  # specials are added to every shortlist anyway
        always = torch.argsort(-tgt_counts, stable=True)[:frequent]
        always = always[tgt_counts[always] > 0]
        pair_keys, counts = together.total()
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
    """In how many pairs each (source piece, target piece) occurs: the sparse product X_src^T X_tgt,
    summed over chunks, where X[i, p] = 1 if pair i contains piece p.

    The sparse product costs what the piece pairs of the chunk cost, in C++ (several times
    faster than listing them and sorting). Up to `dense_max` piece pairs (256 MiB of int32 at
    the default 8,000 pieces) the chunk products are added into a dense V x V count, which
    costs nothing per chunk beyond the product; past it, they wait in a list and are summed
    (concatenate, coalesce) once they outgrow the running total.
    """

    dense_max = 1 << 27  # V * V entries: 11,585 pieces
    merge_above = 1 << 22  # sparse entries waiting before a merge (or the total's size, if larger)

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        self.dense = torch.zeros(vocab_size**2, dtype=torch.int32) if vocab_size**2 <= self.dense_max else None
        self.parts: list[Tensor] = []  # coalesced (V, V) COO matrices of float64 counts (exact to 2^53)
        self.pending, self.merged = 0, 0

    def add(self, s_pair: Tensor, s_piece: Tensor, t_pair: Tensor, t_piece: Tensor, n: int) -> None:
        v = self.vocab_size
        ones = torch.ones(len(s_piece), dtype=torch.float64)
        with warnings.catch_warnings():  # "sparse CSR support is in beta": the product is checked in tests
            warnings.simplefilter("ignore", UserWarning)
            by_piece = torch.sparse_coo_tensor(torch.stack([s_piece, s_pair]), ones, (v, n), check_invariants=False)
            src = by_piece.coalesce().to_sparse_csr()
            part = torch.sparse.mm(src, _csr_rows(t_pair, t_piece, n, v)).to_sparse_coo().coalesce()
        if self.dense is not None:
            rows, cols = part.indices()
            self.dense.index_add_(0, rows * v + cols, part.values().round().int())
            return
        self.parts.append(part)
        self.pending += part._nnz()
        if self.pending > max(self.merge_above, self.merged):
            self._merge()

    def _merge(self) -> None:
        v = self.vocab_size
        indices = torch.cat([p.indices() for p in self.parts], 1) if self.parts else torch.zeros(2, 0, dtype=torch.long)
        values = torch.cat([p.values() for p in self.parts]) if self.parts else torch.zeros(0, dtype=torch.float64)
        total = torch.sparse_coo_tensor(indices, values, (v, v), check_invariants=False)
        self.parts = [total.coalesce()]
        self.pending, self.merged = 0, self.parts[0]._nnz()

    def total(self) -> tuple[Tensor, Tensor]:
        """Sorted keys source * V + target of the pairs that occur, and in how many sentence pairs."""
        if self.dense is not None:
            keys = self.dense.nonzero().squeeze(1)
            return keys, self.dense[keys].long()
        self._merge()
        (part,) = self.parts
        rows, cols = part.indices()
        return rows * self.vocab_size + cols, part.values().round().long()


def _csr_rows(pair: Tensor, piece: Tensor, n: int, vocab_size: int) -> Tensor:
    """The (n, V) CSR matrix with a 1 where pair i has piece p (`pair` sorted, as `_pieces_per_pair` gives it)."""
    crow = torch.zeros(n + 1, dtype=torch.long)
    crow[1:] = torch.cumsum(torch.bincount(pair, minlength=n), 0)
    ones = torch.ones(len(piece), dtype=torch.float64)
    return torch.sparse_csr_tensor(crow, piece, ones, size=(n, vocab_size), check_invariants=False)


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
