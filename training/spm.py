"""The joint SentencePiece model: trained from the training corpus, streamed, and which one a run uses.

A run takes data.spm_model or trains one here (`spm_model_for`); `spm_recipe` is what that model
depends on besides the corpus, so that a store built with the same recipe is reused, not rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sentencepiece as spm

from translator.config import Config
from translator.corpus import Document, iter_corpus
from translator.tokenizer import SPM_SPECIAL_IDS

log = logging.getLogger(__name__)


def train_sentencepiece(
    docs: Iterable[Document], vocab_size: int, model_type: str = "unigram", sample_lines: int = 200_000, seed: int = 1
) -> bytes:
    """One model over source and target text (so embeddings can be shared).

    `docs` may be a stream (`translator.corpus.iter_corpus`): at most `2 * sample_lines`
    lines are held, a uniform sample of all of them (`reservoir_sample`), so a corpus of
    any size trains the model in bounded memory. `hard_vocab_limit=False` makes
    `vocab_size` an upper bound: a small corpus yields a smaller vocabulary instead of an
    error, which is what a user trying the pipeline on a few hundred lines expects.
    """
    lines = reservoir_sample((s for d in docs for s in (*d.sources, *d.targets)), 2 * sample_lines, seed)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,
        hard_vocab_limit=False,
        num_threads=2,
        minloglevel=2,
        **SPM_SPECIAL_IDS,
    )
    log.info("trained %s SentencePiece model on %d lines", model_type, len(lines))
    return model.getvalue()


def reservoir_sample(items: Iterator[str], k: int, seed: int) -> list[str]:
    """A uniform sample of `k` items from a stream of unknown length (all of them, in order, if fewer).

    Li's "Algorithm L": the gaps between replacements are drawn directly, so a long stream
    costs one comparison per item rather than one random number.
    """
    rng = random.Random(seed)
    sample: list[str] = []
    for item in items:
        sample.append(item)
        if len(sample) == k:
            break
    if len(sample) < k:
        return sample
    w = math.exp(math.log(rng.random()) / k)
    gap = _gap(rng, w)
    for item in items:
        if gap:
            gap -= 1
            continue
        sample[rng.randrange(k)] = item
        w *= math.exp(math.log(rng.random()) / k)
        gap = _gap(rng, w)
    return sample


def _gap(rng: random.Random, w: float) -> int:
    """Items to skip before the next replacement (geometric with success probability w)."""
    return math.floor(math.log(rng.random()) / math.log1p(-w)) if w < 1.0 else 0


# ---------------------------------------------------------------- the model a training run uses


def spm_recipe(cfg: Config) -> dict[str, Any]:
    """What a fresh run's SentencePiece model depends on, besides the corpus."""
    d = cfg.data
    if d.spm_model:
        return {"given_sha256": hashlib.sha256(Path(d.spm_model).read_bytes()).hexdigest()}
    return {
        "vocab_size": cfg.model.vocab_size,
        "model_type": d.spm_model_type,
        "sample_lines": d.spm_sample_lines,
        "seed": cfg.train.seed,
    }


def spm_model_for(cfg: Config) -> bytes:
    """data.spm_model's bytes, or a model trained on a streamed sample of the corpus."""
    d = cfg.data
    if d.spm_model:
        return Path(d.spm_model).read_bytes()
    docs: Iterator[Document] = iter_corpus(d.train, d.src_lang, d.tgt_lang, skip_invalid=d.skip_invalid)
    return train_sentencepiece(docs, cfg.model.vocab_size, d.spm_model_type, d.spm_sample_lines, cfg.train.seed)
