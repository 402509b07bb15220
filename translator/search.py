"""Greedy and beam search over the model's `step`, batched in tensor ops.

Both searches see the model only through `step(prev_tokens, state, enc)`
and the `index_select` of the state and encoder values, so a scripted fake
stepper can test them against scores computed by hand.

Each finished hypothesis keeps the decoder state that produced its EOS: in
document mode the best hypothesis's state is what the next sentence
continues from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from translator.model import StepOutput
from translator.state import EncoderOutput, LSTMState
from translator.tokenizer import BOS_ID, EOS_ID


class Stepper(Protocol):
    def step(self, prev_tokens: Tensor, state: LSTMState, enc: EncoderOutput) -> StepOutput: ...


@dataclass
class Hypothesis:
    """One finished translation: pieces without BOS/EOS, scores, final state (1 row)."""

    tokens: list[int]
    score: float  # length-normalised log-probability (what beam search ranks by)
    log_prob: float  # raw sum of log-probabilities, EOS included
    state: LSTMState


def normalise(log_prob: Tensor | float, length: int, alpha: float) -> Tensor | float:
    """Score used to rank hypotheses of different lengths: log_prob / length**alpha."""
    return log_prob / (length**alpha) if alpha else log_prob


def greedy_search(model: Stepper, enc: EncoderOutput, state: LSTMState, max_len: Tensor) -> list[Hypothesis]:
    """Arg-max decoding of a batch; `max_len` (B,) caps each row (EOS forced there).

    Finished rows keep running in the batch (cheaper than re-indexing every
    step for the small batches greedy decoding serves) but stop changing.
    """
    batch, device = max_len.shape[0], enc.states.device
    max_len = max_len.to(device)
    prev = torch.full((batch,), BOS_ID, dtype=torch.long, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    log_prob = torch.zeros(batch, device=device)
    final = state
    tokens: list[Tensor] = []
    for t in range(int(max_len.max())):
        out = model.step(prev, state, enc)
        lp = _force_eos(out.log_probs, t + 1 >= max_len)
        best_lp, best = lp.max(dim=-1)  # (B,)
        best = best.masked_fill(finished, EOS_ID)
        log_prob += best_lp.masked_fill(finished, 0.0)
        newly = best.eq(EOS_ID) & ~finished
        final = out.state.where(newly, final)
        finished |= newly
        tokens.append(best)
        state, prev = out.state, best
        if bool(finished.all()):
            break
    generated = torch.stack(tokens, dim=1)  # (B, t)
    lengths = _lengths_until_eos(generated)
    rows = generated.tolist()
    return [
        Hypothesis(
            rows[b][: lengths[b]],
            float(log_prob[b]),
            float(log_prob[b]),
            final.index_select(torch.tensor([b], device=device)),
        )
        for b in range(batch)
    ]


def beam_search(
    model: Stepper,
    enc: EncoderOutput,
    state: LSTMState,
    max_len: Tensor,
    beam_size: int,
    n_best: int = 1,
    alpha: float = 1.0,
) -> list[list[Hypothesis]]:
    """Beam search for a batch of B sentences, all beams in one tensor of B*K rows.

    A sentence is done once it has `beam_size` finished hypotheses (or hit
    its length limit, where EOS is forced); done sentences leave the batch.
    Returns, per sentence, its `n_best` hypotheses, best first.
    """
    if not 1 <= n_best <= beam_size:
        raise ValueError(f"n_best must be in 1..beam_size, got {n_best} with beam {beam_size}")
    batch, k, device = max_len.shape[0], beam_size, enc.states.device
    max_len = max_len.to(device)
    tile = torch.arange(batch, device=device).repeat_interleave(k)
    enc, state = enc.index_select(tile), state.index_select(tile)
    beams = _Beams.start(batch, k, device)
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    for t in range(int(max_len.max())):
        out = model.step(beams.prev_tokens(), state, enc)
        at_limit = t + 1 >= max_len[beams.sentence]
        vocab = out.log_probs.shape[-1]
        lp = _force_eos(out.log_probs, at_limit.repeat_interleave(k)).view(-1, k, vocab)
        top_scores, top_index = (beams.scores.unsqueeze(-1) + lp).view(-1, k * vocab).topk(2 * k, dim=1)
        origin, token = top_index // vocab, top_index % vocab  # (n, 2K)
        _finalize(finished, beams, out.state, top_scores, origin, token, t + 1, alpha)
        beams, rows = beams.advance(top_scores, origin, token)
        state = out.state.index_select(rows)
        done = torch.tensor([len(finished[s]) >= k for s in beams.sentence.tolist()], device=device) | at_limit
        if bool(done.all()):
            break
        if bool(done.any()):
            beams, keep_rows = beams.select((~done).nonzero().squeeze(1))
            state, enc = state.index_select(keep_rows), enc.index_select(keep_rows)
    return [sorted(hyps, key=lambda h: -h.score)[:n_best] for hyps in finished]


@dataclass(frozen=True)
class _Beams:
    """Live beams: (n, K) scores, (n*K, t) token history, and their sentence ids."""

    scores: Tensor  # (n, K) raw log-probabilities
    history: Tensor  # (n*K, t)
    sentence: Tensor  # (n,) index of each row-group's sentence in the input batch

    @staticmethod
    def start(batch: int, k: int, device: torch.device) -> _Beams:
        scores = torch.full((batch, k), float("-inf"), device=device)
        scores[:, 0] = 0.0  # all K beams start identical: keep one alive
        history = torch.empty(batch * k, 0, dtype=torch.long, device=device)
        return _Beams(scores, history, torch.arange(batch, device=device))

    def prev_tokens(self) -> Tensor:
        if self.history.shape[1] == 0:
            return torch.full((self.history.shape[0],), BOS_ID, dtype=torch.long, device=self.history.device)
        return self.history[:, -1]

    def advance(self, top_scores: Tensor, origin: Tensor, token: Tensor) -> tuple[_Beams, Tensor]:
        """Keep the best K non-EOS candidates of the 2K; returns new beams and source rows."""
        k = self.scores.shape[1]
        order = torch.sort(token.eq(EOS_ID).to(torch.int8), dim=1, stable=True).indices[:, :k]
        scores = top_scores.gather(1, order).masked_fill(token.gather(1, order).eq(EOS_ID), float("-inf"))
        rows = (
            torch.arange(scores.shape[0], device=scores.device).unsqueeze(1) * k + origin.gather(1, order)
        ).flatten()
        history = torch.cat([self.history.index_select(0, rows), token.gather(1, order).reshape(-1, 1)], dim=1)
        return _Beams(scores, history, self.sentence), rows

    def select(self, keep: Tensor) -> tuple[_Beams, Tensor]:
        """Only the sentences `keep`; also returns their rows in the (n*K) layout."""
        k = self.scores.shape[1]
        rows = (keep.unsqueeze(1) * k + torch.arange(k, device=keep.device)).flatten()
        return _Beams(self.scores[keep], self.history[rows], self.sentence[keep]), rows


def _finalize(
    finished: list[list[Hypothesis]],
    beams: _Beams,
    step_state: LSTMState,
    top_scores: Tensor,
    origin: Tensor,
    token: Tensor,
    length: int,
    alpha: float,
) -> None:
    """Move EOS candidates ranked within the top K into `finished`.

    Only ranks < K count (fairseq's rule): an EOS at rank K..2K-1 is worse
    than K live continuations, so it can never be among the K best.
    """
    k = beams.scores.shape[1]
    eos = token[:, :k].eq(EOS_ID) & top_scores[:, :k].isfinite()
    for i, j in eos.nonzero().tolist():
        row = i * k + int(origin[i, j])
        raw = float(top_scores[i, j])
        finished[int(beams.sentence[i])].append(
            Hypothesis(
                beams.history[row].tolist(),
                float(normalise(raw, length, alpha)),
                raw,
                step_state.index_select(torch.tensor([row], device=top_scores.device)),
            )
        )


def _force_eos(log_probs: Tensor, at_limit: Tensor) -> Tensor:
    """Rows at their length limit may only produce EOS."""
    if not bool(at_limit.any()):
        return log_probs
    forced = torch.full_like(log_probs, float("-inf"))
    forced[:, EOS_ID] = log_probs[:, EOS_ID]
    return torch.where(at_limit.unsqueeze(1), forced, log_probs)


def _lengths_until_eos(tokens: Tensor) -> list[int]:
    """Per row, the number of tokens before the first EOS (all if none)."""
    is_eos = tokens.eq(EOS_ID)
    first = torch.where(
        is_eos.any(1), is_eos.int().argmax(1), torch.full_like(is_eos[:, 0], tokens.shape[1], dtype=torch.long)
    )
    return [int(x) for x in first]
