"""`nmt translate`: the core library's own command, and the flags every model-loading command shares.

Imports only `translator`: the `nmt` package (nmt/cli.py) assembles this with
the training, evaluation and server packages' commands.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from translator.config import ContextMode, DecodeConfig, UsageError
from translator.lines import FORMATS

if TYPE_CHECKING:
    from translator.decoding import Translation
    from translator.inference import Translator


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `translate` and `average` on the `nmt` parser."""
    _add_translate(sub)
    _add_average(sub)


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
    add_sentence_level(p)
    p.add_argument("--beam", type=int, help="beam size (1 = greedy); default from the model's config")
    p.add_argument("--batch-size", type=int, help="documents decoded in parallel")
    p.add_argument(
        "--length-penalty", type=float, help="score / length**alpha (0: raw log-probability); default: model's"
    )
    p.add_argument(
        "--max-length", type=int, help="at most this many output pieces per sentence (default: 2 x source + 10)"
    )
    p.add_argument(
        "--device", default="auto", help="auto (a GPU when present, else the CPU; --int8: the CPU), cpu, cuda, cuda:N"
    )
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    p.add_argument("--int8", action="store_true", help="int8 dynamic quantization (CPU): faster, a little less exact")
    p.add_argument(
        "--shortlist", action="store_true", help="score only the batch's vocabulary shortlist: faster decoding"
    )


def add_sentence_level(p: argparse.ArgumentParser) -> None:
    """`--sentence-level`, and the old spelling `--context carry|none` it replaces (kept for one release)."""
    p.add_argument(
        "--sentence-level",
        action="store_true",
        help="reset the document state at every sentence (the context-blind baseline of a context model); "
        "sentences are then translated alone and batched",
    )
    # `--context` is the training mode in `nmt train`; at inference it was this switch. Deprecated.
    p.add_argument("--context", choices=["carry", "none"], help=argparse.SUPPRESS)


def context_mode(args: argparse.Namespace) -> ContextMode | None:
    """The inference context mode the flags ask for: None (the model's own), or "none" (reset)."""
    if getattr(args, "context", None) is not None:
        print(
            f"nmt {args.command}: --context {args.context} is deprecated at inference (it names the training mode "
            "in `nmt train`): use --sentence-level for none, nothing for carry; it goes away in the next release",
            file=sys.stderr,
        )
        return "none" if args.context == "none" else None
    return "none" if getattr(args, "sentence_level", False) else None


def load_translator(args: argparse.Namespace, model: str | Path) -> Translator:
    """`Translator.load` on the device and in the precision the flags ask for."""
    from translator import devices  # torch: imported when a command runs, not when the parser is built
    from translator.inference import Translator

    int8 = getattr(args, "int8", False)
    name = getattr(args, "device", "auto")
    device = devices.resolve("cpu" if int8 and name == "auto" else name)
    if int8 and device.type != "cpu":
        raise ValueError(f"--int8 runs on the CPU only, not on --device {name}")
    return Translator.load(model, int8=int8, device=device)


def decode_config(args: argparse.Namespace, base: DecodeConfig) -> DecodeConfig:
    """The model's decode section with the flags of `add_model_arguments` (and --n-best) laid over it."""
    changes = {
        "beam_size": args.beam,
        "batch_size": args.batch_size,
        "n_best": getattr(args, "n_best", None),
        "length_penalty": getattr(args, "length_penalty", None),
        "max_length": getattr(args, "max_length", None),
        "shortlist": True if getattr(args, "shortlist", False) else None,
    }
    return dataclasses.replace(base, **{k: v for k, v in changes.items() if v is not None})


