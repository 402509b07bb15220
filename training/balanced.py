"""A balanced pronoun test set from real text (the design of Bawden et al. 2018).

Every item is a sentence of the dev or test chapters whose Spanish reference
has a gendered pronoun (él/ella, ellos/ellas, the demonstratives, or an
object clitic, as `training.contrapro` finds them) whose antecedent is a noun
one to three sentences back. Each item gets a counterfactual *twin*: the same
current sentence, but a context in which that antecedent noun is replaced,
in English and in Spanish, wherever it occurs in the context, by a noun of
the other gender (and the same number), and a reference whose pronoun is
flipped to match. Twin A scores the original reference against the flipped
one; twin B the other way round. Both twins share the source sentence and
the two candidates, so a model that cannot see the context prefers the same
candidate in both and scores exactly 50%; only the context can lift it.

The bilingual noun lexicon comes from the training split itself: a Spanish
word is a noun of a gender and number when articles before it agree on one
(`contrapro.Lexicon`, at least 90% of its article votes), and its English
counterpart is the mutual best Dice partner over verse pairs (Dice >= 0.3).
Dice over whole verses rather than a word aligner (eflomal, fast_align): we
need a precise lexicon of frequent nouns, not token alignments, and the verse
pairs of the training split give that with no extra dependency; the mutual
best and the threshold keep only confident pairs (city/ciudad, gate/puerta).
English words that are mostly capitalised (names, "Lord") and numerals or
quantifiers are left out, and so are Spanish singular nouns starting with a
stressed a- (el alma, el agua are feminine behind a masculine article).
Person nouns (those that English follows with who/whom/whose more often than
with which) are swapped only for person nouns, things only for things.

An item is kept only when the swap reads naturally and the twins differ only
where they should (`check_pair`):

- the English current sentence has it/its/they/them/their and no he/she/him/
  her (its English says nothing of the gender), and neither the antecedent
  noun nor its replacement occurs in it or in its reference;
- the antecedent is the only noun of the pronoun's gender and number in its
  sentence, the nearest such noun before the pronoun, and no other pronoun of
  that gender and number stands between them (it would have to flip too);
- the pronoun is the only gendered pronoun of the current reference;
- at every occurrence of the antecedent in the Spanish context, the word
  before it is a determiner we can flip (el/la, un/una, este/esta, aquel/
  aquella ..., del <-> de la, al <-> á la, also todo/toda before them) or one
  without gender (su, mi, tu, a preposition), and the word after it cannot be
  an agreeing adjective (punctuation or a function word); English "a"/"an"
  before the English noun follows the new noun's first letter;
- a singular person noun is never used (English would say he/she), and the
  English window of a plural person noun has no he/she/him/her.

The replacement is drawn, seeded by the item's position, among the 40 most
frequent lexicon nouns of the other gender, same number and class that occur
nowhere in the document up to the current sentence.
"""

from __future__ import annotations

import difflib
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.contrapro import ENGLISH_PERSON, ENGLISH_PRONOUN, WORD, Lexicon, PronounHit, _match_case, find_pronouns
from translator.corpus import Document, read_corpus

