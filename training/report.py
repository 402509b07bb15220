"""Progress bar on stderr, metrics to JSONL and TensorBoard."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


class Reporter:
    """Writes every record to `metrics.jsonl` (and TensorBoard) and draws a progress line."""

    def __init__(self, out_dir: Path, tensorboard: bool, max_steps: int, max_seconds: float) -> None:
        self.jsonl = open(out_dir / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.tty = sys.stderr.isatty()
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out_dir / "tensorboard"))

    def record(self, kind: str, step: int, values: dict[str, Any]) -> None:
        row = {"kind": kind, "step": step, "time": round(time.time(), 3), **values}
        self.jsonl.write(json.dumps(row) + "\n")
        self.jsonl.flush()
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, int | float):
                    self.writer.add_scalar(f"{kind}/{key}", value, step)

    def progress(
        self, step: int, elapsed: float, loss: float, tok_s: float, lr: float, margin: float | None = None
    ) -> None:
        """One status line: overwritten in place on a terminal, appended otherwise."""
        line = f"step {step:>6} | loss {loss:6.3f} | {tok_s:8,.0f} tok/s | lr {lr:.2e} | {_fmt(elapsed)} elapsed"
        if margin is not None:
            line += f" | margin {margin:.3f}"
        eta = self._eta(step, elapsed)
        if eta is not None:
            line += f" | ETA {_fmt(eta)}"
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        print(("\n" if self.tty else "") + text, file=sys.stderr, flush=True)

    def _eta(self, step: int, elapsed: float) -> float | None:
        left = []
        if self.max_seconds:
            left.append(self.max_seconds - elapsed)
        if self.max_steps and step:
            left.append(elapsed / step * (self.max_steps - step))
        return max(0.0, min(left)) if left else None

    def close(self) -> None:
        self.jsonl.close()
        if self.writer is not None:
            self.writer.close()


def _fmt(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"
