"""Two CPU processes under torchrun (gloo): DDP keeps the replicas identical."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.training.test_resume import write_config
from translator import checkpoint

pytestmark = pytest.mark.slow


def test_two_process_ddp_keeps_replicas_identical(tmp_path: Path, synthetic_corpus: dict[str, str]) -> None:
    run = tmp_path / "ddp"
    config = write_config(tmp_path / "ddp.yaml", run, synthetic_corpus, max_steps=8, valid_every=4)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "nmt", "train", "--config", str(config), "--nproc", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    (replicas,) = [r for r in rows if r["kind"] == "replicas"]
    assert len(replicas["checksums"]) == 2 and replicas["in_sync"] is True
    assert replicas["checksums"][0] == replicas["checksums"][1]
    last = checkpoint.load(run, prefer=checkpoint.LAST)
    assert last.step == 8 and last.trainer["world"] == 2 and len(last.trainer["ranks"]) == 2
    # Every rank's own resume state is kept (dropout is seeded per rank, so their RNGs differ).
    assert not torch.equal(last.trainer["ranks"][0]["torch_rng"], last.trainer["ranks"][1]["torch_rng"])
