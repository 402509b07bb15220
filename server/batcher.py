"""Dynamic batching: concurrent requests share model batches, one sentence at a time.

A request is one document (`Job`): its sentences must be translated in order,
each from the context the previous one left. So the unit of batching is *the
next sentence of every waiting document*: the worker takes up to
`max_batch_size` compatible jobs (same model version, same search settings),
translates one sentence of each as one batch, and puts the jobs that have
sentences left back at the front of the queue. New requests join at the next
step (continuous batching at sentence granularity, the way documents are
walked in lanes offline).

A lone new request waits at most `max_wait_ms` for company; a batch that
continues documents already in flight never waits. The queue is bounded
(`max_queue` jobs, RESOURCE_EXHAUSTED beyond), expired and cancelled jobs are
dropped before they cost model time, and one worker thread owns the model,
so the gRPC threads only wait.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import grpc
import torch

from server.errors import RequestError
from server.registry import ServedModel
from translator.config import DecodeConfig
from translator.inference import Translation
from translator.state import DocContext

log = logging.getLogger("server.batcher")

Result = tuple[list[Translation], DocContext | None]


@dataclass(eq=False)
class Job:
    """One request: a document's sentences, the context they continue, and where the answer goes."""

    model: ServedModel
    sentences: list[str]
    context: DocContext | None  # batch of one, or None (start of a document)
    decode: DecodeConfig
    max_length: int = 0  # 0 = the model's length rule
    deadline: float | None = None  # time.monotonic() seconds
    future: Future[Result] = field(default_factory=Future)
    results: list[Translation] = field(default_factory=list)
    continuing: bool = False  # has had a sentence translated: it never waits for company
    enqueued_at: float = field(default_factory=time.monotonic)
    cancelled: bool = False

    @property
    def key(self) -> tuple[object, ...]:
        """Jobs with equal keys can share a batch."""
        d = self.decode
        return (id(self.model), d.beam_size, d.n_best, d.length_penalty, d.max_len_ratio, d.max_len_offset)

    def cancel(self) -> None:
        """Called from gRPC when the client goes away; the worker drops the job."""
        self.cancelled = True


@dataclass
class BatchStats:
    """What a finished batch reports (for metrics)."""

    sentences: int
    seconds: float
    model: str


class Batcher:
    """Queue plus one worker thread that runs the model."""

    def __init__(
        self,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        max_queue: int = 256,
        on_batch: Callable[[BatchStats], None] | None = None,
        on_drop: Callable[[str], None] | None = None,
    ) -> None:
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self._on_batch = on_batch or (lambda stats: None)
        self._on_drop = on_drop or (lambda reason: None)
        self._queue: collections.deque[Job] = collections.deque()
        self._in_system = 0  # queued + running jobs: what max_queue bounds
        self._cond = threading.Condition()
        self._stopping = False
        self._worker = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._worker.start()

    @property
    def depth(self) -> int:
        """Jobs queued or running."""
        return self._in_system

    def submit(self, job: Job) -> Job:
        """Queue a job, or RESOURCE_EXHAUSTED when `max_queue` jobs are already in."""
        with self._cond:
            if self._stopping:
                raise RequestError(grpc.StatusCode.UNAVAILABLE, "server is shutting down")
            if self._in_system >= self.max_queue:
                raise RequestError(
                    grpc.StatusCode.RESOURCE_EXHAUSTED, f"server queue is full ({self.max_queue} requests); retry later"
                )
            self._in_system += 1
            self._queue.append(job)
            self._cond.notify()
        return job

    def stop(self) -> None:
        """Finish every queued job, then end the worker."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._worker.join()

    # ---------------------------------------------------------------- worker

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._translate(batch)

    def _next_batch(self) -> list[Job] | None:
        """Block until a batch is due; None when stopping with nothing left."""
        with self._cond:
            while True:
                self._drop_dead()
                if not self._queue:
                    if self._stopping:
                        return None
                    self._cond.wait()
                    continue
                batch = self._compatible(self._queue[0])
                due = self._queue[0].enqueued_at + self.max_wait - time.monotonic()
                full = len(batch) >= self.max_batch_size
                if full or due <= 0 or self._stopping or any(j.continuing for j in batch):
                    for job in batch:
                        self._queue.remove(job)
                    return batch
                self._cond.wait(due)

    def _compatible(self, first: Job) -> list[Job]:
        key = first.key
        return [j for j in self._queue if j.key == key][: self.max_batch_size]

    def _drop_dead(self) -> None:
        now = time.monotonic()
        for job in [j for j in self._queue if j.cancelled or (j.deadline is not None and j.deadline <= now)]:
            self._queue.remove(job)
            reason = "cancelled" if job.cancelled else "deadline"
            error = RequestError(grpc.StatusCode.CANCELLED, "request cancelled by the client")
            if reason == "deadline":
                error = RequestError(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed before translation finished")
            self._finish(job, error=error)
            self._on_drop(reason)

    def _translate(self, batch: list[Job]) -> None:
        model = batch[0].model
        translator = model.translator
        start = time.perf_counter()
        try:
            contexts = [j.context for j in batch]
            context = None
            if translator.model.uses_context:
                empty = translator.empty_context(1)
                context = DocContext.cat([c if c is not None else empty for c in contexts])  # type: ignore[misc]
            sources = [j.sentences[len(j.results)] for j in batch]
            out, next_context = translator.translate_sentences(
                sources, context, batch[0].decode, max_lengths=[j.max_length for j in batch]
            )
        except Exception as e:
            log.exception("model %s: batch of %d failed", model.name, len(batch))
            for job in batch:
                self._finish(job, error=e)
            return
        self._on_batch(BatchStats(len(batch), time.perf_counter() - start, model.name))
        requeue = []
        for row, (job, translation) in enumerate(zip(batch, out, strict=True)):
            job.results.append(translation)
            if next_context is not None:
                job.context = next_context.index_select(_row(row, next_context))
            job.continuing = True
            if len(job.results) == len(job.sentences):
                self._finish(job, result=(job.results, job.context))
            else:
                requeue.append(job)
        with self._cond:
            self._queue.extendleft(reversed(requeue))

    def _finish(self, job: Job, result: Result | None = None, error: BaseException | None = None) -> None:
        with self._cond:
            self._in_system -= 1
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)  # type: ignore[arg-type]


def _row(row: int, context: DocContext) -> torch.Tensor:
    return torch.tensor([row], device=context.encoder.h.device)
