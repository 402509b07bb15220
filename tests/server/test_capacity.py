"""Reserved capacity: however many Translator calls are open, health still answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc
from tests.server.conftest import StartServer


def idle_requests(release: threading.Event) -> Iterator[pb.TranslateRequest]:
    """A stream's requests that never come (until `release`): the client holds the stream open, idle."""
    release.wait()
    yield from ()


def test_health_answers_while_70_idle_streams_are_open(start_server: StartServer, trained_run: Path) -> None:
    """Every RPC shared 64 threads: 70 idle streams made Health.Check fail at once (issue 15)."""
    server = start_server(model=[f"h={trained_run}"])  # --workers 64
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stub, health = pb_grpc.TranslatorStub(channel), health_pb2_grpc.HealthStub(channel)
    release = threading.Event()
    streams = [stub.TranslateStream(idle_requests(release), timeout=60) for _ in range(70)]
    try:
        deadline = time.monotonic() + 30
        while sum(s.done() for s in streams) < 6 and time.monotonic() < deadline:  # 64 held, 6 refused
            time.sleep(0.05)
        start = time.monotonic()
        reply = health.Check(health_pb2.HealthCheckRequest(service="translator.v1.Translator"), timeout=1.0)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING and time.monotonic() - start < 1.0
    finally:
        release.set()
    codes = []
    for s in streams:
        try:
            codes.append("OK" if list(s) == [] else "replies")
        except grpc.RpcError as e:
            codes.append(e.code().name)  # type: ignore[attr-defined]
    assert sorted(set(codes)) == ["OK", "RESOURCE_EXHAUSTED"] and codes.count("OK") == 64  # workers held, rest refused


def test_health_watches_cannot_take_the_threads_health_checks_need(
    start_server: StartServer, trained_run: Path
) -> None:
    """Health.Watch runs non-blocking (no thread while it waits): 64 are held (--max-watches), the rest refused."""
    server = start_server(model=[f"hw={trained_run}"])  # --admin-threads 8
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    health = health_pb2_grpc.HealthStub(channel)
    watches = [health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=60) for _ in range(70)]
    try:
        deadline = time.monotonic() + 30
        while sum(w.done() for w in watches) < 6 and time.monotonic() < deadline:  # 64 held
            time.sleep(0.05)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert sum(w.done() and w.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for w in watches) == 6
        ask = reflection_pb2.ServerReflectionRequest(list_services="")
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(iter([ask]), timeout=10)
        assert next(reflect).list_services_response.service  # the admin threads are all free for it
    finally:
        for w in watches:
            w.cancel()


def test_idle_health_watches_end_and_no_longer_keep_later_watchers_out(
    start_server: StartServer, trained_run: Path
) -> None:
    """Four idle watches used to shut every later Watch out (issue 30): now 8 open, and each ends after
    --watch-seconds (CANCELLED; the client watches again)."""
    server = start_server(model=[f"we={trained_run}"], watch_seconds=1.0)
    health = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    watches = [health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=60) for _ in range(8)]
    try:
        for w in watches:  # each is admitted: its first reply is the current status
            assert next(w).status == health_pb2.HealthCheckResponse.SERVING
        deadline = time.monotonic() + 30
        while not all(w.done() for w in watches) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [w.code() for w in watches] == [grpc.StatusCode.CANCELLED] * 8
    finally:
        for w in watches:
            w.cancel()


def test_an_idle_reflection_stream_is_cancelled(start_server: StartServer, trained_run: Path) -> None:
    """A reflection stream held a reserved admin thread for as long as its client liked."""
    server = start_server(model=[f"ri={trained_run}"], stream_idle_seconds=0.5)
    stub = reflection_pb2_grpc.ServerReflectionStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    release = threading.Event()

    def idle() -> Iterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        release.wait(30)

    replies = stub.ServerReflectionInfo(idle(), timeout=20)
    try:
        assert next(replies).list_services_response.service
        with pytest.raises(grpc.RpcError) as info:
            next(replies)
    finally:
        release.set()
    assert info.value.code() == grpc.StatusCode.CANCELLED  # (before: DEADLINE_EXCEEDED after the client's 20 s)
