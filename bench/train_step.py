"""Where a training step's time goes: tokens/s in fp32 and bf16, and the top operators.

    python bench/train_step.py --data data/bible-en-es/train --set model.enc_layers=2 --set model.dec_layers=2

It builds the model from configs/bible.yaml (plus --set overrides), trains a SentencePiece model
on the corpus (or takes --spm), runs --steps timed steps of the real training graph (ChunkLoss,
backward, clipping, Adam) after two warm-up steps, then profiles one more step with
torch.profiler and prints the operators by self time. Nothing is saved.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch.profiler import profile

from training.data import DocumentStream, encode_documents
from training.spm import train_sentencepiece
from training.trainer import ChunkLoss
from translator.config import Config
from translator.corpus import read_corpus
from translator.model import Seq2Seq
from translator.state import DocContext
from translator.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT / "data/bible-en-es/train"), help="training corpus PREFIX")
    parser.add_argument("--spm", type=Path, help="SentencePiece model (default: train one)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = Config.from_yaml(ROOT / "configs/bible.yaml").override(args.overrides)
    docs = read_corpus(args.data, cfg.data.src_lang, cfg.data.tgt_lang)
    proto = args.spm.read_bytes() if args.spm else train_sentencepiece(docs, cfg.model.vocab_size)
    tokenizer = Tokenizer(proto)
    cfg.model.vocab_size = tokenizer.vocab_size
    encoded = encode_documents(docs, tokenizer, cfg.data.max_len)
    for precision in ("fp32", "bf16"):
        torch.manual_seed(cfg.train.seed)
        model = Seq2Seq(cfg.model)
        step = Stepper(model, DocumentStream(encoded, cfg.train.lanes, cfg.train.seed), cfg, precision == "bf16")
        for _ in range(2):
            step()
        start, tokens = time.perf_counter(), 0
        for _ in range(args.steps):
            tokens += step()
        seconds = (time.perf_counter() - start) / args.steps
        print(f"{precision}: {tokens / args.steps / seconds:,.0f} tokens/s, {seconds:.2f} s/step")
    with profile() as prof:
        step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


class Stepper:
    """One optimisation step of the trainer's graph, as `training.trainer.train` runs it."""

    def __init__(self, model: Seq2Seq, stream: DocumentStream, cfg: Config, bf16: bool) -> None:
        self.model, self.stream, self.cfg, self.bf16 = model, stream, cfg, bf16
        self.graph = ChunkLoss(model, cfg.train.label_smoothing)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
        self.context: DocContext | None = model.empty_context(cfg.train.lanes)

    def __call__(self) -> int:
        slots = [self.stream.next_slot() for _ in range(self.cfg.train.bptt_sentences)]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            loss, n, context = self.graph(slots, self.context)
        (loss / n).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.train.clip_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.context = context.detach().float() if context is not None else None
        return sum(s.tokens for s in slots)


if __name__ == "__main__":
    main()
