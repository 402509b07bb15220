"""Targeted training data: context-dependent pronoun items repeated with their context.

On Bible text the carried state is barely used because the words whose translation
needs an earlier sentence are rare (Fernandes et al. 2021); training on more of them
teaches a model to use its context (Mąka et al. 2025, "You Are What You Train").
This transform mines the *training* split with `corpora.contrapro` (the same pronoun
finder, English filter and antecedent-distance heuristic as the test sets): a
sentence whose Spanish has a gendered pronoun or clitic for an English it/its/they/
them/their, and whose antecedent is estimated 1 to 3 sentences back. Its *window* is
that sentence and the sentences before it back to the antecedent's (the farthest
one when the sentence has several selected items). The output corpus is the whole
training split, unchanged and first, then every window `factor` times as a document
of its own, with ids ``DOC#wLINE.R`` (LINE the item's 0-based sentence in DOC, R =
1..factor), so each window reads from a reset state, exactly like a chapter's start,
and the trainer's shuffled document queue draws it `factor` more times per epoch.

Which items (`select`): the Bible's they/them is mostly people rendered "ellos"
(masculine plural: three quarters of the items at distance 1-3), which the
sentence-level prior already gets right; repeating those teaches the prior again.
``hard`` (the default) keeps the other kinds: feminine singular and plural, where
only the context can overrule the prior, and masculine singular, their counterpart
for the same English "it", so the repeats do not just shift the prior to feminine.
``feminine`` keeps feminine items only; ``all`` keeps every kind.

``twins`` is counterfactual data rather than repetition: the training split's own
balanced twin pairs (`corpora.balanced.mine_pairs`, the builder of the balanced test
set, run on the training split), both twins of every pair, each as a window from its
antecedent to its item (``DOC#tLINE.TWIN.R``). The two windows of a pair end in the
same English sentence with references of opposite gender, and differ before it only
in the antecedent noun (and the words that agree with it), so no sentence-level
guess can get both right: the loss falls only through the context. Its items are
stricter than the heuristic windows (the antecedent is the nearest noun of the
pronoun's number, checked by `check_pair`), so there are fewer of them. The items
themselves go to ``train.twins.jsonl``, each context cut to start at its antecedent as
the training window does, to check whether a model fits what it was trained on.

The heuristic takes the nearest sentence with *any* noun of the pronoun's gender and
number, so some windows hold a wrong antecedent (docs/evaluation.md, "Targeted
data", gives a hand count); a window still holds the item with its preceding text.
Deterministic: no random draw; dev and test are copied byte for byte.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpora.balanced import NounLexicon, mine_pairs
from corpora.contrapro import MAX_DISTANCE, Lexicon, mine_items
from translator.config import UsageError
from translator.corpus import Document, corpus_files, read_corpus, write_parallel

# kind suffix ("fsg", "mpl", ...) -> kept?
SELECTIONS: dict[str, Callable[[str], bool]] = {
    "hard": lambda features: features != "mpl",
    "feminine": lambda features: features.startswith("f"),
    "all": lambda features: True,
}
TWINS = "twins"  # the counterfactual twin pairs instead of repeated windows
CHOICES = (*SELECTIONS, TWINS)


@dataclass(frozen=True)
class Window:
    """The sentences ``first..line`` (inclusive, 0-based) of document `doc_id`."""

    doc_id: str
    first: int
    line: int


def _needs_context(item: dict[str, object]) -> bool:
    """Antecedent estimated 1..MAX_DISTANCE sentences back (0 needs no context, "far" is beyond reach)."""
    distance = item["distance"]
    return isinstance(distance, int) and 1 <= distance <= MAX_DISTANCE


def _kept(item: dict[str, object], select: str) -> bool:
    """Whether `select` keeps the item's kind ("pronoun-fsg" -> "fsg")."""
    return SELECTIONS[select](str(item["kind"]).rsplit("-", 1)[1])


def select_windows(items: Sequence[dict[str, object]], select: str = "hard") -> list[Window]:
    """One window per item sentence, reaching back to its farthest selected antecedent.

    `items` are `contrapro.mine_items` objects in corpus order; only those that need
    context and whose kind `select` keeps count.
    """
    reach: dict[tuple[str, int], int] = {}
    for item in items:
        if _needs_context(item) and _kept(item, select):
            line, distance = item["line"], item["distance"]
            assert isinstance(line, int) and isinstance(distance, int)
            key = (str(item["doc"]), line)
            reach[key] = max(reach.get(key, 0), distance)
    return [Window(doc_id, line - back, line) for (doc_id, line), back in reach.items()]


