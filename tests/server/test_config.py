"""`ServeConfig` from flags and NMT_SERVE_* variables, and its refusals."""

from __future__ import annotations

import argparse

import pytest

from server import config


def parse(argv: list[str], env: dict[str, str] | None = None) -> config.ServeConfig:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    return config.from_args(parser.parse_args(argv), env or {})


def test_flags_win_over_environment_which_wins_over_defaults() -> None:
    env = {"NMT_SERVE_PORT": "6000", "NMT_SERVE_MAX_WAIT_MS": "2.5", "NMT_SERVE_MODEL": "a=/x, b=/y"}
    cfg = parse(["--port", "7000"], env)
    assert cfg.port == 7000 and cfg.max_wait_ms == 2.5 and cfg.model == ["a=/x", "b=/y"]
    assert cfg.host == "127.0.0.1" and cfg.metrics_host == "127.0.0.1"  # loopback unless asked otherwise
    assert parse(["--model", "m=/z", "--model", "/w"], env).model == ["m=/z", "/w"]
    assert not cfg.int8 and parse(["--int8"], env).int8 and parse([], {**env, "NMT_SERVE_INT8": "true"}).int8


@pytest.mark.parametrize(
    ("argv", "env", "words"),
    [
        ([], {}, "no model"),
        (["--model", "x", "--tls-cert", "c.pem"], {}, "both --tls-cert and --tls-key"),
        (["--model", "x", "--tls-client-ca", "ca.pem"], {}, "--tls-client-ca needs"),
        (["--model", "x", "--max-batch-size", "0"], {}, "--max-batch-size must be at least 1"),
        (["--model", "x"], {"NMT_SERVE_PORT": "eighty"}, "NMT_SERVE_PORT='eighty' is not a int"),
        (["--model", "x", "--log-format", "xml"], {}, "json or text"),
        (["--model", "x", "--max-wait-ms", "-1"], {}, "must not be negative"),
        (["--model", "x"], {"NMT_SERVE_INT8": "maybe"}, "NMT_SERVE_INT8='maybe' is not a bool"),
        (["--model", "x", "--stream-idle-seconds", "0"], {}, "--stream-idle-seconds must be positive"),
        (["--model", "x", "--max-stream-messages", "0"], {}, "--max-stream-messages must be at least 1"),
        (["--model", "x", "--max-batch-rows", "0"], {}, "--max-batch-rows must be at least 1"),
        (["--model", "x", "--max-request-work", "0"], {}, "--max-request-work must be at least 1"),
        (["--model", "x", "--send-timeout-seconds", "0"], {}, "--send-timeout-seconds must be positive"),
        (["--model", "x", "--max-connection-idle-seconds", "-1"], {}, "must not be negative"),
        (["--model", "x"], {"NMT_SERVE_MAX_MESSAGE_BYTES": "0"}, "--max-message-bytes must be at least 1"),
    ],
)
def test_bad_settings_are_refused(argv: list[str], env: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        parse(argv, env)