ENGLISH_WORD = re.compile(r"[A-Za-z]+")
TOKEN = re.compile(r"\w+|[^\w\s]+")
MAX_DISTANCE = 3
MIN_DICE = 0.3
CANDIDATES = 40  # replacements are drawn among this many of the most frequent fitting nouns

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
# Words before a noun that carry no gender: nothing to flip.
NEUTRAL_BEFORE = set(
    [
        "su",
        "sus",
        "mi",
        "mis",
        "tu",
        "tus",
        "de",
        "en",
        "y",
        "e",
        "con",
        "por",
        "para",
        "sin",
        "sobre",
        "á",
        "a",
        "entre",
        "contra",
        "hacia",
        "hasta",
        "desde",
        "dos",
        "tres",
        "cuatro",
        "cinco",
        "seis",
        "siete",
        "ocho",
        "nueve",
        "diez",
        "once",
        "doce",
        "veinte",
        "treinta",
        "cuarenta",
        "cincuenta",
        "cien",
        "mil",
    ]
)
# Words ending in -o/-a/-os/-as that may follow a noun without agreeing with it.
SAFE_AFTER = set(
    [
        "de",
        "del",
        "y",
        "e",
        "o",
        "u",
        "que",
        "en",
        "á",
        "a",
        "al",
        "con",
        "por",
        "para",
        "sobre",
        "se",
        "no",
        "le",
        "les",
        "lo",
        "ni",
        "como",
        "cuando",
        "pues",
        "porque",
        "hasta",
        "desde",
        "entre",
        "contra",
        "sin",
        "ante",
        "ya",
        "mas",
        "más",
        "cual",
        "cuales",
        "donde",
        "me",
        "te",
        "nos",
        "os",
        "su",
        "sus",
        "mi",
        "mis",
        "tu",
        "tus",
    ]
)
ENGLISH_STOP = set(
    [
        "the",
        "and",
        "that",
        "this",
        "with",
        "from",
        "they",
        "them",
        "their",
        "have",
        "shall",
        "will",
        "which",
        "for",
        "not",
        "all",
        "who",
        "whom",
        "what",
        "your",
        "you",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "hundred",
        "thousand",
        "many",
        "much",
        "some",
        "any",
        "every",
        "each",
        "more",
        "most",
        "other",
        "such",
        "own",
        "same",
        "first",
        "second",
        "third",
        "half",
    ]
)
# Words that articles precede but that are no antecedent to swap: numerals, quantifiers, relatives.
NOT_NOUNS = set(
    [
        "dos",
        "tres",
        "cuatro",
        "cinco",
        "seis",
        "siete",
        "ocho",
        "nueve",
        "diez",
        "once",
        "doce",
        "veinte",
        "treinta",
        "cuarenta",
        "cincuenta",
        "ciento",
        "cien",
        "mil",
        "millares",
        "cuales",
        "cual",
        "mismo",
        "misma",
        "mismos",
        "mismas",
        "otro",
        "otra",
        "otros",
        "otras",
        "demás",
        "tales",
        "muchos",
        "muchas",
        "pocos",
        "pocas",
        "todos",
        "todas",
        "unos",
        "unas",
        "ambos",
        "ambas",
        "primero",
        "primera",
        "primeros",
        "primeras",
        "postrero",
        "postrera",
    ]
)
IRREGULAR_PLURALS = {"men", "women", "children", "people", "sheep", "oxen", "feet", "teeth", "brethren", "cattle"}


@dataclass(frozen=True)
class Noun:
    """One entry of the bilingual lexicon."""

    es: str
    en: str
    gender: str  # "m" or "f"
    number: str  # "sg" or "pl"
    person: bool
    count: int  # verses of the training split with the Spanish noun


class NounLexicon:
    """Spanish common nouns with gender, number, English counterpart and person/thing class."""

    def __init__(self, nouns: Sequence[Noun]) -> None:
        self.by_es = {n.es: n for n in nouns}

    @classmethod
    def build(cls, docs: Sequence[Document], lexicon: Lexicon) -> NounLexicon:
        """From the verse pairs of `docs` (the training split); see the module docstring."""
        pure = _pure_genders([t for d in docs for t in d.targets], lexicon)
        en_count, es_count, joint = Counter[str](), Counter[str](), Counter[tuple[str, str]]()
        en_lower, en_total = Counter[str](), Counter[str]()
        who, which = Counter[str](), Counter[str]()
        for doc in docs:
            for src, tgt in zip(doc.sources, doc.targets, strict=True):
                words = ENGLISH_WORD.findall(src)
                for k, w in enumerate(words):
                    en_total[w.lower()] += 1
                    en_lower[w.lower()] += w.islower()
                    after = words[k + 1].lower() if k + 1 < len(words) else ""
                    who[w.lower()] += after in ("who", "whom", "whose")
                    which[w.lower()] += after == "which"
                en_words = {w.lower() for w in words if len(w) > 2} - ENGLISH_STOP
                es_words = {w.lower() for w in WORD.findall(tgt)} & pure.keys()
                en_count.update(en_words)
                es_count.update(es_words)
                joint.update((a, b) for a in en_words for b in es_words)
        best_for_es: dict[str, tuple[float, str]] = {}
        best_for_en: dict[str, tuple[float, str]] = {}
        for (a, b), c in joint.items():
            dice = 2 * c / (en_count[a] + es_count[b])
            best_for_es[b] = max(best_for_es.get(b, (0.0, "")), (dice, a))
            best_for_en[a] = max(best_for_en.get(a, (0.0, "")), (dice, b))
        nouns = []
        for es, (dice, en) in best_for_es.items():
            gender, number = pure[es]
            if (
                dice >= MIN_DICE
                and best_for_en[en][1] == es
                and en_lower[en] >= 0.9 * en_total[en]  # not a name or a title
                and _english_number(en) == number
            ):
                person = who[en] >= 2 and who[en] > which[en]
                nouns.append(Noun(es, en, gender, number, person, es_count[es]))
        return cls(nouns)

    def replacements(self, noun: Noun) -> list[Noun]:
        """The most frequent nouns of the other gender, same number and class (person or thing)."""
        fits = [
            n
            for n in self.by_es.values()
            if n.gender != noun.gender and n.number == noun.number and n.person == noun.person
        ]
        return sorted(fits, key=lambda n: (-n.count, n.es))[:CANDIDATES]


