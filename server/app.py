"""Assemble and run a server: registry, batcher, servicer, health, reflection, metrics.

`Server` is what tests start on localhost and what `nmt serve` runs until
SIGTERM. Shutdown order matters for a load balancer: health turns
NOT_SERVING first, then gRPC stops taking new RPCs and gives in-flight ones
`grace_seconds` to finish, then the batcher drains, then metrics go away.

Health is protected from the load it reports on: it has threads of its own
(`server.capacity`), and it turns NOT_SERVING if the batcher's worker dies.
Connections are pinged (`--keepalive-seconds`, idle ones too), closed when
idle (`--max-connection-idle-seconds`) and recycled
(`--max-connection-age-seconds`), so dead peers and pinned clients do not
hold resources forever; at most `--max-connections` are open, each carries
at most `--max-concurrent-streams` calls and messages of at most
`--max-message-bytes`. With
`--auth-token-file` every call but Health needs a bearer token
(`server.auth`); plain text on an address other than loopback is logged as
a warning, since tokens and documents then cross the network in clear.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import threading
from concurrent import futures
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
import torch
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from server.auth import TokenCheck, read_tokens
from server.batcher import Batcher
from server.capacity import Capacity
from server.config import ServeConfig
from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc
from server.metrics import Metrics
from server.registry import ModelRegistry, ModelSpec
from server.servicer import TranslatorServicer
from server.watchdog import Watchdog

log = logging.getLogger("server")

NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Translator"].full_name  # translator.v1.Translator


class Server:
    """One running translation server."""

    def __init__(self, cfg: ServeConfig) -> None:
        self.cfg = cfg
        key = _key(cfg)  # before anything starts: a bad key file stops startup cleanly
        tokens = read_tokens(cfg.auth_token_file) if cfg.auth_token_file else []
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.metrics = Metrics()
        self.registry = ModelRegistry(
            [ModelSpec.parse(m) for m in cfg.model],
            Path(cfg.model_dir) if cfg.model_dir else None,
            _device(cfg.device),
            cfg.int8,
            cfg.shortlist,
            on_change=self.metrics.on_model,
        )
        self.registry.load_initial()
        self.batcher = Batcher(
            cfg.max_batch_size,
            cfg.max_wait_ms,
            cfg.max_queue,
            on_batch=self.metrics.on_batch,
            on_drop=lambda reason: self.metrics.dropped.labels(reason).inc(),
            on_death=self._not_serving,
            max_batch_rows=cfg.max_batch_rows,
            max_client_requests=cfg.max_client_requests,
            idle_credit=cfg.idle_credit_rows,
        )
        self.metrics.queue_depth.set_function(lambda: self.batcher.depth)  # read at scrape time
        self.health = health.HealthServicer(experimental_non_blocking=True)
        threads = Capacity.pool_size(cfg.workers, cfg.admin_threads)
        self.watchdog = Watchdog(on_fire=lambda event: self.metrics.stream_cancels.labels(event).inc())
        capacity = Capacity(
            cfg.workers, cfg.admin_threads, cfg.max_watches, cfg.watch_seconds, cfg.stream_idle_seconds, self.watchdog
        )
        interceptors: list[grpc.ServerInterceptor] = [TokenCheck(tokens)] if tokens else []  # before any slot is taken
        self.grpc = grpc.server(
            futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rpc"),
            interceptors=[*interceptors, capacity],
            options=grpc_options(cfg),
            maximum_concurrent_rpcs=threads + cfg.max_watches,  # gRPC counts open watches though they hold no thread
        )
        servicer = TranslatorServicer(
            self.registry, self.batcher, cfg, self.metrics, self.watchdog, key, authenticated=bool(tokens)
        )
        pb_grpc.add_TranslatorServicer_to_server(servicer, self.grpc)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc)
        if not cfg.no_reflection:
            names = (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME)
            reflection.enable_server_reflection(names, self.grpc)
        self.port = self._bind()
        self.metrics_port = 0
        self._metrics_server: Any = None
        self._stopped = threading.Event()

    def _bind(self) -> int:
        address = f"{self.cfg.host}:{self.cfg.port}"
        if not self.cfg.tls_cert:
            port = self.grpc.add_insecure_port(address)
        else:
            cert, key = Path(self.cfg.tls_cert).read_bytes(), Path(self.cfg.tls_key).read_bytes()
            ca = Path(self.cfg.tls_client_ca).read_bytes() if self.cfg.tls_client_ca else None
            creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=ca is not None)
            port = self.grpc.add_secure_port(address, creds)
        if port == 0:
            raise RuntimeError(f"cannot listen on {address}")
        return port

    def start(self) -> Server:
        self.grpc.start()
        if self.cfg.metrics_port:
            host = self.cfg.metrics_host or "127.0.0.1"
            self._metrics_server, _ = start_http_server(self.cfg.metrics_port, host, registry=self.metrics.registry)
            self.metrics_port = self._metrics_server.server_port
        self.registry.start_watching(self.cfg.reload_interval)
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING if self.batcher.alive else NOT_SERVING)
        log.info(
            "serving %s on %s:%d (%s)",
            ", ".join(m.name for m in self.registry.models()),
            self.cfg.host,
            self.port,
            "TLS" if self.cfg.tls_cert else "plaintext",
            extra={"event": "started", "port": self.port, "metrics_port": self.metrics_port},
        )
        warning = plaintext_warning(self.cfg)
        if warning:
            log.warning(warning, extra={"event": "plaintext_exposed"})
        return self

    def _not_serving(self) -> None:
        """The batcher's worker died: nothing here can translate any more, so a balancer must route away."""
        for name in ("", SERVICE_NAME):
            self.health.set(name, NOT_SERVING)

    def stop(self, grace: float | None = None) -> None:
        """Drain and stop (idempotent): NOT_SERVING, finish in-flight RPCs, stop the batcher."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        grace = self.cfg.grace_seconds if grace is None else grace
        log.info("shutting down: draining in-flight requests (up to %.0f s)", grace, extra={"event": "draining"})
        self.health.enter_graceful_shutdown()
        # In-flight RPCs get `grace` seconds. gRPC's own confirmation can hang when RPCs were in
        # progress (grpc/grpc#40834; seen here too), so wait for it a bounded time only.
        if not self.grpc.stop(grace).wait(timeout=grace + 5):
            log.warning("gRPC did not confirm its shutdown; stopping anyway", extra={"event": "stop_timeout"})
        self.batcher.stop()
        self.watchdog.stop()
        self.registry.stop()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        log.info("stopped", extra={"event": "stopped"})

    def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then drain and return."""
        done = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name, extra={"event": "signal"})
            done.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        done.wait()
        self.stop()


