"""Values that flow between the model's steps, owned by the caller.

Nothing here lives on an `nn.Module`: the encoder output, the decoder state
and the document state (`DocState`) are plain immutable values. That is what
lets beam search reorder them, a document carry them to its next sentence, training
detach them every few sentences, and a server run two batches at once.

Batch layout: LSTM states are `(layers, batch, hidden)` as `nn.LSTM` wants
them; everything else is batch-first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class EncoderOutput:
    """What the decoder attends to, for one batch of source sentences.

    Shapes:
        states: (B, S, 2*He) bi-LSTM outputs, zero on padding.
        keys: (B, S, Hd) attention keys, projected once per sentence.
        mask: (B, S) bool, True on real tokens.
        summary: (B, 2*He) last forward and first backward output of the top layer.
    """

    states: Tensor
    keys: Tensor
    mask: Tensor
    summary: Tensor

    def index_select(self, index: Tensor) -> EncoderOutput:
        """Rows `index` of the batch (beam tiling, dropping finished sentences)."""
        return EncoderOutput(
            self.states.index_select(0, index),
            self.keys.index_select(0, index),
            self.mask.index_select(0, index),
            self.summary.index_select(0, index),
        )

    @staticmethod
    def cat(outputs: list[EncoderOutput]) -> EncoderOutput:
        """Rows of several batches in one; shorter sources are padded (masked out) to the longest."""
        width = max(o.mask.shape[1] for o in outputs)

        def pad(t: Tensor) -> Tensor:
            return torch.nn.functional.pad(t, (0, 0, 0, width - t.shape[1])) if t.dim() == 3 else t

        return EncoderOutput(
            torch.cat([pad(o.states) for o in outputs]),
            torch.cat([pad(o.keys) for o in outputs]),
            torch.cat([torch.nn.functional.pad(o.mask, (0, width - o.mask.shape[1])) for o in outputs]),
            torch.cat([o.summary for o in outputs]),
        )

    def trim(self) -> EncoderOutput:
        """Drop trailing columns that no row needs any more.

        Not `mask.sum(1).max()`: with `context: attend` a row's memory slots
        in front may be masked while its own tokens sit further right.
        """
        used = self.mask.any(0).nonzero()
        width = int(used.max()) + 1 if used.numel() else 0
        if width == self.mask.shape[1]:
            return self
        return EncoderOutput(self.states[:, :width], self.keys[:, :width], self.mask[:, :width], self.summary)


@dataclass(frozen=True)
class LSTMState:
    """Hidden and cell state of a stacked LSTM. Shapes: h, c: (L, B, H)."""

    h: Tensor
    c: Tensor

    @staticmethod
    def zeros(layers: int, batch: int, hidden: int, device: torch.device | str = "cpu") -> LSTMState:
        z = torch.zeros(layers, batch, hidden, device=device)
        return LSTMState(z, z.clone())

    @property
    def batch_size(self) -> int:
        return int(self.h.shape[1])

    def index_select(self, index: Tensor) -> LSTMState:
        return LSTMState(self.h.index_select(1, index), self.c.index_select(1, index))

    def detach(self) -> LSTMState:
        return LSTMState(self.h.detach(), self.c.detach())

    def float(self) -> LSTMState:
        return LSTMState(self.h.float(), self.c.float())

    def where(self, keep: Tensor, other: LSTMState) -> LSTMState:
        """Rows of `self` where `keep` (B,) is True, rows of `other` elsewhere."""
        k = keep.view(1, -1, 1)
        return LSTMState(torch.where(k, self.h, other.h), torch.where(k, self.c, other.c))

    def as_tuple(self) -> tuple[Tensor, Tensor]:
        return self.h, self.c

    @staticmethod
    def cat(states: list[LSTMState]) -> LSTMState:
        return LSTMState(torch.cat([s.h for s in states], 1), torch.cat([s.c for s in states], 1))


DecoderState = LSTMState


@dataclass(frozen=True)
class Memory:
    """The most recent source tokens of earlier sentences, for `context: attend`.

    A fixed number N of slots, right-aligned: the newest token is last, and
    unused slots (the start of a document) are masked out. Fixed N keeps every
    document state the same shape, so states batch, checkpoint and serialise
    like the LSTM states do.

    Shapes: states (B, N, 2*He) encoder outputs; mask (B, N) bool, True on real tokens.
    """

    states: Tensor
    mask: Tensor

    @staticmethod
    def empty(batch: int, slots: int, size: int, device: torch.device | str = "cpu") -> Memory:
        return Memory(
            torch.zeros(batch, slots, size, device=device), torch.zeros(batch, slots, dtype=torch.bool, device=device)
        )

    @staticmethod
    def newest(states: Tensor, mask: Tensor, slots: int) -> Memory:
        """The last `slots` real positions of each row of (B, M, D) `states`, right-aligned (M >= slots).

        A stable sort of the mask moves padding to the front while keeping
        real tokens in order, so one gather keeps the newest ones.
        """
        order = torch.sort(mask.to(torch.int8), dim=1, stable=True).indices[:, -slots:]  # (B, N)
        picked = mask.gather(1, order)
        kept = states.gather(1, order.unsqueeze(-1).expand(-1, -1, states.shape[-1]))
        return Memory(kept * picked.unsqueeze(-1).to(kept.dtype), picked)

    def index_select(self, index: Tensor) -> Memory:
        return Memory(self.states.index_select(0, index), self.mask.index_select(0, index))

    def detach(self) -> Memory:
        return Memory(self.states.detach(), self.mask)

    def float(self) -> Memory:
        return Memory(self.states.float(), self.mask)

    def where(self, keep: Tensor, other: Memory) -> Memory:
        return Memory(
            torch.where(keep.view(-1, 1, 1), self.states, other.states),
            torch.where(keep.view(-1, 1), self.mask, other.mask),
        )

    @staticmethod
    def cat(memories: list[Memory]) -> Memory:
        return Memory(torch.cat([m.states for m in memories]), torch.cat([m.mask for m in memories]))


@dataclass(frozen=True)
class EncoderCarry:
    """What encoding a sentence leaves for the next one: the forward LSTM's final state, and the memory."""

    state: LSTMState
    memory: Memory | None = None

    def index_select(self, index: Tensor) -> EncoderCarry:
        return EncoderCarry(self.state.index_select(index), self.memory.index_select(index) if self.memory else None)

    @staticmethod
    def cat(carries: list[EncoderCarry]) -> EncoderCarry:
        memories = [c.memory for c in carries if c.memory is not None]
        return EncoderCarry(LSTMState.cat([c.state for c in carries]), Memory.cat(memories) if memories else None)


