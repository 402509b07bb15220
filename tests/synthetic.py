"""A tiny EN->ES corpus whose second sentence depends on the first.

"look at that dog ." -> "mira ese perro ."   then   "it is very cute ." -> "es muy lindo ."
"look at that cow ." -> "mira esa vaca ."    then   "it is very cute ." -> "es muy linda ."

The second source sentence is identical in both documents; only the noun of
the previous sentence decides the adjective's gender. A sentence-level model
can only guess (50%); a model that carries context can be right every time.
"""

from __future__ import annotations

import random

from translator.corpus import Document

NOUNS = {  # english: (spanish, feminine?)
    "dog": ("perro", False),
    "cat": ("gato", False),
    "horse": ("caballo", False),
    "book": ("libro", False),
    "tree": ("árbol", False),
    "cow": ("vaca", True),
    "house": ("casa", True),
    "table": ("mesa", True),
    "door": ("puerta", True),
    "star": ("estrella", True),
}
ADJECTIVES = {
    "cute": ("lindo", "linda"),
    "tall": ("alto", "alta"),
    "old": ("viejo", "vieja"),
    "new": ("nuevo", "nueva"),
}


def make_documents(n: int, seed: int = 0) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        noun = rng.choice(sorted(NOUNS))
        adj = rng.choice(sorted(ADJECTIVES))
        es_noun, fem = NOUNS[noun]
        det = "esa" if fem else "ese"
        docs.append(
            Document(
                f"d{i}",
                (f"look at that {noun} .", f"it is very {adj} ."),
                (f"mira {det} {es_noun} .", f"es muy {ADJECTIVES[adj][fem]} ."),
            )
        )
    return docs


def contrastive_items(docs: list[Document]) -> list[dict[str, object]]:
    """ContraPro-style JSON items: the reference vs the other gender's adjective."""
    items = []
    for d in docs:
        ref = d.targets[1]
        word = ref.split()[2]
        other = word[:-1] + ("a" if word.endswith("o") else "o")
        items.append(
            {
                "context_src": [d.sources[0]],
                "context_tgt": [d.targets[0]],
                "src": d.sources[1],
                "ref": ref,
                "contrastive": [ref.replace(word, other)],
                "distance": 1,
                "kind": "adjective",
            }
        )
    return items
