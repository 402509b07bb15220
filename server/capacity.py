"""Reserved capacity: Translator calls can never take the threads health checks need.

gRPC's Python server runs every RPC on one thread pool and refuses RPCs
beyond `maximum_concurrent_rpcs`, whatever their service. So 64 idle
TranslateStream calls (each holds a thread while it waits) used to starve
`Health.Check`, and a load balancer took a healthy replica out. The pool
now has `--workers` threads for the Translator plus `--admin-threads`, and
this interceptor counts RPCs per class as they start: Translator RPCs beyond
`workers` and long-lived admin streams (Health.Watch, reflection) beyond
half of the admin threads get RESOURCE_EXHAUSTED at once, so the rest of
the admin threads are always free for Health.Check, which is never refused
here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc

TRANSLATOR_PREFIX = "/translator.v1.Translator/"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"

Behavior = Callable[[Any, grpc.ServicerContext], Any]


class Capacity(grpc.ServerInterceptor):  # type: ignore[misc]
    """Admission per class of RPC; see the module docstring."""

    def __init__(self, workers: int, admin_threads: int) -> None:
        self.workers, self.admin_streams = workers, max(1, admin_threads // 2)
        self._translator = threading.BoundedSemaphore(self.workers)
        self._admin = threading.BoundedSemaphore(self.admin_streams)

    @staticmethod
    def pool_size(workers: int, admin_threads: int) -> int:
        """Threads (and gRPC's concurrent RPC limit) the server needs for this admission."""
        return workers + admin_threads

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None], details: Any
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None or details.method == HEALTH_CHECK:
            return handler
        if details.method.startswith(TRANSLATOR_PREFIX):
            slots, message = self._translator, f"the server is serving {self.workers} calls; retry later"
        else:
            slots, message = self._admin, f"{self.admin_streams} health watches or reflection calls already open"
        return _limited(handler, slots, message)


def _limited(handler: grpc.RpcMethodHandler, slots: threading.Semaphore, message: str) -> grpc.RpcMethodHandler:
    """`handler` that first takes a slot (RESOURCE_EXHAUSTED if none) and returns it when done."""

    def admit(rpc: grpc.ServicerContext) -> None:
        if not slots.acquire(blocking=False):
            rpc.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, message)

    def unary(behavior: Behavior) -> Behavior:
        def run(request: Any, rpc: grpc.ServicerContext) -> Any:
            admit(rpc)
            try:
                return behavior(request, rpc)
            finally:
                slots.release()

        return run

    def streaming(behavior: Behavior) -> Behavior:
        def run(request: Any, rpc: grpc.ServicerContext) -> Iterator[Any]:
            admit(rpc)
            try:
                yield from behavior(request, rpc)
            finally:
                slots.release()

        return run

    wrap = streaming if handler.response_streaming else unary
    kinds = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")
    return handler._replace(**{k: wrap(getattr(handler, k)) for k in kinds if getattr(handler, k) is not None})
