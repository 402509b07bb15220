"""Training end to end on the synthetic corpus: it learns, and context is what makes it right."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from evaluation.scoring import ContrastiveItem, score_contrastive
from tests.conftest import tiny_config
from tests.synthetic import contrastive_items, make_documents
from training.binarize import write_store
from training.data import DocumentStream
from training.levers import Contrast
from training.store import Recipe, TokenStore, open_store
from training.trainer import ChunkLoss, train
from translator import checkpoint
from translator.config import Config
from translator.corpus import Document, write_parallel
from translator.inference import Translator


def records(run: Path, kind: str) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["kind"] == kind]


def items() -> list[ContrastiveItem]:
    raw = contrastive_items(make_documents(60, seed=7))
    return [
        ContrastiveItem(
            r["src"], r["ref"], tuple(r["contrastive"]), tuple(r["context_src"]), tuple(r["context_tgt"]), 1
        )
        for r in raw
    ]  # type: ignore[arg-type]


def test_tiny_model_learns_the_corpus(trained_run: Path, synthetic_corpus: dict[str, str]) -> None:
    train_rows = records(trained_run, "train")
    assert float(train_rows[-1]["loss"]) < 0.5 * float(train_rows[0]["loss"])  # type: ignore[arg-type]
    valid = records(trained_run, "valid")
    assert valid and float(valid[-1]["bleu"]) > 80  # type: ignore[arg-type]
    assert "nrefs:1" in str(valid[-1]["bleu_signature"])
    t = Translator.load(trained_run)
    docs = make_documents(30, seed=11)
    out = t.translate_documents([d.sources for d in docs])
    exact = sum(h.text == r for doc, o in zip(docs, out, strict=True) for h, r in zip(o, doc.targets, strict=True))
    assert exact >= 0.6 * 60  # an untrained model gets none


def test_context_model_beats_sentence_level_model(
    trained_run: Path, synthetic_corpus: dict[str, str], tmp_path: Path
) -> None:
    cfg = Translator.load(trained_run).config.override([f"train.out_dir={tmp_path}", "model.context=none"])
    torch.manual_seed(0)
    baseline = Translator.load(train(cfg))
    carry = Translator.load(trained_run)
    assert score_contrastive(carry, items()).accuracy >= 0.95
    assert score_contrastive(baseline, items()).accuracy <= 0.7  # it cannot see the noun: a coin flip
    assert score_contrastive(carry, items(), mode="none").accuracy <= 0.7  # reset state: same blindness


def store_of(t: Translator, docs: list[Document], path: Path) -> TokenStore:
    """`docs` tokenized with `t`'s vocabulary into a training store."""
    encoded = [
        list(zip(t.tokenizer.encode_batch(d.sources), t.tokenizer.encode_batch(d.targets), strict=True)) for d in docs
    ]
    return open_store(write_store(path, encoded, t.tokenizer.model_proto, Recipe("test", "", 100, False, "en", "es")))


def test_training_lanes_equal_sentence_by_sentence_scoring(trained_run: Path, tmp_path: Path) -> None:
    """The loss the trainer computes over lanes is the inference-time forced score, summed."""
    t = Translator.load(trained_run)
    docs = make_documents(6, seed=4)
    stream = DocumentStream(store_of(t, docs, tmp_path / "s"), 6, 0)
    graph = ChunkLoss(t.model, label_smoothing=0.0).eval()
    with torch.no_grad():
        loss, tokens, _, _ = graph([stream.next_slot(), stream.next_slot()], t.model.empty_doc_state(6))
    forced = t.force_documents([list(zip(d.sources, d.targets, strict=True)) for d in docs])
    assert float(loss) == pytest.approx(-sum(lp for doc in forced for lp, _ in doc), rel=1e-4)
    assert int(tokens) == sum(n for doc in forced for _, n in doc)


def test_contrastive_margin_comes_back_apart_from_the_cross_entropy(trained_run: Path, tmp_path: Path) -> None:
    """The margin is its own sum: the cross-entropy (what the progress line shows) does not change with it."""
    t = Translator.load(trained_run)
    store = store_of(t, make_documents(6, seed=4), tmp_path / "s")
    words = Config().override(["train.contrast_weight=1", "train.contrast_margin=50", "train.contrast_words=es muy"])
    contrast = Contrast.from_config(words.train, t.tokenizer, uses_context=True)
    results = []
    for with_margin in (False, True):
        stream = DocumentStream(store, 6, 0)
        graph = ChunkLoss(t.model, 0.0, contrast if with_margin else None).eval()
        with torch.no_grad():
            results.append(graph([stream.next_slot(), stream.next_slot()], t.model.empty_doc_state(6)))
    (plain_loss, _, plain_margin, _), (loss, _, margin, _) = results
    assert float(loss) == pytest.approx(float(plain_loss)) and float(plain_margin) == 0.0
    assert float(margin) > 0  # a 50-nat margin is never met: every word in a continuing lane adds to it


