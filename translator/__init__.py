"""Document-context LSTM translation: the core library.

Public surface (everything else is internal and free to change)::

    from translator import Config, Translator
    t = Translator.load("runs/default")          # a run directory or a checkpoint file
    t.translate_documents([["Look at that dog.", "It is so cute!"]])
"""

from translator.config import Config, DecodeConfig, ModelConfig, TrainConfig
from translator.inference import Translation, Translator
from translator.model import Seq2Seq

__all__ = ["Config", "DecodeConfig", "ModelConfig", "Seq2Seq", "TrainConfig", "Translation", "Translator"]
