"""`python -m training [train flags]`: the entry torchrun runs in every process.

torchrun --nproc-per-node 2 -m training --train data/bible/train --dev data/bible/dev --out runs/ddp
"""

import argparse
import logging
import os
import sys

from training.cli import add_train_arguments, train_config
from training.trainer import train


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description="Train (one process of a torchrun job).")
    add_train_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg, resume = train_config(args)
    train(cfg, resume)  # type: ignore[arg-type]
    return 0


def _exit_now(code: int) -> None:
    """Leave without the interpreter's finalization once a torchrun process has finished its work.

    The run is complete and saved, and the process group is destroyed, yet gloo's worker threads
    can still hold tensors; destroying those while Python shuts down aborts the process now and
    then ("terminate called without an active exception", pytorch/pytorch#179291), and torchrun
    then reports the whole job failed. Flushing and `os._exit` skips that phase.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


_exit_now(main())
