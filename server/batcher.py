"""Continuous batching: concurrent requests share the model's decoding steps.

A request is one document (`Job`): its sentences must be translated in
order, each from the context the previous one left. The worker thread keeps
one running search per model version and search setting (the scheduler core
that offline translation uses too: `translator.documents.DocumentSearch`;
n-best is not a setting of its own: a search keeps every finished hypothesis
of its beam and each request takes the n it asked for), and before every
decoding step it admits waiting sentences into it. A sentence leaves the
search the step it finishes; its job then either completes or queues its
next sentence, which may join the search one step later. So a request never
waits for another request's long sentence to finish, and the batch stays
full under load (iteration-level scheduling, as LLM servers do it, with the
document context carried from sentence to sentence).

Fair sharing (issue 30). Work is counted in beam rows (a sentence searched
with beam K costs K rows of every step), not sentences: all running searches
together hold at most `max_batch_rows` rows (and each at most
`max_batch_size` sentences). Waiting sentences are admitted least-served
client first (start-time fair queueing: each client's row-steps so far),
then oldest first. A client that comes back after having nothing in the
system starts `idle_credit` row-steps below the least-served active client,
never below its own count (the sleeper credit of Linux's CFS scheduler): a
light client's short request (a 30-piece greedy sentence is 30 row-steps)
runs ahead of sustained heavy work instead of taking turns with it, while a
client that was served much keeps its count and gains nothing by pausing.
A document's next sentence queues at the back like any newcomer, so it
never overtakes requests that waited longer. When the most deserving
sentence does not fit, the rows that free up are held for it (no
starvation of a wide beam). A quarter of `max_batch_rows` more is kept for
the narrow first sentence (at most a quarter of the reserve) of a request
whose client has nothing running, so a new one-sentence request starts
within a few steps whatever else runs. Each client (its token, else its
connection) may have at most `max_client_requests` requests queued or
running. Searches of different settings cannot share a step; each step goes
to the search holding the least-served client (`_step_all`), so a greedy
request's steps do not wait in turn behind a step of every beam-16 search.

A lone request arriving at an idle server may wait `max_wait_ms` for
company (by default it does not). The queue is bounded (`max_queue` jobs, RESOURCE_EXHAUSTED beyond),
and cancelled or expired jobs are dropped, from the queue or from the
running search, before they cost more model time.

Failures are isolated per request: a request whose sentences cannot be
encoded, whose search yields no hypothesis (NaN scores), or whose result
cannot be built fails alone, and the others in the same batch go on; when a
decoding step raises, its requests are retried each in a search of its own
(`_isolate`), so only the one at fault fails. Every
job's future is resolved exactly once and its queue slot returned on every
path. If the worker thread itself dies, every waiting job is failed with
UNAVAILABLE, `on_death` is called (the server turns its health NOT_SERVING)
and new submissions are refused.
"""

from __future__ import annotations

import collections
import dataclasses
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
from translator.decoding import Translation
from translator.documents import DocumentSearch, Live
from translator.search import Hypothesis, NoHypothesisError
from translator.state import DocState

log = logging.getLogger("server.batcher")

WORKER_DEAD = "the server's model worker has stopped; retry on another replica"
ADMIT_AFTER_STEPS = 3  # a queued sentence joins a running search after at most this many steps
REMEMBERED_CLIENTS = 4096  # clients whose served work is remembered after their last request ends

Result = tuple[list[Translation], DocState | None]
SearchKey = tuple[object, ...]


