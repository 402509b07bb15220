"""Tests for corpora.bible: OSIS cleaning, the split rule, and the full build."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from corpora.bible import (
    SPLITS,
    SwordUnavailable,
    build_bible_corpus,
    canonical_verses,
    clean_osis,
    ensure_sword_modules,
    keep_pair,
    parse_imp,
    split_for_chapter,
)

REFERENCE = Path(__file__).resolve().parents[3] / "shared/data/bible-en-es"


# --- clean_osis ------------------------------------------------------------


def test_footnote_removed_and_words_around_it_stay_apart() -> None:
    raw = (
        '<w lemma="strong:H0430">God</w><note placement="foot">'
        '<reference type="annotateRef">1:1 </reference>The Hebrew word “God”.</note>'
        '<w lemma="strong:H1254">created</w>'
    )
    assert clean_osis(raw) == "God created"


def test_multiline_note_removed() -> None:
    assert clean_osis("a<note>one\ntwo</note> b") == "a b"


def test_title_removed() -> None:
    raw = '<title canonical="true" type="psalm">A Psalm by David.</title> <w>Yahweh</w> is my shepherd'
    assert clean_osis(raw) == "Yahweh is my shepherd"


def test_adjacent_w_elements_get_a_space() -> None:
    assert clean_osis("<w>sáca</w><w>lo</w>") == "sáca lo"


def test_other_markup_is_a_word_boundary_too() -> None:
    # The reference corpus keeps the Spanish clitic added by a translator apart.
    raw = "y repartiéron<transChange type='added'>lo</transChange> <w>prestamente</w>"
    assert clean_osis(raw) == "y repartiéron lo prestamente"


def test_milestones_and_divs_stripped() -> None:
    raw = '<div type="x-milestone" sID="pv1"/><div sID="gen26" type="x-p"/><w>God</w> <w>said</w>'
    assert clean_osis(raw) == "God said"


def test_entities_unescaped() -> None:
    assert clean_osis("<w>Tom</w> &amp; <w>Jerry</w> &lt;3 &quot;hi&quot;") == 'Tom & Jerry <3 "hi"'


def test_whitespace_collapsed() -> None:
    assert clean_osis("  a \n\t b  ") == "a b"


def test_no_space_before_closing_punctuation() -> None:
    raw = "<w>earth</w> . <w>light</w> , “<w>day</w> ” ; x : y ! z ? (w ) ’"
    assert clean_osis(raw) == "earth. light, “day”; x: y! z? (w)’"


def test_no_space_after_opening_quotes() -> None:
    raw = "<q>“ <w>Let</w></q> ‘ <w>a</w> ¿ <w>Tienes</w>? ¡ <w>Ay</w>! ( <w>x</w>)"
    assert clean_osis(raw) == "“Let ‘a ¿Tienes? ¡Ay! (x)"


def test_dash_keeps_the_spaces_markup_gives_it() -> None:
    assert clean_osis("<w>forever</w>—”") == "forever —”"
    assert clean_osis("a lie—<w>in</w>") == "a lie— in"


def test_empty_verse_cleans_to_empty() -> None:
    assert clean_osis('<note placement="foot">only a note</note>') == ""


# --- keep_pair -------------------------------------------------------------


def test_keep_pair_requires_both_sides() -> None:
    assert keep_pair("a", "b")
    assert not keep_pair("", "b")
    assert not keep_pair("a", "")


def test_keep_pair_ratio_strictly_inside_one_third_to_three() -> None:
    assert keep_pair("x" * 29, "y" * 10)
    assert not keep_pair("x" * 30, "y" * 10)
    assert keep_pair("x" * 10, "y" * 29)
    assert not keep_pair("x" * 10, "y" * 30)


# --- split rule and keys ---------------------------------------------------


def test_split_rule() -> None:
    assert split_for_chapter(7) == "test"
    assert split_for_chapter(47) == "test"
    assert split_for_chapter(27) == "dev"
    assert split_for_chapter(1187) == "dev"
    assert split_for_chapter(0) == "train"
    assert split_for_chapter(8) == "train"
    counts = {s: 0 for s in SPLITS}
    for i in range(1189):
        counts[split_for_chapter(i)] += 1
    assert counts == {"train": 1129, "dev": 30, "test": 30}


def test_parse_imp_and_canonical_verses() -> None:
    imp = (
        "$$$[ Module Heading ]\n\n$$$I Samuel 0:0\nintro\n$$$I Samuel 1:0\n<chapter/>\n"
        "$$$I Samuel 1:1\nline one\nline two\n$$$I Samuel 1:2\nb\n$$$I Samuel 2:1\nc\n"
    )
    entries = parse_imp(imp)
    assert entries["I Samuel 1:1"] == "line one\nline two"
    verses = list(canonical_verses(list(entries)))
    assert [(v.key, v.doc, v.chapter_index) for v in verses] == [
        ("I Samuel 1:1", "I_Samuel.1", 0),
        ("I Samuel 1:2", "I_Samuel.1", 0),
        ("I Samuel 2:1", "I_Samuel.2", 1),
    ]


# --- full build against the reference ---------------------------------------


def _sword_or_skip() -> None:
    try:
        ensure_sword_modules(install=True)
    except SwordUnavailable as err:
        pytest.skip(f"SWORD modules not installed and cannot be installed here: {err}")


def test_build_matches_reference(tmp_path: Path) -> None:
    _sword_or_skip()
    start = time.perf_counter()
    counts = build_bible_corpus(tmp_path, install=False)
    elapsed = time.perf_counter() - start

    assert counts == {"train": 29644, "dev": 663, "test": 750}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{s}.{ext}" for s in SPLITS for ext in ("en", "es", "doc")
    )
    assert elapsed < 60, f"build took {elapsed:.1f}s"
    if not REFERENCE.is_dir():
        pytest.skip(f"reference corpus not found at {REFERENCE}")
    for split in SPLITS:
        docs = (tmp_path / f"{split}.doc").read_text(encoding="utf-8").splitlines()
        ref_docs = (REFERENCE / f"{split}.doc").read_text(encoding="utf-8").splitlines()
        assert len(docs) == len(ref_docs) == counts[split]
        assert list(dict.fromkeys(docs)) == list(dict.fromkeys(ref_docs))
        for ext in ("doc", "en", "es"):
            name = f"{split}.{ext}"
            assert (tmp_path / name).read_bytes() == (REFERENCE / name).read_bytes(), name
