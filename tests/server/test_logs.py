"""Structured logs: extra fields become JSON keys (or key=value in text)."""

from __future__ import annotations

import json
import logging

from server.logs import JsonFormatter, TextFormatter


def record(**extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("server.access", logging.INFO, __file__, 1, "Translate %s", ("OK",), None)
    rec.__dict__.update(extra)
    return rec


def test_json_lines_carry_the_fields_at_top_level() -> None:
    line = JsonFormatter().format(record(event="rpc", code="OK", ms=1.5))
    entry = json.loads(line)
    assert entry["message"] == "Translate OK" and entry["level"] == "INFO" and entry["logger"] == "server.access"
    assert (entry["event"], entry["code"], entry["ms"]) == ("rpc", "OK", 1.5)
    assert entry["time"].endswith("Z")


def test_text_lines_append_key_values() -> None:
    line = TextFormatter().format(record(event="rpc", code="OK", ms=1.5))
    assert line.endswith("INFO server.access: Translate OK  code=OK ms=1.5")
