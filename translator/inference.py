"""The `Translator` facade: text in, text out, with document context.

Documents are translated as training reads them, in *lanes*: up to
`batch_size` documents at once, each sentence starting from the context its
predecessor left. Translation keeps one search running and starts a
document's next sentence the step its previous one finishes
(`translator.documents`); teacher forcing (`force_documents`) goes in
lock-step rounds, sentence i of every document as one batch. The `none` mode
(`--sentence-level`) is the same with every sentence made its own document, so
both modes share one code path.

The methods form a grid, as CTranslate2's do: what (`translate_*`, `force_*`:
teacher-forced scores of given translations) by how (`*_sentences`: one batch
whose document state the caller carries; `*_documents`: a whole job;
`*_stream`: documents as they come, results in input order).

The facade tokenizes and hands token ids down: decoding itself (search
start, length limits, shortlist, hypotheses to text) is `translator.decoding`,
which the scheduler is handed too, so nothing below calls back up here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor, nn
from torch.ao.quantization import quantize_dynamic

from translator import checkpoint
from translator.batch import pad_batch, source_ids, target_io
from translator.config import Config, ContextMode, DecodeConfig
from translator.decoding import Decoding, Translation
from translator.documents import WINDOW, Progress, rounds, translate_all, translate_in_order
from translator.model import Seq2Seq
from translator.shortlist import Shortlist
from translator.state import DocState
from translator.tokenizer import PAD_ID, Tokenizer

T = TypeVar("T")
R = TypeVar("R")
M = TypeVar("M", bound=nn.Module)


@dataclass(frozen=True)
class Forced:
    """A teacher-forced batch. Shapes: tokens, log_probs, mask (B, T); padding has log-probability 0."""

    tokens: Tensor  # the forced output pieces (EOS last)
    log_probs: Tensor
    mask: Tensor  # True on real tokens
    doc_state: DocState | None  # what each row leaves for its document's next sentence


class Translator:
    """A loaded model plus its tokenizer and the config it was trained with."""

    def __init__(
        self, model: Seq2Seq, tokenizer: Tokenizer, config: Config, step: int = 0, shortlist: Shortlist | None = None
    ) -> None:
        self.decoding = Decoding(model.eval(), tokenizer, shortlist)
        self.config = config
        self.step = step
        self.int8 = False

    @property
    def model(self) -> Seq2Seq:
        return self.decoding.model

    @property
    def tokenizer(self) -> Tokenizer:
        return self.decoding.tokenizer

    @property
    def shortlist(self) -> Shortlist | None:
        return self.decoding.shortlist

    @classmethod
    def load(cls, path: str | Path, int8: bool = False, device: str | torch.device = "cpu") -> Translator:
        """From a checkpoint file or a run directory (its best checkpoint), on `device`.

        `int8`: dynamic int8 quantization of the LSTMs and linear layers (CPU
        inference only). On the Bible test set it decoded 2.7x (beam 5) to
        3.2x (greedy) faster for at most 0.18 BLEU (README, Results).
        """
        return cls.from_checkpoint(checkpoint.load(path), int8, device)

    @classmethod
    def from_checkpoint(
        cls, ckpt: checkpoint.Checkpoint, int8: bool = False, device: str | torch.device = "cpu"
    ) -> Translator:
        """From a checkpoint already read (a server hashes and loads the same bytes)."""
        model = Seq2Seq(ckpt.config.model)
        model.load_state_dict(ckpt.model)
        model.to(device)
        translator = cls(model, Tokenizer(ckpt.spm_model), ckpt.config, ckpt.step, _shortlist(ckpt))
        if int8:
            translator.quantize_int8()
        return translator

    def quantize_int8(self) -> None:
        """Replace LSTM and Linear weights by int8 ones, activations quantized on the fly.

        Embeddings stay float; the tied output layer gets its own int8 copy.
        The carried document state stays float32, so document states are
        interchangeable with a float model of the same checkpoint (up to
        rounding).
        """
        if self.device.type != "cpu":
            raise ValueError("int8 quantization runs on the CPU only")
        self.decoding.model = quantize_int8(self.model)
        self.int8 = True

    @property
    def device(self) -> torch.device:
        return self.decoding.device

    @property
    def trained_context(self) -> ContextMode:
        return self.model.cfg.context

    def empty_doc_state(self, batch: int) -> DocState | None:
        return self.decoding.empty_doc_state(batch)

    @torch.inference_mode()
    def translate_sentences(
        self,
        sources: Sequence[str],
        doc_state: DocState | None,
        decode: DecodeConfig | None = None,
        max_lengths: Sequence[int] | None = None,
    ) -> tuple[list[Translation], DocState | None]:
        """Translate one batch; row i continues row i of `doc_state` (None: new documents).

        `max_lengths` caps row i's output at that many pieces plus EOS (0: no
        cap beyond the length rule). Returns the translations and the document
        state each row leaves for its document's next sentence.
        """
        decode = decode or self.config.decode
        return self.decoding.translate(self.tokenizer.encode_batch(sources), doc_state, decode, max_lengths)

    def translate_documents(
        self,
        docs: Sequence[Sequence[str]],
        mode: ContextMode | None = None,
        decode: DecodeConfig | None = None,
        progress: Progress | None = None,
    ) -> list[list[Translation]]:
        """Translate whole documents, each sentence continuing from the previous one.

        Args:
            docs: documents, each a list of sentences in order.
            mode: "none" to reset the document state at every sentence;
                default (None): carry it, as the model was trained to.
            progress: told the number of sentences each time a document is done.
        """
        dec = decode or self.config.decode
        pieces = [self.tokenizer.encode_batch(doc) for doc in docs]
        with torch.inference_mode():
            return self._in_lanes(pieces, mode, lambda lanes: translate_all(self.decoding, lanes, dec, progress))

    def translate_stream(
        self,
        docs: Iterable[Sequence[str]],
        mode: ContextMode | None = None,
        decode: DecodeConfig | None = None,
        window: int = WINDOW,
    ) -> Iterator[list[Translation]]:
        """`translate_documents` for documents that arrive one by one (what `nmt translate` reads).

        Documents are read only as lanes free up and each one's translations
        come back, in input order, as soon as it and those before it are done:
        memory is bounded by the lanes and `window` (sentences read and not yet
        given back), not by the input. The translations equal
        `translate_documents`' (which orders a whole job longest first; here
        documents take lanes in input order), except with `decode.shortlist`,
        whose columns are the union of the shortlists of the sentences in the
        search at the time.
        """
        dec = decode or self.config.decode
        pieces = (self.tokenizer.encode_batch(list(doc)) for doc in docs)
        yield from translate_in_order(self.decoding, pieces, dec, window, split=self._sentence_level(mode))

    def force_documents(
        self,
        docs: Sequence[Sequence[tuple[str, str]]],
        mode: ContextMode | None = None,
        progress: Progress | None = None,
    ) -> list[list[tuple[float, int]]]:
        """(log-probability, target tokens) of every reference in documents of (source, target) pairs."""

        def run(
            pairs: list[tuple[str, str]], doc_state: DocState | None
        ) -> tuple[list[tuple[float, int]], DocState | None]:
            lp, n, doc_state = self.force_sentences([p[0] for p in pairs], [p[1] for p in pairs], doc_state)
            return list(zip(lp.tolist(), n.tolist(), strict=True)), doc_state

        return self._in_lanes(docs, mode, lambda lanes: rounds(lanes, self.config.decode.batch_size, run, progress))

    def force_stream(
        self, docs: Iterable[Sequence[tuple[str, str]]], mode: ContextMode | None = None
    ) -> Iterator[list[tuple[float, int]]]:
        """`force_documents` for documents that arrive one by one: `batch_size` documents at a time, each
        one's scores given back in input order, memory bounded by the batch, not the input."""
        batch: list[Sequence[tuple[str, str]]] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) == self.config.decode.batch_size:
                yield from self.force_documents(batch, mode)
                batch = []
        if batch:
            yield from self.force_documents(batch, mode)

    def _in_lanes(
        self, docs: Sequence[Sequence[T]], mode: ContextMode | None, walk: Callable[[list[list[T]]], list[list[R]]]
    ) -> list[list[R]]:
        """`walk` the documents; sentence-level (`none`, or a model without context): every sentence alone."""
        if not self._sentence_level(mode):
            return walk([list(doc) for doc in docs])
        flat = walk([[item] for doc in docs for item in doc])
        return _regroup([r[0] for r in flat], [len(d) for d in docs])

    def _sentence_level(self, mode: ContextMode | None) -> bool:
        """Whether every sentence is translated alone: asked to (`none`), or a model without context."""
        return not self.model.uses_context or mode == "none"

    @torch.inference_mode()
    def force_sentences(
        self, sources: Sequence[str], targets: Sequence[str], doc_state: DocState | None
    ) -> tuple[Tensor, Tensor, DocState | None]:
        """Teacher-force `targets`: their log-probabilities (B,), token counts (B,), next document state.

        Used to score contrastive variants, and to push a known context
        (source and reference translation) through the model.
        """
        forced = self.force_tokens(sources, targets, doc_state)
        return forced.log_probs.sum(1), forced.mask.sum(1), forced.doc_state

    @torch.inference_mode()
    def force_tokens(self, sources: Sequence[str], targets: Sequence[str], doc_state: DocState | None) -> Forced:
        """`force_sentences` keeping every token's log-probability (what CXMI compares)."""
        if doc_state is None:
            doc_state = self.empty_doc_state(len(sources))
        src, src_len = pad_batch([source_ids(ids) for ids in self.tokenizer.encode_batch(sources)], self.device)
        tgt_in, tgt_out = zip(*(target_io(ids) for ids in self.tokenizer.encode_batch(targets)), strict=True)
        tgt_in_t, tgt_len = pad_batch(tgt_in, self.device)
        tgt_out_t, _ = pad_batch(tgt_out, self.device)
        out, enc_final = self.model.force(src, src_len, tgt_in_t, tgt_len, doc_state)
        log_probs = self.model.logits(out.features).log_softmax(-1)  # (B, T, V)
        token_lp = log_probs.gather(-1, tgt_out_t.unsqueeze(-1)).squeeze(-1)  # (B, T)
        real = tgt_out_t.ne(PAD_ID)
        following = self.model.next_doc_state(enc_final, out.state, tgt_out_t)
        return Forced(tgt_out_t, token_lp.masked_fill(~real, 0.0), real, following)