def _pure_genders(sentences: Sequence[str], lexicon: Lexicon) -> dict[str, tuple[str, str]]:
    """Nouns of `lexicon` whose article votes agree on one gender and number at least 90% of the time."""
    from training.contrapro import ARTICLES

    votes: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for sentence in sentences:
        tokens = [w.lower() for w in WORD.findall(sentence)]
        for before, word in zip(tokens, tokens[1:], strict=False):
            if before in ARTICLES and word in lexicon.nouns:
                votes[word][ARTICLES[before]] += 1
    pure = {}
    for word, features in lexicon.nouns.items():
        total = sum(votes[word].values())
        stressed_a = features == ("m", "sg") and re.match(r"h?[aá]", word) is not None  # el alma, el agua: feminine
        if total and votes[word][features] >= 0.9 * total and not stressed_a and len(word) > 2:
            pure[word] = features
    return pure


def _english_number(word: str) -> str:
    if word in IRREGULAR_PLURALS or (word.endswith("s") and not word.endswith("ss")):
        return "pl"
    return "sg"


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def _nouns_of(text: str, lexicon: Lexicon, number: str) -> list[re.Match[str]]:
    """Nouns of `text` (by the corpus's articles) of that number, either gender."""
    return [
        m
        for m in WORD.finditer(text)
        if (features := lexicon.nouns.get(m.group().lower())) is not None
        and features[1] == number
        and m.group().lower() not in NOT_NOUNS
    ]


def swap_spanish(sentence: str, old: str, new: str) -> str | None:
    """`sentence` with every `old` noun replaced by `new` of the other gender, determiners flipped; None if
    an occurrence cannot be swapped cleanly (an unknown word before it, a possible adjective after it)."""
    tokens = TOKEN.findall(sentence)
    spans = [(m.start(), m.end()) for m in TOKEN.finditer(sentence)]
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in character offsets
    for k, tok in enumerate(tokens):
        if tok.lower() != old:
            continue
        after = tokens[k + 1].lower() if k + 1 < len(tokens) else "."
        if re.fullmatch(r"\w+(o|a|os|as)", after) and after not in SAFE_AFTER:
            return None  # it could be an adjective agreeing with the old noun
        edits.append((*spans[k], _match_case(new, tok)))
        before = tokens[k - 1].lower() if k > 0 else ""
        if before in FLIP_DETERMINER:
            flipped = FLIP_DETERMINER[before]
            prev2 = tokens[k - 2].lower() if k > 1 else ""
            start = spans[k - 1][0]
            if (prev2, flipped) in CONTRACT:  # de la -> del, á la -> al
                flipped, start = CONTRACT[prev2, flipped], spans[k - 2][0]
                edits.append((start, spans[k - 1][1], _match_case(flipped, tokens[k - 2])))
            else:
                edits.append((start, spans[k - 1][1], _match_case(flipped, tokens[k - 1])))
            todo = k - 2 if start == spans[k - 1][0] else k - 3
            if todo >= 0 and tokens[todo].lower() in FLIP_TODO:
                edits.append((*spans[todo], _match_case(FLIP_TODO[tokens[todo].lower()], tokens[todo])))
        elif before not in NEUTRAL_BEFORE and before not in ("", ",", ";", ":", "."):
            return None
    for start, end, text in sorted(edits, reverse=True):
        sentence = sentence[:start] + text + sentence[end:]
    return sentence


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


