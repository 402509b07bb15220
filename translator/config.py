"""One typed configuration for the whole system.

The same `Config` object is built from defaults, then a YAML file, then
`--set section.key=value` overrides, is printed once at start-up and is saved
inside every checkpoint. Inference and serving rebuild the model from the
checkpoint's copy, never from a separate file, so a checkpoint can never be
loaded with the wrong shape.

Unknown keys are errors (a typo in a config file must not be silently
ignored), and values are checked against the field's declared type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

ContextMode = Literal["carry", "attend", "target", "none"]


class ConfigError(ValueError):
    """A configuration value or key is invalid."""


class UsageError(ValueError):
    """A command asked wrongly: a flag missing or contradicting another (exit status 2, as argparse's)."""


@dataclass
class ModelConfig:
    """Shape of the encoder-decoder.

    The decoder uses Luong "general" attention *without* input feeding: the
    decoder LSTM therefore sees only the previous target embedding, and
    teacher-forced training runs it over the whole target in one LSTM call.
    That is several times faster on CPU than a per-step loop, at a small
    quality cost that the time budget more than repays.
    """

    vocab_size: int = 8000
    emb_size: int = 256
    enc_hidden: int = 256  # per direction; the bi-LSTM outputs 2 * enc_hidden
    enc_layers: int = 1
    dec_hidden: int = 512
    dec_layers: int = 1
    dropout: float = 0.2
    share_embeddings: bool = True  # one embedding table for source and target (joint vocabulary)
    tie_output: bool = False  # True: the output layer reuses the target embeddings (fewer parameters, learns slower)
    # carry: hidden state flows across a document's sentences; attend: that, plus attention over the
    # newest `memory_tokens` source tokens of earlier sentences; target: carry, plus attention over the
    # previous sentence's translation (its newest `memory_tokens` pieces); none: every sentence stands alone.
    context: ContextMode = "carry"
    memory_tokens: int = 64


@dataclass
class DataConfig:
    """Where the corpus is and how it is tokenized."""

    train: str = ""  # PREFIX (PREFIX.src/.tgt[/.doc]) or a .tsv[.gz] file
    dev: str = ""
    src_lang: str = "en"
    tgt_lang: str = "es"
    skip_invalid: bool = False  # drop (and count) malformed lines instead of failing
    spm_model: str = ""  # an existing SentencePiece model to use instead of training one (shared vocabularies)
    spm_model_type: Literal["unigram", "bpe"] = "unigram"
    spm_sample_lines: int = 200_000  # lines per side fed to SentencePiece training
    max_len: int = 150  # training pairs longer than this (in pieces, either side) are truncated
    # Subword regularization: > 0 samples every training sentence's segmentation anew each time it is read
    # (unigram: Kudo 2018's smoothing alpha, e.g. 0.1-0.5; BPE: the BPE-dropout rate, e.g. 0.1); 0 = off.
    spm_alpha: float = 0.0
    spm_nbest: int = -1  # unigram sampling: from the n best segmentations (-1: all of them)

    def __post_init__(self) -> None:
        if not 0.0 <= self.spm_alpha <= 1.0:
            raise ConfigError(f"data.spm_alpha: {self.spm_alpha!r} must be in [0, 1] (0: no sampling)")
        if self.spm_nbest == 0 or self.spm_nbest < -1:
            raise ConfigError(f"data.spm_nbest: {self.spm_nbest!r} must be -1 (all) or at least 1")


@dataclass
class TrainConfig:
    """Optimisation, batching and bookkeeping."""

    out_dir: str = "runs/default"
    seed: int = 1
    lanes: int = 64  # documents walked in parallel: the batch size in sentences per slot
    bptt_sentences: int = 2  # backpropagate through this many consecutive sentences, then detach
    lr: float = 2e-3
    warmup_steps: int = 200
    schedule: Literal["constant", "inverse_sqrt", "cosine"] = "inverse_sqrt"
    min_lr: float = 1e-5
    max_steps: int = 0  # 0 = no step limit (stop on time or patience)
    max_minutes: float = 0.0  # 0 = no time limit
    clip_norm: float = 1.0
    label_smoothing: float = 0.1
    weight_decay: float = 0.0
    valid_every: int = 100
    valid_max_sentences: int = 0  # 0 = whole dev set
    valid_beam: int = 1  # beam size for validation BLEU (greedy is several times faster)
    save_every: int = 100  # `last` checkpoint every N steps (resume granularity)
    # Start from this checkpoint's weights and SentencePiece model (a file or a run directory's best.pt), with a
    # fresh optimizer, step count and data position: fine-tuning on another corpus (OpenNMT-py's -train_from with
    # -reset_optim all, fairseq's --restore-file with --reset-*). Its model section replaces this config's.
    init_from: str = ""
    keep_checkpoints: int = 0  # also keep the model of the last N saves in RUN/steps/ (for `nmt average`); 0 = none
    patience: int = 5  # validations without a gain in best_metric before stopping; 0 = never
    # The dev measure that picks best.pt and counts patience: greedy BLEU or chrF, or the teacher-forced
    # loss (nll, lower is better: smooth where greedy BLEU is noisy, fairseq's default).
    best_metric: Literal["bleu", "chrf", "nll"] = "bleu"
    log_every: int = 20
    threads: int = 0  # torch intra-op threads; 0 = torch's default
    # bf16 or auto: autocast matrix products to bf16 (weights stay fp32) where the CPU or GPU has native bf16
    # (AVX512-BF16 or AMX; Ampere or newer), fp32 elsewhere: emulated bf16 is up to 40x slower (translator/devices.py).
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    tensorboard: bool = True
    # Levers that make the model use its context (training/levers.py); 0 = off.
    context_dropout: float = 0.0  # probability that a lane's carried state is reset before a sentence
    coword_dropout: float = 0.0  # probability that a source piece is replaced by <unk> (Fernandes et al. 2021)
    contrast_weight: float = 0.0  # margin loss weight: true context must beat a neighbour's (Jean & Cho 2019); 0 = off
    contrast_margin: float = 2.0  # nats by which a contrast word's log-probability must gain from its true context
    # Target words the margin applies to (space-separated); "lindo/linda" is a gender pair, held to its log-odds.
    contrast_words: str = "él ella ellos ellas"

    def __post_init__(self) -> None:
        for name in ("context_dropout", "coword_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"train.{name}: {value!r} must be in [0, 1)")
        for name in ("contrast_weight", "contrast_margin"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name}: {getattr(self, name)!r} must be >= 0")
        if self.contrast_weight > 0 and not self.contrast_words.split():
            raise ConfigError("train.contrast_words: name at least one target word for the contrastive margin")
        for item in self.contrast_words.split():
            if len(parts := item.split("/")) > 2 or not all(parts) or len(set(parts)) < len(parts):
                raise ConfigError(f"train.contrast_words: {item!r} is neither a word nor a pair such as lindo/linda")


@dataclass
class DecodeConfig:
    """Search settings, used for validation and as inference defaults."""

    beam_size: int = 5
    n_best: int = 1
    length_penalty: float = 1.0  # score / length**alpha; 0 = raw log-probability
    max_len_ratio: float = 2.0  # a sentence's output may have ratio x its source pieces + offset pieces ...
    max_len_offset: int = 10
    max_length: int = 0  # ... and at most this many (0: no cap beyond that rule)
    batch_size: int = 64  # documents (lanes) decoded in parallel
    shortlist: bool = False  # score only the batch's shortlist of target pieces (faster; see translator/shortlist.py)
    alignment: bool = False  # also give word alignments from attention (Translation.alignment; `--alignments FILE`)

    def __post_init__(self) -> None:
        for name in ("beam_size", "n_best", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"decode.{name}: {getattr(self, name)!r} must be at least 1")
        if self.max_length < 0:
            raise ConfigError(f"decode.max_length: {self.max_length!r} must be >= 0 (0: no cap)")


@dataclass
class Config:
    """The root configuration: one section per concern."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (YAML / checkpoint friendly)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Config:
        """Build from a nested dict, rejecting unknown sections and keys."""
        return _build(cls, raw, "")

    @classmethod
    def from_yaml(cls, path: str | Path) -> Config:
        """Read a YAML file whose top level holds the sections."""
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: top level must be a mapping of sections")
        return cls.from_dict(raw)

    def override(self, assignments: list[str]) -> Config:
        """Apply `section.key=value` strings; values are parsed as YAML scalars."""
        raw = self.to_dict()
        for item in assignments:
            key, sep, value = item.partition("=")
            section, dot, name = key.strip().partition(".")
            if not sep or not dot:
                raise ConfigError(f"override {item!r} must look like section.key=value")
            if section not in raw or name not in raw[section]:
                raise ConfigError(f"override {item!r}: unknown key {key!r}")
            raw[section][name] = yaml.safe_load(value) if value.strip() else ""
        return Config.from_dict(raw)

    def to_yaml(self) -> str:
        """The resolved configuration as YAML (printed at start-up, saved in run dirs)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _build(cls: type[Any], raw: Any, where: str) -> Any:
    """Recursively build dataclass `cls` from `raw`, checking keys and types."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown key(s) {unknown}; known: {sorted(known)}")
    values = {}
    for name, value in raw.items():
        path = f"{where}.{name}" if where else name
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, path)  # type: ignore[arg-type]
        else:
            values[name] = _check_value(hint, value, path)
    return cls(**values)


def _check_value(hint: Any, value: Any, path: str) -> Any:
    """Validate a scalar against its annotation; ints are accepted for floats."""
    if typing.get_origin(hint) is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(f"{path}: {value!r} is not one of {list(allowed)}")
        return value
    if isinstance(hint, types.UnionType):
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{path}: expected float, got {value!r}") from None
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{path}: expected {hint.__name__}, got {value!r}")
    return value
