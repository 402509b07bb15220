"""Every RPC over a real channel, the document-context contract, and each refusal's status."""

from __future__ import annotations

import dataclasses
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from server import contextblob
from server.app import Server
from server.batcher import Job
from server.errors import RequestError
from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc
from server.metrics import Metrics
from server.registry import ServedModel
from server.servicer import _Call
from tests.server.conftest import StartServer
from tests.synthetic import make_documents
from translator.inference import Translator

DOCS = [list(d.sources) for d in make_documents(6, seed=11)]


def request(sentences: list[str], context: bytes = b"", model: str = "", **options: int) -> pb.TranslateRequest:
    return pb.TranslateRequest(sentences=sentences, model=model, context=context, options=pb.DecodeOptions(**options))


def texts(response: pb.TranslateResponse) -> list[str]:
    return [t.text for t in response.translations]


def endings(response: pb.TranslateResponse) -> list[str]:
    """Gender of each translation's adjective or noun: 'es muy linda .' -> 'a'."""
    return [t.text.split()[-2][-1] for t in response.translations]


def test_translate_matches_the_library(stub: pb_grpc.TranslatorStub, served: Server) -> None:
    translator = Translator.load(served.registry.get("tiny").stamp.path)
    expected = translator.translate_documents([DOCS[0]])[0]
    response = stub.Translate(request(DOCS[0]))
    assert texts(response) == [t.text for t in expected]
    assert [t.score for t in response.translations] == pytest.approx([t.score for t in expected], abs=1e-4)
    assert response.model == "tiny" and response.model_version == served.registry.get("tiny").version


def test_document_in_one_call_equals_per_sentence_calls_and_the_stream(stub: pb_grpc.TranslatorStub) -> None:
    for doc in DOCS:
        whole = stub.Translate(request(doc))
        pieces, context = [], b""
        for sentence in doc:
            reply = stub.Translate(request([sentence], context))
            pieces.extend(reply.translations)
            context = reply.context
        streamed = [t for r in stub.TranslateStream(iter([request([s]) for s in doc])) for t in r.translations]
        assert texts(whole) == [t.text for t in pieces] == [t.text for t in streamed]
        assert [t.score for t in whole.translations] == pytest.approx([t.score for t in pieces], abs=1e-4)
        assert whole.context == context  # the same state, byte for byte, whichever way it was reached


def test_context_carries_the_antecedent_across_requests(stub: pb_grpc.TranslatorStub) -> None:
    """The tiny model learned gender agreement from the previous sentence; the blob must carry it."""
    cow = stub.Translate(request(["look at that cow ."]))
    dog = stub.Translate(request(["look at that dog ."]))
    after_cow = stub.Translate(request(["it is very cute ."], cow.context))
    after_dog = stub.Translate(request(["it is very cute ."], dog.context))
    assert endings(after_cow) == ["a"]
    assert endings(after_dog) == ["o"]


def test_beam_and_n_best(stub: pb_grpc.TranslatorStub) -> None:
    reply = stub.Translate(request(DOCS[1], beam_size=4, n_best=3))
    for t in reply.translations:
        assert len(t.alternatives) == 2
        scores = [t.score, *(a.score for a in t.alternatives)]
        assert scores == sorted(scores, reverse=True)
        assert len({t.text, *(a.text for a in t.alternatives)}) == 3


def links(t: pb.Translation | pb.Alternative) -> list[tuple[int, int]]:
    return [(p.source, p.target) for p in t.alignment]


