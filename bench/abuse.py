"""Hostile-load benchmark: does a quiet bystander stay fast while other clients abuse the server?

    python bench/abuse.py --model runs/bible --data data/bible-en-es/test.en

Starts `nmt serve` on 127.0.0.1 (a separate process; this script never talks
to anything but loopback) and measures one bystander sending one-sentence
greedy requests, one at a time:

  1. quiet: nothing else runs;
  2. under attack, while
       * 32 slow-reader streams send requests whose replies they never read,
       * 16 clients send 256-sentence documents (the model's default beam),
       * 8 clients send beam-16 / n-best-16 requests (16 sentences each,
         the most `--max-request-work` allows);
  3. after: the attackers stopped; how long until the quiet speed is back.

The attackers run in a process of their own (threads there), so their
Python does not hold the bystander's interpreter lock. It prints the
bystander's p50/p99 and failures in each phase, and the server's resident
memory (VmRSS, sampled every 0.2 s) in each. Every loop is bounded twice: in
count and in time (`--attack-seconds`, request deadlines). Figures depend on
the machine; on a 2-core one the attackers' and the bystander's Python share
the cores with the server.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serve import percentile, start_server  # noqa: E402
from server.client import Client  # noqa: E402
from server.gen import translator_pb2 as pb  # noqa: E402
from server.gen import translator_pb2_grpc as pb_grpc  # noqa: E402

HOST = "127.0.0.1"  # loopback only: the attack never leaves this machine
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]  # each attacker a client (channels share one otherwise)
FALLBACK = [
    "In the beginning God created the heavens and the earth.",
    "And the earth was without form, and void; and darkness was upon the face of the deep.",
    "And God said, Let there be light: and there was light.",
    "And God saw the light, that it was good: and God divided the light from the darkness.",
]


def hardware() -> str:
    """The CPU (model, torch capability, bf16, threads): every figure names what it ran on."""
    from translator import devices

    return devices.describe()


@dataclass
class Phase:
    """The bystander's view of one phase."""

    name: str
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        ms = [1000 * t for t in self.times] or [float("nan")]
        return {
            "phase": self.name,
            "requests": len(self.times),
            "failures": len(self.failures),
            "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(percentile(ms, 99), 1),
            "max_rss_mb": round(max(self.rss_mb, default=float("nan")), 1),
        }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sample_rss(pid: int, phase: Callable[[], Phase], stop: threading.Event) -> None:
    while not stop.wait(0.2):
        phase().rss_mb.append(rss_mb(pid))


def bystander(target: str, sentences: list[str], phase: Phase, count: int, seconds: float) -> None:
    """`count` one-sentence greedy requests, one at a time, for at most `seconds`."""
    end = time.monotonic() + seconds
    with Client(target, timeout=60) as c:
        for i in range(count):
            if time.monotonic() > end:
                break
            start = time.perf_counter()
            try:
                c.translate([sentences[i % len(sentences)]], beam_size=1)
                phase.times.append(time.perf_counter() - start)
            except grpc.RpcError as e:
                phase.failures.append(e.code().name)  # type: ignore[attr-defined]


def bystander_event(logged: list[tuple[str, dict[str, Any]]], current: list[Phase], event: dict[str, Any]) -> None:
    """Keep the access-log line of each one-sentence Translate (only the bystander sends those)."""
    if event.get("event") == "rpc" and event.get("method") == "Translate" and event.get("sentences") == 1:
        logged.append((current[0].name, event))


