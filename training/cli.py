"""`nmt prepare`, `nmt train`, `nmt binarize`, `nmt shortlist`, and the torchrun glue (`python -m training`).

The training package's commands, assembled into `nmt` by nmt/cli.py. Corpus
builders and the trainer are imported when a command runs, so building the
parser loads neither.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from translator.config import Config, ConfigError

log = logging.getLogger("nmt")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `prepare`, `train`, `binarize` and `shortlist` on the `nmt` parser."""
    _add_prepare(sub)
    _add_train(sub)
    _add_binarize(sub)
    _add_shortlist(sub)


# ---------------------------------------------------------------- prepare


def _add_prepare(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("prepare", help="build a corpus")
    p.add_argument(
        "corpus",
        choices=["bible", "bible-contrastive", "bible-balanced", "bible-clauses", "synthetic-pronouns"],
        help="bible: WEB -> Reina-Valera 1909 from Debian's SWORD modules (with the contrastive sets); "
        "bible-contrastive: only mine {dev,test}.contrastive.jsonl from the corpus in --data; "
        "bible-balanced: {dev,test}.balanced.jsonl, twin items whose contexts differ in the antecedent's gender; "
        "bible-clauses: the corpus in --data with verses split into aligned clauses (and its contrastive sets); "
        "synthetic-pronouns: documents whose last sentence's Spanish gender depends only on an earlier noun "
        "(plus test.contrastive.jsonl)",
    )
    p.add_argument("--out", required=True, type=Path, help="output directory for {train,dev,test}.{en,es,doc}")
    p.add_argument("--no-install", action="store_true", help="bible: never apt-get install missing SWORD modules")
    p.add_argument("--docs", type=int, default=20_000, help="synthetic-pronouns: training documents")
    p.add_argument("--seed", type=int, default=1, help="synthetic-pronouns: random seed")
    p.add_argument("--data", type=Path, help="bible-*: the corpus directory (default: --out)")
    p.add_argument("--antecedents", type=Path, help="bible-balanced: TSV doc_id, verse, Spanish antecedent (by hand)")
    p.set_defaults(func=_prepare)


def _prepare(args: argparse.Namespace) -> int:
    from corpora.contrapro import build_contrastive_set

    counts: dict[str, object] = {}
    if args.corpus == "synthetic-pronouns":
        from corpora.synthetic import build_synthetic_corpus

        counts.update(build_synthetic_corpus(args.out, args.docs, args.seed))
    elif args.corpus == "bible":
        from corpora.bible import build_bible_corpus

        counts.update(build_bible_corpus(args.out, install=not args.no_install))
    elif args.corpus == "bible-clauses":
        from corpora.clauses import build_clause_corpus

        if args.data is None:
            raise ValueError("bible-clauses needs --data, the verse corpus to split")
        counts.update(build_clause_corpus(args.data, args.out))
        args.data = args.out  # the contrastive sets below come from the split corpus
    if args.corpus == "bible-balanced":
        from corpora.balanced import build_balanced_set

        args.out.mkdir(parents=True, exist_ok=True)
        counts.update(build_balanced_set(args.data or args.out, out=args.out, antecedents=args.antecedents))
    elif args.corpus.startswith("bible"):
        args.out.mkdir(parents=True, exist_ok=True)
        for split in ("dev", "test"):
            out = args.out / f"{split}.contrastive.jsonl"
            counts[out.name] = build_contrastive_set(args.data or args.out, split, out)
    print(json.dumps({"out": str(args.out), **counts}))
    return 0


# ---------------------------------------------------------------- train


def _add_train(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train a model (or resume one)")
    add_train_arguments(p)
    p.add_argument("--nproc", type=int, default=1, help="processes for distributed data-parallel training (torchrun)")
    p.set_defaults(func=_train)


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by `nmt train` and `python -m training` (what torchrun runs)."""
    p.add_argument("--config", type=Path, help="YAML config (sections model/data/train/decode)")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="e.g. train.lr=1e-3"
    )
    p.add_argument("--train", help="training corpus: PREFIX (PREFIX.src/.tgt[/.doc]) or a .tsv[.gz]")
    p.add_argument("--dev", help="dev corpus, same forms")
    p.add_argument("--src", help="source language suffix (default en)")
    p.add_argument("--tgt", help="target language suffix (default es)")
    p.add_argument("--out", help="run directory (checkpoints, metrics, logs)")
    p.add_argument(
        "--context",
        choices=["carry", "attend", "none"],
        help="the training mode (model.context; not the inference reset of translate/evaluate --context): "
        "carry hidden state across sentences; attend: also attend to earlier sentences' tokens; none: neither",
    )
    p.add_argument("--max-minutes", type=float, help="wall-clock training budget")
    p.add_argument("--max-steps", type=int, help="step budget")
    p.add_argument(
        "--resume", action="store_true", help="continue from RUN_DIR/last.pt (its saved config + these flags)"
    )


def train_config(args: argparse.Namespace) -> tuple[Config, object | None]:
    """The config to train with, and the checkpoint to resume from (if --resume found one)."""
    from translator import checkpoint

    flags = {
        "data.train": args.train,
        "data.dev": args.dev,
        "data.src_lang": args.src,
        "data.tgt_lang": args.tgt,
        "train.out_dir": args.out,
        "model.context": args.context,
        "train.max_minutes": args.max_minutes,
        "train.max_steps": args.max_steps,
    }
    overrides = [*(f"{k}={v}" for k, v in flags.items() if v is not None), *args.overrides]
    base = Config.from_yaml(args.config) if args.config else Config()
    out_dir = Path(args.out or base.override(args.overrides).train.out_dir)
    if args.resume and (out_dir / checkpoint.LAST).is_file():
        ckpt = checkpoint.load(out_dir, prefer=checkpoint.LAST)
        return ckpt.config.override(overrides), ckpt
    if args.resume:
        log.warning("--resume: no %s in %s, starting a new run", checkpoint.LAST, out_dir)
    cfg = base.override(overrides)
    if not cfg.data.train:
        raise ConfigError("no training data: give --train PREFIX or data.train in the config")
    return cfg, None


def _train(args: argparse.Namespace) -> int:
    if args.nproc > 1:
        from training.distributed import relaunch_with_torchrun

        train_args = args.argv[args.argv.index("train") + 1 :]
        return relaunch_with_torchrun(args.nproc, _drop_nproc(train_args))
    from training.trainer import train

    cfg, resume = train_config(args)
    out = train(cfg, resume)  # type: ignore[arg-type]
    print(f"run directory: {out}")
    return 0


def _drop_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


# ---------------------------------------------------------------- binarize


def _add_binarize(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("binarize", help="tokenize a training corpus once into a memory-mapped store for `nmt train`")
    add_train_arguments(p)
    p.add_argument("--store", required=True, type=Path, help="the store directory to write (then: --train STORE)")
    p.add_argument("--workers", type=int, default=0, help="tokenizing processes (0: one per core)")
    p.set_defaults(func=_binarize)


def _binarize(args: argparse.Namespace) -> int:
    from training.store import binarize, read_meta

    cfg, _ = train_config(args)
    meta = read_meta(binarize(cfg, args.store, args.workers))
    print(json.dumps({k: meta[k] for k in ("n_docs", "n_pairs", "n_src_tokens", "n_tgt_tokens", "fingerprint")}))
    return 0


# ---------------------------------------------------------------- shortlist


def _add_shortlist(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "shortlist", help="(re)build a checkpoint's vocabulary shortlist (training writes one; older models lack it)"
    )
    p.add_argument("--model", required=True, type=Path, help="checkpoint file, or run directory (best.pt and last.pt)")
    p.add_argument("--data", required=True, help="the training corpus: PREFIX, .tsv[.gz] or a binarized store")
    p.add_argument("--frequent", type=int, default=100, help="most frequent target pieces, always in")
    p.add_argument("--per-source", type=int, default=20, help="target pieces per source piece")
    p.set_defaults(func=_shortlist)


def _shortlist(args: argparse.Namespace) -> int:
    from training.store import corpus_shortlist
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
