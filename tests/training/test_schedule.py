from __future__ import annotations

import pytest

from training.schedule import lr_at
from translator.config import TrainConfig


@pytest.mark.parametrize(
    ("schedule", "step", "expected"),
    [
        ("constant", 0, 0.01),
        ("constant", 99, 1.0),
        ("constant", 5000, 1.0),
        ("inverse_sqrt", 100, 1.0),
        ("inverse_sqrt", 400, 0.5),
        ("cosine", 100, 1.0),
        ("cosine", 1100, 0.0),
        ("cosine", 600, 0.5),
    ],
)
def test_schedules(schedule: str, step: int, expected: float) -> None:
    cfg = TrainConfig(lr=1.0, warmup_steps=100, schedule=schedule, min_lr=0.0, max_steps=1100)  # type: ignore[arg-type]
    assert lr_at(step, cfg) == pytest.approx(expected, abs=1e-9)


def test_cosine_needs_max_steps() -> None:
    with pytest.raises(ValueError, match="max_steps"):
        lr_at(500, TrainConfig(schedule="cosine", max_steps=0))