@dataclass(eq=False)
class Job:
    """One request: a document's sentences, the context they continue, and where the answer goes."""

    model: ServedModel
    sentences: list[str]
    doc_state: DocState | None  # batch of one, or None (start of a document)
    decode: DecodeConfig
    max_length: int = 0  # pieces, EOS excluded; 0 = the model's length rule
    deadline: float | None = None  # time.monotonic() seconds
    future: Future[Result] = field(default_factory=Future)
    results: list[Translation] = field(default_factory=list)
    continuing: bool = False  # has had a sentence translated: it never waits for company
    client: str = ""  # who it counts against: per-client limits and fair sharing
    enqueued_at: float = field(default_factory=time.monotonic)  # when its next sentence became ready
    enqueued_step: int = 0  # the batcher's step count when queued
    started_step: int = -1  # the step count when its first sentence joined a search (-1: not yet)
    # Where its time went (the access log's queue_ms / steps / other_steps, as Triton reports queue and compute):
    queued_s: float = 0.0  # seconds its sentences waited in the queue, summed
    steps: int = 0  # decoding steps its sentences were in
    other_steps: int = 0  # steps of other searches while one of its sentences was in a search
    joined_at: tuple[int, int] = (0, 0)  # (batcher steps, its search's steps) when its sentence joined
    in_reserve: bool = False  # its sentence in a search was admitted from the newcomers' reserve
    cancelled: bool = False
    pieces: list[list[int]] = field(init=False)  # token ids, one list per sentence
    given_context: bool = field(init=False)  # started from a client's context (which may be forged)
    settled: bool = field(default=False, init=False)  # future resolved and slot returned (once)
    alone: bool = field(default=False, init=False)  # was in a search whose step failed: searches alone since

    def __post_init__(self) -> None:
        self.given_context = self.doc_state is not None
        # Tokenized here, in the caller's (request) thread, once: the worker thread is the bottleneck.
        self.pieces = self.model.translator.tokenizer.encode_batch(self.sentences)

    @property
    def key(self) -> SearchKey:
        """Jobs with equal keys can share a search (n-best differs only in how many hypotheses are kept;
        a search keeps attention for alignments only when its jobs ask for them)."""
        d = self.decode
        key = (
            id(self.model),
            d.beam_size,
            d.length_penalty,
            d.max_len_ratio,
            d.max_len_offset,
            d.shortlist,
            d.alignment,
        )
        return (*key, id(self)) if self.alone else key

    @property
    def rows(self) -> int:
        """Beam rows its sentence takes in every step of its search."""
        return self.decode.beam_size

    def cancel(self) -> None:
        """Called from gRPC when the client goes away; the worker drops the job."""
        self.cancelled = True

    def expired(self, now: float) -> bool:
        return self.deadline is not None and self.deadline <= now


@dataclass
class _Running:
    model: ServedModel
    search: DocumentSearch[Job]
    last_step: int = -1  # the batcher's step count when this search last stepped
    steps: int = 0  # its own steps so far: a sentence's own steps are the difference from when it joined


@dataclass
class BatchStats:
    """One decoding step (for metrics)."""

    sentences: int  # live sentences in the step
    finished: int  # sentences that finished at this step
    seconds: float
    model: str
    rows: int = 0  # beam rows in the step (sentences x beam)


