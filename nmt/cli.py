"""`nmt`: prepare, train, binarize, shortlist, translate, evaluate, score, compare, cxmi, probe, serve, client.

Only assembly: each package registers its own subcommands (`add_commands`),
and each subcommand imports its work when it runs, so `nmt client health`
loads neither torch nor the trainer.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from corpora import cli as corpora_cli
from evaluation import cli as evaluation_cli
from server import cli as server_cli
from training import cli as training_cli
from translator import commands as translator_commands
from translator.config import ConfigError, UsageError

USAGE, FAILURE = 2, 1  # exit statuses: the command was asked wrongly; it was asked rightly and could not be done


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand. Errors are one line on stderr, not a traceback (`--debug` shows it):
    exit status 2 for a usage mistake (argparse's flags, a config key or value), 1 for a failure at
    run time (a missing or malformed file, a checkpoint that cannot be read)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # `train --nproc N` re-runs these arguments under torchrun
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if getattr(args, "threads", 0):
        import torch

        torch.set_num_threads(args.threads)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, ValueError, OSError, RuntimeError) as e:
        if args.debug:
            raise
        # Library errors already say what and where (file:line).
        print(f"nmt {args.command}: error: {e}", file=sys.stderr)
        return USAGE if isinstance(e, ConfigError | UsageError) else FAILURE
    except KeyboardInterrupt:
        return 130  # the shell's code for SIGINT, without a traceback


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every package's subcommands under one `nmt` parser."""
    parser = argparse.ArgumentParser(prog="nmt", description="Document-context LSTM translator.")
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback (nmt --debug COMMAND)")
    sub = parser.add_subparsers(dest="command", required=True)
    for package in (corpora_cli, training_cli, translator_commands, evaluation_cli, server_cli):
        package.add_commands(sub)
    return parser
