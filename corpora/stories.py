"""Generated short stories whose Spanish needs the context, to mix into real training text.

`corpora.synthetic` proves the mechanism with 16 nouns and fixed sentences; a
model trained on it learns a shortcut bound to those patterns and is at
chance on Bible text of the same kind (issue 17's trial). These stories vary
what real text varies, so that the only thing they all share is the rule
"the gender of *it* comes from the noun it refers to":

- about 50 everyday and Bible-world nouns (a cow, a sword, a tent, a camel);
- introductions in several styles, from "Look at that cow." to "And he took
  the staff." (narrative, as the Bible tells), with determiners and
  adjectives that agree;
- zero to two sentences between the noun and the pronoun, some of them about
  people of either gender ("And the woman answered him."): English says
  *it* only of things, so the antecedent is the thing, not the nearest noun;
- an ending whose English is the same for every noun but whose Spanish
  carries the gender: an adjective ("It is so cute!" -> "¡Es muy lindo!" /
  "¡Es muy linda!"), an object clitic on one of many verbs ("I washed it." ->
  "Lo lavé." / "La lavé.", "Bring it here." -> "Tráelo aquí."), or a stressed
  pronoun ("He slept under it." -> "Durmió debajo de él / ella").

`nmt prepare synthetic-stories --out DIR` writes `{train,dev,test}.{en,es,doc}`,
`test.contrastive.jsonl`, `readme.contrastive.jsonl` (the README's example with
every noun) and the held-out-shape split; `nmt prepare mix` puts the training
stories beside the Bible's training split (`corpora.mix`).

No held-out document is a training document: dev, test and the README set are
drawn first and a training story that equals one of them word for word (its
English side) is drawn again (`corpora.synthetic.draw_unseen`).

The held-out test stories are new combinations of the training stories' pieces,
so a model that learnt the templates passes them. The held-out-shape split
(`heldout_shape.*`) is written only with pieces reserved from training: its own
things, introductions, people in between and endings, whose nouns, verbs and
adjectives occur in no training story (`RESERVED`), as twin pairs (the same
story with a masculine and a feminine thing), so that a model that ignores the
context scores exactly 50% on it.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Collection
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from corpora import synthetic
from corpora.synthetic import (
    PronounDocument,
    Sources,
    build_synthetic_corpus,
    contrastive_item,
    draw_unseen,
    write_contrastive,
)
from translator.corpus import Document, write_parallel

NOUNS = {  # english: (spanish, feminine): the synthetic set's, and more
    **synthetic.NOUNS,
    "hat": ("sombrero", False),
    "coat": ("abrigo", False),
    "bird": ("pájaro", False),
    "ring": ("anillo", False),
    "knife": ("cuchillo", False),
    "mirror": ("espejo", False),
    "clock": ("reloj", False),
    "bridge": ("puente", False),
    "lamb": ("cordero", False),
    "camel": ("camello", False),
    "donkey": ("asno", False),
    "altar": ("altar", False),
    "well": ("pozo", False),
    "wall": ("muro", False),
    "vessel": ("vaso", False),
    "garment": ("vestido", False),
    "basket": ("canasto", False),
    "lamp": ("lámpara", True),
    "window": ("ventana", True),
    "bottle": ("botella", True),
    "shirt": ("camisa", True),
    "flower": ("flor", True),
    "apple": ("manzana", True),
    "ball": ("pelota", True),
    "letter": ("carta", True),
    "bed": ("cama", True),
    "sword": ("espada", True),
    "staff": ("vara", True),
    "stone": ("piedra", True),
    "tent": ("tienda", True),
    "cup": ("copa", True),
    "goat": ("cabra", True),
    "sheep": ("oveja", True),
    "tower": ("torre", True),
    "vine": ("vid", True),
}

# (english with {n}, spanish with {det} {n} and maybe {adj}, det (m, f), adj (m, f) or None)
INTRODUCTIONS: list[tuple[str, str, tuple[str, str], tuple[str, str] | None]] = [  # (en, es, det, adj)
    *((en, es, det, None) for en, es, det in synthetic.INTRODUCTIONS),
    ("And he took the {n}.", "Y tomó {det} {n}.", ("el", "la"), None),
    ("The man saw a {n} by the road.", "El hombre vio {det} {n} junto al camino.", ("un", "una"), None),
    ("She bought a new {n}.", "Ella compró {det} {n} {adj}.", ("un", "una"), ("nuevo", "nueva")),
    ("They brought the {n} to the king.", "Trajeron {det} {n} al rey.", ("el", "la"), None),
    ("We have an old {n} in the yard.", "Tenemos {det} {n} {adj} en el patio.", ("un", "una"), ("viejo", "vieja")),
    ("Behold, a {n} stood there.", "He aquí, {det} {n} estaba allí.", ("un", "una"), None),
]
FILLERS = [  # no things of their own, at most people: English would not call them "it"
    *synthetic.FILLERS,
    ("And the woman answered him.", "Y la mujer le respondió."),
    ("Then the old man came back.", "Entonces el anciano volvió."),
    ("The children were very happy.", "Los niños estaban muy contentos."),
    ("And it came to pass on the third day.", "Y aconteció al tercer día."),
    ("My brother did not believe me.", "Mi hermano no me creyó."),
]
# (kind, english, spanish masculine, spanish feminine)
ENDINGS = [
    *synthetic.ENDINGS,
    ("adjective", "It is so cute!", "¡Es muy lindo!", "¡Es muy linda!"),
    ("adjective", "It was beautiful.", "Era hermoso.", "Era hermosa."),
    ("adjective", "It is too small.", "Es demasiado pequeño.", "Es demasiado pequeña."),
    ("adjective", "It was full.", "Estaba lleno.", "Estaba llena."),
    ("adjective", "It looked new.", "Parecía nuevo.", "Parecía nueva."),
    ("clitic", "I washed it.", "Lo lavé.", "La lavé."),
    ("clitic", "He took it home.", "Lo llevó a casa.", "La llevó a casa."),
    ("clitic", "They sold it.", "Lo vendieron.", "La vendieron."),
    ("clitic", "Bring it here.", "Tráelo aquí.", "Tráela aquí."),
    ("clitic", "We found it in the field.", "Lo encontramos en el campo.", "La encontramos en el campo."),
    ("clitic", "Do not touch it.", "No lo toques.", "No la toques."),
    ("clitic", "And he broke it.", "Y lo rompió.", "Y la rompió."),
    ("pronoun", "He slept under it.", "Durmió debajo de él.", "Durmió debajo de ella."),
]


Introduction = tuple[str, str, tuple[str, str], tuple[str, str] | None]

# The held-out shape: pieces that no training story has. Their things, verbs and adjectives (`RESERVED`,
# in English and Spanish) are words of no training piece, and their sentences are no training sentence
# (tests/corpora/test_stories.py checks both). Training and test never draw from these lists.
RESERVED_NOUNS = {
    "plate": ("plato", False),
    "hammer": ("martillo", False),
    "helmet": ("casco", False),
    "bucket": ("cubo", False),
    "pencil": ("lápiz", False),
    "horn": ("cuerno", False),
    "sack": ("saco", False),
    "violin": ("violín", False),
    "shoe": ("zapato", False),
    "glove": ("guante", False),
    "rabbit": ("conejo", False),
    "duck": ("pato", False),
    "ladder": ("escalera", True),
    "rope": ("cuerda", True),
    "candle": ("vela", True),
    "feather": ("pluma", True),
    "bell": ("campana", True),
    "mask": ("máscara", True),
    "trumpet": ("trompeta", True),
    "pillow": ("almohada", True),
    "turtle": ("tortuga", True),
    "frog": ("rana", True),
    "spider": ("araña", True),
    "blanket": ("manta", True),
}
RESERVED_INTRODUCTIONS: list[Introduction] = [
    ("Have you seen my {n}?", "¿Has visto mi {n}?", ("mi", "mi"), None),  # the noun alone says the gender
    ("Grandma gave me a {n} for my birthday.", "La abuela me regaló {det} {n} por mi cumpleaños.", ("un", "una"), None),
    ("Yesterday I noticed a strange {n}.", "Ayer noté {det} {n} {adj}.", ("un", "una"), ("extraño", "extraña")),
    ("Where did you put the {n}?", "¿Dónde pusiste {det} {n}?", ("el", "la"), None),
    ("The teacher showed us a {n}.", "La maestra nos mostró {det} {n}.", ("un", "una"), None),
    ("Someone left this {n} here.", "Alguien dejó {det} {n} aquí.", ("este", "esta"), None),
]
RESERVED_FILLERS = [
    ("Then my cousin arrived.", "Entonces llegó mi primo."),
    ("The neighbours were chatting outside.", "Los vecinos charlaban afuera."),
    ("My aunt smiled at us.", "Mi tía nos sonrió."),
    ("The baby started to cry.", "El bebé empezó a llorar."),
]
RESERVED_ENDINGS = [
    ("adjective", "It was very heavy.", "Era muy pesado.", "Era muy pesada."),
    ("adjective", "It is still wet.", "Todavía está mojado.", "Todavía está mojada."),
    ("adjective", "It was dirty.", "Estaba sucio.", "Estaba sucia."),
    ("clitic", "She hid it.", "Lo escondió.", "La escondió."),
    ("clitic", "We cleaned it carefully.", "Lo limpiamos con cuidado.", "La limpiamos con cuidado."),
    ("clitic", "I will keep it.", "Lo guardaré.", "La guardaré."),
    ("clitic", "He threw it away.", "Lo tiró.", "La tiró."),
    ("clitic", "Can you fix it?", "¿Puedes arreglarlo?", "¿Puedes arreglarla?"),
    ("clitic", "They forgot it.", "Lo olvidaron.", "La olvidaron."),
    ("pronoun", "We walked around it.", "Caminamos alrededor de él.", "Caminamos alrededor de ella."),
    ("pronoun", "I dreamed about it.", "Soñé con él.", "Soñé con ella."),
    ("pronoun", "We played with it.", "Jugamos con él.", "Jugamos con ella."),
]
_RESERVED_WORDS = """
    seen visto gave regaló grandma abuela birthday cumpleaños noticed noté strange extraño extraña put pusiste
    teacher maestra showed mostró left dejó someone alguien arrived llegó cousin primo neighbours vecinos chatting
    charlaban aunt tía smiled sonrió baby bebé started empezó cry llorar heavy pesado pesada wet mojado mojada
    dirty sucio sucia hid escondió cleaned limpiamos carefully cuidado keep guardaré threw tiró fix arreglarlo
    arreglarla forgot olvidaron walked caminamos around alrededor dreamed soñé played jugamos
