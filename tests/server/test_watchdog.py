"""The watchdog that bounds every wait of a stream: it cancels late calls, and only those."""

from __future__ import annotations

import threading
from typing import cast

import grpc

from server.watchdog import COMPACT_AFTER, Watchdog


class FakeRpc:
    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()


def test_a_bound_that_passes_cancels_its_call_and_a_disarmed_one_does_not() -> None:
    dog = Watchdog()
    late, on_time = FakeRpc(), FakeRpc()
    bound = dog.arm(cast(grpc.ServicerContext, late), 0.05, "slow_reader")
    with dog.bounded(cast(grpc.ServicerContext, on_time), 0.05, "stream_idle") as kept:
        pass
    assert late.cancelled.wait(10) and bound.fired
    assert not on_time.cancelled.wait(0.3) and not kept.fired
    dog.stop()


def test_disarmed_bounds_do_not_pile_up() -> None:
    """A long stream arms two bounds per message: the heap is compacted, not grown for their whole timeout."""
    dog = Watchdog()
    rpc = cast(grpc.ServicerContext, FakeRpc())
    for _ in range(10 * COMPACT_AFTER):
        dog.disarm(dog.arm(rpc, 3600, "stream_idle"))
    assert len(dog._heap) <= 2 * COMPACT_AFTER + 2
    dog.stop()
