"""Writing a twin (corpora/swap.py): the swapped noun brings its determiners and adjectives along."""

from __future__ import annotations

from corpora.swap import swap_english, swap_spanish


def test_spanish_and_english_swaps_fix_the_words_around_the_noun() -> None:
    words = frozenset({"santo", "santa", "tenia", "juntos", "juntas"})  # the corpus vocabulary (accent-free)
    assert swap_spanish("Y fué á la ciudad.", "ciudad", "monte", words) == "Y fué al monte."
    assert swap_spanish("Las puertas de la ciudad, y todas las puertas.", "puertas", "montes", words) == (
        "Los montes de la ciudad, y todos los montes."
    )
    assert swap_spanish("Salió del campo.", "campo", "ciudad", words) == "Salió de la ciudad."
    assert swap_spanish("Vió la ciudad santa.", "ciudad", "monte", words) == "Vió el monte santo."
    assert swap_spanish("Vi la santa ciudad.", "ciudad", "monte", words) == "Vi el santo monte."
    assert swap_spanish("Vió la gran ciudad.", "ciudad", "monte", words) == "Vió el gran monte."  # gran stays
    assert swap_spanish("La ciudad tenía patios juntos.", "patios", "nubes", words) == (
        "La ciudad tenía nubes juntas."  # "tenío" is no word: tenía does not agree
    )
    assert swap_spanish("Tenía dos hijos.", "hijos", "hijas", frozenset({"dos", "das"})) == "Tenía dos hijas."
    assert swap_english("A gate and the gate.", "gate", "altar") == "An altar and the altar."