def gendered_words(sentence: str, lexicon: Lexicon) -> list[PronounHit]:
    """`contrapro.find_pronouns`, plus free-standing lo/la/los/las before a verb ("y los hirió").

    A verb is a word the corpus shows after me/te/se/le/lo/nos/os and never after an article
    (`Lexicon.verbs`). A free-standing "lo" may be the neuter "it" of a whole statement ("lo sé"); the
    antecedent rules (the nearest noun of its number must be masculine singular) keep most of those out.
    """
    hits = find_pronouns(sentence, lexicon)
    tokens = list(WORD.finditer(sentence))
    for m, nxt in zip(tokens, tokens[1:], strict=False):
        lower = m.group().lower()
        following = nxt.group().lower()
        if lower in PROCLITICS and following in lexicon.verbs:
            other, features = PROCLITICS[lower]
            hits.append(PronounHit(m.start(), m.end(), _match_case(other, m.group()), features, "proclitic"))
    return sorted(hits, key=lambda h: h.start)


def _flip(sentence: str, hits: Sequence[PronounHit]) -> str:
    """Every hit's word replaced by its other-gender form."""
    for hit in sorted(hits, key=lambda h: -h.start):
        sentence = sentence[: hit.start] + hit.replacement + sentence[hit.end :]
    return sentence


Antecedents = dict[tuple[str, int], str]  # (document id, 0-based verse) -> the Spanish antecedent noun


def load_antecedents(path: str | Path) -> Antecedents:
    """Hand-marked antecedents: TSV lines `doc_id<TAB>verse (0-based in the document)<TAB>Spanish noun`."""
    marked: Antecedents = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[1].strip().isdigit() or not fields[2].strip():
            raise ValueError(f"{path}:{number}: expected doc_id<TAB>verse<TAB>noun, got {line!r}")
        marked[fields[0].strip(), int(fields[1])] = fields[2].strip().lower()
    return marked


def mine_pairs(
    documents: Sequence[Document],
    lexicon: Lexicon,
    nouns: NounLexicon,
    seed: int = 1,
    antecedents: Antecedents | None = None,
) -> list[dict[str, Any]]:
    """Twin items (`nmt score --contrastive` JSON objects, with `pair` and `twin`) for a split.

    With `antecedents`, only the marked verses are used, each with its marked antecedent (the nearest
    verse one to three back that has the noun); every other rule still applies.
    """
    items: list[dict[str, Any]] = []
    for doc in documents:
        for i in range(1, len(doc.sources)):
            if antecedents is not None and (doc.doc_id, i) not in antecedents:
                continue
            marked = antecedents.get((doc.doc_id, i)) if antecedents else None
            for twins in _pairs_at(doc, i, lexicon, nouns, seed, marked):
                pair = f"{doc.doc_id}:{i}"
                items += [{"pair": pair, "twin": t, **twin} for t, twin in enumerate(twins)]
    return items


def _pairs_at(
    doc: Document, i: int, lexicon: Lexicon, nouns: NounLexicon, seed: int, marked: str | None = None
) -> list[list[dict[str, Any]]]:
    src, tgt = doc.sources[i], doc.targets[i]
    hits = gendered_words(tgt, lexicon)
    if not hits or not ENGLISH_PRONOUN.search(src) or len({h.features for h in hits}) != 1:
        return []  # no gender-less English pronoun, or Spanish pronouns of two genders or numbers
    hit = hits[0]
    if hit.features[1] == "sg" and ENGLISH_PERSON.search(src):
        return []  # the Spanish singular may render "him"/"her", whose gender the English gives away
    if marked is not None:
        found = _marked(doc, i, hit, marked, nouns)
    elif _nouns_of(tgt[: hit.start], lexicon, hit.features[1]):
        return []  # a possible antecedent in the same sentence: no context needed, or an unclear one
    else:
        found = _antecedent(doc, i, hit, lexicon, nouns)
    if found is None:
        return []
    j, noun = found
    window_en = " ".join(doc.sources[j : i + 1])
    if noun.person and (noun.number == "sg" or ENGLISH_PERSON.search(window_en)):
        return []
    seen_es = {w for t in doc.targets[: i + 1] for w in _words(t)}
    seen_en = {w.lower() for s in doc.sources[: i + 1] for w in ENGLISH_WORD.findall(s)}
    if noun.es in _words(tgt) or noun.en in {w.lower() for w in ENGLISH_WORD.findall(src)}:
        return []
    choices = [n for n in nouns.replacements(noun) if n.es not in seen_es and n.en not in seen_en]
    if not choices:
        return []
    other = random.Random(f"{seed}:{doc.doc_id}:{i}").choice(choices)
    context_tgt = [swap_spanish(t, noun.es, other.es) for t in doc.targets[:i]]
    if any(t is None for t in context_tgt):
        return []
    context_src = [swap_english(s, noun.en, other.en) for s in doc.sources[:i]]
    flipped = _flip(tgt, hits)
    shared = {"src": src, "distance": i - j, "doc": doc.doc_id, "line": i}
    kind_a = f"{hit.kind}-{hit.features[0]}{hit.features[1]}"
    kind_b = f"{hit.kind}-{'f' if hit.features[0] == 'm' else 'm'}{hit.features[1]}"
    a = {
        **shared,
        "context_src": list(doc.sources[:i]),
        "context_tgt": list(doc.targets[:i]),
        "ref": tgt,
        "contrastive": [flipped],
        "kind": kind_a,
        "antecedent": {"en": noun.en, "es": noun.es},
    }
    b = {
        **shared,
        "context_src": context_src,
        "context_tgt": context_tgt,
        "ref": flipped,
        "contrastive": [tgt],
        "kind": kind_b,
        "antecedent": {"en": other.en, "es": other.es},
    }
    return [[a, b]] if not check_pair(a, b) else []


