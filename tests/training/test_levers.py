"""Context dropout and CoWord dropout: what they change, what they leave, and that they replay exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.conftest import tiny_config
from training.data import Slot, make_slot
from training.levers import apply_levers, drop_context, drop_source_words, lever_generator
from training.trainer import train
from translator import checkpoint
from translator.config import Config, ConfigError
from translator.tokenizer import EOS_ID, PAD_ID, UNK_ID


def big_slot(lanes: int = 2000) -> Slot:
    """Lanes of varied lengths, every fourth one starting a document; pieces are never UNK."""
    pairs = [([10 + (i + k) % 50 for k in range(3 + i % 7)], [20, 21]) for i in range(lanes)]
    return make_slot(pairs, [i % 4 == 0 for i in range(lanes)])


def test_levers_off_leave_the_slots_untouched() -> None:
    slots = [big_slot(50)]
    assert apply_levers(slots, Config().train, step=3) is slots


def test_context_dropout_resets_about_q_of_the_lanes_and_keeps_real_starts() -> None:
    slot = big_slot()
    out = drop_context(slot, 0.3, lever_generator(1, 0))
    assert bool(out.start[slot.start].all())  # a document start stays a start
    added = (out.start & ~slot.start).float().sum() / (~slot.start).sum()
    assert 0.25 < float(added) < 0.35
    assert torch.equal(out.src, slot.src) and torch.equal(out.tgt_out, slot.tgt_out)


def test_coword_dropout_masks_about_p_of_the_real_source_pieces_only() -> None:
    slot = big_slot()
    out = drop_source_words(slot, 0.2, lever_generator(1, 0))
    changed = out.src.ne(slot.src)
    assert bool(out.src[changed].eq(UNK_ID).all())
    assert not bool(changed[slot.src.eq(EOS_ID) | slot.src.eq(PAD_ID)].any())  # EOS and padding stay
    real = slot.src.ne(PAD_ID) & slot.src.ne(EOS_ID)
    assert 0.17 < float(changed.sum() / real.sum()) < 0.23
    assert torch.equal(out.start, slot.start) and torch.equal(out.tgt_in, slot.tgt_in)


def test_draws_depend_on_seed_and_step_only_and_leave_the_global_rng_alone() -> None:
    cfg = Config().override(["train.context_dropout=0.5", "train.coword_dropout=0.3"]).train
    rng = torch.get_rng_state()
    a = apply_levers([big_slot(300)], cfg, step=7)[0]
    assert torch.equal(torch.get_rng_state(), rng)
    b = apply_levers([big_slot(300)], cfg, step=7)[0]
    c = apply_levers([big_slot(300)], cfg, step=8)[0]
    assert torch.equal(a.src, b.src) and torch.equal(a.start, b.start)
    assert not torch.equal(a.src, c.src) and not torch.equal(a.start, c.start)


def test_levers_are_config_keys_checked_and_stored_in_the_checkpoint() -> None:
    cfg = Config().override(["train.context_dropout=0.2", "train.coword_dropout=0.1"])
    assert Config.from_dict(cfg.to_dict()).train.context_dropout == 0.2
    assert Config().train.context_dropout == 0.0 and Config().train.coword_dropout == 0.0
    with pytest.raises(ConfigError, match="train.coword_dropout"):
        Config().override(["train.coword_dropout=1.5"])


def run(tmp_path: Path, name: str, corpus: dict[str, str], **levers: float) -> dict[str, torch.Tensor]:
    cfg = tiny_config(tmp_path / name, max_steps=12, valid_every=1000).override(
        [f"data.train={corpus['train']}", *(f"train.{k}={v}" for k, v in levers.items())]
    )
    torch.manual_seed(0)
    out = train(cfg)
    ckpt = checkpoint.load(out, prefer=checkpoint.LAST)
    assert ckpt.config.train.context_dropout == levers.get("context_dropout", 0.0)
    return ckpt.model


@pytest.mark.parametrize("lever", ["context_dropout", "coword_dropout"])
def test_trainer_applies_each_lever_reproducibly(tmp_path: Path, synthetic_corpus: dict[str, str], lever: str) -> None:
    plain = run(tmp_path, "plain", synthetic_corpus)
    first = run(tmp_path, "a", synthetic_corpus, **{lever: 0.5})
    again = run(tmp_path, "b", synthetic_corpus, **{lever: 0.5})
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert any(not torch.equal(first[k], plain[k]) for k in first)
