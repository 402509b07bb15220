"""Ours against OpenNMT-py 3.5.1: same CPU, data, SentencePiece model, model size and time budget.

Run it through `bench/compare_opennmt.sh`, which builds OpenNMT-py's own virtual environment first.

    bench/compare_opennmt.sh --minutes 30            # the record (about 70 minutes in all)
    bench/compare_opennmt.sh --stage translate       # re-time translation of the trained models

Steps, all under --work (resumable: a finished step is not redone unless --fresh):
1. One joint SentencePiece model (8k unigram) from the training split; OpenNMT-py reads the corpus
   pre-split into its pieces, we read the text and the same model (`data.spm_model`).
2. Training, one system after the other, each alone on the machine, for --minutes of wall clock:
   embeddings 256, bidirectional 2-layer encoder (512 in all), 2-layer decoder 512, Luong "general"
   attention, dropout 0.3, Adam at 1e-3, batches of about 4096 tokens. Each keeps its own design
   otherwise (OpenNMT-py: input feeding; ours: no input feeding, bf16 autocast, document lanes;
   both an untied output layer, as configs/bible.yaml has it). Neither validates during the budget.
3. Translation of the test split (beam 5 and greedy, batch 64), timed as whole commands (start-up
   and model loading included), then BLEU / chrF with sacrebleu on detokenised text.
Peak RSS is the child process's own high-water mark (os.wait4), so each command is measured alone.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sentencepiece as spm

from evaluation.metrics import corpus_scores
from training.spm import train_sentencepiece
from translator import devices
from translator.corpus import Document, format_documents_text, read_corpus

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_TOKENS = 4096  # OpenNMT-py's batch_size with batch_type: tokens (padded tokens of the longer side)


@dataclass
class Run:
    """One timed command: wall seconds and the peak resident memory of its process."""

    seconds: float
    peak_rss_mb: float


def run_timed(cmd: list[str], log: Path, env: dict[str, str], limit_s: float | None = None) -> Run:
    """Run `cmd` with output to `log`; at `limit_s` interrupt it (training has no time budget of its own)."""
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = start + limit_s if limit_s else None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGTERM)
                deadline = None
            time.sleep(0.2)
    seconds = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0 and not (limit_s and code == -signal.SIGTERM):
        raise RuntimeError(f"{' '.join(cmd)} failed with {code}; see {log}")
    return Run(seconds, usage.ru_maxrss / 1024)


def environment(threads: int) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")
    # torch >= 2.6 loads checkpoints weights-only by default; OpenNMT-py 3.5.1's hold its options object.
    env["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
    return env


# ---------------------------------------------------------------- data


def prepare(data: Path, work: Path) -> dict[str, list[Document]]:
    """Shared SentencePiece model, and the corpus pre-split into its pieces for OpenNMT-py."""
    splits = {name: read_corpus(data / name, "en", "es") for name in ("train", "dev", "test")}
    model = work / "spm.model"
    if not model.exists():
        model.write_bytes(train_sentencepiece(splits["train"], 8000))
    sp = spm.SentencePieceProcessor(model_file=str(model))
    for name, docs in splits.items():
        for lang, side in (("en", "sources"), ("es", "targets")):
            path = work / "onmt" / f"{name}.sp.{lang}"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                lines = [s for d in docs for s in getattr(d, side)]
                path.write_text("".join(" ".join(p) + "\n" for p in sp.encode(lines, out_type=str)), encoding="utf-8")
    test = work / "test.en.txt"  # documents for `nmt translate`: a blank line between them
    test.write_text(format_documents_text([d.sources for d in splits["test"]]), encoding="utf-8")
    return splits


# ---------------------------------------------------------------- training


def onmt_config(work: Path, minutes: float) -> Path:
    d = work / "onmt"
    cfg = f"""\
save_data: {d}/prep
src_vocab: {d}/vocab.txt
share_vocab: true
src_vocab_size: 8000
tgt_vocab_size: 8000
overwrite: true
data:
  corpus_1: {{path_src: {d}/train.sp.en, path_tgt: {d}/train.sp.es}}
  valid: {{path_src: {d}/dev.sp.en, path_tgt: {d}/dev.sp.es}}
