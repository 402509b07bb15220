"""Training-time levers that push a model to use its document context.

Two act on the slots of one optimisation step, before the forward pass:

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

The third adds a term to the loss (`Contrast`, Jean & Cho 2019, "Context-Aware
Learning for Neural Machine Translation"): on the target words named in
`train.contrast_words` (by default the gendered pronouns él ella ellos ellas),
the log-probability of the reference word with the lane's true context must
beat the same word's log-probability with a wrong context, a neighbouring
lane's (another document's state after its own sentences), by
`train.contrast_margin` nats; each shortfall costs `train.contrast_weight`
times itself. Cross-entropy alone never asks the context to matter: a
pronoun whose gender the current sentence's prior guesses right most of the
time costs little either way. The hinge asks exactly what the balanced twins
measure. It costs a second forward pass over the rows that hold such a word
and continue a document (a document's first sentence has no context to beat).
A word written as a gender pair, `lindo/linda`, is held to its log-odds against
its partner instead: the true context must move the choice between the two
toward the reference by the margin more than the neighbour's context does. A
single word's log-probability can also gain by making every wrong context
unsure of the word altogether (a model that learns to drop it); the log-odds
can only gain by choosing the gender, which is what a twin pair tests.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from training.data import Slot
from translator.config import TrainConfig
from translator.model import Seq2Seq
from translator.state import DocState
from translator.tokenizer import EOS_ID, PAD_ID, UNK_ID, Tokenizer

log = logging.getLogger("training")


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


@dataclass(frozen=True)
class Contrast:
    """The contrastive margin: on `ids` in the reference, the true context must beat a neighbour's."""

    ids: Tensor  # (K,) sorted target piece ids the margin applies to
    weight: float
    margin: float
    partners: Tensor | None = None  # (K,) each id's other-gender piece (log-odds against it), -1: none

    @staticmethod
    def from_config(cfg: TrainConfig, tokenizer: Tokenizer, uses_context: bool) -> Contrast | None:
        """None when off. Words are taken as written and capitalised; those that are not one piece are skipped."""
        if cfg.contrast_weight <= 0:
            return None
        if not uses_context:
            raise ValueError("train.contrast_weight needs a model with a document context (model.context != none)")
        partner = contrast_pieces(cfg.contrast_words, tokenizer)
        if not partner:
            raise ValueError(f"train.contrast_words: none of {cfg.contrast_words!r} is a single vocabulary piece")
        ids = sorted(partner)
        pairs = sum(partner[i] >= 0 for i in ids)
        log.info("contrastive margin on %d target pieces (%d of them in gender pairs)", len(ids), pairs)
        partners = torch.tensor([partner[i] for i in ids]) if pairs else None
        return Contrast(torch.tensor(ids), cfg.contrast_weight, cfg.contrast_margin, partners)

    def positions(self, slot: Slot) -> Tensor:
        """(B, T) bool: the reference's contrast words in lanes that continue a document."""
        hit = torch.isin(slot.tgt_out, self.ids.to(slot.tgt_out.device))
        return hit & ~slot.start.unsqueeze(1)

    def loss(self, model: Seq2Seq, slot: Slot, doc_state: DocState, features: Tensor) -> Tensor:
        """Summed hinge over the slot's contrast words; `features` (B, T, F) came from the true document state."""
        hit = self.positions(slot)
        rows = hit.any(1).nonzero().squeeze(1)
        if rows.numel() == 0:
            return features.new_zeros(())
        wrong = doc_state.index_select((rows + 1) % doc_state.batch_size)  # each row's neighbouring lane
        on_cpu = rows.cpu()  # lengths stay on the CPU, as in the main pass
        out, _ = model.force(slot.src[rows], slot.src_len[on_cpu], slot.tgt_in[rows], slot.tgt_len[on_cpu], wrong)
        gold = slot.tgt_out[hit]
        partner = None if self.partners is None else self.partners.to(gold.device)[self._index(gold)]
        true = _gold_scores(model, features[hit], gold, partner)
        wrong_score = _gold_scores(model, out.features[hit[rows]], gold, partner)
        return self.weight * F.relu(self.margin - (true - wrong_score)).sum()

    def _index(self, gold: Tensor) -> Tensor:
        """Each reference id's position in `ids` (all of them are there)."""
        return torch.searchsorted(self.ids.to(gold.device), gold)


def contrast_pieces(words: str, tokenizer: Tokenizer) -> dict[int, int]:
    """Piece id -> its gender partner's piece id (-1: a single word), for each word written and capitalised.

    A pair is kept only when both of its words are single pieces: half a pair would
    silently fall back to the log-probability form.
    """
    out: dict[int, int] = {}
    for item in words.split():
        written = item.split("/")
        for form in (written, [w[:1].upper() + w[1:] for w in written]):  # a capital pairs with a capital
            pieces = [tokenizer.encode(w) for w in form]
            if any(len(p) != 1 for p in pieces):
                continue
            ids = [p[0] for p in pieces]
            if len(ids) == 1:
                out.setdefault(ids[0], -1)
            else:
                out[ids[0]], out[ids[1]] = ids[1], ids[0]
    return out


def _gold_scores(model: Seq2Seq, features: Tensor, gold: Tensor, partner: Tensor | None) -> Tensor:
    """(N, F) decoder features, (N,) reference ids -> (N,) their log-probabilities,
    less their partners' where they have one (`partner` -1: none)."""
    lp = model.logits(features).float().log_softmax(-1)
    score = lp.gather(1, gold.unsqueeze(1)).squeeze(1)
    if partner is None:
        return score
    other = lp.gather(1, partner.clamp(min=0).unsqueeze(1)).squeeze(1)
    return score - torch.where(partner >= 0, other, torch.zeros_like(other))
