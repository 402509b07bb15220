"""`nmt client` against a live server: the three ways of sending a document agree, with `nmt translate` too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmt.cli import main
from server.app import Server


def test_client_modes_agree_and_keep_documents_apart(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "look at that cow .\nit is very cute .\n\nlook at that dog .\nit is very cute .\n"
    (tmp_path / "in.txt").write_text(text)
    target = f"127.0.0.1:{served.port}"
    outputs = {}
    for mode in ("document", "sentence", "stream"):
        out = tmp_path / f"{mode}.txt"
        assert (
            main(
                [
                    "client",
                    "translate",
                    "--target",
                    target,
                    "-i",
                    str(tmp_path / "in.txt"),
                    "-o",
                    str(out),
                    "--mode",
                    mode,
                ]
            )
            == 0
        )
        outputs[mode] = out.read_text()
    assert outputs["document"] == outputs["sentence"] == outputs["stream"]
    cow_doc, dog_doc = outputs["document"].split("\n\n")
    assert cow_doc.splitlines()[1].split()[-2].endswith("a") and dog_doc.splitlines()[1].split()[-2].endswith("o")


def test_client_models_and_health(served: Server, capsys: pytest.CaptureFixture[str]) -> None:
    target = f"127.0.0.1:{served.port}"
    assert main(["client", "health", "--target", target]) == 0
    assert capsys.readouterr().out.strip() == "SERVING"
    assert main(["client", "models", "--target", target]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["defaultModel"] == "tiny" and {m["name"] for m in listing["models"]} == {"tiny", "twin"}


def test_client_reports_refusals(served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in.txt").write_text("look at that cow .\n")
    argv = ["client", "translate", "--target", f"127.0.0.1:{served.port}", "-i", str(tmp_path / "in.txt")]
    assert main([*argv, "--model", "nope"]) == 1
    assert "NOT_FOUND: no model named 'nope'" in capsys.readouterr().err


def test_client_n_best_prints_each_alternative_with_its_score(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As `nmt translate --n-best` prints them: 'text ||| score', tab-separated, best first (issue 28)."""
    (tmp_path / "in.txt").write_text("look at that cow .\nit is very cute .\n")
    argv = ["client", "translate", "--target", f"127.0.0.1:{served.port}", "-i", str(tmp_path / "in.txt")]
    assert main([*argv, "--beam", "4", "--n-best", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        fields = [f.split(" ||| ") for f in line.split("\t")]
        assert len(fields) == 3 and all(len(f) == 2 for f in fields)
        scores = [float(score) for _, score in fields]
        assert scores == sorted(scores, reverse=True)


def test_client_output_is_line_for_line_with_its_input(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As `nmt translate`: leading, repeated and trailing blank lines come back, so `paste` pairs the lines."""
    text = "\nlook at that cow .\nit is very cute .\n\n\nlook at that dog .\n\n"
    (tmp_path / "in.txt").write_text(text)
    out = tmp_path / "out.txt"
    args = ["client", "translate", "--target", f"127.0.0.1:{served.port}", "-i", str(tmp_path / "in.txt")]
    assert main([*args, "-o", str(out)]) == 0
    lines = out.read_text().split("\n")[:-1]
    assert [bool(line) for line in lines] == [bool(line) for line in text.split("\n")[:-1]]


def test_client_alignments_are_what_nmt_translate_writes(
    served: Server, trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`nmt client --alignments FILE` writes the file `nmt translate --alignments FILE` does, line for line
    (blank for blank lines), in every mode, beside the same translations."""
    text = "\nlook at that cow .\nit is very cute .\n\nlook at that dog .\n"
    source = tmp_path / "in.txt"
    source.write_text(text)
    local = tmp_path / "local.links"
    assert main(["translate", "--model", str(trained_run), "-i", str(source), "--alignments", str(local)]) == 0
    expected_text = capsys.readouterr().out
    assert len(local.read_text().splitlines()) == len(text.splitlines()) and local.read_text().strip()
    argv = ["client", "translate", "--target", f"127.0.0.1:{served.port}", "-i", str(source)]
    for mode in ("document", "sentence", "stream"):
        links = tmp_path / f"{mode}.links"
        assert main([*argv, "--mode", mode, "--alignments", str(links)]) == 0
        assert capsys.readouterr().out == expected_text
        assert links.read_text() == local.read_text()