"""
RESERVED = frozenset(_RESERVED_WORDS.split())  # the reserved pieces' words besides nouns: verbs, adjectives, people


@dataclass(frozen=True)
class Pieces:
    """What stories are written from: the training pieces, or the reserved ones of the held-out shape."""

    nouns: dict[str, tuple[str, bool]]
    introductions: list[Introduction]
    fillers: list[tuple[str, str]]
    endings: list[tuple[str, str, str, str]]


TRAINING = Pieces(NOUNS, INTRODUCTIONS, FILLERS, ENDINGS)
HELDOUT_SHAPE = Pieces(RESERVED_NOUNS, RESERVED_INTRODUCTIONS, RESERVED_FILLERS, RESERVED_ENDINGS)


@dataclass(frozen=True)
class Story:
    """The parts of one story, chosen before it is written."""

    noun: str
    intro: int
    fillers: tuple[int, ...]
    ending: int


def make_stories(
    n: int, seed: int = 0, prefix: str = "story", *, exclude: Collection[Sources] = frozenset()
) -> list[PronounDocument]:
    """`n` training-shaped stories with one to three sentences from the noun to the pronoun (a third each).

    A story whose English is in `exclude` (a held-out document) is drawn again.
    """
    rng = random.Random(seed)
    return [draw_unseen(partial(_story, i=i, doc_id=f"{prefix}{i}"), rng, f"{seed}/{i}", exclude) for i in range(n)]


def _story(rng: random.Random, i: int, doc_id: str) -> PronounDocument:
    """The `i`-th story's random parts, drawn in the order the seed has always drawn them."""
    fillers = tuple(rng.sample(range(len(FILLERS)), i % 3))
    nouns = sorted(NOUNS)
    story = Story(rng.choice(nouns), rng.randrange(len(INTRODUCTIONS)), fillers, rng.randrange(len(ENDINGS)))
    return write_story(story, doc_id)


