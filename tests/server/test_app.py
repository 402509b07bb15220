"""The server as an operator runs it: `nmt serve` under SIGTERM, TLS, metrics, deadlines, and load."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nmt.cli import main as cli_main
from server import contextblob
from server.client import Client
from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc
from tests.server.conftest import StartServer, free_port
from tests.server.test_capacity import idle_requests
from tests.synthetic import make_documents
from translator.inference import Translator

ROOT = Path(__file__).resolve().parents[2]
LONG_DOC = ["look at that cow .", "it is very old ."] * 125  # 250: just under the per-request limit


EMPTY_LIST = ["--frequent", "0", "--per-source", "0"]  # shortlist = specials + the source's pieces


def rpc_error(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    return info.value


@pytest.mark.slow
def test_sigterm_drains_in_flight_requests_then_exits(trained_run: Path) -> None:
    metrics = free_port()
    env = {**os.environ, "NMT_SERVE_PORT": "0", "NMT_SERVE_METRICS_PORT": str(metrics), "NMT_SERVE_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nmt", "serve", "--model", f"tiny={trained_run}"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        logs = []
        for line in proc.stderr:  # JSON logs: wait for the "started" event and its port
            logs.append(json.loads(line))
            if logs[-1].get("event") == "started":
                break
        port = logs[-1]["port"]
        client = Client(f"127.0.0.1:{port}", timeout=120)
        assert client.health() == "SERVING"
        result: dict[str, object] = {}
        worker = threading.Thread(target=lambda: result.update(reply=client.translate(LONG_DOC)))
        worker.start()
        scrape = f"http://127.0.0.1:{metrics}/metrics"
        while "nmt_queue_depth 1.0" not in urllib.request.urlopen(scrape, timeout=10).read().decode():
            time.sleep(0.02)  # until the 250-sentence document is being translated
        proc.send_signal(signal.SIGTERM)
        worker.join(timeout=120)
        reply = result["reply"]
        assert isinstance(reply, pb.TranslateResponse) and len(reply.translations) == 250
        code = proc.wait(timeout=60)
        rest = proc.stderr.read()
        assert code == 0, f"exit status {code}; stderr ends with:\n{rest[-3000:]}"
        logs += [json.loads(line) for line in rest.splitlines()]
        events = [e.get("event") for e in logs]
        assert events.index("signal") < events.index("draining") < events.index("stopped")
        rpc = [e for e in logs if e.get("event") == "rpc" and e["method"] == "Translate"]
        assert rpc[-1]["code"] == "OK" and rpc[-1]["sentences"] == 250
        assert rpc[-1]["steps"] >= 250 and rpc[-1]["queue_ms"] >= 0 and rpc[-1]["other_steps"] == 0  # where time went
        client.close()
    finally:
        proc.kill()  # only matters when an assertion failed: a clean run has exited already


def test_after_stop_new_requests_are_refused(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[str(trained_run)])
    with Client(f"127.0.0.1:{server.port}", timeout=10) as client:
        assert client.translate(["look at that cow ."]).translations[0].text
        server.stop(grace=1)
        assert rpc_error(lambda: client.translate(["look at that cow ."])).code() == grpc.StatusCode.UNAVAILABLE
    # Health turned NOT_SERVING before the port closed (what a load balancer polls while draining).
    status = server.health.Check(health_pb2.HealthCheckRequest(service="translator.v1.Translator"), None).status
    assert status == health_pb2.HealthCheckResponse.NOT_SERVING


def test_deadline_exceeded_and_the_job_is_dropped(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[f"d={trained_run}"])
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    error = rpc_error(lambda: stub.Translate(pb.TranslateRequest(sentences=LONG_DOC), timeout=0.3))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    deadline = time.monotonic() + 30
    while server.batcher.depth and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.batcher.depth == 0  # dropped mid-document, not translated to the end
    translated = server.metrics.registry.get_sample_value("nmt_sentences_total", {"model": "d"})
    assert translated is not None and 0 < translated < len(LONG_DOC)


def test_a_cancelled_call_leaves_the_queue(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[f"c={trained_run}"])
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    call = stub.Translate.future(pb.TranslateRequest(sentences=LONG_DOC))
    time.sleep(0.3)
    assert server.metrics.registry.get_sample_value("nmt_queue_depth") == 1.0
    call.cancel()
    deadline = time.monotonic() + 30
    while server.batcher.depth and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.metrics.registry.get_sample_value("nmt_queue_depth") == 0.0
    assert server.metrics.registry.get_sample_value("nmt_dropped_requests_total", {"reason": "cancelled"}) == 1.0
    translated = server.metrics.registry.get_sample_value("nmt_sentences_total", {"model": "c"})
    assert translated is not None and translated < len(LONG_DOC)


def test_full_queue_is_resource_exhausted(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[str(trained_run)], max_queue=1)
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    busy = stub.Translate.future(pb.TranslateRequest(sentences=LONG_DOC))
    time.sleep(0.3)
    error = rpc_error(lambda: stub.Translate(pb.TranslateRequest(sentences=["a ."])))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "queue is full" in error.details()
    busy.cancel()


def test_int8_server(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[f"q={trained_run}"], int8=True)
    with Client(f"127.0.0.1:{server.port}") as client:
        [info] = client.list_models().models
        cow = client.translate(["look at that cow ."])
        cute = client.translate(["it is very cute ."], context=cow.context)
    assert info.config["inference"] == "int8" and info.parameters > 100_000  # counted before quantization
    assert cow.translations[0].text.startswith("mira") and cute.translations[0].text.split()[-2].endswith("a")


def test_shortlist_server_decodes_through_the_checkpoints_shortlist(
    start_server: StartServer, trained_run: Path, synthetic_corpus: dict[str, str], tmp_path: Path
) -> None:
    """An extreme shortlist (specials and the source's own pieces only) makes the difference visible."""
    model = tmp_path / "short.pt"
    shutil.copy(trained_run / "best.pt", model)
    assert cli_main(["shortlist", "--model", str(model), "--data", synthetic_corpus["train"]] + EMPTY_LIST) == 0
    doc = ["look at that cow .", "it is very cute ."]
    server = start_server(model=[f"s={model}"], shortlist=True)
    with Client(f"127.0.0.1:{server.port}") as client:
        served = [t.text for t in client.translate(doc).translations]
    library = Translator.load(model)
    decode = dataclasses.replace(library.config.decode, shortlist=True)
    [short] = library.translate_documents([doc], decode=decode)
    [full] = library.translate_documents([doc])
    assert served == [t.text for t in short]
    assert served != [t.text for t in full]


def test_attend_model_serves_its_memory_through_the_context_blob(
    start_server: StartServer, synthetic_corpus: dict[str, str], tmp_path: Path
) -> None:
    """`context: attend` carries a memory of earlier tokens: one call, per-sentence calls and the library agree."""
    from tests.conftest import tiny_config
    from training.trainer import train
    from translator.inference import Translator

    cfg = tiny_config(tmp_path, max_steps=20).override(
        ["model.context=attend", "model.memory_tokens=8", f"data.train={synthetic_corpus['train']}"]
    )
    run = train(cfg)
    server = start_server(model=[f"mem={run / 'last.pt'}"])
    doc = ["look at that cow .", "it is very old .", "look at that dog .", "it is new ."]
    with Client(f"127.0.0.1:{server.port}") as client:
        whole = client.translate(doc)
        context, pieces = b"", []
        for sentence in doc:
            reply = client.translate([sentence], context=context)
            pieces += [t.text for t in reply.translations]
            context = reply.context
    expected = Translator.load(run / "last.pt").translate_documents([doc])[0]
    assert [t.text for t in whole.translations] == pieces == [t.text for t in expected]
    assert whole.context == context and len(context) > 4 * 8 * 2 * 32  # the memory: 8 slots x 64 floats


def test_metrics_endpoint(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[f"m={trained_run}"], metrics_port=free_port())
    with Client(f"127.0.0.1:{server.port}") as client:
        client.translate(["look at that cow .", "it is very cute ."])
    text = urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).read().decode()
    assert 'nmt_requests_total{code="OK",method="Translate",model="m"} 1.0' in text
    assert 'nmt_sentences_total{model="m"} 2.0' in text
    assert 'nmt_batch_size_count{model="m"}' in text and "nmt_request_latency_seconds_bucket" in text
    assert "nmt_queue_depth" in text and 'nmt_model_info{checkpoint="' in text


