"""Mining ContraPro-style pronoun items from a parallel corpus."""

from __future__ import annotations

import json
from pathlib import Path

from corpora.contrapro import Lexicon, find_pronouns, mine_items
from evaluation.scoring import load_contrastive
from nmt.cli import main
from translator.corpus import Document, write_parallel

SPANISH = [
    "Y la tierra era buena, y el pueblo vió la tierra.",
    "Y la piedra que había puesto, alzóla por título.",
    "El tabernáculo y el pueblo estaban allí, y aquella noche el pueblo durmió.",
    "Y alzó la piedra, y la piedra era grande, y el tabernáculo también.",
    "Los hijos de los hombres y las columnas de plata, y el tabernáculo.",
    "Y el libro estaba sobre la mesa, y las columnas eran de plata.",
]


def lexicon() -> Lexicon:
    return Lexicon(SPANISH)


def test_lexicon_learns_noun_gender_from_articles() -> None:
    lex = lexicon()
    assert lex.nouns["tierra"] == ("f", "sg") and lex.nouns["pueblo"] == ("m", "sg")
    assert lex.nouns["columnas"] == ("f", "pl") and "libro" not in lex.nouns  # seen once: not trusted


def test_clitics_need_a_verb_stem_that_the_corpus_knows() -> None:
    lex = lexicon()
    assert lex.clitic("alzóla") == ("alzó", "la")
    for word in ("pueblo", "tabernáculo", "aquella", "tierra"):
        assert lex.clitic(word) is None, word


def test_pronouns_are_found_and_swapped_keeping_case() -> None:
    hits = find_pronouns("Ella habló de ellos, y alzóla.", lexicon())
    assert [(h.replacement, h.features, h.kind) for h in hits] == [
        ("Él", ("f", "sg"), "pronoun"),
        ("ellas", ("m", "pl"), "pronoun"),
        ("alzólo", ("f", "sg"), "clitic"),
    ]


def test_items_need_an_english_pronoun_and_estimate_the_antecedent_distance() -> None:
    doc = Document(
        "Gen.28",
        (
            "The stone was great.",
            "He set it up for a pillar.",
            "The angels went up and down on it.",
            "He saw him there.",
            "The man came.",
        ),
        (
            "Y la piedra era grande.",
            "Y alzóla por título.",
            "Y los ángeles subían y descendían por ella.",
            "Y vió á él allí.",  # English "him": a person, not an "it" whose gender needs context
            "Y vino el hombre á ella.",  # no English it/they/them: not an item
        ),
    )
    items = mine_items([doc], Lexicon([*SPANISH, *doc.targets]))
    assert [(i["line"], i["kind"], i["distance"]) for i in items] == [(1, "clitic-fsg", 1), (2, "pronoun-fsg", 2)]
    assert items[1]["contrastive"] == ["Y los ángeles subían y descendían por él."]
    assert items[1]["context_src"] == list(doc.sources[:2]) and items[1]["context_tgt"] == list(doc.targets[:2])


def test_prepare_bible_contrastive_writes_sets_that_nmt_score_reads(tmp_path: Path) -> None:
    doc = Document(
        "Exo.1",
        ("The land was good.", "They saw it."),
        ("Y la tierra era buena.", "Y la vieron á ella."),
    )
    other = Document("Exo.2", ("He saw.",), ("Y lo vieron.",))  # "vieron" follows "lo": a verb, not a noun
    for split in ("train", "dev", "test"):
        write_parallel(tmp_path / split, "en", "es", [doc, other])
    assert main(["prepare", "bible-contrastive", "--corpus-dir", str(tmp_path), "--out", str(tmp_path / "cp")]) == 0
    for split in ("dev", "test"):
        [item] = load_contrastive(tmp_path / "cp" / f"{split}.contrastive.jsonl")
        assert item.contrastive == ("Y la vieron á él.",) and item.distance == 1 and item.kind == "pronoun-fsg"
        raw = json.loads((tmp_path / "cp" / f"{split}.contrastive.jsonl").read_text())
        assert raw["doc"] == "Exo.1" and raw["line"] == 1
