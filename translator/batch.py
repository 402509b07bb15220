"""Small pure helpers to turn id lists into padded tensors."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from translator.tokenizer import BOS_ID, EOS_ID, PAD_ID


def pad_batch(seqs: Sequence[Sequence[int]], device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """Right-pad to (B, max_len); lengths (B,) stay on the CPU, where packing wants them."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    out = torch.full((len(seqs), int(lengths.max()) if len(seqs) else 0), PAD_ID, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out.to(device), lengths


def source_ids(pieces: Sequence[int]) -> list[int]:
    """Encoder input: pieces then EOS (so no source is empty)."""
    return [*pieces, EOS_ID]


def target_io(pieces: Sequence[int]) -> tuple[list[int], list[int]]:
    """Decoder input (BOS y1..yn) and output (y1..yn EOS) for teacher forcing."""
    return [BOS_ID, *pieces], [*pieces, EOS_ID]
