"""Tests for translator.corpus: formats, round trips, file:line of every error."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from translator.corpus import (
    CorpusError,
    Document,
    corpus_files,
    format_documents_text,
    read_corpus,
    read_documents_text,
    read_parallel,
    read_tsv,
    write_parallel,
)

BENCHMARK = Path(__file__).resolve().parents[3] / "shared/data/bible-en-es"

DOCS = [
    Document(
        "Genesis.1",
        ("In the beginning.", "It was good."),
        ("En el principio.", "Era bueno."),
    ),
    Document("Genesis.2", ("Thus  the heavens.",), ("Así  los cielos.",)),
    Document(
        "Exodus.1",
        ("Names.", "Tab\tinside.", "Third."),
        ("Nombres.", "Tab\tdentro.", "Tercera."),
    ),
]


def _write(path: Path, content: str | bytes, *, gz: bool = False) -> Path:
    """Write text (UTF-8) or raw bytes to ``path``, gzipped when asked."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if gz:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def _aligned(tmp_path: Path, en: str | bytes, es: str | bytes, doc: str | None = None) -> Path:
    """Create ``x.en``/``x.es`` (and ``x.doc``) under tmp_path and return the prefix."""
    _write(tmp_path / "x.en", en)
    _write(tmp_path / "x.es", es)
    if doc is not None:
        _write(tmp_path / "x.doc", doc)
    return tmp_path / "x"


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    write_parallel(tmp_path / "out" / "train", "en", "es", DOCS)
    assert read_parallel(tmp_path / "out" / "train", "en", "es") == DOCS
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "train.doc",
        "train.en",
        "train.es",
    ]
    assert (tmp_path / "out" / "train.doc").read_text().splitlines()[:3] == ["Genesis.1"] * 2 + ["Genesis.2"]


def test_write_overwrites_existing_files(tmp_path: Path) -> None:
    write_parallel(tmp_path / "c", "en", "es", DOCS)
    write_parallel(tmp_path / "c", "en", "es", DOCS[:1])
    assert read_parallel(tmp_path / "c", "en", "es") == DOCS[:1]


