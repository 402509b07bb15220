"""A synthetic EN->ES corpus where the last sentence's Spanish depends only on an earlier noun.

    Look at that cow.      -> Mira esa vaca.
    Nobody said anything.  -> Nadie dijo nada.          (distance 2 only)
    I see it every day.    -> La veo todos los días.    ("Lo veo" after "that dog")

Each document introduces one noun, optionally adds a gender-neutral filler
sentence, and ends with a sentence whose English is the same for every noun
but whose Spanish carries the noun's gender: an adjective (-o/-a), an object
clitic (lo/la, also attached: comprarlo/comprarla) or a stressed pronoun
(él/ella). A sentence-level model sees only that last English sentence and
can do no better than chance on the gender; a model that carries the
document context can be right every time.

`nmt prepare synthetic-pronouns --out DIR` writes `{train,dev,test}.{en,es,doc}`
and `test.contrastive.jsonl` (ContraPro-style items for `nmt score`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from translator.corpus import Document, write_parallel

NOUNS = {  # english: (spanish, feminine)
    "dog": ("perro", False),
    "cat": ("gato", False),
    "horse": ("caballo", False),
    "book": ("libro", False),
    "tree": ("árbol", False),
    "car": ("coche", False),
    "cake": ("pastel", False),
    "boat": ("barco", False),
    "cow": ("vaca", True),
    "house": ("casa", True),
    "table": ("mesa", True),
    "door": ("puerta", True),
    "star": ("estrella", True),
    "chair": ("silla", True),
    "box": ("caja", True),
    "key": ("llave", True),
}

# First sentences: (english with {n}, spanish with {det} {n} where det is (masculine, feminine)).
INTRODUCTIONS = [
    ("Look at that {n}.", "Mira {det} {n}.", ("ese", "esa")),
    ("There is a {n} in the garden.", "Hay {det} {n} en el jardín.", ("un", "una")),
    ("My sister has a {n}.", "Mi hermana tiene {det} {n}.", ("un", "una")),
    ("I found the {n} yesterday.", "Encontré {det} {n} ayer.", ("el", "la")),
]
FILLERS = [  # no nouns with a gender of their own: nothing to confuse the antecedent with
    ("Nobody said anything.", "Nadie dijo nada."),
    ("We waited a little.", "Esperamos un poco."),
    ("Everyone laughed.", "Todos se rieron."),
]
# Last sentences: (kind, english, spanish masculine, spanish feminine).
ENDINGS = [
    ("adjective", "It is very pretty.", "Es muy bonito.", "Es muy bonita."),
    ("adjective", "It is very old.", "Es muy viejo.", "Es muy vieja."),
    ("adjective", "It is new.", "Es nuevo.", "Es nueva."),
    ("clitic", "I see it every day.", "Lo veo todos los días.", "La veo todos los días."),
    ("clitic", "I want to buy it.", "Quiero comprarlo.", "Quiero comprarla."),
    ("clitic", "She painted it red.", "Lo pintó de rojo.", "La pintó de rojo."),
    ("pronoun", "I sat next to it.", "Me senté junto a él.", "Me senté junto a ella."),
    ("pronoun", "We talked about it.", "Hablamos de él.", "Hablamos de ella."),
]


@dataclass(frozen=True)
class PronounDocument:
    """A generated document, and what its last sentence would say with the other gender."""

    document: Document
    contrastive: str
    distance: int  # sentences between the noun and the last sentence, plus one
    kind: str


def make_documents(
    n: int, seed: int = 0, prefix: str = "doc", nouns: Sequence[str] | None = None
) -> list[PronounDocument]:
    """`n` documents, half with the noun one sentence back, half two; `nouns` limits the choice (tests)."""
    rng = random.Random(seed)
    choices = sorted(nouns or NOUNS)
    out = []
    for i in range(n):
        noun = rng.choice(choices)
        es_noun, feminine = NOUNS[noun]
        en_intro, es_intro, dets = rng.choice(INTRODUCTIONS)
        kind, en_last, es_masc, es_fem = rng.choice(ENDINGS)
        sources = [en_intro.format(n=noun)]
        targets = [es_intro.format(det=dets[feminine], n=es_noun)]
        distance = 1 + i % 2
        if distance == 2:
            en_fill, es_fill = rng.choice(FILLERS)
            sources.append(en_fill)
            targets.append(es_fill)
        sources.append(en_last)
        targets.append(es_fem if feminine else es_masc)
        doc = Document(f"{prefix}{i}", tuple(sources), tuple(targets))
        out.append(PronounDocument(doc, es_masc if feminine else es_fem, distance, kind))
    return out


Generator = Callable[[int, int, str], list[PronounDocument]]  # (documents, seed, id prefix) -> documents


def contrastive_item(doc: PronounDocument) -> dict[str, object]:
    """The `nmt score --contrastive` JSON object for a document's last sentence."""
    d = doc.document
    return {
        "context_src": list(d.sources[:-1]),
        "context_tgt": list(d.targets[:-1]),
        "src": d.sources[-1],
        "ref": d.targets[-1],
        "contrastive": [doc.contrastive],
        "distance": doc.distance,
        "kind": doc.kind,
    }


def build_synthetic_corpus(
    out: str | Path, train_docs: int = 20_000, seed: int = 1, make: Generator = make_documents
) -> dict[str, int]:
    """Write the corpus (train / dev / test from different seeds) and the test set's contrastive items.

    `make` generates the documents (`corpora.stories.make_stories` for the varied stories).
    """
    out = Path(out)
    sizes = {"train": train_docs, "dev": 500, "test": 1000}
    counts = {}
    for offset, (split, n) in enumerate(sizes.items()):
        docs = make(n, seed * 1000 + offset, f"{split}-")
        write_parallel(out / split, "en", "es", [d.document for d in docs])
        counts[f"{split}_sentences"] = sum(len(d.document.sources) for d in docs)
        if split == "test":
            lines = [json.dumps(contrastive_item(d), ensure_ascii=False) for d in docs]
            (out / "test.contrastive.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
            counts["contrastive_items"] = len(lines)
    return counts
