"""Training on large corpora: binarization speed, time to the first step, peak RSS, tokens/s and resume, by size.

    python bench/scale.py                              # 30k, 1M and 10M pairs (hours; needs ~6 GB of disk)
    python bench/scale.py --pairs 30000 200000         # a smoke test

For each size it writes a corpus of that many pairs by replicating the benchmark corpus
(`bible-en-es/train`, 29,644 pairs) with renamed document ids (copy k of document D is
"D#k"), then, each as its own process (what a user runs):

1. `nmt binarize` with a SentencePiece model trained once on the benchmark corpus (the same
   vocabulary at every size, so tokens/s compare): pairs/s, wall time, peak RSS;
2. `nmt train --train STORE` for --steps steps (no dev set, no validation): seconds from
   launch to the first training step, peak RSS (wait4 of the process), median tokens/s
   over steps 3..N;
3. `nmt train --resume` for 5 more steps: seconds from launch to the first resumed step.

The goals (issue 16, 10M pairs): binarization >= 20,000 pairs/s on 2 cores, first step
within 60 s, peak RSS at most 1.5 GB above the 30k run, tokens/s within 5% of it, resume
within 60 s. Everything goes under --workdir (default .bench/scale, git-ignored), and each
size's corpus, store and run are deleted once measured (--keep keeps them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NMT = [sys.executable, "-m", "nmt"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, nargs="+", default=[30_000, 1_000_000, 10_000_000], help="corpus sizes")
    parser.add_argument("--data", type=Path, default=_benchmark_corpus(), help="corpus PREFIX to replicate")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".bench" / "scale")
    parser.add_argument("--steps", type=int, default=30, help="training steps per size (tokens/s: median of 3..N)")
    parser.add_argument("--workers", type=int, default=0, help="nmt binarize processes (0: one per core)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--keep", action="store_true", help="keep each size's corpus, store and run")
    args = parser.parse_args()
    from translator import devices

    print(f"hardware: {devices.describe()}")  # every figure names the CPU it was measured on
    args.workdir.mkdir(parents=True, exist_ok=True)
    spm_model = _spm_model(args)
    rows = []
    for pairs in args.pairs:
        rows.append(measure(args, pairs, spm_model))
        print(json.dumps(rows[-1]), flush=True)
    report(rows)
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


def _benchmark_corpus() -> Path:
    for base in (ROOT / "data", ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if (base / "bible-en-es" / "train.en").exists():
            return base / "bible-en-es" / "train"
    return ROOT / "data" / "bible-en-es" / "train"


def _spm_model(args: argparse.Namespace) -> Path:
    """One SentencePiece model for every size, trained by `nmt binarize` on the benchmark corpus itself."""
    store = args.workdir / "base.store"
    model = args.workdir / "spm.model"
    if not model.exists():
        _run([*NMT, "binarize", *_config(args), "--train", str(args.data), "--store", str(store)])
        shutil.copy(store / "spm.model", model)
        shutil.rmtree(store)
    return model


def _config(args: argparse.Namespace) -> list[str]:
    sets = [f"--set={s}" for s in args.overrides]
    return ["--config", str(ROOT / "configs" / "bible.yaml"), *sets]


def measure(args: argparse.Namespace, pairs: int, spm_model: Path) -> dict[str, Any]:
    """Write the corpus, binarize it, train on it, resume it; the figures of one size."""
    here = args.workdir / f"{pairs}"
    shutil.rmtree(here, ignore_errors=True)
    here.mkdir()
    corpus, store, run = here / "train", here / "train.store", here / "run"
    replicate(args.data, corpus, pairs)
    row: dict[str, Any] = {"pairs": pairs}

    binarize = [*NMT, "binarize", *_config(args), "--set", f"data.spm_model={spm_model}"]
    seconds, rss = _run([*binarize, "--train", str(corpus), "--store", str(store), "--workers", str(args.workers)])
    row |= {"binarize_s": round(seconds, 1), "binarize_pairs_s": round(pairs / seconds), "binarize_rss_mb": rss}
    row["store_mb"] = round(sum(f.stat().st_size for f in store.iterdir()) / 2**20)

    train = [*NMT, "train", *_config(args), "--train", str(store), "--dev", "", "--out", str(run)]
    quiet = ["--set", "train.log_every=1", "--set", "train.valid_every=1000000", "--set", "train.tensorboard=false"]
    first, rss, tok_s = _train([*train, *quiet, "--max-steps", str(args.steps)], run, 1)
    row |= {"first_step_s": round(first, 1), "train_rss_mb": rss, "tokens_s": round(tok_s)}
    first, _, _ = _train([*train, *quiet, "--resume", "--max-steps", str(args.steps + 5)], run, args.steps + 1)
    row["resume_first_step_s"] = round(first, 1)
    if not args.keep:
        shutil.rmtree(here)
    return row


def replicate(prefix: Path, out: Path, pairs: int) -> None:
    """`pairs` lines of the corpus repeated, copy k's document ids suffixed "#k" (so every document is new)."""
    base = {ext: Path(f"{prefix}.{ext}").read_text(encoding="utf-8").splitlines() for ext in ("en", "es", "doc")}
    n = len(base["en"])
    with ExitStack() as stack:
        files = {ext: stack.enter_context(Path(f"{out}.{ext}").open("w", encoding="utf-8")) for ext in base}
        for start in range(0, pairs, n):
            take = min(n, pairs - start)
            copy = start // n
            files["en"].write("\n".join(base["en"][:take]) + "\n")
            files["es"].write("\n".join(base["es"][:take]) + "\n")
            files["doc"].write("".join(f"{d}#{copy}\n" for d in base["doc"][:take]))


