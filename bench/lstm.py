"""Training-time LSTM: our length-sorted scan against PyTorch's fused kernel, forward + backward.

    python bench/lstm.py --threads 2

`translator/lstm.py` runs training LSTMs as a Python loop over time steps because the document
carry needs each row's exact final state. This times one forward + backward at training shapes
(a batch of 128 sentences of up to 40 pieces, lengths uniform in 10..40) for three ways to run them:

- fused: `nn.LSTM` over the padded batch (final states wrong for shorter rows: a lower bound, not
  an option);
- packed: `nn.LSTM` over `pack_padded_sequence` (exact; `run_lstm(fused=True)`, what training on CUDA uses);
- scan: `translator.lstm.run_lstm` (exact; what training on the CPU uses).

Both in fp32 and under bf16 autocast, for the default encoder (bidirectional 256) and decoder (512).

Then inference: one `--int8` decoding step of the reference decoder (2 layers of 512), the
quantized `nn.LSTM` that `Translator.quantize_int8` makes, against the same cell written as one
int8 linear layer per layer over [input; h] plus the gate arithmetic, i.e. at the rate of the
int8 linear layers that `bench/peak.py` measures.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from translator import devices
from translator.inference import quantize_int8
from translator.lstm import run_lstm


def timed(fn: Callable[[], Tensor], repeats: int) -> float:
    """Median milliseconds of forward + backward."""
    fn().float().sum().backward()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn().float().sum().backward()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def compare(name: str, lstm: nn.LSTM, x: Tensor, lengths: Tensor, bf16: bool, repeats: int) -> None:
    def autocast() -> torch.autocast:
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    def fused() -> Tensor:
        with autocast():
            return lstm(x)[0]

    def packed() -> Tensor:
        with autocast():
            return run_lstm(lstm, x, lengths, fused=True)[0]  # what training on CUDA calls

    def scan() -> Tensor:
        with autocast():
            return run_lstm(lstm, x, lengths, fused=False)[0]

    row = {way: timed(fn, repeats) for way, fn in (("fused", fused), ("packed", packed), ("scan", scan))}
    print(f"| {name} | {'bf16' if bf16 else 'fp32'} | " + " | ".join(f"{v:.0f}" for v in row.values()) + " |")


def int8_step(rows: int, repeats: int) -> None:
    """Milliseconds per decoding step: quantized nn.LSTM against int8 linear layers + gate arithmetic."""
    lstm = nn.LSTM(256, 512, 2, batch_first=True)
    layers = []
    for layer in range(2):
        w = (getattr(lstm, f"weight_ih_l{layer}"), getattr(lstm, f"weight_hh_l{layer}"))
        linear = nn.Linear(w[0].shape[1] + 512, 4 * 512)
        linear.weight.data = torch.cat(w, 1)
        linear.bias.data = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
        layers.append(quantize_int8(nn.Sequential(linear))[0])
    quantized = quantize_int8(nn.Sequential(lstm))[0]
    x, h, c = torch.randn(rows, 1, 256), torch.randn(2, rows, 512) / 10, torch.randn(2, rows, 512) / 10

    def cell() -> Tensor:
        inp = x[:, 0]
        for layer, linear in enumerate(layers):
            i, f, g, o = linear(torch.cat([inp, h[layer]], 1)).chunk(4, 1)
            inp = torch.sigmoid(o) * torch.tanh(torch.sigmoid(f) * c[layer] + torch.sigmoid(i) * torch.tanh(g))
        return inp

    def median_ms(fn: Callable[[], object]) -> float:
        fn()
        times = []
        for _ in range(repeats * 10):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return 1000 * sorted(times)[len(times) // 2]

    with torch.inference_mode():
        gap = float((quantized(x, (h, c))[0][:, 0] - cell()).abs().max())
        print(f"| {rows} | {median_ms(lambda: quantized(x, (h, c))):.2f} | {median_ms(cell):.2f} | {gap:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"hardware: {devices.describe()}")  # every figure names the CPU it was measured on
    torch.manual_seed(0)
    batch, steps = 128, 40
    lengths = torch.randint(10, steps + 1, (batch,))
    lengths[0] = steps
    print(f"forward + backward, median of {args.repeats}, milliseconds ({args.threads} threads)")
    print("| LSTM | precision | fused (padded, inexact) | packed | scan (ours) |")
    print("|---|---|---:|---:|---:|")
    for name, lstm in (
        ("encoder: bidirectional 256, input 256", nn.LSTM(256, 256, batch_first=True, bidirectional=True)),
        ("decoder: 512, input 256", nn.LSTM(256, 512, batch_first=True)),
    ):
        x = torch.randn(batch, steps, 256, requires_grad=True)
        for bf16 in (False, True):
            compare(name, lstm, x, lengths, bf16, args.repeats)
    print("\nint8 decoding step, 2 x 512 decoder, median milliseconds")
    print("| rows (beams x sentences) | quantized nn.LSTM | int8 linear cell | largest output difference |")
    print("|---:|---:|---:|---:|")
    for rows in (20, 150, 320):
        int8_step(rows, args.repeats)


if __name__ == "__main__":
    main()
