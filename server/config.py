"""`ServeConfig`: every setting of `nmt serve`, from flags, then environment, then defaults.

Each field has a flag `--field-name` and an environment variable
`NMT_SERVE_FIELD_NAME` (a flag wins over the variable). List fields take a
comma-separated variable, e.g. `NMT_SERVE_MODEL=en-es=/runs/bible,/runs/other`.
The model's own settings (shape, vocabulary, decoding defaults) are never
here: the server reads them from each checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ENV_PREFIX = "NMT_SERVE_"


def _f(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass
class ServeConfig:
    """Settings of one server process."""

    model: list[str] = field(
        default_factory=list, metadata={"help": "a run directory or checkpoint, repeatable; the first is the default"}
    )
    model_dir: str = _f("", "a folder with one run directory or .pt file per model, named after it")
    host: str = _f("127.0.0.1", "address to listen on; 0.0.0.0 for all interfaces")
    port: int = _f(50051, "0 = any free port (logged)")
    device: str = _f("cpu", "cpu, cuda, or auto")
    threads: int = _f(0, "torch intra-op threads; 0 = torch's default")
    int8: bool = _f(False, "int8 dynamic quantization of every model (CPU): several times faster, slightly less exact")
    shortlist: bool = _f(
        False,
        "score only a running search's vocabulary shortlist (models that carry one): faster, but the set covers "
        "every request in the search, so a translation can depend slightly on other requests'",
    )
    workers: int = _f(64, "concurrent Translator RPCs (one thread each); more get RESOURCE_EXHAUSTED")
    admin_threads: int = _f(8, "threads beyond --workers kept for health checks and reflection, so they never starve")
    max_batch_size: int = _f(32, "sentences in one model batch; 1 turns dynamic batching off")
    max_batch_rows: int = _f(
        160, "beam rows (sentences x beam) in all running searches; a quarter more is kept for newcomers"
    )
    max_wait_ms: float = _f(
        0.0, "how long a lone new request at an idle server waits for company (0: none; later ones join its search)"
    )
    max_queue: int = _f(256, "requests queued or running; beyond it RESOURCE_EXHAUSTED")
    max_sentences: int = _f(256, "sentences per request")
    max_sentence_chars: int = _f(2000, "characters per sentence")
    max_sentence_tokens: int = _f(250, "SentencePiece pieces per sentence")
    max_beam_size: int = _f(16, "largest beam_size a request may ask for")
    max_n_best: int = _f(16, "largest n_best a request may ask for")
    max_request_work: int = _f(4096, "sentences x beam_size x n_best one request may ask for")
    idle_credit_rows: int = _f(
        512,
        "row-steps (sentences x beam x steps) a client back from idle starts below the least-served active client: "
        "a light client's short request runs ahead of heavy work; 0 = strict turns",
    )
    max_client_requests: int = _f(32, "requests one client (its token, else its connection) may have queued or running")
    max_length: int = _f(512, "cap on DecodeOptions.max_length")
    reload_interval: float = _f(10.0, "seconds between checks for a newer checkpoint; 0 = never")
    grace_seconds: float = _f(30.0, "SIGTERM: how long in-flight requests may take to finish")
    max_request_seconds: float = _f(300.0, "server-side deadline of a request or stream message (caps the client's)")
    stream_idle_seconds: float = _f(60.0, "a stream that sends no message for this long is cancelled")
    max_stream_messages: int = _f(10_000, "messages in one TranslateStream; continue in a new stream with the context")
    send_timeout_seconds: float = _f(30.0, "a stream whose client reads no reply for this long is cancelled")
    watch_seconds: float = _f(300.0, "a Health.Watch stream is closed after this long (the client watches again)")
    max_watches: int = _f(64, "Health.Watch streams open at once (they hold no thread); more get RESOURCE_EXHAUSTED")
    keepalive_seconds: float = _f(60.0, "ping idle connections this often; a peer that does not answer is closed")
    max_connection_age_seconds: float = _f(3600.0, "close connections after this long (clients reconnect); 0 = never")
    max_connection_idle_seconds: float = _f(300.0, "close connections with no call for this long; 0 = never")
    max_concurrent_streams: int = _f(100, "calls open at once on one connection; more wait in the client")
    max_connections: int = _f(1024, "client connections open at once; more are refused (health probes need one too)")
    max_message_bytes: int = _f(4 * 1024 * 1024, "largest message either way; a larger one is RESOURCE_EXHAUSTED")
    auth_token_file: str = _f("", "bearer tokens, one a line: every call but Health must present one")
    expose_model_details: bool = _f(False, "ListModels also gives checkpoint paths and the full model config")
    context_key_file: str = _f("", "file with a secret shared by replicas: context blobs are signed (HMAC-SHA256)")
    no_reflection: bool = _f(False, "do not serve gRPC server reflection")
    metrics_port: int = _f(9464, "Prometheus /metrics over HTTP; 0 = off")
    metrics_host: str = _f("127.0.0.1", "address of /metrics (it names checkpoint paths); 0.0.0.0 for all interfaces")
    tls_cert: str = _f("", "PEM certificate chain; with tls_key, serve TLS only")
    tls_key: str = _f("", "PEM private key of --tls-cert")
    tls_client_ca: str = _f("", "PEM CA bundle: require client certificates signed by it (mutual TLS)")
    log_format: str = _f("json", "json or text")
    log_level: str = _f("INFO", "DEBUG, INFO, WARNING or ERROR")

    def __post_init__(self) -> None:
        if not self.model and not self.model_dir:
            raise ValueError("no model: give --model [NAME=]PATH or --model-dir DIR")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("TLS needs both --tls-cert and --tls-key")
        if self.tls_client_ca and not self.tls_cert:
            raise ValueError("--tls-client-ca needs --tls-cert and --tls-key")
        if self.log_format not in ("json", "text"):
            raise ValueError(f"--log-format must be json or text, not {self.log_format!r}")
        positive = ("workers", "admin_threads", "max_batch_size", "max_batch_rows", "max_queue", "max_sentences")
        limits = ("max_sentence_chars", "max_sentence_tokens", "max_beam_size", "max_n_best", "max_request_work")
        more = ("max_client_requests", "max_length", "max_stream_messages", "max_watches", "max_concurrent_streams")
        for name in (*positive, *limits, *more, "max_message_bytes", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{_flag(name)} must be at least 1")
        if min(self.max_wait_ms, self.reload_interval, self.grace_seconds, self.idle_credit_rows) < 0:
            raise ValueError(
                "--max-wait-ms, --reload-interval, --grace-seconds and --idle-credit-rows must not be negative"
            )
        seconds = ("max_request_seconds", "stream_idle_seconds", "keepalive_seconds", "send_timeout_seconds")
        for name in (*seconds, "watch_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{_flag(name)} must be positive")
        if self.max_connection_age_seconds < 0 or self.max_connection_idle_seconds < 0:
            raise ValueError("--max-connection-age-seconds and --max-connection-idle-seconds must not be negative")


def _flag(name: str) -> str:
    return name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per field; defaults stay None so the environment can fill them."""
    for f in dataclasses.fields(ServeConfig):
        help_text = f"{f.metadata['help']} (env {ENV_PREFIX}{f.name.upper()}; default {f.default!r})"
        help_text = help_text.replace("%", "%%")
        if f.name == "model":
            help_text = f"{f.metadata['help']} (env {ENV_PREFIX}MODEL, comma-separated)"
            parser.add_argument("--model", action="append", metavar="[NAME=]PATH", help=help_text)
        elif str(f.type) == "bool":
            parser.add_argument(f"--{_flag(f.name)}", action="store_true", default=None, help=help_text)
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(f"--{_flag(f.name)}", type=kind, default=None, help=help_text)


def from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> ServeConfig:
    """Flags first, then `NMT_SERVE_*` variables, then the dataclass defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in dataclasses.fields(ServeConfig):
        given = getattr(args, f.name, None)
        var = env.get(ENV_PREFIX + f.name.upper())
        if given is not None:
            values[f.name] = given
        elif var is not None and var != "":
            values[f.name] = _parse_env(f.name, str(f.type), var)
    return ServeConfig(**values)


def _parse_env(name: str, kind: str, text: str) -> Any:
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={text!r} is not a {kind}") from None
    if kind == "bool":
        if text.lower() not in ("1", "true", "yes", "0", "false", "no"):
            raise ValueError(f"{ENV_PREFIX}{name.upper()}={text!r} is not a bool (true/false)")
        return text.lower() in ("1", "true", "yes")
    if name == "model":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text
