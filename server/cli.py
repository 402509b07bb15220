"""`nmt serve` and `nmt client`: flags here, work in `server.app` and `server.client` (imported lazily)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from server import config

if TYPE_CHECKING:
    from server.client import Client
    from server.gen.translator_pb2 import Translation


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `serve` and `client` on the `nmt` parser (flags only: grpc is imported when they run)."""
    add_serve(sub)
    add_client(sub)


def add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="serve checkpoints over gRPC",
        description="Serve models over gRPC (translator.v1.Translator, health, reflection) with Prometheus metrics. "
        "Every flag can also be set with an NMT_SERVE_* environment variable.",
    )
    config.add_arguments(p)
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    from server import logs
    from server.app import Server

    cfg = config.from_args(args)
    logs.setup(cfg.log_format, cfg.log_level)
    Server(cfg).start().run_until_signal()
    # Everything is drained and stopped. Skip interpreter finalization: tearing Python down
    # while gRPC's and torch's native threads are still winding down aborted the process
    # (SIGABRT) once in CI, turning a clean shutdown into a crash report.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def add_client(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("client", help="call a running server: translate, models, health")
    p.add_argument("action", choices=["translate", "models", "health"])
    p.add_argument("--target", default="127.0.0.1:50051", help="server host:port")
    p.add_argument("--model", default="", help="model name (default: the server's default)")
    p.add_argument("--input", "-i", type=Path, help="text: one sentence per line, blank line = new document")
    p.add_argument("--output", "-o", type=Path, help="translations, same layout (default stdout)")
    p.add_argument("--beam", type=int, default=0, help="beam size (0 = the model's default)")
    p.add_argument(
        "--n-best",
        type=int,
        default=0,
        help="print the n best of each sentence, tab-separated as 'text ||| score' (needs --beam >= n)",
    )
    p.add_argument(
        "--alignments",
        type=Path,
        metavar="FILE",
        help="also write word alignments from attention to FILE, line for line with the output, as "
        "`nmt translate --alignments`: source-target word index pairs (Pharaoh i-j, 0-based) of the best translation",
    )
    p.add_argument(
        "--mode",
        choices=["document", "sentence", "stream"],
        default="document",
        help="one call per document, one call per sentence with the context passed along, or a stream",
    )
    p.add_argument("--timeout", type=float, default=60.0, help="deadline of each call, seconds")
    p.add_argument("--tls-ca", help="PEM CA to verify the server (turns TLS on)")
    p.add_argument("--tls-cert", help="client certificate (mutual TLS)")
    p.add_argument("--tls-key", help="client key (mutual TLS)")
    p.add_argument("--server-name", help="expected name in the server certificate")
    p.add_argument("--token-file", type=Path, help="file holding a bearer token (a server with --auth-token-file)")
    p.add_argument("--service", default="", help="health: the service to ask about ('' = whole server)")
    p.set_defaults(func=client)


def client(args: argparse.Namespace) -> int:
    import grpc
    from google.protobuf.json_format import MessageToDict

    from server.client import Client

    tls = {"tls_ca": args.tls_ca, "tls_cert": args.tls_cert, "tls_key": args.tls_key, "server_name": args.server_name}
    token = args.token_file.read_text().strip() if args.token_file else None
    with Client(args.target, timeout=args.timeout, token=token, **tls) as c:
        try:
            if args.action == "health":
                status = c.health(args.service)
                print(status)
                return 0 if status == "SERVING" else 1
            if args.action == "models":
                print(json.dumps(MessageToDict(c.list_models()), indent=2))
                return 0
            return _translate_text(c, args)
        except grpc.RpcError as e:
            print(f"nmt client: {e.code().name}: {e.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 1


def _translate_text(c: Client, args: argparse.Namespace) -> int:
    """Translate a file as `nmt translate` does, line for line (blank lines kept), a call (or calls) per document;
    with --alignments, the alignments too, in the same file format."""
    from translator.lines import read_blocks, translate_blocks, write_blocks

    options = {"model": args.model, "beam_size": args.beam, "n_best": args.n_best, "alignment": bool(args.alignments)}

    def translate(docs: Iterator[list[str]]) -> Iterator[list[Translation | None]]:
        for doc in docs:
            if args.mode == "document":
                responses = [c.translate(doc, **options)]
            elif args.mode == "stream":
                responses = list(c.stream(([s] for s in doc), **options))
            else:
                responses, context = [], b""
                for sentence in doc:
                    responses.append(c.translate([sentence], context, **options))
                    context = responses[-1].context
            yield [t for r in responses for t in r.translations]

    blocks: Iterator[list[Translation | None]] = translate_blocks(read_blocks(args.input), translate, None)
    with args.alignments.open("w", encoding="utf-8") if args.alignments else contextlib.nullcontext() as links:

        def lines() -> Iterator[list[str]]:
            for block in blocks:
                if links is not None:  # alignments first, as `nmt translate` writes them
                    links.write("".join(_links(t) + "\n" for t in block))
                    links.flush()
                yield [_line(t, args.n_best) if t is not None else "" for t in block]

        write_blocks(lines(), args.output)
    return 0


def _links(t: Translation | None) -> str:
    """A translation's alignment as `nmt translate --alignments` writes it: 'i-j' pairs; blank for a blank line."""
    return " ".join(f"{p.source}-{p.target}" for p in t.alignment) if t is not None else ""


def _line(t: Translation, n_best: int) -> str:
    """A translation as `nmt translate` prints it: its text, or with --n-best, 'text ||| score' tab-separated."""
    if n_best <= 1:
        return str(t.text) or " "  # never empty, as `nmt translate`: an empty line would read as a blank one
    best = [(t.text, t.score), *((a.text, a.score) for a in t.alternatives)]
    return "\t".join(f"{text} ||| {score:.4f}" for text, score in best)
