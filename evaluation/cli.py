"""`nmt evaluate`, `score`, `probe`, `compare` and `cxmi`: flags here, work in the evaluation modules.

The evaluation package's commands, assembled into `nmt` by nmt/cli.py; the
work (`evaluation.cxmi`, and the report, scoring and metrics code) is imported
when a command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

from translator.commands import (
    Progress,
    add_model_arguments,
    add_sentence_level,
    context_mode,
    decode_config,
    load_translator,
)

if TYPE_CHECKING:
    from evaluation.report import SystemResult
    from translator.corpus import Document


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `evaluate`, `score`, `probe`, `compare` and `cxmi` on the `nmt` parser."""
    _add_evaluate(sub)
    _add_score(sub)
    _add_probe(sub)
    _add_compare(sub)
    add_cxmi(sub)


def add_cxmi(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "cxmi",
        help="how much the document context raises the reference's probability (CXMI, with 95%% intervals)",
        description="Force each document's references through the model in order and compare every token's "
        "log-probability with its true context against two controls: the reset context (as --sentence-level) and "
        "a random other document's context after as many sentences. Prints a table, then one JSON line.",
    )
    p.add_argument("--model", required=True, help="checkpoint file or run directory (its best checkpoint)")
    p.add_argument(
        "--data",
        required=True,
        metavar="PREFIX",
        help="corpus with references: a file PREFIX, not a directory (PREFIX.en, PREFIX.es, PREFIX.doc: "
        "e.g. data/bible-en-es/test), or a .tsv[.gz] file",
    )
    p.add_argument("--src", help="source suffix (default: the model's)")
    p.add_argument("--tgt", help="target suffix (default: the model's)")
    p.add_argument("--max-docs", type=int, default=0, help="only the first N documents (0: all)")
    p.add_argument("--batch-size", type=int, help="documents forced in parallel")
    p.add_argument("--samples", type=int, default=1000, help="bootstrap resamples for the 95%% intervals")
    p.add_argument("--seed", type=int, default=1, help="seeds the random-context pairing and the bootstrap")
    p.add_argument("--top", type=int, default=20, help="pieces listed by P-CXMI")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    p.set_defaults(func=cxmi)


def cxmi(args: argparse.Namespace) -> int:
    from evaluation.cxmi import format_table, measure
    from translator.corpus import read_corpus
    from translator.inference import Translator

    translator = Translator.load(args.model)
    data = translator.config.data
    docs = read_corpus(args.data, args.src or data.src_lang, args.tgt or data.tgt_lang)
    if args.max_docs:
        docs = docs[: args.max_docs]
    progress = Progress("forced", "sentences (two passes)", enabled=not args.json)
    try:
        summary = measure(translator, docs, args.samples, args.seed, args.top, args.batch_size, progress.add)
    finally:
        progress.close()
    result = {
        "model": str(args.model),
        "step": translator.step,
        "context": translator.trained_context,
        "data": str(Path(args.data)),
        "documents": len(docs),
        **summary,
    }
    if not args.json:
        header = (
            f"CXMI (nats per reference token) of {args.model} (context {translator.trained_context}, "
            f"step {translator.step}) on {args.data}: {len(docs)} documents, {summary['sentences']} sentences"
        )
        print(format_table(summary, header))
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _add_evaluate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "evaluate",
        help="translate test corpora in document mode, score them with sacrebleu, compare systems, write a report",
    )
    add_model_arguments(p, many=True)
    p.add_argument(
        "--data",
        required=True,
        metavar="PREFIX",
        help="test corpus: a file PREFIX, not a directory (PREFIX.en, PREFIX.es, PREFIX.doc: "
        "e.g. data/bible-en-es/test), or a .tsv[.gz] file",
    )
    p.add_argument(
        "--dev",
        metavar="PREFIX",
        help="also evaluate this corpus, a PREFIX or .tsv[.gz] as --data (reported as split 'dev'; "
        "--data's as its file name)",
    )
    p.add_argument("--src", default=None, help="source suffix (default: the model's)")
    p.add_argument("--tgt", default=None, help="target suffix (default: the model's)")
    p.add_argument("--output", "-o", type=Path, help="one model: write its test hypotheses here, one per line")
    p.add_argument("--contrastive", type=Path, action="append", default=[], help="contrastive JSONL set (repeatable)")
    p.add_argument("--report", type=Path, help="write report.md, results.json and PNG plots into this directory")
    p.add_argument("--test", choices=["bs", "ar", "both"], default="bs", help="paired test against the first model")
    p.add_argument("--samples", type=int, default=0, help="resamples (0: sacrebleu's default)")
    p.add_argument("--cxmi", action="store_true", help="also measure CXMI on --data (table and plot in --report)")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from evaluation.report import compare_with_baseline, evaluate_system, write_report
    from evaluation.scoring import load_contrastive
    from translator.corpus import read_corpus

    if args.output and len(args.model) > 1:
        raise SystemExit("nmt evaluate: --output takes one --model (the report holds every system's scores)")
    contrastive = {path.name.removesuffix(".jsonl"): load_contrastive(path) for path in args.contrastive}
    systems: list[SystemResult] = []
    label = Path(args.data).name.split(".")[0] or "test"  # "test" for data/bible-en-es/test
    splits: dict[str, list[Document]] = {}  # read once, in the first model's languages: one reference for all
    for model in args.model:
        translator = load_translator(args, model)
        if not splits:
            data_cfg = translator.config.data
            src, tgt = args.src or data_cfg.src_lang, args.tgt or data_cfg.tgt_lang
            splits[label] = read_corpus(args.data, src, tgt)
            if args.dev:
                splits["dev"] = read_corpus(args.dev, src, tgt)
        decode = decode_config(args, translator.config.decode)
        name = _system_name(model, [s.name for s in systems])
        progress = Progress(f"{name}: translated", "sentences, then contrastive items")
        try:
            result = evaluate_system(
                translator, name, model, splits, contrastive, context_mode(args), decode, progress.add
            )
        finally:
            progress.close()
        if args.cxmi:
            from evaluation.cxmi import measure

            result.cxmi = measure(translator, splits[label])
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
        summary |= {"context": result.mode, "beam": beam, "int8": int8}
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
    from evaluation.metrics import paired_significance

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
    add_model_arguments(p)
    p.add_argument(
        "--contrastive", required=True, type=Path, help="JSONL: context_src, context_tgt, src, ref, contrastive"
    )
    p.set_defaults(func=_score)


