"""Split parallel verses into aligned clauses ("Divide and Rule", Lupo et al., ACL 2022).

Why: a verse is often several sentences, and most Bible pronouns find their antecedent earlier in
the same verse, so a model that sees one verse at a time rarely *needs* its context. Lupo et al.
show that splitting training sentences into shorter aligned segments makes more of the words that
depend on context depend on an earlier segment, which teaches a context-aware model to use its
context; it also turns same-verse antecedents into previous-sentence ones for the pronoun test sets
(`corpora.balanced`).

The rule, one verse pair at a time, kept whole unless every step is safe:

- a split point is a clause-final mark `;` `:` `.` `?` `!` (with any closing quotes or brackets
  after it) followed by whitespace and more text. The two Bibles punctuate differently (the
  Reina-Valera's `;` and `:` are often the World English Bible's `,` or `.`), so the marks count as
  one class: over the training verses, one mark at a time agrees in count far less often than the
  class. In English a comma before an opening quote also counts (`saying, “Go`), since the
  Reina-Valera introduces speech with a colon (`diciendo: Ve`);
- both sides must have the same number of split points (the n-th English clause then goes with the
  n-th Spanish one), else the verse stays whole;
- every clause must have a letter or digit, and every clause pair a plausible length ratio
  (`plausible`), else the verse stays whole: equal counts at unrelated places give a lopsided pair.

Clauses keep their punctuation and quotes; joining a verse's clauses with one space gives back the
verse (up to runs of whitespace). Documents keep their ids and order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from translator.corpus import Document, read_corpus, write_parallel

_CLOSERS = "”’»\"')\\]"
# The end of a clause: the mark and its closing quotes, then whitespace (where we cut) and more text.
SPANISH_BREAK = re.compile(rf"[;:.?!][{_CLOSERS}]*(?=\s+\S)")
ENGLISH_BREAK = re.compile(rf"(?:[;:.?!][{_CLOSERS}]*|,(?=\s+[“‘]))(?=\s+\S)")
_TEXT = re.compile(r"\w")
MAX_RATIO = 2.0  # Spanish/English characters of a clause pair (the corpus ratio is 0.96)
SMOOTHING = 10  # characters added to both sides, so that "He said" / "Y él dijo" is no outlier
SPLITS = ("train", "dev", "test")


def _cut(text: str, pattern: re.Pattern[str]) -> list[str]:
    """`text` cut after every match of `pattern` (the whitespace there dropped)."""
    ends = [m.end() for m in pattern.finditer(text)]
    return [text[a:b].strip() for a, b in zip([0, *ends], [*ends, len(text)], strict=True)]


def plausible(english: str, spanish: str) -> bool:
    """Whether two clauses can be translations of each other by their lengths alone."""
    ratio = (len(spanish) + SMOOTHING) / (len(english) + SMOOTHING)
    return 1 / MAX_RATIO <= ratio <= MAX_RATIO


def split_pair(english: str, spanish: str) -> list[tuple[str, str]]:
    """One verse pair as aligned (English, Spanish) clause pairs; `[(english, spanish)]` when unsafe."""
    en, es = _cut(english, ENGLISH_BREAK), _cut(spanish, SPANISH_BREAK)
    if len(en) != len(es) or len(en) == 1:
        return [(english, spanish)]
    pairs = list(zip(en, es, strict=True))
    if all(_TEXT.search(a) and _TEXT.search(b) and plausible(a, b) for a, b in pairs):
        return pairs
    return [(english, spanish)]


@dataclass
class SplitCounts:
    """What `split_documents` did: verses read, verses cut into clauses, lines written."""

    verses: int = 0
    verses_split: int = 0
    lines: int = 0


def split_documents(docs: Sequence[Document], counts: SplitCounts | None = None) -> list[Document]:
    """Every verse of every document split by `split_pair`; ids, order and text are kept."""
    counts = counts if counts is not None else SplitCounts()
    out = []
    for doc in docs:
        pairs = []
        for en, es in zip(doc.sources, doc.targets, strict=True):
            clauses = split_pair(en, es)
            counts.verses += 1
            counts.verses_split += len(clauses) > 1
            pairs += clauses
        counts.lines += len(pairs)
        out.append(Document(doc.doc_id, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)))
    return out


def build_clause_corpus(data: str | Path, out: str | Path, splits: Sequence[str] = SPLITS) -> dict[str, object]:
    """Write OUT/{split}.{en,es,doc}, the clause-split verses of DATA/{split}; counts per split."""
    result: dict[str, object] = {}
    for split in splits:
        counts = SplitCounts()
        docs = split_documents(read_corpus(Path(data) / split, "en", "es"), counts)
        write_parallel(Path(out) / split, "en", "es", docs)
        result[split] = vars(counts)
    return result
