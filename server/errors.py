"""The one exception type serving code raises for a request it cannot serve.

Every check (request validation, context blobs, the model registry, the
batcher's queue) raises `RequestError` with the gRPC status the client should
see; the servicer turns it into that status. Nothing else is caught and
mapped: any other exception is a bug and surfaces as INTERNAL.
"""

from __future__ import annotations

import grpc

ECHO_CHARS = 64  # a client's string quoted back in an error message is cut to this many characters


class RequestError(Exception):
    """A request is refused with `code` and a message that says why."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)


def quoted(text: str) -> str:
    """`repr` of a client-supplied string, cut to `ECHO_CHARS`: error messages must not echo megabytes back."""
    if len(text) <= ECHO_CHARS:
        return repr(text)
    return repr(text[:ECHO_CHARS]) + f"... ({len(text)} characters)"
