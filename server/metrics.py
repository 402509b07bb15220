"""Prometheus metrics of one server, on their own registry (so tests can run several servers)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from server.batcher import BatchStats
from server.registry import ServedModel

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
STEP_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


class Metrics:
    """Every series the server exports; names follow Prometheus conventions (`nmt_` prefix)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "nmt_requests", "RPCs finished, by method, model and status code", ["method", "model", "code"], registry=r
        )
        self.latency = Histogram(
            "nmt_request_latency_seconds", "RPC wall time", ["method"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.sentences = Counter("nmt_sentences", "Sentences translated", ["model"], registry=r)
        self.batch_size = Histogram(
            "nmt_batch_size", "Live sentences per decoding step", ["model"], buckets=BATCH_BUCKETS, registry=r
        )
        self.batch_seconds = Histogram(
            "nmt_batch_seconds", "Model time per decoding step", ["model"], buckets=STEP_BUCKETS, registry=r
        )
        self.queue_depth = Gauge("nmt_queue_depth", "Requests queued or running", registry=r)
        self.dropped = Counter(
            "nmt_dropped_requests", "Requests dropped before running, by reason", ["reason"], registry=r
        )
        self.stream_cancels = Counter(
            "nmt_stream_cancels",
            "Calls the server cancelled: stream_idle, slow_reader, watch_expired, admin_stream_idle",
            ["reason"],
            registry=r,
        )
        self.model_info = Gauge(
            "nmt_model_info", "Loaded model versions (value 1)", ["model", "version", "step", "checkpoint"], registry=r
        )
        self.model_step = Gauge("nmt_model_step", "Training step of the served checkpoint", ["model"], registry=r)
        self.reloads = Counter("nmt_model_loads", "Checkpoints loaded (first load and reloads)", ["model"], registry=r)
        self.load_failures = Counter(
            "nmt_model_load_failures",
            "Checkpoints that failed to load; the old version kept serving",
            ["model"],
            registry=r,
        )
        self._versions: dict[str, tuple[str, str, str, str]] = {}

    def on_batch(self, stats: BatchStats) -> None:
        self.batch_size.labels(stats.model).observe(stats.sentences)
        self.batch_seconds.labels(stats.model).observe(stats.seconds)
        self.sentences.labels(stats.model).inc(stats.finished)

    def on_model(self, name: str, model: ServedModel | None, error: Exception | None) -> None:
        if model is None:
            self.load_failures.labels(name).inc()
            return
        old = self._versions.pop(name, None)
        if old is not None:
            self.model_info.remove(*old)
        labels = (name, model.version, str(model.step), str(model.stamp.path))
        self._versions[name] = labels
        self.model_info.labels(*labels).set(1)
        self.model_step.labels(name).set(model.step)
        self.reloads.labels(name).inc()
