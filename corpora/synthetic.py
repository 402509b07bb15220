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
and `test.contrastive.jsonl` (ContraPro-style items for `nmt score`). Dev and test
are drawn first and no training document is, word for word on its source side,
one of theirs: a colliding training document is drawn again (`draw_unseen`), so a
held-out score is never a score on training documents.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

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


Sources = tuple[str, ...]  # a document's source side: what "word for word the same document" compares
MAX_REDRAWS = 10_000


def make_documents(
    n: int,
    seed: int = 0,
    prefix: str = "doc",
    nouns: Sequence[str] | None = None,
    exclude: Collection[Sources] = frozenset(),
) -> list[PronounDocument]:
    """`n` documents, half with the noun one sentence back, half two; `nouns` limits the choice (tests).

    A document whose source side is in `exclude` is drawn again (`draw_unseen`).
    """
    rng = random.Random(seed)
    choices = sorted(nouns or NOUNS)
    return [
        draw_unseen(partial(_document, i=i, doc_id=f"{prefix}{i}", choices=choices), rng, f"{seed}/{i}", exclude)
        for i in range(n)
    ]


def _document(rng: random.Random, i: int, doc_id: str, choices: Sequence[str]) -> PronounDocument:
    """The `i`-th document's random parts (the draws in the order the seed has always made them)."""
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
    doc = Document(doc_id, tuple(sources), tuple(targets))
    return PronounDocument(doc, es_masc if feminine else es_fem, distance, kind)


def draw_unseen(
    draw: Callable[[random.Random], PronounDocument], rng: random.Random, key: str, exclude: Collection[Sources]
) -> PronounDocument:
    """`draw(rng)`, drawn again while its source side is in `exclude` (documents held out of training).

    The draws again come from a generator of their own, seeded by `key` (the seed and the document's
    index), so the documents after a collision are the ones the seed gives without `exclude`: only the
    colliding documents change, and the corpus stays deterministic for its seed.
    """
    doc = draw(rng)
    retry = random.Random(key)
    for _ in range(MAX_REDRAWS):
        if doc.document.sources not in exclude:
            return doc
        doc = draw(retry)
    raise ValueError(f"document {key}: every draw is a held-out document (the generator's space is exhausted)")


class Generator(Protocol):
    """(documents, seed, id prefix, source sides to avoid) -> documents: `make_documents`, `make_stories`."""

    def __call__(
        self, n: int, seed: int, prefix: str, *, exclude: Collection[Sources] = frozenset()
    ) -> list[PronounDocument]: ...


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
    out: str | Path,
    train_docs: int = 20_000,
    seed: int = 1,
    make: Generator = make_documents,
    held_out: Iterable[Sources] = (),
) -> dict[str, int]:
    """Write the corpus (train / dev / test from different seeds) and the test set's contrastive items.

    `make` generates the documents (`corpora.stories.make_stories` for the varied stories). Dev and
    test are drawn first, with the seeds they always had; then training, redrawing any document whose
    source side is a dev or test document or one of `held_out` (other evaluation sets, such as the
    stories' README set), so that no held-out document is a training document word for word.
    """
    out = Path(out)
    splits = {"dev": make(500, seed * 1000 + 1, "dev-"), "test": make(1000, seed * 1000 + 2, "test-")}
    unseen = {d.document.sources for docs in splits.values() for d in docs} | set(held_out)
    splits = {"train": make(train_docs, seed * 1000, "train-", exclude=unseen), **splits}
    counts = {}
    for split, docs in splits.items():
        write_parallel(out / split, "en", "es", [d.document for d in docs])
        counts[f"{split}_sentences"] = sum(len(d.document.sources) for d in docs)
    write_contrastive(out / "test.contrastive.jsonl", [contrastive_item(d) for d in splits["test"]])
    counts["contrastive_items"] = len(splits["test"])
    return counts


def write_contrastive(path: Path, items: Sequence[dict[str, object]]) -> None:
    """JSON lines that `nmt score --contrastive` reads."""
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
