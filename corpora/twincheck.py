"""Checking a twin pair: the twins of a balanced item differ only where they should.

Part of the balanced pronoun test set: corpora/balanced.py finds the items (and keeps only the
pairs this check passes), corpora/swap.py writes the twins. Kept apart from the writing so that
the check knows only what may differ (swap.py's flip tables), not how a twin was made.
"""

from __future__ import annotations

import difflib
from typing import Any

from corpora.swap import FLIP_DETERMINER, FLIP_TODO, PROCLITICS, TOKEN


def _diff(a: str, b: str) -> list[tuple[list[str], list[str]]]:
    """The changed spans between two sentences, as (words in a, words in b)."""
    ta, tb = TOKEN.findall(a), TOKEN.findall(b)
    ops = difflib.SequenceMatcher(a=ta, b=tb, autojunk=False).get_opcodes()
    return [(ta[i1:i2], tb[j1:j2]) for tag, i1, i2, j1, j2 in ops if tag != "equal"]


def _same_stem(a: str, b: str) -> bool:
    """Two forms of one gendered word: él/ella, ellos/ellas, la/lo, bendíjola/bendíjolo ..."""
    pronouns = {frozenset(("él", "ella"))} | {frozenset((k, v[0])) for k, v in PROCLITICS.items()}
    if frozenset((a.lower(), b.lower())) in pronouns:
        return True
    stem_a, stem_b = a.lower().rstrip("aos"), b.lower().rstrip("aos")
    return stem_a == stem_b and a.lower() != b.lower()


def check_pair(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What is wrong with a pair of twins (empty when nothing): they must share the current source and
    both candidates, differ in the reference at exactly one word, and in the context only at the swapped
    antecedent (with its determiners in Spanish, "a"/"an" in English)."""
    problems = []
    if a["src"] != b["src"]:
        problems.append("the twins' current sources differ")
    if a["ref"] != b["contrastive"][0] or b["ref"] != a["contrastive"][0]:
        problems.append("the twins do not swap reference and variant")
    for left, right in _diff(a["ref"], b["ref"]):
        if len(left) != 1 or len(right) != 1 or not _same_stem(left[0], right[0]):
            problems.append(f"the references differ beyond a pronoun's gender: {left} -> {right}")
    if a["ref"] == b["ref"]:
        problems.append("the references are identical")
    if len(a["context_src"]) != len(b["context_src"]) or len(a["context_tgt"]) != len(b["context_tgt"]):
        return [*problems, "the contexts differ in length"]
    old, new = a["antecedent"], b["antecedent"]
    allowed_en = ({old["en"], "a", "an"}, {new["en"], "a", "an"})
    determiners = set(FLIP_DETERMINER) | set(FLIP_TODO) | {"de", "á", "a"}
    allowed_es = ({old["es"]} | determiners, {new["es"]} | determiners)
    changed = 0
    for side, allowed in (("src", allowed_en), ("tgt", allowed_es)):
        for x, y in zip(a[f"context_{side}"], b[f"context_{side}"], strict=True):
            for left, right in _diff(x, y):
                changed += 1
                if (
                    side == "tgt"
                    and len(left) == len(right)
                    and all(
                        (x.lower() in allowed[0] and y.lower() in allowed[1]) or _same_stem(x, y)
                        for x, y in zip(left, right, strict=True)
                    )
                ):
                    continue  # the noun, its determiner, agreeing adjectives, pronouns that refer to it
                if not {w.lower() for w in left} <= allowed[0] or not {w.lower() for w in right} <= allowed[1]:
                    problems.append(f"context_{side} differs beyond the antecedent: {left} -> {right}")
    if not changed:
        problems.append("the contexts are identical")
    return problems
