"""Document-stream batching: lanes that walk documents sentence by sentence.

A batch is not a bag of unrelated sentences. There are `lanes` lanes; each
lane reads one document at a time, in order, and moves to the next document
from a shuffled queue when its current one ends. One *slot* is the next
sentence of every lane, so the model's context for lane l at slot t is
exactly what lane l's previous sentence left, the same as at inference.

The stream is infinite (epochs follow each other) and its whole position is
a few integers, saved in checkpoints so that a resumed run reads exactly the
sentences the interrupted one would have read. Sentences come from the
memory-mapped store (training/store.py), never from a tokenized copy in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from training.store import Pair, TokenStore
from translator.batch import pad_batch, source_ids, target_io
from translator.tokenizer import Tokenizer

# A pair's pieces as one step trains on them: (pair, its index in the store, the epoch) -> pair.
Segmenter = Callable[[Pair, int, int], Pair]


@dataclass
class Slot:
    """One sentence per lane, as padded tensors.

    Shapes: src (B, S); src_len (B,); tgt_in / tgt_out (B, T); tgt_len (B,);
    start (B,) bool, True where the lane begins a new document (its context
    must be reset to zeros before this sentence).
    """

    src: Tensor
    src_len: Tensor
    tgt_in: Tensor
    tgt_out: Tensor
    tgt_len: Tensor
    start: Tensor

    @property
    def tokens(self) -> int:
        return int(self.src_len.sum() + self.tgt_len.sum())

    def to(self, device: torch.device) -> Slot:
        return Slot(
            self.src.to(device),
            self.src_len,
            self.tgt_in.to(device),
            self.tgt_out.to(device),
            self.tgt_len,
            self.start.to(device),
        )


class DocumentStream:
    """Infinite lane-wise walk over shuffled documents of a binarized corpus (one shard per DDP rank).

    Rank r of w reads documents r, r + w, r + 2w, ... of the memory-mapped store: every
    rank maps the same files and touches only its own documents. Memory is the lanes'
    current sentences plus the epoch's shuffled order of this shard's documents, an int64
    array (8 bytes per document): nothing grows with the number of sentences.
    """

    def __init__(
        self,
        store: TokenStore,
        lanes: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        segment: Segmenter | None = None,
    ) -> None:
        self.store, self.rank, self.world, self.segment = store, rank, world, segment
        self.n_docs = len(range(rank, store.n_docs, world))
        if not self.n_docs:
            raise ValueError(f"rank {rank}: no training documents in this shard")
        self.lanes, self.seed = lanes, seed
        self.epoch, self.next_doc = 0, 0
        self.order = self._order(0)
        self.lane_doc = [self._take() for _ in range(lanes)]  # shard-local document index
        self.lane_pos = [0] * lanes

    def _order(self, epoch: int) -> np.ndarray:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(self.n_docs, generator=gen).numpy()

    def _take(self) -> int:
        """Next document from the shuffled queue, starting a new epoch when it runs out."""
        if self.next_doc == len(self.order):
            self.epoch += 1
            self.order, self.next_doc = self._order(self.epoch), 0
        self.next_doc += 1
        return int(self.order[self.next_doc - 1])

    def _pairs(self, lane: int) -> tuple[int, int]:
        """The store's pair range of lane `lane`'s document."""
        return self.store.doc_pairs(self.rank + self.world * self.lane_doc[lane])

    def next_slot(self) -> Slot:
        """The next sentence of every lane."""
        pairs, starts = [], []
        for lane in range(self.lanes):
            first, end = self._pairs(lane)
            if first + self.lane_pos[lane] == end:
                self.lane_doc[lane], self.lane_pos[lane] = self._take(), 0
                first, end = self._pairs(lane)
            starts.append(self.lane_pos[lane] == 0)
            index = first + self.lane_pos[lane]
            pair = self.store.pair(index)
            pairs.append(self.segment(pair, index, self.epoch) if self.segment else pair)
            self.lane_pos[lane] += 1
        return make_slot(pairs, starts)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "next_doc": self.next_doc, "lane_doc": self.lane_doc, "lane_pos": self.lane_pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["lane_doc"]) != self.lanes:
            raise ValueError(f"checkpoint has {len(state['lane_doc'])} lanes, config says {self.lanes}")
        if max(state["lane_doc"]) >= self.n_docs:
            raise ValueError(f"checkpoint reads document {max(state['lane_doc'])}; this shard has {self.n_docs}")
        self.epoch, self.next_doc = int(state["epoch"]), int(state["next_doc"])
        self.order = self._order(self.epoch)
        self.lane_doc, self.lane_pos = list(state["lane_doc"]), list(state["lane_pos"])


class SubwordSampler:
    """A `Segmenter` that samples each sentence's segmentation anew (data.spm_alpha > 0).

    The store holds one segmentation; sampling decodes it and encodes it again at random,
    seeded by (seed, epoch, pair index, side), so every epoch sees other pieces and a resume
    sees the same ones. Sampled pieces are cut to `max_len` as the store's were.
    """

    def __init__(self, tokenizer: Tokenizer, alpha: float, nbest: int, seed: int, max_len: int) -> None:
        self.tokenizer, self.alpha, self.nbest, self.seed, self.max_len = tokenizer, alpha, nbest, seed, max_len

    def __call__(self, pair: Pair, index: int, epoch: int) -> Pair:
        key = ((self.seed * 1_000_003 + epoch) * 2_147_483_629 + 2 * index) % 2**31
        src, tgt = (self.tokenizer.sample(ids, self.alpha, self.nbest, key + side) for side, ids in enumerate(pair))
        return src[: self.max_len], tgt[: self.max_len]


def make_slot(pairs: Sequence[Pair], starts: Sequence[bool]) -> Slot:
    """Pad one sentence per lane into a `Slot`."""
    src, src_len = pad_batch([source_ids(s) for s, _ in pairs])
    tgt_in, tgt_len = pad_batch([target_io(t)[0] for _, t in pairs])
    tgt_out, _ = pad_batch([target_io(t)[1] for _, t in pairs])
    return Slot(src, src_len, tgt_in, tgt_out, tgt_len, torch.tensor(starts))