def _score(args: argparse.Namespace) -> int:
    from evaluation.scoring import load_contrastive, score_contrastive

    translator = load_translator(args, args.model)
    progress = Progress("scored", "items")
    try:
        items = load_contrastive(args.contrastive)
        report = score_contrastive(translator, items, context_mode(args), progress.add).to_dict()
    finally:
        progress.close()
    print(f"accuracy {report['accuracy']:.4f} on {report['n']} items")
    if "pairs" in report:
        print(
            f"pair accuracy {report['pair_accuracy']:.4f} on {report['pairs']} pairs (both twins right; "
            f"both wrong: {report['pairs_both_wrong']}; sign test that the context helps: p = {report['p_value']:.4g})"
        )
        print(
            f"pair margin {report['pair_margin']:+.4f} nats (0 without context; to flip, beat the gap "
            f"{report['pair_gap']:.4f}); pairs leaning right "
            f"{report['pairs_leaning_right']}, wrong {report['pairs_leaning_wrong']}; sign test p = "
            f"{report['lean_p_value']:.4g}"
        )
    for name in ("by_distance", "by_kind"):
        for key, row in report[name].items():
            print(f"  {name[3:]}={key}: {row['accuracy']:.4f} ({row['n']})")
    print(json.dumps(report))
    return 0


def _add_probe(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "probe",
        help="does the document state hold the antecedent's gender? a linear probe on contrastive items",
        description="Force each item's context through the model, then fit a logistic regression that reads the "
        "reference's gender (the word where it differs from its variant) from the document state the sentence "
        "starts from; cross-validated so that twins of a pair share a fold. Prints a table, then one JSON line.",
    )
    p.add_argument("--model", required=True, help="checkpoint file or run directory (its best checkpoint)")
    p.add_argument("--contrastive", required=True, type=Path, help="JSONL items, as for `nmt score`")
    add_sentence_level(p)  # probes the reset state: the floor
    p.add_argument("--folds", type=int, default=10, help="cross-validation folds")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    p.set_defaults(func=_probe)


def _probe(args: argparse.Namespace) -> int:
    from evaluation.probe import probe_gender
    from evaluation.scoring import load_contrastive
    from translator.inference import Translator

    translator = Translator.load(args.model)
    report = probe_gender(translator, load_contrastive(args.contrastive), context_mode(args), args.folds)
    print(
        f"gender probe on the document state of {args.model} (step {translator.step}): {report.items} items in "
        f"{report.groups} groups, {args.folds} folds ({report.skipped} without a gendered difference skipped); "
        f"majority class {report.majority:.4f}"
    )
    for name, part in report.parts.items():
        by_distance = "  ".join(f"{d}: {acc:.4f}" for d, acc in part["by_distance"].items())
        print(f"  {name:8} {part['accuracy']:.4f}   by distance {by_distance}")
    for name, row in report.twin_spread.items():
        cells = "  ".join(f"{d}: {value:.2e}" for d, value in row.items())
        print(f"  twins' states differ ({name}, median relative distance) by distance {cells}")
    print(json.dumps({"model": str(args.model), "step": translator.step, **report.to_dict()}))
    return 0
