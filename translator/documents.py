"""Translate whole documents with continuous batching across their sentences.

A document's sentences must be decoded in order: each starts from the
decoder state its predecessor ended in. Decoding documents in lock-step
rounds (sentence i of every document, then sentence i + 1) makes every
round wait for its longest sentence, while a job needs no more steps than
its longest document does (tests/translator/test_inference.py checks that it
takes exactly that many). So, as the server's batcher does for requests, one beam
search runs for the whole job, and a document's next sentence joins it the
step its previous sentence finishes; when a document ends, a waiting one
takes its lane.

The encoder needs only source text (its carry is the forward LSTM's state
and the memory of earlier source tokens, never what the decoder produced),
so sentences are encoded ahead, batched across documents, at most
`LOOKAHEAD` per document: a sentence joining the search then costs only its
decoder's initial state, not an encoder call of its own (whose fixed cost
would be paid once per sentence instead of once per batch).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from translator.batch import pad_batch, source_ids
from translator.config import DecodeConfig
from translator.search import BeamSearch
from translator.shortlist import ShortlistStepper
from translator.state import DocContext, EncoderCarry, EncoderOutput

if TYPE_CHECKING:
    from translator.inference import Translation, Translator

LOOKAHEAD = 4  # sentences per document encoded before they are needed


@dataclass
class _Encoded:
    """One encoded sentence waiting for its turn."""

    enc: EncoderOutput  # one row, as wide as its own source
    carry: EncoderCarry  # what the encoder left after it (part of the context it hands on)
    max_len: int  # pieces including EOS


@dataclass(eq=False)
class _Lane:
    """A document in progress; also the search's key for its live sentence."""

    doc: int
    pieces: list[list[int]]
    encoder_carry: EncoderCarry | None  # what encoding its next sentence continues from
    context: DocContext | None = None  # what its last translated sentence left (None: the start)
    encoded: collections.deque[_Encoded] = field(default_factory=collections.deque)
    live: _Encoded | None = None  # the sentence in the search
    results: list[Translation] = field(default_factory=list)

    @property
    def n_encoded(self) -> int:
        """Sentences encoded so far: translated, in the search, or waiting."""
        return len(self.results) + (self.live is not None) + len(self.encoded)

    @property
    def wants_encoding(self) -> bool:
        return self.n_encoded < len(self.pieces) and len(self.encoded) < LOOKAHEAD

    @property
    def done(self) -> bool:
        return len(self.results) == len(self.pieces)


class DocumentWalk:
    """One job of documents (token ids) through one search; `run` returns their translations."""

    def __init__(self, translator: Translator, docs: Sequence[list[list[int]]], decode: DecodeConfig) -> None:
        self.translator, self.model, self.decode = translator, translator.model, decode
        self.docs = docs
        # Longest documents first (the longest is the job's critical path), then longest first sentences:
        # sentence-level jobs then keep sources of similar lengths together.
        order = sorted(range(len(docs)), key=lambda d: (-len(docs[d]), -len(docs[d][0]) if docs[d] else 0))
        self.waiting = collections.deque(order)
        self.lanes: list[_Lane] = []
        self.stepper = translator.stepper(decode, [])
        self.search = BeamSearch(self.stepper, decode.beam_size, decode.n_best, decode.length_penalty)

    def run(self) -> list[list[Translation]]:
        results: list[list[Translation]] = [[] for _ in self.docs]
        joining = self._open_lanes()
        while joining or len(self.search):
            if joining:
                self._join(joining)
            joining = []
            for lane, hyps in self.search.step():
                assert isinstance(lane, _Lane) and lane.live is not None
                [translation], lane.context = self.translator.finish([hyps], lane.live.carry)
                lane.results.append(translation)
                lane.live = None
                if not lane.done:
                    joining.append(lane)
                    continue
                results[lane.doc] = lane.results
                self.lanes.remove(lane)
                joining += self._open_lanes()
        return results

    def _open_lanes(self) -> list[_Lane]:
        """Start waiting documents in the free lanes (empty documents finish at once)."""
        opened = []
        while self.waiting and len(self.lanes) < self.decode.batch_size:
            doc = self.waiting.popleft()
            if not self.docs[doc]:
                continue
            start = self.model.empty_context(1, self.translator.device)
            lane = _Lane(doc, self.docs[doc], start.encoder_carry if start is not None else None)
            self.lanes.append(lane)
            opened.append(lane)
        return opened

    def _join(self, lanes: list[_Lane]) -> None:
        """Each lane's next sentence enters the search, from the context its previous one left."""
        if any(not lane.encoded for lane in lanes):
            self._encode_ahead()
        live = [lane.encoded.popleft() for lane in lanes]
        for lane, sentence in zip(lanes, live, strict=True):
            lane.live = sentence
        enc = EncoderOutput.cat([e.enc for e in live])
        context = None
        if self.model.uses_context:
            contexts = [lane.context or self.model.empty_context(1, self.translator.device) for lane in lanes]
            context = DocContext.cat(contexts)  # type: ignore[arg-type]
        max_len = torch.tensor([e.max_len for e in live], device=enc.states.device)
        if isinstance(self.stepper, ShortlistStepper):  # score what the newcomers and the live sentences may produce
            in_search = [lane.pieces[len(lane.results)] for lane in self.lanes if lane.live is not None]
            self.stepper.cover([lane.pieces[len(lane.results)] for lane in lanes], in_search)
        self.search.add(enc, self.model.init_state(enc, context), max_len, list(lanes))

    def _encode_ahead(self) -> None:
        """Encode the next sentence of every lane that has room for one: one batch across documents."""
        lanes = [lane for lane in self.lanes if lane.wants_encoding]
        device = self.translator.device
        src, lengths = pad_batch([source_ids(lane.pieces[lane.n_encoded]) for lane in lanes], device)
        carries = [lane.encoder_carry for lane in lanes]
        carry = EncoderCarry.cat(carries) if all(c is not None for c in carries) else None  # type: ignore[arg-type]
        enc, final = self.model.encode(src, lengths, carry)
        max_len = self.translator.length_limits(lengths, self.decode).tolist()
        for i, lane in enumerate(lanes):
            row = torch.tensor([i], device=device)
            lane.encoder_carry = final.index_select(row)
            lane.encoded.append(_Encoded(enc.index_select(row).trim(), lane.encoder_carry, max_len[i]))
