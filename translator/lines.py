"""Line-aligned input and output for `nmt translate`: one output line per input line, always.

Tools around a translator (sacrebleu, paste, diff, a spreadsheet) pair lines
by number, so the output keeps the input's layout: every blank line comes
back blank, a run of them stays a run, and the file ends as it began.
Documents (the span the context is carried over) are marked in one of three
ways, as the user has them:

- `text`: blank lines separate documents (the training corpora's
  `format_documents_text` layout);
- `text` with `ids`: a second file with one document id per line, as training
  reads `PREFIX.doc`; consecutive lines with one id are one document, and an
  id that comes back after another document is an error naming its line;
- `tsv`: `doc_id<TAB>sentence` per line.

Each reader yields `Block`s: a document's lines as they stand in the input
(blank ones included, where the format allows them inside a document). Only
the non-blank lines are translated; `write_blocks` puts the translations back
in their places. Reading is lazy (a block is given as soon as it ends), so a
long input still translates in flat memory.
"""

from __future__ import annotations

import contextlib
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import TextIO, TypeVar

FORMATS = ("text", "tsv")
T = TypeVar("T")


class InputError(ValueError):
    """Input that cannot be split into documents as asked; the message starts with ``file:line:``."""


@dataclass
class Block:
    """A stretch of input lines: a document (its sentences, maybe with blank lines among or before
    them) or blank lines alone. Its translation has exactly `len(lines)` lines."""

    lines: list[str]

    @property
    def sentences(self) -> list[str]:
        """The lines to translate: the non-blank ones, stripped, in order."""
        return [line.strip() for line in self.lines if line.strip()]

    def fill(self, translations: list[T], blank: T) -> list[T]:
        """Output lines: each non-blank input line's translation in its place, `blank` for blank lines."""
        it = iter(translations)
        return [next(it) if line.strip() else blank for line in self.lines]


def read_blocks(
    path: Path | None, fmt: str = "text", ids: Path | None = None, warn: Callable[[str], None] | None = None
) -> Iterator[Block]:
    """The input (stdin if `path` is None) as blocks, in order; see the module docstring for the formats.

    `warn` is told once when a text input of several lines has no document boundary at all (it is
    then one document, its context carried across every line: seldom what a user with a list of
    unrelated sentences wants).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown input format {fmt!r}; known: {', '.join(FORMATS)}")
    name = str(path) if path else "<stdin>"
    with _open(path) as stream:
        lines = _lines(stream)
        if fmt == "tsv":
            yield from _by_id(_tsv_rows(lines, name), name)
        elif ids is not None:
            with ids.open(encoding="utf-8") as id_stream:
                yield from _by_id(_id_rows(lines, _lines(id_stream), name, str(ids)), str(ids))
        else:
            yield from _by_blank_lines(lines, warn)


def write_blocks(blocks: Iterable[list[str]], path: Path | None) -> None:
    """Each block's output lines to a file or stdout, flushed as each block comes (a pipe sees it at once)."""
    with path.open("w", encoding="utf-8") if path else contextlib.nullcontext(sys.stdout) as out:
        for block in blocks:
            out.write("".join(f"{line}\n" for line in block))
            out.flush()


def translate_blocks(
    blocks: Iterable[Block], translate: Callable[[Iterator[list[str]]], Iterator[list[T]]], blank: T
) -> Iterator[list[T]]:
    """Outputs per block: `translate` (documents in, one list of outputs per document out, in order,
    lazily) sees only the blocks with sentences; a blank line's output is `blank`.

    The blocks are read as `translate` asks for documents, so a streaming translator keeps its
    bounded read-ahead.
    """
    pending: deque[Block] = deque()

    def documents() -> Iterator[list[str]]:
        for block in blocks:
            pending.append(block)
            if block.sentences:
                yield block.sentences

    for translated in translate(documents()):
        while not pending[0].sentences:  # blank lines read before this document
            yield pending.popleft().fill([], blank)
        yield pending.popleft().fill(translated, blank)
    while pending:  # blank lines at the end of the input
        yield pending.popleft().fill([], blank)


def _open(path: Path | None) -> contextlib.AbstractContextManager[TextIO]:
    return path.open(encoding="utf-8") if path else contextlib.nullcontext(sys.stdin)


def _lines(stream: TextIO) -> Iterator[str]:
    """Lines without their ending; str.splitlines' breaks, as a whole-text read would give."""
    for chunk in stream:
        yield from chunk.splitlines()


def _by_blank_lines(lines: Iterable[str], warn: Callable[[str], None] | None) -> Iterator[Block]:
    """Blank lines end a document; each run of them is a block of its own."""
    current: list[str] = []
    boundaries, count = 0, 0
    for line in lines:
        count += 1
        if current and bool(line.strip()) != bool(current[-1].strip()):
            boundaries += not line.strip()
            yield Block(current)
            current = []
        current.append(line)
    if current:
        yield Block(current)
    if warn is not None and boundaries == 0 and count > 1:
        warn(
            f"the input's {count} lines have no blank line between them, so they are one document and each "
            "sentence is translated from the context of all before it; if they are unrelated sentences, "
            "use --sentence-level (translated alone and batched), or give boundaries with --docs FILE"
        )


def _tsv_rows(lines: Iterable[str], name: str) -> Iterator[tuple[int, str, str]]:
    """(line number, document id, sentence) of `doc_id<TAB>sentence` lines."""
    for lineno, line in enumerate(lines, 1):
        doc_id, tab, sentence = line.partition("\t")
        if not tab or "\t" in sentence or not doc_id.strip():
            raise InputError(f"{name}:{lineno}: expected doc_id<TAB>sentence, got {line[:60]!r}")
        yield lineno, doc_id.strip(), sentence


def _id_rows(lines: Iterable[str], ids: Iterable[str], name: str, ids_name: str) -> Iterator[tuple[int, str, str]]:
    """(line number, document id, sentence) from an input file and its document-id file, line by line."""
    for lineno, (line, doc_id) in enumerate(zip_longest(lines, ids), 1):
        if line is None or doc_id is None:
            short, long = (name, ids_name) if line is None else (ids_name, name)
            raise InputError(f"{short}:{lineno}: ends before {long} (line {lineno} has no partner)")
        if not doc_id.strip():
            raise InputError(f"{ids_name}:{lineno}: empty document id")
        yield lineno, doc_id.strip(), line


def _by_id(rows: Iterable[tuple[int, str, str]], ids_name: str) -> Iterator[Block]:
    """Consecutive rows with one id are a block; an id that comes back after another is an error
    (files joined badly: merging or splitting silently would corrupt the context)."""
    first_line: dict[str, int] = {}
    current: list[str] = []
    current_id: str | None = None
    for lineno, doc_id, sentence in rows:
        if doc_id != current_id:
            if doc_id in first_line:
                raise InputError(
                    f"{ids_name}:{lineno}: document id {doc_id!r} reappears after other documents "
                    f"(first used at line {first_line[doc_id]}); a document's lines must be consecutive"
                )
            if current:
                yield Block(current)
            first_line[doc_id], current_id, current = lineno, doc_id, []
        current.append(sentence)
    if current:
        yield Block(current)
