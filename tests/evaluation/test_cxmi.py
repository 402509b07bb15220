"""CXMI: zero for a model without context, clearly positive for a tiny carry model that learned its context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from evaluation.cxmi import force_with_controls, pick_partners, summarise
from nmt.cli import main
from tests.conftest import tiny_config
from tests.synthetic import make_documents
from training.trainer import train
from translator.inference import Translator


@pytest.fixture(scope="module")
def none_run(tmp_path_factory: pytest.TempPathFactory, synthetic_corpus: dict[str, str]) -> Path:
    cfg = tiny_config(tmp_path_factory.mktemp("none"), max_steps=60).override(
        [f"data.train={synthetic_corpus['train']}", "model.context=none"]
    )
    torch.manual_seed(0)
    return train(cfg) / "last.pt"


def test_a_sentence_level_model_has_exactly_zero_cxmi(none_run: Path) -> None:
    docs = make_documents(24, seed=5)
    scores, _ = force_with_controls(Translator.load(none_run), docs, batch_size=5)
    assert all(s.gains(c) == [0.0] * len(s.true) for s in scores for c in ("reset", "random"))
    summary = summarise(scores, samples=50)
    assert summary["reset"]["cxmi"] == 0.0 and summary["random"]["cxmi"] == 0.0


def test_a_carry_model_that_learned_its_context_has_clearly_positive_cxmi(trained_run: Path) -> None:
    docs = make_documents(60, seed=6)
    scores, pairing = force_with_controls(Translator.load(trained_run), docs, batch_size=16)
    summary = summarise(scores, samples=300)
    for control in ("reset", "random"):
        report = summary[control]
        assert report["ci95"][0] > 0.1, (control, report["cxmi"], report["ci95"])
        assert report["by_position"]["1"]["cxmi"] == 0.0  # a first sentence has no context to gain from
        # The gain sits on the word whose gender the previous sentence decides (lindo/linda ...).
        assert report["by_class"]["adjective"]["cxmi"] > 3 * report["cxmi"]
    # Another document's context is as good as the true one for every word but the adjective,
    # while the reset (a state the model never saw at a second sentence) costs on every word.
    assert abs(summary["random"]["by_class"]["other"]["cxmi"]) < 0.01
    assert summary["reset"]["by_class"]["other"]["cxmi"] > 0.1
    assert {r["class"] for r in summary["random"]["top_pieces"][:4]} == {"adjective"}
    assert summary["random"]["gendered_over_all"] > 3  # what the issue asks of Bible text, met here
    assert pairing["exhausted_sentences"] == 0  # partners are chosen at least as long where one exists


def test_true_context_scores_are_the_documents_forced_scores(trained_run: Path) -> None:
    """The true-context walk is the same walk as `force_documents` (validation's dev loss)."""
    t = Translator.load(trained_run)
    docs = make_documents(10, seed=8)
    scores, _ = force_with_controls(t, docs, batch_size=4)
    forced = t.force_documents([list(zip(d.sources, d.targets, strict=True)) for d in docs])
    flat = [lp for doc in forced for lp, _ in doc]
    assert [sum(s.true) for s in scores] == pytest.approx(flat, abs=1e-4)
    assert [len(s.true) for s in scores] == [n for doc in forced for _, n in doc]


def test_partners_are_other_documents_at_least_as_long_and_reproducible() -> None:
    lengths = [3, 5, 2, 5, 9, 1, 4]
    partners = pick_partners(lengths, seed=3)
    assert partners == pick_partners(lengths, seed=3)
    for d, p in enumerate(partners):
        assert p != d
        assert lengths[p] >= lengths[d] or lengths[d] == max(lengths)
    assert partners[4] == 1 or partners[4] == 3  # the longest: paired with the longest of the others
    with pytest.raises(ValueError, match="at least two documents"):
        pick_partners([4], seed=1)


def test_cli_prints_a_table_then_a_json_line(
    trained_run: Path, synthetic_corpus: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["cxmi", "--model", str(trained_run), "--data", synthetic_corpus["test"], "--max-docs", "8"]
    assert main([*args, "--samples", "100"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("CXMI") and any(line.startswith("class gendered") for line in lines)
    result = json.loads(lines[-1])
    assert result["documents"] == 8 and result["context"] == "carry"
    assert result["reset"]["cxmi"] > 0 and set(result["reset"]["by_class"]) >= {"pronoun", "adjective", "other"}
