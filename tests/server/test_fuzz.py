"""Property-based: whatever a client sends, the server answers with a defined status and stays up.

Issue 15's campaign: besides random requests and damaged bytes, structurally
valid *forged* context blobs (right model, version, names and shapes; values
huge, subnormal, NaN, inf, out of range, bad masks, counter extremes) and
streams that switch model or context mid-way or are cancelled, all while a
benign client translates documents beside them. It must see no failure; no
answer may be INTERNAL or UNKNOWN; and the queue must be empty afterwards.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import contextblob
from server.app import Server
from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc
from tests.server.conftest import StartServer

REFUSALS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION}
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MODELS = ("tiny", "twin", "mem")  # carry, the same checkpoint under another name, attend (memory and mask)


@dataclass
class Campaign:
    """A server of its own, and a benign client translating documents on it all along."""

    server: Server
    stub: pb_grpc.TranslatorStub
    stop: threading.Event = field(default_factory=threading.Event)
    benign_ok: int = 0
    benign_failures: list[str] = field(default_factory=list)
    codes: list[grpc.StatusCode] = field(default_factory=list)

    def benign(self) -> None:
        while not self.stop.is_set():
            try:
                cow = self.stub.Translate(pb.TranslateRequest(sentences=["look at that cow ."]), timeout=60)
                cute = self.stub.Translate(
                    pb.TranslateRequest(sentences=["it is very cute ."], context=cow.context), timeout=60
                )
                assert cute.translations[0].text.split()[-2].endswith("a"), cute.translations[0].text
                self.benign_ok += 1
            except Exception as e:  # any failure of the benign client is a finding
                self.benign_failures.append(repr(e))


@pytest.fixture(scope="module")
def campaign(
    start_server: StartServer,
    trained_run: Path,
    synthetic_corpus: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Campaign]:
    from tests.conftest import tiny_config
    from training.trainer import train

    out = tmp_path_factory.mktemp("attend")
    cfg = tiny_config(out, max_steps=20).override(
        ["model.context=attend", "model.memory_tokens=8", f"data.train={synthetic_corpus['train']}"]
    )
    attend = train(cfg)
    server = start_server(model=[f"tiny={trained_run}", f"twin={trained_run / 'best.pt'}", f"mem={attend / 'last.pt'}"])
    run = Campaign(server, pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}")))
    thread = threading.Thread(target=run.benign)
    thread.start()
    yield run
    run.stop.set()
    thread.join()


def call(run: Campaign, req: pb.TranslateRequest) -> grpc.StatusCode:
    try:
        reply = run.stub.Translate(req, timeout=60)
        code = grpc.StatusCode.OK
        assert len(reply.translations) == len(req.sentences)
    except grpc.RpcError as e:
        code = e.code()  # type: ignore[attr-defined]
    run.codes.append(code)
    assert code not in NEVER
    return code


# ---------------------------------------------------------------- random requests and bytes

sentences = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
        st.sampled_from(["look at that cow .", "it is very cute .", "\x00", "\u200b", "🐄 🐄", " \t\n"]),
        st.just("y" * 2500),
    ),
    max_size=6,
)
options = st.builds(
    pb.DecodeOptions,
    beam_size=st.integers(0, 40),
    n_best=st.integers(0, 40),
    max_length=st.integers(0, 2000),
    alignment=st.booleans(),
)


@FUZZ
@given(sentences=sentences, model=st.sampled_from(["", *MODELS, "x", "é" * 300]), opts=options)
def test_random_requests(campaign: Campaign, sentences: list[str], model: str, opts: pb.DecodeOptions) -> None:
    code = call(campaign, pb.TranslateRequest(sentences=sentences, model=model, options=opts))
    assert code in REFUSALS | {grpc.StatusCode.OK}
    valid = sentences and all(s.strip() and len(s.strip()) <= 2000 for s in sentences)
    if not valid or model not in ("", *MODELS):
        assert code in REFUSALS


@FUZZ
@given(blob=st.one_of(st.binary(min_size=1, max_size=3000), st.binary(max_size=200).map(lambda b: b"NMTC" + b)))
def test_random_context_bytes_are_invalid(campaign: Campaign, blob: bytes) -> None:
    req = pb.TranslateRequest(sentences=["it is very cute ."], context=blob)
    assert call(campaign, req) == grpc.StatusCode.INVALID_ARGUMENT


@FUZZ
@given(data=st.data(), model=st.sampled_from(MODELS))
def test_damaged_context_is_refused_or_harmless(campaign: Campaign, data: st.DataObject, model: str) -> None:
    """Flip or cut bytes of a real blob: a clear refusal, or (a changed but in-range float) a translation."""
    first = campaign.stub.Translate(pb.TranslateRequest(sentences=["look at that cow ."], model=model), timeout=60)
    blob = bytearray(first.context)
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 4))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    code = call(campaign, pb.TranslateRequest(sentences=["it is very cute ."], model=model, context=bytes(blob)))
    assert code in {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION}


# ---------------------------------------------------------------- forged, well-formed blobs

PROFILES = {
    "huge": st.sampled_from([3e38, -3e38, 3.4028235e38, 1e30, -1e20]),
    "above one": st.floats(1.0, 1e6, exclude_min=True, width=32).flatmap(lambda x: st.sampled_from([x, -x])),
    "subnormal": st.sampled_from([1e-45, -1e-45, 1e-40, 1.1754942e-38]),
    "nan": st.just(math.nan),
    "inf": st.sampled_from([math.inf, -math.inf]),
    "in range": st.floats(-1.0, 1.0, width=32),
    "any": st.floats(width=32),
}
COUNTERS = st.one_of(
    st.sampled_from([0, 1, 2**32, contextblob.MAX_SENTENCES, contextblob.MAX_SENTENCES + 1, 2**63, 2**64 - 1]),
    st.integers(0, 2**64 - 1),
)


@st.composite
def forged_tensor(draw: st.DrawFn, name: str, shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(shape))
    if name == "memory_mask":
        values = draw(st.lists(st.sampled_from([0.0, 1.0, 1.0, 0.5, -1.0, 2.0, math.nan]), min_size=n, max_size=n))
        return np.array(values, dtype="<f4").reshape(shape)
    fill = draw(st.sampled_from(["uniform", "alternating", "mixed"]))
    if fill == "mixed":  # every value drawn from its own profile
        values = [draw(st.one_of(*PROFILES.values())) for _ in range(min(n, 8))] * (n // min(n, 8) + 1)
        return np.array(values[:n], dtype="<f4").reshape(shape)
    value = draw(PROFILES[draw(st.sampled_from(sorted(PROFILES)))])
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0) if fill == "alternating" else np.ones(n)
    with np.errstate(invalid="ignore", over="ignore"):
        return (signs * value).astype("<f4").reshape(shape)


def acceptable(name: str, array: np.ndarray) -> bool:
    """What the server promises to accept: finite, |h| and memory <= 1, |c| <= MAX_CELL, mask 0 or 1."""
    if not np.isfinite(array).all():
        return False
    if name == "memory_mask":
        return bool(np.isin(array, (0.0, 1.0)).all())
    bound = 1.0 if name in contextblob.BOUNDED else contextblob.MAX_CELL
    return bool(np.abs(array).max(initial=0.0) <= bound)


@FUZZ
@given(data=st.data(), model=st.sampled_from(MODELS), sentences=COUNTERS)
def test_forged_well_formed_contexts_are_refused_or_translated(
    campaign: Campaign, data: st.DataObject, model: str, sentences: int
) -> None:
    """Right model, version, names and shapes, any values: refused exactly when out of range, else translated."""
    served = campaign.server.registry.get(model)
    msg = pb.DocumentContext(format_version=1, model=model, model_version=served.version, sentences=sentences)
    ok = sentences <= contextblob.MAX_SENTENCES
    for name, shape in contextblob.expected_shapes(served.translator.config.model).items():
        array = data.draw(forged_tensor(name, shape), label=name)
        ok = ok and acceptable(name, array)
        msg.tensors.add(name=name, shape=list(shape), data=array.tobytes())
    blob = contextblob.MAGIC + msg.SerializeToString()
    code = call(campaign, pb.TranslateRequest(sentences=["it is very cute ."], model=model, context=blob))
    assert code == (grpc.StatusCode.OK if ok else grpc.StatusCode.INVALID_ARGUMENT)


# ---------------------------------------------------------------- streams


@st.composite
def stream_messages(draw: st.DrawFn) -> list[pb.TranslateRequest]:
    out = []
    for _ in range(draw(st.integers(1, 4))):
        text = draw(st.sampled_from(["look at that cow .", "it is very old .", "", "🐄"]))
        model = draw(st.sampled_from(["", "", *MODELS, "nope"]))
        context = draw(st.sampled_from([b"", b"", b"NMTC\x00", b"junk"]))
        out.append(pb.TranslateRequest(sentences=[text], model=model, context=context))
    return out


@settings(FUZZ, max_examples=40)
@given(messages=stream_messages(), cancel_after=st.one_of(st.none(), st.integers(0, 3)), use_real=st.booleans())
def test_streams_that_switch_model_or_context_or_cancel(
    campaign: Campaign, messages: list[pb.TranslateRequest], cancel_after: int | None, use_real: bool
) -> None:
    if use_real and len(messages) > 1:  # a genuine context, but sent mid-stream
        messages[1].context = campaign.stub.Translate(pb.TranslateRequest(sentences=["a cow ."]), timeout=60).context
    responses = campaign.stub.TranslateStream(iter(messages), timeout=60)
    received = 0
    try:
        for _ in responses:
            received += 1
            if cancel_after is not None and received > cancel_after:
                responses.cancel()
        code = grpc.StatusCode.OK
    except grpc.RpcError as e:
        code = e.code()  # type: ignore[attr-defined]
    campaign.codes.append(code)
    assert code in REFUSALS | {grpc.StatusCode.OK, grpc.StatusCode.CANCELLED}
    assert received <= len(messages)


# ---------------------------------------------------------------- afterwards


def test_the_benign_client_saw_no_failure_and_the_queue_is_empty(campaign: Campaign) -> None:
    import time

    campaign.stop.set()
    deadline = time.monotonic() + 30
    while campaign.server.batcher.depth and time.monotonic() < deadline:
        time.sleep(0.05)
    assert campaign.benign_failures == [] and campaign.benign_ok > 0
    assert not NEVER & set(campaign.codes) and len(campaign.codes) > 200
    assert campaign.server.metrics.registry.get_sample_value("nmt_queue_depth") == 0.0
    internal = campaign.server.metrics.registry.get_sample_value(
        "nmt_requests_total", {"method": "Translate", "model": "tiny", "code": "INTERNAL"}
    )
    assert internal is None
    reply = campaign.stub.Translate(pb.TranslateRequest(sentences=["look at that cow ."]), timeout=60)
    assert reply.translations[0].text.startswith("mira")
