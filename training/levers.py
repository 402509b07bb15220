"""Training-time levers that push a model to use its document context.

Both act on the slots of one optimisation step, before the forward pass:

- context dropout (`train.context_dropout` = q): each lane that is in the
  middle of a document has its carried state reset before the sentence with
  probability q, exactly as if a new document began (its `start` flag is set).
  The model cannot lean on the context always being there, so it must learn to
  use it when it is and to cope when it is not.
- CoWord dropout (`train.coword_dropout` = p; Fernandes et al. 2021, "Measuring
  and Increasing Context Usage in Context-Aware Machine Translation"): each
  real source piece of the current sentence (not the EOS, not padding) is
  replaced by the <unk> id with probability p. With part of the current
  sentence hidden, the context becomes worth more to the loss.

The random draws come from a generator seeded from (train.seed, step, rank),
never from the global RNG: enabling a lever leaves every other random draw of
the run unchanged, and a resumed run redraws exactly the same masks, so resume
stays bit-exact. With both levers at 0 nothing is drawn and the slots pass
through untouched.
"""

from __future__ import annotations

import dataclasses

import torch

from training.data import Slot
from translator.config import TrainConfig
from translator.tokenizer import EOS_ID, PAD_ID, UNK_ID


def lever_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """A generator owned by one step of one rank: reproducible, independent of the global RNG."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 1_009 + rank)


def drop_context(slot: Slot, q: float, gen: torch.Generator) -> Slot:
    """Mark each lane as starting a new document with probability `q` (its context will be reset)."""
    if q <= 0:
        return slot
    reset = torch.rand(slot.start.shape, generator=gen) < q
    return dataclasses.replace(slot, start=slot.start | reset.to(slot.start.device))


def drop_source_words(slot: Slot, p: float, gen: torch.Generator, mask_id: int = UNK_ID) -> Slot:
    """Replace each real source piece (not EOS or padding) by `mask_id` with probability `p`."""
    if p <= 0:
        return slot
    real = slot.src.ne(PAD_ID) & slot.src.ne(EOS_ID)
    hit = (torch.rand(slot.src.shape, generator=gen) < p).to(slot.src.device) & real
    return dataclasses.replace(slot, src=slot.src.masked_fill(hit, mask_id))


def apply_levers(slots: list[Slot], cfg: TrainConfig, step: int, rank: int = 0) -> list[Slot]:
    """The step's slots with context dropout and CoWord dropout applied (as configured)."""
    if cfg.context_dropout <= 0 and cfg.coword_dropout <= 0:
        return slots
    gen = lever_generator(cfg.seed, step, rank)
    out = []
    for slot in slots:
        slot = drop_context(slot, cfg.context_dropout, gen)
        out.append(drop_source_words(slot, cfg.coword_dropout, gen))
    return out