def grpc_options(cfg: ServeConfig) -> list[tuple[str, int]]:
    """Connection limits: dead peers are found, idle and old connections closed, streams and messages capped."""
    options = [
        ("grpc.keepalive_time_ms", int(cfg.keepalive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),  # idle connections are pinged too, as the docs say
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),  # clients may ping at most this often
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.max_concurrent_streams", cfg.max_concurrent_streams),
        ("grpc.max_allowed_incoming_connections", cfg.max_connections),
        ("grpc.max_receive_message_length", cfg.max_message_bytes),
        ("grpc.max_send_message_length", cfg.max_message_bytes),
    ]
    if cfg.max_connection_idle_seconds:
        options.append(("grpc.max_connection_idle_ms", int(cfg.max_connection_idle_seconds * 1000)))
    if cfg.max_connection_age_seconds:
        options += [
            ("grpc.max_connection_age_ms", int(cfg.max_connection_age_seconds * 1000)),
            ("grpc.max_connection_age_grace_ms", int(cfg.max_request_seconds * 1000)),  # in-flight calls finish
        ]
    return options


def plaintext_warning(cfg: ServeConfig) -> str:
    """What to warn about when plain text is served beyond this machine ("" when it is not)."""
    if cfg.tls_cert or is_loopback(cfg.host):
        return ""
    secrets = " and bearer tokens" if cfg.auth_token_file else ""
    return (
        f"serving plaintext on {cfg.host}: documents{secrets} cross the network unencrypted; "
        "use --tls-cert/--tls-key, or a TLS-terminating proxy in front"
    )


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume it is reachable from outside


def _key(cfg: ServeConfig) -> bytes:
    """The context-signing key from `--context-key-file` (b"": blobs are unsigned)."""
    if not cfg.context_key_file:
        return b""
    key = Path(cfg.context_key_file).read_bytes().strip()
    if len(key) < 16:
        raise ValueError(f"{cfg.context_key_file}: a context key needs at least 16 bytes, it has {len(key)}")
    return key


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
