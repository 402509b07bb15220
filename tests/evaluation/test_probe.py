"""The document-state probe: it reads the antecedent's gender where the state holds it, and nothing from a reset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from evaluation.probe import cross_validated, fold_of_groups, probe_gender, reference_gender, twin_spread
from evaluation.scoring import ContrastiveItem, load_contrastive
from nmt.cli import main
from tests.conftest import tiny_config
from tests.synthetic import contrastive_items, make_documents
from translator.inference import Translator
from translator.model import Seq2Seq
from translator.tokenizer import Tokenizer


def _item(ref: str, variant: str) -> ContrastiveItem:
    return ContrastiveItem("It is so cute!", ref, (variant,))


def test_the_label_is_the_gender_of_the_word_where_reference_and_variant_differ() -> None:
    assert reference_gender(_item("¡Es muy linda!", "¡Es muy lindo!")) == "f"
    assert reference_gender(_item("Hablamos de él.", "Hablamos de ella.")) == "m"
    assert reference_gender(_item("Y púsolas Dios allí,", "Y púsolos Dios allí,")) == "f"
    assert reference_gender(_item("Es muy alta.", "Es muy baja.")) is None  # no gender in the difference
    assert reference_gender(_item("Le dio pan.", "Les dio pan.")) is None


def test_twins_of_a_pair_share_a_fold() -> None:
    groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    fold = fold_of_groups(groups, 3).tolist()
    assert fold == [0, 0, 1, 1, 2, 2, 0, 0]


def test_the_regression_finds_a_linear_signal_and_no_signal_where_there_is_none() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(120, 30, generator=gen, dtype=torch.float64)
    fold = fold_of_groups(list(range(120)), 10)
    signal = (x[:, 3] > 0).double()
    noise = torch.randint(0, 2, (120,), generator=gen).double()
    assert cross_validated(x, signal, fold).double().mean() > 0.8
    assert cross_validated(x, noise, fold).double().mean() < 0.7


def test_a_carry_model_that_learned_its_context_shows_the_gender_and_a_reset_state_shows_nothing(
    trained_run: Path,
) -> None:
    items = [ContrastiveItem(**_fields(raw)) for raw in contrastive_items(make_documents(80, seed=11))]
    translator = Translator.load(trained_run)
    carried = probe_gender(translator, items)
    assert carried.items == 80 and carried.skipped == 0 and carried.groups == 80
    assert carried.parts["decoder"]["accuracy"] >= 0.95, carried.parts
    reset = probe_gender(translator, items, mode="none")
    assert all(part["accuracy"] <= reset.majority for part in reset.parts.values()), reset.parts


def test_a_sentence_level_model_has_no_state_to_probe(tokenizer: Tokenizer) -> None:
    cfg = tiny_config().override(["model.context=none"])
    translator = Translator(Seq2Seq(cfg.model), tokenizer, cfg)
    items = [ContrastiveItem(**_fields(raw)) for raw in contrastive_items(make_documents(4, seed=12))]
    with pytest.raises(ValueError, match="no document state"):
        probe_gender(translator, items)


def test_cli_prints_a_table_then_a_json_line(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in contrastive_items(make_documents(30, seed=13))) + "\n")
    assert len(load_contrastive(path)) == 30
    assert main(["probe", "--model", str(trained_run), "--contrastive", str(path), "--folds", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("gender probe") and lines[1].split()[0] == "encoder"
    result = json.loads(lines[-1])
    assert result["items"] == 30 and set(result["parts"]) == {"encoder", "decoder", "all"}


def _fields(raw: dict[str, object]) -> dict[str, object]:
    return {
        "src": raw["src"],
        "ref": raw["ref"],
        "contrastive": tuple(raw["contrastive"]),  # type: ignore[arg-type]
        "context_src": tuple(raw["context_src"]),  # type: ignore[arg-type]
        "context_tgt": tuple(raw["context_tgt"]),  # type: ignore[arg-type]
        "distance": raw["distance"],
    }


def test_twin_spread_is_the_median_relative_distance_of_twin_states_by_distance() -> None:
    def row(*values: float) -> dict[str, torch.Tensor]:
        return {"all": torch.tensor(values, dtype=torch.float64)}

    rows = [row(1, 0), row(1, 0), row(1, 0), row(0, 1), row(2, 0), row(2, 1), row(5, 5)]
    groups = ["p", "p", "q", "q", "r", "r", "single"]
    spread = twin_spread(rows, groups, ["1", "1", "1", "1", "2", "2", "1"])
    # distance 1: pairs p (identical: 0) and q (|(1,-1)| / 1 = 1.414...), the median of the two; "single" has no twin
    assert spread["all"]["1"] == pytest.approx(2**0.5 / 2)
    assert spread["all"]["2"] == pytest.approx(2 * 1 / (2 + 5**0.5))
