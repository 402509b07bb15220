"""Train the joint SentencePiece model from the training corpus."""

from __future__ import annotations

import io
import logging
import random
from collections.abc import Sequence

import sentencepiece as spm

from translator.corpus import Document
from translator.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID

log = logging.getLogger(__name__)


def train_sentencepiece(
    docs: Sequence[Document], vocab_size: int, model_type: str = "unigram", sample_lines: int = 200_000, seed: int = 1
) -> bytes:
    """One model over source and target text (so embeddings can be shared).

    `hard_vocab_limit=False` makes `vocab_size` an upper bound: a small
    corpus yields a smaller vocabulary instead of an error, which is what a
    user trying the pipeline on a few hundred lines expects.
    """
    lines = [s for d in docs for s in (*d.sources, *d.targets)]
    if len(lines) > 2 * sample_lines:
        lines = random.Random(seed).sample(lines, 2 * sample_lines)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,
        hard_vocab_limit=False,
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        num_threads=2,
        minloglevel=2,
    )
    log.info("trained %s SentencePiece model on %d lines", model_type, len(lines))
    return model.getvalue()
