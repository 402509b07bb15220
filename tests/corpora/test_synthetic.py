"""The synthetic pronoun corpus: its last sentences depend on context and on nothing else."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from corpora.synthetic import ENDINGS, NOUNS, build_synthetic_corpus, contrastive_item, make_documents
from evaluation.scoring import ContrastiveItem, load_contrastive
from nmt.cli import main
from translator.corpus import read_corpus

STEPS = 1500  # a tiny carry model at 600 steps: 53% (not yet); at 1500: 100% at both distances (2026-11-24)


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


def test_only_a_model_with_context_learns_the_generated_pronouns(tmp_path: Path) -> None:
    """Train a tiny `carry` and a tiny `none` model on the same generated documents (four nouns, so
    the test stays short): the sentence-level model stays at chance, the context model does not."""
    import torch

    from evaluation.scoring import score_contrastive
    from tests.conftest import tiny_config
    from training.trainer import train
    from translator.corpus import write_parallel
    from translator.inference import Translator

    nouns = ("dog", "cat", "cow", "house")
    write_parallel(tmp_path / "train", "en", "es", [d.document for d in make_documents(3000, seed=1, nouns=nouns)])
    items = load_items([contrastive_item(d) for d in make_documents(200, seed=3, nouns=nouns)], tmp_path)
    accuracy = {}
    for context in ("carry", "none"):
        cfg = tiny_config(tmp_path / context, max_steps=STEPS).override(
            [f"data.train={tmp_path / 'train'}", f"model.context={context}"]
        )
        torch.manual_seed(0)
        accuracy[context] = score_contrastive(Translator.load(train(cfg) / "last.pt"), items).to_dict()
    assert 0.35 <= accuracy["none"]["accuracy"] <= 0.65  # a coin flip: it never sees the noun
    assert accuracy["carry"]["accuracy"] >= 0.85
    assert all(row["accuracy"] >= 0.75 for row in accuracy["carry"]["by_distance"].values())  # both distances


def load_items(raw: list[dict[str, object]], tmp_path: Path) -> list[ContrastiveItem]:
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in raw), encoding="utf-8")
    return load_contrastive(path)


def test_no_dev_or_test_document_is_a_training_document(tmp_path: Path) -> None:
    """With the default 20,000 training documents the generator's whole space (2,048 documents) was in
    training, and 999 of the 1,000 test documents were training documents word for word; now none is."""
    build_synthetic_corpus(tmp_path, train_docs=20_000, seed=1)
    train = {d.sources for d in read_corpus(tmp_path / "train", "en", "es")}
    for split in ("dev", "test"):
        assert not train & {d.sources for d in read_corpus(tmp_path / split, "en", "es")}
    assert [d.sources for d in read_corpus(tmp_path / "test", "en", "es")] == [
        d.document.sources for d in make_documents(1000, 1002, "test-")
    ]  # the test set is the one the seed always gave; training documents were drawn again
    assert not train & {d.document.sources for d in make_documents(200, seed=5, exclude=train)}
