"""The training loop: build, then step, validate and checkpoint until a limit.

Read `train()` top to bottom: it prepares data and model (or restores them
from `last.pt`), then loops. Each step feeds `bptt_sentences` consecutive
slots of the document stream through the model, carrying the document
context from slot to slot, backpropagates through all of them, then detaches
the context (truncated backpropagation through time across sentences).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from evaluation.metrics import corpus_scores
from training import distributed
from training.binarize import train_store, train_store_path
from training.data import DocumentStream, Slot, SubwordSampler
from training.levers import Contrast, apply_levers
from training.report import Reporter
from training.schedule import lr_at
from training.store import TokenStore, check_fingerprint, open_store
from translator import checkpoint, devices
from translator.checkpoint import LAST, Checkpoint, write_atomic
from translator.config import Config, ConfigError
from translator.corpus import Document, read_corpus
from translator.inference import Translator
from translator.model import Seq2Seq, count_parameters
from translator.shortlist import Shortlist
from translator.state import DocState, state_from_tensors, state_to_tensors
from translator.tokenizer import PAD_ID, Tokenizer

log = logging.getLogger("training")


class ChunkLoss(nn.Module):
    """Summed loss over consecutive slots, carrying the context between them.

    It is one module call so that DistributedDataParallel sees one forward
    per backward, however many sentences the gradient flows through.
    """

    def __init__(self, model: Seq2Seq, label_smoothing: float, contrast: Contrast | None = None) -> None:
        super().__init__()
        self.model, self.label_smoothing, self.contrast = model, label_smoothing, contrast

    def forward(self, slots: list[Slot], doc_state: DocState | None) -> tuple[Tensor, Tensor, Tensor, DocState | None]:
        """(cross-entropy sum, target tokens, contrastive margin sum, the context the last slot leaves)."""
        device = slots[0].src.device
        loss, tokens = torch.zeros((), device=device), torch.zeros((), dtype=torch.long, device=device)
        margin = torch.zeros((), device=device)
        for slot in slots:
            if doc_state is not None:
                doc_state = doc_state.reset(slot.start)
            out, enc_final = self.model.force(slot.src, slot.src_len, slot.tgt_in, slot.tgt_len, doc_state)
            real = slot.tgt_out.ne(PAD_ID)  # (B, T)
            logits = self.model.logits(out.features[real])  # (N, V): only real positions
            loss = loss + F.cross_entropy(
                logits, slot.tgt_out[real], label_smoothing=self.label_smoothing, reduction="sum"
            )
            tokens = tokens + real.sum()
            if self.contrast is not None and doc_state is not None:
                margin = margin + self.contrast.loss(self.model, slot, doc_state, out.features)
            doc_state = self.model.next_doc_state(enc_final, out.state, slot.tgt_out)
        return loss, tokens, margin, doc_state


def optimisation_step(
    graph: nn.Module, optimizer: torch.optim.Optimizer, slots: list[Slot], doc_state: DocState | None, cfg: Config
) -> tuple[Tensor, Tensor, Tensor, float, DocState | None]:
    """Forward over the slots, backward, clip, update.

    Returns (cross-entropy sum, tokens, margin sum, grad norm, detached document state). Both sums are
    minimised per target token; they are returned apart so the logged loss stays cross-entropy.
    The document state leaves detached (truncated backpropagation) and in float32 (bf16 autocast made it).
    """
    device = slots[0].src.device
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast_bf16(device, cfg.train.precision)):
        loss_sum, n_tokens, margin_sum, doc_state = graph(slots, doc_state)
    ((loss_sum + margin_sum) / n_tokens).backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    grad_norm = float(nn.utils.clip_grad_norm_(params, cfg.train.clip_norm))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss_sum, n_tokens, margin_sum, grad_norm, doc_state.detach().float() if doc_state is not None else None


def autocast_bf16(device: torch.device, precision: str) -> bool:
    """Whether a step autocasts to bf16: for `bf16` and `auto`, only where the device has it natively.

    Emulated bf16 gives the same loss per step as fp32 but runs up to 40x slower (an AVX2-only CPU),
    so it is never chosen; `precision_note` says once at start which one a run uses and why.
    """
    return precision != "fp32" and devices.native_bf16(device)


def precision_note(device: torch.device, precision: str) -> tuple[int, str]:
    """(log level, message) saying which precision training runs in on `device`, and why."""
    where = devices.describe(device)
    if precision == "fp32":
        return logging.INFO, f"precision: fp32 (train.precision=fp32) on {where}"
    if autocast_bf16(device, precision):
        return logging.INFO, f"precision: bf16 autocast (train.precision={precision}) on {where}"
    # Asked for bf16 by name where it would be emulated: say so louder than `auto` does.
    level = logging.WARNING if precision == "bf16" else logging.INFO
    return level, f"precision: fp32, as {device.type} has no native bf16 (train.precision={precision}) on {where}"


@dataclass
class Progress:
    """Counters that survive a resume."""

    step: int = 0
    elapsed: float = 0.0  # training seconds, summed over resumed runs
    best_score: float = -math.inf  # the best validation under `scored_by`, higher is better
    bad_validations: int = 0  # validations since the last gain
    scored_by: str = "bleu"  # the train.best_metric that best_score is in
    tokens: int = 0  # source + target tokens seen, all ranks


@dataclass
class Run:
    """Everything one training process holds, so the helpers below take one argument, not ten.

    `doc_state` is the document state the lanes carry from step to step (detached after each).
    """

    cfg: Config
    dist: distributed.Dist
    out_dir: Path
    tokenizer: Tokenizer
    model: Seq2Seq
    optimizer: torch.optim.Optimizer
    stream: DocumentStream
    shortlist: Shortlist | None  # rank 0 only: it alone validates and saves
    dev_docs: list[Document]
    reporter: Reporter
    doc_state: DocState | None
    progress: Progress = dataclasses.field(default_factory=Progress)


def train(cfg: Config, resume: Checkpoint | None = None) -> Path:
    """Train per `cfg` (or continue `resume`); returns the run directory."""
    run = _start(cfg, resume)
    if resume is not None and _should_stop(run):
        # Resuming a finished run (a rerun of the demo) leaves its checkpoints as they are.
        log.info("the run is already complete at step %d: nothing to train", run.progress.step)
        run.reporter.close()
        distributed.teardown(run.dist)
        return run.out_dir
    contrast = Contrast.from_config(cfg.train, run.tokenizer, run.model.uses_context)
    graph: nn.Module = ChunkLoss(run.model, cfg.train.label_smoothing, contrast)
    if run.dist.enabled:
        graph = DistributedDataParallel(graph)
    progress, world = run.progress, run.dist.world
    started = time.monotonic() - progress.elapsed
    window = _Window()
    validated_at = -1
    first_step = progress.step + 1  # its progress line comes at once: a slow machine must not look hung
    while not _should_stop(run):
        lr = lr_at(progress.step, cfg.train)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        slots = [run.stream.next_slot().to(run.dist.device) for _ in range(cfg.train.bptt_sentences)]
        slots = apply_levers(slots, cfg.train, progress.step, run.dist.rank)
        loss_sum, n_tokens, margin_sum, grad_norm, run.doc_state = optimisation_step(
            graph, run.optimizer, slots, run.doc_state, cfg
        )

        progress.step += 1
        progress.elapsed = time.monotonic() - started
        step_tokens = sum(s.tokens for s in slots) * world
        progress.tokens += step_tokens
        per_token = max(1, int(n_tokens))
        window.add(step_tokens, float(loss_sum.detach()) / per_token, float(margin_sum.detach()) / per_token)
        if run.dist.is_main and (progress.step % cfg.train.log_every == 0 or progress.step == first_step):
            _log_progress(run, window, lr, grad_norm)
            window = _Window()
        if progress.step % cfg.train.valid_every == 0:
            _validate_and_save(run)
            validated_at = progress.step
            window = _Window()
        if progress.step % cfg.train.save_every == 0:
            _save_last(run)

    if validated_at != progress.step and progress.step > 0:
        _validate_and_save(run)
    _save_last(run)
    _check_replicas(run)
    run.reporter.close()
    distributed.teardown(run.dist)
    return run.out_dir


def _start(cfg: Config, resume: Checkpoint | None) -> Run:
    """Set up this process: data, vocabulary, model and optimizer, restored from `resume` when given."""
    dist = distributed.setup()
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    out_dir = Path(cfg.train.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _seed(cfg.train.seed + dist.rank)

    init = _initial_checkpoint(cfg) if resume is None else None  # a resumed run's weights are in last.pt
    store = _shared_store(cfg, resume, dist, out_dir, init.spm_model if init else None)
    tokenizer = Tokenizer(store.spm_model)
    cfg.model = dataclasses.replace(cfg.model, vocab_size=tokenizer.vocab_size)
    if dist.is_main:
        write_atomic(out_dir / "spm.model", store.spm_model)
        write_atomic(out_dir / "config.yaml", cfg.to_yaml())
        log.info("config:\n%s", cfg.to_yaml())

    model = Seq2Seq(cfg.model)
    if init:
        model.load_state_dict(init.model)
    model = model.to(dist.device)
    if dist.is_main:
        log.log(*precision_note(dist.device, cfg.train.precision))
    optimizer = torch.optim.Adam(
        model.parameters(), lr=cfg.train.lr, betas=(0.9, 0.98), weight_decay=cfg.train.weight_decay
    )
    run = Run(
        cfg,
        dist,
        out_dir,
        tokenizer,
        model,
        optimizer,
        DocumentStream(store, cfg.train.lanes, cfg.train.seed, dist.rank, dist.world, _segmenter(cfg, tokenizer)),
        # Built with the store (one streaming pass); only rank 0 validates and saves, so only it reads it.
        store.shortlist() if dist.is_main else None,
        _read_dev(cfg) if dist.is_main else [],
        Reporter(out_dir, cfg.train.tensorboard and dist.is_main, cfg.train.max_steps, cfg.train.max_minutes * 60),
        model.empty_doc_state(cfg.train.lanes, dist.device),
    )
    run.progress.scored_by = cfg.train.best_metric
    if resume:
        run.doc_state = _restore(run, resume) or run.doc_state
    log.info("%d parameters, %d training documents on this rank", count_parameters(model), run.stream.n_docs)
    return run


def _initial_checkpoint(cfg: Config) -> Checkpoint | None:
    """train.init_from's checkpoint, whose model section replaces `cfg`'s (its weights must fit the model built)."""
    if not cfg.train.init_from:
        return None
    init = checkpoint.load(cfg.train.init_from)
    if init.config.model != cfg.model:
        log.info("train.init_from: the model section is %s's", init.path)
    cfg.model = init.config.model
    log.info("starting from the weights of %s (step %d): new optimizer, step count and data", init.path, init.step)
    return init


def _segmenter(cfg: Config, tokenizer: Tokenizer) -> SubwordSampler | None:
    """Subword regularization when data.spm_alpha asks for it: each sentence's pieces sampled anew."""
    d = cfg.data
    return SubwordSampler(tokenizer, d.spm_alpha, d.spm_nbest, cfg.train.seed, d.max_len) if d.spm_alpha > 0 else None


