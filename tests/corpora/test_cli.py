"""`nmt prepare` (corpora/cli.py): one CORPORA row per corpus, its builder's counts as JSON, user errors exit 2.

Each builder's own output is tested beside it (tests/corpora/test_<builder>.py, through `nmt prepare`);
here, what the command adds: the table, the lazy imports, and the flags a corpus needs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpora.cli import CORPORA
from nmt.cli import main


def test_a_table_row_is_a_corpus_nmt_prepare_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new corpus needs nothing but its row: the choice, the help and the JSON of counts come from it."""

    def build(args: argparse.Namespace) -> dict[str, object]:
        return {"docs": args.docs}

    monkeypatch.setitem(CORPORA, "invented", ("a corpus made up for this test", build))
    out = tmp_path / "invented"
    assert main(["prepare", "invented", "--out", str(out), "--docs", "7"]) == 0
    assert json.loads(capsys.readouterr().out) == {"out": str(out), "docs": 7}
    assert out.is_dir()  # made before the builder runs
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    assert "invented: a corpus made up for this test" in " ".join(capsys.readouterr().out.split())  # as wrapped


def test_the_parser_imports_no_builder() -> None:
    """`nmt client health` and the like should not pay for the corpus builders (nor import them)."""
    code = (
        "import sys; from nmt.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith('corpora.')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "['corpora.cli']"


@pytest.mark.parametrize(
    "corpus, flags",
    [("bible-clauses", []), ("mix", ["--also", "other"])],
)
def test_a_corpus_built_from_another_needs_its_directory(
    corpus: str, flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prepare", corpus, "--out", str(tmp_path / "out"), *flags]) == 2
    assert f"nmt prepare {corpus}: needs --corpus-dir DIR, the corpus directory" in capsys.readouterr().err


def test_mix_needs_a_corpus_to_add(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", "mix", "--corpus-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "needs at least one --also" in capsys.readouterr().err


def test_prepare_data_is_a_deprecated_name_for_corpus_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--data` was prepare's name for a corpus DIRECTORY, while every other command's --data is a file PREFIX:
    it still works, as --corpus-dir, with one line on stderr saying so."""
    monkeypatch.setitem(CORPORA, "invented", ("a corpus made up for this test", lambda a: {"from": str(a.corpus_dir)}))
    out = tmp_path / "out"
    assert main(["prepare", "invented", "--data", str(tmp_path), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"out": str(out), "from": str(tmp_path)}
    [warning] = captured.err.splitlines()
    assert "--data is deprecated" in warning and "use --corpus-dir DIR" in warning
    assert main(["prepare", "invented", "--corpus-dir", str(tmp_path), "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""  # the new name: no warning
    assert main(["prepare", "invented", "--data", str(tmp_path), "--corpus-dir", str(out), "--out", str(out)]) == 2
    assert "not both" in capsys.readouterr().err


def test_every_corpus_flag_says_directory_or_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    """`--data` had two meanings (issue 28): prepare's corpus is a DIR, the other commands' a file PREFIX,
    and each --help says which; prepare's --help no longer shows --data at all."""

    def help_of(command: str) -> str:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        return " ".join(capsys.readouterr().out.split())

    prepare = help_of("prepare")
    assert "--corpus-dir DIR" in prepare and "DIRECTORY" in prepare and "--data" not in prepare
    for command in ("evaluate", "cxmi", "shortlist"):
        text = help_of(command)
        assert "--data PREFIX" in text and "file PREFIX" in text, command
    assert "--train PREFIX" in help_of("train") and "store DIRECTORY" in help_of("train")
