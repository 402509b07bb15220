"""`translator.v1.Translator`: request validation, status codes, and the call into the batcher.

Each RPC validates everything before any model time is spent (sentences,
options, the context blob), submits one `Job` per document chunk, and waits
for it within the client's deadline. Refusals raise `RequestError` and come
back as their gRPC status with a message; anything else is a server bug,
logged with its traceback and returned as INTERNAL.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence

import grpc

from server.batcher import Batcher, Job
from server.config import ServeConfig
from server.errors import RequestError, invalid
from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc
from server.metrics import Metrics
from server.registry import ModelRegistry, ServedModel
from translator.config import DecodeConfig
from translator.inference import Translation
from translator.state import DocContext

log = logging.getLogger("server.access")

NO_DEADLINE = 365 * 24 * 3600.0  # seconds; gRPC reports "no deadline" as a time_remaining beyond this


class TranslatorServicer(pb_grpc.TranslatorServicer):
    def __init__(self, registry: ModelRegistry, batcher: Batcher, limits: ServeConfig, metrics: Metrics) -> None:
        self.registry = registry
        self.batcher = batcher
        self.limits = limits
        self.metrics = metrics

    # ---------------------------------------------------------------- RPCs

    def Translate(self, request: pb.TranslateRequest, context: grpc.ServicerContext) -> pb.TranslateResponse:
        with _Call(self.metrics, "Translate", context) as call:  # label only known models: bounded cardinality
            model = self.registry.get(request.model)
            call.model = model.name
            doc, done = model.decode_context(request.context) if request.context else (None, 0)
            translations, doc = self._translate(model, request, doc, context)
            call.sentences = len(translations)
            return _response(model, translations, doc, done + len(translations))

    def TranslateStream(
        self, requests: Iterator[pb.TranslateRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.TranslateResponse]:
        with _Call(self.metrics, "TranslateStream", context) as call:
            model: ServedModel | None = None
            doc: DocContext | None = None
            done = 0
            for i, request in enumerate(requests):
                if model is None:
                    model = self.registry.get(request.model)  # the stream stays on this version
                    call.model = model.name
                    doc, done = model.decode_context(request.context) if request.context else (None, 0)
                elif request.context:
                    raise invalid(f"stream message {i}: only the first message may carry a context")
                elif request.model and request.model != model.name:
                    raise invalid(
                        f"stream message {i}: model {request.model!r} differs from the stream's {model.name!r}"
                    )
                translations, doc = self._translate(model, request, doc, context)
                done += len(translations)
                call.sentences += len(translations)
                yield _response(model, translations, doc, done)

    def ListModels(self, request: pb.ListModelsRequest, context: grpc.ServicerContext) -> pb.ListModelsResponse:
        with _Call(self.metrics, "ListModels", context):
            return pb.ListModelsResponse(
                models=[pb.ModelInfo(**m.summary()) for m in self.registry.models()],  # type: ignore[arg-type]
                default_model=self.registry.default,
            )

    # ---------------------------------------------------------------- shared

    def _translate(
        self, model: ServedModel, request: pb.TranslateRequest, doc: DocContext | None, context: grpc.ServicerContext
    ) -> tuple[list[Translation], DocContext | None]:
        sentences = self._check_sentences(request.sentences)
        decode, max_length = self._check_options(model, request.options)
        remaining = context.time_remaining()  # huge (not None) when the client set no deadline
        if remaining is not None and remaining > NO_DEADLINE:
            remaining = None
        deadline = None if remaining is None else time.monotonic() + remaining
        job = Job(model, sentences, doc, decode, max_length, deadline)  # tokenizes, once
        for i, ids in enumerate(job.pieces):
            if len(ids) > self.limits.max_sentence_tokens:
                raise invalid(
                    f"sentence {i} has {len(ids)} subword pieces; the limit is {self.limits.max_sentence_tokens}"
                )
        context.add_callback(job.cancel)  # the client went away: drop the job from the queue
        self.batcher.submit(job)
        try:
            return job.future.result(timeout=remaining)
        except TimeoutError:
            job.cancel()
            raise RequestError(
                grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed before translation finished"
            ) from None

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
        if n_best > beam:
            raise invalid(f"n_best {n_best} is larger than beam_size {beam}")
        if options.max_length > lim.max_length:
            raise invalid(f"max_length {options.max_length} is above the limit {lim.max_length}")
        return dataclasses.replace(base, beam_size=beam, n_best=n_best), options.max_length


def _response(
    model: ServedModel, translations: list[Translation], doc: DocContext | None, sentences: int
) -> pb.TranslateResponse:
    return pb.TranslateResponse(
        translations=[
            pb.Translation(
                text=t.text, score=t.score, alternatives=[pb.Alternative(text=a, score=s) for a, s in t.alternatives]
            )
            for t in translations
        ],
        context=model.encode_context(doc, sentences),
        model=model.name,
        model_version=model.version,
    )


class _Call:
    """One RPC's bookkeeping: status mapping, metrics and the access log line."""

    def __init__(self, metrics: Metrics, method: str, context: grpc.ServicerContext, model: str = "") -> None:
        self.metrics, self.method, self.context = metrics, method, context
        self.model = model
        self.sentences = 0
        self.start = time.perf_counter()

    def __enter__(self) -> _Call:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        code, message = grpc.StatusCode.OK, ""
        if isinstance(error, RequestError):
            code, message = error.code, error.message
        elif isinstance(error, GeneratorExit):  # a stream the client cancelled: nothing left to send
            code = grpc.StatusCode.CANCELLED
        elif error is not None:
            log.error("%s failed", self.method, exc_info=(kind, error, tb))  # type: ignore[arg-type]
            code, message = grpc.StatusCode.INTERNAL, f"internal error: {type(error).__name__}: {error}"
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
                "peer": self.context.peer(),
                **({"error": message} if message else {}),
            },
        )
        if code not in (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED):
            self.context.abort(code, message)  # raises: gRPC sends the status
