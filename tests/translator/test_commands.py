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
from translator.corpus import format_documents_text, read_documents_text
from translator.inference import Translator


def test_translate_keeps_the_document_shape(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text(
        "look at that cow .\nit is very cute .\n\n\nlook at that dog .\nit is very old .\nlook at that star .\n"
    )
    assert main(["translate", "--model", str(trained_run), "--input", str(source), "--beam", "2"]) == 0
    docs = capsys.readouterr().out.rstrip("\n").split("\n\n")
    assert [len(d.split("\n")) for d in docs] == [2, 3]
    assert docs[0].split("\n")[0].startswith("mira esa")


def test_translate_prints_what_translate_documents_gives(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Streaming changes when lines are written, not what: the output is the whole-job translation's, formatted."""
    docs = [d.sources[: 1 + i % 2] + d.sources for i, d in enumerate(make_documents(25, seed=5))]
    text = "\n\n".join("\n".join(doc) for doc in docs) + "\n"
    source = tmp_path / "in.txt"
    source.write_text("\n\n  \n" + text.replace("\n\n", "\n\n\n", 3))  # leading and repeated blank lines
    args = ["translate", "--model", str(trained_run), "-i", str(source), "--beam", "2", "--batch-size", "3"]
    assert main([*args, "--window", "5"]) == 0
    t = Translator.load(trained_run)
    decode = dataclasses.replace(t.config.decode, beam_size=2, batch_size=3)
    expected = t.translate_documents(read_documents_text(text.splitlines()), decode=decode)
    assert capsys.readouterr().out == format_documents_text([[x.text or " " for x in doc] for doc in expected])


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
    assert out.lines == 3 * docs - 1  # two sentences a document, a blank line between documents
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
