"""The context blob: exact round trip, and every way it can fail to fit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import numpy as np
import pytest
import torch

from server import contextblob
from server.errors import RequestError
from server.gen import translator_pb2 as pb
from translator.config import ModelConfig
from translator.state import DocState, LSTMState, state_to_tensors

CFG = ModelConfig(enc_layers=2, enc_hidden=3, dec_layers=1, dec_hidden=4)


def context(seed: int = 0) -> DocState:
    """Hidden states in [-1, 1] (tanh outputs), cell states unbounded: what an LSTM leaves."""
    g = torch.Generator().manual_seed(seed)
    enc = LSTMState(torch.randn(2, 1, 3, generator=g).tanh(), 3 * torch.randn(2, 1, 3, generator=g))
    dec = LSTMState(torch.randn(1, 1, 4, generator=g).tanh(), 3 * torch.randn(1, 1, 4, generator=g))
    return DocState(enc, dec)


def refused(blob: bytes, model: str = "m", version: str = "v1", cfg: ModelConfig = CFG) -> RequestError:
    with pytest.raises(RequestError) as info:
        contextblob.decode(blob, model, version, cfg)
    return info.value


def test_round_trip_is_exact() -> None:
    ctx = context()
    decoded, sentences = contextblob.decode(contextblob.encode("m", "v1", 7, ctx), "m", "v1", CFG)
    assert sentences == 7 and decoded is not None
    for a, b in (
        (ctx.encoder.h, decoded.encoder.h),
        (ctx.encoder.c, decoded.encoder.c),
        (ctx.decoder.c, decoded.decoder.c),
    ):
        assert torch.equal(a, b)


def test_sentence_level_model_has_an_empty_context() -> None:
    none = dataclasses.replace(CFG, context="none")
    assert contextblob.decode(contextblob.encode("m", "v1", 3, None), "m", "v1", none) == (None, 3)
    assert "sentence-level" in refused(contextblob.encode("m", "v1", 1, context()), cfg=none).message


def test_other_model_or_version_is_a_failed_precondition() -> None:
    blob = contextblob.encode("m", "v1", 1, context())
    for model, version in (("other", "v1"), ("m", "v2")):
        error = refused(blob, model, version)
        assert error.code == grpc.StatusCode.FAILED_PRECONDITION
        assert "'m' version 'v1'" in error.message


def tampered(change: object) -> bytes:
    msg = pb.DocumentContext()
    msg.ParseFromString(contextblob.encode("m", "v1", 1, context())[4:])
    change(msg)  # type: ignore[operator]
    return contextblob.MAGIC + msg.SerializeToString()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: setattr(m, "format_version", 9), "format 9"),
        (lambda m: m.tensors.pop(), "expected"),
        (lambda m: m.tensors.add(name="extra"), "expected"),
        (lambda m: m.tensors[0].shape.__setitem__(2, 4), "shape"),
        (lambda m: setattr(m.tensors[1], "data", m.tensors[1].data[:-4]), "bytes"),
        (lambda m: setattr(m.tensors[2], "data", b"\x00\x00\xc0\x7f" + m.tensors[2].data[4:]), "non-finite"),
        (lambda m: setattr(m.tensors[3], "data", b"\x00\x00\x80\x7f" + m.tensors[3].data[4:]), "non-finite"),
    ],
)
def test_malformed_blobs_are_invalid_arguments(change: object, words: str) -> None:
    error = refused(tampered(change))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert words in error.message


def test_size_and_magic_are_checked_before_parsing() -> None:
    limit = contextblob.max_bytes(CFG, "m", "v1")
    assert limit < 4 * 2 * (2 * 3 + 4) + 1100  # near the model's real blob size, not megabytes
    assert "bytes" in refused(contextblob.MAGIC + b"\x00" * limit).message
    assert "magic" in refused(b"{}").message
    assert "corrupt" in refused(contextblob.MAGIC + b"\x0a\xff").message


def test_a_served_models_blob_has_the_expected_size(trained_run: Path) -> None:
    """Float32 states of one document, plus a few dozen bytes of identity."""
    from translator.inference import Translator

    translator = Translator.load(trained_run)
    cfg = translator.config.model
    _, ctx = translator.translate_sentences(["look at that cow ."], None)
    blob = contextblob.encode("tiny", "0123456789abcdef", 1, ctx)
    floats = 2 * (cfg.enc_layers * cfg.enc_hidden + cfg.dec_layers * cfg.dec_hidden)
    assert 4 * floats < len(blob) < 4 * floats + 200


@pytest.mark.parametrize("mode", ["attend", "target"])
def test_memory_context_round_trips_its_memory_and_checks_the_mask(mode: str) -> None:
    from translator.state import Memory

    cfg = dataclasses.replace(CFG, context=mode, memory_tokens=5)
    memory = Memory(torch.randn(1, 5, 6).tanh(), torch.tensor([[False, False, True, True, True]]))
    ctx = dataclasses.replace(context(), memory=memory)
    decoded, _ = contextblob.decode(contextblob.encode("m", "v1", 2, ctx), "m", "v1", cfg)
    assert decoded is not None and decoded.memory is not None
    assert torch.equal(decoded.memory.states, memory.states) and torch.equal(decoded.memory.mask, memory.mask)
    assert "expected" in refused(contextblob.encode("m", "v1", 2, context()), cfg=cfg).message  # memory missing
    bad = dataclasses.replace(ctx, memory=Memory(memory.states, memory.mask))
    blob = contextblob.encode("m", "v1", 2, bad).replace(b"\x00\x00\x80\x3f", b"\x00\x00\x00\x40")  # a 1.0 -> 2.0
    assert "0 and 1" in refused(blob, cfg=cfg).message


def with_values(name: str, value: float, index: int = 0) -> bytes:
    """A well-formed blob of the right model whose tensor `name` holds `value` at `index`: a forgery."""

    def change(m: pb.DocumentContext) -> None:
        t = next(t for t in m.tensors if t.name == name)
        data = bytearray(t.data)
        data[4 * index : 4 * index + 4] = np.float32(value).astype("<f4").tobytes()
        t.data = bytes(data)

    return tampered(change)


REFUSED = [("decoder_h", 3e38), ("decoder_h", 1.0001), ("encoder_h", -2.0), ("decoder_c", 3e38), ("encoder_c", -1e7)]
ACCEPTED = [("decoder_h", 1.0), ("encoder_h", -1.0), ("decoder_h", 1e-45), ("decoder_c", 5e5), ("encoder_c", -1e6)]


def test_states_no_lstm_can_reach_are_refused_and_the_bounds_are_inclusive() -> None:
    """|h| <= 1 (tanh) and |c| <= MAX_CELL: a forged 3e38 turned scores NaN and broke other requests."""
    for name, value in REFUSED:
        error = refused(with_values(name, value))
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT and f"{name} holds values beyond" in error.message
    for name, value in ACCEPTED:  # the bounds themselves, subnormals and large cell states pass
        decoded, _ = contextblob.decode(with_values(name, value), "m", "v1", CFG)
        assert decoded is not None
        assert float(state_to_tensors(decoded)[name].flatten()[0]) == float(np.float32(value))


def test_the_sentence_counter_is_bounded() -> None:
    """2^64-1 sentences passed, and the server failed with INTERNAL once the translation was done."""
    blob = contextblob.encode("m", "v1", 2**64 - 1, context())
    assert "sentences" in refused(blob).message
    assert contextblob.decode(contextblob.encode("m", "v1", contextblob.MAX_SENTENCES, context()), "m", "v1", CFG)


def test_with_a_key_only_blobs_signed_by_it_are_read() -> None:
    key = b"k" * 32
    blob = contextblob.encode("m", "v1", 3, context(), key)
    decoded, sentences = contextblob.decode(blob, "m", "v1", CFG, key=key)
    assert sentences == 3 and decoded is not None and torch.equal(decoded.encoder.c, context().encoder.c)
    forged = contextblob.encode("m", "v1", 3, context(1))  # right model and shapes, in range, unsigned
    other_key = contextblob.encode("m", "v1", 3, context(), b"x" * 32)
    for bad in (forged, forged + blob[-32:], blob[:-1] + bytes([blob[-1] ^ 1]), other_key):
        with pytest.raises(RequestError) as info:
            contextblob.decode(bad, "m", "v1", CFG, key=key)
        assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT and "signature" in info.value.message
