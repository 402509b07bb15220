"""Vocabulary shortlists: what they contain, exact scores over them, and translation through them."""

from __future__ import annotations

import dataclasses
import random
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from nmt.cli import main
from tests.conftest import tiny_config
from translator import checkpoint
from translator import shortlist as shortlist_module
from translator.corpus import read_corpus
from translator.inference import Translator
from translator.model import Seq2Seq
from translator.search import beam_search
from translator.shortlist import OutputLayer, PairChunk, Shortlist, ShortlistStepper
from translator.tokenizer import EOS_ID, UNK_ID, Tokenizer

# Piece ids > EOS_ID (3). Source 10 goes with target 20 (always), source 11 with 22, source 12
# (once) with 20 and 21; target 30 is in every translation (the "frequent" piece).
PAIRS = [([10, 11], [20, 22, 30]), ([10], [20, 30]), ([10, 12], [20, 21, 30]), ([11], [22, 30, 30])]


def test_candidates_are_the_most_associated_pieces() -> None:
    """Dice 2 c(s,t) / (c(s) + c(t)) over pair counts, not raw co-occurrence."""
    short = Shortlist.build(PAIRS, vocab_size=40, frequent=1, per_source=2)
    assert short.frequent.tolist() == [30]
    assert short.candidates[10].tolist() == [20, 21]  # 20: 6/6; 21: 2/4 beats 22: 2/5
    assert short.candidates[11].tolist() == [22, 20]  # 22: 4/4; 20: 2/5
    assert short.candidates[12].tolist() == [21, 20]  # 21 only ever with 12: 2/2; 20: 2/4
    assert set(short.candidates[13].tolist()) == {EOS_ID}  # never seen: padding only


def test_batch_ids_hold_frequent_candidates_sources_and_specials() -> None:
    short = Shortlist.build(PAIRS, vocab_size=40, frequent=1, per_source=1)
    ids = short.ids([[11], [12, 5]]).tolist()
    assert ids == sorted(ids)
    assert set(ids) == {UNK_ID, EOS_ID, 30, 11, 12, 5, 22, 21}  # 22 for 11, 21 for 12; sources pass through
    assert 20 not in ids


def test_malformed_shortlist_is_rejected() -> None:
    with pytest.raises(ValueError, match="piece ids"):
        Shortlist(torch.tensor([5]), torch.full((4, 2), 9))  # 9 is outside a 4-piece vocabulary
    with pytest.raises(ValueError, match="must be"):
        Shortlist(torch.tensor([[1]]), torch.zeros(4, 2, dtype=torch.long))


@pytest.mark.parametrize("int8", [False, True])
def test_restricted_scores_are_the_full_layer_renormalised(int8: bool) -> None:
    torch.manual_seed(0)
    layer: nn.Module = nn.Linear(8, 50)
    if int8:
        layer = torch.ao.quantization.quantize_dynamic(nn.Sequential(layer), {nn.Linear}, dtype=torch.qint8)[0]
    ids = torch.tensor([2, 3, 7, 19, 40])
    x = torch.randn(4, 8)
    got = OutputLayer(layer).rows(ids).log_probs(x)
    assert got.shape == (4, 5)  # one column per kept piece
    assert torch.allclose(got, layer(x)[:, ids].log_softmax(-1), atol=1e-5)


def test_restricted_layer_must_keep_eos() -> None:
    with pytest.raises(ValueError, match="EOS"):
        OutputLayer(nn.Linear(8, 50)).rows(torch.tensor([5, 7]))