def write_story(story: Story, doc_id: str, pieces: Pieces = TRAINING) -> PronounDocument:
    """The story's document, and its last sentence with the other gender (the contrastive variant)."""
    es_noun, feminine = pieces.nouns[story.noun]
    en_intro, es_intro, det, adj = pieces.introductions[story.intro]
    spanish_intro = es_intro.format(det=det[feminine], n=es_noun, adj=adj[feminine] if adj else "")
    sources, targets = [en_intro.format(n=story.noun)], [spanish_intro]
    for f in story.fillers:
        sources.append(pieces.fillers[f][0])
        targets.append(pieces.fillers[f][1])
    kind, en_last, es_masc, es_fem = pieces.endings[story.ending]
    sources.append(en_last)
    targets.append(es_fem if feminine else es_masc)
    doc = Document(doc_id, tuple(sources), tuple(targets))
    return PronounDocument(doc, es_masc if feminine else es_fem, 1 + len(story.fillers), kind)


def heldout_shape_twins(pairs: int = 500, seed: int = 0) -> list[tuple[PronounDocument, PronounDocument]]:
    """`pairs` twin stories of the reserved pieces: one story told of a masculine and of a feminine thing.

    The twins share every sentence but the first, in which only the thing (and its determiner or
    adjective) differs, so both score the same two last sentences and a model that cannot see the
    context gets exactly one twin of each pair right. Distances 1 to 3 in turn; no pair twice (a
    repeat would count one story twice).
    """
    rng = random.Random(seed)
    seen: set[tuple[Story, Story]] = set()
    out: list[tuple[PronounDocument, PronounDocument]] = []
    while len(out) < pairs:
        twin = _twin_stories(rng, fillers=len(out) % 3)
        if twin not in seen:
            seen.add(twin)
            doc_id = f"heldout-shape-{len(out)}"
            out.append(
                (write_story(twin[0], f"{doc_id}-m", HELDOUT_SHAPE), write_story(twin[1], f"{doc_id}-f", HELDOUT_SHAPE))
            )
    return out


