"""Generated stories: varied, yet their last sentence's gender depends on the antecedent alone."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from corpora.stories import ENDINGS, FILLERS, NOUNS, make_stories
from nmt.cli import main
from translator.corpus import read_corpus


def test_the_last_source_sentence_never_reveals_the_gender() -> None:
    genders = collections.defaultdict(set)
    for story in make_stories(4000, seed=3):
        feminine = story.document.targets[-1] in {e[3] for e in ENDINGS}
        genders[story.document.sources[-1]].add(feminine)
    assert set(genders) == {e[1] for e in ENDINGS}
    assert all(g == {True, False} for g in genders.values())


def test_the_antecedent_is_the_first_sentence_and_one_to_three_back() -> None:
    stories = make_stories(600, seed=4)
    for story in stories:
        doc = story.document
        assert len(doc.sources) == 1 + story.distance
        assert any(f" {es}" in doc.targets[0] for es, _ in NOUNS.values())
        between = set(doc.sources[1:-1])
        assert between <= {f[0] for f in FILLERS}
        ref, variant = doc.targets[-1], story.contrastive
        assert ref != variant and len(ref.split()) == len(variant.split())
    assert collections.Counter(s.distance for s in stories) == {1: 200, 2: 200, 3: 200}


def test_the_spanish_introduction_agrees_with_the_noun() -> None:
    """Determiners and adjectives take the noun's gender: 'una vaca nueva', 'un perro viejo'."""
    masculine = {"ese", "un", "el", "nuevo", "viejo"}
    feminine = {"esa", "una", "la", "nueva", "vieja"}
    gender = dict(NOUNS.values())
    for story in make_stories(500, seed=5):
        words = set(story.document.targets[0].rstrip(".").split())
        (noun,) = words & set(gender)
        wrong = masculine - {"el"} if gender[noun] else feminine  # "el" also in "en el jardín"
        assert not words & wrong, story.document.targets[0]


def test_prepare_mix_puts_stories_beside_the_first_corpus(tmp_path: Path) -> None:
    stories, first, mix = tmp_path / "stories", tmp_path / "first", tmp_path / "mix"
    assert main(["prepare", "synthetic-stories", "--out", str(stories), "--docs", "30"]) == 0
    assert main(["prepare", "synthetic-pronouns", "--out", str(first), "--docs", "20"]) == 0
    assert main(["prepare", "mix", "--data", str(first), "--also", str(stories), "--out", str(mix)]) == 0
    train = read_corpus(mix / "train", "en", "es")
    assert len(train) == 50 and len({d.doc_id for d in train}) == 50  # clashing ids were prefixed
    assert train[:20] == read_corpus(first / "train", "en", "es")
    assert [d.sources for d in train[20:]] == [d.sources for d in read_corpus(stories / "train", "en", "es")]
    assert read_corpus(mix / "dev", "en", "es") == read_corpus(first / "dev", "en", "es")


def test_the_readme_example_is_asked_of_every_noun(tmp_path: Path) -> None:
    """readme.contrastive.jsonl: "Look at that NOUN. / It is so cute!" for each noun, lindo against linda."""
    assert main(["prepare", "synthetic-stories", "--out", str(tmp_path), "--docs", "3"]) == 0
    items = [json.loads(line) for line in (tmp_path / "readme.contrastive.jsonl").read_text().splitlines()]
    assert len(items) == len(NOUNS)
    cow = next(i for i in items if i["context_src"] == ["Look at that cow."])
    assert (cow["context_tgt"], cow["src"], cow["ref"], cow["contrastive"], cow["kind"]) == (
        ["Mira esa vaca."],
        "It is so cute!",
        "¡Es muy linda!",
        ["¡Es muy lindo!"],
        "feminine",
    )
    for item in items:
        (noun,) = item["context_src"][0].removeprefix("Look at that ").rstrip(".").split()
        spanish, feminine = NOUNS[noun]
        assert item["context_tgt"] == [f"Mira {'esa' if feminine else 'ese'} {spanish}."]
        assert item["ref"] == ("¡Es muy linda!" if feminine else "¡Es muy lindo!")
        assert item["kind"] == ("feminine" if feminine else "masculine")
    assert {i["kind"] for i in items} == {"feminine", "masculine"}
