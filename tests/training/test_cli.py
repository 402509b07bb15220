"""`nmt train` (training/cli.py): a bad corpus is named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nmt.cli import main


def test_malformed_training_corpus_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.en").write_text("one .\ntwo .\nthree .\n")
    (tmp_path / "c.es").write_text("uno .\n\ntres .\n")
    assert main(["train", "--train", str(tmp_path / "c"), "--out", str(tmp_path / "run"), "--max-steps", "1"]) == 2
    assert "c.es:2: empty line" in capsys.readouterr().err