def _twin_stories(rng: random.Random, fillers: int) -> tuple[Story, Story]:
    """A story of the reserved pieces with `fillers` people in between, told of a masculine and a feminine thing."""
    between = tuple(rng.sample(range(len(RESERVED_FILLERS)), fillers))
    intro, ending = rng.randrange(len(RESERVED_INTRODUCTIONS)), rng.randrange(len(RESERVED_ENDINGS))
    masculine = rng.choice(sorted(n for n, (_, feminine) in RESERVED_NOUNS.items() if not feminine))
    feminine = rng.choice(sorted(n for n, (_, feminine) in RESERVED_NOUNS.items() if feminine))
    return Story(masculine, intro, between, ending), Story(feminine, intro, between, ending)


def twin_items(twins: list[tuple[PronounDocument, PronounDocument]]) -> list[dict[str, object]]:
    """The twins' `nmt score --contrastive` items: `pair` ties them (pair accuracy, lean, sign test)."""
    items = []
    for masculine, feminine in twins:
        pair = masculine.document.doc_id.removesuffix("-m")
        for twin, doc in enumerate((masculine, feminine)):
            items.append({**contrastive_item(doc), "pair": pair, "twin": twin, "doc": doc.document.doc_id})
    return items


def readme_stories() -> list[PronounDocument]:
    """The README's example, "Look at that cow. / It is so cute!", once with every noun.

    The demo shows that one story; this set asks it of every noun, each scored against its other
    gender (`kind` is the noun's gender), so a model that gets the cow right by luck shows up.
    """
    intro = next(i for i, (en, *_) in enumerate(INTRODUCTIONS) if en == "Look at that {n}.")
    ending = next(i for i, (_, en, *_) in enumerate(ENDINGS) if en == "It is so cute!")
    gender = {False: "masculine", True: "feminine"}
    return [
        dataclasses.replace(write_story(Story(noun, intro, (), ending), f"readme-{noun}"), kind=gender[NOUNS[noun][1]])
        for noun in sorted(NOUNS)
    ]


def build_story_corpus(out: str | Path, train_docs: int = 20_000, seed: int = 1) -> dict[str, int]:
    """Write the stories as `corpora.synthetic` writes its documents (splits and contrastive items), the
    README example over every noun (`readme.contrastive.jsonl`) and the held-out-shape twins
    (`heldout_shape.{en,es,doc}` and `heldout_shape.contrastive.jsonl`).

    The README set is held out of training too: no training story is one of its documents.
    """
    out = Path(out)
    readme = readme_stories()
    held_out = [d.document.sources for d in readme]
    counts = build_synthetic_corpus(out, train_docs, seed, make=make_stories, held_out=held_out)
    write_contrastive(out / "readme.contrastive.jsonl", [contrastive_item(d) for d in readme])
    twins = heldout_shape_twins(seed=seed * 1000 + 3)
    write_parallel(out / "heldout_shape", "en", "es", [d.document for pair in twins for d in pair])
    write_contrastive(out / "heldout_shape.contrastive.jsonl", twin_items(twins))
    return {**counts, "readme_items": len(readme), "heldout_shape_pairs": len(twins)}