@pytest.mark.parametrize(
    ("docs", "message"),
    [
        ([Document("a", ("x",), ("y",)), Document("a", ("x",), ("y",))], "used twice"),
        ([Document("a", ("x",))], "needs sources with targets"),
        ([Document("a", (), ())], "needs sources with targets"),
        ([Document("a", ("two\nlines",), ("y",))], "bad text"),
        ([Document("a", ("x",), ("  ",))], "bad text"),
        ([Document("", ("x",), ("y",))], "bad text"),
    ],
)
def test_write_rejects_what_would_not_read_back(tmp_path: Path, docs: list[Document], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_parallel(tmp_path / "c", "en", "es", docs)
    assert list(tmp_path.iterdir()) == []


def test_document_rejects_partial_targets() -> None:
    with pytest.raises(ValueError, match="2 sources but 1 targets"):
        Document("a", ("x", "y"), ("z",))


def test_without_doc_file_each_line_is_a_document(tmp_path: Path) -> None:
    prefix = _aligned(tmp_path, "a\nb\r\n  c  \n", "A\nB\nC\n")
    assert read_parallel(prefix, "en", "es") == [
        Document("1", ("a",), ("A",)),
        Document("2", ("b",), ("B",)),
        Document("3", ("c",), ("C",)),
    ]


def test_byte_order_mark_and_crlf_are_dropped(tmp_path: Path) -> None:
    prefix = _aligned(tmp_path, "\ufeffa\r\nb\r\n", "A\r\nB", "d\r\nd\r\n")
    assert read_parallel(prefix, "en", "es") == [Document("d", ("a", "b"), ("A", "B"))]


@pytest.mark.parametrize(
    ("gzipped", "gz_suffix"),
    [
        ({"en"}, True),
        ({"es", "doc"}, True),
        ({"en", "es", "doc"}, True),
        (
            {"en", "es", "doc"},
            False,
        ),  # gzip content under the plain name: found by magic bytes
    ],
)
def test_reads_gzipped_inputs(tmp_path: Path, gzipped: set[str], gz_suffix: bool) -> None:
    contents = {"en": "a\nb\nc\n", "es": "A\nB\nC\n", "doc": "d1\nd1\nd2\n"}
    for ext, text in contents.items():
        name = f"x.{ext}.gz" if ext in gzipped and gz_suffix else f"x.{ext}"
        _write(tmp_path / name, text, gz=ext in gzipped)
    assert read_parallel(tmp_path / "x", "en", "es") == [
        Document("d1", ("a", "b"), ("A", "B")),
        Document("d2", ("c",), ("C",)),
    ]


def test_plain_file_wins_over_gzipped_twin(tmp_path: Path) -> None:
    prefix = _aligned(tmp_path, "plain\n", "llano\n")
    _write(tmp_path / "x.en.gz", "gzipped\n", gz=True)
    assert read_parallel(prefix, "en", "es")[0].sources == ("plain",)


@pytest.mark.parametrize("name", ["c.tsv", "c.tsv.gz"])
def test_reads_tsv(tmp_path: Path, name: str) -> None:
    text = "d1\ta\tA\nd1\t b \tB\r\nd2\tc\tC\n"
    _write(tmp_path / name, text, gz=name.endswith(".gz"))
    expected = [Document("d1", ("a", "b"), ("A", "B")), Document("d2", ("c",), ("C",))]
    assert read_tsv(tmp_path / name) == expected
    assert read_corpus(tmp_path / name, "en", "es") == expected


def test_read_corpus_treats_other_specs_as_prefix(tmp_path: Path) -> None:
    write_parallel(tmp_path / "train", "en", "es", DOCS)
    assert read_corpus(str(tmp_path / "train"), "en", "es") == DOCS


@pytest.mark.parametrize(
    ("en", "es", "doc", "expected"),
    [
        ("a\nb\nc\n", "A\nB\n", None, "x.es:3: misaligned files: "),
        ("a\nb\nc\n", "A\nB\n", None, "x.en=3, "),
        ("a\nb\nc\n", "A\nB\n", None, "x.es=2"),
        ("a\n", "A\nB\nC\n", None, "x.en:2: misaligned"),
        ("a\nb\n", "A\nB\n", "d\n", "x.doc:2: misaligned files: "),
        ("a\nb\nc\n", "A\n\nC\n", None, "x.es:2: empty line"),
        ("a\nb\n \t\n", "A\nB\nC\n", None, "x.en:3: empty line"),
        ("a\nb\nc\n", "A\nB\nC\n", "d\n\nd\n", "x.doc:2: empty line"),
        (b"a\nb\nc\xff\n", "A\nB\nC\n", None, "x.en:3: invalid UTF-8"),
        (
            "a\nb\nc\nd\n",
            "A\nB\nC\nD\n",
            "p\nq\nq\np\n",
            "x.doc:4: document id 'p' reappears",
        ),
    ],
)
def test_aligned_errors_name_file_and_line(
    tmp_path: Path, en: str | bytes, es: str, doc: str | None, expected: str
) -> None:
    prefix = _aligned(tmp_path, en, es, doc)
    with pytest.raises(CorpusError, match=r"x\.(en|es|doc):\d+: ") as error:
        read_parallel(prefix, "en", "es")
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("tsv", "expected"),
    [
        (
            "d\ta\tA\nd\tb\n",
            "c.tsv:2: wrong number of fields: expected 3 (doc id, source, target)",
        ),
        ("d\ta\tA\td\tb\tB\n", "c.tsv:1: wrong number of fields"),
        ("d\ta\tA\n\n", "c.tsv:2: wrong number of fields"),
        ("d\ta\t \n", "c.tsv:1: empty target"),
        ("d\t\tA\n", "c.tsv:1: empty source"),
        ("\ta\tA\n", "c.tsv:1: empty doc id"),
        (b"d\ta\tA\nd\t\xc3(\tB\n", "c.tsv:2: invalid UTF-8"),
        ("p\ta\tA\nq\tb\tB\np\tc\tC\n", "c.tsv:3: document id 'p' reappears"),
    ],
)
def test_tsv_errors_name_file_and_line(tmp_path: Path, tsv: str | bytes, expected: str) -> None:
    _write(tmp_path / "c.tsv", tsv)
    with pytest.raises(CorpusError) as error:
        read_tsv(tmp_path / "c.tsv")
    assert expected in str(error.value)


@pytest.mark.parametrize("missing", ["x.en", "x.es"])
def test_missing_file_is_a_corpus_error(tmp_path: Path, missing: str) -> None:
    prefix = _aligned(tmp_path, "a\n", "A\n")
    (tmp_path / missing).unlink()
    with pytest.raises(CorpusError, match=f"{missing}: no such file"):
        read_parallel(prefix, "en", "es")


def test_a_directory_for_a_prefix_is_named_as_the_mistake(tmp_path: Path) -> None:
    """`--data data/bible-en-es` (the corpus directory `nmt prepare` writes) where a file PREFIX is wanted."""
    _aligned(tmp_path, "a\n", "A\n")
    for read in (read_parallel, corpus_files):
        with pytest.raises(CorpusError, match=f"{tmp_path} is a directory; a corpus here is a file PREFIX") as error:
            read(tmp_path, "en", "es")
        assert f"e.g. {tmp_path / 'test'}" in str(error.value)


def test_corrupt_gzip_is_a_corpus_error(tmp_path: Path) -> None:
    text = "".join(f"line {i}\n" for i in range(5000))
    prefix = _aligned(tmp_path, gzip.compress(text.encode())[:-100], text)
    with pytest.raises(CorpusError, match="x.en: corrupt gzip data"):
        read_parallel(prefix, "en", "es")


