"""Checkpoints: self-describing, atomic, loaded with weights_only, clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from tests.conftest import tiny_config
from translator import checkpoint
from translator.checkpoint import Checkpoint, CheckpointError
from translator.inference import Translator
from translator.model import Seq2Seq
from translator.tokenizer import Tokenizer


def make(tokenizer: Tokenizer) -> Checkpoint:
    cfg = tiny_config().override([f"model.vocab_size={tokenizer.vocab_size}"])
    return Checkpoint(cfg, tokenizer.model_proto, Seq2Seq(cfg.model).state_dict(), trainer={"step": 7})


def test_checkpoint_alone_translates(tmp_path: Path, tokenizer: Tokenizer) -> None:
    ckpt = make(tokenizer)
    checkpoint.save(ckpt, tmp_path / "model.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left behind
    t = Translator.load(tmp_path / "model.pt")
    assert t.config == ckpt.config and t.step == 7
    assert len(t.translate_documents([["look at that dog ."]])[0]) == 1


def test_run_directory_resolves_to_best_then_last(tmp_path: Path, tokenizer: Tokenizer) -> None:
    ckpt = make(tokenizer)
    checkpoint.save(ckpt, tmp_path / checkpoint.LAST)
    assert checkpoint.resolve(tmp_path) == tmp_path / checkpoint.LAST
    checkpoint.save(ckpt, tmp_path / checkpoint.BEST)
    assert checkpoint.resolve(tmp_path) == tmp_path / checkpoint.BEST
    assert checkpoint.resolve(tmp_path, prefer=checkpoint.LAST) == tmp_path / checkpoint.LAST


@pytest.mark.parametrize("damage", ["truncate", "garbage", "not-ours", "pickle-code"])
def test_damaged_checkpoints_raise_checkpoint_error(tmp_path: Path, tokenizer: Tokenizer, damage: str) -> None:
    path = tmp_path / "model.pt"
    checkpoint.save(make(tokenizer), path)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    elif damage == "not-ours":
        torch.save({"weights": torch.zeros(3)}, path)
    else:  # a pickle that would run code: weights_only refuses it
        path.write_bytes(pickle.dumps(print))
    with pytest.raises(CheckpointError, match="model.pt"):
        checkpoint.load(path)


def test_missing_paths_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        checkpoint.load(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="has no best.pt or last.pt"):
        checkpoint.load(tmp_path)


def test_failed_write_keeps_the_previous_file(
    tmp_path: Path, tokenizer: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "last.pt"
    checkpoint.save(make(tokenizer), path)
    before = path.read_bytes()

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", explode)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(make(tokenizer), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
