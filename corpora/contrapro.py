"""A ContraPro-style pronoun test set mined from a parallel EN->ES corpus.

ContraPro (Müller et al., 2018) takes English "it" whose German translation
is er/sie/es and pairs the reference with variants whose pronoun has the
wrong gender. Spanish drops most subject pronouns, so its gender shows
elsewhere; we mine the forms that are unambiguously pronouns:

- stressed pronouns after a preposition: él / ella, ellos / ellas
  ("descendían por ella" for "descending on it"), and the demonstratives
  éste / ésta, aquél / aquélla and their plurals;
- object clitics attached to a verb: "haberla contaminado", "alzóla",
  "traíanlo" (-lo / -la / -los / -las). A word counts as verb + clitic only
  when what is left after the clitic is itself a word of the corpus
  ("alzó", "traían", "haber"), which rejects "pueblo", "tabernáculo".

A line qualifies when its English side has a gender-less pronoun (it, its,
they, them, their, themselves, itself); each gendered form in its Spanish
side makes one item, whose variant changes that word alone. Singular él / ella
is kept only when the English line has no he/him/she/her (otherwise the
Spanish pronoun most likely renders a person's "him", whose gender English
already gives). The contrastive variant swaps that one word's gender.

Antecedent distance is estimated from a noun-gender lexicon built from the
corpus itself (a word after "el" is masculine singular, after "las" feminine
plural, and so on; a word also seen after "lo", "le" or "se" is a verb): 0
when a noun of the pronoun's gender and number precedes it in the same
Spanish sentence, else the number of sentences back to the nearest
reference sentence with one, "far" beyond three or none.
It is a heuristic, reported as such; only distance >= 1 needs context.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from translator.corpus import Document, read_corpus

ENGLISH_PRONOUN = re.compile(r"\b(it|its|itself|they|them|their|theirs|themselves)\b", re.IGNORECASE)
ENGLISH_PERSON = re.compile(r"\b(he|him|his|himself|she|her|hers|herself)\b", re.IGNORECASE)
WORD = re.compile(r"\w+")

# gendered pronoun -> (its counterpart, (gender, number))
STRESSED = {
    "él": ("ella", ("m", "sg")),
    "ella": ("él", ("f", "sg")),
    "ellos": ("ellas", ("m", "pl")),
    "ellas": ("ellos", ("f", "pl")),
    "éste": ("ésta", ("m", "sg")),
    "ésta": ("éste", ("f", "sg")),
    "éstos": ("éstas", ("m", "pl")),
    "éstas": ("éstos", ("f", "pl")),
    "aquél": ("aquélla", ("m", "sg")),
    "aquélla": ("aquél", ("f", "sg")),
    "aquéllos": ("aquéllas", ("m", "pl")),
    "aquéllas": ("aquéllos", ("f", "pl")),
}
CLITICS = {
    "lo": ("la", ("m", "sg")),
    "la": ("lo", ("f", "sg")),
    "los": ("las", ("m", "pl")),
    "las": ("los", ("f", "pl")),
}
ARTICLES = {"el": ("m", "sg"), "la": ("f", "sg"), "los": ("m", "pl"), "las": ("f", "pl")}
VERB_CLITICS = {"lo", "le", "les", "se", "me", "te", "nos", "os"}
MAX_DISTANCE = 3


@dataclass(frozen=True)
class PronounHit:
    """One gendered pronoun in a Spanish sentence."""

    start: int  # character offsets of the word
    end: int
    replacement: str  # the word with the other gender
    features: tuple[str, str]  # (gender, number)
    kind: str  # "pronoun" or "clitic"


def _plain(word: str) -> str:
    """Lower case without accents: "hízo" and "hizo" are the same stem."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _match_case(word: str, like: str) -> str:
    return word[0].upper() + word[1:] if like[:1].isupper() else word


