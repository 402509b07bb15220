"""kill -9 a real training process, resume it, and land on the exact same weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import tiny_config
from translator import checkpoint
from translator.config import Config

pytestmark = pytest.mark.slow


def write_config(path: Path, out: Path, corpus: dict[str, str], **train: object) -> Path:
    cfg: Config = tiny_config(out, **train).override(
        [
            f"data.train={corpus['train']}",
            f"data.dev={corpus['dev']}",
            "model.dropout=0.1",
            "train.context_dropout=0.3",  # the levers' draws must replay exactly on resume too
            "train.coword_dropout=0.2",
        ]  # dropout: RNG state matters
    )
    path.write_text(cfg.to_yaml())
    return path


def nmt(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "nmt", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def wait_for_step(run: Path, step: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "training exited early"
        if (run / checkpoint.LAST).exists():
            saved = checkpoint.load(run, prefer=checkpoint.LAST).step
            if saved >= step:
                return saved
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint at step {step} within {timeout}s")


def test_resume_after_kill_9_matches_an_uninterrupted_run(tmp_path: Path, synthetic_corpus: dict[str, str]) -> None:
    settings = {"max_steps": 300, "save_every": 20, "valid_every": 100}
    reference = tmp_path / "reference"
    proc = nmt("train", "--config", str(write_config(tmp_path / "a.yaml", reference, synthetic_corpus, **settings)))
    assert proc.wait(timeout=300) == 0, proc.stdout.read().decode() if proc.stdout else ""

    run = tmp_path / "interrupted"
    config = write_config(tmp_path / "b.yaml", run, synthetic_corpus, **settings)
    proc = nmt("train", "--config", str(config))
    killed_after = wait_for_step(run, 60, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert killed_after < 300
    # What a kill -9 inside checkpoint.save leaves: a partial temp file beside last.pt.
    (run / ".last.pt.k9x0aq.tmp").write_bytes(b"PK\x03\x04 half a zip")  # as checkpoint.save names it
    store_meta = run / "data" / "train.store" / "meta.json"
    built = store_meta.stat().st_mtime_ns

    resumed = nmt("train", "--config", str(config), "--resume")
    output = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0, output
    assert f"resumed from {run / checkpoint.LAST} at step {killed_after}" in output
    assert not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp"))  # the stale temp file is gone
    assert "reusing the binarized corpus" in output
    assert not [line for line in output.splitlines() if line.startswith("binarize ")]  # no build's progress line
    assert store_meta.stat().st_mtime_ns == built  # the store was mapped again, not rebuilt

    final = checkpoint.load(run, prefer=checkpoint.LAST)
    expected = checkpoint.load(reference, prefer=checkpoint.LAST)
    assert final.step == expected.step == 300
    for name, tensor in expected.model.items():
        assert torch.equal(final.model[name], tensor), name
    assert final.trainer["best_score"] == expected.trainer["best_score"]

    # Resuming the finished run (what a rerun of scripts/demo.sh does) trains, validates and writes nothing.
    written = {p.name: p.stat().st_mtime_ns for p in run.glob("*.pt")}
    again = nmt("train", "--config", str(config), "--resume")
    output = again.communicate(timeout=120)[0].decode()
    assert again.returncode == 0, output
    assert "already complete at step 300" in output
    assert {p.name: p.stat().st_mtime_ns for p in run.glob("*.pt")} == written


def test_resume_without_a_checkpoint_starts_fresh(tmp_path: Path, synthetic_corpus: dict[str, str]) -> None:
    run = tmp_path / "fresh"
    proc = nmt(
        "train", "--config", str(write_config(tmp_path / "c.yaml", run, synthetic_corpus, max_steps=5)), "--resume"
    )
    output = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 0, output
    assert "starting a new run" in output and checkpoint.load(run, prefer=checkpoint.LAST).step == 5