def test_small_corpus_shrinks_the_vocabulary(tmp_path: Path, synthetic_corpus: dict[str, str]) -> None:
    cfg = tiny_config(tmp_path, max_steps=2).override(
        ["model.vocab_size=5000", f"data.train={synthetic_corpus['train']}"]
    )
    run = train(cfg)
    assert Translator.load(run / "last.pt").tokenizer.vocab_size < 5000


def test_given_sentencepiece_model_is_used_not_retrained(
    tmp_path: Path, trained_run: Path, synthetic_corpus: dict[str, str]
) -> None:
    shared = (trained_run / "spm.model").read_bytes()
    (tmp_path / "shared.model").write_bytes(shared)
    cfg = tiny_config(tmp_path / "run", max_steps=2).override(
        [f"data.train={synthetic_corpus['train']}", f"data.spm_model={tmp_path / 'shared.model'}"]
    )
    run = train(cfg)
    assert (run / "spm.model").read_bytes() == shared
    assert Translator.load(run / "last.pt").tokenizer.model_proto == shared


def test_sentencepiece_model_with_other_special_ids_is_refused(
    tmp_path: Path, synthetic_corpus: dict[str, str]
) -> None:
    lines = Path(synthetic_corpus["train"] + ".en").read_text(encoding="utf-8").splitlines()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=str(tmp_path / "other"), vocab_size=30, minloglevel=2
    )  # SentencePiece's own defaults: unk 0, bos 1, eos 2, no pad
    cfg = tiny_config(tmp_path / "run", max_steps=2).override(
        [f"data.train={synthetic_corpus['train']}", f"data.spm_model={tmp_path / 'other.model'}"]
    )
    with pytest.raises(ValueError, match="special ids"):
        train(cfg)


def test_best_checkpoint_follows_the_configured_dev_measure(tmp_path: Path, synthetic_corpus: dict[str, str]) -> None:
    """train.best_metric=nll: best.pt holds the validation with the lowest dev loss; a resume that
    changes the measure starts best.pt over instead of comparing a loss with a BLEU."""
    corpus = [f"data.train={synthetic_corpus['train']}", f"data.dev={synthetic_corpus['dev']}"]
    run = tmp_path / "run"
    cfg = tiny_config(run, max_steps=60, valid_every=10, save_every=10, best_metric="nll").override(corpus)
    train(cfg)
    valid = records(run, "valid")
    lowest = min(valid, key=lambda r: float(r["nll"]))  # type: ignore[arg-type]
    assert torch.load(run / "best.pt", weights_only=True)["trainer"]["step"] == lowest["step"]
    assert valid[-1]["best_score"] == -float(lowest["nll"])  # type: ignore[arg-type]

    resumed = checkpoint.load(run, prefer=checkpoint.LAST)
    train(resumed.config.override(["train.max_steps=70", "train.best_metric=chrf"]), resumed)
    last = records(run, "valid")[-1]
    assert last["step"] == 70 and last["best_score"] == last["chrf"]  # a new best, whatever chrF was before
    assert torch.load(run / "best.pt", weights_only=True)["trainer"]["scored_by"] == "chrf"


def test_a_checkpoint_from_before_best_metric_resumes_with_its_bleu_best(
    tmp_path: Path, synthetic_corpus: dict[str, str]
) -> None:
    """Checkpoints written before train.best_metric kept `best_bleu`: a resume compares with it."""
    corpus = [f"data.train={synthetic_corpus['train']}", f"data.dev={synthetic_corpus['dev']}"]
    run = tmp_path / "run"
    train(tiny_config(run, max_steps=20, valid_every=10, save_every=10).override(corpus))
    old = checkpoint.load(run, prefer=checkpoint.LAST)
    trainer = {k: v for k, v in old.trainer.items() if k not in ("best_score", "scored_by")}
    checkpoint.save(dataclasses.replace(old, trainer={**trainer, "best_bleu": 1000.0}), run / checkpoint.LAST)
    best_before = (run / checkpoint.BEST).stat().st_mtime_ns

    resumed = checkpoint.load(run, prefer=checkpoint.LAST)
    train(resumed.config.override(["train.max_steps=30"]), resumed)
    last = records(run, "valid")[-1]
    assert last["step"] == 30 and last["best_score"] == 1000.0  # no BLEU beats the old best
    assert (run / checkpoint.BEST).stat().st_mtime_ns == best_before


