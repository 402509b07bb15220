"""The context levers: context dropout and CoWord dropout (what they change, what they leave, that they
replay exactly) and the contrastive margin (which words, which lanes, which wrong context)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from tests.conftest import tiny_config
from training.data import Slot, make_slot
from training.levers import Contrast, apply_levers, contrast_pieces, drop_context, drop_source_words, lever_generator
from training.trainer import train
from translator import checkpoint
from translator.config import Config, ConfigError
from translator.model import Seq2Seq
from translator.state import DocState, LSTMState
from translator.tokenizer import EOS_ID, PAD_ID, SPM_SPECIAL_IDS, UNK_ID, Tokenizer


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


def run(tmp_path: Path, name: str, corpus: dict[str, str], **levers: float | str) -> dict[str, torch.Tensor]:
    cfg = tiny_config(tmp_path / name, max_steps=12, valid_every=1000).override(
        [f"data.train={corpus['train']}", *(f"train.{k}={v}" for k, v in levers.items())]
    )
    torch.manual_seed(0)
    out = train(cfg)
    ckpt = checkpoint.load(out, prefer=checkpoint.LAST)
    assert ckpt.config.train.context_dropout == levers.get("context_dropout", 0.0)
    return ckpt.model


@pytest.mark.parametrize(
    ("lever", "value"), [("context_dropout", 0.5), ("coword_dropout", 0.5), ("contrast_weight", 1.0)]
)
def test_trainer_applies_each_lever_reproducibly(
    tmp_path: Path, synthetic_corpus: dict[str, str], lever: str, value: float
) -> None:
    plain = run(tmp_path, "plain", synthetic_corpus)
    words = {"contrast_words": "es muy mira"}  # single pieces in the tiny vocabulary (él, ella, lo, la are not)
    first = run(tmp_path, "a", synthetic_corpus, **{lever: value}, **words)
    again = run(tmp_path, "b", synthetic_corpus, **{lever: value}, **words)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert any(not torch.equal(first[k], plain[k]) for k in first)


WORD = 50  # the contrast word's piece id in the hand-made slots below


def random_context(model: Seq2Seq, lanes: int) -> DocState:
    """A different, non-zero document state in every lane."""
    empty = model.empty_doc_state(lanes)
    assert empty is not None
    rand = lambda s: LSTMState(torch.randn_like(s.h), torch.randn_like(s.c))  # noqa: E731
    return DocState(rand(empty.encoder), rand(empty.decoder), empty.memory)


@torch.no_grad()
def gold_log_prob(
    model: Seq2Seq, slot: Slot, lane: int, context: DocState, position: int, piece: int | None = None
) -> float:
    """log p(`piece`, by default the reference's, at `position` of `lane`), the lane decoded alone with `context`."""
    row = torch.tensor([lane])
    out, _ = model.force(slot.src[row], slot.src_len[row], slot.tgt_in[row], slot.tgt_len[row], context)
    features = out.features[0, position]
    return float(model.logits(features).log_softmax(-1)[slot.tgt_out[lane, position] if piece is None else piece])


def test_contrast_asks_the_true_context_to_beat_the_neighbouring_lanes_on_its_words_only() -> None:
    torch.manual_seed(0)
    model = Seq2Seq(tiny_config().override(["model.vocab_size=120"]).model).eval()
    pairs = [([10, 11, 12], [20, WORD, 21]), ([13, 14], [WORD, 22]), ([15, 16], [23, 24]), ([17], [25])]
    slot = make_slot(pairs, [False, True, False, False])  # lane 1 starts a document: nothing to beat
    context = random_context(model, 4)
    contrast = Contrast(torch.tensor([WORD]), weight=2.0, margin=30.0)  # a margin no model meets: hinge active
    assert contrast.positions(slot).nonzero().tolist() == [[0, 1]]

    with torch.no_grad():
        features = model.force(slot.src, slot.src_len, slot.tgt_in, slot.tgt_len, context)[0].features
        got = float(contrast.loss(model, slot, context, features))
        level = float(Contrast(torch.tensor([WORD]), 2.0, 0.0).loss(model, slot, context, features))
    true_lp = gold_log_prob(model, slot, 0, context.index_select(torch.tensor([0])), 1)
    wrong_lp = gold_log_prob(model, slot, 0, context.index_select(torch.tensor([1])), 1)  # lane 0's neighbour
    assert true_lp != pytest.approx(wrong_lp)  # the contexts differ, so the test can tell them apart
    assert got == pytest.approx(2.0 * (30.0 - (true_lp - wrong_lp)), rel=1e-4)
    assert level == pytest.approx(2.0 * max(0.0, -(true_lp - wrong_lp)), abs=1e-4)


def test_contrast_on_a_gender_pair_holds_the_log_odds_against_the_partner() -> None:
    torch.manual_seed(1)
    model = Seq2Seq(tiny_config().override(["model.vocab_size=120"]).model).eval()
    partner = 60  # the other-gender form of WORD
    slot = make_slot([([10, 11, 12], [20, WORD, 21]), ([13, 14], [22, 23])], [False, False])
    context = random_context(model, 2)
    contrast = Contrast(torch.tensor([WORD, partner]), 1.0, 30.0, partners=torch.tensor([partner, WORD]))
    with torch.no_grad():
        features = model.force(slot.src, slot.src_len, slot.tgt_in, slot.tgt_len, context)[0].features
        got = float(contrast.loss(model, slot, context, features))

    def lp(lane_context: int, piece: int | None = None) -> float:
        """Lane 0's log-probability of `piece` (the reference's) at the word, with that lane's context."""
        return gold_log_prob(model, slot, 0, context.index_select(torch.tensor([lane_context])), 1, piece)

    odds = lambda lane_context: lp(lane_context) - lp(lane_context, partner)  # noqa: E731
    plain = lp(0) - lp(1)
    assert got == pytest.approx(30.0 - (odds(0) - odds(1)), rel=1e-4)
    assert got != pytest.approx(30.0 - plain, rel=1e-4)  # not the single word's log-probability form


def pronoun_tokenizer() -> Tokenizer:
    """A real SentencePiece model in which él, ella, Él, Ella and Ellos are single pieces (ellos, ellas are not)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["Ella vino a casa.", "Él y ella comen.", "Ellos vienen."] * 20),
        model_writer=model,
        vocab_size=40,
        hard_vocab_limit=False,
        user_defined_symbols=["▁él", "▁ella", "▁Él", "▁Ella", "▁Ellos"],
        minloglevel=2,
        **SPM_SPECIAL_IDS,
    )
    return Tokenizer(model.getvalue())


def test_contrast_words_read_gender_pairs_a_capital_with_a_capital_and_only_whole() -> None:
    tokenizer = pronoun_tokenizer()
    el, ella, El, Ella, Ellos = (tokenizer.encode(w)[0] for w in ("él", "ella", "Él", "Ella", "Ellos"))  # noqa: N806
    got = contrast_pieces("él/ella ellos/ellas", tokenizer)  # ellos, ellas are no single pieces: no pair
    assert got == {el: ella, ella: el, El: Ella, Ella: El}
    assert contrast_pieces("Ellos", tokenizer) == {Ellos: -1}
    cfg = Config().override(["train.contrast_weight=1", "train.contrast_words=él/ella Ellos"]).train
    contrast = Contrast.from_config(cfg, tokenizer, uses_context=True)
    assert contrast is not None and contrast.partners is not None
    partner_of = dict(zip(contrast.ids.tolist(), contrast.partners.tolist(), strict=True))
    assert partner_of == {el: ella, ella: el, El: Ella, Ella: El, Ellos: -1}
    for bad in ("a/b/c", "lindo/", "la/la"):
        with pytest.raises(ConfigError, match="neither a word nor a pair"):
            Config().override(["train.contrast_weight=1", f"train.contrast_words={bad}"])


def test_contrast_words_become_single_pieces_and_need_a_context_model(tmp_path: Path, trained_run: Path) -> None:
    tokenizer = Tokenizer((trained_run / "spm.model").read_bytes())
    cfg = Config().override(["train.contrast_weight=0.5", "train.contrast_words=it zzzqqq"]).train
    contrast = Contrast.from_config(cfg, tokenizer, uses_context=True)
    assert contrast is not None and contrast.weight == 0.5
    expected = {p[0] for w in ("it", "It") if len(p := tokenizer.encode(w)) == 1}
    assert set(contrast.ids.tolist()) == expected and expected  # the nonsense word is no single piece: skipped
    with pytest.raises(ValueError, match="model with a document context"):
        Contrast.from_config(cfg, tokenizer, uses_context=False)
    assert Contrast.from_config(Config().train, tokenizer, uses_context=True) is None
    with pytest.raises(ConfigError, match="contrast_margin"):
        Config().override(["train.contrast_margin=-1"])
