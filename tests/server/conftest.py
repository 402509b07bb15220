"""A real server on localhost, serving the tiny model trained in the test session."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from server.app import Server
from server.config import ServeConfig
from server.gen import translator_pb2_grpc as pb_grpc

StartServer = Callable[..., Server]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def start_server() -> Iterator[StartServer]:
    """Factory: `start_server(model=[...], max_queue=2, ...)` -> a started Server, stopped at session end."""
    servers: list[Server] = []

    def start(**settings: object) -> Server:
        values: dict[str, object] = {"port": 0, "metrics_port": 0, "reload_interval": 0.0, "grace_seconds": 5.0}
        values.update(settings)
        server = Server(ServeConfig(**values)).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(grace=0)


@pytest.fixture(scope="session")
def served(start_server: StartServer, trained_run: Path) -> Server:
    """The shared server: the tiny model as `tiny` (default) and the same checkpoint as `twin`."""
    return start_server(model=[f"tiny={trained_run}", f"twin={trained_run / 'best.pt'}"])


@pytest.fixture(scope="session")
def channel(served: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{served.port}") as ch:
        yield ch


@pytest.fixture(scope="session")
def stub(channel: grpc.Channel) -> pb_grpc.TranslatorStub:
    return pb_grpc.TranslatorStub(channel)
