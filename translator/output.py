"""What one decoding step gives back, and the restricted output layer it may score with.

A leaf module (it imports only torch and `translator.state`), so the model
(which produces `StepOutput`, scoring through `OutputRows` when given one)
and the shortlist (which builds `OutputRows`) need not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from torch import Tensor

from translator.state import LSTMState


class StepOutput(NamedTuple):
    log_probs: Tensor  # (B, N): over the whole vocabulary (N = V), or over a shortlist's pieces
    state: LSTMState  # (Ld, B, Hd)
    attention: Tensor  # (B, S)
    ids: Tensor | None = None  # (N,) the piece of each column of a shortlist's scores; None: column = piece


class OutputRows:
    """An output layer restricted to the rows `ids` (built by `OutputLayer.rows`)."""

    def __init__(self, ids: Tensor, linear: Callable[[Tensor], Tensor]) -> None:
        self.ids, self._linear = ids, linear

    def log_probs(self, features: Tensor) -> Tensor:
        """(B, F) -> (B, N) log-probabilities over the N pieces `ids` (column j is piece ids[j])."""
        return self._linear(features).float().log_softmax(dim=-1)
