"""Bidirectional LSTM encoder whose forward direction can continue a document."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from translator.config import ModelConfig
from translator.lstm import run_lstm
from translator.state import LSTMState


class Encoder(nn.Module):
    """Embeddings -> dropout -> bi-LSTM.

    The forward direction reads the sentence left to right, so its initial
    state can be the forward final state of the previous sentence: the
    encoder then reads a document as one stream cut into sentences. The
    backward direction starts from zeros: it runs from the sentence's end, so
    a carried state would have nothing to connect to.
    """

    def __init__(self, cfg: ModelConfig, embed: nn.Embedding) -> None:
        super().__init__()
        self.embed = embed
        self.dropout = nn.Dropout(cfg.dropout)
        self.layers, self.hidden = cfg.enc_layers, cfg.enc_hidden
        self.lstm = nn.LSTM(
            cfg.emb_size,
            cfg.enc_hidden,
            num_layers=cfg.enc_layers,
            bidirectional=True,
            batch_first=True,
            dropout=cfg.dropout if cfg.enc_layers > 1 else 0.0,
        )
        self.fused_lstm: bool | None = None  # run_lstm's kernel: None picks by device (fused on CUDA)

    def forward(self, src: Tensor, lengths: Tensor, carry: LSTMState | None) -> tuple[Tensor, Tensor, LSTMState]:
        """Encode a right-padded batch.

        Args:
            src: (B, S) piece ids; every row ends with EOS, so lengths >= 1.
            lengths: (B,) true lengths, on the CPU.
            carry: (Le, B, He) forward state left by the previous sentence, or None.

        Returns:
            states (B, S, 2*He) zero on padding; summary (B, 2*He), the top
            layer's final forward and backward outputs; the forward final
            state (Le, B, He) to hand to the next sentence.
        """
        batch, seq = src.shape
        emb = self.dropout(self.embed(src))  # (B, S, E)
        initial = self._initial(carry, batch)
        states, h_n, c_n = run_lstm(self.lstm, emb, lengths, initial, self.fused_lstm)  # (B, S, 2He)
        h_n = h_n.view(self.layers, 2, batch, self.hidden)  # (Le, dir, B, He)
        c_n = c_n.view(self.layers, 2, batch, self.hidden)
        summary = torch.cat([h_n[-1, 0], h_n[-1, 1]], dim=-1)  # (B, 2He)
        return states, summary, LSTMState(h_n[:, 0].contiguous(), c_n[:, 0].contiguous())

    def _initial(self, carry: LSTMState | None, batch: int) -> tuple[Tensor, Tensor] | None:
        """nn.LSTM's (2*Le, B, He) initial state: carried forward, zero backward."""
        if carry is None:
            return None

        def interleave(forward: Tensor) -> Tensor:
            both = torch.stack([forward, torch.zeros_like(forward)], dim=1)  # (Le, 2, B, He)
            return both.reshape(2 * self.layers, batch, self.hidden)

        return interleave(carry.h), interleave(carry.c)
