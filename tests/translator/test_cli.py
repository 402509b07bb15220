"""`nmt` end to end on a trained checkpoint: translate, evaluate, score, and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synthetic import contrastive_items, make_documents
from translator.cli import main


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


def test_translate_n_best_prints_scores(trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.txt"
    source.write_text("look at that cow .\n")
    assert (
        main(["translate", "--model", str(trained_run / "best.pt"), "-i", str(source), "--beam", "3", "--n-best", "2"])
        == 0
    )
    line = capsys.readouterr().out.strip()
    assert line.count(" ||| ") == 2 and len(line.split("\t")) == 2


def test_evaluate_bleu_equals_the_sacrebleu_cli(
    trained_run: Path, synthetic_corpus: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hyp = tmp_path / "hyp.es"
    assert (
        main(
            ["evaluate", "--model", str(trained_run), "--data", synthetic_corpus["test"], "-o", str(hyp), "--beam", "1"]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n"] == 40 and summary["context"] == "carry"

    def sacrebleu_cli(metric: str) -> float:
        args = [
            sys.executable,
            "-m",
            "sacrebleu",
            synthetic_corpus["test"] + ".es",
            "-i",
            str(hyp),
            "-m",
            metric,
            "-b",
            "-w",
            "4",
        ]
        return float(subprocess.run(args, capture_output=True, text=True, check=True).stdout)

    bleu, chrf = sacrebleu_cli("bleu"), sacrebleu_cli("chrf")
    assert summary["bleu"] == pytest.approx(bleu, abs=0.006) and summary["chrf"] == pytest.approx(chrf, abs=0.006)


def test_score_prints_accuracy_and_a_json_last_line(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contrastive.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in contrastive_items(make_documents(40, seed=9))) + "\n")
    assert main(["score", "--model", str(trained_run), "--contrastive", str(path)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n"] == 40 and report["accuracy"] >= 0.9
    assert report["by_distance"]["1"]["n"] == 40 and report["by_kind"]["adjective"]["n"] == 40
    assert main(["score", "--model", str(trained_run), "--contrastive", str(path), "--context", "none"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"] <= 0.75


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--out", "x"], "no training data"),
        (["translate", "--model", "/nonexistent/run"], "no such checkpoint"),
        (["train", "--train", "/nonexistent/corpus", "--set", "train.bogus=1"], "unknown key"),
    ],
)
def test_user_errors_exit_2_with_a_message(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_malformed_contrastive_line_is_named(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"src": "a", "ref": "b", "contrastive": ["c"]}\n{"src": "a"\n')
    assert main(["score", "--model", str(trained_run), "--contrastive", str(path)]) == 2
    assert f"{path}:2: invalid JSON" in capsys.readouterr().err


def test_python_dash_m_translator_is_the_same_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "translator", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("prepare", "train", "translate", "evaluate", "score"):
        assert command in out


def test_malformed_training_corpus_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.en").write_text("one .\ntwo .\nthree .\n")
    (tmp_path / "c.es").write_text("uno .\n\ntres .\n")
    assert main(["train", "--train", str(tmp_path / "c"), "--out", str(tmp_path / "run"), "--max-steps", "1"]) == 2
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
    assert main(["binarize", "--train", str(tmp_path / "c"), "--store", str(tmp_path / "s"), "--workers", "2"]) == 2
    assert "c.es:3: misaligned files" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
