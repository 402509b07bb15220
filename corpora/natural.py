"""Hand-written natural pronoun twins: a context test that no generator of this project wrote.

The stories' test documents come from the templates that wrote the training
stories, so a model that learnt the templates passes them. This set was written
by hand, sentence by sentence (`corpora/data/natural-twins.txt`, with its
provenance): everyday two- to four-sentence documents whose last sentence says
"it" (or "they"/"them") of a thing named one to three sentences before, with
people of either gender in between, and whose Spanish shows the thing's gender
in a clitic (lo/la, los/las, attached or not), a stressed pronoun (con él /
con ella, de ellos / de ellas) or an agreeing adjective or article.

Each block of the file is a twin pair: the same document told of a masculine
and of a feminine thing ("an umbrella" / "a jacket"), sharing every other
sentence, the last English sentence and the two Spanish candidates. Twin A
scores the masculine reference against the feminine one, twin B the other way
round, so a model that cannot see the context prefers the same candidate in
both and scores exactly 50% (pair accuracy 0); `nmt score` reports the pairs,
their lean and the sign test from the items' `pair` field.

`nmt prepare natural-twins --out DIR` writes `DIR/natural-twins.contrastive.jsonl`
(for `nmt score --contrastive`) and the documents themselves as
`DIR/natural-twins.{en,es,doc}` (both twins, for `nmt translate` or BLEU).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from corpora.synthetic import write_contrastive
from translator.corpus import Document, write_parallel

SOURCE = Path(__file__).parent / "data" / "natural-twins.txt"
KINDS = {"adjective", "clitic", "pronoun"}

Sentence = tuple[str, str]  # (English, Spanish)


@dataclass(frozen=True)
class TwinPair:
    """One block of the source file: a document told of a masculine and of a feminine thing."""

    pair_id: str
    kind: str  # adjective, clitic or pronoun, "-pl" when the thing is plural
    nouns: tuple[str, str]  # the Spanish antecedents' head nouns: (masculine, feminine)
    before: tuple[Sentence, ...]  # shared sentences before the antecedent's
    antecedents: tuple[Sentence, Sentence]  # the antecedent's sentence: (masculine twin, feminine twin)
    between: tuple[Sentence, ...]  # shared sentences between the antecedent's and the last
    last: str  # the last English sentence, the same in both twins
    references: tuple[str, str]  # its Spanish: (after the masculine thing, after the feminine thing)

    @property
    def distance(self) -> int:
        """Sentences from the antecedent's to the last: 1 when it is the one just before."""
        return len(self.between) + 1

    def document(self, twin: int) -> Document:
        """Twin 0 (masculine) or 1 (feminine) as a document."""
        sentences = [*self.before, self.antecedents[twin], *self.between, (self.last, self.references[twin])]
        suffix = "mf"[twin]
        return Document(
            f"natural-{self.pair_id}-{suffix}", tuple(s[0] for s in sentences), tuple(s[1] for s in sentences)
        )

    def items(self) -> list[dict[str, object]]:
        """The two `nmt score --contrastive` items: each twin's reference against the other's."""
        out: list[dict[str, object]] = []
        for twin in (0, 1):
            doc = self.document(twin)
            out.append(
                {
                    "context_src": list(doc.sources[:-1]),
                    "context_tgt": list(doc.targets[:-1]),
                    "src": self.last,
                    "ref": self.references[twin],
                    "contrastive": [self.references[1 - twin]],
                    "distance": self.distance,
                    "kind": self.kind,
                    "pair": f"natural-{self.pair_id}",
                    "twin": twin,
                    "doc": doc.doc_id,
                    "antecedent": self.nouns[twin],
                    "gender": ("masculine", "feminine")[twin],
                }
            )
        return out


class TwinFormatError(ValueError):
    """The source file is malformed (the message names file and line)."""


def load_twins(path: str | Path = SOURCE) -> list[TwinPair]:
    """Every twin pair of a source file in the format its header describes."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    pairs = [_parse_block(block, str(path)) for block in _blocks(lines)]
    seen = Counter(p.pair_id for p in pairs)
    if repeated := sorted(i for i, n in seen.items() if n > 1):
        raise TwinFormatError(f"{path}: pair ids used twice: {', '.join(repeated)}")
    return pairs


def _blocks(lines: Sequence[str]) -> Iterator[list[tuple[int, str]]]:
    """Blank-line separated blocks of numbered lines, comments left out."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _parse_block(block: list[tuple[int, str]], path: str) -> TwinPair:
    """One `@` header, then `=` shared, one `m` and one `f` antecedent line, and a `>` last line."""
    (number, header), *body = block
    fields = header.split()
    if len(fields) != 5 or fields[0] != "@" or fields[2].removesuffix("-pl") not in KINDS:
        raise TwinFormatError(f"{path}:{number}: expected '@ ID KIND MASCULINE FEMININE', got {header!r}")
    tags = "".join(line[:1] for _, line in body)
    if (
        tags.count("m") != 1
        or tags.count("f") != 1
        or "mf" not in tags
        or not tags.endswith(">")
        or tags.count(">") != 1
    ):
        raise TwinFormatError(f"{path}:{number}: a pair needs '=' lines, one 'm' then one 'f' line, and a last '>'")
    parts = [_fields(line, path, n) for n, line in body]
    at = tags.index("m")
    last_en, *refs = parts[-1]
    if len(refs) != 2 or any(len(p) != 2 for p in parts[:-1]):
        raise TwinFormatError(
            f"{path}:{number}: '>' takes English | masculine | feminine, the others English | Spanish"
        )
    return TwinPair(
        pair_id=fields[1],
        kind=fields[2],
        nouns=(fields[3], fields[4]),
        before=tuple(_sentence(p) for p in parts[:at]),
        antecedents=(_sentence(parts[at]), _sentence(parts[at + 1])),
        between=tuple(_sentence(p) for p in parts[at + 2 : -1]),
        last=last_en,
        references=(refs[0], refs[1]),
    )


def _fields(line: str, path: str, number: int) -> list[str]:
    tag, _, rest = line.partition(" ")
    fields = [f.strip() for f in rest.split(" | ")]
    if tag not in {"=", "m", "f", ">"} or not all(fields):
        raise TwinFormatError(f"{path}:{number}: expected a line '= | m | f | > English | Spanish', got {line!r}")
    return fields


def _sentence(fields: list[str]) -> Sentence:
    return fields[0], fields[1]


def build_natural_twins(out: str | Path, source: str | Path = SOURCE) -> dict[str, int]:
    """Write the items (`natural-twins.contrastive.jsonl`) and both twins' documents (`natural-twins.*`)."""
    out = Path(out)
    pairs = load_twins(source)
    out.mkdir(parents=True, exist_ok=True)
    write_contrastive(out / "natural-twins.contrastive.jsonl", [item for p in pairs for item in p.items()])
    write_parallel(out / "natural-twins", "en", "es", [p.document(twin) for p in pairs for twin in (0, 1)])
    counts = Counter(f"distance_{p.distance}" for p in pairs)
    counts.update(p.kind for p in pairs)
    return {"pairs": len(pairs), "items": 2 * len(pairs), **dict(sorted(counts.items()))}


def prepare(args: argparse.Namespace) -> dict[str, object]:
    """`nmt prepare natural-twins --out DIR` (its row in corpora/cli.py's CORPORA)."""
    return dict(build_natural_twins(args.out))
