"""`nmt evaluate`, `score` (evaluation/cli.py) end to end on a trained checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nmt.cli import main
from tests.synthetic import contrastive_items, make_documents


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


def test_malformed_contrastive_line_is_named(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"src": "a", "ref": "b", "contrastive": ["c"]}\n{"src": "a"\n')
    assert main(["score", "--model", str(trained_run), "--contrastive", str(path)]) == 1  # a malformed file: failure
    assert f"{path}:2: invalid JSON" in capsys.readouterr().err
