"""Documents through the lanes as they come: read only as lanes free up, given back in input order."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from tests.synthetic import make_documents
from translator.documents import translate_all, translate_in_order
from translator.inference import Translator


def test_documents_are_read_as_lanes_free_up_and_given_back_in_order(trained_run: Path) -> None:
    """At no point are more than `window` sentences read and not yet given back; the results are the job's."""
    t = Translator.load(trained_run)
    docs = [t.tokenizer.encode_batch(d.sources[: 1 + i % 2]) for i, d in enumerate(make_documents(60, seed=6))]
    decode = dataclasses.replace(t.config.decode, beam_size=1, batch_size=4)
    read = 0

    def source() -> Iterator[list[list[int]]]:
        nonlocal read
        for doc in docs:
            read += 1
            yield doc

    window, ahead, given = 6, [], []
    for translations in translate_in_order(t.decoding, source(), decode, window):
        given.append(translations)
        ahead.append(sum(len(d) for d in docs[len(given) : read]))  # sentences read and not yet given back
    assert max(ahead) <= window and ahead[0] > 0  # reading ran ahead of the output, within the window
    expected = translate_all(t.decoding, docs, decode)
    assert [[x.text for x in doc] for doc in given] == [[x.text for x in doc] for doc in expected]
