"""Read and write users' document-level parallel corpora, with errors they can act on.

A document is a run of consecutive lines sharing a document id. The model uses earlier
sentences of a document as context, so boundaries matter as much as the sentences.
Formats: aligned files ``PREFIX.SRC`` / ``PREFIX.TGT`` plus an optional ``PREFIX.doc``
of ids (each maybe ``.gz``), or one ``doc_id<TAB>source<TAB>target`` TSV file.

Every error starts with ``file:line:`` so the user can open the offending line. Files
are streamed line by line: `iter_corpus` holds one document at a time, `read_corpus`
the returned list.
"""

from __future__ import annotations

import enum
import gzip
import logging
import os
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby, zip_longest
from pathlib import Path

logger = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
_SHOWN_LOCATIONS = 3  # file:line examples per reason in the skip summary
_TSV_FIELDS = ("doc id", "source", "target")
_Record = tuple[int, str, str, str]  # (line number, doc id, source, target)


@dataclass(frozen=True)
class Document:
    """One document: its sentences in order, and their translations when known.

    Attributes:
        doc_id: Identifier from the corpus, unique within it.
        sources: Source sentences, in document order.
        targets: One translation per source, or ``()`` for source-only documents.
    """

    doc_id: str
    sources: tuple[str, ...]
    targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Reject partial translations early: every consumer assumes pairs line up."""
        if self.targets and len(self.targets) != len(self.sources):
            raise ValueError(f"document {self.doc_id!r}: {len(self.sources)} sources but {len(self.targets)} targets")


class CorpusError(ValueError):
    """A corpus that cannot be read as asked; the message starts with ``file:line:``."""


class _Mark(enum.Enum):
    """Stand-ins for lines without text, so they can travel in the stream of lines."""

    BAD_UTF8 = "invalid UTF-8"
    EOF = "end of file"


class _Problems:
    """Raises on a per-line problem or, when the user asked to skip, counts it."""

    def __init__(self, skip: bool) -> None:
        self.skip = skip
        self.locations: dict[str, list[str]] = {}

    def report(self, path: Path, lineno: int, reason: str, detail: str = "") -> None:
        """Fail with ``path:lineno: reason``, or remember the location when skipping."""
        if not self.skip:
            raise CorpusError(f"{path}:{lineno}: {reason}{detail}")
        self.locations.setdefault(reason, []).append(f"{path}:{lineno}")

    def log_summary(self) -> None:
        """Warn once for all skipped lines, so a dirty corpus cannot flood the log."""
        if not self.locations:
            return
        parts = []
        for reason, where in self.locations.items():
            shown = ", ".join(where[:_SHOWN_LOCATIONS])
            more = ", ..." if len(where) > _SHOWN_LOCATIONS else ""
            parts.append(f"{reason}: {len(where)} ({shown}{more})")
        total = sum(len(where) for where in self.locations.values())
        logger.warning("skipped %d invalid line(s): %s", total, "; ".join(parts))


def _existing(path: Path) -> Path | None:
    """Return ``path``, else ``path.gz``, else None (plain wins, as after gunzip -k)."""
    if path.exists():
        return path
    gzipped = path.with_name(path.name + ".gz")
    return gzipped if gzipped.exists() else None


def _required(path: Path) -> Path:
    """Like `_existing`, but a missing file is a `CorpusError`, as any bad input."""
    found = _existing(path)
    if found is None:
        raise CorpusError(f"{path}: no such file (nor {path.name}.gz)")
    return found


def _read_lines(path: Path) -> Iterator[str | _Mark]:
    """Yield each line of ``path`` without its line break, or `_Mark.BAD_UTF8`.

    Lines are split on ``\\n`` only, in binary, so U+2028 or a stray ``\\r`` inside a
    sentence cannot shift the alignment, and a bad byte spoils one line only. Gzip is
    recognised by its magic bytes, whatever the file is called.
    """
    with path.open("rb") as raw:
        is_gzip = raw.read(2) == _GZIP_MAGIC
    try:
        with gzip.open(path, "rb") if is_gzip else path.open("rb") as stream:
            for lineno, line in enumerate(stream, 1):
                try:
                    text = line.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    yield _Mark.BAD_UTF8
                    continue
                yield text.removeprefix("\ufeff") if lineno == 1 else text
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise CorpusError(f"{path}: corrupt gzip data: {exc}") from exc


def _misaligned(
    paths: Sequence[Path],
    lines: Sequence[str | _Mark],
    lineno: int,
    readers: Sequence[Iterator[str | _Mark]],
) -> CorpusError:
    """Build the error for files of unequal length, counting the rest of the others."""
    counts = ", ".join(
        f"{path}={lineno - 1 if line is _Mark.EOF else lineno + sum(1 for _ in reader)}"
        for path, line, reader in zip(paths, lines, readers, strict=True)
    )
    short = paths[lines.index(_Mark.EOF)]
    return CorpusError(
        f"{short}:{lineno}: misaligned files: {short} ends after line {lineno - 1} (line counts: {counts})"
    )


def _aligned_rows(paths: Sequence[Path], problems: _Problems) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, stripped fields)`` for each line present in all files."""
    readers = [_read_lines(path) for path in paths]
    for lineno, lines in enumerate(zip_longest(*readers, fillvalue=_Mark.EOF), 1):
        if _Mark.EOF in lines:
            raise _misaligned(paths, lines, lineno, readers)
        fields = [line.strip() for line in lines if isinstance(line, str)]
        if _Mark.BAD_UTF8 in lines:
            bad = paths[lines.index(_Mark.BAD_UTF8)]
            problems.report(bad, lineno, _Mark.BAD_UTF8.value)
        elif not all(fields):
            problems.report(paths[fields.index("")], lineno, "empty line")
        else:
            yield lineno, fields


