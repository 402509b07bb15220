"""How far from this CPU's limit are we? Peak matmul FLOP/s against what training and decoding reach.

    python bench/peak.py --run runs/bible --data data/bible-en-es --threads 2

- Peak: the best of several large square matrix products (fp32 and bf16) at the same thread count;
  for int8, what `--int8` decoding runs on: a dynamically quantized linear layer (int8 weights,
  activations quantized on the fly), at a square size and at a decoding step's shape.
- Work: multiply-adds counted by hand from the checkpoint's config, for the matrix products that
  dominate (LSTM gates, attention projections, attention itself, output layer); elementwise work
  is left out, so the fractions below are slight underestimates. FLOPs = 2 x multiply-adds;
  a training step costs 3x its forward pass (forward, then backward through inputs and weights).
- Training: source+target tokens/s read from the run's metrics.jsonl (what the run measured).
- Decoding: greedy, batch 64, fp32 and int8, timed here on the first --sentences test sentences.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch
from torch import nn

from training.trainer import autocast_bf16
from translator import devices
from translator.config import ModelConfig
from translator.corpus import read_corpus
from translator.inference import Translator, quantize_int8


def peak_flops(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def peak_int8_ops(rows: int, size_in: int, size_out: int, repeats: int = 20) -> float:
    """Ops/s of an int8 dynamically quantized linear layer on (rows, size_in) float inputs."""
    layer = quantize_int8(nn.Sequential(nn.Linear(size_in, size_out)))
    x = torch.randn(rows, size_in)
    with torch.inference_mode():
        layer(x)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            layer(x)
            best = min(best, time.perf_counter() - start)
    return 2 * rows * size_in * size_out / best


def encoder_macs(c: ModelConfig) -> float:
    """Multiply-adds per source token: the bi-LSTM (all layers) and the attention key projection."""
    lstm = 2 * 4 * c.enc_hidden * (c.emb_size + c.enc_hidden)
    lstm += (c.enc_layers - 1) * 2 * 4 * c.enc_hidden * (2 * c.enc_hidden + c.enc_hidden)
    return lstm + 2 * c.enc_hidden * c.dec_hidden


def decoder_macs(c: ModelConfig, attended: float) -> float:
    """Multiply-adds per target token, attending over `attended` positions on average."""
    features = c.emb_size if c.tie_output else c.dec_hidden
    lstm = 4 * c.dec_hidden * (c.emb_size + c.dec_hidden) + (c.dec_layers - 1) * 4 * c.dec_hidden * 2 * c.dec_hidden
    attention = attended * (c.dec_hidden + 2 * c.enc_hidden)  # scores, then the weighted sum
    return lstm + attention + (2 * c.enc_hidden + c.dec_hidden) * features + features * c.vocab_size


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, default=Path("runs/bible"))
    p.add_argument("--data", type=Path, default=Path("data/bible-en-es"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sentences", type=int, default=320)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"hardware: {devices.describe()}")  # every figure names the CPU it was measured on

    # bf16 only where it is native: emulated, it is some 40x below fp32 and training never uses it (devices.py)
    dtypes = {"fp32": torch.float32, **({"bf16": torch.bfloat16} if devices.cpu_bf16() else {})}
    peaks = {name: peak_flops(dtype) for name, dtype in dtypes.items()}
    print(f"peak matmul ({args.threads} threads): " + ", ".join(f"{k} {v / 1e9:.1f} GFLOP/s" for k, v in peaks.items()))
    t = Translator.load(args.run)
    cfg = t.config.model
    step_shape = (320, t.model.output.in_features, cfg.vocab_size)  # beam 5 x 64 sentences through the output layer
    square, step = peak_int8_ops(2048, 2048, 2048), peak_int8_ops(*step_shape)
    peaks["int8"] = max(square, step)
    print(
        f"int8 dynamic linear: {square / 1e9:.1f} GOP/s at 2048^3, {step / 1e9:.1f} at {step_shape} "
        "(the output layer of a beam-5 step); its peak is the larger"
    )

    sample = [
        s
        for d in read_corpus(str(args.data / "train"), "en", "es")[:200]
        for s in zip(d.sources, d.targets, strict=True)
    ]
    src = sum(len(ids) + 1 for ids in t.tokenizer.encode_batch([s for s, _ in sample])) / len(sample)  # + EOS
    tgt = sum(len(ids) + 1 for ids in t.tokenizer.encode_batch([g for _, g in sample])) / len(sample)
    memory = cfg.memory_tokens if cfg.context in ("attend", "target") else 0
    pair_flops = 2 * (src * encoder_macs(cfg) + tgt * decoder_macs(cfg, src + memory))
    print(f"model: {cfg.context}, mean {src:.1f} source / {tgt:.1f} target pieces per pair (train sample)")
    print(f"forward: {2 * encoder_macs(cfg) / 1e6:.1f} MFLOP per source token, "
          f"{2 * decoder_macs(cfg, src + memory) / 1e6:.1f} MFLOP per target token")  # fmt: skip

    rows = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines()]
    tok_s = [r["tok_s"] for r in rows if r["kind"] == "train"]
    mean_tok_s = sum(tok_s) / len(tok_s)
    train_flops = 3 * pair_flops * mean_tok_s / (src + tgt)
    precision = "bf16" if autocast_bf16(torch.device("cpu"), t.config.train.precision) else "fp32"
    print(
        f"training ({precision}, from metrics.jsonl): {mean_tok_s:,.0f} tokens/s = {train_flops / 1e9:.1f} GFLOP/s, "
        f"{100 * train_flops / peaks[precision]:.0f}% of the {precision} peak"
    )

    docs = read_corpus(str(args.data / "test"), "en", "es")
    sources = [s for d in docs for s in d.sources][: args.sentences]
    for kind in ("fp32", "int8"):
        model = Translator.load(args.run, int8=True) if kind == "int8" else t
        rate, flops = greedy_decoding(model, sources, memory)
        print(
            f"greedy decoding ({kind}, batch 64, {len(sources)} sentences): {rate:.1f} sentences/s, "
            f"{flops / 1e9:.1f} GFLOP/s, {100 * flops / peaks[kind]:.0f}% of the {kind} peak"
        )


def greedy_decoding(t: Translator, sources: list[str], memory: int) -> tuple[float, float]:
    """Sentences/s and FLOP/s (hand-counted) of greedy decoding in sentence batches of 64."""
    cfg = t.config.model
    decode = dataclasses.replace(t.config.decode, beam_size=1, batch_size=64)
    t.translate_sentences(sources[:64], None, decode)  # warm-up
    start = time.perf_counter()
    out = []
    for i in range(0, len(sources), 64):
        out += t.translate_sentences(sources[i : i + 64], None, decode)[0]
    seconds = time.perf_counter() - start
    src_tokens = sum(len(ids) + 1 for ids in t.tokenizer.encode_batch(sources))
    out_tokens = sum(len(ids) + 1 for ids in t.tokenizer.encode_batch([o.text for o in out]))
    flops = 2 * (src_tokens * encoder_macs(cfg) + out_tokens * decoder_macs(cfg, src_tokens / len(sources) + memory))
    return len(sources) / seconds, flops / seconds


if __name__ == "__main__":
    main()