class Lexicon:
    """What the corpus says about Spanish words: which exist, which nouns have which gender."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self.words: set[str] = set()
        votes: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        verbs = set()  # words seen after a clitic that is never an article ("lo vieron", "se fué")
        for sentence in sentences:
            tokens = [w.lower() for w in WORD.findall(sentence)]
            self.words.update(_plain(w) for w in tokens)
            for before, word in zip(tokens, tokens[1:], strict=False):
                if before in ARTICLES and word not in ARTICLES:
                    votes[word][ARTICLES[before]] += 1  # "la vieron" votes too; `verbs` undoes that
                elif before in VERB_CLITICS:
                    verbs.add(word)
        self.nouns = {
            w: c.most_common(1)[0][0] for w, c in votes.items() if c.most_common(1)[0][1] >= 2 and w not in verbs
        }
        self.verbs = verbs - votes.keys()  # never after an article: "los hirió", not "los ojos"

    def clitic(self, word: str) -> tuple[str, str] | None:
        """("stem", "clitic") when `word` is a verb form plus an object clitic, else None."""
        lower = word.lower()
        for clitic in ("los", "las", "lo", "la"):
            stem = lower[: -len(clitic)]
            if (
                lower.endswith(clitic)
                and len(stem) >= 4
                and stem[-1] != "l"  # "aquel-la" is a determiner: verb forms never end in -l
                and _plain(stem) in self.words
                and lower not in self.nouns
            ):
                return stem, clitic
        return None


def find_pronouns(sentence: str, lexicon: Lexicon) -> list[PronounHit]:
    """Every gendered pronoun or verb-attached clitic in a Spanish sentence."""
    hits = []
    for m in WORD.finditer(sentence):
        word, lower = m.group(), m.group().lower()
        if lower in STRESSED:
            other, features = STRESSED[lower]
            hits.append(PronounHit(m.start(), m.end(), _match_case(other, word), features, "pronoun"))
        elif (split := lexicon.clitic(word)) is not None:
            stem, clitic = split
            other, features = CLITICS[clitic]
            hits.append(PronounHit(m.start(), m.end(), word[: len(stem)] + other, features, "clitic"))
    return hits


def antecedent_distance(document: Document, index: int, hit: PronounHit, lexicon: Lexicon) -> int | str:
    """Sentences back to the nearest noun agreeing with the pronoun (0 = same sentence)."""

    def agrees(text: str) -> bool:
        return any(lexicon.nouns.get(w.lower()) == hit.features for w in WORD.findall(text))

    if agrees(document.targets[index][: hit.start]):
        return 0
    for back in range(1, min(index, MAX_DISTANCE) + 1):
        if agrees(document.targets[index - back]):
            return back
    return "far"


def mine_items(documents: Sequence[Document], lexicon: Lexicon) -> list[dict[str, object]]:
    """Contrastive items (the `nmt score --contrastive` JSON objects) for a corpus split."""
    items = []
    for doc in documents:
        for i, (src, tgt) in enumerate(zip(doc.sources, doc.targets, strict=True)):
            if not ENGLISH_PRONOUN.search(src):
                continue
            for hit in find_pronouns(tgt, lexicon):
                if hit.features[1] == "sg" and hit.kind == "pronoun" and ENGLISH_PERSON.search(src):
                    continue
                items.append(
                    {
                        "doc": doc.doc_id,
                        "line": i,
                        "context_src": list(doc.sources[:i]),
                        "context_tgt": list(doc.targets[:i]),
                        "src": src,
                        "ref": tgt,
                        "contrastive": [tgt[: hit.start] + hit.replacement + tgt[hit.end :]],
                        "distance": antecedent_distance(doc, i, hit, lexicon),
                        "kind": f"{hit.kind}-{hit.features[0]}{hit.features[1]}",
                    }
                )
    return items


def build_contrastive_set(data: str | Path, split: str, out: str | Path, train: str = "train") -> dict[str, int]:
    """Mine `DATA/SPLIT.{en,es,doc}` into OUT (JSON lines); the lexicon also reads the train split."""
    data = Path(data)
    documents = read_corpus(str(data / split), "en", "es")
    lexicon_docs = documents + (read_corpus(str(data / train), "en", "es") if (data / f"{train}.es").exists() else [])
    lexicon = Lexicon([t for d in lexicon_docs for t in d.targets])
    items = mine_items(documents, lexicon)
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    Path(out).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    counts = Counter(f"distance_{item['distance']}" for item in items)
    counts.update(str(item["kind"]) for item in items)
    return {"items": len(items), **dict(sorted(counts.items()))}
