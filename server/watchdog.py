"""Cancels calls that stop making progress: idle streams, slow readers, expired watches.

A gRPC stream holds what it holds (a handler thread, a Translator slot) for
as long as it waits: for the client's next message, for a reply the client
does not read (the send blocks once HTTP/2 flow control's window is full,
which no deadline of ours covers), or, for a Health.Watch, for ever. Each
such wait is armed here with a bound; when the bound passes the call is
cancelled (the client sees CANCELLED), which also unblocks the waiting
thread, so the slot is returned. One thread serves every call, sleeping
until the earliest bound, instead of a timer thread per wait.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import grpc

log = logging.getLogger("server.watchdog")

COMPACT_AFTER = 1024  # disarmed bounds the heap may hold before it is rebuilt without them


@dataclass(eq=False)
class Bound:
    """One armed wait; `fired` tells its owner the watchdog cancelled the call (and why)."""

    due: float
    rpc: grpc.ServicerContext
    event: str  # the log event: stream_idle, slow_reader, watch_expired, admin_stream_idle
    seconds: float
    fired: bool = False
    done: bool = field(default=False, repr=False)


class Watchdog:
    """One thread that cancels calls whose armed bound has passed."""

    def __init__(self, on_fire: Callable[[str], None] | None = None) -> None:
        self._on_fire = on_fire or (lambda event: None)  # metrics: calls cancelled, by event
        self._heap: list[tuple[float, int, Bound]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._disarmed = 0  # disarmed bounds still in the heap

    def arm(self, rpc: grpc.ServicerContext, seconds: float, event: str) -> Bound:
        """Cancel `rpc` unless `disarm` is called within `seconds`."""
        bound = Bound(time.monotonic() + seconds, rpc, event, seconds)
        with self._cond:
            heapq.heappush(self._heap, (bound.due, next(self._order), bound))
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        return bound

    def disarm(self, bound: Bound) -> None:
        with self._cond:
            if bound.done:
                return
            bound.done = True  # left in the heap, popped when due; compacted once they are most of it
            self._disarmed += 1
            if self._disarmed > COMPACT_AFTER and 2 * self._disarmed > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._disarmed = 0

    @contextmanager
    def bounded(self, rpc: grpc.ServicerContext, seconds: float, event: str) -> Iterator[Bound]:
        """`with` block that must finish within `seconds`, or its call is cancelled."""
        bound = self.arm(rpc, seconds, event)
        try:
            yield bound
        finally:
            self.disarm(bound)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def _due(self) -> list[Bound]:
        """Wait until a bound passes (or stop); the bounds that passed and were not disarmed."""
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                fired = []
                while self._heap and self._heap[0][0] <= now:
                    bound = heapq.heappop(self._heap)[2]
                    if bound.done:
                        self._disarmed = max(0, self._disarmed - 1)
                    else:
                        bound.fired = bound.done = True
                        fired.append(bound)
                if fired:
                    return fired
                self._cond.wait(self._heap[0][0] - now if self._heap else None)
            return []

    def _watch(self) -> None:
        while fired := self._due():
            for bound in fired:
                log.info("%s after %.0f s: call cancelled", bound.event, bound.seconds, extra={"event": bound.event})
                bound.rpc.cancel()
                self._on_fire(bound.event)
