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
from translator.config import Config

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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_nodes_meet_at_a_rendezvous_endpoint(tmp_path: Path, synthetic_corpus: dict[str, str]) -> None:
    """Multi-node as documented: the same `nmt train --nnodes 2 --rdzv-endpoint HOST:PORT` on each machine
    (here two processes on loopback, one per "node"); the c10d rendezvous ranks them and DDP keeps them equal."""
    from training.binarize import build_store
    from training.spm import train_sentencepiece
    from translator.corpus import iter_corpus

    run = tmp_path / "multinode"
    config = write_config(tmp_path / "mn.yaml", run, synthetic_corpus, max_steps=4, valid_every=4)
    cfg = Config.from_yaml(config)
    spm_model = train_sentencepiece(iter_corpus(cfg.data.train, "en", "es"), 200, model_type="bpe")
    store = build_store(tmp_path / "train.store", cfg, spm_model)
    endpoint = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "nmt", "train", "--config", str(config), "--train", str(store)]
    command += ["--nnodes", "2", "--rdzv-endpoint", endpoint]
    nodes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    try:
        outputs = [node.communicate(timeout=300)[0].decode() for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(outputs)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    (replicas,) = [r for r in rows if r["kind"] == "replicas"]
    assert len(replicas["checksums"]) == 2 and replicas["in_sync"] is True
    assert checkpoint.load(run, prefer=checkpoint.LAST).trainer["world"] == 2