def _tsv_records(path: Path, problems: _Problems) -> Iterator[_Record]:
    """Yield ``(line number, doc id, source, target)`` for each valid TSV line."""
    for lineno, line in enumerate(_read_lines(path), 1):
        if isinstance(line, _Mark):
            problems.report(path, lineno, line.value)
            continue
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) != len(_TSV_FIELDS):
            detail = f": expected 3 ({', '.join(_TSV_FIELDS)}), got {len(fields)}"
            problems.report(path, lineno, "wrong number of fields", detail)
        elif "" in fields:
            problems.report(path, lineno, f"empty {_TSV_FIELDS[fields.index('')]}")
        else:
            yield lineno, fields[0], fields[1], fields[2]


def _group(records: Iterable[_Record], ids_file: Path) -> Iterator[Document]:
    """Gather consecutive records with the same id into documents, yielding each as it ends.

    An id that comes back after another document usually means files were concatenated
    badly; merging or splitting silently would corrupt the context, so it fails. The ids
    seen so far are the only state kept (a streaming read holds one document at a time).
    """
    first_line: dict[str, int] = {}
    for doc_id, group in groupby(records, key=lambda record: record[1]):
        rows = list(group)
        if doc_id in first_line:
            raise CorpusError(
                f"{ids_file}:{rows[0][0]}: document id {doc_id!r} reappears after "
                f"other documents (first used at line {first_line[doc_id]}); "
                "a document's lines must be consecutive"
            )
        first_line[doc_id] = rows[0][0]
        sources = tuple(row[2] for row in rows)
        yield Document(doc_id, sources, tuple(row[3] for row in rows))


def read_parallel(prefix: str | Path, src_lang: str, tgt_lang: str, *, skip_invalid: bool = False) -> list[Document]:
    """All documents of `iter_parallel`, as a list."""
    return list(iter_parallel(prefix, src_lang, tgt_lang, skip_invalid=skip_invalid))


