"""The training loop: build, then step, validate and checkpoint until a limit.

Read `train()` top to bottom: it prepares data and model (or restores them
from `last.pt`), then loops. Each step feeds `bptt_sentences` consecutive
slots of the document stream through the model, carrying the document
context from slot to slot, backpropagates through all of them, then detaches
the context (truncated backpropagation through time across sentences).
"""

from __future__ import annotations

import dataclasses
import functools
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
from training.data import DocumentStream, Slot
from training.levers import apply_levers
from training.report import Reporter
from training.schedule import lr_at
from training.store import TokenStore, check_fingerprint, open_store, train_store, train_store_path
from translator import checkpoint
from translator.checkpoint import LAST, Checkpoint, write_atomic
from translator.config import Config
from translator.corpus import Document, read_corpus
from translator.inference import Translator
from translator.model import Seq2Seq, count_parameters
from translator.shortlist import Shortlist
from translator.state import DocContext, context_from_tensors, context_to_tensors
from translator.tokenizer import PAD_ID, Tokenizer

log = logging.getLogger("training")


class ChunkLoss(nn.Module):
    """Summed loss over consecutive slots, carrying the context between them.

    It is one module call so that DistributedDataParallel sees one forward
    per backward, however many sentences the gradient flows through.
    """

    def __init__(self, model: Seq2Seq, label_smoothing: float) -> None:
        super().__init__()
        self.model, self.label_smoothing = model, label_smoothing

    def forward(self, slots: list[Slot], context: DocContext | None) -> tuple[Tensor, Tensor, DocContext | None]:
        device = slots[0].src.device
        loss, tokens = torch.zeros((), device=device), torch.zeros((), dtype=torch.long, device=device)
        for slot in slots:
            if context is not None:
                context = context.reset(slot.start)
            enc, enc_final = self.model.encode(slot.src, slot.src_len, context.encoder_carry if context else None)
            out = self.model.decode(slot.tgt_in, slot.tgt_len, self.model.init_state(enc, context), enc)
            real = slot.tgt_out.ne(PAD_ID)  # (B, T)
            logits = self.model.logits(out.features[real])  # (N, V): only real positions
            loss = loss + F.cross_entropy(
                logits, slot.tgt_out[real], label_smoothing=self.label_smoothing, reduction="sum"
            )
            tokens = tokens + real.sum()
            context = self.model.next_context(enc_final, out.state)
        return loss, tokens, context


def optimisation_step(
    graph: nn.Module, optimizer: torch.optim.Optimizer, slots: list[Slot], context: DocContext | None, cfg: Config
) -> tuple[Tensor, Tensor, float, DocContext | None]:
    """Forward over the slots, backward, clip, update: (loss sum, tokens, grad norm, detached context).

    The context leaves detached (truncated backpropagation) and in float32 (bf16 autocast made it).
    """
    device = slots[0].src.device
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast_bf16(device, cfg.train.precision)):
        loss_sum, n_tokens, context = graph(slots, context)
    (loss_sum / n_tokens).backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    grad_norm = float(nn.utils.clip_grad_norm_(params, cfg.train.clip_norm))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss_sum, n_tokens, grad_norm, context.detach().float() if context is not None else None


def autocast_bf16(device: torch.device, precision: str) -> bool:
    """Whether a step autocasts to bf16: as configured, except on a GPU without native bf16."""
    return precision == "bf16" and (device.type != "cuda" or _native_bf16(device))


@functools.cache
def _native_bf16(device: torch.device) -> bool:
    """Pre-Ampere GPUs only emulate bf16, slower than fp32: they train in fp32 (said once)."""
    with torch.cuda.device(device):
        native = torch.cuda.is_bf16_supported(including_emulation=False)
    if not native:
        log.warning("%s has no native bf16: training in fp32 despite train.precision=bf16", device)
    return native


@dataclass
class Progress:
    """Counters that survive a resume."""

    step: int = 0
    elapsed: float = 0.0  # training seconds, summed over resumed runs
    best_bleu: float = -1.0
    bad_validations: int = 0  # validations since the last BLEU gain
    tokens: int = 0  # source + target tokens seen, all ranks


