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

Documents come from a feed, asked whenever a lane is free: `LongestFirst`
for a whole job known in advance (`Translator.translate_documents`), or
`InOrder` for an input read as it comes (`nmt translate`), which gives the
translations back in input order with at most a window of sentences read
ahead, so memory does not grow with the input.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import torch

from translator.batch import pad_batch, source_ids
from translator.config import DecodeConfig
from translator.search import BeamSearch
from translator.shortlist import ShortlistStepper
from translator.state import DocContext, EncoderCarry, EncoderOutput

if TYPE_CHECKING:
    from translator.inference import Translation, Translator

LOOKAHEAD = 4  # sentences per document encoded before they are needed
WINDOW = 10_000  # sentences `translate_in_order` reads ahead of what it has given back


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


class Feed(Protocol):
    """Where a walk takes its next document from when a lane is free."""

    def take(self) -> tuple[int, list[list[int]]] | None:
        """(key, sentences' token ids) of the next document, or None: none for now."""


class LongestFirst:
    """A whole job known in advance: longest documents first (the longest is the job's critical path).

    Ties go by longest first sentence: sentence-level jobs then keep sources
    of similar lengths together. Keys are indices into `docs`.
    """

    def __init__(self, docs: Sequence[list[list[int]]]) -> None:
        self.docs = docs
        order = sorted(range(len(docs)), key=lambda d: (-len(docs[d]), -len(docs[d][0]) if docs[d] else 0))
        self.waiting = collections.deque(order)

    def take(self) -> tuple[int, list[list[int]]] | None:
        if not self.waiting:
            return None
        doc = self.waiting.popleft()
        return doc, self.docs[doc]


class DocumentWalk:
    """Documents (token ids) from a `Feed` through one search; `run` yields each as it finishes."""

    def __init__(self, translator: Translator, feed: Feed, decode: DecodeConfig) -> None:
        self.translator, self.model, self.decode = translator, translator.model, decode
        self.feed = feed
        self.lanes: list[_Lane] = []
        self.stepper = translator.stepper(decode, [])
        self.search = BeamSearch(self.stepper, decode.beam_size, decode.n_best, decode.length_penalty)

    def run(self) -> Iterator[tuple[int, list[Translation]]]:
        """(key, translations) of every document the feed gives, in the order they finish.

        The feed is asked for documents whenever a lane is free, so a feed
        that reads its input lazily is read only as fast as lanes free up.
        """
        joining: list[_Lane] = []
        while True:
            opened, empty = self._open_lanes()
            joining += opened
            for key in empty:  # nothing to translate; what it frees may let the feed give more
                yield key, []
            if empty:
                continue
            if not joining and not len(self.search):
                return
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
                self.lanes.remove(lane)
                yield lane.doc, lane.results

    def _open_lanes(self) -> tuple[list[_Lane], list[int]]:
        """Start documents from the feed in the free lanes; also the keys of empty documents taken."""
        opened, empty = [], []
        while len(self.lanes) < self.decode.batch_size and (item := self.feed.take()) is not None:
            key, pieces = item
            if not pieces:
                empty.append(key)
                continue
            start = self.model.empty_context(1, self.translator.device)
            lane = _Lane(key, pieces, start.encoder_carry if start is not None else None)
            self.lanes.append(lane)
            opened.append(lane)
        return opened, empty

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


@torch.inference_mode()
def translate_all(
    translator: Translator, docs: Sequence[list[list[int]]], decode: DecodeConfig
) -> list[list[Translation]]:
    """Translations of a whole job, longest documents first through the lanes."""
    results: list[list[Translation]] = [[] for _ in docs]
    for doc, translations in DocumentWalk(translator, LongestFirst(docs), decode).run():
        results[doc] = translations
    return results


@dataclass(eq=False)
class _Pending:
    """An input document read by `InOrder` and not yet given back: one part per document it walks as."""

    parts: list[list[Translation] | None]
    size: int  # its share of the window

    @property
    def complete(self) -> bool:
        return all(part is not None for part in self.parts)


class InOrder:
    """A feed that reads documents from an iterator as lanes free up; results go back in input order.

    At most `window` sentences are read and not yet given back (an empty
    document counts as one; one longer than the window is still read, alone):
    documents that finish early wait for earlier ones still in their lanes,
    and reading waits for them. That bounds memory whatever the input's length.
    `split`: every sentence walks as its own document (sentence-level
    translation), regrouped into its input document on the way out.
    """

    def __init__(self, docs: Iterable[list[list[int]]], window: int, split: bool = False) -> None:
        self.source, self.window, self.split = iter(docs), window, split
        self.pending: collections.deque[_Pending] = collections.deque()  # read, not given back; input order
        self.ready: collections.deque[tuple[int, list[list[int]]]] = collections.deque()  # read, not taken
        self.owner: dict[int, tuple[_Pending, int]] = {}  # key -> (its input document, its part there)
        self.keys = itertools.count()
        self.in_flight = 0

    def take(self) -> tuple[int, list[list[int]]] | None:
        if not self.ready and not self._read():
            return None
        return self.ready.popleft()

    def _read(self) -> bool:
        """Read the next input document if the window has room (always when nothing is in flight)."""
        if self.pending and self.in_flight >= self.window:
            return False
        doc = next(self.source, None)
        if doc is None:
            return False
        units = [[sentence] for sentence in doc] if self.split and doc else [doc]
        pending = _Pending([None] * len(units), max(1, len(doc)))
        self.pending.append(pending)
        self.in_flight += pending.size
        for part, unit in enumerate(units):
            key = next(self.keys)
            self.owner[key] = (pending, part)
            self.ready.append((key, unit))
        return True

    def put(self, key: int, translations: list[Translation]) -> list[list[Translation]]:
        """Record a walked document; returns the input documents now complete, in input order."""
        pending, part = self.owner.pop(key)
        pending.parts[part] = translations
        out = []
        while self.pending and self.pending[0].complete:
            done = self.pending.popleft()
            self.in_flight -= done.size
            out.append([t for part in done.parts if part is not None for t in part])
        return out


@torch.inference_mode()
def translate_in_order(
    translator: Translator,
    docs: Iterable[list[list[int]]],
    decode: DecodeConfig,
    window: int = WINDOW,
    split: bool = False,
) -> Iterator[list[Translation]]:
    """Each document's translations in input order, reading `docs` only as lanes free up (see `InOrder`)."""
    feed = InOrder(docs, window, split)
    for key, translations in DocumentWalk(translator, feed, decode).run():
        yield from feed.put(key, translations)
