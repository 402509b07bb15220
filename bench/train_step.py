"""Where a training step's time goes: tokens/s in fp32 and bf16, and the top operators.

    python bench/train_step.py --data data/bible-en-es/train --set model.enc_layers=2 --set model.dec_layers=2

On a GPU (the default device when CUDA is available; `--device cpu` forces the CPU) the same
command gives the GPU figures; `--lstm scan` times the Python scan there instead of cuDNN's
packed kernel (`translator/lstm.py`).

It builds the model from configs/bible.yaml (plus --set overrides), trains a SentencePiece model
on the corpus (or takes --spm) and binarizes the corpus to a temp dir (or takes a store as
--data), runs --steps timed steps of the real training graph (ChunkLoss, backward, clipping,
Adam) after two warm-up steps, then profiles one more step with torch.profiler and prints the
operators by self time. Nothing is saved.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from training.binarize import build_store
from training.data import DocumentStream
from training.spm import train_sentencepiece
from training.store import TokenStore, is_store, open_store
from training.trainer import ChunkLoss, optimisation_step
from translator import devices
from translator.config import Config
from translator.corpus import iter_corpus
from translator.model import Seq2Seq
from translator.state import DocState
from translator.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data", default=str(ROOT / "data/bible-en-es/train"), help="training corpus PREFIX, or a binarized store"
    )
    parser.add_argument("--spm", type=Path, help="SentencePiece model (default: train one)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--lstm", choices=["auto", "scan", "fused"], default="auto", help="training LSTM kernel (auto: by device)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"hardware: {devices.describe()}")  # every figure names the CPU it was measured on
    device = torch.device(args.device)
    print(f"device {device}, lstm {args.lstm}, {args.threads} CPU threads")
    cfg = Config.from_yaml(ROOT / "configs/bible.yaml").override([*args.overrides, f"data.train={args.data}"])
    with tempfile.TemporaryDirectory() as tmp:
        if is_store(args.data):
            store = open_store(args.data)
        else:
            docs = iter_corpus(args.data, cfg.data.src_lang, cfg.data.tgt_lang)
            proto = args.spm.read_bytes() if args.spm else train_sentencepiece(docs, cfg.model.vocab_size)
            store = open_store(build_store(Path(tmp) / "train.store", cfg, proto))
        run(cfg, store, args.steps, device, args.lstm)


def run(cfg: Config, store: TokenStore, steps: int, device: torch.device, lstm: str) -> None:
    """Time `steps` steps in fp32 and (where the device has it natively) bf16, then profile one."""
    cfg.model.vocab_size = Tokenizer(store.spm_model).vocab_size
    for precision in ("fp32", "bf16"):
        if precision == "bf16" and not devices.native_bf16(device):
            print("bf16: not timed, this device only emulates it (training runs fp32 here: translator/devices.py)")
            continue
        torch.manual_seed(cfg.train.seed)
        model = Seq2Seq(cfg.model).to(device)
        model.encoder.fused_lstm = model.decoder.fused_lstm = {"auto": None, "scan": False, "fused": True}[lstm]
        stream = DocumentStream(store, cfg.train.lanes, cfg.train.seed)
        step = Stepper(model, stream, cfg, precision == "bf16", device)
        for _ in range(2):
            step()
        synchronize(device)
        start, tokens = time.perf_counter(), 0
        for _ in range(steps):
            tokens += step()
        synchronize(device)
        seconds = (time.perf_counter() - start) / steps
        print(f"{precision}: {tokens / steps / seconds:,.0f} tokens/s, {seconds:.2f} s/step")
    cuda = device.type == "cuda"
    with profile(activities=[ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if cuda else [])]) as prof:
        step()
        synchronize(device)
    sort = "self_device_time_total" if cuda else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=15))


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a clock read measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Stepper:
    """One optimisation step of the trainer's graph: `training.trainer.optimisation_step`, as training runs it."""

    def __init__(self, model: Seq2Seq, stream: DocumentStream, cfg: Config, bf16: bool, device: torch.device) -> None:
        self.stream, self.device = stream, device
        self.cfg = cfg.override([f"train.precision={'bf16' if bf16 else 'fp32'}"])
        self.graph = ChunkLoss(model, cfg.train.label_smoothing)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
        self.doc_state: DocState | None = model.empty_doc_state(cfg.train.lanes, device)

    def __call__(self) -> int:
        slots = [self.stream.next_slot().to(self.device) for _ in range(self.cfg.train.bptt_sentences)]
        *_, self.doc_state = optimisation_step(self.graph, self.optimizer, slots, self.doc_state, self.cfg)
        return sum(s.tokens for s in slots)


if __name__ == "__main__":
    main()
