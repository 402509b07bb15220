"""The models a server holds, by name, and their hot reload.

A model is named by the operator (`--model NAME=PATH`) or after its folder or
file (`--model-dir`). PATH may be a run directory, whose best checkpoint (else
last) is served, or a checkpoint file. A watcher thread polls the resolved
files; when one changes it loads the new checkpoint *beside* the old one,
checks it (finite weights, one test translation) and only then swaps the
registry entry. Requests already running keep the `ServedModel` they started
with, so a swap drops nothing; a checkpoint that fails to load or check is
logged and counted, and the old model keeps serving.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import torch

from server import contextblob
from server.errors import RequestError, quoted
from translator import checkpoint
from translator.inference import Translator
from translator.model import count_parameters
from translator.state import DocState

log = logging.getLogger("server.registry")


@dataclass(frozen=True)
class ModelSpec:
    """Where a named model comes from: a run directory or a checkpoint file."""

    name: str
    path: Path

    @staticmethod
    def parse(text: str) -> ModelSpec:
        """`NAME=PATH` or `PATH` (named after the folder, or the file without .pt).

        A path may itself hold "=" (`models/en=es.pt`): text that names an existing file or
        folder, or whose part before "=" has a "/", is a path.
        """
        name, sep, path = text.partition("=")
        if not sep or "/" in name or Path(text).exists():
            return ModelSpec.named_after(Path(text))
        if not name or not path:
            raise ValueError(f"bad --model {text!r}: expected [NAME=]PATH")
        return ModelSpec(name, Path(path))

    @staticmethod
    def named_after(path: Path) -> ModelSpec:
        """The model at `path`, named after its folder or its file without .pt (a --model-dir entry)."""
        name = path.stem if path.suffix == ".pt" else path.resolve().name
        if not name:
            raise ValueError(f"bad --model {str(path)!r}: expected [NAME=]PATH")
        return ModelSpec(name, path)


@dataclass(frozen=True)
class FileStamp:
    """Identifies one version of a checkpoint file without reading it."""

    path: Path
    mtime_ns: int
    size: int

    @staticmethod
    def of(spec_path: Path) -> FileStamp:
        file = checkpoint.resolve(spec_path)
        st = file.stat()
        return FileStamp(file, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class ServedModel:
    """One loaded checkpoint. Immutable: a reload makes a new one."""

    name: str
    translator: Translator
    stamp: FileStamp
    version: str  # first 16 hex digits of the checkpoint's SHA-256
    loaded_at: float
    parameters: int

    @property
    def step(self) -> int:
        return self.translator.step

    @property
    def precision(self) -> str:
        return "int8" if self.translator.int8 else "fp32"

    def decode_context(self, blob: bytes, key: bytes = b"") -> tuple[DocState | None, int]:
        cfg = self.translator.config.model
        return contextblob.decode(blob, self.name, self.version, cfg, self.translator.device, key)

    def encode_context(self, doc_state: DocState | None, sentences: int, key: bytes = b"") -> bytes:
        """The client's context bytes for `doc_state` (the wire calls it context; the code, doc_state)."""
        return contextblob.encode(self.name, self.version, sentences, doc_state, key)

    def summary(self, detail: bool = False) -> dict[str, object]:
        """What ListModels says about this model.

        By default no filesystem path (only the checkpoint's file name) and, of the config,
        only what a client needs to use the model (its context mode and precision): a
        client has no business learning the server's layout (issue 30). `detail`
        (`--expose-model-details`) adds the path and the whole model config.
        """
        cfg = self.translator.config
        config = {"context": str(cfg.model.context), "inference": self.precision}
        if detail:
            config = {**{k: str(v) for k, v in vars(cfg.model).items()}, "inference": self.precision}
        return {
            "name": self.name,
            "source_language": cfg.data.src_lang,
            "target_language": cfg.data.tgt_lang,
            "checkpoint": str(self.stamp.path) if detail else self.stamp.path.name,
            "version": self.version,
            "step": self.step,
            "context_mode": cfg.model.context,
            "loaded_at": self.loaded_at,
            "config": config,
            "parameters": self.parameters,
        }


