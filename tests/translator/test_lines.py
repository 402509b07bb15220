"""Line-aligned input and output (translator/lines.py): every input line has its output line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from translator.lines import Block, InputError, read_blocks, translate_blocks, write_blocks


def upper(docs: Iterator[list[str]]) -> Iterator[list[str]]:
    """A stand-in translator: documents in, one output per sentence, in order and lazily."""
    for doc in docs:
        yield [s.upper() for s in doc]


def run(tmp_path: Path, text: str, **kwargs: object) -> str:
    source, out = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text(text, encoding="utf-8")
    write_blocks(translate_blocks(read_blocks(source, **kwargs), upper, ""), out)  # type: ignore[arg-type]
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "text",
    ["a\nb\n\nc\n", "\n\na\n\n\n\nb\nc\n\n", "a\n", "\n", "", "a\n  \nb\n", "a\nb\nc\nd\n"],
)
def test_text_output_has_one_line_per_input_line(tmp_path: Path, text: str) -> None:
    expected = "".join(line.strip().upper() + "\n" for line in text.splitlines())
    assert run(tmp_path, text) == expected


def test_blank_lines_separate_documents(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\na\nb\n\n\nc\n\n")
    blocks = list(read_blocks(source))
    assert [b.sentences for b in blocks if b.sentences] == [["a", "b"], ["c"]]
    assert sum(len(b.lines) for b in blocks) == 7


def test_one_document_without_boundaries_is_said_once(tmp_path: Path) -> None:
    said: list[str] = []
    source = tmp_path / "in.txt"
    source.write_text("a\nb\nc\n")
    assert [b.sentences for b in read_blocks(source, warn=said.append)] == [["a", "b", "c"]]
    assert len(said) == 1 and "one document" in said[0]
    source.write_text("a\n\nb\n")
    said.clear()
    list(read_blocks(source, warn=said.append))
    assert said == []


def test_document_ids_group_consecutive_lines_and_keep_blank_lines_in_place(tmp_path: Path) -> None:
    source, ids = tmp_path / "in.txt", tmp_path / "in.doc"
    source.write_text("a\n\nb\nc\n")
    ids.write_text("x\nx\nx\ny\n")
    assert [b.sentences for b in read_blocks(source, ids=ids)] == [["a", "b"], ["c"]]
    assert run(tmp_path, "a\n\nb\nc\n", ids=ids) == "A\n\nB\nC\n"


def test_tsv_input(tmp_path: Path) -> None:
    assert run(tmp_path, "d1\ta\nd1\tb\nd2\tc\n", fmt="tsv") == "A\nB\nC\n"
    source = tmp_path / "bad.tsv"
    source.write_text("d1\ta\nno tab here\n")
    with pytest.raises(InputError, match="bad.tsv:2: expected doc_id<TAB>sentence"):
        list(read_blocks(source, fmt="tsv"))




def test_fill_puts_translations_back_in_place() -> None:
    assert Block(["a", " ", "b"]).fill(["A", "B"], "") == ["A", "", "B"]


def test_stdin_is_read_when_no_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("a\n\nb\n"))
    assert [b.sentences for b in read_blocks(None) if b.sentences] == [["a"], ["b"]]