def print_server_view(logged: list[tuple[str, dict[str, Any]]]) -> None:
    """Per phase, the server's account of the bystander's requests: queue time and steps, median and slowest."""
    print("\nThe server's view of the bystander's requests (access log): median; the slowest 3 as ms/queue/own/other")
    for name in ("quiet", "under attack", "after"):
        events = sorted((e for phase, e in logged if phase == name), key=lambda e: float(e["ms"]))
        if not events:
            continue
        mid = events[len(events) // 2]
        slow = "; ".join(f"{e['ms']:.0f}/{e['queue_ms']:.1f}/{e['steps']}/{e['other_steps']}" for e in events[-3:])
        print(
            f"- {name}: {len(events)} requests, median {mid['ms']:.0f} ms (queued {mid['queue_ms']:.1f} ms, "
            f"{mid['steps']} own steps, {mid['other_steps']} other steps); slowest {slow}"
        )


def loop(target: str, stop: threading.Event, request: pb.TranslateRequest, label: str, outcomes: list[str]) -> None:
    """An attacker: `request` again and again until `stop` (which cancels the one in flight), at most 1,000 times."""
    with grpc.insecure_channel(target, options=OWN_CONNECTION) as channel:
        stub = pb_grpc.TranslatorStub(channel)
        for _ in range(1000):
            if stop.is_set():
                return
            call = stub.Translate.future(request, timeout=300)
            while not call.done():
                if stop.wait(0.1):
                    call.cancel()
                    return
            outcomes.append(f"{label} {call.code().name}")
            if call.exception() is not None:
                stop.wait(0.2)  # refused (per-client limit, queue full): try again a little later


def unread_requests(
    sentences: list[str], stop: threading.Event, ended: threading.Event
) -> Iterator[pb.TranslateRequest]:
    """A slow reader's requests: up to 64, then it holds the stream open until it ends."""
    for _ in range(64):
        if stop.is_set() or ended.is_set():
            return
        yield pb.TranslateRequest(sentences=sentences[:16], options=pb.DecodeOptions(beam_size=4, n_best=4))
    ended.wait(900)


def slow_reader(target: str, stop: threading.Event, sentences: list[str], outcomes: list[str]) -> None:
    """Streams whose replies are never read; a new one when the server ends one (at most 20)."""
    options = [*OWN_CONNECTION, ("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 1024)]  # small window
    with grpc.insecure_channel(target, options=options) as channel:
        stub = pb_grpc.TranslatorStub(channel)
        for _ in range(20):
            if stop.is_set():
                return
            ended = threading.Event()
            call = stub.TranslateStream(unread_requests(sentences, stop, ended), timeout=900)
            call.add_done_callback(lambda _, ended=ended: ended.set())
            while not ended.wait(0.5) and not stop.is_set():
                pass
            outcomes.append(f"slow reader {call.code().name if call.done() else 'still held'}")
            ended.set()
            call.cancel()


def attack(target: str, sentences: list[str], stop: threading.Event, outcomes: list[str]) -> list[threading.Thread]:
    doc = pb.TranslateRequest(sentences=(sentences * (256 // len(sentences) + 1))[:256])  # the model's default beam
    wide = pb.TranslateRequest(sentences=sentences[:16], options=pb.DecodeOptions(beam_size=16, n_best=16))
    threads = [threading.Thread(target=slow_reader, args=(target, stop, sentences, outcomes)) for _ in range(32)]
    threads += [
        threading.Thread(target=loop, args=(target, stop, doc, "256-sentence doc", outcomes)) for _ in range(16)
    ]
    threads += [
        threading.Thread(target=loop, args=(target, stop, wide, "beam-16 n-best-16", outcomes)) for _ in range(8)
    ]
    for t in threads:
        t.daemon = True
        t.start()
    return threads


def attack_process(target: str, sentences: list[str], stop: Any, results: Any, seconds: float) -> None:
    """The attack, in a process of its own, until `stop` (at most `seconds` + 60 s); its refusals go to `results`."""
    errors: list[str] = []
    halt = threading.Event()
    threads = attack(target, sentences, halt, errors)
    stop.wait(seconds + 60)
    halt.set()
    end = time.monotonic() + 30
    for t in threads:
        t.join(timeout=max(0.1, end - time.monotonic()))
    results.put(errors)


def recovery(target: str, sentences: list[str], quiet_p99: float, phase: Phase, since: float, seconds: float) -> float:
    """Seconds from the attack's end (`since`) until five requests in a row are within the quiet p99 (nan: never)."""
    start, streak = since, 0
    with Client(target, timeout=60) as c:
        for i in range(10_000):
            if time.monotonic() - start > seconds:
                return float("nan")
            t0 = time.perf_counter()
            try:
                c.translate([sentences[i % len(sentences)]], beam_size=1)
            except grpc.RpcError as e:
                phase.failures.append(e.code().name)  # type: ignore[attr-defined]
                streak = 0
                continue
            took = time.perf_counter() - t0
            phase.times.append(took)
            streak = streak + 1 if took <= quiet_p99 else 0
            if streak == 5:
                return time.monotonic() - start
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="runs/bible", help="run directory or checkpoint")
    p.add_argument("--data", default="data/bible-en-es/test.en", help="source sentences, one per line")
    p.add_argument("--requests", type=int, default=100, help="bystander requests per phase")
    p.add_argument("--attack-seconds", type=float, default=120.0, help="longest the attack phase may last")
    p.add_argument("--threads", type=int, default=2, help="server torch threads")
    p.add_argument("--server-flag", action="append", default=[], help="extra `nmt serve` flag (repeatable)")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args()
    print(f"hardware: {hardware()}")
    data = Path(args.data)
    lines = [s for s in data.read_text(encoding="utf-8").splitlines() if s.strip()] if data.exists() else FALLBACK
    sentences = [s for s in lines if 8 <= len(s.split()) <= 30][:500] or lines
    flags = [f if f.startswith("--") else f"--{f}" for f in args.server_flag]
    phases = [Phase("quiet"), Phase("under attack"), Phase("after")]
    current = [Phase("warm-up")]
    logged: list[tuple[str, dict[str, Any]]] = []  # (phase, access-log event) of every one-sentence Translate
    proc, port = start_server(args.model, args.threads, flags, HOST, on_event=partial(bystander_event, logged, current))
    target = f"{HOST}:{port}"
    sampling = threading.Event()
    threading.Thread(target=sample_rss, args=(proc.pid, lambda: current[0], sampling), daemon=True).start()
    try:
        bystander(target, sentences, current[0], 5, 60)
        current[0] = phases[0]
        bystander(target, sentences, phases[0], args.requests, args.attack_seconds)
        spawn = multiprocessing.get_context("spawn")  # gRPC in a forked child can hang; the bystander has a channel
        stop, results = spawn.Event(), spawn.Queue()
        attacker = spawn.Process(target=attack_process, args=(target, sentences, stop, results, args.attack_seconds))
        current[0] = phases[1]
        attacker.start()  # its own process: the attackers' Python does not share the bystander's interpreter lock
        time.sleep(min(10.0, args.attack_seconds / 4))  # the attackers fill the server first
        bystander(target, sentences, phases[1], args.requests, args.attack_seconds)
        stop.set()
        stopped = time.monotonic()
        current[0] = phases[2]
        errors = results.get(timeout=60)
        attacker.join(timeout=30)
        quiet_p99 = percentile(phases[0].times, 99)
        back = recovery(target, sentences, quiet_p99, phases[2], stopped, 60.0)
        bystander(target, sentences, phases[2], args.requests, args.attack_seconds)
    finally:
        sampling.set()
        proc.terminate()
        proc.wait(timeout=60)
    rows = [ph.row() for ph in phases]
    print("| phase | bystander requests | failures | p50 ms | p99 ms | server RSS max MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(str(v) for v in r.values()) + " |")
    print_server_view(logged)
    ratio = float(rows[1]["p99_ms"]) / float(rows[0]["p99_ms"])  # type: ignore[arg-type]
    print(f"p99 under attack / quiet p99: {ratio:.2f}; quiet speed back {back:.1f} s after the attack stopped")
    refused = {outcome: errors.count(outcome) for outcome in sorted(set(errors))}
    print(f"attackers' calls, by how they ended: {refused}")
    if args.json:
        print(json.dumps({"phases": rows, "p99_ratio": ratio, "recovery_s": back, "attacker_outcomes": refused}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