@dataclass
class _Window:
    """Tokens and mean loss since the last progress line (reset after a validation too: it takes time)."""

    tokens: int = 0
    loss: float = 0.0
    margin: float = 0.0  # the contrastive margin term per target token (train.contrast_weight), as optimised
    steps: int = 0
    start: float = dataclasses.field(default_factory=time.monotonic)

    def add(self, tokens: int, loss: float, margin: float = 0.0) -> None:
        self.tokens, self.loss, self.steps = self.tokens + tokens, self.loss + loss, self.steps + 1
        self.margin += margin


def _log_progress(run: Run, window: _Window, lr: float, grad_norm: float) -> None:
    """The progress line and the `train` record."""
    p = run.progress
    tok_s = window.tokens / max(1e-9, time.monotonic() - window.start)
    loss = window.loss / max(1, window.steps)
    margin = window.margin / max(1, window.steps) if run.cfg.train.contrast_weight > 0 else None
    run.reporter.progress(p.step, p.elapsed, loss, tok_s, lr, margin)
    record = {"loss": loss, "tok_s": tok_s, "lr": lr, "grad_norm": grad_norm, "elapsed": p.elapsed}
    if margin is not None:
        record["margin"] = margin  # the margin term per target token: how far the true context falls short
    run.reporter.record("train", p.step, {**record, "epoch": run.stream.epoch})


