"""Self-describing checkpoints, written atomically, loaded without running code.

A checkpoint file holds everything needed to translate (config, SentencePiece
model bytes, weights) and, for `last.pt`, everything needed to resume
training exactly (optimizer, step, data position, RNG states, carried lane
states). It is a plain `torch.save` dict of tensors and primitive values, so
`torch.load(weights_only=True)` reads it: loading a checkpoint never
unpickles arbitrary objects.

Writes go to a temporary file in the same directory followed by
`os.replace`, so a crash mid-write leaves the previous file intact.

Loading reads the file once: its SHA-256 (a server's model version) and its
contents come from the same bytes. The model config is checked against
bounds and against the weights' shapes (the model built on the meta device,
which allocates nothing) before any caller builds the model, so a tiny file
whose config asks for a huge model is refused instead of exhausting memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch

from translator.config import Config, ModelConfig

FORMAT_VERSION = 1
BEST, LAST = "best.pt", "last.pt"
STEPS = "steps"  # RUN/steps/step-00001200.pt: the model at each of the last saves (train.keep_checkpoints)
# Far beyond any model this project trains (vocab 8k-32k, sizes 256-1024, 1-4 layers), far below absurd.
LIMITS = {"vocab_size": 1 << 20, "emb_size": 1 << 14, "enc_hidden": 1 << 14, "dec_hidden": 1 << 14}
LIMITS |= {"enc_layers": 16, "dec_layers": 16, "memory_tokens": 1 << 12}
TEMP_SUFFIX = ".tmp"  # what `write_atomic` names its temp files (".NAME.XXXX.tmp")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or not one of ours."""


@dataclass
class Checkpoint:
    config: Config
    spm_model: bytes
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any] | None = None
    trainer: dict[str, Any] = field(default_factory=dict)  # step, scores, data position, RNG
    path: Path | None = None
    shortlist: dict[str, torch.Tensor] | None = None  # translator.shortlist.Shortlist.to_tensors()
    sha256: str = ""  # of the file's bytes, the same bytes the rest was read from

    @property
    def step(self) -> int:
        return int(self.trainer.get("step", 0))


def resolve(path: str | Path, prefer: str = BEST) -> Path:
    """A checkpoint file, or a run directory (its `best.pt`, else `last.pt`)."""
    p = Path(path)
    if p.is_dir():
        for name in (prefer, BEST, LAST):
            if (p / name).is_file():
                return p / name
        raise CheckpointError(f"{p}: run directory has no {BEST} or {LAST}")
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file or run directory")
    return p


def save(ckpt: Checkpoint, path: str | Path) -> None:
    """Write atomically: temp file in the same directory, fsync, rename."""
    payload = {
        "format_version": FORMAT_VERSION,
        "config": ckpt.config.to_dict(),
        "spm_model": ckpt.spm_model,
        "model": ckpt.model,
        "optimizer": ckpt.optimizer,
        "trainer": ckpt.trainer,
        "shortlist": ckpt.shortlist,
    }
    write_atomic(path, lambda f: torch.save(payload, f))


