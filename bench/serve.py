"""Serving benchmark: latency and throughput of `nmt serve` on the default model.

    python bench/serve.py --model runs/bible --data data/bible-en-es/test.en

Starts `nmt serve` as a separate process (so the clients' Python does not
share the server's interpreter), then measures

  * latency p50/p99 of one 20-word sentence, greedy and beam 5, one request at a time;
  * throughput (sentences/s) and latency at 1, 8 and 32 concurrent clients sending
    single-sentence requests from the test set (the model's default search),
    with dynamic batching on (the defaults) and off (--max-batch-size 1);
  * for reference, the same sentences translated offline in this process
    (`Translator.translate_documents`, batches of 32, no server), measured in
    the same run because this machine's speed drifts by 20% between hours.

Prints a Markdown table (and JSON with --json). Figures depend on the machine:
on a 2-core machine the clients and the server share the cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.client import Client  # noqa: E402


def start_server(
    model: str,
    threads: int,
    extra: list[str],
    host: str = "127.0.0.1",
    metrics_port: int = 0,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[subprocess.Popen[str], int]:
    """`nmt serve` on a free loopback port; returns the process and its port (read from its JSON log).

    `metrics_port` (0: none) serves /metrics there, for `worker_stats`; `on_event` gets each later
    JSON log line (the access log's `rpc` events carry queue_ms, steps and other_steps)."""
    cmd = [sys.executable, "-m", "nmt", "serve", "--model", model, "--host", host, "--port", "0"]
    cmd += ["--metrics-port", str(metrics_port), "--threads", str(threads), *extra]  # INFO logs, as in production
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        event = json.loads(line) if line.startswith("{") else {}  # a warning printed before logging starts
        if event.get("event") == "started":
            threading.Thread(target=_drain, args=(proc, on_event), daemon=True).start()
            return proc, int(event["port"])
    raise RuntimeError(f"server exited with {proc.wait()}")


def _drain(proc: subprocess.Popen[str], on_event: Callable[[dict[str, Any]], None] | None) -> None:
    """Read the server's log to its end (a full pipe would block it), handing JSON events to `on_event`."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if on_event is not None and line.startswith("{"):
            with contextlib.suppress(ValueError):  # a line that only looks like JSON
                on_event(json.loads(line))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_stats(metrics_port: int) -> dict[str, float]:
    """The server's decoding-step counters (/metrics): steps, live sentences summed over steps, busy seconds."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    names = {"nmt_batch_size_count": "steps", "nmt_batch_size_sum": "sentences", "nmt_batch_seconds_sum": "busy_s"}
    out = dict.fromkeys(names.values(), 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in names:
            out[names[name]] += float(line.rsplit(" ", 1)[1])
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latency(target: str, sentence: str, beam: int, n: int) -> dict[str, float]:
    with Client(target, timeout=120) as c:
        for _ in range(3):  # warm-up
            c.translate([sentence], beam_size=beam)
        times = []
        for _ in range(n):
            start = time.perf_counter()
            c.translate([sentence], beam_size=beam)
            times.append(time.perf_counter() - start)
    return {"p50_ms": 1000 * statistics.median(times), "p99_ms": 1000 * percentile(times, 99)}


def throughput(target: str, sentences: list[str], clients: int, metrics_port: int = 0) -> dict[str, float]:
    """Sentences/s and latency of `clients` concurrent one-sentence callers; with `metrics_port`, also
    what explains the rate: the worker's busy share of the wall time and its live sentences per step."""
    before = worker_stats(metrics_port) if metrics_port else {}
    wall = time.perf_counter()
    row = _throughput(target, sentences, clients)
    if metrics_port:
        wall = time.perf_counter() - wall
        delta = {k: v - before[k] for k, v in worker_stats(metrics_port).items()}
        row["worker_busy"] = delta["busy_s"] / wall
        row["sentences_per_step"] = delta["sentences"] / max(1.0, delta["steps"])
    return row


def _throughput(target: str, sentences: list[str], clients: int) -> dict[str, float]:
    with Client(target, timeout=300) as c:
        c.translate(sentences[:1])  # warm-up
        times: list[float] = []

        def one(s: str) -> None:
            start = time.perf_counter()
            c.translate([s])
            times.append(time.perf_counter() - start)

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, sentences))
        seconds = time.perf_counter() - start
    return {
        "sentences_per_s": len(sentences) / seconds,
        "p50_ms": 1000 * statistics.median(times),
        "p99_ms": 1000 * percentile(times, 99),
    }


