"""Decoding with one loaded model: start a search, choose what it steps, turn hypotheses into translations.

This sits below both `Translator` (text in, text out) and the document
scheduler (`translator.documents`, which the server's batcher drives too):
they are handed a `Decoding` and nothing here calls back up into them, so
one sentence goes Translator -> scheduler -> Decoding -> BeamSearch and
back. It works on token ids; tokenizing is the caller's (a server tokenizes
in its request threads, off the model's worker thread).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from translator.batch import pad_batch, source_ids
from translator.config import DecodeConfig
from translator.model import MEMORY_MODES, Seq2Seq
from translator.search import Hypothesis, NoHypothesisError, Stepper, beam_search
from translator.shortlist import Shortlist, ShortlistStepper
from translator.state import DocState, EncoderCarry, EncoderOutput, LSTMState
from translator.tokenizer import Tokenizer


@dataclass
class Translation:
    """One sentence's output; `alternatives` holds the rest of the n-best list."""

    text: str
    score: float
    alternatives: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    # With decode.alignment: (source word, target word) pairs, 0-based (Pharaoh's i-j), each target word
    # with the source word its pieces attended to most (the source's EOS and earlier sentences: no pair).
    alignment: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    # With decode.alignment: the alignment of each of `alternatives`, in their order.
    alternative_alignments: list[list[tuple[int, int]]] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class Encoded:
    """An encoded batch: `encoder_final` is what its next sentences continue from."""

    enc: EncoderOutput
    encoder_final: EncoderCarry
    max_len: Tensor  # (B,) pieces including EOS


@dataclass(frozen=True)
class SearchStart(Encoded):
    """An encoded batch with its decoder's initial state: all a search needs before its first step."""

    state: LSTMState