def test_alignments_match_the_library_in_every_way_of_calling(stub: pb_grpc.TranslatorStub, served: Server) -> None:
    """DecodeOptions.alignment: each translation and alternative carries the word alignment the
    in-process Translator gives (`nmt translate --alignments`), whether the document comes in one
    call, in calls passing the context along, or in a stream; the text and context do not change."""
    translator = Translator.load(served.registry.get("tiny").stamp.path)
    decode = dataclasses.replace(translator.config.decode, beam_size=3, n_best=2, alignment=True)
    doc = DOCS[2]
    expected = translator.translate_documents([doc], decode=decode)[0]
    whole = stub.Translate(request(doc, beam_size=3, n_best=2, alignment=True))
    per_sentence, context = [], b""
    for sentence in doc:
        reply = stub.Translate(request([sentence], context, beam_size=3, n_best=2, alignment=True))
        per_sentence.extend(reply.translations)
        context = reply.context
    stream = iter([request([s], beam_size=3, n_best=2, alignment=True) for s in doc])
    streamed = [t for r in stub.TranslateStream(stream) for t in r.translations]
    for got in (list(whole.translations), per_sentence, streamed):
        assert [t.text for t in got] == [t.text for t in expected]
        assert [links(t) for t in got] == [t.alignment for t in expected]
        assert [[links(a) for a in t.alternatives] for t in got] == [t.alternative_alignments for t in expected]
    assert any(links(t) for t in whole.translations)  # not vacuously equal (the tiny model attends to EOS a lot)
    plain = stub.Translate(request(doc, beam_size=3, n_best=2))
    assert texts(plain) == texts(whole) and plain.context == whole.context == context
    assert [t.score for t in plain.translations] == pytest.approx([t.score for t in whole.translations], abs=1e-5)


def test_alignments_are_absent_unless_asked(stub: pb_grpc.TranslatorStub) -> None:
    reply = stub.Translate(request(DOCS[1], beam_size=3, n_best=2))
    assert not any(t.alignment or any(a.alignment for a in t.alternatives) for t in reply.translations)
    asked, not_asked = stub.TranslateStream(
        iter([request([DOCS[1][0]], alignment=True), request([DOCS[1][1]], alignment=False)])
    )  # options are per message
    assert links(asked.translations[0]) and not_asked.translations[0].alignment == []


def test_max_length_caps_the_output(stub: pb_grpc.TranslatorStub) -> None:
    full = stub.Translate(request(["look at that horse ."]))
    capped = stub.Translate(request(["look at that horse ."], max_length=1))
    assert len(texts(full)[0].split()) == 4
    assert len(texts(capped)[0].split()) <= 1


def test_stream_keeps_context_for_its_lifetime(stub: pb_grpc.TranslatorStub) -> None:
    # The tiny model knows two-sentence documents, so each document here has two.
    for noun, gender in (("cow", "a"), ("dog", "o")):
        replies = list(stub.TranslateStream(iter([request([f"look at that {noun} ."]), request(["it is very new ."])])))
        assert [endings(r) for r in replies] == [[gender], [gender]]
        # A stream's context continues the document in a unary call, as another replica would.
        [first] = stub.TranslateStream(iter([request([f"look at that {noun} ."])]))
        assert endings(stub.Translate(request(["it is very old ."], first.context))) == [gender]


def test_stream_may_start_from_a_context(stub: pb_grpc.TranslatorStub) -> None:
    cow = stub.Translate(request(["look at that cow ."]))
    [reply] = stub.TranslateStream(iter([request(["it is very tall ."], cow.context)]))
    assert endings(reply) == ["a"]


def test_list_models(stub: pb_grpc.TranslatorStub, served: Server) -> None:
    reply = stub.ListModels(pb.ListModelsRequest())
    assert reply.default_model == "tiny"
    by_name = {m.name: m for m in reply.models}
    assert set(by_name) == {"tiny", "twin"}
    tiny = by_name["tiny"]
    assert (tiny.source_language, tiny.target_language, tiny.context_mode) == ("en", "es", "carry")
    assert tiny.step == 800 and tiny.parameters > 0 and len(tiny.version) == 16
    assert by_name["twin"].version == tiny.version  # same file, same version: contexts are interchangeable


def test_list_models_gives_no_path_and_no_config_unless_told(
    stub: pb_grpc.TranslatorStub, start_server: StartServer, trained_run: Path
) -> None:
    """ListModels told any client the server's directories and the whole model config (issue 30)."""
    [tiny, twin] = sorted(stub.ListModels(pb.ListModelsRequest()).models, key=lambda m: m.name)
    assert tiny.checkpoint == twin.checkpoint == "best.pt"  # the file's name, no directory
    assert dict(tiny.config) == {"context": "carry", "inference": "fp32"}
    server = start_server(model=[f"d={trained_run}"], expose_model_details=True)
    detailed = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    [d] = detailed.ListModels(pb.ListModelsRequest(), timeout=10).models
    assert d.checkpoint == str(trained_run / "best.pt") and d.config["dec_hidden"] == "64"


