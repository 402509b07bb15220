"""SentencePiece wrapper: text <-> ids, built from the model's bytes.

The serialized SentencePiece model travels inside every checkpoint, so the
tokenizer is always constructed from bytes, never from a path that might
point at a different model than the one the weights were trained with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sentencepiece as spm

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
# SentencePiece trainer arguments that give a model these ids (`Tokenizer` refuses any other)
SPM_SPECIAL_IDS: dict[str, Any] = {"pad_id": PAD_ID, "unk_id": UNK_ID, "bos_id": BOS_ID, "eos_id": EOS_ID}


class Tokenizer:
    """Joint source/target SentencePiece model with fixed special ids."""

    def __init__(self, model_proto: bytes) -> None:
        self.model_proto = model_proto
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        specials = (self._sp.pad_id(), self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id())
        if specials != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise ValueError(f"SentencePiece model has special ids {specials}, expected 0..3")

    @property
    def vocab_size(self) -> int:
        return int(self._sp.get_piece_size())

    def encode(self, text: str) -> list[int]:
        """Pieces of one sentence, without BOS/EOS."""
        return list(self._sp.encode(text, out_type=int))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(ids) for ids in self._sp.encode(list(texts), out_type=int)]

    def decode(self, ids: Sequence[int]) -> str:
        """Detokenized text; special ids are dropped."""
        return str(self._sp.decode([i for i in ids if i > EOS_ID]))

    def sample(self, ids: Sequence[int], alpha: float, nbest: int, seed: int) -> list[int]:
        """`ids` segmented anew at random: subword regularization (Kudo 2018) for a unigram model,
        BPE-dropout (Provilkov et al. 2020, `alpha` the dropout rate) for a BPE one.

        The same (ids, alpha, nbest, seed) give the same pieces, so a resumed run samples what the
        interrupted one would have. `nbest`: candidates sampled from (-1: all; unigram only).
        """
        spm.set_random_generator_seed(seed)
        text = self.decode(ids)
        return list(self._sp.encode(text, out_type=int, enable_sampling=True, alpha=alpha, nbest_size=nbest))

    def word_index(self, ids: Sequence[int]) -> list[int]:
        """Per piece, the index of the word it belongs to: a piece starting with "▁" starts a new word."""
        index, words = [], -1
        for i in ids:
            if words < 0 or self._sp.id_to_piece(int(i)).startswith("\u2581"):
                words += 1
            index.append(words)
        return index

    def pieces(self, text: str) -> list[str]:
        return list(self._sp.encode(text, out_type=str))
