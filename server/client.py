"""A small Python client for the service, and what `nmt client` runs.

    with Client("localhost:50051") as c:
        r = c.translate(["Look at that cow."])
        r = c.translate(["It is so cute!"], context=r.context)   # continues the document

The context blob goes back and forth with the client, so consecutive calls
may land on different replicas of the same model version. With `token`
(a server started with `--auth-token-file`), each call carries it as
`authorization: Bearer <token>` metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc


class Client:
    """One channel to a server; `timeout` (seconds) is the deadline of each call."""

    def __init__(
        self,
        target: str,
        *,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        server_name: str | None = None,
        timeout: float | None = 60.0,
        token: str | None = None,
    ) -> None:
        options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
        if tls_ca or tls_cert:
            creds = grpc.ssl_channel_credentials(
                _read(tls_ca),
                _read(tls_key),
                _read(tls_cert),
            )
            self.channel = grpc.secure_channel(target, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.stub = pb_grpc.TranslatorStub(self.channel)
        self.health_stub = health_pb2_grpc.HealthStub(self.channel)
        self.timeout = timeout
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def translate(
        self,
        sentences: Iterable[str],
        context: bytes = b"",
        model: str = "",
        beam_size: int = 0,
        n_best: int = 0,
        max_length: int = 0,
        alignment: bool = False,
    ) -> pb.TranslateResponse:
        """Translate sentences of one document in order, continuing from `context`.

        `alignment`: also word alignments (`Translation.alignment`: source-target word index pairs).
        """
        request = _request(sentences, context, model, beam_size, n_best, max_length, alignment)
        return self.stub.Translate(request, timeout=self.timeout, metadata=self.metadata)

    def stream(
        self,
        chunks: Iterable[Iterable[str]],
        model: str = "",
        context: bytes = b"",
        beam_size: int = 0,
        n_best: int = 0,
        alignment: bool = False,
    ) -> Iterator[pb.TranslateResponse]:
        """A live document: one request per chunk of sentences, one response each."""

        def requests() -> Iterator[pb.TranslateRequest]:
            for i, chunk in enumerate(chunks):
                first = i == 0
                yield _request(
                    chunk, context if first else b"", model if first else "", beam_size, n_best, 0, alignment
                )

        return self.stub.TranslateStream(requests(), timeout=self.timeout, metadata=self.metadata)

    def list_models(self) -> pb.ListModelsResponse:
        return self.stub.ListModels(pb.ListModelsRequest(), timeout=self.timeout, metadata=self.metadata)

    def health(self, service: str = "") -> str:
        """SERVING, NOT_SERVING, ... as the standard health service reports it."""
        request = health_pb2.HealthCheckRequest(service=service)
        reply = self.health_stub.Check(request, timeout=self.timeout, metadata=self.metadata)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def _request(
    sentences: Iterable[str],
    context: bytes,
    model: str,
    beam_size: int,
    n_best: int,
    max_length: int,
    alignment: bool = False,
) -> pb.TranslateRequest:
    options = pb.DecodeOptions(beam_size=beam_size, n_best=n_best, max_length=max_length, alignment=alignment)
    return pb.TranslateRequest(sentences=list(sentences), model=model, context=context, options=options)


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None