def _add_translate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "translate",
        help="translate text, one output line per input line: a sentence per line, blank line = new document",
        description="Translate a file (or stdin) line by line: the output has exactly one line per input line, "
        "blank lines kept. Documents, over which the context is carried, are separated by blank lines (text), "
        "given by a document-id file (--docs, as training reads PREFIX.doc), or by a doc_id<TAB>sentence input "
        "(--input-format tsv).",
    )
    add_model_arguments(p)
    p.add_argument("--input", "-i", type=Path, help="input file (default stdin)")
    p.add_argument("--output", "-o", type=Path, help="output file (default stdout)")
    p.add_argument("--input-format", choices=FORMATS, default="text", help="text (default) or tsv: doc_id<TAB>sentence")
    p.add_argument("--docs", type=Path, help="document ids, one per input line (text input): same id = same document")
    p.add_argument("--n-best", type=int, help="print the n best, tab-separated with scores")
    p.add_argument(
        "--alignments",
        type=Path,
        metavar="FILE",
        help="also write word alignments from attention to FILE, line for line with the output: "
        "source-target word index pairs (Pharaoh i-j, 0-based), as fast_align and sacrebleu's tools read them",
    )
    p.add_argument(
        "--window",
        type=int,
        help="sentences read ahead of the output (default 10000): bounds memory, whatever the input's length",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress line on a terminal")
    p.set_defaults(func=_translate)


def _translate(args: argparse.Namespace) -> int:
    """Read, translate and write documents as they come: memory stays flat however long the input."""
    from translator.documents import WINDOW
    from translator.lines import read_blocks, translate_blocks, write_blocks

    if args.docs and args.input_format == "tsv":
        raise UsageError("--docs gives document ids for text input; a tsv input has them in its first column")
    translator = load_translator(args, args.model)
    decode = decode_config(args, translator.config.decode)
    if args.alignments:
        decode = dataclasses.replace(decode, alignment=True)
    window = WINDOW if args.window is None else args.window
    mode = context_mode(args)
    warn = None if mode == "none" else _warn
    blocks = read_blocks(args.input, args.input_format, args.docs, warn)
    progress = Progress("translated", "sentences", enabled=not args.quiet)

    def translate(docs: Iterator[list[str]]) -> Iterator[list[Translation | None]]:
        for doc in translator.translate_stream(docs, mode, decode, window):
            progress.add(len(doc))
            yield [*doc]

    aligned: Iterator[list[Translation | None]] = translate_blocks(blocks, translate, None)
    with args.alignments.open("w", encoding="utf-8") if args.alignments else contextlib.nullcontext() as links:

        def lines() -> Iterator[list[str]]:
            for block in aligned:
                if links is not None:  # alignments first: a reader of both never waits on this file
                    links.write("".join(_links(x) + "\n" for x in block))
                    links.flush()
                yield [_format(x, decode.n_best) if x is not None else "" for x in block]

        try:
            write_blocks(lines(), args.output)
        except BrokenPipeError:  # the reader has gone (`| head`): stop translating, without a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit must not fail too
            return 1
        finally:
            progress.close()
    return 0


def _links(x: Translation | None) -> str:
    return " ".join(f"{i}-{j}" for i, j in x.alignment) if x is not None else ""


def _format(x: Translation, n_best: int) -> str:
    """One output line: the translation (never empty: a space keeps the line visible), or the n best with scores."""
    if n_best > 1:
        return "\t".join(f"{t} ||| {s:.4f}" for t, s in [(x.text, x.score), *x.alternatives])
    return x.text or " "


def _warn(message: str) -> None:
    print(f"nmt translate: {message}", file=sys.stderr)


class Progress:
    """A progress line on stderr, rewritten in place at most twice a second; silent when stderr is not a
    terminal (a pipe or a log file gets no control characters) or when disabled."""

    def __init__(self, verb: str, unit: str, enabled: bool = True) -> None:
        self.verb, self.unit = verb, unit
        self.enabled = enabled and sys.stderr.isatty()
        self.count, self.start, self.shown = 0, time.monotonic(), 0.0

    def add(self, n: int) -> None:
        self.count += n
        now = time.monotonic()
        if self.enabled and now - self.shown >= 0.5:
            self.shown = now
            rate = self.count / max(1e-9, now - self.start)
            print(f"\r{self.verb} {self.count:,} {self.unit} ({rate:,.1f}/s)", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.shown:
            self.add(0)
            print(file=sys.stderr, flush=True)


def _add_average(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "average",
        help="average the weights of checkpoints of one run into one loadable checkpoint",
        description="Average checkpoints (fairseq's average_checkpoints.py, OpenNMT-py's average_models): "
        "the named ones, or the last N a run kept (train with --set train.keep_checkpoints=N).",
    )
    p.add_argument("checkpoints", nargs="*", type=Path, help="checkpoint files to average")
    p.add_argument("--run", type=Path, help="a run directory: average its kept step checkpoints (RUN/steps/)")
    p.add_argument("--last", type=int, default=0, help="with --run: only the newest N (0: all it kept)")
    p.add_argument("--output", "-o", type=Path, required=True, help="the averaged checkpoint to write")
    p.set_defaults(func=_average)


def _average(args: argparse.Namespace) -> int:
    from translator import checkpoint

    paths = list(args.checkpoints)
    if args.run is not None:
        kept = checkpoint.step_checkpoints(args.run)
        if not kept:
            raise ValueError(f"{args.run / checkpoint.STEPS}: no step checkpoints (see train.keep_checkpoints)")
        paths += kept[-args.last :] if args.last > 0 else kept
    if len(paths) < 2:
        raise UsageError("nmt average: give at least two checkpoints (files, or --run RUN)")
    averaged = checkpoint.average([checkpoint.load(p) for p in paths])
    checkpoint.save(averaged, args.output)
    print(json.dumps({"output": str(args.output), "step": averaged.step, "averaged": [str(p) for p in paths]}))
    return 0