def iter_parallel(
    prefix: str | Path, src_lang: str, tgt_lang: str, *, skip_invalid: bool = False
) -> Iterator[Document]:
    """Read ``PREFIX.SRC``, ``PREFIX.TGT`` and optional ``PREFIX.doc``, maybe gzipped.

    Args:
        prefix: Path without the language suffix, e.g. ``data/train``.
        src_lang: Source suffix, e.g. ``en``.
        tgt_lang: Target suffix, e.g. ``es``.
        skip_invalid: Drop pairs with an empty or undecodable line (logged once) instead
            of failing. Unequal file lengths still fail: nothing after that is aligned.

    Yields:
        The documents in file order, each as soon as its last line is read.

    Raises:
        CorpusError: With ``file:line`` of the first problem.
    """
    prefix = Path(prefix)
    paths = _language_files(prefix, src_lang, tgt_lang)
    ids_file = _existing(Path(f"{prefix}.doc"))
    if ids_file is not None:
        paths.append(ids_file)
    problems = _Problems(skip_invalid)
    records = (
        (lineno, fields[2] if ids_file else str(lineno), fields[0], fields[1])
        for lineno, fields in _aligned_rows(paths, problems)
    )
    yield from _group(records, ids_file or paths[0])
    problems.log_summary()


def read_tsv(path: str | Path, *, skip_invalid: bool = False) -> list[Document]:
    """All documents of `iter_tsv`, as a list."""
    return list(iter_tsv(path, skip_invalid=skip_invalid))


def iter_tsv(path: str | Path, *, skip_invalid: bool = False) -> Iterator[Document]:
    """Read ``doc_id<TAB>source<TAB>target`` lines, plain or gzipped.

    Args:
        path: The TSV file (``.gz`` appended automatically when only that exists).
        skip_invalid: Drop lines with a wrong field count, an empty field or bad UTF-8
            (logged once) instead of failing.

    Raises:
        CorpusError: With ``file:line`` of the first problem.
    """
    tsv = _required(Path(path))
    problems = _Problems(skip_invalid)
    yield from _group(_tsv_records(tsv, problems), tsv)
    problems.log_summary()


def read_corpus(spec: str | Path, src_lang: str, tgt_lang: str, *, skip_invalid: bool = False) -> list[Document]:
    """All documents of `iter_corpus`, as a list."""
    return list(iter_corpus(spec, src_lang, tgt_lang, skip_invalid=skip_invalid))


def iter_corpus(spec: str | Path, src_lang: str, tgt_lang: str, *, skip_invalid: bool = False) -> Iterator[Document]:
    """Stream ``spec`` as TSV if it ends in ``.tsv(.gz)``, else as an aligned prefix.

    One entry point lets configs and the CLI take one corpus argument in either format;
    streaming lets a corpus of millions of pairs be walked holding one document at a time.
    """
    if _is_tsv(spec):
        return iter_tsv(spec, skip_invalid=skip_invalid)
    return iter_parallel(spec, src_lang, tgt_lang, skip_invalid=skip_invalid)


def corpus_files(spec: str | Path, src_lang: str, tgt_lang: str) -> list[Path]:
    """The files `iter_corpus` reads for ``spec``, in a fixed order (to fingerprint their bytes)."""
    if _is_tsv(spec):
        return [_required(Path(spec))]
    paths = _language_files(Path(spec), src_lang, tgt_lang)
    ids_file = _existing(Path(f"{spec}.doc"))
    return paths + ([ids_file] if ids_file else [])


def _language_files(prefix: Path, src_lang: str, tgt_lang: str) -> list[Path]:
    """PREFIX.SRC and PREFIX.TGT (maybe gzipped); a directory given for PREFIX is named as the mistake it is."""
    try:
        return [_required(Path(f"{prefix}.{lang}")) for lang in (src_lang, tgt_lang)]
    except CorpusError:
        if prefix.is_dir():
            raise CorpusError(
                f"{prefix} is a directory; a corpus here is a file PREFIX (it reads PREFIX.{src_lang}, "
                f"PREFIX.{tgt_lang} and PREFIX.doc), e.g. {prefix / 'test'}"
            ) from None
        raise