@pytest.mark.parametrize("beam", [1, 3])
def test_full_vocabulary_shortlist_translates_exactly_like_no_shortlist(
    tokenizer: Tokenizer, beam: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ShortlistStepper, "full_above", 1.0)  # restrict the layer even to all of it
    cfg = tiny_config().override([f"model.vocab_size={tokenizer.vocab_size}", "decode.max_len_offset=3"])
    torch.manual_seed(0)
    everything = Shortlist(torch.arange(tokenizer.vocab_size), torch.zeros(tokenizer.vocab_size, 1, dtype=torch.long))
    t = Translator(Seq2Seq(cfg.model), tokenizer, cfg, shortlist=everything)
    docs = [["look at that cow .", "it is very cute ."], ["it is very tall ."]]
    plain = t.translate_documents(docs, decode=dataclasses.replace(cfg.decode, beam_size=beam))
    short = t.translate_documents(docs, decode=dataclasses.replace(cfg.decode, beam_size=beam, shortlist=True))
    assert [[x.text for x in d] for d in short] == [[x.text for x in d] for d in plain]
    scores = [x.score for d in short for x in d]
    assert scores == pytest.approx([x.score for d in plain for x in d], abs=1e-5)


def test_cover_widens_to_the_union_then_rebuilds_over_the_live_sentences(tokenizer: Tokenizer) -> None:
    cfg = tiny_config().override([f"model.vocab_size={tokenizer.vocab_size}"])
    vocab = tokenizer.vocab_size
    shortlist = Shortlist(torch.tensor([4]), torch.arange(vocab).unsqueeze(1))  # each piece lists itself only
    stepper = ShortlistStepper(Seq2Seq(cfg.model).eval(), shortlist)
    a, b, c = list(range(10, 20)), list(range(20, 30)), [30, 31]
    stepper.cover([a], [a])
    assert stepper.ids.tolist() == [UNK_ID, EOS_ID, 4, *a]
    rows = stepper.rows
    stepper.cover([a], [a, b])  # already covered: nothing is rebuilt
    assert stepper.rows is rows
    stepper.cover([b], [a, b])  # the union is what the live sentences need anyway
    assert stepper.ids.tolist() == [UNK_ID, EOS_ID, 4, *a, *b]
    stepper.cover([c], [c])  # a and b have left: the union (25) is far above what c needs (5)
    assert stepper.ids.tolist() == [UNK_ID, EOS_ID, 4, *c]
    assert stepper.rows is not None and stepper.rows.ids is stepper.ids
    most = list(range(5, int(vocab * ShortlistStepper.full_above) + 5))
    stepper.cover([most], [most, c])  # more than `full_above` of the vocabulary: the model's own layer
    assert stepper.ids is None and stepper.rows is None
    stepper.cover([c], [c])  # small again: restricted again
    assert stepper.ids is not None and stepper.ids.tolist() == [UNK_ID, EOS_ID, 4, *c]


def test_training_writes_a_shortlist_of_its_vocabulary(trained_run: Path) -> None:
    t = Translator.load(trained_run)
    assert t.shortlist is not None and t.shortlist.vocab_size == t.tokenizer.vocab_size
    # Defaults: the 100 most frequent target pieces (this tiny corpus has fewer), 20 per source piece.
    assert 0 < len(t.shortlist.frequent) <= 100 and t.shortlist.candidates.shape[1] == 20


@pytest.mark.parametrize("int8", [False, True])
def test_greedy_through_a_tight_shortlist_keeps_every_translation_it_covers(
    trained_run: Path, synthetic_corpus: dict[str, str], int8: bool
) -> None:
    """Greedy search (a beam of one) picks the same piece whenever the full search's pick is in the shortlist."""
    t = Translator.load(trained_run, int8=int8)
    train = read_corpus(synthetic_corpus["train"], "en", "es")
    pairs = [
        (t.tokenizer.encode(a), t.tokenizer.encode(b)) for d in train for a, b in zip(d.sources, d.targets, strict=True)
    ]
    t.decoding.shortlist = Shortlist.build(pairs, t.tokenizer.vocab_size, frequent=10, per_source=5)
    pieces = [t.tokenizer.encode(s) for d in read_corpus(synthetic_corpus["test"], "en", "es") for s in d.sources]
    decode = dataclasses.replace(t.config.decode, beam_size=1, shortlist=True)
    covered, missed = 0, 0
    for sentence in pieces:  # one at a time: the smallest shortlists, so some miss a piece
        stepper = t.decoding.stepper(decode, [sentence])
        assert isinstance(stepper, ShortlistStepper) and len(stepper.ids) < t.tokenizer.vocab_size // 2
        with torch.inference_mode():
            start = t.decoding.prepare([sentence], None, decode)
            [[plain]] = beam_search(t.model, start.enc, start.state, start.max_len, beam_size=1)
            [[short]] = beam_search(stepper, start.enc, start.state, start.max_len, beam_size=1)
        allowed = set(stepper.ids.tolist())
        assert set(short.tokens) <= allowed
        if set(plain.tokens) <= allowed:
            assert short.tokens == plain.tokens
            covered += 1
        else:
            missed += 1
    assert covered and missed  # both cases occur: the check is not vacuous


