"""The hand-written natural twins: they load, pair up, and differ only where the gender must."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest

from corpora.natural import SOURCE, TwinFormatError, load_twins
from corpora.stories import ENDINGS, FILLERS, INTRODUCTIONS, make_stories
from evaluation.scoring import ContrastiveItem, load_contrastive
from nmt.cli import main
from tests.corpora.twins import assert_context_blind_scores_half, masculine_to_feminine, words
from translator.corpus import read_corpus

# masculine -> feminine words that are not the -o/-a, -os/-as or -or/-ora of an adjective or clitic
KNOWN = {"problema": "m", "mapa": "m", "planeta": "m", "poema": "m", "clima": "m", "sistema": "m", "día": "m"}
KNOWN |= {"mano": "f", "foto": "f", "moto": "f", "radio": "f", "miel": "f", "leche": "f", "noche": "f"}


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[ContrastiveItem]:
    out = tmp_path_factory.mktemp("natural")
    assert main(["prepare", "natural-twins", "--out", str(out)]) == 0
    assert len(read_corpus(out / "natural-twins", "en", "es")) == 2 * len(load_twins())
    return load_contrastive(out / "natural-twins.contrastive.jsonl")


def test_the_set_loads_as_twin_pairs_at_distances_one_to_three(items: list[ContrastiveItem]) -> None:
    pairs = collections.defaultdict(list)
    for item in items:
        pairs[item.pair].append(item)
    assert len(pairs) >= 100 and all(len(twins) == 2 for twins in pairs.values())
    for masculine, feminine in pairs.values():
        assert masculine.src == feminine.src  # the same last sentence ...
        assert (masculine.ref, masculine.contrastive) == (feminine.contrastive[0], (feminine.ref,))  # ... swapped
        assert len(masculine.context_src) >= masculine.distance == feminine.distance
        differ = [i for i, (a, b) in enumerate(zip(masculine.context_src, feminine.context_src, strict=True)) if a != b]
        assert differ == [len(masculine.context_src) - masculine.distance]  # only the antecedent's sentence
    distances = collections.Counter(twins[0].distance for twins in pairs.values())
    assert set(distances) == {1, 2, 3} and min(distances.values()) >= 20
    kinds = collections.Counter(str(twins[0].kind) for twins in pairs.values())
    assert {k.removesuffix("-pl") for k in kinds} == {"adjective", "clitic", "pronoun"}
    assert sum(n for k, n in kinds.items() if k.endswith("-pl")) >= 15  # they/them -> ellos/ellas/los/las
    assert_context_blind_scores_half(items)


def test_each_pair_differs_in_the_antecedents_gender_and_nowhere_else() -> None:
    """The twins' antecedents are a masculine and a feminine noun, and the references differ only in
    words that agree with them (lo/la, él/ella, -o/-a, el/la, un/una), masculine after the masculine."""
    genders: dict[str, set[str]] = collections.defaultdict(set)
    for pair in load_twins():
        for twin, noun in enumerate(pair.nouns):
            assert noun in words(pair.antecedents[twin][1]), (pair.pair_id, noun)
            genders[noun].add("mf"[twin])
        masculine, feminine = (words(r) for r in pair.references)
        assert len(masculine) == len(feminine), pair.pair_id
        changed = [(m, f) for m, f in zip(masculine, feminine, strict=True) if m != f]
        assert changed and all(masculine_to_feminine(m, f) for m, f in changed), (pair.pair_id, changed)
    assert all(len(g) == 1 for g in genders.values())  # no noun is both genders
    assert all(genders[noun] == {KNOWN[noun]} for noun in genders.keys() & KNOWN)
    assert len(genders.keys() & KNOWN) >= 10  # the nouns whose ending misleads are in the set


def test_no_document_or_sentence_comes_from_the_stories(items: list[ContrastiveItem]) -> None:
    """Written by hand: none of its sentences is a sentence of the recipe's training stories or of the
    stories' templates, so none of its documents is a training document."""
    sentences = {s for i in items for s in (*i.context_src, i.src)}
    train = make_stories(3000, seed=1000)  # `nmt prepare synthetic-stories --docs 3000` (seed 1)
    assert not sentences & {s for story in train for s in story.document.sources}
    templates = {e[1] for e in ENDINGS} | {f[0] for f in FILLERS}
    assert not sentences & templates
    openings = [re.compile(re.escape(intro).replace(r"\{n\}", r"\w+")) for intro, *_ in INTRODUCTIONS]
    assert not any(o.fullmatch(s) for o in openings for s in sentences)


def test_the_source_has_its_provenance_and_a_malformed_block_names_its_line(tmp_path: Path) -> None:
    header = SOURCE.read_text(encoding="utf-8")[:1200]
    assert "by hand" in header and "2026-12-07" in header and "not" in header and "public domain" in header
    bad = tmp_path / "bad.txt"
    bad.write_text("# comment\n\n@ 1 clitic perro vaca\nm A dog. | Un perro.\n> I saw it. | Lo vi.\n", encoding="utf-8")
    with pytest.raises(TwinFormatError, match=r"bad.txt:3"):
        load_twins(bad)


def test_the_items_are_the_json_nmt_score_reads(items: list[ContrastiveItem], tmp_path: Path) -> None:
    assert main(["prepare", "natural-twins", "--out", str(tmp_path)]) == 0
    raw = [json.loads(line) for line in (tmp_path / "natural-twins.contrastive.jsonl").read_text().splitlines()]
    assert [r["gender"] for r in raw[:2]] == ["masculine", "feminine"] and raw[0]["pair"] == raw[1]["pair"]
    assert len(raw) == len(items)
