"""Property-based: whatever a client sends, the server answers with a defined status and stays up."""

from __future__ import annotations

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc

REFUSALS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

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
)


def call(stub: pb_grpc.TranslatorStub, req: pb.TranslateRequest) -> grpc.StatusCode:
    try:
        reply = stub.Translate(req, timeout=60)
    except grpc.RpcError as e:
        return e.code()  # type: ignore[no-any-return, attr-defined]
    assert len(reply.translations) == len(req.sentences)
    return grpc.StatusCode.OK


@FUZZ
@given(sentences=sentences, model=st.sampled_from(["", "tiny", "twin", "x", "é" * 300]), opts=options)
def test_random_requests(
    stub: pb_grpc.TranslatorStub, sentences: list[str], model: str, opts: pb.DecodeOptions
) -> None:
    code = call(stub, pb.TranslateRequest(sentences=sentences, model=model, options=opts))
    assert code in REFUSALS | {grpc.StatusCode.OK}
    valid = sentences and all(s.strip() and len(s.strip()) <= 2000 for s in sentences)
    if not valid or model not in ("", "tiny", "twin"):
        assert code in REFUSALS


@FUZZ
@given(blob=st.one_of(st.binary(min_size=1, max_size=3000), st.binary(max_size=200).map(lambda b: b"NMTC" + b)))
def test_random_context_bytes_are_invalid(stub: pb_grpc.TranslatorStub, blob: bytes) -> None:
    assert (
        call(stub, pb.TranslateRequest(sentences=["it is very cute ."], context=blob))
        == grpc.StatusCode.INVALID_ARGUMENT
    )


@FUZZ
@given(data=st.data())
def test_damaged_context_is_refused_or_harmless(stub: pb_grpc.TranslatorStub, data: st.DataObject) -> None:
    """Flip or cut bytes of a real blob: a clear refusal, or (a changed but finite float) a translation."""
    blob = bytearray(stub.Translate(pb.TranslateRequest(sentences=["look at that cow ."])).context)
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 4))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    code = call(stub, pb.TranslateRequest(sentences=["it is very cute ."], context=bytes(blob)))
    assert code in {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION}


def test_server_still_serves_after_fuzzing(stub: pb_grpc.TranslatorStub) -> None:
    reply = stub.Translate(pb.TranslateRequest(sentences=["look at that cow ."]))
    assert reply.translations[0].text.startswith("mira")
