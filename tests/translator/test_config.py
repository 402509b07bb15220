"""Config: defaults, YAML, overrides, and loud failures on typos."""

from __future__ import annotations

from pathlib import Path

import pytest

from translator.config import Config, ConfigError


def test_round_trip_through_dict_and_yaml(tmp_path: Path) -> None:
    cfg = Config().override(["model.dec_hidden=128", "train.lr=5e-4", "model.context=none"])
    assert Config.from_dict(cfg.to_dict()) == cfg
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    assert Config.from_yaml(path) == cfg


def test_override_parses_yaml_scalars() -> None:
    cfg = Config().override(["train.lr=1e-3", "train.max_minutes=30", "model.tie_output=true", "data.train=a/b"])
    assert cfg.train.lr == 0.001 and cfg.train.max_minutes == 30.0 and cfg.model.tie_output is True
    assert cfg.data.train == "a/b"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"modle": {}}, "unknown key"),
        ({"model": {"hiden": 3}}, "unknown key"),
        ({"model": {"dec_hidden": "big"}}, "model.dec_hidden: expected int"),
        ({"model": {"dec_hidden": True}}, "expected int"),
        ({"model": {"context": "maybe"}}, "not one of"),
        ({"train": []}, "expected a mapping"),
    ],
)
def test_bad_values_are_rejected(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(raw)


@pytest.mark.parametrize("item", ["train.lr", "lr=1", "train.nope=1", "nope.lr=1"])
def test_bad_overrides_are_rejected(item: str) -> None:
    with pytest.raises(ConfigError):
        Config().override([item])


def test_shipped_recipes_are_valid() -> None:
    configs = Path(__file__).resolve().parents[2] / "configs"
    cfg = Config.from_yaml(configs / "bible.yaml")
    assert cfg.model.context == "carry" and cfg.train.max_minutes == 30
    stories = Config.from_yaml(configs / "bible-stories.yaml")  # the Bible-only one but for corpus, steps, best measure
    assert stories.data.train == "data/bible-stories/train"
    assert (stories.train.max_steps, stories.train.max_minutes, stories.train.best_metric) == (2000, 0, "nll")
    assert stories.model == cfg.model and stories.decode == cfg.decode
