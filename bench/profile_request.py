"""Where one request's time goes: a single sentence, by phase, in process and through the server.

    python bench/profile_request.py --model runs/bible-stories [--int8] [--beam 1] [--repeats 30]

In process it runs exactly the server worker's path for a one-sentence request (tokenize, join a
`DocumentSearch` = encode + the decoder's initial state, step until the sentence ends, finish =
detokenize + the document state it leaves, the context blob the response carries) and times each
phase with `time.perf_counter`; inside the steps, forward hooks time the decoder's LSTM, its
attention, the feature layer and the output layer, and the rest of a step (the search's
bookkeeping: top-k, reordering, Python) is what is left. All of it runs on one thread as the
server's worker does, so the phases add up to the in-process total.

Then (unless --no-server) it starts `nmt serve` on a free loopback port with the same model and
flags and measures the same request end to end from a gRPC client (p50/p99); the server's own
overhead (request parsing, admission, threads, response) is the difference of the medians.
Speed varies 20% between hours on a shared machine: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serve import latency, start_server  # noqa: E402
from server import contextblob  # noqa: E402
from translator import decoder, devices  # noqa: E402
from translator.config import DecodeConfig  # noqa: E402
from translator.decoding import Translation  # noqa: E402
from translator.documents import DocumentSearch  # noqa: E402
from translator.inference import Translator  # noqa: E402
from translator.state import DocState  # noqa: E402


@dataclass(eq=False)
class OneSentence:
    """A document of one sentence, as the server's `Job` is to `DocumentSearch`."""

    pieces: list[list[int]]
    results: list[Translation] = field(default_factory=list)
    doc_state: DocState | None = None


class Clock:
    """Seconds per phase, summed over repeats."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] += time.perf_counter() - start

    def hook(self, module: nn.Module, name: str) -> None:
        """Time every call of `module` under `name` (forward pre- and post-hooks)."""
        started: list[float] = []
        module.register_forward_pre_hook(lambda *_: started.append(time.perf_counter()))

        def done(*_: object) -> None:
            self.seconds[name] += time.perf_counter() - started.pop()

        module.register_forward_hook(done)

    def wrap(self, owner: object, attribute: str, name: str) -> None:
        """Time every call of the function `owner.attribute` under `name`."""
        function = getattr(owner, attribute)

        def timed(*args: object, **kwargs: object) -> object:
            with self.phase(name):
                return function(*args, **kwargs)

        setattr(owner, attribute, timed)


def in_process(t: Translator, sentence: str, decode: DecodeConfig, repeats: int) -> tuple[dict[str, float], int]:
    """Milliseconds per request by phase (medians are not additive: means), and the steps a request took."""
    clock = Clock()
    model = t.model
    clock.hook(model.decoder.lstm, "step: decoder LSTM")  # the library kernel (int8 models)
    clock.wrap(decoder, "one_step", "step: decoder LSTM")  # the explicit cell a float model's step runs
    clock.hook(model.decoder.attention, "step: attention")
    clock.hook(model.decoder.combine, "step: feature layer")
    clock.hook(model.output, "step: output layer")
    steps = 0
    run(t, sentence, decode, Clock())  # warm-up: lazy initialisation, allocator
    clock.seconds.clear()
    for _ in range(repeats):
        steps = run(t, sentence, decode, clock)
    per_request = {name: 1000 * s / repeats for name, s in clock.seconds.items()}
    stepping = per_request.pop("steps")  # the hooked parts fire only in the steps (join and finish use none)
    model_parts = sum(v for k, v in per_request.items() if k.startswith("step:"))
    per_request["step: the rest (search bookkeeping, embedding, softmax, Python)"] = stepping - model_parts
    return per_request, steps


@torch.inference_mode()
def run(t: Translator, sentence: str, decode: DecodeConfig, clock: Clock) -> int:
    """One request through the worker's path; returns the decoding steps it took."""
    with clock.phase("tokenize"):
        doc = OneSentence([t.tokenizer.encode(sentence)])
    with clock.phase("encode and initial state (join)"):
        search: DocumentSearch[OneSentence] = DocumentSearch(t.decoding, decode)
        search.join([doc])
    with clock.phase("steps"):
        ended, steps = search.step(), 1
        while not ended:
            ended, steps = search.step(), steps + 1
    with clock.phase("finish: text and next document state"):
        for live, hyps in ended:
            search.finish(live, hyps)
    with clock.phase("context blob"):
        contextblob.encode("m", "v", 1, doc.doc_state)
    return steps


def table(rows: dict[str, float], total_label: str) -> str:
    total = sum(rows.values())
    lines = ["| phase | ms per request | share |", "|---|---:|---:|"]
    lines += [f"| {name} | {ms:.2f} | {100 * ms / total:.0f}% |" for name, ms in rows.items()]
    lines.append(f"| **{total_label}** | **{total:.2f}** | |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="runs/bible-stories")
    p.add_argument("--data", default="data/bible-en-es/test.en", help="the first 20-word line is the request")
    p.add_argument("--beam", type=int, nargs="+", default=[1, 5])
    p.add_argument("--int8", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--no-server", action="store_true", help="in-process phases only")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"hardware: {devices.describe()}")
    lines = [s for s in Path(args.data).read_text(encoding="utf-8").splitlines() if s.strip()]
    sentence = next(s for s in lines if len(s.split()) == 20)
    t = Translator.load(args.model, int8=args.int8)
    print(f"model {args.model} ({'int8' if args.int8 else 'fp32'}), {args.threads} threads; request: {sentence!r}")
    served = serve_latency(args, sentence) if not args.no_server else {}
    for beam in args.beam:
        decode = DecodeConfig(beam_size=beam, batch_size=1)
        rows, steps = in_process(t, sentence, decode, args.repeats)
        print(f"\n### beam {beam}: {steps} steps, means over {args.repeats} requests\n")
        print(table(rows, "in process, total"))
        if beam in served:
            p50, p99 = served[beam]
            print(f"\nthrough `nmt serve` (gRPC, loopback): p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
                  f"the server adds {p50 - sum(rows.values()):.1f} ms over the in-process total")  # fmt: skip


def serve_latency(args: argparse.Namespace, sentence: str) -> dict[int, tuple[float, float]]:
    """p50/p99 ms of the request through a real server, per beam."""
    proc, port = start_server(args.model, args.threads, ["--int8"] if args.int8 else [])
    try:
        out = {}
        for beam in args.beam:
            measured = latency(f"127.0.0.1:{port}", sentence, beam, args.repeats)
            out[beam] = (measured["p50_ms"], measured["p99_ms"])
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
