"""Document-mode translation: lanes in a batch == one sentence at a time with the carried state."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from tests.conftest import tiny_config
from tests.synthetic import make_documents
from translator.config import ContextMode
from translator.inference import Translator
from translator.model import Seq2Seq
from translator.tokenizer import Tokenizer

DOCS = [
    ["look at that cow .", "it is very cute .", "look at that dog .", "it is very old ."],
    ["look at that book .", "it is very new ."],
    ["it is very tall ."],
    ["look at that star .", "it is very tall .", "look at that tree ."],
]


def sentence_by_sentence(t: Translator, doc: list[str], beam: int) -> list[tuple[str, float]]:
    decode = dataclasses.replace(t.config.decode, beam_size=beam)
    context, out = None, []
    for sentence in doc:
        (translation,), context = t.translate_sentences([sentence], context, decode)
        out.append((translation.text, translation.score))
    return out


def assert_batched_equals_sentence_by_sentence(t: Translator, beam: int) -> None:
    decode = dataclasses.replace(t.config.decode, beam_size=beam, batch_size=3)
    batched = t.translate_documents(DOCS, decode=decode)
    for doc, result in zip(DOCS, batched, strict=True):
        expected = sentence_by_sentence(t, doc, beam)
        assert [r.text for r in result] == [e[0] for e in expected]
        assert [r.score for r in result] == pytest.approx([e[1] for e in expected], abs=1e-4)


@pytest.mark.parametrize("beam", [1, 3])
@pytest.mark.parametrize("context", ["attend", "target"])
def test_memory_document_stream_equals_sentence_by_sentence(tokenizer: Tokenizer, beam: int, context: str) -> None:
    """The same for the memory modes, whose memory (6 slots: shorter than a document) must travel too.

    With `target` the memory is the previous sentence's translation, made after the walk
    encoded the next sentences ahead: it must reach them anyway.
    """
    cfg = tiny_config().override(
        [f"model.context={context}", "model.memory_tokens=6", f"model.vocab_size={tokenizer.vocab_size}"]
    )
    cfg = cfg.override(["decode.max_len_offset=3"])  # an untrained model rambles: keep its outputs short
    torch.manual_seed(0)
    t = Translator(Seq2Seq(cfg.model), tokenizer, cfg)
    assert_batched_equals_sentence_by_sentence(t, beam)


@pytest.mark.parametrize("beam", [1, 3])
def test_batched_document_stream_equals_sentence_by_sentence(trained_run: Path, beam: int) -> None:
    t = Translator.load(trained_run)
    assert_batched_equals_sentence_by_sentence(t, beam)


def test_context_none_translates_each_sentence_alone(trained_run: Path) -> None:
    t = Translator.load(trained_run)
    reset = t.translate_documents(DOCS, mode="none")
    for doc, result in zip(DOCS, reset, strict=True):
        alone = [t.translate_documents([[s]])[0][0].text for s in doc]
        assert [r.text for r in result] == alone


@pytest.mark.parametrize(("mode", "beam"), [(None, 1), (None, 3), ("none", 2)])
def test_translate_stream_equals_translate_documents(trained_run: Path, mode: ContextMode | None, beam: int) -> None:
    """Documents taken in input order through a small window: the same translations as the whole job at once."""
    t = Translator.load(trained_run)
    docs: list[list[str]] = [d.sources[: 1 + i % 2] + d.sources for i, d in enumerate(make_documents(20, seed=4))]
    docs[3:3] = [[], DOCS[0]]  # an empty document, and one longer than the window
    decode = dataclasses.replace(t.config.decode, beam_size=beam, batch_size=3)
    expected = t.translate_documents(docs, mode, decode)
    streamed = list(t.translate_stream(iter(docs), mode, decode, window=3))
    assert [[x.text for x in doc] for doc in streamed] == [[x.text for x in doc] for doc in expected]
    assert [x.score for doc in streamed for x in doc] == pytest.approx(
        [x.score for doc in expected for x in doc], abs=1e-4
    )


def test_the_carried_state_decides_the_gender(trained_run: Path) -> None:
    t = Translator.load(trained_run)
    out = t.translate_documents(
        [["look at that cow .", "it is very cute ."], ["look at that dog .", "it is very cute ."]]
    )
    # The second source sentence is identical; only the carried state knows the noun's gender.
    assert out[0][1].text.removesuffix(" .").endswith("a") and out[1][1].text.removesuffix(" .").endswith("o")


def test_n_best_lists_alternatives_in_order(trained_run: Path) -> None:
    t = Translator.load(trained_run)
    decode = dataclasses.replace(t.config.decode, beam_size=4, n_best=3)
    (translation,) = t.translate_documents([["look at that dog ."]], decode=decode)[0]
    scores = [translation.score, *(s for _, s in translation.alternatives)]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert len({translation.text, *(a for a, _ in translation.alternatives)}) == 3


def test_force_scores_the_reference_above_a_wrong_gender(trained_run: Path) -> None:
    t = Translator.load(trained_run)
    _, _, context = t.force_sentences(["look at that cow ."], ["mira esa vaca ."], None)
    assert context is not None
    context = context.index_select(torch.zeros(2, dtype=torch.long))
    log_probs, tokens, _ = t.force_sentences(["it is very cute ."] * 2, ["es muy linda .", "es muy lindo ."], context)
    assert log_probs[0] > log_probs[1] and tokens[0] == tokens[1] > 0


def test_int8_translates_like_the_float_model(trained_run: Path, synthetic_corpus: dict[str, str]) -> None:
    from torch.ao.nn.quantized.dynamic import LSTM as QuantizedLSTM

    from evaluation.metrics import corpus_scores
    from translator.corpus import read_corpus

    fp32, int8 = Translator.load(trained_run), Translator.load(trained_run, int8=True)
    assert isinstance(int8.model.decoder.lstm, QuantizedLSTM) and int8.int8 and not fp32.int8
    docs = read_corpus(synthetic_corpus["test"], "en", "es")
    refs = [t for d in docs for t in d.targets]
    bleu = {}
    for name, t in (("fp32", fp32), ("int8", int8)):
        hyps = [x.text for d in t.translate_documents([d.sources for d in docs]) for x in d]
        bleu[name] = corpus_scores(hyps, refs)["bleu"].score
        genders = [h.split()[-2][-1] == r.split()[-2][-1] for h, r in zip(hyps[1::2], refs[1::2], strict=True)]
        assert sum(genders) / len(genders) >= 0.9, name  # the carried context still decides the gender
    assert abs(bleu["int8"] - bleu["fp32"]) < 3.0


def test_a_document_continues_the_step_after_its_sentence_finishes(
    trained_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Continuous batching: the job takes as many steps as its longest document, not one round per position.

    Greedy search spends exactly one step per output piece plus EOS, so
    translating each document sentence by sentence counts every sentence's
    steps; with a lane per document the batched walk must then take the
    longest document's total, where lock-step rounds would take the sum of
    each position's longest sentence.
    """
    t = Translator.load(trained_run)
    steps = 0
    real_step = t.model.step

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal steps
        steps += 1
        return real_step(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(t.model, "step", counted)
    # Outputs capped at half the source's length: a long first sentence beside short ones (the tiny
    # model's own translations are all about as long); rounds wait for it, lanes do not.
    t.config.decode = dataclasses.replace(t.config.decode, max_len_ratio=0.5, max_len_offset=0)
    docs = [["look at that cow . it is very cute . look at that dog . it is very old ."], DOCS[1], DOCS[2]]
    per_sentence = []
    for doc in docs:
        counts = []
        for n in range(1, len(doc) + 1):
            steps = 0
            sentence_by_sentence(t, doc[:n], beam=1)
            counts.append(steps - sum(counts))
        per_sentence.append(counts)
    rounds = sum(max(c[i] for c in per_sentence if len(c) > i) for i in range(max(map(len, per_sentence))))
    steps = 0
    t.translate_documents(docs, decode=dataclasses.replace(t.config.decode, beam_size=1, batch_size=len(docs)))
    assert steps == max(sum(c) for c in per_sentence) < rounds


@pytest.mark.parametrize("mode", [None, "none"])
def test_force_stream_equals_force_documents(trained_run: Path, mode: ContextMode | None) -> None:
    """The grid's last cell: forced scores of documents as they come, the same as of the whole job."""
    t = Translator.load(trained_run)
    t.config.decode = dataclasses.replace(t.config.decode, batch_size=3)
    docs = [list(zip(d.sources, d.targets, strict=True)) for d in make_documents(8, seed=6)]
    streamed = list(t.force_stream(iter(docs), mode))
    assert [[n for _, n in doc] for doc in streamed] == [[n for _, n in doc] for doc in t.force_documents(docs, mode)]
    assert [lp for doc in streamed for lp, _ in doc] == pytest.approx(
        [lp for doc in t.force_documents(docs, mode) for lp, _ in doc], abs=1e-4
    )