save_model: {d}/model
save_checkpoint_steps: {10 if minutes < 10 else 25}
keep_checkpoint: 2
train_steps: 10000000
valid_steps: 10000000
report_every: 10
seed: 1
num_workers: 0
encoder_type: brnn
decoder_type: rnn
rnn_type: LSTM
enc_layers: 2
dec_layers: 2
hidden_size: 512
word_vec_size: 256
share_embeddings: true
global_attention: general
input_feed: 1
dropout: [0.3]
optim: adam
learning_rate: 0.001
max_grad_norm: 5
batch_size: {REFERENCE_TOKENS}
batch_type: tokens
"""
    path = d / "config.yaml"
    path.write_text(cfg, encoding="utf-8")
    return path


def train_onmt(work: Path, venv: Path, minutes: float, env: dict[str, str]) -> Run:
    config = onmt_config(work, minutes)
    for old in (work / "onmt").glob("model_step_*.pt"):
        old.unlink()
    run_timed(
        [str(venv / "bin/onmt_build_vocab"), "-config", str(config), "-n_sample", "-1"], work / "onmt/vocab.log", env
    )
    return run_timed([str(venv / "bin/onmt_train"), "-config", str(config)], work / "onmt/train.log", env, minutes * 60)


def train_ours(work: Path, data: Path, minutes: float, env: dict[str, str], extra: list[str]) -> Run:
    shutil.rmtree(work / "ours", ignore_errors=True)  # a run directory with last.pt would resume
    # The same batch: OpenNMT-py's 4096-token batches held this many sentences on average;
    # our step is 2 slots (bptt_sentences) of `lanes` sentences.
    lanes = max(8, round(onmt_throughput(work)["sentences_per_step"] / 2))
    sets = [
        f"data.train={data / 'train'}",
        f"data.dev={data / 'dev'}",
        f"data.spm_model={work / 'spm.model'}",
        "model.enc_layers=2",
        "model.dec_layers=2",
        "model.dropout=0.3",
        f"train.lanes={lanes}",
        "train.lr=0.001",
        "train.schedule=constant",
        f"train.max_minutes={minutes}",
        "train.valid_every=100000000",
        "train.patience=0",
        f"train.threads={env['OMP_NUM_THREADS']}",
        f"train.out_dir={work / 'ours'}",
        *extra,  # --set: our own recipe's choices on top of the reference (reported with the table)
    ]
    cmd = [sys.executable, "-m", "nmt", "train", "--config", str(ROOT / "configs/bible.yaml")]
    return run_timed(cmd + [a for s in sets for a in ("--set", s)], work / "ours.train.log", env)


def onmt_throughput(work: Path) -> dict[str, float]:
    """Steps and source+target tokens/s from OpenNMT-py's log (mean over report windows, first one dropped)."""
    text = (work / "onmt/train.log").read_text(encoding="utf-8", errors="replace")
    pattern = r"Step (\d+)/.*?bsz: *\d+/ *\d+/ *(\d+);.*?(\d+)/ *(\d+) tok/s"
    rows = [tuple(int(g) for g in m.groups()) for m in re.finditer(pattern, text)]
    if not rows:
        raise RuntimeError(f"no progress lines in {work / 'onmt/train.log'}: give it more --minutes")
    later = rows[1:] or rows
    return {
        "steps": rows[-1][0],
        "tok_s": statistics.mean(s + t for _, _, s, t in later),
        "sentences_per_step": statistics.mean(n for _, n, _, _ in rows),
    }


