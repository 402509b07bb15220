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
`test.contrastive.jsonl` and `readme.contrastive.jsonl` (the README's example with
every noun); `nmt prepare mix` puts them beside the Bible's training split
(`corpora.mix`).
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from pathlib import Path

from corpora import synthetic
from corpora.synthetic import PronounDocument, build_synthetic_corpus, contrastive_item
from translator.corpus import Document

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
INTRODUCTIONS: list[tuple[str, str, tuple[str, str], tuple[str, str] | None]] = [
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


@dataclass(frozen=True)
class Story:
    """The parts of one story, chosen before it is written."""

    noun: str
    intro: int
    fillers: tuple[int, ...]
    ending: int


def make_stories(n: int, seed: int = 0, prefix: str = "story") -> list[PronounDocument]:
    """`n` stories with one to three sentences from the noun to the pronoun (a third each)."""
    rng = random.Random(seed)
    nouns = sorted(NOUNS)
    out = []
    for i in range(n):
        fillers = tuple(rng.sample(range(len(FILLERS)), i % 3))
        story = Story(rng.choice(nouns), rng.randrange(len(INTRODUCTIONS)), fillers, rng.randrange(len(ENDINGS)))
        out.append(write_story(story, f"{prefix}{i}"))
    return out


def write_story(story: Story, doc_id: str) -> PronounDocument:
    """The story's document, and its last sentence with the other gender (the contrastive variant)."""
    es_noun, feminine = NOUNS[story.noun]
    en_intro, es_intro, det, adj = INTRODUCTIONS[story.intro]
    spanish_intro = es_intro.format(det=det[feminine], n=es_noun, adj=adj[feminine] if adj else "")
    sources, targets = [en_intro.format(n=story.noun)], [spanish_intro]
    for f in story.fillers:
        sources.append(FILLERS[f][0])
        targets.append(FILLERS[f][1])
    kind, en_last, es_masc, es_fem = ENDINGS[story.ending]
    sources.append(en_last)
    targets.append(es_fem if feminine else es_masc)
    doc = Document(doc_id, tuple(sources), tuple(targets))
    return PronounDocument(doc, es_masc if feminine else es_fem, 1 + len(story.fillers), kind)


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
    """Write the stories as `corpora.synthetic` writes its documents (splits and contrastive items),
    and the README example over every noun (`readme.contrastive.jsonl`)."""
    counts = build_synthetic_corpus(out, train_docs, seed, make=make_stories)
    lines = [json.dumps(contrastive_item(d), ensure_ascii=False) for d in readme_stories()]
    (Path(out) / "readme.contrastive.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {**counts, "readme_items": len(lines)}
