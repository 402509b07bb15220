"""Run an `nn.LSTM`'s weights over right-padded batches, with exact final states.

Why not `pack_padded_sequence`? On CPU its backward pass slices the packed
input once per time step and autograd materialises a full-size zero
gradient for every slice: measured here, 2.7x the backward time of a dense
LSTM, most of a training step. A dense `nn.LSTM` call is fast but runs
through the padding, so its final state is wrong for every shorter row, and
the final state is exactly what a document carries to its next sentence.

This scan sorts the rows by length, computes all input projections in one
matrix product, then steps through time running only the rows that have
not ended yet (a prefix of the sorted batch), like packing does, so no
work is spent on padding. Outputs and final states equal the packed LSTM's
(tested) at a fraction of its backward cost.
The weights stay those of the `nn.LSTM`, so one-token decoding steps can
still call the fused `nn.LSTM` directly. Without autograd (translation,
validation) there is no backward to avoid, and the packed fused kernel is
faster than the scan's Python loop over time steps, so it is used instead.

On CUDA the trade reverses: the scan launches a handful of kernels per time
step, while cuDNN runs the whole packed sequence (forward and backward) in
one call, so training there uses the packed fused kernel too. Both give the
same outputs (zero past each row's length) and final states, to float
rounding (tests/translator/test_lstm.py forces either path on the CPU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def run_lstm(
    lstm: nn.LSTM,
    x: Tensor,
    lengths: Tensor,
    hx: tuple[Tensor, Tensor] | None = None,
    fused: bool | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Apply `lstm` (batch_first, any layers, uni- or bidirectional) to a right-padded batch.

    Shapes:
        x: (B, T, E); lengths: (B,) >= 1, on the CPU; hx: (L*D, B, H) initial
        h and c in nn.LSTM's layout, or None for zeros.
        Returns outputs (B, T, D*H), zero on padding, and final h, c (L*D, B, H)
        taken at each row's last real position (for the reverse direction: position 0).
        fused: True runs the fused kernel over packed rows, False the scan;
        None picks by device (`use_fused`).
    """
    directions = 2 if lstm.bidirectional else 1
    batch, seq, hidden = x.shape[0], x.shape[1], lstm.hidden_size
    if hx is None:
        zeros = x.new_zeros(lstm.num_layers * directions, batch, hidden)
        hx = (zeros, zeros)
    if use_fused(x.device) if fused is None else fused:
        return _packed(lstm, x, lengths, hx)
    # Longest rows first: the rows still running at any step are then a prefix of the batch.
    order = torch.argsort(lengths, descending=True, stable=True)
    active = [int(n) for n in (lengths.unsqueeze(0) > torch.arange(seq).unsqueeze(1)).sum(1)]  # rows alive at step t
    order_dev = order.to(x.device)
    layer_input = x.index_select(0, order_dev)
    h0, c0 = hx[0].index_select(1, order_dev), hx[1].index_select(1, order_dev)
    final_h, final_c = [], []
    for layer in range(lstm.num_layers):
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            w_ih, w_hh, b_ih, b_hh = (
                getattr(lstm, f"{name}{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            )
            index = layer * directions + direction
            projected = F.linear(layer_input, w_ih, b_ih + b_hh)  # (B, T, 4H): all steps in one product
            out, h, c = _scan(projected, active, h0[index], c0[index], w_hh, reverse=direction == 1)
            outputs.append(out)
            final_h.append(h)
            final_c.append(c)
        layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
        if layer < lstm.num_layers - 1 and lstm.dropout and lstm.training:
            layer_input = F.dropout(layer_input, lstm.dropout, training=True)
    restore = torch.argsort(order).to(x.device)
    return (
        layer_input.index_select(0, restore),
        torch.stack(final_h).index_select(1, restore),
        torch.stack(final_c).index_select(1, restore),
    )


def one_step(lstm: nn.LSTM, x: Tensor, hx: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """One time step of a unidirectional float `lstm` as explicit cell arithmetic: (B, 1, I) -> outputs, h, c.

    A search step runs the decoder LSTM over one token of a few rows, where the library kernel's
    fixed cost dominates (0.58 ms a step at one row on 2 cores, docs/benchmark.md, "Where one
    request's time goes"); two matrix products and the gate arithmetic per layer cost a fraction
    of that. Inference only: no dropout between layers.
    """
    h0, c0 = hx
    layer_input, hs, cs = x[:, 0], [], []
    for layer in range(lstm.num_layers):
        w_ih, w_hh, b_ih, b_hh = (
            getattr(lstm, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        gates = torch.addmm(b_ih, layer_input, w_ih.t()) + torch.addmm(b_hh, h0[layer], w_hh.t())
        i, f, g, o = gates.chunk(4, dim=1)  # PyTorch's gate order
        c = torch.sigmoid(f) * c0[layer] + torch.sigmoid(i) * torch.tanh(g)
        layer_input = torch.sigmoid(o) * torch.tanh(c)
        hs.append(layer_input)
        cs.append(c)
    return layer_input.unsqueeze(1), torch.stack(hs), torch.stack(cs)


def use_fused(device: torch.device) -> bool:
    """Whether the fused kernel beats the scan: always on CUDA; on the CPU only without autograd."""
    return device.type == "cuda" or not torch.is_grad_enabled()


def _packed(lstm: nn.LSTM, x: Tensor, lengths: Tensor, hx: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """The fused kernel over packed rows: exact final states, no work on padding.

    Under CUDA autocast PyTorch runs cuDNN RNNs in float16 whatever dtype the
    autocast asks for (aten/src/ATen/cudnn/AutocastRNN.cpp), and training
    here has no loss scaling to keep float16 gradients from underflowing; so
    on CUDA the LSTM runs outside autocast, in float32 (cuDNN may still use
    TF32 tensor cores, per `torch.backends.cudnn.allow_tf32`), while the
    attention and output layers around it keep bf16.
    """
    if x.device.type == "cuda" and torch.is_autocast_enabled("cuda"):
        with torch.autocast("cuda", enabled=False):
            return _packed(lstm, x.float(), lengths, (hx[0].float(), hx[1].float()))
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, (h, c) = lstm(packed, hx)
    states, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return states, h, c


def _scan(
    projected: Tensor, active: list[int], h: Tensor, c: Tensor, w_hh: Tensor, reverse: bool
) -> tuple[Tensor, Tensor, Tensor]:
    """The recurrence over rows sorted by length; at step t only the first active[t] rows run.

    Rows past their end keep their state, which is thus their final state;
    in reverse, rows wait (at their initial state) until their last token.
    `unbind` splits the time axis because its backward is one stack, where
    per-step indexing would build a full-size zero gradient per step.
    """
    batch, hidden = h.shape
    steps = projected.unbind(1)
    outputs: list[Tensor] = [h] * len(steps)
    for t in range(len(steps) - 1, -1, -1) if reverse else range(len(steps)):
        n = active[t]
        gates = torch.addmm(steps[t][:n], h[:n], w_hh.t())  # (n, 4H), PyTorch's gate order i, f, g, o
        i, f, g, o = gates.chunk(4, dim=1)
        c_new = torch.sigmoid(f) * c[:n] + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        if n < batch:
            outputs[t] = F.pad(h_new, (0, 0, 0, batch - n))  # padding positions output zeros
            h, c = torch.cat([h_new, h[n:]]), torch.cat([c_new, c[n:]])
        else:
            h, c = h_new, c_new
            outputs[t] = h_new
    return torch.stack(outputs, dim=1), h, c
