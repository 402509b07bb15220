"""Writing a twin: the antecedent noun swapped for one of the other gender, and what agrees with it flipped.

Part of the balanced pronoun test set: corpora/balanced.py finds the items and writes the set,
this module writes each twin's text, corpora/twincheck.py checks that a pair differs only here.
Kept apart because these are rules of Spanish and English agreement, testable on single
sentences, while finding an item needs a whole corpus and its lexicons.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from corpora.contrapro import PronounHit, _match_case, _plain


def word_set(text: str) -> frozenset[str]:
    """The words of `text` (the word lists below, and balanced.py's, are written as one string)."""
    return frozenset(text.split())


TOKEN = re.compile(r"\w+|[^\w\s]+")

# Determiner before a noun -> the same determiner for the other gender.
FLIP_DETERMINER = {
    "el": "la", "la": "el", "los": "las", "las": "los", "un": "una", "una": "un", "unos": "unas", "unas": "unos",
    "este": "esta", "esta": "este", "estos": "estas", "estas": "estos", "ese": "esa", "esa": "ese",
    "esos": "esas", "esas": "esos", "aquel": "aquella", "aquella": "aquel", "aquellos": "aquellas",
    "aquellas": "aquellos", "del": "de la", "al": "á la", "nuestro": "nuestra", "nuestra": "nuestro",
    "nuestros": "nuestras", "nuestras": "nuestros", "vuestro": "vuestra", "vuestra": "vuestro",
    "vuestros": "vuestras", "vuestras": "vuestros",
}  # fmt: skip
FLIP_TODO = {"todo": "toda", "toda": "todo", "todos": "todas", "todas": "todos"}
CONTRACT = {("de", "el"): "del", ("á", "el"): "al", ("a", "el"): "al"}  # "de la" -> "de el" reads "del"
# Function words (some end in -o/-a) that never agree with a noun: never flipped, never in the way
# ("dos" too: "das" is a corpus word, so "tus dos hijos" would become "tus das hijas").
NO_GENDER = word_set(
    "su sus mi mis tu tus de del en y e ni o ó u que como sino con por para sin sobre á a al entre contra "
    "hacia hasta desde ante se no le les lo me te nos os ya mas más cual cuales donde cuando pues porque "
    "cada es son era eran fué fueron dos"
)

INVARIANT_BEFORE = {"gran", "grande", "grandes"}  # adjectives before a noun that do not change with its gender


def _gender_twin(word: str) -> str | None:
    """santo -> santa, santas -> santos; None for words without a gender ending."""
    m = re.fullmatch(r"(\w+?)([oa])(s?)", word)
    return m.group(1) + ("a" if m.group(2) == "o" else "o") + m.group(3) if m else None


def _adjective(word: str, words: frozenset[str]) -> str | None:
    """`word` in the other gender when it agrees like an adjective (both forms are corpus words), else None."""
    lower = word.lower()
    if lower in NO_GENDER or lower in FLIP_DETERMINER or lower in FLIP_TODO:
        return None
    twin = _gender_twin(lower)
    return _match_case(twin, word) if twin and _plain(twin) in words else None


def swap_spanish(sentence: str, old: str, new: str, words: frozenset[str]) -> str:
    """`sentence` with every `old` noun replaced by `new` of the other gender, and the words that agree
    with it flipped: the determiner before it (el/la, un/una, este/esta, nuestro/nuestra, del/de la,
    al/á la, and todo/toda before those) and adjectives, one right after it and up to two right before it
    (gran/grande stay). An adjective is a word whose other-gender form (santo/santa) is also a word of
    the corpus vocabulary `words` (accent-free, `contrapro.Lexicon.words`).
    """
    tokens = TOKEN.findall(sentence)
    spans = [(m.start(), m.end()) for m in TOKEN.finditer(sentence)]
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in character offsets
    for k, tok in enumerate(tokens):
        if tok.lower() != old:
            continue
        if k + 1 < len(tokens) and (adjective := _adjective(tokens[k + 1], words)) is not None:
            edits.append((*spans[k + 1], adjective))
        edits.append((*spans[k], _match_case(new, tok)))
        b = k - 1
        while b >= max(0, k - 2) and (tokens[b].lower() in INVARIANT_BEFORE or _adjective(tokens[b], words)):
            if (adjective := _adjective(tokens[b], words)) is not None:
                edits.append((*spans[b], adjective))
            b -= 1
        _flip_determiner(tokens, spans, b, edits)
    for start, end, text in sorted(edits, reverse=True):
        sentence = sentence[:start] + text + sentence[end:]
    return sentence


def _flip_determiner(
    tokens: list[str], spans: list[tuple[int, int]], b: int, edits: list[tuple[int, int, str]]
) -> None:
    """Flip the determiner at token `b`, if it is one (and a todo/toda before it)."""
    before = tokens[b].lower() if b >= 0 else ""
    if before not in FLIP_DETERMINER:
        return
    flipped = FLIP_DETERMINER[before]
    prev2 = tokens[b - 1].lower() if b > 0 else ""
    start = spans[b][0]
    if (prev2, flipped) in CONTRACT:  # de la -> del, á la -> al
        flipped, start = CONTRACT[prev2, flipped], spans[b - 1][0]
        edits.append((start, spans[b][1], _match_case(flipped, tokens[b - 1])))
    else:
        edits.append((start, spans[b][1], _match_case(flipped, tokens[b])))
    todo = b - 1 if start == spans[b][0] else b - 2
    if todo >= 0 and tokens[todo].lower() in FLIP_TODO:
        edits.append((*spans[todo], _match_case(FLIP_TODO[tokens[todo].lower()], tokens[todo])))


def swap_english(sentence: str, old: str, new: str) -> str:
    """`sentence` with every `old` word replaced by `new` (case kept), "a"/"an" before it fixed."""

    def article(m: re.Match[str]) -> str:
        art = "an" if new[0] in "aeiou" else "a"
        return _match_case(art, m.group(1)) + m.group(2) + _match_case(new, m.group(3))

    sentence = re.sub(rf"\b(an?)(\s+)({old})\b", article, sentence, flags=re.IGNORECASE)
    return re.sub(rf"\b{old}\b", lambda m: _match_case(new, m.group()), sentence, flags=re.IGNORECASE)


PROCLITICS = {
    "lo": ("la", ("m", "sg")),
    "la": ("lo", ("f", "sg")),
    "los": ("las", ("m", "pl")),
    "las": ("los", ("f", "pl")),
}


def flip_hits(sentence: str, hits: Sequence[PronounHit]) -> str:
    """Every hit's word replaced by its other-gender form (the pronouns that follow the swapped noun)."""
    for hit in sorted(hits, key=lambda h: -h.start):
        sentence = sentence[: hit.start] + hit.replacement + sentence[hit.end :]
    return sentence
