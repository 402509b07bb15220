"""`nmt cxmi`: flags here, work in `evaluation.cxmi` (imported when the command runs)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_cxmi(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "cxmi",
        help="how much the document context raises the reference's probability (CXMI, with 95%% intervals)",
        description="Force each document's references through the model in order and compare every token's "
        "log-probability with its true context against two controls: the reset context (as --context none) and "
        "a random other document's context after as many sentences. Prints a table, then one JSON line.",
    )
    p.add_argument("--model", required=True, help="checkpoint file or run directory (its best checkpoint)")
    p.add_argument("--data", required=True, help="corpus with references: PREFIX or .tsv[.gz]")
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
    summary = measure(translator, docs, args.samples, args.seed, args.top, args.batch_size)
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
