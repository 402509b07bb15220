"""Translate whole documents with continuous batching across their sentences.

A document's sentences must be decoded in order: each starts from the
decoder state its predecessor ended in. Decoding documents in lock-step
rounds (sentence i of every document, then sentence i + 1) makes every
round wait for its longest sentence, while a job needs no more steps than
its longest document does (tests/translator/test_inference.py checks that it
takes exactly that many). So one beam search runs for the whole job, and a
document's next sentence joins it the step its previous sentence finishes.

`DocumentSearch` is that core: documents join with their next sentence,
each from the context its previous one left, and leave it with a
translation. Two schedulers drive it: `DocumentWalk` here (offline jobs:
a finished sentence's document rejoins at the next step, and when a
document ends a waiting one takes its lane), and the server's batcher
(`server.batcher`, which adds the request queue, its admission policy,
deadlines, cancellation and failure isolation).

The encoder needs only source text (its carry is the forward LSTM's state
and the memory of earlier source tokens, never what the decoder produced),
so `DocumentWalk` encodes sentences ahead, batched across documents, at most
`LOOKAHEAD` per document: a sentence joining the search then costs only its
decoder's initial state, not an encoder call of its own (whose fixed cost
would be paid once per sentence instead of once per batch).

Documents come from a feed, asked whenever a lane is free: `LongestFirst`
for a whole job known in advance (`Translator.translate_documents`), or
`InOrder` for an input read as it comes (`nmt translate`), which gives the
translations back in input order with at most a window of sentences read
ahead, so memory does not grow with the input.

Teacher forcing has no search, so it walks documents in rounds (`rounds`).
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import torch
from torch import Tensor

from translator.config import DecodeConfig
from translator.decoding import Decoding, Translation
from translator.search import BeamSearch, Hypothesis
from translator.shortlist import ShortlistStepper
from translator.state import DocState, EncoderCarry, EncoderOutput

Progress = Callable[[int], None]  # told the number of sentences just done (a progress bar's `update`)
LOOKAHEAD = 4  # sentences per document encoded before they are needed
WINDOW = 10_000  # sentences `translate_in_order` reads ahead of what it has given back

T = TypeVar("T")
R = TypeVar("R")


class Document(Protocol):
    """A document in progress, as `DocumentSearch` sees it (a walk's lane, a server's request)."""

    pieces: list[list[int]]  # its sentences' token ids
    results: list[Translation]  # its sentences translated so far
    doc_state: DocState | None  # what its last translated sentence left (None: the document's start)


D = TypeVar("D", bound=Document)


@dataclass(eq=False)
class Live(Generic[D]):
    """A document's sentence in the search (the search's key for it)."""

    doc: D
    carry: EncoderCarry  # what the encoder left after this sentence: part of the context it hands on


class DocumentSearch(Generic[D]):
    """One running search that documents join with their next sentence, each from its own context.

    The caller decides when a document joins (`join`, or `join_encoded` for
    sentences encoded ahead); `step` advances every live sentence by one
    token and returns those that ended, and `finish` records one's
    translation and the context it leaves: a caller that isolates failures
    (the server) does so per document.
    """

    def __init__(self, decoding: Decoding, decode: DecodeConfig) -> None:
        self.decoding, self.decode = decoding, decode
        stepper = decoding.stepper(decode)
        self.shortlist = stepper if isinstance(stepper, ShortlistStepper) else None
        self.search: BeamSearch[Live[D]] = BeamSearch(
            stepper, decode.beam_size, decode.n_best, decode.length_penalty, decode.alignment
        )

    def __len__(self) -> int:
        return len(self.search)

    @property
    def docs(self) -> list[D]:
        """The documents with a sentence in the search."""
        return [live.doc for live in self.search.keys]

    def join(self, docs: list[D], max_lengths: Sequence[int] | None = None) -> None:
        """Each document's next sentence, encoded now from its context, enters the search.

        `max_lengths` caps each one's output at that many pieces plus EOS (0: the length rule alone).
        """
        doc_state = self.decoding.doc_states([doc.doc_state for doc in docs])
        carry = doc_state.encoder_carry if doc_state is not None else None
        encoded = self.decoding.encode([next_sentence(doc) for doc in docs], carry, self.decode, max_lengths)
        rows = torch.arange(len(docs), device=encoded.max_len.device).unsqueeze(1)
        carries = [encoded.encoder_final.index_select(row) for row in rows]
        self._add(docs, encoded.enc, carries, encoded.max_len, doc_state)

    def join_encoded(self, docs: list[D], enc: EncoderOutput, carries: list[EncoderCarry], max_len: Tensor) -> None:
        """Each document's next sentence, already encoded (`enc`, `carries`, `max_len`), enters the search."""
        self._add(docs, enc, carries, max_len, self.decoding.doc_states([doc.doc_state for doc in docs]))

    def _add(
        self,
        docs: list[D],
        enc: EncoderOutput,
        carries: list[EncoderCarry],
        max_len: Tensor,
        doc_state: DocState | None,
    ) -> None:
        enc, state = self.decoding.model.init_state(enc, doc_state)
        if self.shortlist is not None:  # score what the newcomers and the live sentences may produce
            joining = [next_sentence(doc) for doc in docs]
            self.shortlist.cover(joining, [next_sentence(doc) for doc in self.docs] + joining)
        self.search.add(enc, state, max_len, [Live(doc, carry) for doc, carry in zip(docs, carries, strict=True)])

    def step(self) -> list[tuple[Live[D], list[Hypothesis]]]:
        """One token for every live sentence; the sentences that ended (they have left the search)."""
        return self.search.step()

    def finish(self, live: Live[D], hyps: list[Hypothesis]) -> bool:
        """Record an ended sentence's translation and the context it leaves; True if its document has more.

        Raises `NoHypothesisError` if its search found nothing (NaN scores).
        """
        doc = live.doc
        [translation], doc.doc_state = self.decoding.finish([hyps], live.carry, [next_sentence(doc)])
        doc.results.append(translation)
        return len(doc.results) < len(doc.pieces)

    def drop(self, docs: Iterable[D]) -> None:
        """Remove documents' sentences without finishing them (their requests were cancelled)."""
        gone = {id(doc) for doc in docs}
        self.search.drop([live for live in self.search.keys if id(live.doc) in gone])


