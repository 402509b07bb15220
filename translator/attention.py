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
        """Attend.

        Shapes:
            query: (B, T, Dq); keys: (B, S, Dq); values: (B, S, Dv); mask: (B, S) bool.
            Returns context (B, T, Dv) and weights (B, T, S).
        """
        scores = query.bmm(keys.transpose(1, 2))  # (B, T, S)
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = scores.softmax(dim=-1)
        return weights.bmm(values), weights
