"""`nmt prepare`: build a corpus; the corpora package's command, assembled into `nmt` by nmt/cli.py.

It lives beside the builders so that a new corpus is one module plus one row of `CORPORA`,
both in corpora/, and training never imports corpora. Each builder is imported when its
corpus is prepared, so building the parser loads none of them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from translator.config import UsageError


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `prepare` on the `nmt` parser."""
    _add_prepare(sub)


def _add_prepare(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("prepare", help="build a corpus")
    p.add_argument(
        "corpus",
        choices=list(CORPORA),
        help="; ".join(f"{name}: {help}" for name, (help, _) in CORPORA.items()),
    )
    p.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="output directory for {train,dev,test}.{en,es,doc}"
    )
    p.add_argument("--no-install", action="store_true", help="bible: never apt-get install missing SWORD modules")
    p.add_argument(
        "--docs", type=int, default=20_000, help="synthetic-pronouns/-stories, rich-stories: training documents"
    )
    p.add_argument("--seed", type=int, default=1, help="synthetic-pronouns/-stories, rich-stories: random seed")
    p.add_argument(
        "--corpus-dir",
        type=Path,
        metavar="DIR",
        help="bible-* and mix: the corpus DIRECTORY to start from, as `nmt prepare` wrote it (DIR/train.en, "
        "DIR/test.es, ...; a directory, not a file prefix); bible-clauses and mix need it, the others default "
        "to --out",
    )
    # The old name: elsewhere (evaluate, cxmi, shortlist) --data is a file PREFIX, here it was a directory.
    p.add_argument("--data", type=Path, dest="old_data", help=argparse.SUPPRESS)
    p.add_argument(
        "--also", type=Path, action="append", default=[], metavar="DIR", help="mix: another corpus directory (repeat)"
    )
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
    if args.old_data is not None:
        print(
            "nmt prepare: --data is deprecated here (every other command's --data is a file PREFIX): "
            "use --corpus-dir DIR; it goes away in the next release",
            file=sys.stderr,
        )
        if args.corpus_dir is not None and args.corpus_dir != args.old_data:
            raise UsageError("nmt prepare: give --corpus-dir or its old name --data, not both")
        args.corpus_dir = args.old_data
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

    return {**build_clause_corpus(_corpus_dir(args), args.out), **_contrastive_sets(args.out, args.out)}


def _balanced(args: argparse.Namespace) -> dict[str, object]:
    from corpora.balanced import build_balanced_set

    return dict(build_balanced_set(args.corpus_dir or args.out, out=args.out, antecedents=args.antecedents))


def _targeted(args: argparse.Namespace) -> dict[str, object]:
    from corpora.targeted import build_targeted_corpus

    return dict(build_targeted_corpus(args.corpus_dir or args.out, args.out, args.factor, args.select))


def _synthetic(args: argparse.Namespace) -> dict[str, object]:
    from corpora.synthetic import build_synthetic_corpus

    return dict(build_synthetic_corpus(args.out, args.docs, args.seed))


def _stories(args: argparse.Namespace) -> dict[str, object]:
    from corpora.stories import build_story_corpus

    return dict(build_story_corpus(args.out, args.docs, args.seed))


def _rich(args: argparse.Namespace) -> dict[str, object]:
    from corpora.rich import build_rich_corpus

    return build_rich_corpus(args.out, args.docs, args.seed)


def _mix(args: argparse.Namespace) -> dict[str, object]:
    from corpora.mix import build_mix

    if not args.also:
        raise UsageError("nmt prepare mix: needs at least one --also (a corpus directory to add to --corpus-dir's)")
    return dict(build_mix(_corpus_dir(args), args.also, args.out))


def _corpus_dir(args: argparse.Namespace) -> Path:
    if args.corpus_dir is None:
        raise UsageError(f"nmt prepare {args.corpus}: needs --corpus-dir DIR, the corpus directory to start from")
    return Path(args.corpus_dir)


# name -> (what it builds, the builder): `nmt prepare NAME` prints the builder's counts as JSON
CORPORA: dict[str, tuple[str, Callable[[argparse.Namespace], dict[str, object]]]] = {
    "bible": ("WEB -> Reina-Valera 1909 from Debian's SWORD modules (with the contrastive sets)", _bible),
    "bible-contrastive": (
        "only mine {dev,test}.contrastive.jsonl from the corpus in --corpus-dir",
        lambda args: _contrastive_sets(args.corpus_dir or args.out, args.out),
    ),
    "bible-balanced": (
        "{dev,test}.balanced.jsonl, twin items whose contexts differ in the antecedent's gender",
        _balanced,
    ),
    "bible-clauses": (
        "the corpus in --corpus-dir with verses split into aligned clauses (and its contrastive sets)",
        _clauses,
    ),
    "bible-targeted": ("--corpus-dir's train split plus its context-dependent pronoun windows x --factor", _targeted),
    "synthetic-pronouns": (
        "documents whose last sentence's Spanish gender depends only on an earlier noun (+ test.contrastive.jsonl)",
        _synthetic,
    ),
    "synthetic-stories": ("the same rule in varied short stories (50 nouns, people in between, many verbs)", _stories),
    "rich-stories": (
        "far more varied stories of the rule (500 things, 120 verbs, plural and two-thing stories; corpora/rich.py)",
        _rich,
    ),
    "natural-twins": (  # one row, its import lazy like the builders above (corpora/natural.py)
        "hand-written everyday documents in twin pairs (+ natural-twins.contrastive.jsonl): a test no generator wrote",
        lambda args: __import__("corpora.natural").natural.prepare(args),
    ),
    "mix": ("--corpus-dir's train split plus each --also's (dev/test: --corpus-dir's)", _mix),
}
