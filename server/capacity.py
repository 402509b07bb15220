"""Reserved capacity: Translator calls can never take the threads health checks need.

gRPC's Python server runs every RPC on one thread pool and refuses RPCs
beyond `maximum_concurrent_rpcs`, whatever their service. So 64 idle
TranslateStream calls (each holds a thread while it waits) used to starve
`Health.Check`, and a load balancer took a healthy replica out. The pool
now has `--workers` threads for the Translator plus `--admin-threads`, and
this interceptor counts RPCs per class as they start: Translator RPCs beyond
`workers` and reflection streams beyond half of the admin threads get
RESOURCE_EXHAUSTED at once, so the rest of the admin threads are always free
for `Health.Check`, which is never refused here.

`Health.Watch` runs non-blocking (the health servicer's
`experimental_non_blocking`, which a plain wrapper would hide from gRPC):
it holds no thread while it waits, so watches cannot take Check's threads
at all; they are capped (`--max-watches`: gRPC's own limit on concurrent
RPCs counts them, so the server adds that many to it) and closed after
`--watch-seconds`. A reflection stream that sends nothing for
`--stream-idle-seconds` is cancelled, so idle ones do not keep the next
caller out (issue 30).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from server.watchdog import Watchdog

TRANSLATOR_PREFIX = "/translator.v1.Translator/"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"

Behavior = Callable[[Any, grpc.ServicerContext], Any]


class Capacity(grpc.ServerInterceptor):  # type: ignore[misc]
    """Admission per class of RPC; see the module docstring."""

    def __init__(
        self,
        workers: int,
        admin_threads: int,
        max_watches: int = 64,
        watch_seconds: float = 300.0,
        idle_seconds: float = 60.0,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.workers, self.admin_streams, self.max_watches = workers, max(1, admin_threads // 2), max_watches
        self.watch_seconds, self.idle_seconds = watch_seconds, idle_seconds
        self.watchdog = watchdog or Watchdog()
        self._translator = threading.BoundedSemaphore(self.workers)
        self._admin = threading.BoundedSemaphore(self.admin_streams)
        self._watches = threading.BoundedSemaphore(self.max_watches)

    @staticmethod
    def pool_size(workers: int, admin_threads: int) -> int:
        """Threads the server needs for this admission (gRPC's concurrent-RPC limit is this plus `max_watches`)."""
        return workers + admin_threads

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None], details: Any
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None or details.method == HEALTH_CHECK:
            return handler
        if details.method.startswith(TRANSLATOR_PREFIX):
            return _limited(handler, self._translator, f"the server is serving {self.workers} calls; retry later")
        if details.method == HEALTH_WATCH and _non_blocking(handler.unary_stream):
            return self._watch(handler)
        handler = _limited(handler, self._admin, f"{self.admin_streams} reflection calls already open")
        return self._idle_limited(handler) if handler.request_streaming else handler

    def _watch(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """Health.Watch, still non-blocking: a slot from `--max-watches`, returned when the call ends."""
        behavior, slots, watchdog, seconds = handler.unary_stream, self._watches, self.watchdog, self.watch_seconds
        message = f"{self.max_watches} health watches already open; retry later"

        def run(request: Any, rpc: grpc.ServicerContext, send_response_callback: Any = None) -> Any:
            if not slots.acquire(blocking=False):
                rpc.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, message)
            bound = watchdog.arm(rpc, seconds, "watch_expired")

            def ended() -> None:
                watchdog.disarm(bound)
                slots.release()

            release = _once(ended)
            if not rpc.add_callback(release):  # False: the call has already ended
                release()
            return behavior(request, rpc, send_response_callback=send_response_callback)

        run.experimental_non_blocking = True  # type: ignore[attr-defined]
        return handler._replace(unary_stream=run)

    def _idle_limited(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """A streaming admin call whose client sends nothing for `idle_seconds` is cancelled."""
        watchdog, seconds = self.watchdog, self.idle_seconds

        def watched(requests: Iterator[Any], rpc: grpc.ServicerContext) -> Iterator[Any]:
            while True:
                with watchdog.bounded(rpc, seconds, "admin_stream_idle"):
                    try:
                        request = next(requests)
                    except (StopIteration, grpc.RpcError):  # ended, or cancelled (by the client or for idling)
                        return
                yield request

        def wrap(behavior: Behavior) -> Behavior:
            return lambda requests, rpc: behavior(watched(requests, rpc), rpc)

        kinds = ("stream_unary", "stream_stream")
        return handler._replace(**{k: wrap(getattr(handler, k)) for k in kinds if getattr(handler, k) is not None})


def _non_blocking(behavior: Any) -> bool:
    return bool(getattr(behavior, "experimental_non_blocking", False))


def _once(action: Callable[[], object]) -> Callable[[], None]:
    """`action`, run at most once however often (and from whichever thread) it is called."""
    lock, done = threading.Lock(), [False]

    def run() -> None:
        with lock:
            if done[0]:
                return
            done[0] = True
        action()

    return run


def _limited(handler: grpc.RpcMethodHandler, slots: threading.Semaphore, message: str) -> grpc.RpcMethodHandler:
    """`handler` that first takes a slot (RESOURCE_EXHAUSTED if none) and returns it when done."""

    def admit(rpc: grpc.ServicerContext) -> bool:
        if not slots.acquire(blocking=False):
            rpc.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, message)
        return True

    return wrap_handler(handler, admit, lambda rpc: slots.release())


def wrap_handler(
    handler: grpc.RpcMethodHandler,
    admit: Callable[[grpc.ServicerContext], bool],
    release: Callable[[grpc.ServicerContext], None],
) -> grpc.RpcMethodHandler:
    """`handler` whose behaviors first call `admit` (which may abort) and, once admitted, `release` at the end."""

    def unary(behavior: Behavior) -> Behavior:
        def run(request: Any, rpc: grpc.ServicerContext) -> Any:
            admit(rpc)
            try:
                return behavior(request, rpc)
            finally:
                release(rpc)

        return run

    def streaming(behavior: Behavior) -> Behavior:
        def run(request: Any, rpc: grpc.ServicerContext) -> Iterator[Any]:
            admit(rpc)
            try:
                yield from behavior(request, rpc)
            finally:
                release(rpc)

        return run

    wrap = streaming if handler.response_streaming else unary
    kinds = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")
    return handler._replace(**{k: wrap(getattr(handler, k)) for k in kinds if getattr(handler, k) is not None})
