"""Learning-rate schedule as a pure function of the step (nanoGPT's `get_lr`)."""

from __future__ import annotations

import math

from translator.config import TrainConfig


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to `cfg.lr`, then constant, inverse-sqrt or cosine decay."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "inverse_sqrt":
        return max(cfg.min_lr, cfg.lr * math.sqrt(max(cfg.warmup_steps, 1) / max(step, 1)))
    if cfg.schedule == "cosine":
        if not cfg.max_steps:
            raise ValueError("schedule 'cosine' needs train.max_steps")
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
        return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))
    return cfg.lr