class Batcher:
    """Queue plus one worker thread that owns the model."""

    def __init__(
        self,
        max_batch_size: int = 32,
        max_wait_ms: float = 0.0,
        max_queue: int = 256,
        on_batch: Callable[[BatchStats], None] | None = None,
        on_drop: Callable[[str], None] | None = None,
        on_death: Callable[[], None] | None = None,
        max_batch_rows: int = 160,
        max_client_requests: int = 0,
        idle_credit: int = 512,
    ) -> None:
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.max_batch_rows = max_batch_rows
        self.reserve = max(1, max_batch_rows // 4)  # rows beyond max_batch_rows kept for newcomers
        self.max_client_requests = max_client_requests  # 0: no per-client limit
        self.idle_credit = idle_credit  # row-steps a returning client starts below the least-served active one
        self._served: collections.OrderedDict[str, float] = collections.OrderedDict()  # client -> row-steps
        self._client_jobs: dict[str, int] = {}  # client -> jobs queued or running
        self._on_batch = on_batch or (lambda stats: None)
        self._on_drop = on_drop or (lambda reason: None)
        self._on_death = on_death or (lambda: None)
        self._dead = False
        self._queue: collections.deque[Job] = collections.deque()
        self._running: dict[SearchKey, _Running] = {}  # touched by the worker thread only
        self._in_system = 0  # queued + running jobs: what max_queue bounds
        self._steps = 0  # decoding steps run so far (all searches)
        self._cond = threading.Condition()
        self._stopping = False
        self._worker = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._worker.start()

    @property
    def depth(self) -> int:
        """Jobs queued or running."""
        return self._in_system

    @property
    def alive(self) -> bool:
        """False once the worker thread has died (not after a normal `stop`)."""
        return not self._dead

    def submit(self, job: Job) -> Job:
        """Queue a job, or RESOURCE_EXHAUSTED when `max_queue` jobs are already in."""
        with self._cond:
            if self._stopping:
                raise RequestError(grpc.StatusCode.UNAVAILABLE, "server is shutting down")
            if self._dead:
                raise RequestError(grpc.StatusCode.UNAVAILABLE, WORKER_DEAD)
            if self._in_system >= self.max_queue:
                raise RequestError(
                    grpc.StatusCode.RESOURCE_EXHAUSTED, f"server queue is full ({self.max_queue} requests); retry later"
                )
            mine = self._client_jobs.get(job.client, 0)
            if self.max_client_requests and mine >= self.max_client_requests:
                raise RequestError(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"this client already has {mine} requests queued or running (the limit); retry later",
                )
            self._in_system += 1
            self._client_jobs[job.client] = mine + 1
            job.enqueued_at = time.monotonic()  # queued from now (the caller's thread may have waited to get here)
            if not mine:
                self._start_client(job.client)
            job.enqueued_step = self._steps
            self._queue.append(job)
            self._cond.notify()
        return job

    def stop(self) -> None:
        """Finish every queued and running job, then end the worker."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._worker.join()

    # ---------------------------------------------------------------- worker

    def _run(self) -> None:
        try:
            with torch.inference_mode():
                while True:
                    try:
                        admitted = self._next_admissions()
                        if admitted is None:
                            return
                        self._admit(admitted)
                        self._step_all()
                    except Exception as e:  # a bug here must not leave every future waiting forever
                        log.exception("batcher: unexpected error; failing the running requests")
                        for key in list(self._running):
                            self._fail_search(key, e)
        except BaseException:
            self._die()

    def _die(self) -> None:
        """The worker is ending abnormally: fail every job it holds, refuse new ones, tell the server."""
        log.critical("batcher worker died; failing its requests", exc_info=True, extra={"event": "worker_died"})
        with self._cond:
            self._dead = True
            jobs = list(self._queue)
            self._queue.clear()
        jobs += [job for r in self._running.values() for job in r.search.docs]
        self._running.clear()
        for job in jobs:
            self._finish(job, error=RequestError(grpc.StatusCode.UNAVAILABLE, WORKER_DEAD))
        self._on_death()

    def _next_admissions(self) -> list[Job] | None:
        """Block until there is work; the jobs to admit before the next step (None: stop)."""
        with self._cond:
            while True:
                self._drop_dead()
                if not self._queue and not self._running:
                    if self._stopping:
                        return None
                    self._cond.wait()
                    continue
                if not self._running and not self._stopping:  # idle: a lone new request may wait for company
                    first = self._queue[0]
                    due = first.enqueued_at + self.max_wait - time.monotonic()
                    company = sum(j.key == first.key for j in self._queue)
                    continuing = any(j.continuing for j in self._queue)
                    if due > 0 and not continuing and company < self.max_batch_size:
                        self._cond.wait(due)
                        continue
                return self._take_admissible()

    def _start_client(self, client: str) -> None:
        """A client with nothing in the system again: it starts `idle_credit` below the least-served active client.

        Without a floor, a client back after a long pause would have a lead over everyone
        (start-time fair queueing's virtual time); with it the lead is bounded by the credit,
        and one that was served much keeps its count.
        """
        active = [v for c, v in self._served.items() if self._client_jobs.get(c) and c != client]
        floor = min(active, default=0.0) - self.idle_credit
        own = self._served.pop(client, None)  # a new client has no count of its own to keep
        self._served[client] = floor if own is None else max(own, floor)
        while len(self._served) > REMEMBERED_CLIENTS:
            oldest = next(iter(self._served))
            if self._client_jobs.get(oldest):
                break
            del self._served[oldest]

    def _newcomer(self, job: Job, busy: set[str], reserved: int) -> bool:
        """May `job` take the reserve: a narrow first sentence of a client with nothing running, and room left."""
        narrow = job.rows <= max(1, self.reserve // 4)
        room = reserved + job.rows <= self.reserve
        return narrow and room and not job.continuing and job.client not in busy

    def _rows(self) -> tuple[int, int]:
        """Beam rows of the running sentences: admitted within `max_batch_rows`, and from the reserve."""
        rows, reserved = 0, 0
        for running in self._running.values():
            for job in running.search.docs:
                if job.in_reserve:
                    reserved += job.rows
                else:
                    rows += job.rows
        return rows, reserved

    def _take_admissible(self) -> list[Job]:
        """Queued jobs that fit, least-served client first, then oldest; admitted in groups.

        See the module docstring for the order, the row budget and its reserve.
        Starting sentences costs a fixed overhead per group (an encoder call,
        growing the search's tensors), about one decoding step. So a running
        search takes newcomers once enough have gathered (a quarter of
        `max_batch_size`, or all it has room for) or the oldest has waited
        `ADMIT_AFTER_STEPS` steps; an idle one takes them at once.
        """
        if not self._queue:
            return []  # the common case between admissions: nothing to sort or count
        order = sorted(self._queue, key=lambda j: (self._served.get(j.client, 0.0), j.enqueued_at))
        groups: dict[SearchKey, list[Job]] = collections.defaultdict(list)
        free: dict[SearchKey, int] = {}
        busy = {job.client for r in self._running.values() for job in r.search.docs}
        (rows, reserved), held, from_reserve = self._rows(), False, set()
        for job in order:
            key = job.key
            if key not in free:
                running = self._running.get(key)
                free[key] = self.max_batch_size - (len(running.search) if running else 0)
            if len(groups[key]) >= free[key]:
                continue  # its search has no room for another sentence, whatever the rows
            if not rows + reserved or (not held and rows + job.rows <= self.max_batch_rows):
                rows += job.rows
            elif self._newcomer(job, busy, reserved):  # held or not: the reserve is the newcomers' own
                reserved += job.rows
                from_reserve.add(job)
            else:
                held = True  # the rows that free up are this job's: nobody behind it takes them
                continue
            busy.add(job.client)
            groups[key].append(job)
        taken = []
        for key, group in groups.items():
            if not group:
                continue
            idle = key not in self._running
            enough = len(group) >= min(free[key], max(1, self.max_batch_size // 4))
            overdue = self._steps - min(j.enqueued_step for j in group) >= ADMIT_AFTER_STEPS
            if idle or enough or overdue or self._stopping:
                taken += group
        for job in taken:
            self._queue.remove(job)
            job.in_reserve = job in from_reserve
        return taken

    def _drop_dead(self) -> None:
        """Fail cancelled and expired jobs, queued or running."""
        now = time.monotonic()
        for job in [j for j in self._queue if j.cancelled or j.expired(now)]:
            self._queue.remove(job)
            self._drop(job)
        for running in self._running.values():
            dead = [job for job in running.search.docs if job.cancelled or job.expired(now)]
            if dead:
                running.search.drop(dead)
                for job in dead:
                    self._account(job, running)
                    self._drop(job)
        for key in [k for k, r in self._running.items() if not len(r.search)]:
            del self._running[key]

    def _drop(self, job: Job) -> None:
        if job.cancelled:
            reason, error = "cancelled", RequestError(grpc.StatusCode.CANCELLED, "request cancelled by the client")
        else:
            reason = "deadline"
            error = RequestError(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed before translation finished")
        self._finish(job, error=error)
        self._on_drop(reason)

    def _fail_search(self, key: SearchKey, error: BaseException) -> None:
        """A search broke: fail every request in it and forget it."""
        for job in self._running.pop(key).search.docs:
            self._finish(job, error=error)

    def _admit(self, jobs: list[Job]) -> None:
        """Encode each admitted job's next sentence and add it to its search."""
        groups: dict[SearchKey, list[Job]] = collections.defaultdict(list)
        for job in jobs:
            groups[job.key].append(job)
        for key, group in groups.items():
            model, decode = group[0].model, group[0].decode
            try:
                running = self._running.get(key)
                if running is None:  # (if its first sentences fail to start, `_step_all` forgets it)
                    wide = dataclasses.replace(decode, n_best=decode.beam_size)  # each job keeps its own n-best
                    running = self._running[key] = _Running(model, DocumentSearch(model.translator.decoding, wide))
                now = time.monotonic()
                running.search.join(group, [j.max_length for j in group])
                for job in group:
                    job.queued_s += now - job.enqueued_at
                    job.joined_at = (self._steps, running.steps)
                    if job.started_step < 0:
                        job.started_step = self._steps
            except Exception as e:
                if len(group) > 1:  # find the request at fault: each one alone
                    self._admit_alone(group)
                    continue
                log.exception("model %s: cannot start a sentence", model.name)
                self._finish(group[0], error=e)

    def _admit_alone(self, jobs: list[Job]) -> None:
        for job in jobs:
            self._admit([job])

    def _step_all(self) -> None:
        """One decoding step of the search whose least-served client is served least (ties: the longest unstepped).

        Searches of different settings cannot share a step, and stepping each in turn made a
        greedy request's every step wait for a step of every beam-16 search. Chosen by
        served row-steps, a search of narrow sentences is stepped as often as its clients'
        share allows (a 1-row sentence several times per step of a 16-row one), so every client
        gets the same rows per second, however its work is shaped (weighted fair queueing).
        """
        for key in [k for k, r in self._running.items() if not len(r.search)]:
            del self._running[key]  # a search whose first sentences failed to start
        if len(self._running) == 1:
            [(key, running)] = self._running.items()
            self._step(key, running)
        elif self._running:
            key = min(self._running, key=self._priority)
            self._step(key, self._running[key])

    def _priority(self, key: SearchKey) -> tuple[float, int]:
        running = self._running[key]
        served = min(self._served.get(job.client, 0.0) for job in running.search.docs)
        return served, running.last_step

    def _step(self, key: SearchKey, running: _Running) -> None:
        """One decoding step of one search; finished sentences complete their jobs or queue their next."""
        live, start = len(running.search), time.perf_counter()
        shared = len(self._client_jobs) > 1  # one client alone: its count matters to nobody (a newcomer takes it)
        clients = [job.client for job in running.search.docs] if shared else []
        try:
            done = running.search.step()
        except Exception as e:
            log.exception("model %s: decoding step of %d sentences failed", running.model.name, live)
            self._isolate(key, e)
            return
        self._steps += 1
        running.last_step = self._steps
        running.steps += 1
        if clients:
            self._charge(clients, running.search.decode.beam_size)
        stats = BatchStats(live, len(done), time.perf_counter() - start, running.model.name)
        stats.rows = live * running.search.decode.beam_size
        self._on_batch(stats)
        requeue = []
        for sentence, hyps in done:
            try:
                if self._sentence_done(running, sentence, hyps):
                    requeue.append(sentence.doc)
            except Exception as e:  # this request alone fails; the batch goes on
                self._finish(sentence.doc, error=_job_error(running.model, sentence.doc, e))
        if not len(running.search):
            del self._running[key]
        if requeue:  # at the back: a document's next sentence does not overtake requests that waited longer
            with self._cond:
                self._queue.extend(requeue)

    def _charge(self, clients: list[str], rows: int) -> None:
        """Each client's served work grows by the rows its sentences took in one step."""
        with self._cond:
            for client in clients:
                if client in self._served:
                    self._served[client] += rows

    def _isolate(self, key: SearchKey, error: Exception) -> None:
        """A step failed: its requests go back to the queue, each to search alone, so only the one at fault fails.

        Their current sentences restart from scratch (a job's context changes only when a sentence
        finishes), so the retried translations are exactly what they would have been. A search
        of one request, or of requests already searching alone, fails its requests.
        """
        jobs = self._running[key].search.docs
        if len(jobs) == 1 or all(job.alone for job in jobs):
            self._fail_search(key, error)
            return
        del self._running[key]
        for job in jobs:
            job.alone, job.enqueued_step = True, self._steps
        with self._cond:
            self._queue.extendleft(reversed(jobs))

    def _account(self, job: Job, running: _Running) -> None:
        """Its sentence leaves `running`: add the steps it was in, and other searches' steps meanwhile."""
        all_steps, own_steps = self._steps - job.joined_at[0], running.steps - job.joined_at[1]
        job.steps, job.other_steps = job.steps + own_steps, job.other_steps + all_steps - own_steps

    def _sentence_done(self, running: _Running, sentence: Live[Job], hyps: list[Hypothesis]) -> bool:
        """Record a finished sentence; True if its job has more sentences to queue."""
        job = sentence.doc
        self._account(job, running)
        more = running.search.finish(sentence, hyps[: job.decode.n_best])
        job.continuing = True
        if not more:
            self._finish(job, result=(job.results, job.doc_state))
            return False
        job.enqueued_step, job.enqueued_at, job.in_reserve = self._steps, time.monotonic(), False
        return True

    def _finish(self, job: Job, result: Result | None = None, error: BaseException | None = None) -> None:
        """Resolve the job's future and return its slot, exactly once whatever path gets here."""
        with self._cond:
            if job.settled:
                return
            job.settled = True
            self._in_system -= 1
            left = self._client_jobs.get(job.client, 1) - 1
            if left > 0:
                self._client_jobs[job.client] = left
            else:
                self._client_jobs.pop(job.client, None)
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)  # type: ignore[arg-type]


def _job_error(model: ServedModel, job: Job, error: Exception) -> Exception:
    """What a request whose sentence failed is told: NaN from a client's context is that context's fault."""
    if not isinstance(error, NoHypothesisError):
        log.error("model %s: a request failed", model.name, exc_info=error)
        return error
    done = len(job.results)
    if job.given_context:
        return RequestError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"sentence {done}: the model's scores became non-finite from this request's context; "
            "start the document again with an empty context",
        )
    log.error("model %s: non-finite scores for sentence %d of a request without context", model.name, done)
    return RequestError(grpc.StatusCode.INTERNAL, f"sentence {done}: the model produced non-finite scores")
