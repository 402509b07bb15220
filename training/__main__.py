"""`python -m training [train flags]`: the entry torchrun runs in every process.

torchrun --nproc-per-node 2 -m training --train data/bible/train --dev data/bible/dev --out runs/ddp
"""

import argparse
import logging
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


sys.exit(main())