def test_nmt_shortlist_adds_one_to_an_old_checkpoint(
    tmp_path: Path, trained_run: Path, synthetic_corpus: dict[str, str]
) -> None:
    old = tmp_path / "old.pt"
    ckpt = checkpoint.load(trained_run)
    ckpt.shortlist = None  # as written before shortlists existed
    checkpoint.save(ckpt, old)
    with pytest.raises(ValueError, match="no vocabulary shortlist"):
        Translator.load(old).translate_documents(
            [["it is very tall ."]], decode=dataclasses.replace(ckpt.config.decode, shortlist=True)
        )
    assert main(["shortlist", "--model", str(old), "--data", synthetic_corpus["train"], "--per-source", "5"]) == 0
    rebuilt = Translator.load(old).shortlist
    assert rebuilt is not None and rebuilt.candidates.shape == (ckpt.config.model.vocab_size, 5)


def test_shortlist_of_another_vocabulary_is_a_checkpoint_error(tmp_path: Path, trained_run: Path) -> None:
    ckpt = checkpoint.load(trained_run)
    ckpt.shortlist = Shortlist(torch.tensor([5]), torch.zeros(10, 2, dtype=torch.long)).to_tensors()
    checkpoint.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(checkpoint.CheckpointError, match="shortlist covers 10 pieces"):
        Translator.load(tmp_path / "bad.pt")
    shutil.rmtree(tmp_path)


def test_sparse_and_dense_cooccurrence_counts_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large vocabularies sum sparse chunk products (merged as they grow); small ones add into a dense count."""
    rng = random.Random(3)
    pairs = [
        ([rng.randrange(60) for _ in range(rng.randrange(12))], [rng.randrange(60) for _ in range(9)])
        for _ in range(900)
    ]
    dense = Shortlist.build(pairs, vocab_size=60, frequent=5, per_source=4)
    monkeypatch.setattr(shortlist_module._Cooccurrence, "dense_max", 0)
    monkeypatch.setattr(shortlist_module._Cooccurrence, "merge_above", 50)  # many merges
    chunks = PairChunk.batches(pairs, size=64)
    sparse = Shortlist.build_from_chunks(chunks, vocab_size=60, frequent=5, per_source=4)
    assert torch.equal(dense.frequent, sparse.frequent) and torch.equal(dense.candidates, sparse.candidates)
    assert int((dense.candidates > 3).sum()) > 100  # real candidate lists, not only EOS padding


@pytest.mark.parametrize("dense_max", [1 << 27, 0])
def test_cooccurrence_counts_equal_a_count_by_hand(monkeypatch: pytest.MonkeyPatch, dense_max: int) -> None:
    """Each (source, target) piece pair is counted once per sentence pair holding both, on either path."""
    monkeypatch.setattr(shortlist_module._Cooccurrence, "dense_max", dense_max)
    monkeypatch.setattr(shortlist_module._Cooccurrence, "merge_above", 40)
    rng = random.Random(5)
    pairs = [
        ([rng.randrange(30) for _ in range(rng.randrange(8))], [rng.randrange(30) for _ in range(rng.randrange(8))])
        for _ in range(300)
    ]
    expected: dict[int, int] = {}
    for src, tgt in pairs:
        for key in {s * 30 + t for s in src for t in tgt}:
            expected[key] = expected.get(key, 0) + 1
    counts = shortlist_module.ShortlistCounts(30)
    for chunk in PairChunk.batches(pairs, size=37):
        counts.add(chunk)
    keys, n = counts.together.total()
    assert dict(zip(keys.tolist(), n.tolist(), strict=True)) == expected
