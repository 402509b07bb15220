"""`nmt evaluate` with several models: the same scores as one at a time, significance, a report with plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmt.cli import main
from tests.synthetic import contrastive_items, make_documents

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def contrastive_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("contrastive") / "pronouns.jsonl"
    items = contrastive_items(make_documents(12, seed=21))
    path.write_text("".join(json.dumps({**i, "distance": 1}) + "\n" for i in items), encoding="utf-8")
    return path


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_report_holds_each_systems_scores_significance_and_plots(
    trained_run: Path,
    synthetic_corpus: dict[str, str],
    contrastive_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["--data", synthetic_corpus["test"], "--beam", "1", "--contrastive", str(contrastive_file)]
    assert main(["evaluate", "--model", str(trained_run), *base]) == 0
    alone = json_lines(capsys.readouterr().out)

    report = tmp_path / "report"
    models = ["--model", str(trained_run), "--model", str(trained_run / "last.pt")]
    assert main(["evaluate", *models, *base, "--dev", synthetic_corpus["dev"], "--report", str(report)]) == 0
    together = json_lines(capsys.readouterr().out)

    # The first system's test scores and contrastive accuracy are what evaluating it alone gives.
    assert together[0]["bleu"] == alone[0]["bleu"] and together[0]["chrf"] == alone[0]["chrf"]
    first_contrastive = next(r for r in together if r.get("contrastive") == "pronouns")
    assert first_contrastive["accuracy"] == alone[-1]["accuracy"]

    results = json.loads((report / "results.json").read_text())
    names = [s["name"] for s in results["systems"]]
    assert names == [trained_run.name, f"{trained_run.name}/last"]
    assert set(results["systems"][1]["scores"]) == {"test", "dev"}
    tested = {(c["split"], c["result"]["metric"]) for c in results["comparisons"]}
    assert {("test", "BLEU"), ("dev", "chrF2"), ("test", "TER")} <= tested
    assert all(0.0 <= c["result"]["p_value"] <= 1.0 for c in results["comparisons"])

    markdown = (report / "report.md").read_text()
    for heading in ("Translation quality", "Paired significance", "Contrastive accuracy", "distance 1"):
        assert heading in markdown
    for png in ("training.png", "scores.png", "contrastive.png"):
        assert (report / png).read_bytes()[:8] == PNG_MAGIC and f"]({png})" in markdown


def test_output_file_needs_a_single_model(trained_run: Path, synthetic_corpus: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="one --model"):
        main(["evaluate", "--model", str(trained_run), "--model", str(trained_run), "--data", synthetic_corpus["test"],
              "-o", str(tmp_path / "hyp")])  # fmt: skip


def test_cxmi_goes_into_the_report_when_asked(
    trained_run: Path, synthetic_corpus: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report"
    base = ["evaluate", "--model", str(trained_run), "--data", synthetic_corpus["test"], "--beam", "1"]
    assert main([*base, "--report", str(report / "plain")]) == 0
    assert not (report / "plain" / "cxmi.png").exists()
    assert "CXMI" not in (report / "plain" / "report.md").read_text()
    assert main([*base, "--cxmi", "--report", str(report / "cxmi")]) == 0
    capsys.readouterr()
    measured = json.loads((report / "cxmi" / "results.json").read_text())["systems"][0]["cxmi"]
    assert measured["reset"]["ci95"][0] > 0 and measured["random"]["by_position"]["1"]["cxmi"] == 0.0
    markdown = (report / "cxmi" / "report.md").read_text()
    assert "Context use: CXMI" in markdown and f"| {trained_run.name} | +" in markdown
    assert (report / "cxmi" / "cxmi.png").read_bytes()[:8] == PNG_MAGIC and "](cxmi.png)" in markdown
