"""Shared fixtures: a real SentencePiece model and a real tiny trained checkpoint.

Everything is built inside the test session from `tests/synthetic.py`: no
downloads, no files from outside the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.synthetic import make_documents
from training.spm import train_sentencepiece
from translator.config import Config
from translator.corpus import Document, write_parallel
from translator.tokenizer import Tokenizer

# Tiny models gain nothing from threads, and two processes spinning two OpenMP
# threads each on a 2-core machine slow each other down tenfold.
torch.set_num_threads(1)


def tiny_config(out_dir: Path | str = "unused", **train: object) -> Config:
    """A model small enough to train in seconds on two CPU cores."""
    cfg = Config()
    cfg = cfg.override(
        [
            "model.vocab_size=200",
            "model.tie_output=true",  # the tiny recipe was tuned tied; tiny vocabularies learn fast either way
            "data.spm_model_type=bpe",
            "model.emb_size=64",
            "model.enc_hidden=32",
            "model.dec_hidden=64",
            "model.dropout=0.0",
            "train.lanes=32",
            "train.lr=0.003",
            "train.warmup_steps=10",
            "train.threads=1",
            "train.schedule=constant",
            "train.valid_every=1000",
            "train.save_every=1000",
            "train.log_every=10",
            "train.tensorboard=false",
            "train.patience=0",
            "decode.beam_size=1",
            f"train.out_dir={out_dir}",
        ]
    )
    return cfg.override([f"train.{k}={v}" for k, v in train.items()])


@pytest.fixture(scope="session")
def synthetic_docs() -> list[Document]:
    return make_documents(400, seed=1)


@pytest.fixture(scope="session")
def tokenizer(synthetic_docs: list[Document]) -> Tokenizer:
    return Tokenizer(train_sentencepiece(synthetic_docs, vocab_size=200, model_type="bpe"))


@pytest.fixture(scope="session")
def synthetic_corpus(tmp_path_factory: pytest.TempPathFactory, synthetic_docs: list[Document]) -> dict[str, str]:
    """train/dev/test prefixes of the synthetic corpus on disk."""
    root = tmp_path_factory.mktemp("synthetic")
    splits = {"train": synthetic_docs, "dev": make_documents(20, seed=2), "test": make_documents(20, seed=3)}
    for name, docs in splits.items():
        write_parallel(root / name, "en", "es", docs)
    return {name: str(root / name) for name in splits}


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, synthetic_corpus: dict[str, str]) -> Path:
    """A real context-carrying model trained on the synthetic corpus (a few seconds)."""
    from training.trainer import train

    out = tmp_path_factory.mktemp("run")
    cfg = tiny_config(out, max_steps=800, valid_every=400)
    cfg = cfg.override([f"data.train={synthetic_corpus['train']}", f"data.dev={synthetic_corpus['dev']}"])
    torch.manual_seed(0)
    return train(cfg)
