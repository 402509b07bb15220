"""A balanced pronoun test set from real text (the design of Bawden et al. 2018).

Every item is a sentence of the dev or test chapters whose Spanish reference
has a gendered pronoun (él/ella, ellos/ellas, the demonstratives, or an
object clitic, as `corpora.contrapro` finds them) whose antecedent is a noun
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

An item is kept only when the twins differ only where they should (`corpora/twincheck.py: check_pair`) and:

- the English current sentence has it/its/they/them/their, and no he/she/him/her when the pronoun is
  singular (its English says nothing of the gender), and neither the antecedent noun nor its
  replacement occurs in it or in its reference;
- mined automatically: the antecedent is the nearest noun of the pronoun's number before it (either
  gender; none in the current sentence before the pronoun), it has the pronoun's gender, and no
  pronoun of that number stands between them; hand-marked (`--antecedents`): as marked, and the
  pronouns of its gender and number between it and the current sentence refer to it and flip with it;
- the current reference's gendered pronouns all have one gender and number (they all flip);
- a singular person noun is never used (English would say he/she about it).

At every occurrence of the antecedent in the Spanish context the words that agree with it flip with
it (`corpora/swap.py: swap_spanish`): the determiner (el/la, un/una, este/esta, nuestro/nuestra, del <-> de la,
al <-> á la, todo/toda before them) and adjectives next to it whose other-gender form is also a
corpus word (santo/santa); English "a"/"an" before the English noun follows the new noun.

The replacement is, among the 40 most frequent lexicon nouns of the other gender, same number and
class that occur nowhere in the document up to the current sentence, the one whose neighbours in
the training text are most like the antecedent's (cosine of neighbour-word counts): a lamb becomes a
sheep, not a mercy. Deterministic: the same corpus gives the same set.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpora.contrapro import (
    ENGLISH_PERSON,
    ENGLISH_PRONOUN,
    WORD,
    Lexicon,
    PronounHit,
    _match_case,
    find_pronouns,
)
from corpora.swap import NO_GENDER, PROCLITICS, flip_hits, swap_english, swap_spanish, word_set
from corpora.twincheck import check_pair
from translator.corpus import Document, read_corpus

ENGLISH_WORD = re.compile(r"[A-Za-z]+")
MAX_DISTANCE = 3
MIN_DICE = 0.3
CANDIDATES = 200  # the replacement is the most alike of this many of the most frequent fitting nouns

ENGLISH_STOP = word_set(
    "the and that this with from they them their have shall will which for not all who whom what your "
    "you one two three four five six seven eight nine ten twenty thirty forty fifty hundred thousand "
    "many much some any every each more most other such own same first second third half"
)
# Words that articles precede but that are no antecedent to swap: numerals, quantifiers, relatives.
NOT_NOUNS = word_set(
    "dos tres cuatro cinco seis siete ocho nueve diez once doce veinte treinta cuarenta cincuenta ciento "
    "cien mil millares cuales cual mismo misma mismos mismas otro otra otros otras demás tales muchos "
    "muchas pocos pocas todos todas unos unas ambos ambas primero primera primeros primeras postrero "
    "postrera"
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

    def __init__(self, nouns: Sequence[Noun], contexts: dict[str, Counter[str]] | None = None) -> None:
        self.by_es = {n.es: n for n in nouns}
        self.contexts = contexts or {}  # Spanish noun -> the words around it in the corpus (for `closest`)

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
        return cls(nouns, _contexts([t for d in docs for t in d.targets], lexicon.nouns.keys()))

    def replacements(self, noun: Noun) -> list[Noun]:
        """The most frequent nouns of the other gender, same number and class (person or thing)."""
        fits = [
            n
            for n in self.by_es.values()
            if n.gender != noun.gender and n.number == noun.number and n.person == noun.person
        ]
        return sorted(fits, key=lambda n: (-n.count, n.es))[:CANDIDATES]

    def closest(self, noun: Noun, choices: Sequence[Noun]) -> Noun:
        """The choice whose corpus contexts are most like the noun's (cosine of neighbour counts), so a
        lamb becomes a sheep rather than a mercy; the most frequent choice when the noun has no contexts."""
        mine = self.contexts.get(noun.es)
        if not mine:
            return choices[0]
        return max(choices, key=lambda c: _cosine(mine, self.contexts.get(c.es, Counter())))


def _contexts(sentences: Sequence[str], nouns: Iterable[str], window: int = 3) -> dict[str, Counter[str]]:
    """For each noun, how often each content word (longer than three letters) stands within `window` of it."""
    wanted = set(nouns)
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for sentence in sentences:
        tokens = [w.lower() for w in WORD.findall(sentence)]
        for k, w in enumerate(tokens):
            if w in wanted:
                near = tokens[max(0, k - window) : k] + tokens[k + 1 : k + 1 + window]
                out[w].update(x for x in near if len(x) > 3 and x not in NO_GENDER)
    return dict(out)


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _pure_genders(sentences: Sequence[str], lexicon: Lexicon) -> dict[str, tuple[str, str]]:
    """Nouns of `lexicon` whose article votes agree on one gender and number at least 90% of the time."""
    from corpora.contrapro import ARTICLES

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


@dataclass(frozen=True)
class Marked:
    """A hand-marked antecedent: the Spanish noun, and (when the lexicon lacks it) its English and class."""

    es: str
    en: str | None = None
    person: bool = False


Antecedents = dict[tuple[str, int], Marked]  # (document id, 0-based verse) -> its antecedent


def load_antecedents(path: str | Path) -> Antecedents:
    """Hand-marked antecedents: TSV lines `doc_id<TAB>verse (0-based)<TAB>Spanish noun[<TAB>English[<TAB>person]]`."""
    marked: Antecedents = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        if not 3 <= len(fields) <= 5 or not fields[1].isdigit() or not fields[2] or fields[4:] not in ([], ["person"]):
            raise ValueError(
                f"{path}:{number}: expected doc_id<TAB>verse<TAB>noun[<TAB>english[<TAB>person]]: {line!r}"
            )
        english = fields[3].lower() if len(fields) > 3 else None
        marked[fields[0], int(fields[1])] = Marked(fields[2].lower(), english, fields[4:] == ["person"])
    return marked


def mine_pairs(
    documents: Sequence[Document],
    lexicon: Lexicon,
    nouns: NounLexicon,
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
            for twins in _pairs_at(doc, i, lexicon, nouns, marked):
                pair = f"{doc.doc_id}:{i}"
                items += [{"pair": pair, "twin": t, **twin} for t, twin in enumerate(twins)]
    return items


def _pairs_at(
    doc: Document, i: int, lexicon: Lexicon, nouns: NounLexicon, marked: Marked | None = None
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
    if noun.person and noun.number == "sg":
        return []  # English would call it he/she: the English context would have to change too
    seen_es = {w for t in doc.targets[: i + 1] for w in _words(t)}
    seen_en = {w.lower() for s in doc.sources[: i + 1] for w in ENGLISH_WORD.findall(s)}
    if noun.es in _words(tgt) or noun.en in {w.lower() for w in ENGLISH_WORD.findall(src)}:
        return []
    choices = [n for n in nouns.replacements(noun) if n.es not in seen_es and n.en not in seen_en]
    if not choices:
        return []
    other = nouns.closest(noun, choices)
    coreferent = _coreferent(doc, i, j, noun, hit, lexicon)
    words = frozenset(lexicon.words)
    context_tgt = [
        swap_spanish(flip_hits(t, coreferent[k]), noun.es, other.es, words) for k, t in enumerate(doc.targets[:i])
    ]
    context_src = [swap_english(s, noun.en, other.en) for s in doc.sources[:i]]
    flipped = flip_hits(tgt, hits)
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


def _coreferent(doc: Document, i: int, j: int, noun: Noun, hit: PronounHit, lexicon: Lexicon) -> list[list[PronounHit]]:
    """Per context sentence, the pronouns of the antecedent's gender and number after it: they refer to it
    (the mined antecedents have none; a hand-marked one may) and flip with it."""
    out: list[list[PronounHit]] = [[] for _ in range(i)]
    for k in range(j, i):
        last = max((m.end() for m in WORD.finditer(doc.targets[k]) if m.group().lower() == noun.es), default=0)
        out[k] = [h for h in gendered_words(doc.targets[k], lexicon) if h.features == hit.features and h.start >= last]
    return out


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


def _marked(doc: Document, i: int, hit: PronounHit, marked: Marked, nouns: NounLexicon) -> tuple[int, Noun] | None:
    """The marked antecedent (from the lexicon, or as marked) in the nearest of the three verses before."""
    noun = nouns.by_es.get(marked.es)
    if marked.en is not None:  # a person's word: the noun agrees with the pronoun that refers to it
        noun = Noun(marked.es, marked.en, hit.features[0], hit.features[1], marked.person, 0)
    if noun is None or (noun.gender, noun.number) != hit.features:
        return None
    for j in range(i - 1, max(-1, i - 1 - MAX_DISTANCE), -1):
        english = {w.lower() for w in ENGLISH_WORD.findall(doc.sources[j])}
        if noun.es in _words(doc.targets[j]) and noun.en in english:
            return j, noun
    return None


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