def next_sentence(doc: Document) -> list[int]:
    """The pieces of the sentence a document translates next (or now, while it is in the search)."""
    return doc.pieces[len(doc.results)]


@dataclass
class _Encoded:
    """One encoded sentence waiting for its turn."""

    enc: EncoderOutput  # one row, as wide as its own source
    carry: EncoderCarry  # what the encoder left after it (part of the context it hands on)
    max_len: int  # pieces including EOS


@dataclass(eq=False)
class _Lane:
    """A document in progress in a walk."""

    doc: int
    pieces: list[list[int]]
    encoder_carry: EncoderCarry | None  # what encoding its next sentence continues from
    doc_state: DocState | None = None  # what its last translated sentence left (None: the start)
    encoded: collections.deque[_Encoded] = field(default_factory=collections.deque)
    n_encoded: int = 0  # sentences encoded so far: translated, in the search, or waiting
    results: list[Translation] = field(default_factory=list)

    @property
    def wants_encoding(self) -> bool:
        return self.n_encoded < len(self.pieces) and len(self.encoded) < LOOKAHEAD


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
    """Documents (token ids) from a `Feed` through one `DocumentSearch`; `run` yields each as it finishes."""

    def __init__(self, decoding: Decoding, feed: Feed, decode: DecodeConfig) -> None:
        self.decoding, self.decode, self.feed = decoding, decode, feed
        self.lanes: list[_Lane] = []
        self.search: DocumentSearch[_Lane] = DocumentSearch(decoding, decode)

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
            for live, hyps in self.search.step():
                lane = live.doc
                if self.search.finish(live, hyps):
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
            start = self.decoding.empty_doc_state(1)
            lane = _Lane(key, pieces, start.encoder_carry if start is not None else None)
            self.lanes.append(lane)
            opened.append(lane)
        return opened, empty

    def _join(self, lanes: list[_Lane]) -> None:
        """Each lane's next sentence, encoded ahead, enters the search."""
        if any(not lane.encoded for lane in lanes):
            self._encode_ahead()
        sentences = [lane.encoded.popleft() for lane in lanes]
        enc = EncoderOutput.cat([s.enc for s in sentences])
        max_len = torch.tensor([s.max_len for s in sentences], device=enc.states.device)
        self.search.join_encoded(lanes, enc, [s.carry for s in sentences], max_len)

    def _encode_ahead(self) -> None:
        """Encode the next sentence of every lane that has room for one: one batch across documents."""
        lanes = [lane for lane in self.lanes if lane.wants_encoding]
        carries = [lane.encoder_carry for lane in lanes if lane.encoder_carry is not None]
        carry = EncoderCarry.cat(carries) if len(carries) == len(lanes) else None  # None: sentence-level model
        encoded = self.decoding.encode([lane.pieces[lane.n_encoded] for lane in lanes], carry, self.decode)
        max_len, device = encoded.max_len.tolist(), encoded.max_len.device
        for i, lane in enumerate(lanes):
            row = torch.tensor([i], device=device)
            lane.encoder_carry = encoded.encoder_final.index_select(row)
            lane.encoded.append(_Encoded(encoded.enc.index_select(row).trim(), lane.encoder_carry, max_len[i]))
            lane.n_encoded += 1


