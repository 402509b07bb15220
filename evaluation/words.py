"""Spanish word classes whose form can depend on an earlier sentence (gender and number agreement).

A small, documented table rather than a tagger: CXMI's breakdown only needs
to separate the words whose gender a document context can decide from the
rest. Every word of a sentence gets exactly one class:

- `pronoun`: gendered personal pronouns (él ella ellos ellas nosotros/-as
  vosotros/-as), object clitics (lo le les; la/los/las only when attached to
  a verb, see below), demonstratives (este esta estos estas ese esa esos esas
  aquel aquella aquellos aquellas, accented or not, and esto eso aquello), and
  verbs with an enclitic object (an infinitive or gerund followed by
  lo/la/los/las/le/les, optionally after me/te/se/nos/os: comprarla,
  diciéndole, dárselo).
- `determiner`: articles el la los las un una unos unas and the contractions
  al del. Free-standing la/los/las are counted here: without a tagger a
  proclitic ("la vio") cannot be told from an article ("la casa").
- `adjective`: a word ending in -o -a -os -as that either follows a form of
  ser/estar/quedar/parecer (optionally through one of muy tan más menos
  bien: "es tan linda") or comes second after a determiner ("la mano
  derecha"). Predicative adjectives are the ones an antecedent in an earlier
  sentence decides.
- `other`: everything else (punctuation, end of sentence included).
"""

from __future__ import annotations

import re

PRONOUN, DETERMINER, ADJECTIVE, OTHER = "pronoun", "determiner", "adjective", "other"
CLASSES = (PRONOUN, DETERMINER, ADJECTIVE, OTHER)
GENDERED = (PRONOUN, DETERMINER, ADJECTIVE)


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_DEMONSTRATIVES = _word_set("este esta estos estas ese esa esos esas aquel aquella aquellos aquellas")
PRONOUNS = (
    _word_set("él ella ellos ellas nosotros nosotras vosotros vosotras lo le les esto eso aquello")
    | _DEMONSTRATIVES
    | {w.replace("e", "é", 1) for w in _DEMONSTRATIVES}  # éste, ése, aquél: the older accented forms
)
DETERMINERS = _word_set("el la los las un una unos unas al del")
COPULAS = _word_set(
    "es son era eran fue fué fueron sea sean será serán sería serían eres soy somos sois ser sido "
    "está están estaba estaban estuvo estuvieron esté estén estás estoy estamos estar estado "
    "quedó quedaron queda quedan quedaba parece parecen parecía"  # fué: the Reina-Valera 1909 spelling
)
INTENSIFIERS = frozenset({"muy", "tan", "más", "menos", "bien"})
_ENCLITIC = re.compile(r"^\w{2,}(?:r|ndo)(?:me|te|se|nos|os)?(?:lo|la|los|las|le|les)$")
_AGREEING = re.compile(r"^\w{2,}(?:o|a|os|as)$")
_PUNCT = "¡!¿?.,;:«»\"'()[]-—“”‘’"


def normalise(word: str) -> str:
    """Lower case, outer punctuation stripped."""
    return word.strip(_PUNCT).lower()


def word_classes(words: list[str]) -> list[str]:
    """The class of each word of one sentence (in order; the rules look at the words before it)."""
    norm = [normalise(w) for w in words]
    return [_word_class(norm, i) for i in range(len(norm))]


def _word_class(words: list[str], i: int) -> str:
    w = words[i]
    if w in PRONOUNS or _ENCLITIC.match(w):
        return PRONOUN
    if w in DETERMINERS:
        return DETERMINER
    if _AGREEING.match(w) and (_after_copula(words, i) or (i >= 2 and words[i - 2] in DETERMINERS)):
        return ADJECTIVE
    return OTHER


def _after_copula(words: list[str], i: int) -> bool:
    if i >= 1 and words[i - 1] in COPULAS:
        return True
    return i >= 2 and words[i - 1] in INTENSIFIERS and words[i - 2] in COPULAS


MASCULINE = _word_set("él el un este ese aquel éste ése aquél")  # masculine without the -o ending
_ENDING = re.compile(r"^\w*?(o|a)s?$")


def gender(word: str) -> str | None:
    """The gender ("f" or "m") a word's form shows, else None.

    By its ending (-a/-as feminine, -o/-os masculine), which covers pronouns,
    articles and clitics ("ella", "las", "lo"), agreeing adjectives and
    demonstratives ("linda", "estos") and enclitic objects ("comprarla",
    "púsolos"); a short table holds the masculine forms without an -o ("él",
    "un", "este"). It tells the reference's word from its contrastive twin's, where
    only the gender differs; it is not a lexicon ("mano" ends in -o).
    """
    w = normalise(word)
    if w in MASCULINE:
        return "m"
    ending = _ENDING.match(w)
    if ending is None:
        return None
    return "f" if ending.group(1) == "a" else "m"


def piece_classes(pieces: list[str]) -> list[str]:
    """The class of each SentencePiece piece: that of the word it is part of ("▁" starts a word)."""
    words: list[str] = []
    owner: list[int] = []
    for piece in pieces:
        if piece.startswith("▁") or not words:
            words.append("")
        words[-1] += piece.lstrip("▁")
        owner.append(len(words) - 1)
    classes = word_classes(words)
    return [classes[k] for k in owner]
