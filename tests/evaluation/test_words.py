"""The Spanish word-class table that CXMI's breakdown uses."""

from __future__ import annotations

from evaluation.words import gender, piece_classes, word_classes


def test_words_get_the_documented_classes() -> None:
    text = "Mira esa vaca. Es tan linda, y quiero comprarla. La mano derecha de él. Lo veo."
    words = text.split(" ")
    classes = dict(zip(words, word_classes(words), strict=True))
    assert classes["esa"] == classes["comprarla."] == classes["él."] == classes["Lo"] == "pronoun"
    assert classes["La"] == "determiner"
    assert classes["linda,"] == classes["derecha"] == "adjective"  # after a copula; second after a determiner
    assert classes["vaca."] == classes["mano"] == classes["Mira"] == classes["quiero"] == "other"


def test_pieces_take_their_words_class() -> None:
    adjective = ["adjective"] * 3
    assert piece_classes(["▁Es", "▁tan", "▁lin", "da", "."]) == ["other", "other", *adjective]
    assert piece_classes(["▁compr", "arlo"]) == ["pronoun", "pronoun"]


def test_gender_shows_in_the_closed_classes_and_the_endings() -> None:
    feminine = ["ella", "Las", "una", "linda!", "estas", "comprarla", "púsolas"]
    masculine = ["él", "el", "Lo", "este", "aquel", "lindos", "diciéndolo"]
    assert [gender(w) for w in feminine] == ["f"] * len(feminine)
    assert [gender(w) for w in masculine] == ["m"] * len(masculine)
    assert [gender(w) for w in ["le", "les", "y", "árbol", "mujer"]] == [None] * 5