def quantize_int8(module: M) -> M:
    """`module` with int8 weights in its LSTM and Linear children, activations quantized on the fly.

    torch.ao's dynamic quantization; only children are swapped, so wrap a
    bare layer in `nn.Sequential`. Its deprecation warning (torchao is the
    future home) is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(module, {nn.LSTM, nn.Linear}, dtype=torch.qint8)


def _shortlist(ckpt: checkpoint.Checkpoint) -> Shortlist | None:
    """The checkpoint's shortlist, checked against its vocabulary (older checkpoints have none)."""
    if ckpt.shortlist is None:
        return None
    try:
        shortlist = Shortlist.from_tensors(ckpt.shortlist)
    except (KeyError, ValueError, AttributeError) as e:
        raise checkpoint.CheckpointError(f"{ckpt.path}: malformed shortlist: {e}") from e
    if shortlist.vocab_size != ckpt.config.model.vocab_size:
        raise checkpoint.CheckpointError(
            f"{ckpt.path}: shortlist covers {shortlist.vocab_size} pieces, the model {ckpt.config.model.vocab_size}"
        )
    return shortlist


def _regroup(flat: list[R], sizes: list[int]) -> list[list[R]]:
    out: list[list[R]] = []
    pos = 0
    for n in sizes:
        out.append(flat[pos : pos + n])
        pos += n
    return out