def train(cfg: Config, resume: Checkpoint | None = None) -> Path:
    """Train per `cfg` (or continue `resume`); returns the run directory."""
    dist = distributed.setup()
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    out_dir = Path(cfg.train.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _seed(cfg.train.seed + dist.rank)

    store = _shared_store(cfg, resume, dist, out_dir)
    dev_docs = _read_dev(cfg) if dist.is_main else []
    tokenizer = Tokenizer(store.spm_model)
    cfg.model = dataclasses.replace(cfg.model, vocab_size=tokenizer.vocab_size)
    if dist.is_main:
        write_atomic(out_dir / "spm.model", store.spm_model)
        write_atomic(out_dir / "config.yaml", cfg.to_yaml())
        log.info("config:\n%s", cfg.to_yaml())

    model = Seq2Seq(cfg.model).to(dist.device)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=cfg.train.lr, betas=(0.9, 0.98), weight_decay=cfg.train.weight_decay
    )
    # Built with the store (one streaming pass); only rank 0 validates and saves, so only it reads it.
    shortlist = store.shortlist() if dist.is_main else None
    stream = DocumentStream(store, cfg.train.lanes, cfg.train.seed, dist.rank, dist.world)
    context = model.empty_context(cfg.train.lanes, dist.device)
    progress = Progress()
    if resume:
        context = _restore(resume, model, optimizer, stream, progress, dist) or context
    graph: nn.Module = ChunkLoss(model, cfg.train.label_smoothing)
    if dist.enabled:
        graph = DistributedDataParallel(graph)
    log.info("%d parameters, %d training documents on this rank", count_parameters(model), stream.n_docs)

    reporter = Reporter(
        out_dir, cfg.train.tensorboard and dist.is_main, cfg.train.max_steps, cfg.train.max_minutes * 60
    )
    started = time.monotonic() - progress.elapsed
    window_tokens, window_start, window_loss = 0, time.monotonic(), 0.0
    validated_at = -1
    while not _should_stop(cfg, progress, dist):
        lr = lr_at(progress.step, cfg.train)
        for group in optimizer.param_groups:
            group["lr"] = lr
        slots = [stream.next_slot().to(dist.device) for _ in range(cfg.train.bptt_sentences)]
        slots = apply_levers(slots, cfg.train, progress.step, dist.rank)
        loss_sum, n_tokens, grad_norm, context = optimisation_step(graph, optimizer, slots, context, cfg)

        progress.step += 1
        progress.elapsed = time.monotonic() - started
        step_tokens = sum(s.tokens for s in slots) * dist.world
        progress.tokens += step_tokens
        window_tokens += step_tokens
        window_loss += float(loss_sum.detach()) / max(1, int(n_tokens))
        if progress.step % cfg.train.log_every == 0 and dist.is_main:
            tok_s = window_tokens / max(1e-9, time.monotonic() - window_start)
            loss = window_loss / cfg.train.log_every
            reporter.progress(progress.step, progress.elapsed, loss, tok_s, lr)
            reporter.record(
                "train",
                progress.step,
                {
                    "loss": loss,
                    "tok_s": tok_s,
                    "lr": lr,
                    "grad_norm": grad_norm,
                    "elapsed": progress.elapsed,
                    "epoch": stream.epoch,
                },
            )
            window_tokens, window_start, window_loss = 0, time.monotonic(), 0.0
        if progress.step % cfg.train.valid_every == 0:
            _validate_and_save(cfg, model, tokenizer, shortlist, dev_docs, progress, reporter, dist, out_dir)
            validated_at = progress.step
            window_tokens, window_start, window_loss = 0, time.monotonic(), 0.0
        if progress.step % cfg.train.save_every == 0:
            _save_last(cfg, tokenizer, shortlist, model, optimizer, stream, context, progress, dist, out_dir)

    if validated_at != progress.step and progress.step > 0:
        _validate_and_save(cfg, model, tokenizer, shortlist, dev_docs, progress, reporter, dist, out_dir)
    _save_last(cfg, tokenizer, shortlist, model, optimizer, stream, context, progress, dist, out_dir)
    _check_replicas(model, dist, reporter, progress.step)
    reporter.close()
    distributed.teardown(dist)
    return out_dir


def _should_stop(cfg: Config, progress: Progress, dist: distributed.Dist) -> bool:
    """Step limit, time limit or patience; rank 0 decides so every rank stops together."""
    t = cfg.train
    stop = (
        (t.max_steps > 0 and progress.step >= t.max_steps)
        or (t.max_minutes > 0 and progress.elapsed >= t.max_minutes * 60)
        or (t.patience > 0 and progress.bad_validations >= t.patience)
    )
    return distributed.any_true(dist, stop and dist.is_main)


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


def _validate_and_save(
    cfg: Config,
    model: Seq2Seq,
    tokenizer: Tokenizer,
    shortlist: Shortlist | None,
    dev_docs: list[Document],
    progress: Progress,
    reporter: Reporter,
    dist: distributed.Dist,
    out_dir: Path,
) -> None:
    """Rank 0 validates and writes `best.pt` on a BLEU gain; the others wait."""
    if dist.is_main and dev_docs:
        result = validate(model, tokenizer, cfg, dev_docs)
        hyps = result.pop("hypotheses")
        improved = result["bleu"] > progress.best_bleu
        if improved:
            progress.best_bleu, progress.bad_validations = result["bleu"], 0
            checkpoint.save(
                _checkpoint(cfg, tokenizer, shortlist, model, None, progress, {}), out_dir / checkpoint.BEST
            )
            write_atomic(out_dir / "dev.best.hyp", "\n".join(hyps) + "\n")
        else:
            progress.bad_validations += 1
        reporter.record("valid", progress.step, {**result, "best_bleu": progress.best_bleu})
        reporter.message(
            f"validation @ {progress.step}: BLEU {result['bleu']:.2f} chrF {result['chrf']:.2f} "
            f"ppl {result['ppl']:.2f}{'  (new best)' if improved else ''}"
        )
    _share_progress(progress, dist)


