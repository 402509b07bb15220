from __future__ import annotations

import json
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU

from evaluation.metrics import corpus_scores


def test_scores_match_sacrebleu_and_carry_signatures() -> None:
    hyps, refs = ["el perro es lindo .", "la casa"], ["el perro es lindo .", "la casa es vieja ."]
    scores = corpus_scores(hyps, refs, ter=True)
    assert scores["bleu"].score == pytest.approx(BLEU().corpus_score(hyps, [refs]).score)
    assert set(scores) == {"bleu", "chrf", "ter"}
    assert all("version:" in s.signature for s in scores.values())
    assert corpus_scores(refs, refs)["bleu"].score == pytest.approx(100.0)


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        corpus_scores(["a", "b"], ["a"])


def test_paired_significance_separates_a_better_system_and_not_an_equal_one() -> None:
    from evaluation.metrics import paired_significance

    refs = [f"the {w} sat on the mat near the door ." for w in ("cat", "dog", "cow", "man", "bird")] * 12
    worse = [r.replace("the mat", "a mat").replace(" door", "") for r in refs]
    for test in ("bs", "ar"):
        results = {r.metric: r for r in paired_significance(worse, refs, refs, test, samples=200)}
        assert set(results) == {"BLEU", "chrF2", "TER"}
        assert results["BLEU"].system == pytest.approx(100.0) and results["BLEU"].baseline < 80
        assert all(r.p_value < 0.05 for r in results.values())
        assert results["BLEU"].baseline == pytest.approx(corpus_scores(worse, refs)["bleu"].score)
        # As good, with its errors on other segments: no significant difference.
        other = [w if i % 2 else r for i, (w, r) in enumerate(zip(worse, refs, strict=True))]
        mirror = [r if i % 2 else w for i, (w, r) in enumerate(zip(worse, refs, strict=True))]
        assert all(r.p_value > 0.3 for r in paired_significance(other, mirror, refs, test, samples=200))
    bs = paired_significance(worse, refs, refs, "bs", samples=200)[0]
    assert bs.system_ci is not None and bs.baseline_ci is not None and "bs:200" in bs.signature


def test_compare_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nmt.cli import main

    refs = ["it is very cute .", "look at that cow .", "mira esa vaca ."] * 10
    (tmp_path / "refs").write_text("\n".join(refs) + "\n")
    (tmp_path / "a").write_text("\n".join(r.replace("very ", "") for r in refs) + "\n")
    (tmp_path / "b").write_text("\n".join(refs) + "\n")
    argv = ["compare", "--refs", str(tmp_path / "refs"), "--baseline", str(tmp_path / "a"), "--system"]
    assert main([*argv, str(tmp_path / "b"), "--samples", "100"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {r["test"] for r in summary} == {"bs", "ar"} and len(summary) == 6
    assert main([*argv, str(tmp_path / "refs"), "--test", "ar"]) == 0
