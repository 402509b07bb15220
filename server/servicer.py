"""`translator.v1.Translator`: request validation, status codes, and the call into the batcher.

Each RPC validates everything before any model time is spent (sentences,
options, the context blob), submits one `Job` per document chunk, and waits
for it within the client's deadline (capped by `--max-request-seconds`).
Refusals raise `RequestError` and come back as their gRPC status with a
message; anything else is a server bug, logged with its traceback and
returned as INTERNAL with a reference to that log line, never the exception
itself. A stream is cancelled when idle, or when its client stops reading
replies (a send that cannot progress within `--send-timeout-seconds` would
otherwise hold its handler thread and Translator slot until the connection
ends: issue 30); it ends after `--max-stream-messages` messages. Each job
names its client (a verified token, else the connection) for the batcher's
per-client limits and fair sharing, and its work (sentences x beam x n-best)
is capped per request.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Iterator, Sequence

import grpc

from server.auth import client_of
from server.batcher import Batcher, Job
from server.config import ServeConfig
from server.errors import RequestError, invalid, quoted
from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc
from server.metrics import Metrics
from server.registry import ModelRegistry, ServedModel
from server.watchdog import Bound, Watchdog
from translator.config import DecodeConfig
from translator.inference import Translation
from translator.state import DocState

log = logging.getLogger("server.access")


class TranslatorServicer(pb_grpc.TranslatorServicer):
    def __init__(
        self,
        registry: ModelRegistry,
        batcher: Batcher,
        limits: ServeConfig,
        metrics: Metrics,
        watchdog: Watchdog | None = None,
        context_key: bytes = b"",
        authenticated: bool = False,
    ) -> None:
        self.registry = registry
        self.batcher = batcher
        self.limits = limits
        self.metrics = metrics
        self.watchdog = watchdog or Watchdog()
        self.context_key = context_key  # HMAC key shared by replicas; b"" = unsigned blobs
        self.authenticated = authenticated  # calls carry a verified token: it names the client

    # ---------------------------------------------------------------- RPCs

    def Translate(self, request: pb.TranslateRequest, rpc: grpc.ServicerContext) -> pb.TranslateResponse:
        with _Call(self.metrics, "Translate", rpc) as call:  # label only known models: bounded cardinality
            model = self.registry.get(request.model)
            call.model = model.name
            doc, done = self._doc_state(model, request.context)
            translations, doc = self._translate(model, request, doc, call)
            call.sentences = len(translations)
            return self._response(model, translations, doc, done + len(translations))

    def TranslateStream(
        self, requests: Iterator[pb.TranslateRequest], rpc: grpc.ServicerContext
    ) -> Iterator[pb.TranslateResponse]:
        with _Call(self.metrics, "TranslateStream", rpc) as call:
            model: ServedModel | None = None
            doc: DocState | None = None
            done = 0
            for i, request in enumerate(self._messages(requests, rpc)):
                if i >= self.limits.max_stream_messages:
                    raise RequestError(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"a stream may carry {self.limits.max_stream_messages} messages; "
                        "continue the document in a new stream from the last response's context",
                    )
                if model is None:
                    model = self.registry.get(request.model)  # the stream stays on this version
                    call.model = model.name
                    doc, done = self._doc_state(model, request.context)
                elif request.context:
                    raise invalid(f"stream message {i}: only the first message may carry a context")
                elif request.model and request.model != model.name:
                    raise invalid(
                        f"stream message {i}: model {quoted(request.model)} differs from the stream's {model.name!r}"
                    )
                translations, doc = self._translate(model, request, doc, call)
                done += len(translations)
                call.sentences += len(translations)
                response = self._response(model, translations, doc, done)
                with self.watchdog.bounded(rpc, self.limits.send_timeout_seconds, "slow_reader") as call.bound:
                    yield response  # resumed once gRPC has sent it: a client that stops reading blocks here

    def ListModels(self, request: pb.ListModelsRequest, rpc: grpc.ServicerContext) -> pb.ListModelsResponse:
        with _Call(self.metrics, "ListModels", rpc):
            detail = self.limits.expose_model_details  # paths and the full config only when the operator says so
            return pb.ListModelsResponse(
                models=[pb.ModelInfo(**m.summary(detail)) for m in self.registry.models()],  # type: ignore[arg-type]
                default_model=self.registry.default,
            )

    # ---------------------------------------------------------------- streams

    def _messages(
        self, requests: Iterator[pb.TranslateRequest], rpc: grpc.ServicerContext
    ) -> Iterator[pb.TranslateRequest]:
        """A stream's requests; one that keeps the server waiting `--stream-idle-seconds` is cancelled."""
        while True:
            with self.watchdog.bounded(rpc, self.limits.stream_idle_seconds, "stream_idle"):
                try:
                    request = next(requests)
                except StopIteration:
                    return
                except grpc.RpcError:  # cancelled: by the client, or by the watchdog
                    raise RequestError(grpc.StatusCode.CANCELLED, "stream cancelled (by the client, or idle)") from None
            yield request

    # ---------------------------------------------------------------- shared

    def _doc_state(self, model: ServedModel, blob: bytes) -> tuple[DocState | None, int]:
        """The document state in the client's context bytes (None and 0 sentences when it sent none)."""
        return model.decode_context(blob, self.context_key) if blob else (None, 0)

    def _translate(
        self, model: ServedModel, request: pb.TranslateRequest, doc: DocState | None, call: _Call
    ) -> tuple[list[Translation], DocState | None]:
        sentences = self._check_sentences(request.sentences)
        decode, max_length = self._check_options(model, request.options)
        remaining = call.rpc.time_remaining()  # huge (not None) when the client set no deadline
        cap = self.limits.max_request_seconds
        remaining = cap if remaining is None or remaining > cap else remaining
        self._check_work(len(sentences), decode)
        client = client_of(call.rpc, self.authenticated)
        job = Job(model, sentences, doc, decode, max_length, time.monotonic() + remaining, client=client)  # tokenizes
        for i, ids in enumerate(job.pieces):
            if len(ids) > self.limits.max_sentence_tokens:
                raise invalid(
                    f"sentence {i} has {len(ids)} subword pieces; the limit is {self.limits.max_sentence_tokens}"
                )
        call.attach(job)  # the client goes away: the job leaves the queue
        self.batcher.submit(job)
        try:
            return job.future.result(timeout=remaining + 1.0)  # the batcher drops it at its deadline
        except TimeoutError:
            job.cancel()
            raise RequestError(
                grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed before translation finished"
            ) from None

    def _response(
        self, model: ServedModel, translations: list[Translation], doc: DocState | None, sentences: int
    ) -> pb.TranslateResponse:
        return pb.TranslateResponse(
            translations=[_translation(t) for t in translations],
            context=model.encode_context(doc, sentences, self.context_key),
            model=model.name,
            model_version=model.version,
        )

    def _check_sentences(self, sentences: Sequence[str]) -> list[str]:
        lim = self.limits
        if not sentences:
            raise invalid("no sentences: send at least one")
        if len(sentences) > lim.max_sentences:
            raise invalid(f"{len(sentences)} sentences in one request; the limit is {lim.max_sentences}")
        out = []
        for i, text in enumerate(sentences):
            text = text.strip()
            if not text:
                raise invalid(f"sentence {i} is empty")
            if len(text) > lim.max_sentence_chars:
                raise invalid(f"sentence {i} has {len(text)} characters; the limit is {lim.max_sentence_chars}")
            out.append(text)
        return out

    def _check_options(self, model: ServedModel, options: pb.DecodeOptions) -> tuple[DecodeConfig, int]:
        lim, base = self.limits, model.translator.config.decode
        beam = options.beam_size or base.beam_size
        n_best = options.n_best or 1
        if beam > lim.max_beam_size:
            raise invalid(f"beam_size {beam} is above the limit {lim.max_beam_size}")
        if n_best > lim.max_n_best:
            raise invalid(f"n_best {n_best} is above the limit {lim.max_n_best}")
        if n_best > beam:
            raise invalid(f"n_best {n_best} is larger than beam_size {beam}")
        if options.max_length > lim.max_length:
            raise invalid(f"max_length {options.max_length} is above the limit {lim.max_length}")
        decode = dataclasses.replace(base, beam_size=beam, n_best=n_best, alignment=options.alignment)
        return decode, options.max_length

    def _check_work(self, sentences: int, decode: DecodeConfig) -> None:
        """One request's work: sentences x beam x n-best, capped so no request can ask for hours of model time."""
        work, cap = sentences * decode.beam_size * decode.n_best, self.limits.max_request_work
        if work > cap:
            raise invalid(
                f"{sentences} sentences x beam_size {decode.beam_size} x n_best {decode.n_best} = {work}; "
                f"the limit (--max-request-work) is {cap}: send fewer sentences per request"
            )