def _is_tsv(spec: str | Path) -> bool:
    return str(spec).endswith((".tsv", ".tsv.gz"))


def _check_writable(docs: Sequence[Document]) -> None:
    """Refuse documents that would not read back as themselves: fail now, not later."""
    seen: set[str] = set()
    for doc in docs:
        if doc.doc_id in seen:
            raise ValueError(f"document id {doc.doc_id!r} is used twice")
        seen.add(doc.doc_id)
        if not doc.sources or len(doc.targets) != len(doc.sources):
            raise ValueError(f"document {doc.doc_id!r}: needs sources with targets")
        for text in (doc.doc_id, *doc.sources, *doc.targets):
            if not text.strip() or "\n" in text or "\r" in text:
                raise ValueError(f"document {doc.doc_id!r}: bad text {text!r}")


def _write_temp(target: Path, lines: Iterable[str]) -> Path:
    """Write ``lines`` to a synced temp file beside ``target``, for os.replace."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.writelines(f"{line}\n" for line in lines)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(name, 0o644)  # mkstemp makes it private; a corpus is ordinary data
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def write_parallel(prefix: str | Path, src_lang: str, tgt_lang: str, docs: Sequence[Document]) -> None:
    """Write ``PREFIX.SRC``, ``PREFIX.TGT`` and ``PREFIX.doc`` for `read_parallel`.

    Each file is written to a temp file and then renamed over the old one, so an
    interrupted run never leaves a truncated file that reads as a shorter corpus.

    Raises:
        ValueError: A document is empty, lacks targets, reuses an id, or has blank or
            multi-line text.
    """
    _check_writable(docs)
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    columns = {
        Path(f"{prefix}.{src_lang}"): (text for doc in docs for text in doc.sources),
        Path(f"{prefix}.{tgt_lang}"): (text for doc in docs for text in doc.targets),
        Path(f"{prefix}.doc"): (doc.doc_id for doc in docs for _ in doc.sources),
    }
    written: list[tuple[Path, Path]] = []
    try:
        for target, lines in columns.items():
            written.append((_write_temp(target, lines), target))
        for temp, target in written:
            os.replace(temp, target)
    except BaseException:
        for temp, _ in written:
            temp.unlink(missing_ok=True)
        raise


def read_documents_text(lines: Iterable[str]) -> list[list[str]]:
    """Split ``nmt translate`` input: a sentence per line, blank lines between docs.

    A run of blank (or whitespace-only) lines is one separator, so stray extra blank
    lines never make empty documents. Sentences lose only their surrounding whitespace.
    """
    return list(iter_documents_text(lines))


def iter_documents_text(lines: Iterable[str]) -> Iterator[list[str]]:
    """`read_documents_text`, a document at a time: each is given as soon as the blank line after it is read."""
    doc: list[str] = []
    for line in lines:
        sentence = line.strip()
        if sentence:
            doc.append(sentence)
        elif doc:
            yield doc
            doc = []
    if doc:
        yield doc


def format_documents_text(docs: Sequence[Sequence[str]]) -> str:
    """Inverse of `read_documents_text`: a sentence per line, a blank line between docs.

    The round trip holds for non-blank, single-line sentences: an empty translation
    would read back as a document break, so callers should put something visible there.
    """
    return "".join(format_document_text(doc, first=i == 0) for i, doc in enumerate(d for d in docs if d))


def format_document_text(doc: Sequence[str], first: bool) -> str:
    """One document of `format_documents_text`'s output, for writers that write documents as they come."""
    return ("" if first else "\n") + "".join(f"{sentence}\n" for sentence in doc)