class Decoding:
    """A model plus what decoding needs besides it: the tokenizer (to write hypotheses out) and the shortlist."""

    def __init__(self, model: Seq2Seq, tokenizer: Tokenizer, shortlist: Shortlist | None = None) -> None:
        self.model, self.tokenizer, self.shortlist = model, tokenizer, shortlist

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def empty_doc_state(self, batch: int) -> DocState | None:
        """Document state of a document's first sentence (None for sentence-level models)."""
        return self.model.empty_doc_state(batch, self.device)

    def doc_states(self, states: Sequence[DocState | None]) -> DocState | None:
        """One batch of documents' states, the empty one for a document at its start (None: a sentence-level model)."""
        if not self.model.uses_context:
            return None
        known = [state for state in states if state is not None]
        if len(known) == len(states):  # all continue a document: nothing to allocate (the walk joins every step)
            return DocState.cat(known)
        empty = self.empty_doc_state(1)
        return DocState.cat([s if s is not None else empty for s in states]) if empty is not None else None

    def stepper(self, decode: DecodeConfig, pieces: Sequence[list[int]] = ()) -> Stepper:
        """What a search over these sources steps: the model, or the model through their shortlist.

        With no `pieces` the shortlist covers nothing yet: the scheduler
        covers each sentence as it joins (`translator.documents`).
        """
        if not decode.shortlist:
            return self.model
        if self.shortlist is None:
            raise ValueError("this checkpoint has no vocabulary shortlist; add one with `nmt shortlist`")
        stepper = ShortlistStepper(self.model, self.shortlist)
        if pieces:
            stepper.cover(pieces, pieces)
        return stepper

    def encode(
        self,
        pieces: Sequence[list[int]],
        carry: EncoderCarry | None,
        decode: DecodeConfig,
        max_lengths: Sequence[int] | None = None,
    ) -> Encoded:
        """Encode tokenized sources continuing from `carry` (None: documents' starts), with their length limits.

        `max_lengths` caps row i's output at that many pieces plus EOS (0: no
        cap beyond the length rule).
        """
        src, lengths = pad_batch([source_ids(ids) for ids in pieces], self.device)
        enc, enc_final = self.model.encode(src, lengths, carry)
        max_len = self.length_limits(lengths, decode)
        if max_lengths is not None:
            caps = torch.tensor([m + 1 if m > 0 else int(max_len.max()) for m in max_lengths], device=max_len.device)
            max_len = torch.minimum(max_len, caps)
        return Encoded(enc, enc_final, max_len)

    @torch.inference_mode()
    def prepare(
        self,
        pieces: Sequence[list[int]],
        doc_state: DocState | None,
        decode: DecodeConfig,
        max_lengths: Sequence[int] | None = None,
    ) -> SearchStart:
        """Encode a batch of tokenized sources, row i continuing row i of `doc_state`, and set up its search."""
        if doc_state is None:
            doc_state = self.empty_doc_state(len(pieces))
        e = self.encode(pieces, doc_state.encoder_carry if doc_state else None, decode, max_lengths)
        enc, state = self.model.init_state(e.enc, doc_state)
        return SearchStart(enc, e.encoder_final, e.max_len, state)

    @staticmethod
    def length_limits(lengths: Tensor, decode: DecodeConfig) -> Tensor:
        """Output pieces allowed (EOS included) for sources of `lengths` pieces (EOS included)."""
        limits = (lengths.float() * decode.max_len_ratio).long() + decode.max_len_offset
        return limits.clamp(max=decode.max_length + 1) if decode.max_length > 0 else limits  # + 1: EOS

    @torch.inference_mode()
    def translate(
        self,
        pieces: Sequence[list[int]],
        doc_state: DocState | None,
        decode: DecodeConfig,
        max_lengths: Sequence[int] | None = None,
    ) -> tuple[list[Translation], DocState | None]:
        """One batch searched at once (no sentence joins it): translations and the document states they leave."""
        start = self.prepare(pieces, doc_state, decode, max_lengths)
        nbest = beam_search(
            self.stepper(decode, pieces),
            start.enc,
            start.state,
            start.max_len,
            decode.beam_size,
            decode.n_best,
            decode.length_penalty,
            decode.alignment,
        )
        return self.finish(nbest, start.encoder_final, pieces)

    def finish(
        self, nbest: Sequence[list[Hypothesis]], encoder_final: EncoderCarry, sources: Sequence[list[int]] = ()
    ) -> tuple[list[Translation], DocState | None]:
        """Translations of finished searches, and the document state each best hypothesis leaves.

        A search that ended with no hypothesis (its scores went NaN: `search.BeamSearch`) is
        an error of that sentence, reported as one, not an IndexError from deep inside.
        """
        empty = [i for i, hyps in enumerate(nbest) if not hyps]
        if empty:
            raise NoHypothesisError(f"sentence {empty[0]} of the batch has no translation: its scores were not finite")
        best_states = LSTMState.cat([hyps[0].state for hyps in nbest])
        outputs = pad_batch([h[0].tokens for h in nbest], self.device)[0] if self.model.remembers_outputs else None
        following = self.model.next_doc_state(encoder_final, best_states, outputs)
        translations = [self._to_translation(h) for h in nbest]
        for translation, hyps, source in zip(translations, nbest, sources, strict=False):
            if any(h.attended for h in hyps):  # alignments asked for (an empty hypothesis attended nowhere)
                best, *rest = (self.word_alignment(source, h.tokens, h.attended) for h in hyps)
                translation.alignment, translation.alternative_alignments = best, rest
        return translations, following

    def _to_translation(self, hyps: list[Hypothesis]) -> Translation:
        texts = [(self.tokenizer.decode(h.tokens), h.score) for h in hyps]
        return Translation(texts[0][0], texts[0][1], texts[1:])

    def word_alignment(self, source: list[int], target: list[int], attended: list[int]) -> list[tuple[int, int]]:
        """Hard word alignments from piece-level attention: each target word is aligned with the source
        words its pieces attended to most (`attended[i]`: an encoder position of target piece i).

        Words are SentencePiece's: a piece that starts with "▁" starts a word. Positions before the
        sentence (a memory of earlier sentences, `attend`/`target` modes) or at its EOS align nothing.
        """
        offset = self.model.cfg.memory_tokens if self.model.cfg.context in MEMORY_MODES else 0
        src_words, tgt_words = self.tokenizer.word_index(source), self.tokenizer.word_index(target)
        pairs = set()
        for tgt_piece, position in enumerate(attended):
            src_piece = position - offset
            if 0 <= src_piece < len(src_words) and tgt_piece < len(tgt_words):
                pairs.add((src_words[src_piece], tgt_words[tgt_piece]))
        return sorted(pairs, key=lambda p: (p[1], p[0]))