def load_model(
    name: str, stamp: FileStamp, device: torch.device, int8: bool = False, shortlist: bool = False
) -> ServedModel:
    """Load and check one checkpoint; raises `CheckpointError` or `RuntimeError` if it is unusable."""
    ckpt = checkpoint.load(stamp.path)  # one read: the version is the hash of the bytes the weights came from
    translator = Translator.from_checkpoint(ckpt)
    translator.model.to(device)
    bad = [n for n, p in translator.model.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise RuntimeError(f"{stamp.path}: non-finite weights in {', '.join(bad[:3])}")
    parameters = count_parameters(translator.model)
    if int8:
        translator.quantize_int8()
    if shortlist and translator.shortlist is not None:  # models from before shortlists decode in full
        translator.config.decode = dataclasses.replace(translator.config.decode, shortlist=True)
    elif shortlist:
        log.warning("%s: %s has no vocabulary shortlist; it scores the full vocabulary", name, stamp.path)
    translator.translate_sentences(["Test."], None, max_lengths=[4])  # a model that loads but cannot run fails here
    return ServedModel(name, translator, stamp, ckpt.sha256[:16], time.time(), parameters)


class ModelRegistry:
    """Named models; `get` is what requests use, `poll` is what the watcher runs."""

    def __init__(
        self,
        specs: list[ModelSpec],
        model_dir: Path | None = None,
        device: torch.device | str = "cpu",
        int8: bool = False,
        shortlist: bool = False,
        on_change: Callable[[str, ServedModel | None, Exception | None], None] | None = None,
    ) -> None:
        self._specs = {s.name: s for s in specs}
        if len(self._specs) != len(specs):
            raise ValueError("two --model entries have the same name")
        self._model_dir = model_dir
        self._device = torch.device(device)
        self._int8, self._shortlist = int8, shortlist
        self._on_change = on_change or (lambda name, model, error: None)
        self._models: dict[str, ServedModel] = {}
        self._failed: dict[str, FileStamp] = {}  # a broken file is retried only once it changes
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.default = specs[0].name if specs else ""

    # ---------------------------------------------------------------- requests

    def get(self, name: str) -> ServedModel:
        """The model named `name` ('' = default), or NOT_FOUND."""
        with self._lock:
            model = self._models.get(name or self.default)
        if model is None:
            known = ", ".join(sorted(self._models)) or "none"
            raise RequestError(grpc.StatusCode.NOT_FOUND, f"no model named {quoted(name)} (loaded: {known})")
        return model

    def models(self) -> list[ServedModel]:
        with self._lock:
            return [self._models[n] for n in sorted(self._models)]

    # ---------------------------------------------------------------- loading

    def load_initial(self) -> None:
        """Load every model. A named `--model` that fails is fatal; a `--model-dir` entry is skipped."""
        for spec in self._specs.values():
            self._install(
                spec.name, load_model(spec.name, FileStamp.of(spec.path), self._device, self._int8, self._shortlist)
            )
        self.poll()
        if not self._models:
            raise RuntimeError(f"no loadable model in {self._model_dir}")
        if not self.default:
            self.default = sorted(self._models)[0]

    def poll(self) -> None:
        """Load what is new or changed since the last poll (one model at a time)."""
        for name, path in self._candidates().items():
            try:
                stamp = FileStamp.of(path)
            except checkpoint.CheckpointError:
                continue  # a run directory with no checkpoint yet
            current = self._models.get(name)
            if (current and current.stamp == stamp) or self._failed.get(name) == stamp:
                continue
            try:
                model = load_model(name, stamp, self._device, self._int8, self._shortlist)
            except Exception as e:  # any failure: keep what is serving
                self._failed[name] = stamp
                log.error("model %s: cannot load %s, still serving the previous version: %s", name, stamp.path, e)
                self._on_change(name, None, e)
                continue
            self._failed.pop(name, None)
            self._install(name, model)

    def _candidates(self) -> dict[str, Path]:
        found = {name: spec.path for name, spec in self._specs.items()}
        if self._model_dir is not None and self._model_dir.is_dir():
            for entry in sorted(self._model_dir.iterdir()):
                if entry.is_dir() or entry.suffix == ".pt":
                    found.setdefault(ModelSpec.named_after(entry).name, entry)
        return found

    def _install(self, name: str, model: ServedModel) -> None:
        with self._lock:
            old = self._models.get(name)
            self._models[name] = model
        verb = "reloaded" if old else "loaded"
        log.info(
            "model %s %s: %s step %d version %s",
            name,
            verb,
            model.stamp.path,
            model.step,
            model.version,
            extra={"event": "model_" + verb, "model": name, "version": model.version, "step": model.step},
        )
        self._on_change(name, model, None)

    # ---------------------------------------------------------------- watcher

    def start_watching(self, interval: float) -> None:
        if interval <= 0:
            return
        self._thread = threading.Thread(target=self._watch, args=(interval,), name="model-watcher", daemon=True)
        self._thread.start()

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.poll()
            except Exception:  # the watcher must outlive any surprise
                log.exception("model watcher: poll failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