def test_skip_invalid_drops_pairs_and_logs_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    en = b"a1\n\nb1\nb2\xff\nb3\n"
    es = "A1\nA2\nB1\nB2\n \n"
    prefix = _aligned(tmp_path, en, es, "a\na\nb\nb\nb\n")
    with caplog.at_level(logging.WARNING, logger="translator.corpus"):
        docs = read_parallel(prefix, "en", "es", skip_invalid=True)
    assert docs == [Document("a", ("a1",), ("A1",)), Document("b", ("b1",), ("B1",))]
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "skipped 3 invalid line(s)" in message
    assert "empty line: 2 (" in message and "x.en:2" in message and "x.es:5" in message
    assert "invalid UTF-8: 1 (" in message and "x.en:4" in message


def test_skip_summary_shows_first_locations_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    prefix = _aligned(tmp_path, "a\n\n\n\n\nb\n", "A\nB\nC\nD\nE\nF\n")
    with caplog.at_level(logging.WARNING, logger="translator.corpus"):
        docs = read_parallel(prefix, "en", "es", skip_invalid=True)
    assert [doc.doc_id for doc in docs] == ["1", "6"]
    message = caplog.records[0].getMessage()
    assert "empty line: 4 (" in message and "x.en:4, ...)" in message and "x.en:5" not in message


def test_skip_invalid_in_tsv(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path / "c.tsv", b"d\ta\tA\nd\tb\n\xff\tx\tX\nd\tc\t\nd\te\tE\n")
    with caplog.at_level(logging.WARNING, logger="translator.corpus"):
        docs = read_tsv(tmp_path / "c.tsv", skip_invalid=True)
    assert docs == [Document("d", ("a", "e"), ("A", "E"))]
    message = caplog.records[0].getMessage()
    assert "skipped 3 invalid line(s)" in message
    assert "c.tsv:2" in message and "c.tsv:3" in message and "c.tsv:4" in message


def test_no_warning_when_nothing_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    prefix = _aligned(tmp_path, "a\n", "A\n")
    with caplog.at_level(logging.WARNING, logger="translator.corpus"):
        read_parallel(prefix, "en", "es", skip_invalid=True)
    assert caplog.records == []


@pytest.mark.parametrize(
    ("en", "es", "doc"),
    [
        ("a\n\nc\n", "A\nB\n", None),
        ("a\nb\nc\n", "A\nB\nC\n", "d\nd\n"),
    ],
)
def test_skip_invalid_never_hides_misalignment(tmp_path: Path, en: str, es: str, doc: str | None) -> None:
    prefix = _aligned(tmp_path, en, es, doc)
    with pytest.raises(CorpusError, match="misaligned files"):
        read_parallel(prefix, "en", "es", skip_invalid=True)


def test_noncontiguous_ids_are_an_error_even_when_skipping(tmp_path: Path) -> None:
    _write(tmp_path / "c.tsv", "p\ta\tA\nq\tb\tB\np\tc\tC\n")
    with pytest.raises(CorpusError, match="c.tsv:3: document id 'p' reappears"):
        read_tsv(tmp_path / "c.tsv", skip_invalid=True)


@pytest.mark.parametrize(
    ("text", "docs"),
    [
        ("", []),
        ("\n\n", []),
        ("one\n", [["one"]]),
        ("one\ntwo", [["one", "two"]]),
        ("a1\na2\n\nb1\n", [["a1", "a2"], ["b1"]]),
        ("\n\na1\n\n\n  \n\t\nb1\r\nb2\r\n\n\n", [["a1"], ["b1", "b2"]]),
        ("  keep  inner  space \n", [["keep  inner  space"]]),
    ],
)
def test_documents_text_parse_and_format(text: str, docs: list[list[str]]) -> None:
    assert read_documents_text(text.splitlines(keepends=True)) == docs
    formatted = format_documents_text(docs)
    assert read_documents_text(formatted.splitlines(keepends=True)) == docs
    assert formatted == ("\n\n".join("\n".join(doc) for doc in docs) + "\n" if docs else "")


def test_format_documents_text_layout() -> None:
    assert format_documents_text([["a1", "a2"], ["b1"]]) == "a1\na2\n\nb1\n"
    assert format_documents_text([["a"], [], ["b"]]) == "a\n\nb\n"


@pytest.mark.skipif(not BENCHMARK.is_dir(), reason="benchmark corpus not present")
def test_reads_benchmark_dev_split() -> None:
    docs = read_corpus(BENCHMARK / "dev", "en", "es")
    first_id = (BENCHMARK / "dev.doc").read_text(encoding="utf-8").split("\n", 1)[0].strip()
    assert docs[0].doc_id == first_id
    assert len(docs) == 30
    assert sum(len(doc.sources) for doc in docs) == 663
    assert all(len(doc.sources) == len(doc.targets) for doc in docs)
    assert len({doc.doc_id for doc in docs}) == len(docs)  # contiguous: no id reappears
