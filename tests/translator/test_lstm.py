"""The length-aware LSTM scan equals PyTorch's packed LSTM, outputs and final states."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from translator.lstm import run_lstm


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
def test_scan_equals_packed_lstm(bidirectional: bool, layers: int) -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(6, 5, num_layers=layers, bidirectional=bidirectional, batch_first=True).eval()
    lengths = torch.tensor([3, 7, 1, 7, 4])
    x = torch.randn(5, 7, 6)
    directions = 2 if bidirectional else 1
    hx = (torch.randn(layers * directions, 5, 5), torch.randn(layers * directions, 5, 5))
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected_out, (expected_h, expected_c) = lstm(packed, hx)
    expected_out = pad_packed_sequence(expected_out, batch_first=True, total_length=7)[0]
    out, h, c = run_lstm(lstm, x, lengths, hx)
    torch.testing.assert_close(out, expected_out, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(h, expected_h, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(c, expected_c, atol=1e-6, rtol=1e-5)


def test_scan_gradients_equal_packed_lstm() -> None:
    torch.manual_seed(1)
    lstm = nn.LSTM(4, 3, bidirectional=True, batch_first=True)
    lengths = torch.tensor([2, 5, 3])
    x = torch.randn(3, 5, 4, requires_grad=True)
    out, h, _ = run_lstm(lstm, x, lengths)
    (out.sum() + h.sum()).backward()
    ours = [p.grad.clone() for p in (x, *lstm.parameters())]  # type: ignore[union-attr]
    x.grad = None
    lstm.zero_grad()
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    p_out, (p_h, _) = lstm(packed)
    (pad_packed_sequence(p_out, batch_first=True)[0].sum() + p_h.sum()).backward()
    for mine, theirs in zip(ours, (x.grad, *(p.grad for p in lstm.parameters())), strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)
