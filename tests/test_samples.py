"""The documents the README and the demo show are held out: nothing they print was trained on.

docs/sample.en is what `scripts/demo.sh` translates and the README quotes. Its Bible passages must
come from the benchmark corpus's test split, and its everyday documents (the README's headline
example) from no training document of the default recipe: neither the Bible's training split nor
the stories `nmt prepare synthetic-stories --docs 3000` generates for it (scripts/demo.sh).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nmt.cli import main
from translator.corpus import read_corpus, read_documents_text

ROOT = Path(__file__).resolve().parent.parent
BIBLE = ROOT.parent / "shared/data/bible-en-es"
SAMPLE = ROOT / "docs/sample.en"


def sample_documents() -> list[list[str]]:
    return read_documents_text(SAMPLE.read_text(encoding="utf-8").splitlines())


@pytest.fixture(scope="module")
def recipe_stories(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every source sentence of the default recipe's training stories, built as scripts/demo.sh builds them."""
    out = tmp_path_factory.mktemp("stories")
    assert main(["prepare", "synthetic-stories", "--docs", "3000", "--out", str(out)]) == 0
    return {s for d in read_corpus(str(out / "train"), "en", "es") for s in d.sources}


def test_the_sample_has_bible_passages_and_everyday_documents() -> None:
    docs = sample_documents()
    assert len(docs) == 4 and docs[2][1] == docs[3][1]  # the headline pair: one last sentence, two antecedents


def test_bible_passages_come_from_the_test_split_only() -> None:
    train = set(BIBLE.joinpath("train.en").read_text(encoding="utf-8").splitlines())
    test = set(BIBLE.joinpath("test.en").read_text(encoding="utf-8").splitlines())
    bible = [doc for doc in sample_documents() if doc[0] in test]
    assert len(bible) == 2
    for doc in bible:
        assert all(line in test and line not in train for line in doc)


def test_everyday_documents_are_in_no_training_document(recipe_stories: set[str]) -> None:
    train = set(BIBLE.joinpath("train.en").read_text(encoding="utf-8").splitlines())
    test = set(BIBLE.joinpath("test.en").read_text(encoding="utf-8").splitlines())
    everyday = [doc for doc in sample_documents() if doc[0] not in test]
    assert len(everyday) == 2
    for doc in everyday:
        assert not any(sentence in recipe_stories or sentence in train for sentence in doc), doc
