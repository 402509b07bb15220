"""Beam and greedy search against exhaustive search over scripted probabilities.

The fake stepper is a Markov chain over a 6-token vocabulary whose
transition table depends on the sentence (so batching mistakes show) and
whose state counts steps (so the final state a hypothesis keeps can be
checked): everything can be enumerated by brute force.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor

from translator.output import StepOutput
from translator.search import BeamSearch, Hypothesis, Stepper, beam_search
from translator.state import EncoderOutput, LSTMState
from translator.tokenizer import BOS_ID, EOS_ID

A, B = 4, 5
VOCAB = 6


def table(sentence: int) -> Tensor:
    """log P(next | prev) for one sentence: rows prev in {BOS, A, B}; only A, B, EOS possible."""
    gen = torch.Generator().manual_seed(100 + sentence)
    t = torch.full((VOCAB, VOCAB), float("-inf"))
    for prev in (BOS_ID, A, B):
        probs = torch.rand(3, generator=gen) + 0.05
        t[prev, [A, B, EOS_ID]] = (probs / probs.sum()).log()
    return t


class ScriptedStepper:
    """state.h[0, b, 0] counts steps taken; state.h[0, b, 1] holds the sentence id."""

    def step(self, prev_tokens: Tensor, state: LSTMState, enc: EncoderOutput) -> StepOutput:
        sentences = state.h[0, :, 1].long().tolist()
        log_probs = torch.stack([table(s)[int(p)] for s, p in zip(sentences, prev_tokens.tolist(), strict=True)])
        h = state.h.clone()
        h[0, :, 0] += 1
        return StepOutput(log_probs, LSTMState(h, state.c), torch.zeros(len(sentences), 1))


class ShortlistedStepper(ScriptedStepper):
    """The same chain, scored over its only possible pieces, one column each (as a shortlist is)."""

    ids = torch.tensor([EOS_ID, A, B])

    def step(self, prev_tokens: Tensor, state: LSTMState, enc: EncoderOutput) -> StepOutput:
        out = super().step(prev_tokens, state, enc)
        return out._replace(log_probs=out.log_probs[:, self.ids], ids=self.ids)


def start(batch: int) -> tuple[EncoderOutput, LSTMState]:
    h = torch.zeros(1, batch, 2)
    h[0, :, 1] = torch.arange(batch, dtype=torch.float)
    enc = EncoderOutput(
        torch.zeros(batch, 1, 1),
        torch.zeros(batch, 1, 1),
        torch.ones(batch, 1, dtype=torch.bool),
        torch.zeros(batch, 1),
    )
    return enc, LSTMState(h, torch.zeros(1, batch, 2))


def greedy(
    model: Stepper, enc: EncoderOutput, state: LSTMState, max_len: Tensor, alpha: float = 0.0
) -> list[Hypothesis]:
    """Greedy search: a beam of one."""
    return [hyps[0] for hyps in beam_search(model, enc, state, max_len, beam_size=1, alpha=alpha)]


def brute_force(sentence: int, max_len: int, alpha: float) -> list[tuple[float, list[int]]]:
    """Every complete hypothesis (at most max_len - 1 tokens, then EOS), best first."""
    t = table(sentence)
    out = []
    for n in range(max_len):
        for seq in itertools.product((A, B), repeat=n):
            path = [BOS_ID, *seq, EOS_ID]
            raw = sum(float(t[a, b]) for a, b in itertools.pairwise(path))
            out.append((raw / (n + 1) ** alpha if alpha else raw, list(seq)))
    return sorted(out, key=lambda x: -x[0])


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_finds_the_exhaustive_best_for_each_sentence(alpha: float) -> None:
    max_len = torch.tensor([4, 2, 3, 4])
    enc, state = start(4)
    results = beam_search(ScriptedStepper(), enc, state, max_len, beam_size=8, n_best=3, alpha=alpha)
    for sentence, hyps in enumerate(results):
        expected = brute_force(sentence, int(max_len[sentence]), alpha)
        assert hyps[0].tokens == expected[0][1]
        assert hyps[0].score == pytest.approx(expected[0][0], abs=1e-5)
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == len(hyps)


def test_hypothesis_keeps_the_state_that_produced_its_eos() -> None:
    enc, state = start(3)
    for hyps in beam_search(ScriptedStepper(), enc, state, torch.tensor([4, 4, 4]), beam_size=4, n_best=4):
        for h in hyps:
            assert h.state.h.shape == (1, 1, 2)
            assert float(h.state.h[0, 0, 0]) == len(h.tokens) + 1  # one step per token plus EOS
    for sentence, h in enumerate(greedy(ScriptedStepper(), enc, state, torch.tensor([4, 4, 4]))):
        assert float(h.state.h[0, 0, 0]) == len(h.tokens) + 1
        assert float(h.state.h[0, 0, 1]) == sentence


def test_beam_of_one_takes_the_argmax_path() -> None:
    max_len = torch.tensor([5, 3, 4])
    enc, state = start(3)
    for sentence, g in enumerate(greedy(ScriptedStepper(), enc, state, max_len)):
        t, prev, path, log_prob = table(sentence), BOS_ID, [], 0.0
        for _ in range(int(max_len[sentence])):
            pick = int(t[prev].argmax()) if len(path) + 1 < int(max_len[sentence]) else EOS_ID  # EOS at the limit
            log_prob += float(t[prev, pick])
            if pick == EOS_ID:
                break
            path.append(pick)
            prev = pick
        assert g.tokens == path
        assert g.log_prob == pytest.approx(log_prob, abs=1e-5)


def test_length_limit_forces_eos() -> None:
    enc, state = start(2)
    for hyps in beam_search(ScriptedStepper(), enc, state, torch.tensor([1, 2]), beam_size=3, n_best=1):
        assert hyps
    hyps = beam_search(ScriptedStepper(), enc, state, torch.tensor([1, 2]), beam_size=3)
    assert hyps[0][0].tokens == []
    assert len(hyps[1][0].tokens) <= 1
    assert all(len(h.tokens) == 0 for h in greedy(ScriptedStepper(), enc, state, torch.tensor([1, 1])))


def test_n_best_must_fit_in_the_beam() -> None:
    enc, state = start(1)
    with pytest.raises(ValueError, match="n_best"):
        beam_search(ScriptedStepper(), enc, state, torch.tensor([3]), beam_size=2, n_best=3)


def test_brute_force_sanity() -> None:
    assert sum(math.exp(s) for s, _ in brute_force(0, 1, 0.0)) == pytest.approx(float(table(0)[BOS_ID, EOS_ID].exp()))


def test_sentences_joining_a_running_search_get_the_same_results() -> None:
    """Continuous batching: sentences added between steps, or dropped, change nobody else's result."""
    max_len = torch.tensor([4, 2, 3, 4, 3])
    enc, state = start(5)
    alone = beam_search(ScriptedStepper(), enc, state, max_len, beam_size=3, n_best=2)
    search = BeamSearch(ScriptedStepper(), beam_size=3, n_best=2)
    rows = [torch.tensor([i]) for i in range(5)]
    keys = [f"s{i}" for i in range(5)]
    results: dict[object, list[Hypothesis]] = {}

    def add(i: int) -> None:
        search.add(enc.index_select(rows[i]), state.index_select(rows[i]), max_len[i : i + 1], [keys[i]])

    add(0)
    add(1)
    results.update(search.step())
    add(2)  # joins at step 1, with a history of BOS padding
    results.update(search.step())
    add(3)
    add(4)
    search.drop([keys[4]])  # cancelled before it ran
    while len(search):
        results.update(search.step())
    assert set(results) == {"s0", "s1", "s2", "s3"}
    for i in range(4):
        got, want = results[keys[i]], alone[i]
        assert [h.tokens for h in got] == [h.tokens for h in want]
        assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-6)
        assert [float(h.state.h[0, 0, 0]) for h in got] == [float(h.state.h[0, 0, 0]) for h in want]


