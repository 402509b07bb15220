"""Thin helpers over torch.distributed, so the training loop reads the same with 1 or N processes.

Processes are started by torchrun (`torchrun --nproc-per-node 2 -m training ...`
or `nmt train --nproc 2`, which re-executes itself under torchrun); it sets
RANK / WORLD_SIZE / MASTER_ADDR in the environment. gloo on CPU, nccl on GPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup() -> Dist:
    """Join the process group when launched by torchrun; a no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist(device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    rank = int(os.environ["RANK"])
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        dist.init_process_group("nccl")
        return Dist(rank, world, torch.device("cuda", local))
    dist.init_process_group("gloo")
    return Dist(rank, world, torch.device("cpu"))


def teardown(d: Dist) -> None:
    """Leave together: a rank destroying its gloo group while the other still talks can abort it."""
    if d.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()


def any_true(d: Dist, flag: bool) -> bool:
    """True on every rank if it is True on any rank (e.g. "time is up", decided by rank 0)."""
    if not d.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def gather_floats(d: Dist, value: float) -> list[float]:
    """Every rank's `value`, on every rank."""
    if not d.enabled:
        return [value]
    out = [torch.zeros(1, dtype=torch.float64, device=d.device) for _ in range(d.world)]
    dist.all_gather(out, torch.tensor([value], dtype=torch.float64, device=d.device))
    return [float(t.item()) for t in out]


def relaunch_with_torchrun(nproc: int, args: Sequence[str], nnodes: int = 1, rdzv_endpoint: str = "") -> int:
    """Run `python -m training ARGS` in `nproc` processes under torchrun; returns its exit code.

    One machine: torchrun's standalone rendezvous. Several (`nnodes` > 1): every machine runs the
    same command with the same `rdzv_endpoint` (HOST:PORT of one of them, reachable from all); the
    c10d rendezvous there gives each process its rank, so no machine needs a rank of its own.
    """
    if nnodes > 1 and not rdzv_endpoint:
        raise ValueError("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (one machine's address, the same on every node)")
    where = (
        [f"--nnodes={nnodes}", "--rdzv-backend=c10d", f"--rdzv-endpoint={rdzv_endpoint}", "--rdzv-id=nmt-train"]
        if nnodes > 1
        else ["--standalone"]
    )
    cmd = [sys.executable, "-m", "torch.distributed.run", *where, f"--nproc-per-node={nproc}", "-m", "training", *args]
    return subprocess.call(cmd)