def test_tls_and_mutual_tls(start_server: StartServer, trained_run: Path, tmp_path: Path) -> None:
    def make_cert(name: str, ca: str | None = None) -> None:
        key, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
        subj = ["-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"]
        if ca is None:
            cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *subj]
            subprocess.run([*cmd, "-keyout", key, "-out", crt], check=True, capture_output=True)
            return
        csr = tmp_path / f"{name}.csr"
        subprocess.run(
            ["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", *subj, "-keyout", key, "-out", csr],
            check=True,
            capture_output=True,
        )
        sign = ["openssl", "x509", "-req", "-in", csr, "-CA", tmp_path / f"{ca}.crt", "-CAkey", tmp_path / f"{ca}.key"]
        subprocess.run([*sign, "-CAcreateserial", "-days", "1", "-copy_extensions", "copy", "-out", crt], check=True)

    make_cert("ca")
    make_cert("localhost", ca="ca")
    make_cert("client", ca="ca")
    p = {n: str(tmp_path / n) for n in ("ca.crt", "localhost.crt", "localhost.key", "client.crt", "client.key")}
    server = start_server(
        model=[str(trained_run)], tls_cert=p["localhost.crt"], tls_key=p["localhost.key"], tls_client_ca=p["ca.crt"]
    )
    target = f"localhost:{server.port}"
    with Client(target, tls_ca=p["ca.crt"], tls_cert=p["client.crt"], tls_key=p["client.key"], timeout=10) as c:
        assert c.translate(["look at that cow ."]).translations[0].text.startswith("mira")
    with Client(target, tls_ca=p["ca.crt"], timeout=10) as c:  # no client certificate: refused
        assert rpc_error(lambda: c.translate(["look at that cow ."])).code() == grpc.StatusCode.UNAVAILABLE
    with Client(target, timeout=10) as c:  # plaintext against a TLS port: refused
        assert rpc_error(lambda: c.translate(["look at that cow ."])).code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.slow
