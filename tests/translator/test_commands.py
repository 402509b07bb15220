"""`nmt translate` (translator/commands.py) end to end on a trained checkpoint."""

from __future__ import annotations

import dataclasses
import io
import os
import queue
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

from nmt.cli import main
from tests.synthetic import make_documents
from translator.corpus import read_documents_text
from translator.inference import Translator


def test_translate_keeps_the_document_shape(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text(
        "look at that cow .\nit is very cute .\n\n\nlook at that dog .\nit is very old .\nlook at that star .\n"
    )
    assert main(["translate", "--model", str(trained_run), "--input", str(source), "--beam", "2"]) == 0
    out = capsys.readouterr().out.split("\n")[:-1]
    assert [bool(line) for line in out] == [True, True, False, False, True, True, True]  # both blank lines kept
    assert out[0].startswith("mira esa")


def _aligned(text: str, translations: list[str]) -> str:
    """`text` with each non-blank line replaced by the next translation: what a line-aligned output must be."""
    it = iter(translations)
    return "".join((next(it) if line.strip() else "") + "\n" for line in text.splitlines())


def test_translate_prints_what_translate_documents_gives_line_for_line(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Streaming changes when lines are written, not what: the whole-job translation's, each on its input line
    (leading, repeated and trailing blank lines kept, so line-aligned tools pair input and output)."""
    docs = [d.sources[: 1 + i % 2] + d.sources for i, d in enumerate(make_documents(25, seed=5))]
    text = "\n\n  \n" + ("\n\n".join("\n".join(doc) for doc in docs) + "\n").replace("\n\n", "\n\n\n", 3) + "\n\n"
    source = tmp_path / "in.txt"
    source.write_text(text)
    args = ["translate", "--model", str(trained_run), "-i", str(source), "--beam", "2", "--batch-size", "3"]
    assert main([*args, "--window", "5"]) == 0
    t = Translator.load(trained_run)
    decode = dataclasses.replace(t.config.decode, beam_size=2, batch_size=3)
    expected = t.translate_documents(read_documents_text(text.splitlines()), decode=decode)
    out = capsys.readouterr().out
    assert out == _aligned(text, [x.text or " " for doc in expected for x in doc])
    assert out.count("\n") == text.count("\n")


class _Input(io.StringIO):
    """stdin whose first read resets tracemalloc's peak: what is measured starts after the model has loaded."""

    started = False

    def _start(self) -> None:
        if not self.started:
            self.started = True
            tracemalloc.reset_peak()

    def read(self, size: int | None = -1) -> str:
        self._start()
        return super().read(size)

    def __iter__(self) -> _Input:
        self._start()
        return self


class _Lines(io.StringIO):
    """stdout that counts lines and keeps none."""

    lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


def _translation_peak(run: Path, docs: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """tracemalloc's peak while `nmt translate` reads, translates and writes `docs` documents."""
    text = "".join("\n".join(d.sources) + "\n\n" for d in make_documents(docs, seed=7))
    out = _Lines()
    monkeypatch.setattr(sys, "stdin", _Input(text))
    monkeypatch.setattr(sys, "stdout", out)
    tracemalloc.start()
    try:
        assert main(["translate", "--model", str(run), "--beam", "1", "--batch-size", "8", "--window", "16"]) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.lines == 3 * docs  # two sentences a document and its blank line, line for line
    return peak


def test_translate_memory_does_not_grow_with_the_input(trained_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four times the documents, about the same peak: what is held is the window, not the input.

    Reading the whole input first and holding every translation to the end
    (before streaming) made the peak 2.1x for 4x the input.
    """
    _translation_peak(trained_run, 5, monkeypatch)  # warm-up: lazy imports and caches
    small, large = (_translation_peak(trained_run, n, monkeypatch) for n in (200, 800))
    print(f"peak with 200 documents {small:,} bytes, with 800 {large:,}", file=sys.stderr)
    assert large < 1.3 * small, (small, large)


def test_translate_writes_a_document_before_the_input_ends(trained_run: Path) -> None:
    """Through a pipe: the first document's translation comes out while stdin is still open."""
    command = [sys.executable, "-m", "nmt", "translate", "--model", str(trained_run), "--batch-size", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        proc.stdin.write("look at that cow .\nit is very cute .\n\n")
        proc.stdin.flush()
        first = [lines.get(timeout=120), lines.get(timeout=120)]  # a guard against a hang, not a timing
        assert first[0].startswith("mira esa") and first[1].rstrip("\n").removesuffix(" .").endswith("a")
        proc.stdin.write("look at that dog .\nit is very cute .\n")
        proc.stdin.close()
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert rest[0] == "\n" and rest[1].startswith("mira ese") and len(rest) == 3


def test_translate_stops_quietly_when_the_reader_goes(trained_run: Path, tmp_path: Path) -> None:
    """`nmt translate < long | head -1`: the reader leaves early; no traceback, no endless translating."""
    source = tmp_path / "in.txt"
    source.write_text("".join("look at that cow .\nit is very cute .\n\n" for _ in range(2000)))
    command = [sys.executable, "-m", "nmt", "translate", "--model", str(trained_run), "-i", str(source)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith("mira esa")
    proc.stdout.close()
    try:
        assert proc.wait(timeout=120) == 1  # a guard against translating on, not a timing
    finally:
        proc.kill()
    assert "Traceback" not in proc.stderr.read()


def test_translate_n_best_prints_scores(trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.txt"
    source.write_text("look at that cow .\n")
    assert (
        main(["translate", "--model", str(trained_run / "best.pt"), "-i", str(source), "--beam", "3", "--n-best", "2"])
        == 0
    )
    line = capsys.readouterr().out.strip()
    assert line.count(" ||| ") == 2 and len(line.split("\t")) == 2


def test_translate_reads_document_ids_beside_the_input(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--docs FILE (as training reads PREFIX.doc): one id per line, no blank lines needed; line for line out."""
    lines = ["look at that cow .", "it is very cute .", "look at that dog .", "it is very cute ."]
    source, ids = tmp_path / "in.txt", tmp_path / "in.doc"
    source.write_text("\n".join(lines) + "\n")
    ids.write_text("a\na\nb\nb\n")
    assert main(["translate", "--model", str(trained_run), "-i", str(source), "--docs", str(ids), "--beam", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    t = Translator.load(trained_run)
    decode = dataclasses.replace(t.config.decode, beam_size=1)
    expected = t.translate_documents([lines[:2], lines[2:]], decode=decode)
    assert out == [x.text for doc in expected for x in doc]
    assert out[1] != out[3]  # "it is very cute ." after the cow, then after the dog: two documents, two contexts


def test_translate_reads_tsv_with_document_ids(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.tsv"
    source.write_text("d1\tlook at that cow .\nd1\tit is very cute .\nd2\tlook at that dog .\nd2\tit is very cute .\n")
    args = ["translate", "--model", str(trained_run), "-i", str(source), "--input-format", "tsv", "--beam", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[0].startswith("mira esa") and out[2].startswith("mira ese")


@pytest.mark.parametrize(
    ("ids", "message"),
    [("a\nb\na\n", "in.doc:3: document id 'a' reappears"), ("a\nb\n", "in.doc:3: ends before")],
)
def test_translate_document_id_errors_name_file_and_line(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], ids: str, message: str
) -> None:
    source, id_file = tmp_path / "in.txt", tmp_path / "in.doc"
    source.write_text("a .\nb .\nc .\n")
    id_file.write_text(ids)
    assert main(["translate", "--model", str(trained_run), "-i", str(source), "--docs", str(id_file)]) != 0
    assert message in capsys.readouterr().err


def test_translate_says_when_a_file_is_one_document(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No blank line in many lines: one document, said on stderr; --sentence-level translates each line alone."""
    source = tmp_path / "in.txt"
    source.write_text("look at that cow .\nit is very cute .\nlook at that dog .\nit is very cute .\n")
    assert main(["translate", "--model", str(trained_run), "-i", str(source), "--beam", "1"]) == 0
    captured = capsys.readouterr()
    assert "one document" in captured.err and "--sentence-level" in captured.err
    assert len(captured.out.splitlines()) == 4
    assert main(["translate", "--model", str(trained_run), "-i", str(source), "--beam", "1", "--sentence-level"]) == 0
    captured = capsys.readouterr()
    assert "one document" not in captured.err
    out = captured.out.splitlines()
    assert len(out) == 4 and out[1] == out[3]  # no context: the same sentence, the same translation


def test_the_old_context_switch_still_works_and_says_it_is_deprecated(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("look at that cow .\nit is very cute .\n")
    base = ["translate", "--model", str(trained_run), "-i", str(source), "--beam", "1"]
    assert main([*base, "--sentence-level"]) == 0
    new = capsys.readouterr().out
    assert main([*base, "--context", "none"]) == 0
    old = capsys.readouterr()
    assert old.out == new and "deprecated" in old.err and "--sentence-level" in old.err


def test_translate_max_length_and_device_flags(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("look at that cow .\nit is very cute .\n")
    base = ["translate", "--model", str(trained_run), "-i", str(source), "--beam", "1", "--device", "cpu"]
    assert main(base) == 0
    full = capsys.readouterr().out.splitlines()
    assert main([*base, "--max-length", "2"]) == 0
    short = capsys.readouterr().out.splitlines()
    t = Translator.load(trained_run)
    assert all(len(t.tokenizer.encode(line.strip())) <= 2 for line in short)
    assert any(len(t.tokenizer.encode(line)) > 2 for line in full)
    assert main([*base, "--length-penalty", "0.5"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_average_of_two_checkpoints_is_their_mean_and_loads(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    from translator import checkpoint

    best = checkpoint.load(trained_run)
    shifted = dataclasses.replace(best, model={k: v + 1 if v.is_floating_point() else v for k, v in best.model.items()})
    other = tmp_path / "shifted.pt"
    checkpoint.save(shifted, other)
    out = tmp_path / "avg.pt"
    assert main(["average", str(trained_run / "best.pt"), str(other), "--output", str(out)]) == 0
    averaged = checkpoint.load(out)
    name = next(k for k, v in best.model.items() if v.is_floating_point())
    assert torch.allclose(averaged.model[name], best.model[name] + 0.5)
    assert Translator.load(out).translate_sentences(["look at that cow ."], None)[0][0].text
    assert main(["average", str(other), "--output", str(tmp_path / "one.pt")]) != 0  # one is not an average


def test_translate_writes_word_alignments_line_for_line(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--alignments FILE: Pharaoh i-j pairs per output line (blank for blank lines), every index a real word."""
    text = "look at that cow .\nit is very cute .\n\nlook at that dog .\n"
    source, links = tmp_path / "in.txt", tmp_path / "links.txt"
    source.write_text(text)
    args = ["translate", "--model", str(trained_run), "-i", str(source), "--beam", "2", "--alignments", str(links)]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    pairs = links.read_text().splitlines()
    assert len(pairs) == len(out) == 4 and pairs[2] == ""
    for src, hyp, line in zip(text.splitlines(), out, pairs, strict=True):
        if not src:
            continue
        links_here = [tuple(map(int, p.split("-"))) for p in line.split()]
        assert links_here and all(i < len(src.split()) and j < len(hyp.split()) for i, j in links_here)
        assert links_here == sorted(links_here, key=lambda p: (p[1], p[0]))  # by target word, as Pharaoh files are
    t = Translator.load(trained_run)
    decode = dataclasses.replace(t.config.decode, beam_size=2, alignment=True, batch_size=1)
    one = t.translate_documents([text.splitlines()[:2], text.splitlines()[3:]], decode=decode)
    three = t.translate_documents(
        [text.splitlines()[:2], text.splitlines()[3:]], decode=dataclasses.replace(decode, batch_size=3)
    )
    assert [[x.alignment for x in d] for d in one] == [[x.alignment for x in d] for d in three]


def test_progress_line_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from translator.commands import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for terminal, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", terminal)
        progress = Progress("translated", "sentences")
        progress.add(3)
        progress.close()
        assert ("translated 3 sentences" in terminal.getvalue()) is shown


def test_progress_callbacks_count_every_sentence(trained_run: Path) -> None:
    """What the progress bars of translate/evaluate/score/cxmi are told adds up to the work done."""
    t = Translator.load(trained_run)
    docs = make_documents(7, seed=8)
    counted: list[int] = []
    t.translate_documents([d.sources for d in docs], progress=counted.append)
    assert sum(counted) == sum(len(d.sources) for d in docs) and len(counted) == len(docs)
    counted.clear()
    t.force_documents([list(zip(d.sources, d.targets, strict=True)) for d in docs], progress=counted.append)
    assert sum(counted) == sum(len(d.sources) for d in docs)