def _copies(name: str, sources: Sequence[str], targets: Sequence[str], factor: int) -> list[Document]:
    """`factor` documents ``NAME.1`` .. ``NAME.FACTOR`` holding the same sentences."""
    if factor < 0:
        raise ValueError(f"factor must be >= 0, got {factor}")
    return [Document(f"{name}.{r}", tuple(sources), tuple(targets)) for r in range(1, factor + 1)]


def window_documents(documents: Sequence[Document], windows: Sequence[Window], factor: int) -> list[Document]:
    """Each window as `factor` documents ``DOC#wLINE.R``, in window order."""
    by_id = {doc.doc_id: doc for doc in documents}
    extra = []
    for w in windows:
        doc = by_id[w.doc_id]
        span = slice(w.first, w.line + 1)
        extra += _copies(f"{w.doc_id}#w{w.line}", doc.sources[span], doc.targets[span], factor)
    return extra


def twin_documents(
    documents: Sequence[Document], lexicon: Lexicon, factor: int
) -> tuple[list[Document], list[dict[str, Any]]]:
    """Both twins of every balanced pair mined from `documents`, antecedent to item, `factor` times each.

    Returns the documents (``DOC#tLINE.TWIN.R``) and the twin items as those windows
    see them (the context cut to start at the antecedent), so that `nmt score` and
    `nmt probe` can ask whether a model fits the twins it was trained on.
    """
    items = mine_pairs(documents, lexicon, NounLexicon.build(documents, lexicon))
    extra, windows = [], []
    for item in items:
        first = item["line"] - item["distance"]
        window = {**item, "context_src": item["context_src"][first:], "context_tgt": item["context_tgt"][first:]}
        sources, targets = [*window["context_src"], item["src"]], [*window["context_tgt"], item["ref"]]
        extra += _copies(f"{item['doc']}#t{item['line']}.{item['twin']}", sources, targets, factor)
        windows.append(window)
    return extra, windows


def _words(docs: Sequence[Document]) -> int:
    """Whitespace words, both sides: a tokenizer-free measure of training text."""
    return sum(len(text.split()) for doc in docs for text in (*doc.sources, *doc.targets))


def _item_counts(items: Sequence[dict[str, object]], select: str) -> dict[str, object]:
    """Mined items by distance, and the context-dependent ones (distance 1-3) by kind."""
    near = [item for item in items if _needs_context(item)]
    selected = [item for item in near if _kept(item, select)]
    return {
        "items": len(items),
        **dict(sorted(Counter(f"distance_{item['distance']}" for item in items).items())),
        "items_d1_3_by_kind": dict(sorted(Counter(str(item["kind"]) for item in near).items())),
        "selected_items": len(selected),
        "selected_by_distance": dict(sorted(Counter(f"distance_{i['distance']}" for i in selected).items())),
    }


def build_targeted_corpus(
    data: str | Path, out: str | Path, factor: int = 6, select: str = "hard", src: str = "en", tgt: str = "es"
) -> dict[str, object]:
    """Write OUT/train = DATA/train + windows x `factor`; copy DATA/{dev,test}; return the counts."""
    data, out = Path(data), Path(out)
    if select not in CHOICES:
        raise ValueError(f"select must be one of {sorted(CHOICES)}, got {select!r}")
    if out.resolve() == data.resolve():
        raise UsageError(f"{out}: --out must differ from --corpus-dir (the training split would be overwritten)")
    documents = read_corpus(str(data / "train"), src, tgt)
    lexicon = Lexicon([t for doc in documents for t in doc.targets])
    if select == TWINS:
        extra, twins = twin_documents(documents, lexicon, factor)
        found: dict[str, object] = {"twin_pairs": len(twins) // 2}
    else:
        items = mine_items(documents, lexicon)
        windows = select_windows(items, select)
        extra = window_documents(documents, windows, factor)
        lines = sum(w.line - w.first + 1 for w in windows)
        found = {**_item_counts(items, select), "windows": len(windows), "window_lines": lines}
    out.mkdir(parents=True, exist_ok=True)
    write_parallel(out / "train", src, tgt, [*documents, *extra])
    if select == TWINS:
        rows = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in twins)
        (out / "train.twins.jsonl").write_text(rows, encoding="utf-8")
    for split in ("dev", "test"):
        if Path(f"{data / split}.{src}").exists():
            for path in corpus_files(str(data / split), src, tgt):
                shutil.copyfile(path, out / path.name)
    train_lines = sum(len(doc.sources) for doc in documents)
    extra_lines = sum(len(doc.sources) for doc in extra)
    return {
        **found,
        "select": select,
        "factor": factor,
        "extra_documents": len(extra),
        "extra_lines": extra_lines,
        "train_lines": train_lines,
        "extra_lines_vs_train": round(extra_lines / train_lines, 4),
        "extra_words_vs_train": round(_words(extra) / _words(documents), 4),
    }
