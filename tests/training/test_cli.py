"""`nmt train` and `nmt binarize` (training/cli.py): a bad corpus is named by file and line; a store trains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmt.cli import main


def test_malformed_training_corpus_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.en").write_text("one .\ntwo .\nthree .\n")
    (tmp_path / "c.es").write_text("uno .\n\ntres .\n")
    assert main(["train", "--train", str(tmp_path / "c"), "--out", str(tmp_path / "run"), "--max-steps", "1"]) == 1
    assert "c.es:2: empty line" in capsys.readouterr().err


def test_binarize_then_train_on_the_store(
    tmp_path: Path, synthetic_corpus: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "train.store"
    small = ["--set", "model.vocab_size=200", "--set", "data.spm_model_type=bpe", "--set", "train.lanes=8"]
    argv = ["binarize", "--train", synthetic_corpus["train"], "--store", str(store), "--workers", "2", *small]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1])["n_pairs"] == 800
    assert "binarize" in captured.err and "800 pairs" in captured.err  # the progress line
    run = tmp_path / "run"
    argv = ["train", "--train", str(store), "--out", str(run), "--max-steps", "2", "--set", "train.threads=1", *small]
    assert main(argv) == 0
    assert (run / "spm.model").read_bytes() == (store / "spm.model").read_bytes()
    assert not (run / "data").exists()  # the given store is used, not a copy


def test_binarize_reports_a_malformed_corpus_by_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "c.en").write_text("one .\ntwo .\nthree .\n")
    (tmp_path / "c.es").write_text("uno .\ndos .\n")
    assert main(["binarize", "--train", str(tmp_path / "c"), "--store", str(tmp_path / "s"), "--workers", "2"]) == 1
    assert "c.es:3: misaligned files" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("flag", [["--max-steps", "5"], ["--out", "run"], ["--resume"], ["--context", "none"]])
def test_binarize_refuses_training_flags_it_would_ignore(tmp_path: Path, flag: list[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["binarize", "--train", str(tmp_path / "c"), "--store", str(tmp_path / "s"), *flag])
    assert refused.value.code == 2  # argparse: unrecognized arguments
