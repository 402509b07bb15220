"""The synthetic pronoun corpus: its last sentences depend on context and on nothing else."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from training.synthetic import ENDINGS, NOUNS, build_synthetic_corpus, contrastive_item, make_documents
from translator.cli import main
from translator.corpus import read_corpus
from translator.scoring import load_contrastive


def test_the_last_source_sentence_never_reveals_the_gender() -> None:
    """Every last English sentence occurs after masculine and feminine nouns alike."""
    genders = collections.defaultdict(set)
    for doc in make_documents(2000, seed=3):
        feminine = doc.document.targets[-1] in {e[3] for e in ENDINGS}
        genders[doc.document.sources[-1]].add(feminine)
    assert set(genders) == {e[1] for e in ENDINGS}
    assert all(g == {True, False} for g in genders.values())


def test_reference_and_variant_differ_in_the_gendered_word_only() -> None:
    docs = make_documents(400, seed=4)
    for doc in docs:
        ref, variant = doc.document.targets[-1], doc.contrastive
        assert ref != variant
        assert sum(a != b for a, b in zip(ref.split(), variant.split(), strict=True)) == 1
        noun_sentence = doc.document.targets[-1 - doc.distance]
        assert any(es in noun_sentence for es, _ in NOUNS.values())
    assert collections.Counter(d.distance for d in docs) == {1: 200, 2: 200}
    assert {d.kind for d in docs} == {"adjective", "clitic", "pronoun"}


def test_generation_is_deterministic_per_seed() -> None:
    assert make_documents(50, seed=7) == make_documents(50, seed=7)
    assert make_documents(50, seed=7) != make_documents(50, seed=8)


def test_prepare_writes_a_corpus_and_contrastive_items_that_load(tmp_path: Path) -> None:
    assert main(["prepare", "synthetic-pronouns", "--out", str(tmp_path), "--docs", "100"]) == 0
    train = read_corpus(str(tmp_path / "train"), "en", "es")
    test = read_corpus(str(tmp_path / "test"), "en", "es")
    assert len(train) == 100 and len(test) == 1000
    assert not {d.doc_id for d in train} & {d.doc_id for d in test}
    items = load_contrastive(tmp_path / "test.contrastive.jsonl")
    assert len(items) == 1000
    first = json.loads((tmp_path / "test.contrastive.jsonl").read_text().splitlines()[0])
    assert first["src"] == test[0].sources[-1] and first["context_src"] == list(test[0].sources[:-1])
    assert {i.distance for i in items} == {1, 2}


def test_build_counts(tmp_path: Path) -> None:
    counts = build_synthetic_corpus(tmp_path, train_docs=10, seed=2)
    assert counts["train_sentences"] == 25  # 5 documents of 2 sentences, 5 of 3 and counts["contrastive_items"] == 1000
    assert contrastive_item(make_documents(1)[0])["distance"] == 1