def _antecedent(
    doc: Document, i: int, hit: PronounHit, lexicon: Lexicon, nouns: NounLexicon
) -> tuple[int, Noun] | None:
    """(sentence, noun) of the pronoun's antecedent one to three sentences back, or None if unclear."""
    number = hit.features[1]
    for j in range(i - 1, max(-1, i - 1 - MAX_DISTANCE), -1):
        candidates = _nouns_of(doc.targets[j], lexicon, number)
        pronouns = [h for h in gendered_words(doc.targets[j], lexicon) if h.features[1] == number]
        if not candidates:
            if pronouns:
                return None  # a pronoun in between refers to it already: it would have to flip too
            continue
        nearest = candidates[-1]
        noun = nouns.by_es.get(nearest.group().lower())
        if noun is None or (noun.gender, noun.number) != hit.features:
            return None  # the nearest noun of that number is unknown or of the other gender: unclear
        if noun.en not in {w.lower() for w in ENGLISH_WORD.findall(doc.sources[j])}:
            return None
        if any(h.start > nearest.start() for h in pronouns):
            return None
        return j, noun
    return None


def _marked(doc: Document, i: int, hit: PronounHit, es: str, nouns: NounLexicon) -> tuple[int, Noun] | None:
    """The marked antecedent, if the lexicon knows it with the pronoun's gender and number, within reach."""
    noun = nouns.by_es.get(es)
    if noun is None or (noun.gender, noun.number) != hit.features:
        return None
    for j in range(i - 1, max(-1, i - 1 - MAX_DISTANCE), -1):
        if es in _words(doc.targets[j]) and noun.en in {w.lower() for w in ENGLISH_WORD.findall(doc.sources[j])}:
            return j, noun
    return None


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
                if not {w.lower() for w in left} <= allowed[0] or not {w.lower() for w in right} <= allowed[1]:
                    problems.append(f"context_{side} differs beyond the antecedent: {left} -> {right}")
    if not changed:
        problems.append("the contexts are identical")
    return problems


def build_balanced_set(
    data: str | Path,
    splits: Sequence[str] = ("dev", "test"),
    out: str | Path | None = None,
    train: str = "train",
    antecedents: str | Path | None = None,
) -> dict[str, Any]:
    """Write OUT/{split}.balanced.jsonl for each split of DATA; the lexicons read DATA/train (and the splits).

    `antecedents`: a TSV of hand-marked antecedents (`load_antecedents`) to use instead of the mined ones.
    """
    marked = load_antecedents(antecedents) if antecedents else None
    data = Path(data)
    out = Path(out or data)
    documents = {split: read_corpus(str(data / split), "en", "es") for split in splits}
    train_docs = read_corpus(str(data / train), "en", "es")
    every = train_docs + [d for docs in documents.values() for d in docs]
    lexicon = Lexicon([t for d in every for t in d.targets])
    nouns = NounLexicon.build(train_docs, lexicon)
    counts: dict[str, Any] = {"nouns": len(nouns.by_es)}
    for split, docs in documents.items():
        items = mine_pairs(docs, lexicon, nouns, antecedents=marked)
        path = out / f"{split}.balanced.jsonl"
        path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items), encoding="utf-8")
        counts[path.name] = {
            "pairs": len(items) // 2,
            **dict(sorted(Counter(f"distance_{x['distance']}" for x in items[::2]).items())),
            **dict(sorted(Counter(str(x["kind"]) for x in items[::2]).items())),
        }
    return counts