def write_atomic(path: str | Path, write: bytes | str | Callable[[BinaryIO], object]) -> None:
    """Write bytes, UTF-8 text or what `write(file)` writes to `path` so that a crash leaves the old file or the new.

    The data goes to ``.NAME.XXXX.tmp`` beside `path` (same file system), is fsynced, then
    renamed over `path`. A kill -9 mid-write leaves only that temp file: `remove_stale_temps`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(write):
                write(f)
            else:
                f.write(write.encode("utf-8") if isinstance(write, str) else write)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a server in another container must read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temps(directory: str | Path) -> list[Path]:
    """Delete the temp files `write_atomic` left in `directory` when a process died mid-write.

    Call it only where no other process is writing (training start, rank 0); returns what went.
    """
    stale = sorted(Path(directory).glob(f".*{TEMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def load(path: str | Path, prefer: str = BEST) -> Checkpoint:
    """Read a checkpoint (or a run directory's) with `weights_only=True`."""
    file = resolve(path, prefer)
    try:
        data = file.read_bytes()
        raw = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # truncated file, not a zip, unsafe pickle content...
        raise CheckpointError(f"{file}: cannot read checkpoint: {e}") from e
    if not isinstance(raw, dict) or raw.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{file}: not a format-{FORMAT_VERSION} translator checkpoint")
    try:
        config = Config.from_dict(raw["config"])
        ckpt = Checkpoint(
            config,
            raw["spm_model"],
            raw["model"],
            raw.get("optimizer"),
            raw.get("trainer") or {},
            file,
            raw.get("shortlist"),
            hashlib.sha256(data).hexdigest(),
        )
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{file}: malformed checkpoint: {e}") from e
    check_model(config.model, ckpt.model, file)
    return ckpt


def check_model(cfg: ModelConfig, weights: object, file: Path) -> None:
    """Refuse a config out of bounds, or one whose model would not be exactly these weights."""
    from translator.model import Seq2Seq  # the model module is heavier than this one: import on use

    for name, limit in LIMITS.items():
        value = getattr(cfg, name)
        if not 1 <= value <= limit:
            raise CheckpointError(f"{file}: model.{name} = {value} is outside 1..{limit}")
    if not isinstance(weights, dict) or not all(isinstance(t, torch.Tensor) for t in weights.values()):
        raise CheckpointError(f"{file}: malformed checkpoint: its model weights are not a dict of tensors")
    with torch.device("meta"):  # shapes only: nothing is allocated
        expected = {k: tuple(t.shape) for k, t in Seq2Seq(cfg).state_dict().items()}
    got = {k: tuple(t.shape) for k, t in weights.items()}
    if expected != got:
        wanted = sum(int(torch.Size(s).numel()) for s in expected.values())
        held = sum(int(torch.Size(s).numel()) for s in got.values())
        wrong = sorted(set(expected) ^ set(got)) or sorted(k for k in expected if expected[k] != got[k])
        raise CheckpointError(
            f"{file}: its model config describes {wanted:,} parameters ({4 * wanted / 2**20:,.1f} MiB), "
            f"its weights hold {held:,}; first mismatch: {wrong[0]}"
        )


def step_path(run_dir: str | Path, step: int) -> Path:
    """Where training keeps the model of step `step` (for `average`)."""
    return Path(run_dir) / STEPS / f"step-{step:08d}.pt"


def step_checkpoints(run_dir: str | Path) -> list[Path]:
    """The step checkpoints a run kept, oldest first."""
    return sorted((Path(run_dir) / STEPS).glob("step-*.pt"))


def average(ckpts: Sequence[Checkpoint]) -> Checkpoint:
    """One checkpoint whose weights are the element-wise mean of `ckpts`' (the last few of one run).

    Averaging the last checkpoints of a run smooths the optimizer's noise at no decoding cost
    (Vaswani et al. 2017; fairseq's average_checkpoints.py, OpenNMT-py's average_models). Only
    checkpoints of one model shape and vocabulary can be averaged: anything else is an error
    naming the file. The newest checkpoint gives the config, vocabulary and shortlist; the mean
    is accumulated in float64 so the order does not matter; integer buffers are the newest's.
    """
    if not ckpts:
        raise ValueError("average: no checkpoints given")
    newest = max(ckpts, key=lambda c: c.step)
    for c in ckpts:
        if c.config.model != newest.config.model or c.spm_model != newest.spm_model:
            raise CheckpointError(
                f"{c.path}: its model config or vocabulary differs from {newest.path}'s: "
                "only checkpoints of one model average"
            )
    weights = {}
    for name, tensor in newest.model.items():
        if tensor.is_floating_point():
            total = sum((c.model[name].double() for c in ckpts), torch.zeros_like(tensor, dtype=torch.float64))
            weights[name] = (total / len(ckpts)).to(tensor.dtype)
        else:
            weights[name] = tensor.clone()
    sources = [{"path": str(c.path), "step": c.step, "sha256": c.sha256} for c in ckpts]
    trainer = {"step": newest.step, "averaged": sources}
    return Checkpoint(newest.config, newest.spm_model, weights, None, trainer, shortlist=newest.shortlist)