def test_greedy_scores_are_length_normalised() -> None:
    enc, state = start(3)
    for g in greedy(ScriptedStepper(), enc, state, torch.tensor([5, 3, 4]), alpha=1.0):
        assert g.score == pytest.approx(g.log_prob / (len(g.tokens) + 1), abs=1e-6)


@pytest.mark.parametrize("beam", [1, 3])
def test_searches_over_shortlist_columns_find_what_full_rows_give(beam: int) -> None:
    max_len = torch.tensor([4, 1, 3, 5])  # 1: EOS forced at once, through its column
    enc, state = start(4)
    full = beam_search(ScriptedStepper(), enc, state, max_len, beam_size=beam, n_best=beam)
    short = beam_search(ShortlistedStepper(), enc, state, max_len, beam_size=beam, n_best=beam)
    assert [[h.tokens for h in hs] for hs in short] == [[h.tokens for h in hs] for hs in full]
    assert [h.score for hs in short for h in hs] == pytest.approx([h.score for hs in full for h in hs], abs=1e-6)
    assert any(h.tokens for hs in short for h in hs)  # pieces, not column numbers, come out


class PoisonedStepper(ScriptedStepper):
    """The chain, except that sentence 1's scores turn NaN at its second step (a broken state)."""

    def step(self, prev_tokens: Tensor, state: LSTMState, enc: EncoderOutput) -> StepOutput:
        out = super().step(prev_tokens, state, enc)
        poisoned = (state.h[0, :, 1] == 1) & (state.h[0, :, 0] >= 1)
        return out._replace(log_probs=torch.where(poisoned.unsqueeze(1), float("nan"), out.log_probs))


