"""`nmt train`, `nmt binarize`, `nmt shortlist`, and the torchrun glue (`python -m training`).

The training package's commands, assembled into `nmt` by nmt/cli.py (`nmt prepare`,
which builds corpora, is corpora/cli.py's). The trainer and the store are imported when
a command runs, so building the parser loads neither.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from translator.config import Config, ConfigError

log = logging.getLogger("nmt")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `train`, `binarize` and `shortlist` on the `nmt` parser."""
    _add_train(sub)
    _add_binarize(sub)
    _add_shortlist(sub)


# ---------------------------------------------------------------- train


def _add_train(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train a model (or resume one)")
    add_train_arguments(p)
    p.add_argument(
        "--nproc", type=int, default=1, help="processes (on this machine) for distributed data-parallel training"
    )
    p.add_argument("--nnodes", type=int, default=1, help="machines in the job; run the same command on each")
    p.add_argument("--rdzv-endpoint", default="", help="with --nnodes > 1: HOST:PORT of the rendezvous (one node's)")
    p.set_defaults(func=_train)


def add_corpus_arguments(p: argparse.ArgumentParser) -> None:
    """The config and the training corpus: all `nmt binarize` needs, and where `nmt train`'s flags begin."""
    p.add_argument("--config", type=Path, help="YAML config (sections model/data/train/decode)")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="e.g. train.lr=1e-3"
    )
    p.add_argument(
        "--train",
        metavar="PREFIX",
        help="training corpus: a file PREFIX (PREFIX.en, PREFIX.es[, PREFIX.doc]: e.g. data/bible-en-es/train), "
        "a .tsv[.gz] file, or a store DIRECTORY written by `nmt binarize`",
    )
    p.add_argument("--src", help="source language suffix (default en)")
    p.add_argument("--tgt", help="target language suffix (default es)")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by `nmt train` and `python -m training` (what torchrun runs)."""
    add_corpus_arguments(p)
    p.add_argument("--dev", metavar="PREFIX", help="dev corpus: a file PREFIX or a .tsv[.gz] file")
    p.add_argument("--out", help="run directory (checkpoints, metrics, logs)")
    p.add_argument(
        "--context",
        choices=["carry", "attend", "target", "none"],
        help="the training mode (model.context; not the inference reset of translate/evaluate --context): "
        "carry hidden state across sentences; attend: also attend to earlier sentences' tokens; "
        "target: carry, and attend to the previous sentence's translation; none: neither",
    )
    p.add_argument("--max-minutes", type=float, help="wall-clock training budget")
    p.add_argument("--max-steps", type=int, help="step budget")
    p.add_argument(
        "--resume", action="store_true", help="continue from RUN_DIR/last.pt (its saved config + these flags)"
    )
    p.add_argument(
        "--init-from",
        help="fine-tune: start from this checkpoint's weights and vocabulary (file or run directory), "
        "with a new optimizer, step count and data (train.init_from)",
    )


def train_config(args: argparse.Namespace) -> tuple[Config, object | None]:
    """The config to train with, and the checkpoint to resume from (if --resume found one)."""
    from translator import checkpoint

    flags = {
        "data.dev": args.dev,
        "train.out_dir": args.out,
        "model.context": args.context,
        "train.max_minutes": args.max_minutes,
        "train.max_steps": args.max_steps,
        "train.init_from": args.init_from,
    }
    overrides = _overrides(args, flags)
    base = Config.from_yaml(args.config) if args.config else Config()
    out_dir = Path(args.out or base.override(args.overrides).train.out_dir)
    if args.resume and (out_dir / checkpoint.LAST).is_file():
        ckpt = checkpoint.load(out_dir, prefer=checkpoint.LAST)
        return ckpt.config.override(overrides), ckpt
    if args.resume:
        log.warning("--resume: no %s in %s, starting a new run", checkpoint.LAST, out_dir)
    return _with_corpus(base.override(overrides)), None


def corpus_config(args: argparse.Namespace) -> Config:
    """The config that `add_corpus_arguments`' flags describe."""
    base = Config.from_yaml(args.config) if args.config else Config()
    return _with_corpus(base.override(_overrides(args, {})))


