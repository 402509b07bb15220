"""Shapes, masks and the step-wise API contract of `Seq2Seq`."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_config
from translator.batch import pad_batch
from translator.model import Seq2Seq
from translator.state import DocState, EncoderCarry
from translator.tokenizer import BOS_ID, EOS_ID, PAD_ID


def carry_of(context: DocState | None) -> EncoderCarry | None:
    """What `encode` continues from (None for sentence-level models, whose contexts are None)."""
    return context.encoder_carry if context is not None else None


def model(context: str = "carry") -> Seq2Seq:
    torch.manual_seed(0)
    cfg = tiny_config().override([f"model.context={context}", "model.vocab_size=50"]).model
    return Seq2Seq(cfg).eval()


SOURCES = [[5, 6, 7, 8, EOS_ID], [9, 10, EOS_ID], [11, EOS_ID]]
TARGETS = [[BOS_ID, 12, 13, 14], [BOS_ID, 15], [BOS_ID, 16, 17]]


def test_encoder_shapes_and_mask() -> None:
    m = model()
    src, lengths = pad_batch(SOURCES)
    enc, carry = m.encode(src, lengths, carry_of(m.empty_doc_state(3)))
    assert enc.states.shape == (3, 5, 64) and enc.keys.shape == (3, 5, 64) and enc.summary.shape == (3, 64)
    assert enc.mask.tolist() == [[True] * 5, [True] * 3 + [False] * 2, [True] * 2 + [False] * 3]
    assert torch.all(enc.states[1, 3:] == 0) and torch.all(enc.states[2, 2:] == 0)
    assert carry.state.h.shape == (1, 3, 32) and carry.memory is None


def test_padding_does_not_change_a_sentence() -> None:
    """A sentence decoded alone equals the same sentence inside a padded batch."""
    m = model()
    with torch.no_grad():
        src, lengths = pad_batch(SOURCES)
        enc, _ = m.encode(src, lengths, carry_of(m.empty_doc_state(3)))
        alone, _ = m.encode(*pad_batch(SOURCES[2:]), carry_of(m.empty_doc_state(1)))
        torch.testing.assert_close(enc.states[2, :2], alone.states[0], atol=1e-6, rtol=1e-5)
        tgt, tgt_len = pad_batch(TARGETS)
        batch = m.decode(tgt, tgt_len, m.init_state(enc, m.empty_doc_state(3))[1], enc)
        single = m.decode(*pad_batch(TARGETS[2:]), m.init_state(alone, m.empty_doc_state(1))[1], alone)
    torch.testing.assert_close(batch.features[2, :3], single.features[0], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(batch.state.h[:, 2], single.state.h[:, 0], atol=1e-6, rtol=1e-5)


def test_attention_ignores_padding() -> None:
    m = model()
    src, lengths = pad_batch(SOURCES)
    enc, _ = m.encode(src, lengths, None)
    out = m.step(torch.full((3,), BOS_ID), m.init_state(enc, None)[1], enc)
    assert torch.all(out.attention[1, 3:] == 0) and torch.all(out.attention[2, 2:] == 0)
    torch.testing.assert_close(out.attention.sum(-1), torch.ones(3))


@pytest.mark.parametrize("context", ["carry", "none"])
def test_teacher_forcing_equals_the_step_loop(context: str) -> None:
    """`decode` over a whole target and `step` token by token are one decoder."""
    m = model(context)
    with torch.no_grad():
        src, lengths = pad_batch(SOURCES)
        ctx = m.empty_doc_state(3)
        enc, _ = m.encode(src, lengths, carry_of(ctx))
        tgt, tgt_len = pad_batch(TARGETS)
        enc, state = m.init_state(enc, ctx)
        forced = m.decode(tgt, tgt_len, state, enc)
        forced_lp = m.logits(forced.features).log_softmax(-1)
        for t in range(tgt.shape[1]):
            out = m.step(tgt[:, t], state, enc)
            for b in range(3):
                if t < tgt_len[b]:
                    torch.testing.assert_close(out.log_probs[b], forced_lp[b, t], atol=1e-5, rtol=1e-4)
                if t == tgt_len[b] - 1:  # the final state is taken at each row's own last token
                    torch.testing.assert_close(out.state.h[:, b], forced.state.h[:, b], atol=1e-5, rtol=1e-4)
            state = out.state


def test_index_select_commutes_with_step() -> None:
    m = model()
    with torch.no_grad():
        enc, _ = m.encode(*pad_batch(SOURCES), None)
        _, state = m.init_state(enc, None)
        prev = torch.tensor([20, 21, 22])
        order = torch.tensor([2, 0, 0, 1])
        stepped = m.step(prev, state, enc)
        reordered = m.step(prev[order], state.index_select(order), enc.index_select(order))
    torch.testing.assert_close(stepped.log_probs[order], reordered.log_probs, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(stepped.state.h[:, order], reordered.state.h, atol=1e-6, rtol=1e-5)


def test_context_changes_the_next_sentence_only_in_carry_mode() -> None:
    for context, should_change in (("carry", True), ("none", False)):
        m = model(context)
        with torch.no_grad():
            src, lengths = pad_batch(SOURCES[:1])
            enc0, enc_final = m.encode(src, lengths, carry_of(m.empty_doc_state(1)))
            dec = m.decode(*pad_batch(TARGETS[:1]), m.init_state(enc0, m.empty_doc_state(1))[1], enc0)
            carried = m.next_doc_state(enc_final, dec.state, pad_batch(TARGETS[:1])[0])
            assert (carried is not None) == should_change
            enc_a, _ = m.encode(src, lengths, carry_of(m.empty_doc_state(1)))
            enc_b, _ = m.encode(src, lengths, carry_of(carried))
            differs = not torch.allclose(enc_a.states, enc_b.states)
            differs |= not torch.allclose(
                m.init_state(enc_a, m.empty_doc_state(1))[1].h, m.init_state(enc_b, carried)[1].h
            )
        assert differs == should_change


def test_tied_output_shares_the_embedding() -> None:
    cfg = tiny_config().override(["model.vocab_size=50", "model.tie_output=true"]).model
    m = Seq2Seq(cfg)
    assert m.output.weight is m.decoder.embed.weight is m.encoder.embed.weight
    assert m.output.in_features == cfg.emb_size
    assert torch.all(m.encoder.embed.weight[PAD_ID] == 0)


def test_untied_output_has_its_own_matrix_over_the_decoder_features() -> None:
    m = Seq2Seq(tiny_config().override(["model.vocab_size=50", "model.tie_output=false"]).model)
    assert m.output.weight is not m.decoder.embed.weight
    assert m.encoder.embed.weight is m.decoder.embed.weight  # source and target still share
    assert m.output.in_features == m.cfg.dec_hidden


def test_memory_keeps_each_rows_newest_real_tokens_right_aligned() -> None:
    from translator.state import Memory

    states = torch.arange(12.0).view(2, 6, 1)
    mask = torch.tensor([[False, True, True, False, True, True], [True, False, False, False, False, True]])
    kept = Memory.newest(states, mask, 3)
    assert kept.mask.tolist() == [[True, True, True], [False, True, True]]
    assert kept.states[0, :, 0].tolist() == [2.0, 4.0, 5.0]  # positions 2, 4, 5: the three newest
    assert kept.states[1, :, 0].tolist() == [0.0, 6.0, 11.0]  # one slot unused: zero and masked


def test_attend_puts_earlier_sentences_tokens_in_front_and_uses_them() -> None:
    """The memory extends what attention sees; a different previous sentence changes the next step."""
    m = model("attend")
    slots = m.cfg.memory_tokens
    with torch.no_grad():
        first_src, first_len = pad_batch([[5, 6, 7, EOS_ID], [8, 9, 10, 11, 12, EOS_ID]])
        _, carry = m.encode(first_src, first_len, carry_of(m.empty_doc_state(2)))
        assert carry.memory is not None and carry.memory.mask.sum(1).tolist() == [4, 6]
        context = m.next_doc_state(carry, m.empty_doc_state(2).decoder)  # type: ignore[union-attr]
        src, lengths = pad_batch([[13, 14, EOS_ID], [13, 14, EOS_ID]])
        enc, _ = m.encode(src, lengths, carry_of(context))
        assert enc.states.shape[1] == slots + 3 and enc.mask[:, slots:].all()
        assert enc.mask[:, :slots].sum(1).tolist() == [4, 6]
        # Same current sentence, same (zero) LSTM states: only the memory differs between the rows.
        bare = context.index_select(torch.tensor([0, 0]))  # type: ignore[union-attr]
        bare = type(bare)(bare.encoder, bare.decoder, context.memory)  # type: ignore[union-attr]
        enc, _ = m.encode(src, lengths, carry_of(bare))
        enc, state = m.init_state(enc, bare)
        out = m.step(torch.tensor([BOS_ID, BOS_ID]), state, enc)
        assert not torch.allclose(out.log_probs[0], out.log_probs[1])


def test_trim_keeps_tokens_that_sit_behind_masked_memory_slots() -> None:
    """With `attend`, a row may have masked columns in front of its real ones: trim only trailing ones."""
    from translator.state import EncoderOutput

    mask = torch.tensor([[False, False, True, True, False], [True, False, False, False, False]])
    enc = EncoderOutput(torch.zeros(2, 5, 3), torch.zeros(2, 5, 4), mask, torch.zeros(2, 3)).trim()
    assert enc.mask.tolist() == [[False, False, True, True], [True, False, False, False]]


def test_target_remembers_the_previous_translation_and_attends_to_it() -> None:
    """`context: target`: the memory is built from the output pieces, in front only from `init_state`."""
    m = model("target")
    slots = m.cfg.memory_tokens
    with torch.no_grad():
        src, lengths = pad_batch([[5, 6, 7, EOS_ID], [5, 6, 7, EOS_ID]])
        enc, carry = m.encode(src, lengths, carry_of(m.empty_doc_state(2)))
        assert enc.states.shape[1] == 4 and carry.memory is None  # the encoder neither reads nor makes it
        _, state = m.init_state(enc, m.empty_doc_state(2))
        dec = m.decode(*pad_batch([[20, 21], [20, 21]]), state, enc)
        with pytest.raises(ValueError, match="output pieces"):
            m.next_doc_state(carry, dec.state)
        outputs = torch.tensor([[20, 21, 22, EOS_ID, PAD_ID], [30, 31, 32, 33, 34]])  # translations differ
        context = m.next_doc_state(carry, dec.state.index_select(torch.tensor([0, 0])), outputs)
        assert context is not None and context.memory is not None
        assert context.memory.mask.sum(1).tolist() == [3, 5]  # EOS and padding are not remembered
        assert context.memory.states.abs().max() <= 1  # bounded like the states a context blob may hold
        enc2, carry2 = m.encode(src, lengths, carry_of(context))
        assert enc2.states.shape[1] == 4
        enc2, state = m.init_state(enc2, context)
        assert enc2.states.shape[1] == slots + 4 and enc2.mask[:, :slots].sum(1).tolist() == [3, 5]
        # Same sources, same carried LSTM states: only the remembered translations differ.
        out = m.step(torch.tensor([BOS_ID, BOS_ID]), state, enc2)
        assert not torch.allclose(out.log_probs[0], out.log_probs[1])
