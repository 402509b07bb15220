"""Checkpoints: self-describing, atomic, loaded with weights_only, clear errors."""

from __future__ import annotations

import hashlib
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


@pytest.mark.parametrize("damage", ["truncate", "garbage", "not-ours"])
def test_damaged_checkpoints_raise_checkpoint_error(tmp_path: Path, tokenizer: Tokenizer, damage: str) -> None:
    path = tmp_path / "model.pt"
    checkpoint.save(make(tokenizer), path)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    else:
        torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="model.pt"):
        checkpoint.load(path)


class Touch:
    """Unpickling this runs code: it creates the file `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.touch, (self.marker,))


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(tmp_path: Path, tokenizer: Tokenizer) -> None:
    """A real torch.save file whose unpickling creates a marker file: weights_only must refuse it unrun."""
    path, marker = tmp_path / "model.pt", tmp_path / "pwned"
    payload = {"format_version": checkpoint.FORMAT_VERSION, "config": make(tokenizer).config.to_dict()}
    torch.save({**payload, "spm_model": Touch(marker)}, path)
    torch.load(path, weights_only=False)  # the payload is live: an unsafe load would run it
    assert marker.exists()
    marker.unlink()
    with pytest.raises(CheckpointError, match="model.pt") as info:
        checkpoint.load(path)
    assert not marker.exists()  # refused unrun (weights_only=False would create it, then fail on the format)
    assert "cannot read checkpoint" in str(info.value)


def test_the_version_hash_is_of_the_bytes_the_weights_came_from(tmp_path: Path, tokenizer: Tokenizer) -> None:
    path = tmp_path / "model.pt"
    checkpoint.save(make(tokenizer), path)
    assert checkpoint.load(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("model.vocab_size=17179869184", "model.vocab_size = 17179869184 is outside 1..1048576"),
        ("model.enc_layers=0", "model.enc_layers = 0 is outside"),
        ("model.dec_hidden=4096", "its model config describes .* parameters .* its weights hold"),
    ],
)
def test_a_config_that_does_not_fit_its_weights_is_refused_before_a_model_is_built(
    tmp_path: Path, tokenizer: Tokenizer, change: str, words: str
) -> None:
    """A tiny file may ask for a huge model: refuse it from the config alone (old code tried to allocate)."""
    ckpt = make(tokenizer)
    ckpt.config = ckpt.config.override([change])
    checkpoint.save(ckpt, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match=f"model.pt: {words}"):
        checkpoint.load(tmp_path / "model.pt")


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
