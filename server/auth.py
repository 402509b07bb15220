"""Optional bearer tokens: `--auth-token-file` makes every call but Health present one.

Most deployments sit behind a gateway that holds a shared secret rather than
client certificates, so a token in the `authorization: Bearer <token>`
metadata is the usual access check (mutual TLS stays available beside it).
Health is open so probes need no secret. Tokens are compared with
`hmac.compare_digest` against every configured token, so the time a check
takes says nothing about how much of a guess was right. A verified token
also names the client for per-client limits (`client_of`): its fingerprint,
never the token itself, is what the batcher and the logs see.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from server.capacity import wrap_handler

HEALTH_PREFIX = "/grpc.health.v1.Health/"
MIN_TOKEN_BYTES = 16
UNAUTHENTICATED = "a valid bearer token is required (metadata 'authorization: Bearer <token>')"


def read_tokens(path: str) -> list[bytes]:
    """The tokens in `path`, one a line (blank lines and # comments skipped); each at least 16 bytes."""
    lines = [line.strip() for line in Path(path).read_bytes().splitlines()]
    tokens = [line for line in lines if line and not line.startswith(b"#")]
    if not tokens:
        raise ValueError(f"{path}: no token in the file")
    if any(len(t) < MIN_TOKEN_BYTES for t in tokens):
        raise ValueError(f"{path}: a bearer token needs at least {MIN_TOKEN_BYTES} bytes")
    return tokens


def bearer(metadata: Any) -> bytes | None:
    """The token of an `authorization: Bearer ...` entry in a call's metadata, if any."""
    for key, value in metadata or ():
        if key == "authorization":
            text = value if isinstance(value, str) else value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip().encode("latin-1", "replace")
    return None


def fingerprint(token: bytes) -> str:
    """A name for a token that reveals nothing of it (per-client limits, logs)."""
    return "token:" + hashlib.sha256(token).hexdigest()[:12]


class TokenCheck(grpc.ServerInterceptor):  # type: ignore[misc]
    """Refuses calls without a configured token (UNAUTHENTICATED) before they take any capacity."""

    def __init__(self, tokens: list[bytes]) -> None:
        self.tokens = tokens

    def valid(self, metadata: Any) -> bool:
        given = bearer(metadata)
        if given is None:
            return False
        matches = [hmac.compare_digest(given, token) for token in self.tokens]  # all compared: no early exit
        return any(matches)

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None], details: Any
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None or details.method.startswith(HEALTH_PREFIX):
            return handler
        if self.valid(details.invocation_metadata):
            return handler

        def refuse(rpc: grpc.ServicerContext) -> bool:
            rpc.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED)
            return False  # (abort raises)

        return wrap_handler(handler, refuse, lambda rpc: None)


def client_of(rpc: grpc.ServicerContext, authenticated: bool) -> str:
    """Who a call counts against: its verified token with `--auth-token-file`, else its connection (peer)."""
    if authenticated:
        token = bearer(rpc.invocation_metadata())
        if token is not None:
            return fingerprint(token)
    return str(rpc.peer())
