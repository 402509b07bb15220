"""`nmt prepare`, `nmt train`, `nmt binarize`, `nmt shortlist`, and the torchrun glue (`python -m training`).

The training package's commands, assembled into `nmt` by nmt/cli.py. Corpus
builders and the trainer are imported when a command runs, so building the
parser loads neither.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
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
        choices=list(CORPORA),
        help="; ".join(f"{name}: {help}" for name, (help, _) in CORPORA.items()),
    )
    p.add_argument("--out", required=True, type=Path, help="output directory for {train,dev,test}.{en,es,doc}")
    p.add_argument("--no-install", action="store_true", help="bible: never apt-get install missing SWORD modules")
    p.add_argument("--docs", type=int, default=20_000, help="synthetic-pronouns/-stories: training documents")
    p.add_argument("--seed", type=int, default=1, help="synthetic-pronouns/-stories: random seed")
    p.add_argument("--data", type=Path, help="bible-* and mix: the corpus directory to start from (default: --out)")
    p.add_argument("--also", type=Path, action="append", default=[], help="mix: another corpus directory")
    p.add_argument("--antecedents", type=Path, help="bible-balanced: TSV doc_id, verse, Spanish antecedent (by hand)")
    p.add_argument("--factor", type=int, default=6, help="bible-targeted: copies of each window")
    p.add_argument(
        "--select",
        choices=["hard", "feminine", "all", "twins"],
        default="hard",
        help="bible-targeted: item kinds, or twins (counterfactual twin pairs)",
    )
    p.set_defaults(func=_prepare)


def _prepare(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    _, build = CORPORA[args.corpus]
    print(json.dumps({"out": str(args.out), **build(args)}))
    return 0


def _contrastive_sets(data: Path, out: Path) -> dict[str, object]:
    from corpora.contrapro import build_contrastive_set

    return {
        f"{s}.contrastive.jsonl": build_contrastive_set(data, s, out / f"{s}.contrastive.jsonl")
        for s in ("dev", "test")
    }


def _bible(args: argparse.Namespace) -> dict[str, object]:
    from corpora.bible import build_bible_corpus

    return {**build_bible_corpus(args.out, install=not args.no_install), **_contrastive_sets(args.out, args.out)}


def _clauses(args: argparse.Namespace) -> dict[str, object]:
    from corpora.clauses import build_clause_corpus

    return {**build_clause_corpus(_data(args), args.out), **_contrastive_sets(args.out, args.out)}


def _balanced(args: argparse.Namespace) -> dict[str, object]:
    from corpora.balanced import build_balanced_set

    return dict(build_balanced_set(args.data or args.out, out=args.out, antecedents=args.antecedents))


def _targeted(args: argparse.Namespace) -> dict[str, object]:
    from corpora.targeted import build_targeted_corpus

    return dict(build_targeted_corpus(args.data or args.out, args.out, args.factor, args.select))


def _synthetic(args: argparse.Namespace) -> dict[str, object]:
    from corpora.synthetic import build_synthetic_corpus

    return dict(build_synthetic_corpus(args.out, args.docs, args.seed))


def _stories(args: argparse.Namespace) -> dict[str, object]:
    from corpora.stories import build_story_corpus

    return dict(build_story_corpus(args.out, args.docs, args.seed))


def _mix(args: argparse.Namespace) -> dict[str, object]:
    from corpora.mix import build_mix

    if not args.also:
        raise ValueError("nmt prepare mix: needs at least one --also (a corpus to add to --data's)")
    return dict(build_mix(_data(args), args.also, args.out))


def _data(args: argparse.Namespace) -> Path:
    if args.data is None:
        raise ValueError(f"nmt prepare {args.corpus}: needs --data, the corpus to start from")
    return Path(args.data)


# name -> (what it builds, the builder): `nmt prepare NAME` prints the builder's counts as JSON
CORPORA: dict[str, tuple[str, Callable[[argparse.Namespace], dict[str, object]]]] = {
    "bible": ("WEB -> Reina-Valera 1909 from Debian's SWORD modules (with the contrastive sets)", _bible),
    "bible-contrastive": (
        "only mine {dev,test}.contrastive.jsonl from the corpus in --data",
        lambda args: _contrastive_sets(args.data or args.out, args.out),
    ),
    "bible-balanced": (
        "{dev,test}.balanced.jsonl, twin items whose contexts differ in the antecedent's gender",
        _balanced,
    ),
    "bible-clauses": (
        "the corpus in --data with verses split into aligned clauses (and its contrastive sets)",
        _clauses,
    ),
    "bible-targeted": ("--data's train split plus its context-dependent pronoun windows x --factor", _targeted),
    "synthetic-pronouns": (
        "documents whose last sentence's Spanish gender depends only on an earlier noun (+ test.contrastive.jsonl)",
        _synthetic,
    ),
    "synthetic-stories": ("the same rule in varied short stories (50 nouns, people in between, many verbs)", _stories),
    "mix": ("--data's train split plus each --also's (dev/test: --data's)", _mix),
}


# ---------------------------------------------------------------- train


def _add_train(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train a model (or resume one)")
    add_train_arguments(p)
    p.add_argument("--nproc", type=int, default=1, help="processes for distributed data-parallel training (torchrun)")
    p.set_defaults(func=_train)


def add_corpus_arguments(p: argparse.ArgumentParser) -> None:
    """The config and the training corpus: all `nmt binarize` needs, and where `nmt train`'s flags begin."""
    p.add_argument("--config", type=Path, help="YAML config (sections model/data/train/decode)")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="e.g. train.lr=1e-3"
    )
    p.add_argument("--train", help="training corpus: PREFIX (PREFIX.src/.tgt[/.doc]) or a .tsv[.gz]")
    p.add_argument("--src", help="source language suffix (default en)")
    p.add_argument("--tgt", help="target language suffix (default es)")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by `nmt train` and `python -m training` (what torchrun runs)."""
    add_corpus_arguments(p)
    p.add_argument("--dev", help="dev corpus, same forms")
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


def train_config(args: argparse.Namespace) -> tuple[Config, object | None]:
    """The config to train with, and the checkpoint to resume from (if --resume found one)."""
    from translator import checkpoint

    flags = {
        "data.dev": args.dev,
        "train.out_dir": args.out,
        "model.context": args.context,
        "train.max_minutes": args.max_minutes,
        "train.max_steps": args.max_steps,
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
    add_corpus_arguments(p)
    p.add_argument("--store", required=True, type=Path, help="the store directory to write (then: --train STORE)")
    p.add_argument("--workers", type=int, default=0, help="tokenizing processes (0: one per core)")
    p.set_defaults(func=_binarize)


def _binarize(args: argparse.Namespace) -> int:
    from training.store import binarize, read_meta

    meta = read_meta(binarize(corpus_config(args), args.store, args.workers))
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