def _should_stop(run: Run) -> bool:
    """Step limit, time limit or patience; rank 0 decides so every rank stops together."""
    t, progress = run.cfg.train, run.progress
    stop = (
        (t.max_steps > 0 and progress.step >= t.max_steps)
        or (t.max_minutes > 0 and progress.elapsed >= t.max_minutes * 60)
        or (t.patience > 0 and progress.bad_validations >= t.patience)
    )
    return distributed.any_true(run.dist, stop and run.dist.is_main)


def validate(model: Seq2Seq, tokenizer: Tokenizer, cfg: Config, dev_docs: list[Document]) -> dict[str, Any]:
    """Dev loss, and BLEU/chrF of document-mode translation with `train.valid_beam`."""
    translator = Translator(model, tokenizer, cfg)
    decode = dataclasses.replace(cfg.decode, beam_size=cfg.train.valid_beam, n_best=1)
    try:
        pairs = [list(zip(d.sources, d.targets, strict=True)) for d in dev_docs]
        forced = [x for doc in translator.force_documents(pairs) for x in doc]
        nll = -sum(lp for lp, _ in forced) / max(1, sum(n for _, n in forced))
        hyps = [
            t.text for doc in translator.translate_documents([d.sources for d in dev_docs], decode=decode) for t in doc
        ]
    finally:
        model.train()
    refs = [s for d in dev_docs for s in d.targets]
    scores = corpus_scores(hyps, refs)
    return {
        "nll": nll,
        "ppl": math.exp(min(nll, 50.0)),
        "bleu": scores["bleu"].score,
        "chrf": scores["chrf"].score,
        "bleu_signature": scores["bleu"].signature,
        "chrf_signature": scores["chrf"].signature,
        "hypotheses": hyps,
    }