def _run(cmd: list[str]) -> tuple[float, int]:
    """Run to completion: (seconds, peak RSS in MB of the process)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()  # the pipe must be drained while it runs
    _, status, usage = os.wait4(proc.pid, 0)  # not proc.wait(): wait4 also returns the peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err.decode()[-3000:]}")
    return time.monotonic() - start, usage.ru_maxrss // 1024


def _train(cmd: list[str], run: Path, first_step: int) -> tuple[float, int, float]:
    """Run training: (seconds from launch to step `first_step` in metrics.jsonl, peak RSS MB, median tokens/s)."""
    start = time.monotonic()
    with (run.parent / "train.log").open("ab") as log:
        proc = subprocess.Popen(cmd, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        first = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)  # not proc.poll(): it would reap the rusage
            if first is None and first_step in _steps(run):
                first = time.monotonic() - start
            if pid:
                break
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode or first is None:
        raise SystemExit(f"{' '.join(cmd)} failed (or wrote no step {first_step}): see {run.parent / 'train.log'}")
    rates = [tok for step, tok in _steps(run).items() if step >= first_step + 2]
    return first, usage.ru_maxrss // 1024, statistics.median(rates) if rates else float("nan")


def _steps(run: Path) -> dict[int, float]:
    """step -> tokens/s of the training records written so far."""
    try:
        lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    rows = [json.loads(line) for line in lines if line.endswith("}")]
    return {int(r["step"]): float(r["tok_s"]) for r in rows if r.get("kind") == "train"}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def report(rows: list[dict[str, Any]]) -> None:
    """A table, with the 10M-pair goals checked against the smallest size's run."""
    base = rows[0]
    print("\n(under load unless the machine was quiet)")
    head = ("pairs", "binarize pairs/s", "first step s", "train RSS MB", "+RSS MB", "tokens/s", "vs first", "resume s")
    print(" | ".join(head))
    for r in rows:
        cells = [
            f"{r['pairs']:,}",
            f"{r['binarize_pairs_s']:,}",
            f"{r['first_step_s']}",
            f"{r['train_rss_mb']:,}",
            f"{r['train_rss_mb'] - base['train_rss_mb']:+,}",
            f"{r['tokens_s']:,}",
            f"{100 * (r['tokens_s'] / base['tokens_s'] - 1):+.1f}%",
            f"{r['resume_first_step_s']}",
        ]
        print(" | ".join(cells))


if __name__ == "__main__":
    main()