def _translation(t: Translation) -> pb.Translation:
    """A translation as the API gives it; alignments are empty unless the request asked for them."""
    aligned = t.alternative_alignments or [[] for _ in t.alternatives]  # one per alternative
    return pb.Translation(
        text=t.text,
        score=t.score,
        alternatives=[
            pb.Alternative(text=a, score=s, alignment=_points(links))
            for (a, s), links in zip(t.alternatives, aligned, strict=True)
        ],
        alignment=_points(t.alignment),
    )


def _points(links: list[tuple[int, int]]) -> list[pb.AlignmentPoint]:
    return [pb.AlignmentPoint(source=i, target=j) for i, j in links]


class _Call:
    """One RPC's bookkeeping: status mapping, cancellation, metrics and the access log line."""

    def __init__(self, metrics: Metrics, method: str, rpc: grpc.ServicerContext, model: str = "") -> None:
        self.metrics, self.method, self.rpc = metrics, method, rpc
        self.model = model
        self.sentences = 0
        self.start = time.perf_counter()
        self.job: Job | None = None  # the job running for this RPC now
        self.cancelled = False
        self.watching = False
        self.bound: Bound | None = None  # the stream's last send, bounded by the watchdog

    def __enter__(self) -> _Call:
        return self

    def attach(self, job: Job) -> None:
        """Make `job` the one a client's cancel drops; one gRPC callback per RPC, not per message."""
        self.job = job
        if not self.watching:
            self.watching = True
            if not self.rpc.add_callback(self._on_cancel):  # False: the RPC has already ended
                self.cancelled = True
        if self.cancelled:
            self.job = None  # never queued: it has no time to account for
            raise RequestError(grpc.StatusCode.CANCELLED, "the client has gone away")

    def _job_timing(self) -> dict[str, object]:
        """Where the last job's time went: queued, its own decoding steps, and other searches' steps meanwhile."""
        job = self.job
        if job is None:
            return {}
        return {"queue_ms": round(job.queued_s * 1000, 2), "steps": job.steps, "other_steps": job.other_steps}

    def _on_cancel(self) -> None:
        self.cancelled = True
        job = self.job
        if job is not None:
            job.cancel()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        code, message = grpc.StatusCode.OK, ""
        if isinstance(error, RequestError):
            code, message = error.code, error.message
        elif isinstance(error, GeneratorExit):  # a stream the client cancelled: nothing left to send
            code = grpc.StatusCode.CANCELLED
        elif error is not None:
            incident = uuid.uuid4().hex[:12]
            log.error("%s failed (incident %s)", self.method, incident, exc_info=(kind, error, tb))  # type: ignore[arg-type]
            code, message = grpc.StatusCode.INTERNAL, f"internal error (incident {incident} in the server log)"
        if self.bound is not None and self.bound.fired:  # the watchdog ended a stream whose client stopped reading
            code = grpc.StatusCode.CANCELLED
            message = f"the client read no reply for {self.bound.seconds:.0f} s (slow reader): stream cancelled"
        seconds = time.perf_counter() - self.start
        self.metrics.requests.labels(self.method, self.model, code.name).inc()
        self.metrics.latency.labels(self.method).observe(seconds)
        log.info(
            "%s %s",
            self.method,
            code.name,
            extra={
                "event": "rpc",
                "method": self.method,
                "code": code.name,
                "model": self.model,
                "sentences": self.sentences,
                "ms": round(seconds * 1000, 2),
                "peer": self.rpc.peer(),
                **self._job_timing(),
                **({"error": message} if message else {}),
            },
        )
        if code not in (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED):
            self.rpc.abort(code, message)  # raises: gRPC sends the status