def test_load_2000_requests_from_32_clients_without_an_error(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[f"m={trained_run}"], max_wait_ms=2.0)
    docs = [list(d.sources) for d in make_documents(2000, seed=9)]
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))

    def one(doc: list[str]) -> int:
        return len(stub.Translate(pb.TranslateRequest(sentences=doc), timeout=120).translations)

    with ThreadPoolExecutor(32) as pool:  # a mix of single sentences and two-sentence documents
        counts = list(pool.map(one, [d[: 1 + i % 2] for i, d in enumerate(docs)]))
    assert sum(counts) == 3000
    samples = {
        s.name: s.value
        for metric in server.metrics.registry.collect()
        for s in metric.samples
        if s.labels.get("model") == "m"
    }
    assert samples["nmt_requests_total"] == 2000
    assert samples["nmt_batch_size_sum"] / samples["nmt_batch_size_count"] > 4  # requests really shared batches


# ---------------------------------------------------------------- resource bounds


def test_a_dead_batcher_worker_turns_health_not_serving(
    start_server: StartServer, trained_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(model=[f"w={trained_run}"])
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stub, health = pb_grpc.TranslatorStub(channel), health_pb2_grpc.HealthStub(channel)

    class Killed(BaseException):
        pass

    def kill(stats: object) -> None:
        raise Killed

    monkeypatch.setattr(server.batcher, "_on_batch", kill)
    error = rpc_error(lambda: stub.Translate(pb.TranslateRequest(sentences=["look at that cow ."]), timeout=10))
    assert error.code() == grpc.StatusCode.UNAVAILABLE  # not left hanging
    for service in ("", "translator.v1.Translator"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert server.batcher.depth == 0


def test_the_server_caps_the_deadline_of_a_request_that_set_none(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[f"t={trained_run}"], max_request_seconds=0.3)
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    start = time.monotonic()
    error = rpc_error(lambda: stub.Translate(pb.TranslateRequest(sentences=LONG_DOC)))  # no client deadline
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and time.monotonic() - start < 10
    deadline = time.monotonic() + 30
    while server.batcher.depth and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.batcher.depth == 0


def test_an_idle_stream_is_cancelled(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[f"i={trained_run}"], stream_idle_seconds=0.5)
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    release = threading.Event()
    start = time.monotonic()
    try:
        error = rpc_error(lambda: list(stub.TranslateStream(idle_requests(release), timeout=20)))
    finally:
        release.set()
    assert error.code() == grpc.StatusCode.CANCELLED and time.monotonic() - start < 5


def test_a_stream_carries_at_most_max_stream_messages(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[f"n={trained_run}"], max_stream_messages=2)
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    replies: list[pb.TranslateResponse] = []
    requests = [pb.TranslateRequest(sentences=[s]) for s in ("look at that cow .", "it is old .", "it is new .")]
    error = rpc_error(lambda: replies.extend(stub.TranslateStream(iter(requests), timeout=30)))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "new stream" in error.details()
    assert len(replies) == 2 and replies[1].context  # the document goes on from the last context


def test_metrics_listen_on_loopback_even_when_grpc_does_not(start_server: StartServer, trained_run: Path) -> None:
    """Metrics name checkpoint paths: `--host` must not expose them (127.0.0.2 stands in for 0.0.0.0)."""
    server = start_server(model=[f"l={trained_run}"], host="127.0.0.2", metrics_port=free_port())
    assert server._metrics_server.server_address[0] == "127.0.0.1"


def test_reflection_can_be_turned_off(start_server: StartServer, trained_run: Path) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    server = start_server(model=[f"r={trained_run}"], no_reflection=True)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    ask = reflection_pb2.ServerReflectionRequest(list_services="")
    error = rpc_error(lambda: list(reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(iter([ask]))))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    assert pb_grpc.TranslatorStub(channel).ListModels(pb.ListModelsRequest(), timeout=10).models


def test_replicas_sharing_a_context_key_continue_each_others_documents_and_refuse_forgeries(
    start_server: StartServer, trained_run: Path, tmp_path: Path
) -> None:
    key = tmp_path / "context.key"
    key.write_bytes(os.urandom(32))
    a, b = (start_server(model=[f"k={trained_run}"], context_key_file=str(key)) for _ in range(2))
    stub_a, stub_b = (pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{s.port}")) for s in (a, b))
    cow = stub_a.Translate(pb.TranslateRequest(sentences=["look at that cow ."]), timeout=30)
    cute = stub_b.Translate(pb.TranslateRequest(sentences=["it is very cute ."], context=cow.context), timeout=30)
    assert cute.translations[0].text.split()[-2].endswith("a")  # the state crossed replicas intact
    unsigned = cow.context[: -contextblob.TAG_BYTES]  # a well-formed, in-range blob without its signature
    error = rpc_error(lambda: stub_b.Translate(pb.TranslateRequest(sentences=["a ."], context=unsigned), timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "signature" in error.details()


def test_connections_are_pinged_and_recycled() -> None:
    from server.app import grpc_options
    from server.config import ServeConfig

    options = dict(grpc_options(ServeConfig(model=["x"], keepalive_seconds=30, max_request_seconds=120)))
    assert options["grpc.keepalive_time_ms"] == 30_000 and options["grpc.max_connection_age_ms"] == 3_600_000
    assert options["grpc.max_connection_age_grace_ms"] == 120_000  # calls in flight may finish
    assert "grpc.max_connection_age_ms" not in dict(
        grpc_options(ServeConfig(model=["x"], max_connection_age_seconds=0))
    )


def test_connection_limits_are_flags_with_their_documented_defaults() -> None:
    """Issue 30: idle connections were neither pinged (the docs said they were) nor closed, a connection could
    open any number of streams, and the message cap was gRPC's unstated default."""
    from server.app import grpc_options
    from server.config import ServeConfig

    options = dict(grpc_options(ServeConfig(model=["x"])))
    assert options["grpc.keepalive_permit_without_calls"] == 1
    assert options["grpc.max_connection_idle_ms"] == 300_000 and options["grpc.max_concurrent_streams"] == 100
    assert options["grpc.max_receive_message_length"] == options["grpc.max_send_message_length"] == 4 * 1024 * 1024
    assert options["grpc.max_allowed_incoming_connections"] == 1024
    assert "grpc.max_connection_idle_ms" not in dict(
        grpc_options(ServeConfig(model=["x"], max_connection_idle_seconds=0))
    )


def test_connections_beyond_max_connections_are_refused(start_server: StartServer, trained_run: Path) -> None:
    """gRPC's Python server took any number of connections; now at most --max-connections are open."""
    server = start_server(model=[f"mc={trained_run}"], max_connections=1)
    own = [("grpc.use_local_subchannel_pool", 1)]  # a connection per channel
    first, second, third = (grpc.insecure_channel(f"127.0.0.1:{server.port}", options=own) for _ in range(3))
    request = pb.TranslateRequest(sentences=["look at that cow ."])
    assert pb_grpc.TranslatorStub(first).Translate(request, timeout=30).translations
    error = rpc_error(lambda: pb_grpc.TranslatorStub(second).Translate(request, timeout=5))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    second.close()  # a refused channel reconnects in the background and could take the freed place first
    first.close()
    deadline, reply = time.monotonic() + 30, None
    while reply is None and time.monotonic() < deadline:  # the closed connection's place is free again
        try:
            reply = pb_grpc.TranslatorStub(third).Translate(request, timeout=5)
        except grpc.RpcError:
            time.sleep(0.2)
    assert reply is not None and reply.translations


def test_a_message_above_max_message_bytes_is_refused(start_server: StartServer, trained_run: Path) -> None:
    server = start_server(model=[f"mb={trained_run}"], max_message_bytes=8_000)
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    error = rpc_error(lambda: stub.Translate(pb.TranslateRequest(sentences=["look at that cow ."] * 500), timeout=30))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stub.Translate(pb.TranslateRequest(sentences=["look at that cow ."]), timeout=30).translations


def test_plaintext_beyond_loopback_is_logged_as_a_warning(
    start_server: StartServer, trained_run: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from server.app import is_loopback, plaintext_warning
    from server.config import ServeConfig

    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("translate.example")
    assert "plaintext on 0.0.0.0" in plaintext_warning(ServeConfig(model=["x"], host="0.0.0.0"))
    assert "bearer tokens" in plaintext_warning(ServeConfig(model=["x"], host="::", auth_token_file="t"))
    assert plaintext_warning(ServeConfig(model=["x"], host="0.0.0.0", tls_cert="c", tls_key="k")) == ""
    with caplog.at_level("WARNING", logger="server"):
        start_server(model=[f"pl={trained_run}"], host="127.0.0.2")
    assert not [r for r in caplog.records if getattr(r, "event", "") == "plaintext_exposed"]


def test_a_context_key_too_short_to_be_secret_stops_startup(
    start_server: StartServer, trained_run: Path, tmp_path: Path
) -> None:
    (tmp_path / "key").write_bytes(b"short\n")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        start_server(model=[str(trained_run)], context_key_file=str(tmp_path / "key"))
