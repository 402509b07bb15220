"""The `nmt` command as a whole: `python -m nmt`, and user errors from any package's command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nmt.cli import main


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


def test_python_dash_m_nmt_is_the_same_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "nmt", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("prepare", "train", "translate", "evaluate", "score"):
        assert command in out