@pytest.mark.parametrize("beam", [1, 3])
def test_a_sentence_whose_scores_go_nan_leaves_at_once_with_no_hypothesis(beam: int) -> None:
    enc, state = start(3)
    search = BeamSearch(PoisonedStepper(), beam, 1, 0.0)
    search.add(enc, state, torch.tensor([30, 30, 30]), [0, 1, 2])
    first = search.step()
    second = dict(search.step())
    assert 1 not in dict(first) and second[1] == []  # left at the step its scores went NaN, not at its limit
    results = dict(first) | second
    while len(search):
        results.update(search.step())
    clean = beam_search(ScriptedStepper(), enc, state, torch.tensor([30, 30, 30]), beam, 1, 0.0)
    for sentence in (0, 2):  # its neighbours in the batch are untouched
        assert results[sentence][0].tokens == clean[sentence][0].tokens


class AttendingStepper(ScriptedStepper):
    """The same chain; its attention peaks at position (previous token + steps taken) % 5 of five."""

    def step(self, prev_tokens: Tensor, state: LSTMState, enc: EncoderOutput) -> StepOutput:
        out = super().step(prev_tokens, state, enc)
        peak = (prev_tokens + state.h[0, :, 0].long()) % 5
        return out._replace(attention=torch.nn.functional.one_hot(peak, 5).float() * 0.6 + 0.08)


def test_attended_positions_follow_each_hypothesis_through_the_beam() -> None:
    """With `attended`, each piece of a hypothesis keeps the position its own step attended to most, however
    the beams were reordered, joined or dropped; without it, nothing is kept."""
    enc, state = start(3)
    max_len = torch.tensor([4, 3, 4])
    search: BeamSearch[int] = BeamSearch(AttendingStepper(), 3, n_best=3, attended=True)
    search.add(enc.index_select(torch.tensor([0, 1])), state.index_select(torch.tensor([0, 1])), max_len[:2], [0, 1])
    results = dict(search.step())
    search.add(enc.index_select(torch.tensor([2])), state.index_select(torch.tensor([2])), max_len[2:], [2])
    while len(search):
        results.update(search.step())
    for hyps in results.values():
        for h in hyps:
            previous = [BOS_ID, *h.tokens][: len(h.tokens)]  # what each piece's step was fed
            assert h.attended == [(p + i) % 5 for i, p in enumerate(previous)]
    plain = beam_search(AttendingStepper(), enc, state, max_len, beam_size=3)
    assert all(h.attended == [] for hyps in plain for h in hyps)
