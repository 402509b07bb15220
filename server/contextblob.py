"""The opaque `context` bytes a client carries from one request to the next.

A blob is `MAGIC` followed by a serialized `DocumentContext` message: the
model's name and version (checkpoint fingerprint) and the LSTM states that
continue the document, as float32. Because the blob says which model made
it, any replica serving that model version can continue the document, and a
blob from another model or version is refused instead of silently producing
a wrong translation.

A client can forge a blob (the model name and version are public through
ListModels), so everything in it is checked before a tensor is built: size
(near the model's own blob size), names, shapes, byte counts, and values an
LSTM can actually produce: every hidden state and memory entry within
[-1, 1] (they are tanh-bounded), cell states finite and within `MAX_CELL`,
the mask 0 or 1, the sentence count within `MAX_SENTENCES`. States in those
ranges are states the model could have reached, so they cannot push it
anywhere a real document could not.

With a key (`--context-key-file`, shared by every replica) each blob also
carries an HMAC-SHA256 tag of its bytes, checked first: forged or altered
blobs are then refused outright.
"""

from __future__ import annotations

import hashlib
import hmac

import grpc
import numpy as np
import torch
from google.protobuf.message import DecodeError

from server.errors import RequestError, invalid, quoted
from server.gen import translator_pb2 as pb
from translator.config import ModelConfig
from translator.state import MEMORY_KEYS, STATE_KEYS, DocState, state_from_tensors, state_to_tensors

MAGIC = b"NMTC"
FORMAT_VERSION = 1
TAG_BYTES = 32  # HMAC-SHA256, appended when the server has a key
OVERHEAD = 1024  # bytes beyond the float data: identity, names, shapes, the tag (a real blob uses ~150)
MAX_SENTENCES = 1 << 40  # far beyond any document; keeps the counter (uint64) from overflowing
MAX_CELL = 1e6  # |c| grows by at most 1 per token: this is millions of tokens with a forget gate of 1
BOUNDED = {"encoder_h", "decoder_h", "memory"}  # tanh outputs: |x| <= 1


def encode(model: str, version: str, sentences: int, doc_state: DocState | None, key: bytes = b"") -> bytes:
    """Blob for one document (batch row) after `sentences` sentences (signed when `key`)."""
    msg = pb.DocumentContext(format_version=FORMAT_VERSION, model=model, model_version=version, sentences=sentences)
    if doc_state is not None:
        if doc_state.batch_size != 1:
            raise ValueError(f"a context blob holds one document, not {doc_state.batch_size}")
        for name, tensor in state_to_tensors(doc_state).items():
            array = tensor.float().numpy().astype("<f4", copy=False)
            msg.tensors.add(name=name, shape=list(array.shape), data=array.tobytes())
    blob = MAGIC + msg.SerializeToString()
    return blob + _tag(key, blob) if key else blob


def decode(
    blob: bytes, model: str, version: str, cfg: ModelConfig, device: torch.device | str = "cpu", key: bytes = b""
) -> tuple[DocState | None, int]:
    """(context, sentences so far) from a blob, or a `RequestError` saying what is wrong with it."""
    limit = max_bytes(cfg, model, version)
    if len(blob) > limit:
        raise invalid(f"context is {len(blob)} bytes, more than this model's contexts ({limit})")
    if not blob.startswith(MAGIC):
        raise invalid("context is not a context blob from this service (bad magic)")
    if key:
        blob, tag = blob[:-TAG_BYTES], blob[-TAG_BYTES:]
        if len(blob) < len(MAGIC) or not hmac.compare_digest(tag, _tag(key, blob)):
            raise invalid("context signature does not match: it was not issued by this service, or was altered")
    msg = pb.DocumentContext()
    try:
        msg.ParseFromString(blob[len(MAGIC) :])
    except DecodeError:
        raise invalid("context is corrupt: not a valid DocumentContext message") from None
    if msg.format_version != FORMAT_VERSION:
        raise invalid(f"context format {msg.format_version} is not supported (this server reads {FORMAT_VERSION})")
    if msg.model != model or msg.model_version != version:
        raise RequestError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"context was made by model {quoted(msg.model)} version {quoted(msg.model_version)}, but this request "
            f"is served by {model!r} version {version!r}; start the document again with an empty context",
        )
    if msg.sentences > MAX_SENTENCES:
        raise invalid(f"context claims {msg.sentences} sentences; no document this server translated has that many")
    return _tensors(msg, cfg, device), int(msg.sentences)


def max_bytes(cfg: ModelConfig, model: str, version: str) -> int:
    """The largest blob a model of this config can issue, with room to spare: anything larger is refused."""
    floats = sum(int(np.prod(shape)) for shape in expected_shapes(cfg).values())
    return 4 * floats + len(model.encode()) + len(version.encode()) + OVERHEAD


def _tag(key: bytes, blob: bytes) -> bytes:
    return hmac.new(key, blob, hashlib.sha256).digest()


def _tensors(msg: pb.DocumentContext, cfg: ModelConfig, device: torch.device | str) -> DocState | None:
    expected = expected_shapes(cfg)
    if not expected:
        if msg.tensors:
            raise invalid("context carries states, but this model is sentence-level (context: none)")
        return None
    got = {t.name: t for t in msg.tensors}
    if sorted(got) != sorted(expected) or len(msg.tensors) != len(expected):
        names = sorted(quoted(n) for n in got)[: len(expected) + 1]
        raise invalid(f"context tensors are {', '.join(names)}; expected {sorted(expected)}")
    tensors: dict[str, torch.Tensor] = {}
    for name, shape in expected.items():
        t = got[name]
        if tuple(t.shape) != shape or len(t.data) != 4 * int(np.prod(shape)):
            raise invalid(f"context tensor {name} has {len(t.data)} bytes or the wrong shape; expected {shape}")
        array = np.frombuffer(t.data, dtype="<f4").reshape(shape)
        _check_values(name, array)
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return state_from_tensors(tensors, device)


def _check_values(name: str, array: np.ndarray) -> None:
    """Refuse values no LSTM of this model could have left (see the module docstring)."""
    if not np.isfinite(array).all():
        raise invalid(f"context tensor {name} holds non-finite values")
    if name == MEMORY_KEYS[1]:
        if not np.isin(array, (0.0, 1.0)).all():
            raise invalid("context tensor memory_mask must hold only 0 and 1")
        return
    bound = 1.0 if name in BOUNDED else MAX_CELL
    if np.abs(array).max(initial=0.0) > bound:
        raise invalid(f"context tensor {name} holds values beyond {bound:g} in size, which no LSTM state reaches")


def expected_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Shapes of one document's context for a model of this config ({} if it carries none)."""
    if cfg.context == "none":
        return {}
    enc, dec = (cfg.enc_layers, 1, cfg.enc_hidden), (cfg.dec_layers, 1, cfg.dec_hidden)
    shapes: dict[str, tuple[int, ...]] = dict(zip(STATE_KEYS, (enc, enc, dec, dec), strict=True))
    if cfg.context in ("attend", "target"):
        shapes["memory"] = (1, cfg.memory_tokens, 2 * cfg.enc_hidden)
        shapes["memory_mask"] = (1, cfg.memory_tokens)
    return shapes
