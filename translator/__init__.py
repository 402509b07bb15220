"""Document-context LSTM translation: the core library.

Public surface (everything else is internal and free to change)::

    from translator import Config, Translator
    t = Translator.load("runs/default")          # a run directory or a checkpoint file
    t.translate_documents([["Look at that dog.", "It is so cute!"]])

Imports are lazy, so a command that needs no model (`nmt client health`, a
container's health probe) starts without loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Config": "translator.config",
    "DecodeConfig": "translator.config",
    "ModelConfig": "translator.config",
    "TrainConfig": "translator.config",
    "Translation": "translator.inference",
    "Translator": "translator.inference",
    "Seq2Seq": "translator.model",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'translator' has no attribute {name!r}")


__all__ = ["Config", "DecodeConfig", "ModelConfig", "Seq2Seq", "TrainConfig", "Translation", "Translator"]