def ours_throughput(work: Path) -> dict[str, float]:
    """The same from our metrics.jsonl."""
    rows = [json.loads(line) for line in (work / "ours/metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["kind"] == "train"]
    if not train:
        raise RuntimeError(f"no progress lines in {work / 'ours/metrics.jsonl'}: give it more --minutes")
    rates = [r["tok_s"] for r in train[1:]] or [train[0]["tok_s"]]
    return {"steps": train[-1]["step"], "tok_s": statistics.mean(rates)}


def onmt_checkpoint(work: Path) -> Path:
    """The newest complete checkpoint: a kill during a save can leave the newest one short."""
    ckpts = sorted((work / "onmt").glob("model_step_*.pt"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    if not ckpts:
        raise RuntimeError("OpenNMT-py saved no checkpoint: give it more --minutes")
    if len(ckpts) > 1 and ckpts[-1].stat().st_size < ckpts[-2].stat().st_size:
        return ckpts[-2]
    return ckpts[-1]


def parameters(work: Path, venv: Path, env: dict[str, str]) -> dict[str, int]:
    """Distinct parameters in each checkpoint: tied and shared matrices are saved once and counted once."""
    count = (
        "import sys, torch; m = torch.load(sys.argv[1], map_location='cpu', weights_only={w}); "
        "ts = {{v.data_ptr(): v.numel() for k in {keys} for v in m[k].values()}}; "
        "print(sum(ts.values()))"
    )
    out = {}
    for name, python, script, ckpt in (
        ("ours", sys.executable, count.format(w=True, keys="('model',)"), work / "ours/last.pt"),
        ("onmt", str(venv / "bin/python"), count.format(w=False, keys="('model', 'generator')"), onmt_checkpoint(work)),
    ):
        result = subprocess.run([python, "-c", script, str(ckpt)], env=env, capture_output=True, text=True, check=True)
        out[name] = int(result.stdout.split()[-1])
    return out


# ---------------------------------------------------------------- translation


def translate_onmt(work: Path, venv: Path, beam: int, env: dict[str, str]) -> tuple[Run, list[str]]:
    out = work / f"onmt.test.beam{beam}.sp"
    cmd = [
        str(venv / "bin/onmt_translate"),
        "-model",
        str(onmt_checkpoint(work)),
        "-src",
        str(work / "onmt/test.sp.en"),
    ]
    cmd += ["-output", str(out), "-beam_size", str(beam), "-batch_size", "64", "-batch_type", "sents", "-gpu", "-1"]
    run = run_timed(cmd, work / f"onmt.translate.beam{beam}.log", env)
    sp = spm.SentencePieceProcessor(model_file=str(work / "spm.model"))
    return run, [sp.decode(line.split()) for line in out.read_text(encoding="utf-8").splitlines()]


# Our decoding variants: (name, beam, extra flags). The first two are compared with OpenNMT-py's
# beam 5 and greedy as they are; the others show what each inference option buys.
OURS = [
    ("beam5", 5, []),
    ("beam1", 1, []),
    ("beam5.int8", 5, ["--int8"]),
    ("beam5.shortlist", 5, ["--shortlist"]),
    ("beam5.int8.shortlist", 5, ["--int8", "--shortlist"]),
    ("beam1.int8", 1, ["--int8"]),
    ("beam1.int8.shortlist", 1, ["--int8", "--shortlist"]),
]


def add_shortlist(work: Path, data: Path, env: dict[str, str]) -> None:
    """Checkpoints from before shortlists existed lack one: `nmt shortlist` adds it (same for new ones)."""
    cmd = [
        sys.executable,
        "-m",
        "translator",
        "shortlist",
        "--model",
        str(work / "ours"),
        "--data",
        str(data / "train"),
    ]
    run_timed(cmd, work / "ours.shortlist.log", env)


def translate_ours(work: Path, name: str, beam: int, flags: list[str], env: dict[str, str]) -> tuple[Run, list[str]]:
    out = work / f"ours.test.{name}.txt"
    cmd = [sys.executable, "-m", "nmt", "translate", "--model", str(work / "ours/last.pt")]
    cmd += ["-i", str(work / "test.en.txt"), "-o", str(out), "--beam", str(beam), "--batch-size", "64"]
    cmd += ["--threads", env["OMP_NUM_THREADS"], *flags]
    run = run_timed(cmd, work / f"ours.translate.{name}.log", env)
    return run, [line for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- report


def table(results: dict[str, Any]) -> str:
    """Markdown: the side-by-side table, then our decoding variants against OpenNMT-py's same search.

    The last column is our advantage: > 1 means ours is better (more tokens/s, fewer seconds, less memory).
    """
    train, dec, params = results["train"], results["translate"], results["parameters"]
    ours, onmt = train["ours"], train["onmt"]
    rows: list[tuple[str, float, float, str, bool]] = [
        ("parameters", params["ours"], params["onmt"], "{:,.0f}", False),
        ("training steps in the budget", ours["steps"], onmt["steps"], "{:,.0f}", True),
        ("training tokens/s (source + target)", ours["tok_s"], onmt["tok_s"], "{:,.0f}", True),
        ("training peak RSS, MB", ours["peak_rss_mb"], onmt["peak_rss_mb"], "{:,.0f}", False),
    ]
    for key, label in (("beam5", "beam 5"), ("beam1", "greedy")):
        o, n = dec["ours"][key], dec["onmt"][key]
        rows += [
            (f"test BLEU, {label}", o["bleu"], n["bleu"], "{:.2f}", False),
            (f"test chrF, {label}", o["chrf"], n["chrf"], "{:.2f}", False),
            (f"test translation seconds, {label}", o["seconds"], n["seconds"], "{:.1f}", False),
            (f"test sentences/s, {label}", o["sent_s"], n["sent_s"], "{:.1f}", True),
            (f"translation peak RSS MB, {label}", o["peak_rss_mb"], n["peak_rss_mb"], "{:,.0f}", False),
        ]
    lines = ["| | ours | OpenNMT-py 3.5.1 | advantage |", "|---|---:|---:|---:|"]
    for name, a, b, fmt, higher_is_better in rows:
        advantage = (
            "" if name.startswith(("test BLEU", "test chrF", "param")) else (a / b if higher_is_better else b / a)
        )
        shown = f"{advantage:.2f}x" if advantage else ""
        lines.append(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | {shown} |")
    lines += ["", "| our decoding | BLEU | chrF | seconds | sentences/s | vs OpenNMT-py, same beam | peak RSS MB |"]
    lines += ["|---|---:|---:|---:|---:|---:|---:|"]
    for name, beam, flags in OURS:
        if name not in dec["ours"]:
            continue
        o, n = dec["ours"][name], dec["onmt"]["beam5" if beam == 5 else "beam1"]
        label = f"{'beam 5' if beam == 5 else 'greedy'} {' '.join(flags)}".strip()
        lines.append(
            f"| {label} | {o['bleu']:.2f} | {o['chrf']:.2f} | {o['seconds']:.1f} | {o['sent_s']:.1f} "
            f"| {o['sent_s'] / n['sent_s']:.2f}x | {o['peak_rss_mb']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = ROOT.parent / "shared/data/bible-en-es"
    parser.add_argument("--data", type=Path, default=shared if shared.exists() else ROOT / "data/bible-en-es")
    parser.add_argument("--work", type=Path, default=ROOT / ".bench/compare")
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget per system (wall clock)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stage", choices=["all", "train", "translate"], default="all")
    parser.add_argument("--onmt-venv", type=Path, default=ROOT / ".bench/onmt-venv")
    parser.add_argument("--only", choices=["both", "ours", "onmt"], default="both", help="train only one system")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="extra for our trainer"
    )
    args = parser.parse_args()
    work, env = args.work.resolve(), environment(args.threads)
    work.mkdir(parents=True, exist_ok=True)
    splits = prepare(args.data.resolve(), work)
    results_file = work / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    results.update(minutes=args.minutes, threads=args.threads, data=str(args.data), cpu=devices.describe())

    if args.stage in ("all", "train"):
        trained = results.get("train", {})
        if args.only in ("both", "onmt"):
            trained["onmt"] = {**asdict(train_onmt(work, args.onmt_venv, args.minutes, env)), **onmt_throughput(work)}
        if args.only in ("both", "ours"):
            ours = train_ours(work, args.data.resolve(), args.minutes, env, args.overrides)
            trained["ours"] = {**asdict(ours), **ours_throughput(work), "overrides": args.overrides}
        results["train"] = trained
        results_file.write_text(json.dumps(results, indent=1))
    if args.stage in ("all", "translate"):
        refs = [t for d in splits["test"] for t in d.targets]
        decoded: dict[str, dict[str, object]] = {"ours": {}, "onmt": {}}
        add_shortlist(work, args.data.resolve(), env)
        for name, beam, flags in OURS:
            run, hyps = translate_ours(work, name, beam, flags, env)
            decoded["ours"][name] = summary(run, hyps, refs)
        for name, beam in (("beam5", 5), ("beam1", 1)):
            run, hyps = translate_onmt(work, args.onmt_venv, beam, env)
            decoded["onmt"][name] = summary(run, hyps, refs)
        results["translate"] = decoded
        results["parameters"] = parameters(work, args.onmt_venv, env)
        results["signatures"] = {k: v.signature for k, v in corpus_scores(refs[:1], refs[:1]).items()}
        results_file.write_text(json.dumps(results, indent=1))
        print(table(results))
        (work / "table.md").write_text(table(results) + "\n", encoding="utf-8")


def summary(run: Run, hyps: list[str], refs: list[str]) -> dict[str, float]:
    scores = corpus_scores(hyps, refs)
    return {
        **asdict(run),
        "sent_s": len(refs) / run.seconds,
        "bleu": scores["bleu"].score,
        "chrf": scores["chrf"].score,
    }


if __name__ == "__main__":
    main()