def _overrides(args: argparse.Namespace, flags: dict[str, object]) -> list[str]:
    """`section.key=value` for the corpus flags and `flags` that were given, then the --set ones (which win)."""
    corpus = {"data.train": args.train, "data.src_lang": args.src, "data.tgt_lang": args.tgt}
    given = {**corpus, **flags}
    return [*(f"{k}={v}" for k, v in given.items() if v is not None), *args.overrides]


def _with_corpus(cfg: Config) -> Config:
    if not cfg.data.train:
        raise ConfigError("no training data: give --train PREFIX or data.train in the config")
    return cfg


def _train(args: argparse.Namespace) -> int:
    if args.nproc > 1 or args.nnodes > 1:
        from training.distributed import relaunch_with_torchrun

        train_args = args.argv[args.argv.index("train") + 1 :]
        return relaunch_with_torchrun(args.nproc, _drop_launch_flags(train_args), args.nnodes, args.rdzv_endpoint)
    from training.trainer import train

    cfg, resume = train_config(args)
    out = train(cfg, resume)  # type: ignore[arg-type]
    print(f"run directory: {out}")
    return 0


def _drop_launch_flags(argv: list[str]) -> list[str]:
    """`nmt train`'s arguments without the flags that only torchrun's launch uses."""
    launch = ("--nproc", "--nnodes", "--rdzv-endpoint")
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in launch:
            skip = True
        elif not a.startswith(tuple(f"{flag}=" for flag in launch)):
            out.append(a)
    return out


# ---------------------------------------------------------------- binarize


def _add_binarize(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("binarize", help="tokenize a training corpus once into a memory-mapped store for `nmt train`")
    add_corpus_arguments(p)
    p.add_argument("--store", required=True, type=Path, help="the store directory to write (then: --train STORE)")
    p.add_argument("--workers", type=int, default=0, help="tokenizing processes (0: one per core)")
    p.set_defaults(func=_binarize)


def _binarize(args: argparse.Namespace) -> int:
    from training.binarize import binarize
    from training.store import read_meta

    meta = read_meta(binarize(corpus_config(args), args.store, args.workers))
    print(json.dumps({k: meta[k] for k in ("n_docs", "n_pairs", "n_src_tokens", "n_tgt_tokens", "fingerprint")}))
    return 0


# ---------------------------------------------------------------- shortlist


def _add_shortlist(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "shortlist", help="(re)build a checkpoint's vocabulary shortlist (training writes one; older models lack it)"
    )
    p.add_argument("--model", required=True, type=Path, help="checkpoint file, or run directory (best.pt and last.pt)")
    p.add_argument(
        "--data",
        required=True,
        metavar="PREFIX",
        help="the training corpus: a file PREFIX (PREFIX.en, PREFIX.es: e.g. data/bible-en-es/train), "
        "a .tsv[.gz] file, or a store DIRECTORY written by `nmt binarize`",
    )
    p.add_argument("--frequent", type=int, default=100, help="most frequent target pieces, always in")
    p.add_argument("--per-source", type=int, default=20, help="target pieces per source piece")
    p.set_defaults(func=_shortlist)


def _shortlist(args: argparse.Namespace) -> int:
    from training.binarize import corpus_shortlist
    from translator import checkpoint

    model: Path = args.model
    files = [model / name for name in (checkpoint.BEST, checkpoint.LAST) if (model / name).is_file()]
    for file in files if model.is_dir() else [checkpoint.resolve(model)]:
        ckpt = checkpoint.load(file)
        cfg = ckpt.config.override([f"data.train={args.data}"])  # as the trainer reads it: the same store code
        shortlist = corpus_shortlist(cfg, ckpt.spm_model, args.frequent, args.per_source)
        ckpt.shortlist = shortlist.to_tensors()
        checkpoint.save(ckpt, file)
        print(f"{file}: shortlist of {len(shortlist.frequent)} frequent + {args.per_source} per source piece")
    return 0