def test_health_and_reflection(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "translator.v1.Translator"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    db = ProtoReflectionDescriptorDatabase(channel)
    assert {"translator.v1.Translator", "grpc.health.v1.Health"} <= set(db.get_services())
    method = db.FindFileContainingSymbol("translator.v1.Translator").service[0].method
    assert [m.name for m in method] == ["Translate", "TranslateStream", "ListModels"]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("req", "code", "words"),
    [
        (request([]), grpc.StatusCode.INVALID_ARGUMENT, "no sentences"),
        (request(["ok .", "   "]), grpc.StatusCode.INVALID_ARGUMENT, "sentence 1 is empty"),
        (request(["x" * 2001]), grpc.StatusCode.INVALID_ARGUMENT, "2001 characters"),
        (request(["a ."] * 257), grpc.StatusCode.INVALID_ARGUMENT, "257 sentences"),
        (request(["a ."], model="nope"), grpc.StatusCode.NOT_FOUND, "no model named 'nope'"),
        (request(["a ."], beam_size=17), grpc.StatusCode.INVALID_ARGUMENT, "beam_size 17"),
        (request(["a ."], beam_size=2, n_best=3), grpc.StatusCode.INVALID_ARGUMENT, "n_best 3"),
        (request(["a ."], n_best=17, alignment=True), grpc.StatusCode.INVALID_ARGUMENT, "n_best 17"),
        (request(["a ."], max_length=513), grpc.StatusCode.INVALID_ARGUMENT, "max_length 513"),
        (request(["a ."] * 20, beam_size=16, n_best=16), grpc.StatusCode.INVALID_ARGUMENT, "--max-request-work"),
        (request(["a ."], context=b"garbage"), grpc.StatusCode.INVALID_ARGUMENT, "bad magic"),
        (request(["a ."], context=b"NMTC\xff\xff"), grpc.StatusCode.INVALID_ARGUMENT, "corrupt"),
    ],
)
def test_bad_requests_get_their_status(
    stub: pb_grpc.TranslatorStub, req: pb.TranslateRequest, code: grpc.StatusCode, words: str
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        stub.Translate(req)
    assert info.value.code() == code  # type: ignore[attr-defined]
    assert words in info.value.details()  # type: ignore[attr-defined]


def test_too_many_pieces_is_refused(stub: pb_grpc.TranslatorStub) -> None:
    long = " ".join(["look at that cow ."] * 60)  # < 2000 characters, > 250 pieces
    with pytest.raises(grpc.RpcError) as info:
        stub.Translate(request([long]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "subword pieces" in info.value.details()  # type: ignore[attr-defined]


def test_context_from_another_model_is_a_failed_precondition(stub: pb_grpc.TranslatorStub) -> None:
    context = stub.Translate(request(["look at that cow ."])).context
    with pytest.raises(grpc.RpcError) as info:
        stub.Translate(request(["it is very cute ."], context, model="twin"))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
    assert "start the document again" in info.value.details()  # type: ignore[attr-defined]


def test_stream_refuses_a_context_or_model_change_after_the_first_message(stub: pb_grpc.TranslatorStub) -> None:
    context = stub.Translate(request(["look at that cow ."])).context
    for second in (request(["a ."], context), request(["a ."], model="twin")):
        replies = stub.TranslateStream(iter([request(["look at that dog ."]), second]))
        with pytest.raises(grpc.RpcError) as info:
            list(replies)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
        assert "stream message 1" in info.value.details()  # type: ignore[attr-defined]


def test_refusals_are_counted_in_metrics(stub: pb_grpc.TranslatorStub, served: Server) -> None:
    def count() -> float:
        value = served.metrics.registry.get_sample_value(
            "nmt_requests_total", {"method": "Translate", "model": "", "code": "NOT_FOUND"}
        )
        return value or 0.0

    before = count()
    with pytest.raises(grpc.RpcError):
        stub.Translate(request(["a ."], model="missing"))
    assert count() == before + 1


# ---------------------------------------------------------------- forged state and failure isolation


def forge(blob: bytes, change: Callable[[pb.DocumentContext], None]) -> bytes:
    """A real blob, parsed, changed and serialized again: structurally valid, of the right model and version."""
    msg = pb.DocumentContext()
    msg.ParseFromString(blob[len(contextblob.MAGIC) :])
    change(msg)
    return contextblob.MAGIC + msg.SerializeToString()


def huge_decoder_h(msg: pb.DocumentContext) -> None:
    """decoder_h = +-3e38, alternating (uniform signs saturate harmlessly; mixed ones make inf - inf = NaN)."""
    t = next(t for t in msg.tensors if t.name == "decoder_h")
    n = len(t.data) // 4
    t.data = struct.pack(f"<{n}f", *([3e38, -3e38] * n)[:n])


def test_a_forged_context_is_refused_and_hurts_no_other_request(stub: pb_grpc.TranslatorStub) -> None:
    """Issue 15's headline: three documents in flight failed with INTERNAL, and the forged call hung."""
    forged = forge(stub.Translate(request(["look at that cow ."])).context, huge_decoder_h)
    doc = ["look at that cow .", "it is very old ."] * 10
    with ThreadPoolExecutor(4) as pool:
        benign = [pool.submit(stub.Translate, request(doc), timeout=60) for _ in range(3)]
        time.sleep(0.05)  # the documents are being translated when the forged request comes
        with pytest.raises(grpc.RpcError) as info:
            stub.Translate(request(["it is very cute ."], forged), timeout=30)
        replies = [b.result() for b in benign]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "decoder_h holds values beyond 1" in info.value.details()  # type: ignore[attr-defined]
    assert all(len(r.translations) == len(doc) for r in replies)


def test_a_sentence_count_at_the_counters_end_is_refused_before_any_model_time(stub: pb_grpc.TranslatorStub) -> None:
    """sentences = 2^64-1 used to translate in full, then fail with INTERNAL (the counter overflowed)."""
    real = stub.Translate(request(["look at that cow ."])).context
    forged = forge(real, lambda m: setattr(m, "sentences", 2**64 - 1))
    with pytest.raises(grpc.RpcError) as info:
        stub.Translate(request(["it is very cute ."], forged))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "sentences" in info.value.details()  # type: ignore[attr-defined]


def test_internal_errors_name_an_incident_not_the_exception(
    stub: pb_grpc.TranslatorStub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> bytes:
        raise RuntimeError("/srv/secret/path.pt has a bug")

    monkeypatch.setattr(ServedModel, "encode_context", broken)
    with pytest.raises(grpc.RpcError) as info:
        stub.Translate(request(["look at that cow ."]))
    details = info.value.details()  # type: ignore[attr-defined]
    assert info.value.code() == grpc.StatusCode.INTERNAL  # type: ignore[attr-defined]
    assert "secret" not in details and "RuntimeError" not in details
    incident = details.split("incident ")[1].split()[0]
    assert any(incident in r.getMessage() and "secret" in r.exc_text for r in caplog.records if r.exc_text)


def test_client_strings_echoed_in_errors_are_capped(stub: pb_grpc.TranslatorStub) -> None:
    with pytest.raises(grpc.RpcError) as info:
        stub.Translate(request(["a ."], model="x" * 100_000))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    assert len(info.value.details()) < 300  # type: ignore[attr-defined]


class _EndedRpc:
    """A call whose client left before the server attached its job: gRPC's add_callback then returns False."""

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False

    def peer(self) -> str:
        return "ipv4:127.0.0.1:1"


def test_a_call_whose_client_already_left_is_cancelled_before_its_job_is_queued() -> None:
    """The race the callback cannot see (the RPC ended first) still ends in CANCELLED, counted, nothing queued."""
    metrics = Metrics()
    job = cast(Job, object())  # never run: attach must refuse before the batcher sees it
    rpc = cast(grpc.ServicerContext, _EndedRpc())
    with pytest.raises(RequestError) as refused, _Call(metrics, "Translate", rpc) as call:
        call.attach(job)
    assert refused.value.code == grpc.StatusCode.CANCELLED
    assert metrics.requests.labels("Translate", "", "CANCELLED")._value.get() == 1


def test_n_best_and_request_work_are_capped(start_server: StartServer, trained_run: Path) -> None:
    """Per-request caps on work (issue 30): n_best up to --max-n-best, sentences x beam x n-best up to
    --max-request-work, so no single request can ask for hours of model time."""
    server = start_server(model=[f"w={trained_run}"], max_n_best=2, max_request_work=64)
    capped = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    for req, words in (
        (request(["a ."], beam_size=4, n_best=3), "n_best 3"),
        (request(["a ."] * 5, beam_size=16), "= 80"),
    ):
        with pytest.raises(grpc.RpcError) as info:
            capped.Translate(req, timeout=30)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and words in info.value.details()  # type: ignore[attr-defined]
    assert (
        len(capped.Translate(request(["look at that cow ."] * 4, beam_size=8, n_best=2), timeout=30).translations) == 4
    )


def test_a_slow_reader_is_cancelled_and_frees_its_slot(start_server: StartServer, trained_run: Path) -> None:
    """A stream whose client stops reading blocked its handler in the send, holding its slot (--workers)
    until the connection ended, an hour later; now the send is bounded (--send-timeout-seconds)."""
    settings = {"workers": 1, "send_timeout_seconds": 2.0, "max_request_work": 100_000, "max_batch_size": 64}
    server = start_server(model=[f"sr={trained_run}"], **settings)
    address = f"127.0.0.1:{server.port}"
    small_window = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 1024)]  # the client reads nothing
    slow = pb_grpc.TranslatorStub(grpc.insecure_channel(address, options=small_window))
    other = pb_grpc.TranslatorStub(grpc.insecure_channel(address))
    release = threading.Event()

    def requests() -> Iterator[pb.TranslateRequest]:
        for _ in range(40):  # each reply carries 32 sentences x 8 alternatives: far more than the window
            yield request(["look at that cow ."] * 32, beam_size=8, n_best=8)
        release.wait(60)

    stream = slow.TranslateStream(requests(), timeout=120)  # never read until the end
    try:
        codes = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not codes or codes[-1] != "OK"):
            try:
                other.Translate(request(["look at that dog ."]), timeout=30)
                codes.append("OK")
            except grpc.RpcError as e:
                codes.append(e.code().name)  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert "RESOURCE_EXHAUSTED" in codes and codes[-1] == "OK", codes[-5:]  # held, then freed
        with pytest.raises(grpc.RpcError) as info:
            for _ in range(100):
                next(stream)
        assert info.value.code() == grpc.StatusCode.CANCELLED  # type: ignore[attr-defined]
        assert server.metrics.stream_cancels.labels("slow_reader")._value.get() >= 1
    finally:
        release.set()
        stream.cancel()


def test_a_client_is_its_connection_for_the_per_client_limit(start_server: StartServer, trained_run: Path) -> None:
    """--max-client-requests counts per connection (without tokens): a second call on the same channel is refused
    while the first runs; another connection is not affected."""
    server = start_server(model=[f"pc={trained_run}"], max_client_requests=1)
    address = f"127.0.0.1:{server.port}"
    busy = pb_grpc.TranslatorStub(grpc.insecure_channel(address))
    own_connection = [("grpc.use_local_subchannel_pool", 1)]  # channels in one process share a connection otherwise
    other = pb_grpc.TranslatorStub(grpc.insecure_channel(address, options=own_connection))
    long = busy.Translate.future(request(["look at that cow ."] * 250), timeout=120)
    deadline = time.monotonic() + 30
    while not server.batcher.depth and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        with pytest.raises(grpc.RpcError) as info:
            busy.Translate(request(["look at that dog ."]), timeout=30)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "this client" in info.value.details()  # type: ignore[attr-defined]
        assert other.Translate(request(["look at that dog ."]), timeout=60).translations
    finally:
        long.cancel()
