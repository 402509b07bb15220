"""Both ways `run_lstm` runs equal PyTorch's packed LSTM: outputs, final states and gradients.

The scan is what CPU training runs; the fused path (`fused=True`, forced
here on the CPU) is the call CUDA training makes through cuDNN.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tests.conftest import tiny_config
from translator.lstm import run_lstm, use_fused
from translator.model import Seq2Seq
from translator.state import DocState


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
def test_scan_and_fused_equal_packed_lstm(bidirectional: bool, layers: int, fused: bool) -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(6, 5, num_layers=layers, bidirectional=bidirectional, batch_first=True).eval()
    lengths = torch.tensor([3, 7, 1, 7, 4])
    x = torch.randn(5, 7, 6)
    directions = 2 if bidirectional else 1
    hx = (torch.randn(layers * directions, 5, 5), torch.randn(layers * directions, 5, 5))
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected_out, (expected_h, expected_c) = lstm(packed, hx)
    expected_out = pad_packed_sequence(expected_out, batch_first=True, total_length=7)[0]
    out, h, c = run_lstm(lstm, x, lengths, hx, fused=fused)
    torch.testing.assert_close(out, expected_out, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(h, expected_h, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(c, expected_c, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("fused", [False, True])
def test_scan_and_fused_gradients_equal_packed_lstm(fused: bool) -> None:
    torch.manual_seed(1)
    lstm = nn.LSTM(4, 3, bidirectional=True, batch_first=True)
    lengths = torch.tensor([2, 5, 3])
    x = torch.randn(3, 5, 4, requires_grad=True)
    out, h, _ = run_lstm(lstm, x, lengths, fused=fused)
    (out.sum() + h.sum()).backward()
    ours = [p.grad.clone() for p in (x, *lstm.parameters())]  # type: ignore[union-attr]
    x.grad = None
    lstm.zero_grad()
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    p_out, (p_h, _) = lstm(packed)
    (pad_packed_sequence(p_out, batch_first=True)[0].sum() + p_h.sum()).backward()
    for mine, theirs in zip(ours, (x.grad, *(p.grad for p in lstm.parameters())), strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)


def test_the_kernel_is_chosen_by_device() -> None:
    """CPU training scans (its backward beats packing there); CUDA and inference take the fused kernel."""
    assert not use_fused(torch.device("cpu")) and use_fused(torch.device("cuda"))
    with torch.no_grad():
        assert use_fused(torch.device("cpu"))


@pytest.mark.parametrize("carry", [False, True])
def test_fused_training_pass_equals_the_scan(carry: bool) -> None:
    """The whole encoder (bidirectional, carried state) and decoder on the fused path = on the scan.

    Loss, final document context and every parameter's gradient, for a batch
    of sentences of different lengths, with and without a carried context.
    """
    cfg = tiny_config().override(["model.vocab_size=50", "model.enc_layers=2", "model.dec_layers=2"])
    torch.manual_seed(0)
    model = Seq2Seq(cfg.model)
    src, src_len = torch.randint(4, 50, (4, 9)), torch.tensor([9, 3, 6, 1])
    tgt, tgt_len = torch.randint(4, 50, (4, 7)), torch.tensor([2, 7, 5, 4])
    for row, (n, m) in enumerate(zip(src_len, tgt_len, strict=True)):
        src[row, n:], tgt[row, m:] = 0, 0
    context = _random_context(model) if carry else None  # None: no initial states at all
    weights = [torch.randn_like(t) for t in _tensors(_random_context(model))]
    runs = []
    for fused in (False, True):
        model.encoder.fused_lstm = model.decoder.fused_lstm = fused
        model.zero_grad()
        enc, enc_final = model.encode(src, src_len, context.encoder_carry if context else None)
        enc, state = model.init_state(enc, context)
        out = model.decode(tgt, tgt_len, state, enc)
        following = model.next_doc_state(enc_final, out.state, tgt)
        assert following is not None
        loss = model.logits(out.features).log_softmax(-1).gather(-1, tgt.unsqueeze(-1)).sum()
        # Through the final states too: the next sentence's gradient reaches this one through them.
        loss = loss + sum((t * weight).sum() for t, weight in zip(_tensors(following), weights, strict=True))
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        runs.append((loss.detach(), following, grads))
    (scan_loss, scan_ctx, scan_grads), (fused_loss, fused_ctx, fused_grads) = runs
    torch.testing.assert_close(fused_loss, scan_loss, atol=1e-4, rtol=1e-5)
    for mine, theirs in zip(_tensors(fused_ctx), _tensors(scan_ctx), strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)
    assert fused_grads.keys() == scan_grads.keys() and "encoder.lstm.weight_hh_l1_reverse" in scan_grads
    for name, grad in fused_grads.items():
        torch.testing.assert_close(grad, scan_grads[name], atol=1e-5, rtol=1e-4, msg=name)


def _random_context(model: Seq2Seq) -> DocState:
    empty = model.empty_doc_state(4)
    assert empty is not None
    return DocState(*(type(s)(torch.randn_like(s.h), torch.randn_like(s.c)) for s in (empty.encoder, empty.decoder)))


def _tensors(context: DocState) -> list[torch.Tensor]:
    return [context.encoder.h, context.encoder.c, context.decoder.h, context.decoder.c]


@pytest.mark.parametrize("layers", [1, 2])
def test_one_step_is_the_lstm_kernels_step(layers: int) -> None:
    """A search step's explicit cell gives what nn.LSTM gives for one time step (to float rounding)."""
    from translator.lstm import one_step

    torch.manual_seed(layers)
    lstm = nn.LSTM(12, 16, num_layers=layers, batch_first=True).eval()
    x, h, c = torch.randn(5, 1, 12), torch.randn(layers, 5, 16), torch.randn(layers, 5, 16)
    with torch.no_grad():
        expected, (eh, ec) = lstm(x, (h, c))
        out, oh, oc = one_step(lstm, x, (h, c))
    for got, want in ((out, expected), (oh, eh), (oc, ec)):
        assert torch.allclose(got, want, atol=1e-6)


def test_a_search_step_runs_the_cell_and_training_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cell only where nothing is learnt (a search step); teacher forcing and training keep the kernel."""
    import translator.decoder as decoder_module
    from translator.state import LSTMState

    calls: list[int] = []
    real = decoder_module.one_step
    monkeypatch.setattr(decoder_module, "one_step", lambda *a: calls.append(1) or real(*a))
    model = Seq2Seq(tiny_config().model).eval()
    enc, _ = model.encode(torch.tensor([[5, 6, 3]]), torch.tensor([3]), None)
    enc, state = model.init_state(enc, None)
    with torch.inference_mode():
        model.step(torch.tensor([2]), state, enc)
    assert calls == [1]
    model.step(torch.tensor([2]), LSTMState(state.h.clone(), state.c.clone()), enc)  # grad enabled: the kernel
    assert calls == [1]
