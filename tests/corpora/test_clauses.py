"""Clause splitting: safe splits keep text and alignment, unsafe ones keep the verse whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpora.balanced import build_balanced_set
from corpora.clauses import SplitCounts, build_clause_corpus, split_documents, split_pair
from corpora.twincheck import check_pair
from nmt.cli import main
from tests.corpora.test_balanced import NOUNS, article, pairs, train_docs
from translator.corpus import Document, read_corpus, write_parallel

# Real verses (WEB / Reina-Valera 1909) whose marks line up, and the clauses they must give.
SAID = (
    "He said, “I have observed all these things from my youth up.”",
    "Y él dijo: Todas estas cosas he guardado desde mi juventud.",
)
DAY = (
    "This is the day that Yahweh has made. We will rejoice and be glad in it!",
    "Este es el día que hizo Jehová: nos gozaremos y alegraremos en él.",
)
BLESS = (
    "Isaac called Jacob, blessed him, and commanded him, “You shall not take a wife of the daughters of Canaan.",
    "ENTONCES Isaac llamó á Jacob, y bendíjolo, y mandóle diciendo: No tomes mujer de las hijas de Canaán.",
)
WHOLE = (
    "In the beginning, God created the heavens and the earth.",
    "EN el principio crió Dios los cielos y la tierra.",
)


def test_a_verse_splits_at_shared_marks_into_aligned_clauses() -> None:
    assert split_pair(*DAY) == [
        ("This is the day that Yahweh has made.", "Este es el día que hizo Jehová:"),
        ("We will rejoice and be glad in it!", "nos gozaremos y alegraremos en él."),
    ]
    # An English comma before an opening quote matches the Spanish colon before speech.
    assert split_pair(*SAID) == [
        ("He said,", "Y él dijo:"),
        ("“I have observed all these things from my youth up.”", "Todas estas cosas he guardado desde mi juventud."),
    ]
    assert split_pair(*BLESS)[1] == (
        "“You shall not take a wife of the daughters of Canaan.",
        "No tomes mujer de las hijas de Canaán.",
    )
    assert split_pair("“Go.” He went.", "Id. Y fué.") == [("“Go.”", "Id."), ("He went.", "Y fué.")]  # quote stays left


def test_unsafe_splits_keep_the_verse_whole() -> None:
    unequal = ("Moses told them; they went out. Then they came back.", "Y Moisés les dijo: y salieron.")
    assert split_pair(*unequal) == [unequal]  # two English split points, one Spanish
    lopsided = ("Yes. And then the whole people went out of the camp toward the river at dawn.", "Sí, y salió. Bien.")
    assert split_pair(*lopsided) == [lopsided]  # equal counts, but "Yes." beside "Sí, y salió."
    no_words = ("Amen. !", "Amén. !")
    assert split_pair(*no_words) == [no_words]  # a clause of punctuation only
    assert split_pair(*WHOLE) == [WHOLE]


def test_documents_keep_ids_order_and_text() -> None:
    genesis = Document("Genesis.28", (BLESS[0], WHOLE[0]), (BLESS[1], WHOLE[1]))
    docs = [Document("Psalms.118", (DAY[0], SAID[0]), (DAY[1], SAID[1])), genesis]
    counts = SplitCounts()
    split = split_documents(docs, counts)
    assert [d.doc_id for d in split] == ["Psalms.118", "Genesis.28"]
    assert vars(counts) == {"verses": 4, "verses_split": 3, "lines": 7}
    assert len(split[0].sources) == 4 and len(split[0].targets) == 4
    for before, after in zip(docs, split, strict=True):
        for side in ("sources", "targets"):
            assert " ".join(getattr(after, side)) == " ".join(getattr(before, side))
            assert all(text.strip() == text and text for text in getattr(after, side))


def test_prepare_bible_clauses_writes_every_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, out = tmp_path / "verses", tmp_path / "clauses"
    write_parallel(data / "train", "en", "es", [Document("t", (DAY[0], BLESS[0]), (DAY[1], BLESS[1]))])
    for split in ("dev", "test"):
        write_parallel(data / split, "en", "es", [Document(split, (SAID[0],), (SAID[1],))])
    assert main(["prepare", "bible-clauses", "--corpus-dir", str(data), "--out", str(out)]) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts["train"] == {"verses": 2, "verses_split": 2, "lines": 4}
    assert counts["dev"] == {"verses": 1, "verses_split": 1, "lines": 2} and "dev.contrastive.jsonl" in counts
    assert (out / "test.doc").read_text(encoding="utf-8") == "test\ntest\n"


def verse_docs() -> list[Document]:
    """Verses whose pronoun's antecedent is in the same verse, one clause back."""
    docs = []
    for k, (en, es, g) in enumerate(NOUNS):
        first = f"Vinieron á {article(g, es)}".replace("á el ", "al ")
        pronoun = "ella" if g == "f" else "él"
        docs.append(
            Document(
                f"d{k}",
                ("Then they rested.", f"They came to the {en}; and they dwelt in it."),
                ("Entonces descansaron.", f"{first}; y habitaron en {pronoun}."),
            )
        )
    return docs


def test_the_balanced_set_of_a_split_corpus_finds_antecedents_one_clause_back(tmp_path: Path) -> None:
    verses, clauses = tmp_path / "verses", tmp_path / "clauses"
    write_parallel(verses / "train", "en", "es", train_docs())
    for split in ("dev", "test"):
        write_parallel(verses / split, "en", "es", verse_docs())
    assert build_balanced_set(verses)["dev.balanced.jsonl"]["pairs"] == 0  # a noun earlier in the same verse
    build_clause_corpus(verses, clauses)
    assert read_corpus(clauses / "dev", "en", "es")[0].targets[1:] == ("Vinieron á la ciudad;", "y habitaron en ella.")
    counts = build_balanced_set(clauses)
    assert counts["dev.balanced.jsonl"]["pairs"] == len(NOUNS)
    for a, b in pairs(clauses / "dev.balanced.jsonl"):
        assert check_pair(a, b) == [] and a["distance"] == 1 and a["line"] == 2
    # Hand-marked antecedents count lines of the split documents.
    (tmp_path / "marked.tsv").write_text("d0\t2\tciudad\nd1\t1\tpuerta\n", encoding="utf-8")
    counts = build_balanced_set(clauses, antecedents=tmp_path / "marked.tsv")
    assert counts["dev.balanced.jsonl"]["pairs"] == 1  # d1:1 is "Vinieron á la puerta;": no pronoun there
    a, b = pairs(clauses / "dev.balanced.jsonl")[0]
    assert a["pair"] == "d0:2" and check_pair(a, b) == []
