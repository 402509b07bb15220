"""`nmt`: prepare, train, translate, evaluate, score, serve, client.

Each subcommand is a small function that parses its flags into library calls.
Training-side commands import `training` lazily, so translating needs
nothing from the training package at import time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from translator.config import Config, ConfigError, DecodeConfig

if TYPE_CHECKING:
    from translator.corpus import Document
    from translator.report import SystemResult

log = logging.getLogger("nmt")


def main(argv: Sequence[str] | None = None) -> int:
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
    except (ConfigError, ValueError, FileNotFoundError, RuntimeError) as e:
        # Library errors already say what and where (file:line); no traceback for user mistakes.
        print(f"nmt {args.command}: error: {e}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nmt", description="Document-context LSTM translator.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_prepare(sub)
    _add_train(sub)
    _add_binarize(sub)
    _add_translate(sub)
    _add_shortlist(sub)
    _add_evaluate(sub)
    _add_score(sub)
    _add_compare(sub)
    from server.cli import add_client, add_serve  # flags only: grpc is imported when they run

    add_serve(sub)
    add_client(sub)
    return parser


# ---------------------------------------------------------------- prepare


def _add_prepare(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("prepare", help="build a corpus")
    p.add_argument(
        "corpus",
        choices=["bible", "bible-contrastive", "synthetic-pronouns"],
        help="bible: WEB -> Reina-Valera 1909 from Debian's SWORD modules (with the contrastive sets); "
        "bible-contrastive: only mine {dev,test}.contrastive.jsonl from the corpus in --data; "
        "synthetic-pronouns: documents whose last sentence's Spanish gender depends only on an earlier noun "
        "(plus test.contrastive.jsonl)",
    )
    p.add_argument("--out", required=True, type=Path, help="output directory for {train,dev,test}.{en,es,doc}")
    p.add_argument("--no-install", action="store_true", help="bible: never apt-get install missing SWORD modules")
    p.add_argument("--docs", type=int, default=20_000, help="synthetic-pronouns: training documents")
    p.add_argument("--seed", type=int, default=1, help="synthetic-pronouns: random seed")
    p.add_argument("--data", type=Path, help="bible-contrastive: the corpus directory (default: --out)")
    p.set_defaults(func=_prepare)


def _prepare(args: argparse.Namespace) -> int:
    from training.contrapro import build_contrastive_set

    counts: dict[str, object] = {}
    if args.corpus == "synthetic-pronouns":
        from training.synthetic import build_synthetic_corpus

        counts.update(build_synthetic_corpus(args.out, args.docs, args.seed))
    elif args.corpus == "bible":
        from training.bible import build_bible_corpus

        counts.update(build_bible_corpus(args.out, install=not args.no_install))
    if args.corpus.startswith("bible"):
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
        help="carry hidden state across sentences; attend: also attend to earlier sentences' tokens; none: neither",
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


# ---------------------------------------------------------------- translate / evaluate / score


def _add_model_arguments(p: argparse.ArgumentParser, many: bool = False) -> None:
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
        help="carry: the document context the model was trained with (default); none: reset it at every sentence",
    )
    p.add_argument("--beam", type=int, help="beam size (1 = greedy); default from the model's config")
    p.add_argument("--batch-size", type=int, help="documents decoded in parallel")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    p.add_argument("--int8", action="store_true", help="int8 dynamic quantization (CPU): faster, a little less exact")
    p.add_argument(
        "--shortlist", action="store_true", help="score only the batch's vocabulary shortlist: faster decoding"
    )


def _decode_config(args: argparse.Namespace, base: DecodeConfig) -> DecodeConfig:
    changes = {
        "beam_size": args.beam,
        "batch_size": args.batch_size,
        "n_best": getattr(args, "n_best", None),
        "shortlist": True if getattr(args, "shortlist", False) else None,
    }
    return dataclasses.replace(base, **{k: v for k, v in changes.items() if v is not None})


def _add_translate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("translate", help="translate text: one sentence per line, blank line = new document")
    _add_model_arguments(p)
    p.add_argument("--input", "-i", type=Path, help="input file (default stdin)")
    p.add_argument("--output", "-o", type=Path, help="output file (default stdout)")
    p.add_argument("--n-best", type=int, help="print the n best, tab-separated with scores")
    p.set_defaults(func=_translate)


def _translate(args: argparse.Namespace) -> int:
    from translator.inference import Translator

    translator = Translator.load(args.model, int8=args.int8)
    docs = read_documents(args.input)
    decode = _decode_config(args, translator.config.decode)
    out = translator.translate_documents(docs, context=args.context, decode=decode)
    if decode.n_best > 1:
        lines = [
            ["\t".join(f"{t} ||| {s:.4f}" for t, s in [(x.text, x.score), *x.alternatives]) for x in doc] for doc in out
        ]
    else:
        lines = [[x.text for x in doc] for doc in out]
    write_documents(lines, args.output)
    return 0


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


def read_documents(path: Path | None) -> list[list[str]]:
    """Documents from a text file (stdin if None): one sentence per line, blank line = new document."""
    from translator.corpus import read_documents_text

    text = path.read_text(encoding="utf-8") if path else sys.stdin.read()
    return read_documents_text(text.splitlines())


def write_documents(docs: list[list[str]], path: Path | None) -> None:
    """The inverse of `read_documents`, to a file or stdout."""
    from translator.corpus import format_documents_text

    # An empty translation would read back as a document break: write a space instead.
    result = format_documents_text([[line or " " for line in doc] for doc in docs])
    if path:
        path.write_text(result, encoding="utf-8")
    else:
        sys.stdout.write(result)


def _add_evaluate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "evaluate",
        help="translate test corpora in document mode, score them with sacrebleu, compare systems, write a report",
    )
    _add_model_arguments(p, many=True)
    p.add_argument("--data", required=True, help="test corpus: PREFIX or .tsv[.gz]")
    p.add_argument("--dev", help="also evaluate this corpus (reported as split 'dev'; --data's is its file name)")
    p.add_argument("--src", default=None, help="source suffix (default: the model's)")
    p.add_argument("--tgt", default=None, help="target suffix (default: the model's)")
    p.add_argument("--output", "-o", type=Path, help="one model: write its test hypotheses here, one per line")
    p.add_argument("--contrastive", type=Path, action="append", default=[], help="contrastive JSONL set (repeatable)")
    p.add_argument("--report", type=Path, help="write report.md, results.json and PNG plots into this directory")
    p.add_argument("--test", choices=["bs", "ar", "both"], default="bs", help="paired test against the first model")
    p.add_argument("--samples", type=int, default=0, help="resamples (0: sacrebleu's default)")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from translator.corpus import read_corpus
    from translator.inference import Translator
    from translator.report import compare_with_baseline, evaluate_system, write_report
    from translator.scoring import load_contrastive

    if args.output and len(args.model) > 1:
        raise SystemExit("nmt evaluate: --output takes one --model (the report holds every system's scores)")
    contrastive = {path.name.removesuffix(".jsonl"): load_contrastive(path) for path in args.contrastive}
    systems: list[SystemResult] = []
    label = Path(args.data).name.split(".")[0] or "test"  # "test" for data/bible-en-es/test
    splits: dict[str, list[Document]] = {}  # read once, in the first model's languages: one reference for all
    for model in args.model:
        translator = Translator.load(model, int8=args.int8)
        if not splits:
            data_cfg = translator.config.data
            src, tgt = args.src or data_cfg.src_lang, args.tgt or data_cfg.tgt_lang
            splits[label] = read_corpus(args.data, src, tgt)
            if args.dev:
                splits["dev"] = read_corpus(args.dev, src, tgt)
        decode = _decode_config(args, translator.config.decode)
        name = _system_name(model, [s.name for s in systems])
        result = evaluate_system(translator, name, model, splits, contrastive, args.context, decode)
        systems.append(result)
        _print_system(result, decode.beam_size, args.int8)
    if args.output:
        args.output.write_text("\n".join(systems[0].hypotheses[label]) + "\n", encoding="utf-8")
    refs = {split: [t for d in docs for t in d.targets] for split, docs in splits.items()}
    tests = ("bs", "ar") if args.test == "both" else (args.test,)
    comparisons = compare_with_baseline(systems, refs, tests, args.samples) if len(systems) > 1 else []
    for c in comparisons:
        print(f"{c.split} {c.system} vs {c.baseline}: {c.result}")
    if args.report:
        print(f"report: {write_report(args.report, systems, comparisons)}")
    return 0


def _system_name(model: str, taken: list[str]) -> str:
    """A short unique label: the run directory's name (or the checkpoint's)."""
    path = Path(model)
    name = path.name if path.is_dir() else f"{path.parent.name}/{path.stem}"
    return name if name not in taken else f"{name}#{len(taken) + 1}"


def _print_system(result: SystemResult, beam: int, int8: bool) -> None:
    """Scores with signatures, then one JSON line per split (what scripts parse)."""
    for split, scores in result.scores.items():
        n, seconds = len(result.hypotheses[split]), result.seconds[split]
        for score in scores.values():
            print(f"{result.name} {split}: {score}")
        summary: dict[str, object] = {"system": result.name, "split": split}
        summary |= {k: round(v.score, 2) for k, v in scores.items()}
        summary |= {"n": n, "seconds": round(seconds, 2), "sentences_per_second": round(n / seconds, 2)}
        summary |= {"context": result.context, "beam": beam, "int8": int8}
        summary |= {f"{k}_signature": v.signature for k, v in scores.items()}
        print(json.dumps(summary))
    for set_name, report in result.contrastive.items():
        print(f"{result.name} contrastive {set_name}: accuracy {report['accuracy']:.4f} on {report['n']} items")
        print(json.dumps({"system": result.name, "contrastive": set_name, **report}))


def _add_compare(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compare",
        help="paired significance of two systems' outputs on the same test set (BLEU, chrF, TER)",
        description="Paired bootstrap resampling (p-values, 95%% confidence intervals) or approximate "
        "randomisation, through sacrebleu. Files: one detokenised sentence per line, aligned.",
    )
    p.add_argument("--refs", required=True, type=Path, help="reference translations")
    p.add_argument("--baseline", required=True, type=Path, help="the baseline system's output")
    p.add_argument("--system", required=True, type=Path, help="the system to compare with it")
    p.add_argument("--test", choices=["bs", "ar", "both"], default="both", help="bs: bootstrap; ar: randomisation")
    p.add_argument("--samples", type=int, default=0, help="resamples (0: sacrebleu's default, 1000 bs / 10000 ar)")
    p.set_defaults(func=_compare)


def _compare(args: argparse.Namespace) -> int:
    from translator.metrics import paired_significance

    def lines(path: Path) -> list[str]:
        return path.read_text(encoding="utf-8").splitlines()

    refs, base, system = lines(args.refs), lines(args.baseline), lines(args.system)
    summary = []
    for test in ("bs", "ar") if args.test == "both" else (args.test,):
        for result in paired_significance(base, system, refs, test, args.samples):
            print(result)
            summary.append(dataclasses.asdict(result))
    print(json.dumps(summary))
    return 0


def _add_score(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("score", help="contrastive accuracy: is the reference scored above its variants?")
    _add_model_arguments(p)
    p.add_argument(
        "--contrastive", required=True, type=Path, help="JSONL: context_src, context_tgt, src, ref, contrastive"
    )
    p.set_defaults(func=_score)


def _score(args: argparse.Namespace) -> int:
    from translator.inference import Translator
    from translator.scoring import load_contrastive, score_contrastive

    translator = Translator.load(args.model, int8=args.int8)
    report = score_contrastive(translator, load_contrastive(args.contrastive), args.context).to_dict()
    print(f"accuracy {report['accuracy']:.4f} on {report['n']} items")
    for name in ("by_distance", "by_kind"):
        for key, row in report[name].items():
            print(f"  {name[3:]}={key}: {row['accuracy']:.4f} ({row['n']})")
    print(json.dumps(report))
    return 0