@torch.inference_mode()
def translate_all(
    decoding: Decoding, docs: Sequence[list[list[int]]], decode: DecodeConfig, progress: Progress | None = None
) -> list[list[Translation]]:
    """Translations of a whole job, longest documents first through the lanes."""
    results: list[list[Translation]] = [[] for _ in docs]
    for doc, translations in DocumentWalk(decoding, LongestFirst(docs), decode).run():
        results[doc] = translations
        if progress is not None:
            progress(len(translations))
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
    decoding: Decoding,
    docs: Iterable[list[list[int]]],
    decode: DecodeConfig,
    window: int = WINDOW,
    split: bool = False,
) -> Iterator[list[Translation]]:
    """Each document's translations in input order, reading `docs` only as lanes free up (see `InOrder`)."""
    feed = InOrder(docs, window, split)
    for key, translations in DocumentWalk(decoding, feed, decode).run():
        yield from feed.put(key, translations)


def rounds(
    docs: Sequence[Sequence[T]],
    batch_size: int,
    run: Callable[[list[T], DocState | None], tuple[list[R], DocState | None]],
    progress: Progress | None = None,
) -> list[list[R]]:
    """`run` over documents in lock-step rounds: item i of up to `batch_size` documents as one batch.

    Teacher forcing's walk (`Translator.force_documents`, CXMI). It is not a
    `DocumentSearch`: a forced sentence is one decoder call over its whole
    reference, not a search of steps that a next sentence could join, so
    rounds cost nothing that joining would save, and they keep the batches
    identical from one pass to the next (CXMI compares passes batch by batch).
    `run` gets a round's items and the document state the previous round
    left for them (None at the start), and returns one result per item and
    the document state they leave.
    """
    # Longest documents first, so the lanes still active at step i are a prefix;
    # ties by first-item length, so sentence-level batches hold similar lengths.
    order = sorted(range(len(docs)), key=lambda d: (-len(docs[d]), len(str(docs[d][0])) if docs[d] else 0))
    results: list[list[R]] = [[] for _ in docs]
    for start in range(0, len(order), batch_size):
        group = [i for i in order[start : start + batch_size] if docs[i]]
        doc_state: DocState | None = None
        for pos in range(len(docs[group[0]]) if group else 0):
            active = [i for i in group if len(docs[i]) > pos]
            if doc_state is not None:
                doc_state = doc_state.index_select(torch.arange(len(active), device=doc_state.encoder.h.device))
            out, doc_state = run([docs[i][pos] for i in active], doc_state)
            for i, result in zip(active, out, strict=True):
                results[i].append(result)
            if progress is not None:
                progress(len(active))
    return results