def _share_progress(progress: Progress, dist: distributed.Dist) -> None:
    """Rank 0's validation bookkeeping, on every rank."""
    if dist.enabled:
        values = [progress.best_bleu, float(progress.bad_validations)]
        torch.distributed.broadcast_object_list(values, src=0)
        progress.best_bleu, progress.bad_validations = float(values[0]), int(values[1])
    distributed.barrier(dist)


def _save_last(
    cfg: Config,
    tokenizer: Tokenizer,
    shortlist: Shortlist | None,
    model: Seq2Seq,
    optimizer: torch.optim.Optimizer,
    stream: DocumentStream,
    context: DocContext | None,
    progress: Progress,
    dist: distributed.Dist,
    out_dir: Path,
) -> None:
    """`last.pt` with everything a resume needs, including every rank's stream and RNG."""
    mine = {
        "stream": stream.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "python_rng": random.getstate(),
        "context": context_to_tensors(context) if context is not None else None,
    }
    ranks: list[Any] = [mine]
    if dist.enabled:
        ranks = [None] * dist.world
        torch.distributed.all_gather_object(ranks, mine)
    data = {"data_fingerprint": stream.store.fingerprint}
    if dist.is_main:
        checkpoint.save(
            _checkpoint(cfg, tokenizer, shortlist, model, optimizer, progress, {"ranks": ranks, **data}), out_dir / LAST
        )
    distributed.barrier(dist)


def _checkpoint(
    cfg: Config,
    tokenizer: Tokenizer,
    shortlist: Shortlist | None,
    model: Seq2Seq,
    optimizer: torch.optim.Optimizer | None,
    progress: Progress,
    extra: dict[str, Any],
) -> Checkpoint:
    trainer = {**dataclasses.asdict(progress), **extra, "world": len(extra.get("ranks", [])) or None}
    optim = optimizer.state_dict() if optimizer else None
    lists = shortlist.to_tensors() if shortlist else None
    return Checkpoint(cfg, tokenizer.model_proto, model.state_dict(), optim, trainer, shortlist=lists)


def _restore(
    ckpt: Checkpoint,
    model: Seq2Seq,
    optimizer: torch.optim.Optimizer,
    stream: DocumentStream,
    progress: Progress,
    dist: distributed.Dist,
) -> DocContext | None:
    """Load weights, optimizer, counters and (same world size) this rank's stream, RNG and context."""
    model.load_state_dict(ckpt.model)
    if ckpt.optimizer:
        optimizer.load_state_dict(ckpt.optimizer)
    fields = {f.name for f in dataclasses.fields(Progress)}
    for key, value in ckpt.trainer.items():
        if key in fields:
            setattr(progress, key, value)
    ranks = ckpt.trainer.get("ranks") or []
    if len(ranks) != dist.world:
        log.warning("checkpoint was written by %d process(es), now %d: data position restarts", len(ranks), dist.world)
        return None
    mine = ranks[dist.rank]
    stream.load_state_dict(mine["stream"])
    torch.set_rng_state(mine["torch_rng"])
    random.setstate(_as_python_rng_state(mine["python_rng"]))
    log.info("resumed from %s at step %d", ckpt.path, progress.step)
    return context_from_tensors(mine["context"], dist.device) if mine["context"] else None


def _as_python_rng_state(state: Any) -> tuple[Any, ...]:
    """random.setstate needs tuples; a checkpoint round trip may hand back lists."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)


def _check_replicas(model: Seq2Seq, dist: distributed.Dist, reporter: Reporter, step: int) -> None:
    """DDP must keep replicas identical; compare a weight checksum across ranks and record it."""
    if not dist.enabled:
        return
    checksum = float(sum(p.detach().double().sum() for p in model.parameters()))
    sums = distributed.gather_floats(dist, checksum)
    if dist.is_main:
        reporter.record("replicas", step, {"checksums": sums, "in_sync": len(set(sums)) == 1})
        if len(set(sums)) != 1:
            log.error("replica weights diverged: %s", sums)


def _shared_store(cfg: Config, resume: Checkpoint | None, dist: distributed.Dist, out_dir: Path) -> TokenStore:
    """Rank 0 finds, checks or builds the binarized corpus (training/store.py); then every rank maps it.

    Rank 0 also clears temp files a killed run left (a half-written checkpoint) before anything is written.
    On resume the corpus must be the checkpoint's (its fingerprint), and an existing store is reused as is.
    """
    expected = resume.trainer.get("data_fingerprint") if resume else None
    if dist.is_main:
        for stale in checkpoint.remove_stale_temps(out_dir):
            log.info("removed %s, left by an interrupted write", stale)
        train_store(cfg, out_dir, resume.spm_model if resume else None, expected)
    distributed.barrier(dist)
    store = open_store(train_store_path(cfg, out_dir), verify=dist.is_main)
    if resume:
        check_fingerprint(store.fingerprint, expected, f"resume from {out_dir}")
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
