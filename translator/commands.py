"""`nmt translate`: the core library's own command, and the flags every model-loading command shares.

Imports only `translator`: the `nmt` package (nmt/cli.py) assembles this with
the training, evaluation and server packages' commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from translator.config import DecodeConfig


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `translate` on the `nmt` parser."""
    _add_translate(sub)


def add_model_arguments(p: argparse.ArgumentParser, many: bool = False) -> None:
    """Flags of every command that loads a model and decodes: translate, evaluate, score."""
    if many:
        p.add_argument(
            "--model",
            required=True,
            action="append",
            help="checkpoint file or run directory; repeat to compare systems (the first is the baseline)",
        )
    else:
        p.add_argument("--model", required=True, help="checkpoint file or run directory (its best checkpoint)")
    p.add_argument(
        "--context",
        choices=["carry", "none"],
        help="at inference (not the training mode of `nmt train --context`): carry the document context "
        "the model was trained with (default); none: reset it at every sentence",
    )
    p.add_argument("--beam", type=int, help="beam size (1 = greedy); default from the model's config")
    p.add_argument("--batch-size", type=int, help="documents decoded in parallel")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    p.add_argument("--int8", action="store_true", help="int8 dynamic quantization (CPU): faster, a little less exact")
    p.add_argument(
        "--shortlist", action="store_true", help="score only the batch's vocabulary shortlist: faster decoding"
    )


def decode_config(args: argparse.Namespace, base: DecodeConfig) -> DecodeConfig:
    """The model's decode section with the flags of `add_model_arguments` (and --n-best) laid over it."""
    changes = {
        "beam_size": args.beam,
        "batch_size": args.batch_size,
        "n_best": getattr(args, "n_best", None),
        "shortlist": True if getattr(args, "shortlist", False) else None,
    }
    return dataclasses.replace(base, **{k: v for k, v in changes.items() if v is not None})


def _add_translate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("translate", help="translate text: one sentence per line, blank line = new document")
    add_model_arguments(p)
    p.add_argument("--input", "-i", type=Path, help="input file (default stdin)")
    p.add_argument("--output", "-o", type=Path, help="output file (default stdout)")
    p.add_argument("--n-best", type=int, help="print the n best, tab-separated with scores")
    p.add_argument(
        "--window",
        type=int,
        help="sentences read ahead of the output (default 10000): bounds memory, whatever the input's length",
    )
    p.set_defaults(func=_translate)


def _translate(args: argparse.Namespace) -> int:
    """Read, translate and write documents as they come: memory stays flat however long the input."""
    from translator.corpus import read_documents, write_documents
    from translator.documents import WINDOW
    from translator.inference import Translator

    translator = Translator.load(args.model, int8=args.int8)
    decode = decode_config(args, translator.config.decode)
    window = WINDOW if args.window is None else args.window
    out = translator.translate_stream(read_documents(args.input), args.context, decode, window)
    if decode.n_best > 1:
        lines = (
            ["\t".join(f"{t} ||| {s:.4f}" for t, s in [(x.text, x.score), *x.alternatives]) for x in doc] for doc in out
        )
    else:
        lines = ([x.text for x in doc] for doc in out)
    try:
        write_documents(lines, args.output)
    except BrokenPipeError:  # the reader has gone (`| head`): stop translating, without a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit must not fail too
        return 1
    return 0