def offline(model: str, sentences: list[str], threads: int, int8: bool) -> float:
    """Sentences/s of the library itself on the same sentences, batches of 32: the ceiling to compare with."""
    import dataclasses

    import torch

    from translator.inference import Translator

    torch.set_num_threads(threads)
    translator = Translator.load(model, int8=int8)
    decode = dataclasses.replace(translator.config.decode, batch_size=32)
    translator.translate_documents([[s] for s in sentences[:32]], decode=decode)  # warm-up
    start = time.perf_counter()
    translator.translate_documents([[s] for s in sentences], decode=decode)
    return len(sentences) / (time.perf_counter() - start)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="runs/bible", help="run directory or checkpoint")
    p.add_argument("--data", default="data/bible-en-es/test.en", help="source sentences, one per line")
    p.add_argument("--requests", type=int, default=300, help="requests per throughput run")
    p.add_argument("--latency-requests", type=int, default=50)
    p.add_argument("--threads", type=int, default=2, help="server torch threads")
    p.add_argument("--int8", action="store_true", help="serve (and translate offline) with int8 quantization")
    p.add_argument("--server-flag", action="append", default=[], help="extra `nmt serve` flag, e.g. max-wait-ms=0")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args()
    from translator import devices

    print(f"hardware: {devices.describe()}")  # every figure names the CPU it was measured on
    lines = [s for s in Path(args.data).read_text(encoding="utf-8").splitlines() if s.strip()]
    sentence = next(s for s in lines if len(s.split()) == 20)
    sample = lines[: args.requests]
    results: dict[str, object] = {"sentence": sentence, "hardware": devices.describe()}
    modes = {"dynamic batching": [], "no batching": ["--max-batch-size", "1", "--max-wait-ms", "0"]}
    flags = [f if f.startswith("--") else f"--{f}" for f in args.server_flag]
    print(f"server flags: {' '.join(flags) or '(defaults)'}")
    for mode, extra in modes.items():
        metrics = free_port()
        proc, port = start_server(
            args.model, args.threads, flags + extra + (["--int8"] if args.int8 else []), metrics_port=metrics
        )
        target = f"127.0.0.1:{port}"
        try:
            # Warm-up under load: the first batches of each new shape are slow (kernel set-up).
            throughput(target, sample[:96], 32)
            if mode == "dynamic batching":
                results["latency"] = {f"beam {b}": latency(target, sentence, b, args.latency_requests) for b in (1, 5)}
            results[mode] = {str(n): throughput(target, sample, n, metrics) for n in (1, 8, 32)}
        finally:
            proc.terminate()
            proc.wait(timeout=60)

    results["offline"] = offline(args.model, sample, args.threads, args.int8)
    print(f"Latency of one 20-word sentence ({args.latency_requests} sequential requests):\n")
    print("| search | p50 ms | p99 ms |\n|---|---|---|")
    for name, row in results["latency"].items():  # type: ignore[attr-defined]
        print(f"| {name} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} |")
    print(f"\nThroughput, {len(sample)} single-sentence requests from {args.data}, the model's default search:\n")
    print("| clients | batching | sentences/s | p50 ms | p99 ms | worker busy | sentences per step |")
    print("|---|---|---|---|---|---|---|")
    for n in ("1", "8", "32"):
        for mode in modes:
            row = results[mode][n]  # type: ignore[index]
            print(
                f"| {n} | {mode} | {row['sentences_per_s']:.1f} | {row['p50_ms']:.0f} | {row['p99_ms']:.0f} "
                f"| {row['worker_busy']:.0%} | {row['sentences_per_step']:.1f} |"
            )
    print(f"\nOffline, the same sentences, batches of 32, no server: {results['offline']:.1f} sentences/s")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
