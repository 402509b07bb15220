"""The opaque `context` bytes a client carries from one request to the next.

A blob is `MAGIC` followed by a serialized `DocumentContext` message: the
model's name and version (checkpoint fingerprint) and the LSTM states that
continue the document, as float32. Because the blob says which model made
it, any replica serving that model version can continue the document, and a
blob from another model or version is refused instead of silently producing
a wrong translation. Everything in it is checked before a tensor is built:
size, names, shapes, byte counts and finiteness.
"""

from __future__ import annotations

import grpc
import numpy as np
import torch
from google.protobuf.message import DecodeError

from server.errors import RequestError, invalid
from server.gen import translator_pb2 as pb
from translator.config import ModelConfig
from translator.state import CONTEXT_KEYS, DocContext, context_from_tensors, context_to_tensors

MAGIC = b"NMTC"
FORMAT_VERSION = 1
MAX_BYTES = 4 << 20  # above any real model's context (a few KB; ~130 KB with attend's memory): refuse before parsing


def encode(model: str, version: str, sentences: int, context: DocContext | None) -> bytes:
    """Blob for one document (batch row) after `sentences` sentences."""
    msg = pb.DocumentContext(format_version=FORMAT_VERSION, model=model, model_version=version, sentences=sentences)
    if context is not None:
        if context.batch_size != 1:
            raise ValueError(f"a context blob holds one document, not {context.batch_size}")
        for name, tensor in context_to_tensors(context).items():
            array = tensor.float().numpy().astype("<f4", copy=False)
            msg.tensors.add(name=name, shape=list(array.shape), data=array.tobytes())
    return MAGIC + msg.SerializeToString()


def decode(
    blob: bytes, model: str, version: str, cfg: ModelConfig, device: torch.device | str = "cpu"
) -> tuple[DocContext | None, int]:
    """(context, sentences so far) from a blob, or a `RequestError` saying what is wrong with it."""
    if len(blob) > MAX_BYTES:
        raise invalid(f"context is {len(blob)} bytes, more than any context this server issues ({MAX_BYTES})")
    if not blob.startswith(MAGIC):
        raise invalid("context is not a context blob from this service (bad magic)")
    msg = pb.DocumentContext()
    try:
        msg.ParseFromString(blob[len(MAGIC) :])
    except DecodeError as e:
        raise invalid(f"context is corrupt: {e}") from None
    if msg.format_version != FORMAT_VERSION:
        raise invalid(f"context format {msg.format_version} is not supported (this server reads {FORMAT_VERSION})")
    if msg.model != model or msg.model_version != version:
        raise RequestError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"context was made by model {msg.model!r} version {msg.model_version!r}, but this request is served by "
            f"{model!r} version {version!r}; start the document again with an empty context",
        )
    return _tensors(msg, cfg, device), int(msg.sentences)


def _tensors(msg: pb.DocumentContext, cfg: ModelConfig, device: torch.device | str) -> DocContext | None:
    expected = expected_shapes(cfg)
    if not expected:
        if msg.tensors:
            raise invalid("context carries states, but this model is sentence-level (context: none)")
        return None
    got = {t.name: t for t in msg.tensors}
    if sorted(got) != sorted(expected) or len(msg.tensors) != len(expected):
        raise invalid(f"context tensors are {sorted(got)}, expected {sorted(expected)}")
    tensors: dict[str, torch.Tensor] = {}
    for name, shape in expected.items():
        t = got[name]
        if tuple(t.shape) != shape or len(t.data) != 4 * int(np.prod(shape)):
            raise invalid(f"context tensor {name} has shape {list(t.shape)} and {len(t.data)} bytes; expected {shape}")
        array = np.frombuffer(t.data, dtype="<f4").reshape(shape)
        if not np.isfinite(array).all():
            raise invalid(f"context tensor {name} holds non-finite values")
        if name == "memory_mask" and not np.isin(array, (0.0, 1.0)).all():
            raise invalid("context tensor memory_mask must hold only 0 and 1")
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return context_from_tensors(tensors, device)


def expected_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Shapes of one document's context for a model of this config ({} if it carries none)."""
    if cfg.context == "none":
        return {}
    enc, dec = (cfg.enc_layers, 1, cfg.enc_hidden), (cfg.dec_layers, 1, cfg.dec_hidden)
    shapes: dict[str, tuple[int, ...]] = dict(zip(CONTEXT_KEYS, (enc, enc, dec, dec), strict=True))
    if cfg.context == "attend":
        shapes["memory"] = (1, cfg.memory_tokens, 2 * cfg.enc_hidden)
        shapes["memory_mask"] = (1, cfg.memory_tokens)
    return shapes
