"""The contrastive JSONL loader names bad lines; the report groups by distance and kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.scoring import ContrastiveFormatError, ContrastiveItem, ContrastiveReport, load_contrastive, sign_test

GOOD = {"context_src": ["a ."], "context_tgt": ["b ."], "src": "c .", "ref": "d .", "contrastive": ["e ."]}


def test_loads_items_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + json.dumps({**GOOD, "distance": 2, "kind": "it"}) + "\n")
    items = load_contrastive(path)
    assert len(items) == 2 and items[1].distance == 2 and items[0].context_tgt == ("b .",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({**GOOD, "src": ""}), "'src' must be a non-empty string"),
        (json.dumps({**GOOD, "contrastive": []}), "at least one variant"),
        (json.dumps({**GOOD, "contrastive": "e ."}), "'contrastive' must be a list"),
        (json.dumps({**GOOD, "context_tgt": []}), "differ in length"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n")
    with pytest.raises(ContrastiveFormatError, match=f"x.jsonl:2: .*{message}"):
        load_contrastive(path)


def test_report_groups_by_distance_and_kind() -> None:
    report = ContrastiveReport()
    for distance, kind, ok in [(1, "it", True), (1, "it", False), (2, "they", True), (None, None, True)]:
        report.add(ContrastiveItem("s", "r", ("c",), distance=distance, kind=kind), ok)
    out = report.to_dict()
    assert out["accuracy"] == 0.75 and out["n"] == 4
    assert out["by_distance"] == {"1": {"accuracy": 0.5, "n": 2}, "2": {"accuracy": 1.0, "n": 1}}
    assert out["by_kind"]["they"] == {"accuracy": 1.0, "n": 1}


def test_pair_accuracy_counts_pairs_whose_twins_are_all_right() -> None:
    report = ContrastiveReport()
    for pair, ok in [("a", True), ("a", False), ("b", True), ("b", True), ("c", False), ("c", True)]:
        report.add(ContrastiveItem("s", "r", ("x",), pair=pair), ok)
    out = report.to_dict()
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["pairs"] == 3 and out["pair_accuracy"] == pytest.approx(1 / 3)
    assert out["pairs_both_wrong"] == 0 and out["p_value"] == 0.5  # one decided pair, right: P(X >= 1 of 1)
    assert "pairs" not in ContrastiveReport().to_dict()  # unpaired sets report as before


def test_pair_margins_lean_the_way_the_context_pushes_even_when_no_choice_flips() -> None:
    report = ContrastiveReport()
    margins = [("a", 1.0), ("a", -1.0), ("b", 0.5), ("b", -0.3), ("c", 2.0), ("c", -2.5), ("d", 0.2), ("d", -0.1)]
    for pair, margin in margins:  # every pair one twin right, one wrong: accuracy and pair accuracy say nothing
        report.add(ContrastiveItem("s", "r", ("x",), pair=pair), margin > 0, margin)
    out = report.to_dict()
    assert out["accuracy"] == 0.5 and out["pair_accuracy"] == 0.0 and out["p_value"] == 1.0
    assert out["mean_margin"] == pytest.approx(sum(m for _, m in margins) / 8)
    assert out["pair_margin"] == pytest.approx((0.0 + 0.1 - 0.25 + 0.05) / 4)
    assert out["pair_gap"] == pytest.approx((1.0 + 0.4 + 2.25 + 0.15) / 4)  # the sentence's own pull, per pair
    assert (out["pairs_leaning_right"], out["pairs_leaning_wrong"]) == (2, 1)  # "a" is level: neither
    assert out["lean_p_value"] == pytest.approx(sign_test(2, 1))


def test_sign_test_counts_only_the_pairs_the_context_decides() -> None:
    assert sign_test(0, 0) == 1.0  # a sentence-level model: every pair one right, one wrong
    assert sign_test(5, 0) == pytest.approx(1 / 32)
    assert sign_test(9, 1) == pytest.approx(11 / 1024)  # P(X >= 9), X ~ Binomial(10, 1/2)
    assert sign_test(1, 9) == pytest.approx(1 - 1 / 1024)