def best_score(result: dict[str, Any], metric: str) -> float:
    """A validation's score under `train.best_metric`, higher is better (the loss is negated)."""
    return -float(result["nll"]) if metric == "nll" else float(result[metric])


def _validate_and_save(run: Run) -> None:
    """Rank 0 validates and writes `best.pt` on a gain in `train.best_metric`; the others wait."""
    progress = run.progress
    if run.dist.is_main and run.dev_docs:
        result = validate(run.model, run.tokenizer, run.cfg, run.dev_docs)
        hyps = result.pop("hypotheses")
        score = best_score(result, run.cfg.train.best_metric)
        improved = score > progress.best_score
        if improved:
            progress.best_score, progress.bad_validations = score, 0
            checkpoint.save(_checkpoint(run, {}, with_optimizer=False), run.out_dir / checkpoint.BEST)
            write_atomic(run.out_dir / "dev.best.hyp", "\n".join(hyps) + "\n")
        else:
            progress.bad_validations += 1
        run.reporter.record("valid", progress.step, {**result, "best_score": progress.best_score})
        run.reporter.message(
            f"validation @ {progress.step}: BLEU {result['bleu']:.2f} chrF {result['chrf']:.2f} "
            f"ppl {result['ppl']:.2f}{'  (new best)' if improved else ''}"
        )
    _share_progress(progress, run.dist)


def _share_progress(progress: Progress, dist: distributed.Dist) -> None:
    """Rank 0's validation bookkeeping, on every rank."""
    if dist.enabled:
        values = [progress.best_score, float(progress.bad_validations)]
        torch.distributed.broadcast_object_list(values, src=0)
        progress.best_score, progress.bad_validations = float(values[0]), int(values[1])
    distributed.barrier(dist)


def _save_last(run: Run) -> None:
    """`last.pt` with everything a resume needs, including every rank's stream and RNG."""
    mine = {
        "stream": run.stream.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "python_rng": random.getstate(),
        # the key keeps its old name: last.pt files written before the rename resume unchanged
        "context": state_to_tensors(run.doc_state) if run.doc_state is not None else None,
    }
    ranks: list[Any] = [mine]
    if run.dist.enabled:
        ranks = [None] * run.dist.world
        torch.distributed.all_gather_object(ranks, mine)
    if run.dist.is_main:
        extra = {"ranks": ranks, "data_fingerprint": run.stream.store.fingerprint}
        checkpoint.save(_checkpoint(run, extra, with_optimizer=True), run.out_dir / LAST)
        _keep_step(run)
    distributed.barrier(run.dist)


def _keep_step(run: Run) -> None:
    """The model of this step in RUN/steps/, and only the newest `train.keep_checkpoints` kept there."""
    keep = run.cfg.train.keep_checkpoints
    if keep <= 0:
        return
    checkpoint.save(_checkpoint(run, {}, with_optimizer=False), checkpoint.step_path(run.out_dir, run.progress.step))
    for old in checkpoint.step_checkpoints(run.out_dir)[:-keep]:
        old.unlink(missing_ok=True)


def _checkpoint(run: Run, extra: dict[str, Any], with_optimizer: bool) -> Checkpoint:
    trainer = {**dataclasses.asdict(run.progress), **extra, "world": len(extra.get("ranks", [])) or None}
    optim = run.optimizer.state_dict() if with_optimizer else None
    lists = run.shortlist.to_tensors() if run.shortlist else None
    return Checkpoint(run.cfg, run.tokenizer.model_proto, run.model.state_dict(), optim, trainer, shortlist=lists)


