"""The balanced twin set: twins differ only where they should, and a sentence-level model scores exactly 50%."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from corpora.balanced import Noun, NounLexicon, _contexts, build_balanced_set
from corpora.contrapro import Lexicon
from corpora.twincheck import check_pair
from evaluation.scoring import load_contrastive, score_contrastive
from nmt.cli import main
from training.spm import train_sentencepiece
from translator.config import Config
from translator.corpus import Document, read_corpus, write_parallel
from translator.inference import Translator
from translator.model import Seq2Seq
from translator.tokenizer import Tokenizer

NOUNS = [("city", "ciudad", "f"), ("gate", "puerta", "f"), ("tent", "tienda", "f"),
         ("field", "campo", "m"), ("mountain", "monte", "m"), ("camel", "camello", "m")]  # fmt: skip
VERBS = [("came to", "Vinieron á", "Y se"), ("looked at", "Miraron", "Y lo"), ("saw", "Vieron", "Y se")]


def article(gender: str, es: str) -> str:
    return ("la " if gender == "f" else "el ") + es


def train_docs() -> list[Document]:
    """Verses that teach the lexicon: each noun after its article, beside its English counterpart."""
    docs = []
    for k, (en, es, g) in enumerate(NOUNS * 4):
        en_verb, es_verb, _ = VERBS[k % len(VERBS)]
        src = (f"They {en_verb} the {en}.", f"The {en} was great.", "They rested there.")
        es_noun = article(g, es)
        tgt = (f"{es_verb} {es_noun}.".replace("á el ", "al "), f"{es_noun.capitalize()} era grande.", "Y se quedaron.")
        docs.append(Document(f"t{k}", src, tgt))
    return docs


def dev_docs() -> list[Document]:
    """Documents whose last verse's Spanish pronoun (él/ella) points at the noun one or two verses back."""
    docs = []
    for k, (en, es, g) in enumerate(NOUNS):
        src = [f"They came to the {en}."] + (["Then they rested."] if k % 2 else []) + ["And they dwelt in it."]
        pronoun = "ella" if g == "f" else "él"
        first = f"Vinieron á {article(g, es)}.".replace("á el ", "al ")
        tgt = [first] + (["Entonces descansaron."] if k % 2 else []) + [f"Y habitaron en {pronoun}."]
        docs.append(Document(f"d{k}", tuple(src), tuple(tgt)))
    return docs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("balanced")
    write_parallel(root / "train", "en", "es", train_docs())
    write_parallel(root / "dev", "en", "es", dev_docs())
    write_parallel(root / "test", "en", "es", dev_docs()[:2])
    return root


def pairs(path: Path) -> list[tuple[dict[str, object], dict[str, object]]]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return list(zip(items[::2], items[1::2], strict=True))


def test_every_document_gives_a_pair_whose_twins_differ_only_where_they_should(corpus: Path) -> None:
    counts = build_balanced_set(corpus, out=corpus)
    assert counts["dev.balanced.jsonl"]["pairs"] == len(NOUNS)
    for a, b in pairs(corpus / "dev.balanced.jsonl"):
        assert a["pair"] == b["pair"] and (a["twin"], b["twin"]) == (0, 1)
        assert check_pair(a, b) == []
        assert a["src"] == b["src"] and a["ref"] == b["contrastive"][0] and b["ref"] == a["contrastive"][0]
        old, new = a["antecedent"], b["antecedent"]  # type: ignore[index]
        assert old["es"] != new["es"]
        # The context differs at the noun (and its article) only, in both languages.
        first_a, first_b = a["context_tgt"][0], b["context_tgt"][0]  # type: ignore[index]
        assert first_a.replace(old["es"], "").split()[:1] == first_b.replace(new["es"], "").split()[:1]
        assert a["context_src"][0].replace(old["en"], new["en"]) == b["context_src"][0]  # type: ignore[index]
        assert a["context_tgt"][1:] == b["context_tgt"][1:]  # type: ignore[index]
        ref_a, ref_b = str(a["ref"]).split(), str(b["ref"]).split()
        assert [x != y for x, y in zip(ref_a, ref_b, strict=True)].count(True) == 1
        assert {ref_a[-1], ref_b[-1]} == {"él.", "ella."}
    sample = pairs(corpus / "dev.balanced.jsonl")[0]
    assert sample[0]["context_tgt"] == ["Vinieron á la ciudad."]
    assert str(sample[1]["context_tgt"][0]) in {"Vinieron al campo.", "Vinieron al monte.", "Vinieron al camello."}  # type: ignore[index]


def test_checker_names_twins_that_differ_elsewhere(corpus: Path) -> None:
    build_balanced_set(corpus, out=corpus)
    a, b = pairs(corpus / "dev.balanced.jsonl")[0]
    assert any("sources differ" in p for p in check_pair(a, {**b, "src": "And they lived in it."}))
    extra = {**b, "context_tgt": [str(b["context_tgt"][0]).replace("Vinieron", "Llegaron")]}  # type: ignore[index]
    assert any("context_tgt differs beyond" in p for p in check_pair(a, extra))
    twisted = {**b, "ref": "Y moraron en él.", "contrastive": [a["ref"]]}
    assert any("references differ beyond" in p for p in check_pair({**a, "contrastive": ["Y moraron en él."]}, twisted))


