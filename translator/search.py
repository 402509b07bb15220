"""Beam search over the model's `step`, batched in tensor ops; greedy search is a beam of one.

The search sees the model only through `step(prev_tokens, state, enc)`
and the `index_select` of the state and encoder values, so a scripted fake
stepper can test it against scores computed by hand. A step's scores may
cover a shortlist of pieces only (`StepOutput.ids`): the search ranks its
columns and maps the ones it keeps back to pieces.

Each finished hypothesis keeps the decoder state that produced its EOS: in
document mode the best hypothesis's state is what the next sentence
continues from.

A sentence whose step scores hold NaN or +inf (a broken model, or a state
no LSTM could have produced) leaves the search at once with no hypothesis:
ranking NaN would otherwise keep it searching to its length limit and end
with nothing, and it must never disturb the other sentences of the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import torch
from torch import Tensor

from translator.output import StepOutput
from translator.state import EncoderOutput, LSTMState
from translator.tokenizer import BOS_ID, EOS_ID

Key = TypeVar("Key")


class NoHypothesisError(ValueError):
    """A search ended with no hypothesis for a sentence: its scores were NaN or +inf."""


class Stepper(Protocol):
    def step(self, prev_tokens: Tensor, state: LSTMState, enc: EncoderOutput) -> StepOutput: ...


@dataclass
class Hypothesis:
    """One finished translation: pieces without BOS/EOS, scores, final state (1 row)."""

    tokens: list[int]
    score: float  # length-normalised log-probability (what beam search ranks by)
    log_prob: float  # raw sum of log-probabilities, EOS included
    state: LSTMState
    # With alignments asked for: per piece of `tokens`, the encoder position its step attended to most.
    attended: list[int] = field(default_factory=list)


def normalise(log_prob: Tensor | float, length: int, alpha: float) -> Tensor | float:
    """Score used to rank hypotheses of different lengths: log_prob / length**alpha."""
    return log_prob / (length**alpha) if alpha else log_prob


def beam_search(
    model: Stepper,
    enc: EncoderOutput,
    state: LSTMState,
    max_len: Tensor,
    beam_size: int,
    n_best: int = 1,
    alpha: float = 1.0,
    attended: bool = False,
) -> list[list[Hypothesis]]:
    """Beam search for a batch of B sentences; per sentence, its `n_best` hypotheses, best first."""
    search: BeamSearch[int] = BeamSearch(model, beam_size, n_best, alpha, attended)
    search.add(enc, state, max_len, list(range(max_len.shape[0])))
    results: dict[int, list[Hypothesis]] = {}
    while len(search):
        results.update(search.step())
    return [results[i] for i in range(max_len.shape[0])]


class BeamSearch(Generic[Key]):
    """Batched beam search whose batch may change between steps; `Key` is the caller's name for a sentence.

    All beams of all live sentences are one tensor of n*K rows (the encoder
    outputs stay one row per sentence: the model's attention lets a
    sentence's K consecutive rows share it). `add` lets
    sentences join (a server admits new requests at every step: continuous
    batching); `step` advances every live sentence by one token and returns
    the sentences that finished, which leave the batch. A sentence is done
    once it has `beam_size` finished hypotheses or reached its length limit
    (where EOS is forced). Sentences joined at different steps coexist: each
    counts its own steps, token histories are left-padded with BOS, and
    encoder outputs are right-padded to the longest source (masked).
    """

    def __init__(
        self, model: Stepper, beam_size: int, n_best: int = 1, alpha: float = 1.0, attended: bool = False
    ) -> None:
        """`attended`: also keep, per piece of each hypothesis, the encoder position attended to most
        (`Hypothesis.attended`: what alignments are made of); off, a step does no work for it."""
        if not 1 <= n_best <= beam_size:
            raise ValueError(f"n_best must be in 1..beam_size, got {n_best} with beam {beam_size}")
        self.model, self.k, self.n_best, self.alpha, self.attended = model, beam_size, n_best, alpha, attended
        self.keys: list[Key] = []  # (n,) the caller's name for each live sentence
        self.finished: list[list[Hypothesis]] = []  # (n,) finished hypotheses so far
        self.enc: EncoderOutput | None = None  # (n, ...): one per sentence, its K beams share it
        self.state: LSTMState | None = None  # (L, n*K, H)
        self.beams: _Beams | None = None
        self.max_len = torch.empty(0, dtype=torch.long)  # (n,)

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, enc: EncoderOutput, state: LSTMState, max_len: Tensor, keys: Sequence[Key]) -> None:
        """Sentences join: encoder outputs (B, ...), initial states (L, B, H), limits (B,), keys."""
        batch, device = len(keys), enc.states.device
        state = state.index_select(torch.arange(batch, device=device).repeat_interleave(self.k))
        beams = _Beams.start(batch, self.k, device, self.beams.history.shape[1] if self.beams else 0, self.attended)
        if self.beams is not None and self.enc is not None and self.state is not None:
            enc, state = EncoderOutput.cat([self.enc, enc]), LSTMState.cat([self.state, state])
            beams, max_len = _Beams.cat(self.beams, beams), torch.cat([self.max_len, max_len.to(device)])
        self.enc, self.state, self.beams, self.max_len = enc, state, beams, max_len.to(device)
        self.keys += keys
        self.finished += [[] for _ in keys]

    def step(self) -> list[tuple[Key, list[Hypothesis]]]:
        """One token for every live sentence; returns (key, n-best) of those that finished."""
        assert self.beams is not None and self.enc is not None and self.state is not None, "step() with no sentences"
        beams, k = self.beams, self.k
        out = self.model.step(beams.prev_tokens(), self.state, self.enc)
        at_limit = beams.steps + 1 >= self.max_len
        width = out.log_probs.shape[-1]  # the vocabulary, or a shortlist
        broken = _broken(out.log_probs, k)
        lp = _force_eos(out.log_probs, at_limit.repeat_interleave(k), out.ids).view(-1, k, width)
        top_scores, top_index = (beams.scores.unsqueeze(-1) + lp).view(-1, k * width).topk(2 * k, dim=1)
        origin, token = top_index // width, _pieces(top_index % width, out.ids)  # (n, 2K)
        _finalize(self.finished, beams, out.state, top_scores, origin, token, self.alpha)
        attended = out.attention.argmax(-1) if self.attended else None  # (n*K,) this step's strongest position
        self.beams, rows = beams.advance(top_scores, origin, token, attended)
        self.state = out.state.index_select(rows)
        done = torch.tensor([len(f) >= k for f in self.finished], device=at_limit.device) | at_limit | broken
        for i in broken.nonzero().squeeze(1).tolist():
            self.finished[i] = []  # whatever it "finished" was ranked among NaN: none of it is a translation
        results = [
            (self.keys[i], sorted(self.finished[i], key=lambda h: -h.score)[: self.n_best])
            for i in done.nonzero().squeeze(1).tolist()
        ]
        if results:
            self._keep((~done).nonzero().squeeze(1))
        return results

    def drop(self, keys: Iterable[Key]) -> None:
        """Remove sentences without finishing them (their requests were cancelled)."""
        gone = {id(key) for key in keys}
        keep = [i for i, key in enumerate(self.keys) if id(key) not in gone]
        if len(keep) < len(self.keys):
            self._keep(torch.tensor(keep, dtype=torch.long, device=self.max_len.device))

    def _keep(self, keep: Tensor) -> None:
        assert self.beams is not None and self.enc is not None and self.state is not None
        index = keep.tolist()
        self.keys = [self.keys[i] for i in index]
        self.finished = [self.finished[i] for i in index]
        if not index:  # empty: forget the padding widths too
            self.enc = self.state = self.beams = None
            self.max_len = self.max_len[:0]
            return
        self.beams, rows = self.beams.select(keep)
        self.state, self.enc = self.state.index_select(rows), self.enc.index_select(keep).trim()
        self.max_len = self.max_len[keep]


@dataclass(frozen=True)
class _Beams:
    """Live beams: (n, K) scores, (n*K, T) token history, (n,) tokens generated per sentence.

    The history is as wide as the longest-running sentence; a sentence that
    joined later has BOS on its left, so `history[:, -1]` is always the
    previous token and a hypothesis is the last `steps` entries of its row.
    """

    scores: Tensor  # (n, K) raw log-probabilities
    history: Tensor  # (n*K, T)
    steps: Tensor  # (n,)
    attended: Tensor | None = None  # (n*K, T): per history piece, the encoder position attended to most

    @staticmethod
    def start(batch: int, k: int, device: torch.device, width: int = 0, attended: bool = False) -> _Beams:
        scores = torch.full((batch, k), float("-inf"), device=device)
        scores[:, 0] = 0.0  # all K beams start identical: keep one alive
        history = torch.full((batch * k, width), BOS_ID, dtype=torch.long, device=device)
        positions = torch.full((batch * k, width), -1, dtype=torch.long, device=device) if attended else None
        return _Beams(scores, history, torch.zeros(batch, dtype=torch.long, device=device), positions)

    @staticmethod
    def cat(a: _Beams, b: _Beams) -> _Beams:
        attended = torch.cat([a.attended, b.attended]) if a.attended is not None and b.attended is not None else None
        history = torch.cat([a.history, b.history])
        return _Beams(torch.cat([a.scores, b.scores]), history, torch.cat([a.steps, b.steps]), attended)

    def prev_tokens(self) -> Tensor:
        if self.history.shape[1] == 0:
            return torch.full((self.history.shape[0],), BOS_ID, dtype=torch.long, device=self.history.device)
        return self.history[:, -1]

    def tokens(self, row: int, group: int) -> list[int]:
        """The pieces generated so far on `row` (of sentence `group`)."""
        n = int(self.steps[group])
        return self.history[row, self.history.shape[1] - n :].tolist() if n else []

    def positions(self, row: int, group: int) -> list[int]:
        """Per piece of `tokens(row, group)`, the encoder position attended to most (empty if not kept)."""
        n = int(self.steps[group])
        return self.attended[row, self.attended.shape[1] - n :].tolist() if n and self.attended is not None else []

    def advance(
        self, top_scores: Tensor, origin: Tensor, token: Tensor, attended: Tensor | None = None
    ) -> tuple[_Beams, Tensor]:
        """Keep the best K non-EOS candidates of the 2K; returns new beams and source rows.

        `attended` (n*K,): the position each row's step attended to most, which the piece it chose inherits."""
        k = self.scores.shape[1]
        order = torch.sort(token.eq(EOS_ID).to(torch.int8), dim=1, stable=True).indices[:, :k]
        scores = top_scores.gather(1, order).masked_fill(token.gather(1, order).eq(EOS_ID), float("-inf"))
        rows = (
            torch.arange(scores.shape[0], device=scores.device).unsqueeze(1) * k + origin.gather(1, order)
        ).flatten()
        history = torch.cat([self.history.index_select(0, rows), token.gather(1, order).reshape(-1, 1)], dim=1)
        positions = None
        if self.attended is not None and attended is not None:
            positions = torch.cat([self.attended.index_select(0, rows), attended.index_select(0, rows).unsqueeze(1)], 1)
        return _Beams(scores, history, self.steps + 1, positions), rows

    def select(self, keep: Tensor) -> tuple[_Beams, Tensor]:
        """Only the sentences `keep`; also returns their rows in the (n*K) layout."""
        k = self.scores.shape[1]
        rows = (keep.unsqueeze(1) * k + torch.arange(k, device=keep.device)).flatten()
        steps = self.steps[keep]
        width = int(steps.max()) if len(steps) else 0  # columns older than every live sentence go
        history = _newest(self.history[rows], width)
        positions = _newest(self.attended[rows], width) if self.attended is not None else None
        return _Beams(self.scores[keep], history, steps, positions), rows


def _newest(columns: Tensor, width: int) -> Tensor:
    """The last `width` columns of (rows, T) `columns` (none for 0)."""
    return columns[:, columns.shape[1] - width :] if width else columns[:, :0]


def _finalize(
    finished: list[list[Hypothesis]],
    beams: _Beams,
    step_state: LSTMState,
    top_scores: Tensor,
    origin: Tensor,
    token: Tensor,
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
        finished[i].append(
            Hypothesis(
                beams.tokens(row, i),
                float(normalise(raw, int(beams.steps[i]) + 1, alpha)),
                raw,
                step_state.index_select(torch.tensor([row], device=top_scores.device)),
                beams.positions(row, i),
            )
        )


def _broken(log_probs: Tensor, k: int) -> Tensor:
    """(n,) True for sentences any of whose K beams scored NaN or +inf (-inf is a legal score)."""
    bad = log_probs.isnan() | log_probs.eq(float("inf"))
    return bad.view(-1, k * log_probs.shape[-1]).any(1)


def _force_eos(log_probs: Tensor, at_limit: Tensor, ids: Tensor | None) -> Tensor:
    """Rows at their length limit may only produce EOS (whose column `ids` locates)."""
    if not bool(at_limit.any()):
        return log_probs
    eos = EOS_ID if ids is None else torch.searchsorted(ids, EOS_ID)  # shortlists are sorted and keep EOS
    forced = torch.full_like(log_probs, float("-inf"))
    forced[:, eos] = log_probs[:, eos]
    return torch.where(at_limit.unsqueeze(1), forced, log_probs)


def _pieces(columns: Tensor, ids: Tensor | None) -> Tensor:
    """The pieces that columns of a step's scores stand for."""
    return columns if ids is None else ids[columns]