def _restore(run: Run, ckpt: Checkpoint) -> DocState | None:
    """Load weights, optimizer, counters and (same world size) this rank's stream, RNG and context."""
    run.model.load_state_dict(ckpt.model)
    if ckpt.optimizer:
        run.optimizer.load_state_dict(ckpt.optimizer)
    fields = {f.name for f in dataclasses.fields(Progress)}
    for key, value in ckpt.trainer.items():
        if key in fields:
            setattr(run.progress, key, value)
    if "best_bleu" in ckpt.trainer:  # written before train.best_metric existed, when BLEU was the measure
        run.progress.best_score, run.progress.scored_by = ckpt.trainer["best_bleu"], "bleu"
    if run.progress.scored_by != run.cfg.train.best_metric:  # a best in another measure compares with nothing
        log.info("train.best_metric is now %s: best.pt and patience start over", run.cfg.train.best_metric)
        run.progress.best_score, run.progress.bad_validations = -math.inf, 0
        run.progress.scored_by = run.cfg.train.best_metric
    ranks = ckpt.trainer.get("ranks") or []
    dist = run.dist
    if len(ranks) != dist.world:
        log.warning("checkpoint was written by %d process(es), now %d: data position restarts", len(ranks), dist.world)
        return None
    mine = ranks[dist.rank]
    run.stream.load_state_dict(mine["stream"])
    torch.set_rng_state(mine["torch_rng"])
    random.setstate(_as_python_rng_state(mine["python_rng"]))
    log.info("resumed from %s at step %d", ckpt.path, run.progress.step)
    return state_from_tensors(mine["context"], dist.device) if mine["context"] else None


def _as_python_rng_state(state: Any) -> tuple[Any, ...]:
    """random.setstate needs tuples; a checkpoint round trip may hand back lists."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)


def _check_replicas(run: Run) -> None:
    """DDP must keep replicas identical; compare a weight checksum across ranks and record it."""
    if not run.dist.enabled:
        return
    checksum = float(sum(p.detach().double().sum() for p in run.model.parameters()))
    sums = distributed.gather_floats(run.dist, checksum)
    if run.dist.is_main:
        run.reporter.record("replicas", run.progress.step, {"checksums": sums, "in_sync": len(set(sums)) == 1})
        if len(set(sums)) != 1:
            log.error("replica weights diverged: %s", sums)


def _shared_store(
    cfg: Config, resume: Checkpoint | None, dist: distributed.Dist, out_dir: Path, spm_model: bytes | None = None
) -> TokenStore:
    """Rank 0 finds, checks or builds the binarized corpus (training/binarize.py); then every rank maps it.

    Rank 0 also clears temp files a killed run left (a half-written checkpoint) before anything is written.
    On resume the corpus must be the checkpoint's (its fingerprint), and an existing store is reused as is.
    `spm_model` (train.init_from's) tokenizes a new corpus with the vocabulary the weights were trained on.
    """
    expected = resume.trainer.get("data_fingerprint") if resume else None
    spm_model = resume.spm_model if resume else spm_model
    if dist.is_main:
        for stale in checkpoint.remove_stale_temps(out_dir):
            log.info("removed %s, left by an interrupted write", stale)
        train_store(cfg, out_dir, spm_model, expected)
    distributed.barrier(dist)
    store = open_store(train_store_path(cfg, out_dir), verify=dist.is_main)
    if resume:
        check_fingerprint(store.fingerprint, expected, f"resume from {out_dir}")
    elif spm_model is not None and store.spm_model != spm_model:
        raise ConfigError(f"{store.path}: binarized with another SentencePiece model than train.init_from's")
    log.info("training corpus: %s (%d documents, %d pairs)", store.path, store.n_docs, store.n_pairs)
    return store


def _read_dev(cfg: Config) -> list[Document]:
    if not cfg.data.dev:
        return []
    docs = read_corpus(cfg.data.dev, cfg.data.src_lang, cfg.data.tgt_lang, skip_invalid=cfg.data.skip_invalid)
    if cfg.train.valid_max_sentences:
        docs = _first_sentences(docs, cfg.train.valid_max_sentences)
    return docs


def _first_sentences(docs: list[Document], limit: int) -> list[Document]:
    """Whole documents from the start of the dev set, up to about `limit` sentences."""
    out, total = [], 0
    for d in docs:
        if total >= limit:
            break
        out.append(d)
        total += len(d.sources)
    return out


def _seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