def test_a_sentence_level_model_scores_exactly_half_of_the_items(corpus: Path) -> None:
    build_balanced_set(corpus, out=corpus)
    docs = read_corpus(corpus / "train", "en", "es") + read_corpus(corpus / "dev", "en", "es")
    tokenizer = Tokenizer(train_sentencepiece(docs, vocab_size=120, model_type="bpe"))
    cfg = Config().override(["model.context=none", f"model.vocab_size={tokenizer.vocab_size}", "model.emb_size=32",
                             "model.enc_hidden=16", "model.dec_hidden=32"])  # fmt: skip
    torch.manual_seed(0)
    report = score_contrastive(
        Translator(Seq2Seq(cfg.model), tokenizer, cfg), load_contrastive(corpus / "dev.balanced.jsonl")
    )
    assert report.n == 2 * len(NOUNS) and report.accuracy == 0.5
    out = report.to_dict()
    assert out["pair_accuracy"] == 0.0  # it prefers the same candidate for both twins
    assert out["pair_margin"] == pytest.approx(0.0, abs=1e-4)  # by exactly opposite margins
    assert out["pairs_leaning_right"] == out["pairs_leaning_wrong"] == 0


def test_prepare_bible_balanced_writes_both_splits(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prepare", "bible-balanced", "--corpus-dir", str(corpus), "--out", str(tmp_path)]) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts["dev.balanced.jsonl"]["pairs"] == len(NOUNS) and counts["test.balanced.jsonl"]["pairs"] == 2
    assert (tmp_path / "test.balanced.jsonl").is_file()


def test_hand_marked_antecedents_reach_past_a_noun_of_the_other_gender(tmp_path: Path) -> None:
    doc = Document(
        "d",
        ("They came to the city and lived in it.", "They saw a field.", "And they dwelt in it."),
        ("Vinieron á la ciudad, y habitaron en ella.", "Vieron un campo.", "Y habitaron en ella."),
    )
    write_parallel(tmp_path / "train", "en", "es", train_docs())
    for split in ("dev", "test"):
        write_parallel(tmp_path / split, "en", "es", [doc])
    assert build_balanced_set(tmp_path)["dev.balanced.jsonl"]["pairs"] == 0  # the nearest noun is masculine
    (tmp_path / "marked.tsv").write_text("# doc, verse, antecedent\nd\t2\tciudad\n", encoding="utf-8")
    counts = build_balanced_set(tmp_path, antecedents=tmp_path / "marked.tsv")
    assert counts["dev.balanced.jsonl"]["pairs"] == 1
    a, b = pairs(tmp_path / "dev.balanced.jsonl")[0]
    assert check_pair(a, b) == [] and a["distance"] == 2 and b["context_tgt"][1] == "Vieron un campo."  # type: ignore[index]
    assert b["ref"] == "Y habitaron en él." and b["antecedent"]["es"] != "campo"  # type: ignore[index]
    assert str(b["context_tgt"][0]).endswith("y habitaron en él.")  # type: ignore[index]  # "ella" referred to it
    (tmp_path / "bad.tsv").write_text("d\tsecond\tciudad\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:1"):
        build_balanced_set(tmp_path, antecedents=tmp_path / "bad.tsv")


def test_hand_marked_noun_outside_the_lexicon_comes_with_its_english(tmp_path: Path) -> None:
    doc = Document(
        "d", ("They saw a ladder.", "Angels went up on it."), ("Vieron una escala.", "Ángeles subían por ella.")
    )
    write_parallel(tmp_path / "train", "en", "es", train_docs())
    for split in ("dev", "test"):
        write_parallel(tmp_path / split, "en", "es", [doc])
    (tmp_path / "marked.tsv").write_text("d\t1\tescala\tladder\n", encoding="utf-8")
    assert build_balanced_set(tmp_path, antecedents=tmp_path / "marked.tsv")["dev.balanced.jsonl"]["pairs"] == 1
    a, b = pairs(tmp_path / "dev.balanced.jsonl")[0]
    assert a["antecedent"] == {"en": "ladder", "es": "escala"} and b["context_src"][0] != a["context_src"][0]  # type: ignore[index]
    assert str(b["context_tgt"][0]).startswith("Vieron un ")  # type: ignore[index]


def test_the_replacement_is_the_noun_used_most_alike() -> None:
    sentences = ["sacrificarás un cordero de un año sin defecto", "sacrificarás una oveja de un año sin defecto",
                 "tendrá misericordia del pobre y del huérfano"] * 3  # fmt: skip
    lexicon = Lexicon(["el cordero", "el cordero", "la oveja", "la oveja", "la misericordia", "la misericordia"])
    nouns = NounLexicon(
        [Noun("oveja", "sheep", "f", "sg", False, 5), Noun("misericordia", "mercy", "f", "sg", False, 50)],
        _contexts(sentences, lexicon.nouns),
    )
    lamb = Noun("cordero", "lamb", "m", "sg", False, 5)
    assert nouns.closest(lamb, nouns.replacements(lamb)).es == "oveja"  # not the more frequent "misericordia"