@dataclass(frozen=True)
class DocState:
    """The document state: what one sentence hands to the next sentence of the same document.

    (The product calls carrying it "document context", as in `context: carry`
    and the request's `context` bytes; in code it is the document state.)

    `encoder` is the final state of the encoder's forward LSTM (it initialises
    the next sentence's forward pass); `decoder` is the decoder's state after
    it produced the translation's last token (it is gated into the next
    sentence's initial decoder state). All zeros means "start of a document".
    `memory` (only with `context: attend`) holds the newest source tokens of
    the earlier sentences, which the decoder attends to beside the current ones.
    """

    encoder: LSTMState  # (Le, B, He)
    decoder: LSTMState  # (Ld, B, Hd)
    memory: Memory | None = None

    @property
    def batch_size(self) -> int:
        return self.encoder.batch_size

    @property
    def encoder_carry(self) -> EncoderCarry:
        """The part the encoder continues from: it never depends on what the decoder produced."""
        return EncoderCarry(self.encoder, self.memory)

    def _map(self, state: Callable[[LSTMState], LSTMState], memory: Callable[[Memory], Memory]) -> DocState:
        return DocState(state(self.encoder), state(self.decoder), memory(self.memory) if self.memory else None)

    def index_select(self, index: Tensor) -> DocState:
        return self._map(lambda s: s.index_select(index), lambda m: m.index_select(index))

    def detach(self) -> DocState:
        return self._map(LSTMState.detach, Memory.detach)

    def float(self) -> DocState:
        return self._map(LSTMState.float, Memory.float)

    def where(self, keep: Tensor, other: DocState) -> DocState:
        memory = self.memory.where(keep, other.memory) if self.memory and other.memory else None
        return DocState(self.encoder.where(keep, other.encoder), self.decoder.where(keep, other.decoder), memory)

    def reset(self, start: Tensor) -> DocState:
        """Zero the rows where `start` (B,) is True: those lanes begin a new document."""
        zero = self._map(_zeros_like, lambda m: Memory(torch.zeros_like(m.states), torch.zeros_like(m.mask)))
        return zero.where(start, self)

    @staticmethod
    def cat(states: list[DocState]) -> DocState:
        encoder = EncoderCarry.cat([s.encoder_carry for s in states])
        return DocState(encoder.state, LSTMState.cat([s.decoder for s in states]), encoder.memory)


def _zeros_like(state: LSTMState) -> LSTMState:
    return LSTMState(torch.zeros_like(state.h), torch.zeros_like(state.c))


STATE_KEYS = ("encoder_h", "encoder_c", "decoder_h", "decoder_c")
MEMORY_KEYS = ("memory", "memory_mask")


def state_to_tensors(state: DocState) -> dict[str, Tensor]:
    """Plain float tensors (for checkpoints and the serving context blob); the mask becomes 0/1."""
    parts = [state.encoder.h, state.encoder.c, state.decoder.h, state.decoder.c]
    keys = list(STATE_KEYS)
    if state.memory is not None:
        parts += [state.memory.states, state.memory.mask.float()]
        keys += MEMORY_KEYS
    return {k: t.detach().cpu() for k, t in zip(keys, parts, strict=True)}


def state_from_tensors(tensors: dict[str, Tensor], device: torch.device | str = "cpu") -> DocState:
    """Inverse of `state_to_tensors`."""
    eh, ec, dh, dc = (tensors[k].to(device) for k in STATE_KEYS)
    memory = None
    if "memory" in tensors:
        memory = Memory(tensors["memory"].to(device), tensors["memory_mask"].to(device) > 0.5)
    return DocState(LSTMState(eh, ec), LSTMState(dh, dc), memory)
