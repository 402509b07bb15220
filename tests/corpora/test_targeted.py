"""Targeted training data: context-dependent pronoun windows appended to the training split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpora.targeted import build_targeted_corpus
from evaluation.scoring import load_contrastive
from nmt.cli import main
from translator.corpus import Document, read_corpus, write_parallel

LADDER = Document(  # "ella" (escala, two sentences back): a feminine item at distance 2
    "Gen.28",
    ("A ladder stood there.", "He slept.", "The angels went up and down on it.", "The man came."),
    ("Y la escala estaba allí.", "Y durmió.", "Y los ángeles subían y descendían por ella.", "Y vino el varón."),
)
NO_ITEM = Document(  # no English it/they/them: nothing to mine, but it teaches the lexicon its nouns
    "Gen.29",
    ("The ladder was great.", "Jacob lifted the stone.", "Aaron took the book.", "The sons of Levi came."),
    ("Y la escala era grande.", "Y alzó la piedra.", "Y tomó el libro.", "Y vinieron los hijos de Leví."),
)
MIXED = Document(
    "Exo.1",
    (
        "The sons of the men came.",
        "Moses spoke with them.",  # ellos, hijos one back: masculine plural (only --select all)
        "The stone was great.",
        "Jacob set it up.",  # alzóla, piedra one back: feminine singular clitic
        "The book was good.",
        "Aaron took it.",  # tomólo, libro one back: masculine singular clitic
        "The city had a wall, and they walked on it.",  # ella after ciudad in the same verse: distance 0
    ),
    (
        "Y vinieron los hijos de los hombres.",
        "Y Moisés habló con ellos.",
        "Y la piedra era grande.",
        "Y Jacob alzóla.",
        "Y el libro era bueno.",
        "Y Aarón tomólo.",
        "La ciudad tenía muro, y anduvieron por ella.",
    ),
)
DEV = Document("Rev.21", ("The city was gold.",), ("La ciudad era de oro.",))


def corpus(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    write_parallel(data / "train", "en", "es", [LADDER, NO_ITEM, MIXED])
    write_parallel(data / "dev", "en", "es", [DEV])
    write_parallel(data / "test", "en", "es", [DEV])
    return data


def extra_docs(out: Path) -> list[Document]:
    """The documents after the original three."""
    return read_corpus(str(out / "train"), "en", "es")[3:]


def span(doc: Document, first: int, last: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return doc.sources[first : last + 1], doc.targets[first : last + 1]


def test_windows_hold_exactly_the_antecedent_to_the_item(tmp_path: Path) -> None:
    out = tmp_path / "out"
    counts = build_targeted_corpus(corpus(tmp_path), out, factor=1)
    got = {doc.doc_id: (doc.sources, doc.targets) for doc in extra_docs(out)}
    assert got == {
        "Gen.28#w2.1": span(LADDER, 0, 2),  # escala .. ella
        "Exo.1#w3.1": span(MIXED, 2, 3),  # piedra .. alzóla
        "Exo.1#w5.1": span(MIXED, 4, 5),  # libro .. tomólo
    }
    assert counts["windows"] == 3 and counts["extra_lines"] == 7 and counts["train_lines"] == 15
    assert counts["selected_by_distance"] == {"distance_1": 2, "distance_2": 1}
    assert counts["items_d1_3_by_kind"] == {"clitic-fsg": 1, "clitic-msg": 1, "pronoun-fsg": 1, "pronoun-mpl": 1}


def test_original_corpus_is_kept_verbatim_and_dev_test_copied(tmp_path: Path) -> None:
    data, out = corpus(tmp_path), tmp_path / "out"
    build_targeted_corpus(data, out, factor=2)
    for suffix in ("en", "es", "doc"):
        original = (data / f"train.{suffix}").read_bytes()
        written = (out / f"train.{suffix}").read_bytes()
        assert written.startswith(original) and len(written) > len(original)
        for split in ("dev", "test"):
            assert (out / f"{split}.{suffix}").read_bytes() == (data / f"{split}.{suffix}").read_bytes()


def test_factor_repeats_each_window_under_unique_ids(tmp_path: Path) -> None:
    out = tmp_path / "out"
    counts = build_targeted_corpus(corpus(tmp_path), out, factor=3)
    docs = extra_docs(out)
    ids = [doc.doc_id for doc in docs]
    assert ids[:3] == ["Gen.28#w2.1", "Gen.28#w2.2", "Gen.28#w2.3"]
    assert len(docs) == 9 and len(set(ids)) == 9  # read back as 9 documents: the repeats did not merge
    assert [len(doc.sources) for doc in docs] == [3] * 3 + [2] * 6
    assert counts["extra_lines"] == 21 and counts["extra_lines_vs_train"] == round(21 / 15, 4)
    build_targeted_corpus(tmp_path / "data", out, factor=0)
    assert extra_docs(out) == []


def test_documents_without_a_context_item_add_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_targeted_corpus(corpus(tmp_path), out, factor=1, select="all")
    sources = {doc.doc_id.split("#")[0] for doc in extra_docs(out)}
    assert "Gen.29" not in sources  # no English pronoun
    ids = [doc.doc_id for doc in extra_docs(out)]
    assert "Exo.1#w6.1" not in ids  # distance 0: the antecedent is in the item's own verse
    assert ids == ["Gen.28#w2.1", "Exo.1#w1.1", "Exo.1#w3.1", "Exo.1#w5.1"]  # all: the mpl item too


def test_select_feminine_keeps_only_feminine_items(tmp_path: Path) -> None:
    out = tmp_path / "out"
    counts = build_targeted_corpus(corpus(tmp_path), out, factor=1, select="feminine")
    assert [doc.doc_id for doc in extra_docs(out)] == ["Gen.28#w2.1", "Exo.1#w3.1"]
    assert counts["selected_items"] == 2 and counts["items"] == 5


def test_nmt_prepare_bible_targeted_prints_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, out = corpus(tmp_path), tmp_path / "out"
    assert main(["prepare", "bible-targeted", "--corpus-dir", str(data), "--out", str(out), "--factor", "2"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["factor"] == 2 and counts["windows"] == 3 and counts["extra_documents"] == 6
    assert len(read_corpus(str(out / "train"), "en", "es")) == 3 + 6
    assert main(["prepare", "bible-targeted", "--corpus-dir", str(data), "--out", str(data)]) == 2
    assert "--out must differ from --corpus-dir" in capsys.readouterr().err


def test_select_twins_adds_both_twins_of_every_pair_the_training_split_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.corpora.test_balanced import NOUNS, dev_docs, train_docs

    data, out = tmp_path / "data", tmp_path / "out"
    items = dev_docs()  # "They came to the city. [Then they rested.] And they dwelt in it." -> ella / él
    write_parallel(data / "train", "en", "es", [*train_docs(), *items])
    write_parallel(data / "dev", "en", "es", [DEV])
    assert main(["prepare", "bible-targeted", "--corpus-dir", str(data), "--out", str(out), "--select", "twins"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["twin_pairs"] == len(NOUNS) and counts["extra_documents"] == len(NOUNS) * 2 * 6
    extra = read_corpus(str(out / "train"), "en", "es")[len(train_docs()) + len(items) :]
    by_id = {doc.doc_id: doc for doc in extra}
    for doc in items:
        line = len(doc.sources) - 1
        original, twin = by_id[f"{doc.doc_id}#t{line}.0.1"], by_id[f"{doc.doc_id}#t{line}.1.1"]
        assert original == Document(original.doc_id, doc.sources, doc.targets)  # antecedent to item, as written
        assert twin.sources[-1] == doc.sources[-1] and twin.targets[-1] != doc.targets[-1]
        assert {original.targets[-1].split()[-1], twin.targets[-1].split()[-1]} == {"ella.", "él."}
        assert twin.sources[0] != doc.sources[0] and twin.sources[1:-1] == doc.sources[1:-1]  # only the noun
        assert by_id[f"{doc.doc_id}#t{line}.1.6"] == Document(f"{doc.doc_id}#t{line}.1.6", twin.sources, twin.targets)
    # The items go out too, each context starting at the antecedent: exactly a training window's sentences.
    twins = [json.loads(line) for line in (out / "train.twins.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(twins) == 2 * len(NOUNS) and len(load_contrastive(out / "train.twins.jsonl")) == len(twins)
    for item in twins:
        window = by_id[f"{item['doc']}#t{item['line']}.{item['twin']}.1"]
        assert len(item["context_src"]) == item["distance"]
        assert window.sources == (*item["context_src"], item["src"]) and window.targets[-1] == item["ref"]
        assert window.targets[:-1] == tuple(item["context_tgt"])