def test_bf16_autocast_only_where_the_cpu_has_it_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    """An AVX2-only CPU emulates bf16 about 40x slower than fp32: `bf16` and `auto` must train in fp32 there."""
    from training.trainer import autocast_bf16, precision_note
    from translator import devices

    cpu = torch.device("cpu")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    monkeypatch.setattr(devices, "_cpu_flags", lambda: (False, False))
    assert not autocast_bf16(cpu, "bf16") and not autocast_bf16(cpu, "auto")
    level, message = precision_note(cpu, "bf16")
    assert level == logging.WARNING and "fp32" in message and "AVX2" in message
    assert precision_note(cpu, "auto")[0] == logging.INFO

    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(devices, "_cpu_flags", lambda: (False, True))  # AMX: as before, bf16
    assert autocast_bf16(cpu, "bf16") and autocast_bf16(cpu, "auto")
    assert not autocast_bf16(cpu, "fp32")
    assert "bf16 autocast" in precision_note(cpu, "auto")[1]


def test_first_step_reports_progress_with_an_eta(
    tmp_path: Path, synthetic_corpus: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A slow machine must not look hung: a progress line (with ETA) after step 1, then every log_every."""
    run = tmp_path / "run"
    train(tiny_config(run, max_steps=4, log_every=20).override([f"data.train={synthetic_corpus['train']}"]))
    assert [r["step"] for r in records(run, "train")] == [1]
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("step")]
    assert lines and lines[0].split("|")[0].split() == ["step", "1"] and "ETA" in lines[0]


def test_kept_step_checkpoints_average_into_a_loadable_model(tmp_path: Path, synthetic_corpus: dict[str, str]) -> None:
    """train.keep_checkpoints=2 keeps the models of the last two saves; `nmt average --run` averages them."""
    from nmt.cli import main

    run = tmp_path / "run"
    cfg = tiny_config(run, max_steps=30, save_every=10, keep_checkpoints=2)
    train(cfg.override([f"data.train={synthetic_corpus['train']}", "data.spm_alpha=0.1"]))
    kept = checkpoint.step_checkpoints(run)
    assert [checkpoint.load(p).step for p in kept] == [20, 30]
    out = tmp_path / "avg.pt"
    assert main(["average", "--run", str(run), "--output", str(out)]) == 0
    averaged = checkpoint.load(out)
    a, b = (checkpoint.load(p).model for p in kept)
    name = "decoder.lstm.weight_hh_l0" if "decoder.lstm.weight_hh_l0" in a else next(iter(a))
    assert torch.allclose(averaged.model[name], (a[name] + b[name]) / 2)
    assert averaged.step == 30 and len(averaged.trainer["averaged"]) == 2
    Translator(*_built(averaged))  # loads as a model


def _built(ckpt: checkpoint.Checkpoint) -> tuple[object, ...]:
    from translator.model import Seq2Seq
    from translator.tokenizer import Tokenizer

    model = Seq2Seq(ckpt.config.model)
    model.load_state_dict(ckpt.model)
    return model, Tokenizer(ckpt.spm_model), ckpt.config


def test_init_from_fine_tunes_the_weights_on_a_new_corpus(
    trained_run: Path, synthetic_corpus: dict[str, str], tmp_path: Path
) -> None:
    """train.init_from: the trained weights and vocabulary, a new corpus, step count and optimizer.

    The config asks for other model sizes: the checkpoint's model section wins, or its weights
    would not load. The first steps start from the trained loss, not a fresh model's.
    """
    corpus = tmp_path / "other"
    write_parallel(corpus, "en", "es", make_documents(50, seed=21))
    cfg = tiny_config(tmp_path / "ft", max_steps=20, init_from=str(trained_run)).override(
        [f"data.train={corpus}", f"data.dev={synthetic_corpus['dev']}", "model.dec_hidden=48"]
    )
    run = train(cfg)
    tuned, base = checkpoint.load(run, prefer=checkpoint.LAST), checkpoint.load(trained_run)
    assert tuned.step == 20 and tuned.config.model == base.config.model
    assert tuned.spm_model == base.spm_model
    first_tuned = float(records(run, "train")[0]["loss"])  # type: ignore[arg-type]
    first_fresh = float(records(trained_run, "train")[0]["loss"])  # type: ignore[arg-type]
    assert first_tuned < 0.5 * first_fresh
