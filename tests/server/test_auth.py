"""Bearer tokens (`--auth-token-file`): who may call, Health open for probes, constant-time comparison."""

from __future__ import annotations

import hmac
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from nmt.cli import main
from server.auth import TokenCheck, fingerprint, read_tokens
from server.client import Client
from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc
from tests.server.conftest import StartServer

TOKENS = ["a-long-enough-token-0001", "another-token-for-rotation"]


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "tokens"
    path.write_text("# one a line\n" + "\n".join(TOKENS) + "\n")
    return path


def test_calls_without_a_valid_token_are_unauthenticated_and_health_stays_open(
    start_server: StartServer, trained_run: Path, token_file: Path
) -> None:
    server = start_server(model=[f"auth={trained_run}"], auth_token_file=str(token_file))
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stub = pb_grpc.TranslatorStub(channel)
    req = pb.TranslateRequest(sentences=["look at that cow ."])
    for metadata in ((), (("authorization", "Bearer wrong-token-of-some-length"),), (("authorization", TOKENS[0]),)):
        for call in (
            lambda metadata=metadata: stub.Translate(req, timeout=10, metadata=metadata),
            lambda metadata=metadata: stub.ListModels(pb.ListModelsRequest(), timeout=10, metadata=metadata),
            lambda metadata=metadata: list(stub.TranslateStream(iter([req]), timeout=10, metadata=metadata)),
            lambda metadata=metadata: list(
                reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10, metadata=metadata
                )
            ),
        ):
            with pytest.raises(grpc.RpcError) as info:
                call()
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
            assert "bearer token" in info.value.details()  # type: ignore[attr-defined]
    health = health_pb2_grpc.HealthStub(channel)  # probes need no secret
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING
    for token in TOKENS:  # every token in the file works (rotation)
        with Client(f"127.0.0.1:{server.port}", token=token, timeout=30) as client:
            assert client.translate(["look at that cow ."]).translations[0].text.startswith("mira")
            assert client.list_models().default_model == "auth"


def test_nmt_client_sends_its_token_file(
    start_server: StartServer, trained_run: Path, token_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_server(model=[f"authcli={trained_run}"], auth_token_file=str(token_file))
    (tmp_path / "in.txt").write_text("look at that cow .\n")
    (tmp_path / "mine").write_text(TOKENS[1] + "\n")
    argv = ["client", "translate", "--target", f"127.0.0.1:{server.port}", "-i", str(tmp_path / "in.txt")]
    assert main(argv) == 1 and "UNAUTHENTICATED" in capsys.readouterr().err
    assert main([*argv, "--token-file", str(tmp_path / "mine")]) == 0
    assert capsys.readouterr().out.startswith("mira")


def test_tokens_are_compared_in_constant_time_against_every_token(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    check = TokenCheck([t.encode() for t in TOKENS])
    assert check.valid([("authorization", f"Bearer {TOKENS[0]}")])
    assert len(compared) == 2  # no early exit on the first match: the time says nothing of which token
    assert not check.valid([("authorization", "Bearer nope")]) and not check.valid([])
    assert fingerprint(TOKENS[0].encode()).startswith("token:") and TOKENS[0] not in fingerprint(TOKENS[0].encode())


def test_a_token_file_with_short_or_no_tokens_stops_startup(tmp_path: Path) -> None:
    (tmp_path / "short").write_text("short\n")
    (tmp_path / "empty").write_text("# nothing\n\n")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        read_tokens(str(tmp_path / "short"))
    with pytest.raises(ValueError, match="no token"):
        read_tokens(str(tmp_path / "empty"))


def test_a_token_names_the_client_for_the_per_client_limit(
    start_server: StartServer, trained_run: Path, token_file: Path
) -> None:
    """With tokens, two connections presenting the same token are one client; another token is another."""
    server = start_server(model=[f"authpc={trained_run}"], auth_token_file=str(token_file), max_client_requests=1)
    address = f"127.0.0.1:{server.port}"
    first, second = (pb_grpc.TranslatorStub(grpc.insecure_channel(address)) for _ in range(2))
    as_ = [(("authorization", f"Bearer {t}"),) for t in TOKENS]
    long = first.Translate.future(
        pb.TranslateRequest(sentences=["look at that cow ."] * 250), timeout=120, metadata=as_[0]
    )
    deadline = time.monotonic() + 30
    while not server.batcher.depth and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        with pytest.raises(grpc.RpcError) as info:
            second.Translate(pb.TranslateRequest(sentences=["look at that dog ."]), timeout=30, metadata=as_[0])
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
        assert second.Translate(pb.TranslateRequest(sentences=["look at that dog ."]), timeout=60, metadata=as_[1])
    finally:
        long.cancel()
