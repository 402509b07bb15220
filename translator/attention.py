"""Luong "general" attention, stateless.

score(q, s) = q^T W s. We chose Luong over Bahdanau because its score is a
batched matrix product of the decoder outputs with keys projected once per
sentence: teacher forcing attends for all target positions in one `bmm`,
and a decoding step costs one small `bmm`, with no per-step tanh over every
source position as Bahdanau's additive score needs.
"""

from __future__ import annotations

from torch import Tensor, nn


class Attention(nn.Module):
    """Projects keys once (`project`), then attends any number of queries."""

    def __init__(self, value_size: int, query_size: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(value_size, query_size, bias=False)

    def project(self, values: Tensor) -> Tensor:
        """(B, S, Dv) encoder states -> (B, S, Dq) keys; done once per sentence."""
        return self.key_proj(values)

    def forward(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Attend; several consecutive query rows may share one source (a beam's hypotheses).

        Shapes:
            query: (B, T, Dq); keys: (N, S, Dq); values: (N, S, Dv); mask: (N, S)
            bool, where B = N * G: query rows n*G .. n*G + G - 1 attend to
            source n. Beam search keeps one copy of each source, not one per
            hypothesis: K times less to copy when sentences join or leave,
            and one (G*T x S) product per source instead of G small ones.
            Returns the attended vector (B, T, Dv), the weighted sum of `values`
            that the literature calls the context vector, and weights (B, T, S).
        """
        batch, steps, _ = query.shape
        grouped = query.reshape(keys.shape[0], -1, query.shape[-1])  # (N, G*T, Dq)
        scores = grouped.bmm(keys.transpose(1, 2))  # (N, G*T, S)
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = scores.softmax(dim=-1)
        attended = weights.bmm(values)  # (N, G*T, Dv)
        return attended.view(batch, steps, -1), weights.view(batch, steps, -1)
