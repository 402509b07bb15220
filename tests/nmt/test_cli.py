"""The `nmt` command as a whole: `python -m nmt`, and user errors from any package's command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nmt.cli import main


@pytest.mark.parametrize(
    ("args", "message", "status"),
    [
        (["train", "--out", "x"], "no training data", 2),  # asked wrongly: usage
        (["train", "--train", "/nonexistent/corpus", "--set", "train.bogus=1"], "unknown key", 2),
        (["translate", "--model", "/nonexistent/run"], "no such checkpoint", 1),  # could not be done: failure
    ],
)
def test_errors_are_one_line_exit_2_for_usage_and_1_for_failures(
    args: list[str], message: str, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == status
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_debug_shows_the_traceback() -> None:
    from translator.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="no such checkpoint"):
        main(["--debug", "translate", "--model", "/nonexistent/run"])


def test_a_flag_mistake_is_argparse_usage_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["translate", "--no-such-flag"])
    assert exit_info.value.code == 2


def test_python_dash_m_nmt_is_the_same_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "nmt", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("prepare", "train", "translate", "evaluate", "score"):
        assert command in out
