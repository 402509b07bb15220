"""LSTM decoder with attention and the document-state carry policy.

One decoder, one code path: teacher forcing feeds the whole target in one
LSTM call, and a search step is the same call with a target of length one.

There is no input feeding (the previous attentional vector is not an LSTM
input). That is what allows the single LSTM call over the whole target;
attention is then computed for all positions at once.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from translator.attention import Attention
from translator.config import ModelConfig
from translator.lstm import one_step, run_lstm
from translator.state import EncoderOutput, LSTMState


class Decoder(nn.Module):
    """Embeddings -> LSTM -> attention -> tanh(W[attended; h]) = attentional features."""

    def __init__(self, cfg: ModelConfig, embed: nn.Embedding) -> None:
        super().__init__()
        self.embed = embed
        self.layers, self.hidden = cfg.dec_layers, cfg.dec_hidden
        self.dropout = nn.Dropout(cfg.dropout)
        enc_out = 2 * cfg.enc_hidden
        self.lstm = nn.LSTM(
            cfg.emb_size,
            cfg.dec_hidden,
            num_layers=cfg.dec_layers,
            batch_first=True,
            dropout=cfg.dropout if cfg.dec_layers > 1 else 0.0,
        )
        self.fused_lstm: bool | None = None  # run_lstm's kernel: None picks by device (fused on CUDA)
        self.attention = Attention(enc_out, cfg.dec_hidden)
        # With a tied output layer the features must live in embedding space.
        self.feature_size = cfg.emb_size if cfg.tie_output else cfg.dec_hidden
        self.combine = nn.Linear(enc_out + cfg.dec_hidden, self.feature_size)
        self.bridge = nn.Linear(enc_out, 2 * cfg.dec_layers * cfg.dec_hidden)
        self.carry_gate = nn.Linear(2 * cfg.dec_hidden, cfg.dec_hidden) if cfg.context != "none" else None

    def init_state(self, enc: EncoderOutput, carry: LSTMState | None) -> LSTMState:
        """Initial decoder state: the bridged sentence summary, gated with the carry.

        The gate g = sigmoid(W [bridge_h; carried_h]) decides per unit how much
        of the previous sentence's final decoder state (which knows, e.g., the
        gender it just produced for "la luz") survives into this sentence:
        h0 = g * carried + (1 - g) * bridge, the same g for the cell state.
        A zero carry is the start of a document; the gate learns that case too.
        """
        batch = enc.summary.shape[0]
        bridged = torch.tanh(self.bridge(enc.summary))  # (B, 2*Ld*Hd)
        h, c = bridged.view(batch, 2, self.layers, self.hidden).permute(1, 2, 0, 3)  # 2 x (Ld, B, Hd)
        if carry is None or self.carry_gate is None:
            return LSTMState(h.contiguous(), c.contiguous())
        gate = torch.sigmoid(self.carry_gate(torch.cat([h, carry.h], dim=-1)))  # (Ld, B, Hd)
        return LSTMState(gate * carry.h + (1 - gate) * h, gate * carry.c + (1 - gate) * c)

    def forward(
        self, tgt_in: Tensor, lengths: Tensor | None, state: LSTMState, enc: EncoderOutput
    ) -> tuple[Tensor, LSTMState, Tensor]:
        """Run the decoder over `tgt_in` from `state`.

        Args:
            tgt_in: (B, T) input ids (BOS y1 .. y_{n}), right-padded.
            lengths: (B,) true lengths on the CPU, or None when every row is
                full length (a search step). With lengths the final state is
                taken at each row's own last token, which is what the next
                sentence must continue from.
            state: (Ld, B, Hd) initial state.
            enc: the source sentences.

        Returns:
            features (B, T, F) for the output layer, the final state, and
            attention weights (B, T, S).
        """
        emb = self.dropout(self.embed(tgt_in))  # (B, T, E)
        if lengths is None and emb.shape[1] == 1 and type(self.lstm) is nn.LSTM and not torch.is_grad_enabled():
            out, h, c = one_step(self.lstm, emb, state.as_tuple())  # a search step: the cell, not the kernel
        elif lengths is None:  # every row full length: the fused LSTM kernel is exact
            out, (h, c) = self.lstm(emb, state.as_tuple())  # (B, T, Hd)
        else:
            out, h, c = run_lstm(self.lstm, emb, lengths, state.as_tuple(), self.fused_lstm)  # (B, T, Hd)
        attended, weights = self.attention(out, enc.keys, enc.states, enc.mask)  # (B, T, 2He)
        features = torch.tanh(self.combine(torch.cat([attended, out], dim=-1)))  # (B, T, F)
        return self.dropout(features), LSTMState(h, c), weights
