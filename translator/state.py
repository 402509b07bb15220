"""Values that flow between the model's steps, owned by the caller.

Nothing here lives on an `nn.Module`: the encoder output, the decoder state
and the document context are plain immutable values. That is what lets beam
search reorder them, a document carry them to its next sentence, training
detach them every few sentences, and a server run two batches at once.

Batch layout: LSTM states are `(layers, batch, hidden)` as `nn.LSTM` wants
them; everything else is batch-first.
"""

from __future__ import annotations

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
        """Drop padding columns that no row needs any more (sources are right-padded)."""
        width = int(self.mask.sum(1).max()) if self.mask.numel() else 0
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
class DocContext:
    """What one sentence hands to the next sentence of the same document.

    `encoder` is the final state of the encoder's forward LSTM (it initialises
    the next sentence's forward pass); `decoder` is the decoder's state after
    it produced the translation's last token (it is gated into the next
    sentence's initial decoder state). All zeros means "start of a document".
    """

    encoder: LSTMState  # (Le, B, He)
    decoder: LSTMState  # (Ld, B, Hd)

    @property
    def batch_size(self) -> int:
        return self.encoder.batch_size

    def index_select(self, index: Tensor) -> DocContext:
        return DocContext(self.encoder.index_select(index), self.decoder.index_select(index))

    def detach(self) -> DocContext:
        return DocContext(self.encoder.detach(), self.decoder.detach())

    def float(self) -> DocContext:
        return DocContext(self.encoder.float(), self.decoder.float())

    def where(self, keep: Tensor, other: DocContext) -> DocContext:
        return DocContext(self.encoder.where(keep, other.encoder), self.decoder.where(keep, other.decoder))

    def reset(self, start: Tensor) -> DocContext:
        """Zero the rows where `start` (B,) is True: those lanes begin a new document."""
        zero = DocContext(_zeros_like(self.encoder), _zeros_like(self.decoder))
        return zero.where(start, self)

    @staticmethod
    def cat(contexts: list[DocContext]) -> DocContext:
        return DocContext(
            LSTMState.cat([c.encoder for c in contexts]),
            LSTMState.cat([c.decoder for c in contexts]),
        )


def _zeros_like(state: LSTMState) -> LSTMState:
    return LSTMState(torch.zeros_like(state.h), torch.zeros_like(state.c))


CONTEXT_KEYS = ("encoder_h", "encoder_c", "decoder_h", "decoder_c")


def context_to_tensors(context: DocContext) -> dict[str, Tensor]:
    """Plain tensors (for checkpoints and, later, the serving context blob)."""
    parts = (context.encoder.h, context.encoder.c, context.decoder.h, context.decoder.c)
    return {k: t.detach().cpu() for k, t in zip(CONTEXT_KEYS, parts, strict=True)}


def context_from_tensors(tensors: dict[str, Tensor], device: torch.device | str = "cpu") -> DocContext:
    """Inverse of `context_to_tensors`."""
    eh, ec, dh, dc = (tensors[k].to(device) for k in CONTEXT_KEYS)
    return DocContext(LSTMState(eh, ec), LSTMState(dh, dc))
