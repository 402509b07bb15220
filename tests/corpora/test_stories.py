"""Generated stories: varied, yet their last sentence's gender depends on the antecedent alone."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

from corpora.stories import (
    ENDINGS,
    FILLERS,
    INTRODUCTIONS,
    NOUNS,
    RESERVED,
    RESERVED_ENDINGS,
    RESERVED_FILLERS,
    RESERVED_INTRODUCTIONS,
    RESERVED_NOUNS,
    heldout_shape_twins,
    make_stories,
)
from evaluation.scoring import load_contrastive
from nmt.cli import main
from tests.corpora.twins import assert_context_blind_scores_half
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
    assert main(["prepare", "mix", "--corpus-dir", str(first), "--also", str(stories), "--out", str(mix)]) == 0
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


def _sources(path: Path) -> list[tuple[str, ...]]:
    return [d.sources for d in read_corpus(path, "en", "es")]


def _item_sources(path: Path) -> list[tuple[str, ...]]:
    return [(*i.context_src, i.src) for i in load_contrastive(path)]


def test_no_held_out_story_is_a_training_story(tmp_path: Path) -> None:
    """The recipe's stories (3,000, seed 1): dev, test, the README set and the held-out shape are
    none of them a training document word for word (before the dedup: 15 dev, 33 test and 4 README
    documents were), and dev and test are still the documents their seeds always gave."""
    assert main(["prepare", "synthetic-stories", "--docs", "3000", "--out", str(tmp_path)]) == 0
    train = set(_sources(tmp_path / "train"))
    assert len(_sources(tmp_path / "train")) == 3000
    for held_out in (
        _sources(tmp_path / "dev"),
        _sources(tmp_path / "test"),
        _item_sources(tmp_path / "readme.contrastive.jsonl"),
        _sources(tmp_path / "heldout_shape"),
    ):
        assert held_out and not train & set(held_out)
    assert _sources(tmp_path / "test") == [s.document.sources for s in make_stories(1000, 1002, "test-")]


def test_a_training_story_that_is_held_out_is_drawn_again_and_no_other_changes() -> None:
    free = make_stories(300, seed=7)
    held_out = {free[i].document.sources for i in (3, 100, 299)}
    dedup = make_stories(300, seed=7, exclude=held_out)
    assert dedup == make_stories(300, seed=7, exclude=held_out)  # deterministic for a seed
    changed = [i for i, (a, b) in enumerate(zip(free, dedup, strict=True)) if a != b]
    assert changed == [3, 100, 299]
    assert not held_out & {s.document.sources for s in dedup}
    assert [s.distance for s in dedup] == [s.distance for s in free]  # redrawn at the same distance


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _training_vocabulary() -> tuple[set[str], set[str]]:
    """Every word and every sentence template any training story can have, whatever the seed."""
    sentences = {s for intro in INTRODUCTIONS for s in intro[:2]} | {s for pair in FILLERS for s in pair}
    sentences |= {s for ending in ENDINGS for s in ending[1:]}
    words = {w for s in sentences for w in _words(s)}
    words |= {w for english, (spanish, _) in NOUNS.items() for w in _words(f"{english} {spanish}")}
    words |= {w for _, _, det, adj in INTRODUCTIONS for w in _words(" ".join(det + (adj or ())))}
    return words, sentences


def test_no_reserved_word_or_template_occurs_in_training() -> None:
    """The held-out shape's things, verbs, adjectives and people are words of no training piece, its
    introductions, fillers and endings no training sentence, and the recipe's stories hold none of them."""
    words, sentences = _training_vocabulary()
    reserved_nouns = {w for english, (spanish, _) in RESERVED_NOUNS.items() for w in (english, spanish)}
    assert not (reserved_nouns | RESERVED) & words
    reserved = [*RESERVED_INTRODUCTIONS, *RESERVED_FILLERS, *RESERVED_ENDINGS]
    assert not {s for piece in reserved for s in piece if isinstance(s, str)} & sentences
    for piece in reserved:  # every reserved sentence has a reserved word: none is a training sentence in disguise
        english = piece[1] if piece in RESERVED_ENDINGS else piece[0]
        assert isinstance(english, str) and (_words(english) & RESERVED or "{n}" in english), piece
    train = make_stories(3000, seed=1000)  # the recipe's training stories (seed 1, offset 0)
    assert not {w for s in train for text in s.document.sources + s.document.targets for w in _words(text)} & (
        reserved_nouns | RESERVED
    )


def test_the_heldout_shape_twins_differ_in_the_thing_alone(tmp_path: Path) -> None:
    """heldout_shape.contrastive.jsonl: 500 twin pairs of reserved pieces; a context-blind model scores 50%."""
    assert main(["prepare", "synthetic-stories", "--docs", "3", "--out", str(tmp_path)]) == 0
    items = load_contrastive(tmp_path / "heldout_shape.contrastive.jsonl")
    assert len(items) == 1000 and len(_sources(tmp_path / "heldout_shape")) == 1000
    assert len({i.pair for i in items}) == 500
    gender = {spanish: feminine for spanish, feminine in RESERVED_NOUNS.values()}
    for masculine, feminine in zip(items[::2], items[1::2], strict=True):
        assert masculine.pair == feminine.pair and masculine.src == feminine.src
        assert (
            masculine.context_src[1:] == feminine.context_src[1:] and len(masculine.context_src) == masculine.distance
        )
        assert masculine.context_src[0] != feminine.context_src[0]
        assert (masculine.ref, masculine.contrastive) == (feminine.contrastive[0], (feminine.ref,))
        nouns = [(_words(i.context_tgt[0]) & set(gender)).pop() for i in (masculine, feminine)]
        assert [gender[n] for n in nouns] == [False, True]
        assert masculine.src in {e[1] for e in RESERVED_ENDINGS}
    assert collections.Counter(i.distance for i in items) == {1: 334, 2: 334, 3: 332}
    assert_context_blind_scores_half(items)
    assert heldout_shape_twins(20, seed=5) == heldout_shape_twins(20, seed=5) != heldout_shape_twins(20, seed=6)
