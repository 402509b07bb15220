"""Evaluate several systems side by side and write a report a person would rather look at than read.

`nmt evaluate --model A --model B ... --report DIR` lands here. The first
model is the baseline; every other one is compared with it by sacrebleu's
paired tests on the same sentences. The report is Markdown with PNG plots
(matplotlib, headless): training curves from each run's `metrics.jsonl`,
BLEU/chrF bars, contrastive accuracy by antecedent distance, and (with
`--cxmi`) CXMI by sentence number.
`results.json` beside it holds every number, signatures included.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.metrics import MetricScore, PairedResult, corpus_scores, paired_significance
from evaluation.scoring import ContrastiveItem, score_contrastive
from translator.config import ContextMode, DecodeConfig
from translator.corpus import Document
from translator.inference import Translator


@dataclass
class SystemResult:
    """Everything measured for one model."""

    name: str
    model: str  # the checkpoint or run directory it was loaded from
    mode: str  # the context mode it was run in (carry, ..., none); "context" in results.json
    scores: dict[str, dict[str, MetricScore]] = field(default_factory=dict)  # split -> metric -> score
    hypotheses: dict[str, list[str]] = field(default_factory=dict)  # split -> detokenised output
    seconds: dict[str, float] = field(default_factory=dict)  # split -> translation time
    contrastive: dict[str, dict[str, Any]] = field(default_factory=dict)  # set -> ContrastiveReport.to_dict()
    cxmi: dict[str, Any] = field(default_factory=dict)  # evaluation.cxmi.measure() of the test split (--cxmi)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "context": self.mode,
            "scores": {s: {m: dataclasses.asdict(v) for m, v in ms.items()} for s, ms in self.scores.items()},
            "seconds": self.seconds,
            "contrastive": self.contrastive,
            "cxmi": self.cxmi,
        }


def evaluate_system(
    translator: Translator,
    name: str,
    model: str,
    splits: dict[str, list[Document]],
    contrastive: dict[str, list[ContrastiveItem]],
    mode: ContextMode | None = None,
    decode: DecodeConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> SystemResult:
    """Translate each split in document mode and score it; score each contrastive set."""
    result = SystemResult(name, model, mode or translator.trained_context)
    for split, docs in splits.items():
        start = time.perf_counter()
        out = translator.translate_documents([d.sources for d in docs], mode=mode, decode=decode, progress=progress)
        result.seconds[split] = time.perf_counter() - start
        result.hypotheses[split] = [t.text for doc in out for t in doc]
        refs = [s for d in docs for s in d.targets]
        result.scores[split] = corpus_scores(result.hypotheses[split], refs, ter=True)
    for set_name, items in contrastive.items():
        result.contrastive[set_name] = score_contrastive(translator, items, mode, progress).to_dict()
    return result


@dataclass(frozen=True)
class Comparison:
    split: str
    system: str
    baseline: str
    result: PairedResult


def compare_with_baseline(
    systems: Sequence[SystemResult], refs: dict[str, list[str]], tests: Sequence[str] = ("bs",), samples: int = 0
) -> list[Comparison]:
    """Paired significance of every system against the first, per split, metric and test."""
    base, out = systems[0], []
    for system in systems[1:]:
        for split, split_refs in refs.items():
            for test in tests:
                for r in paired_significance(
                    base.hypotheses[split], system.hypotheses[split], split_refs, test, samples
                ):
                    out.append(Comparison(split, system.name, base.name, r))
    return out


# ---------------------------------------------------------------- the report


def write_report(out_dir: Path, systems: Sequence[SystemResult], comparisons: Sequence[Comparison]) -> Path:
    """DIR/report.md, DIR/results.json and the plots; returns the Markdown file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "systems": [s.to_dict() for s in systems],
        "comparisons": [{**dataclasses.asdict(c), "result": dataclasses.asdict(c.result)} for c in comparisons],
    }
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    plots = _plot_all(out_dir, systems)
    lines = ["# Evaluation report", "", f"Baseline: **{systems[0].name}**. Systems:", ""]
    lines += [f"- **{s.name}**: `{s.model}` (context: {s.mode})" for s in systems]
    lines += ["", *_scores_table(systems), "", *_significance_table(comparisons), "", *_contrastive_tables(systems)]
    lines += _cxmi_table(systems)
    lines += ["", "## Plots", ""] + [f"![{name}]({name})" for name in plots]
    lines += ["", "## Signatures", ""] + _signatures(systems)
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _scores_table(systems: Sequence[SystemResult]) -> list[str]:
    rows = ["## Translation quality (document mode)", "", "| split | system | BLEU | chrF | TER | sentences/s |"]
    rows.append("| --- | --- | ---: | ---: | ---: | ---: |")
    for split in systems[0].scores:
        for s in systems:
            sc = s.scores[split]
            speed = len(s.hypotheses[split]) / s.seconds[split] if s.seconds[split] else 0.0
            rows.append(
                f"| {split} | {s.name} | {sc['bleu'].score:.2f} | {sc['chrf'].score:.2f} | {sc['ter'].score:.2f} "
                f"| {speed:.1f} |"
            )
    return rows


def _significance_table(comparisons: Sequence[Comparison]) -> list[str]:
    if not comparisons:
        return []
    rows = ["## Paired significance against the baseline", ""]
    rows += ["| split | system | metric | test | baseline | system | p-value | system 95% CI |"]
    rows += ["| --- | --- | --- | --- | ---: | ---: | ---: | --- |"]
    for c in comparisons:
        r = c.result
        ci = f"{r.system_mean:.2f} ± {r.system_ci:.2f}" if r.system_mean is not None and r.system_ci else ""
        rows.append(
            f"| {c.split} | {c.system} | {r.metric} | {r.test} | {r.baseline:.2f} | {r.system:.2f} "
            f"| {r.p_value:.4f} | {ci} |"
        )
    rows += ["", "p is the chance of a difference this large between interchangeable systems (sacrebleu)."]
    return rows


def _contrastive_tables(systems: Sequence[SystemResult]) -> list[str]:
    sets = list(systems[0].contrastive)
    if not sets:
        return []
    rows = ["## Contrastive accuracy (reference scored above its gender-swapped variants)", ""]
    for set_name in sets:
        distances = sorted({d for s in systems for d in s.contrastive[set_name]["by_distance"]}, key=_distance_key)
        rows += [f"### {set_name}", "", "| system | all | " + " | ".join(f"distance {d}" for d in distances) + " |"]
        rows += ["| --- | ---: |" + " ---: |" * len(distances)]
        for s in systems:
            report = s.contrastive[set_name]
            cells = [_accuracy_cell(report["by_distance"].get(d)) for d in distances]
            rows.append(f"| {s.name} | {_accuracy_cell(report)} | " + " | ".join(cells) + " |")
        rows.append("")
    return rows


def _cxmi_table(systems: Sequence[SystemResult]) -> list[str]:
    """CXMI against both controls (nats per reference token, 95% bootstrap interval), where measured."""
    measured = [s for s in systems if s.cxmi]
    if not measured:
        return []
    rows = ["## Context use: CXMI (nats per reference token, 95% CI)", ""]
    rows += ["| system | vs reset | vs random | gendered words vs reset | gendered words vs random |"]
    rows += ["| --- | --- | --- | --- | --- |"]
    for s in measured:
        reset, rand = s.cxmi["reset"], s.cxmi["random"]
        cells = [reset, rand, reset["by_class"]["gendered"], rand["by_class"]["gendered"]]
        rows.append(f"| {s.name} | " + " | ".join(_cxmi_cell(c) for c in cells) + " |")
    return [*rows, ""]


def _cxmi_cell(row: dict[str, Any]) -> str:
    lo, hi = row["ci95"]
    return f"{row['cxmi']:+.4f} [{lo:+.4f}, {hi:+.4f}]"


def _accuracy_cell(row: dict[str, Any] | None) -> str:
    return f"{100 * row['accuracy']:.1f}% ({row['n']})" if row else ""


def _distance_key(d: str) -> tuple[int, str]:
    return (int(d), "") if d.isdigit() else (1 << 30, d)


def _signatures(systems: Sequence[SystemResult]) -> list[str]:
    seen = {score.name: score.signature for s in systems for scores in s.scores.values() for score in scores.values()}
    return [f"- {name}: `{signature}`" for name, signature in seen.items()]


# ---------------------------------------------------------------- plots


def _plot_all(out_dir: Path, systems: Sequence[SystemResult]) -> list[str]:
    """Write the PNGs that have data; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on servers and CI
    written = []
    for name, plot in (
        ("training.png", _plot_training),
        ("scores.png", _plot_scores),
        ("contrastive.png", _plot_contrastive),
        ("cxmi.png", _plot_cxmi),
    ):
        if plot(out_dir / name, systems):
            written.append(name)
    return written


def _run_metrics(model: str) -> list[dict[str, Any]]:
    """The run's metrics.jsonl rows when `model` is (or sits in) a run directory."""
    path = Path(model)
    path = path if path.is_dir() else path.parent
    metrics = path / "metrics.jsonl"
    if not metrics.is_file():
        return []
    return [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line.strip()]


def _plot_training(path: Path, systems: Sequence[SystemResult]) -> bool:
    import matplotlib.pyplot as plt

    runs = {s.name: _run_metrics(s.model) for s in systems}
    if not any(runs.values()):
        return False
    fig, (loss_ax, bleu_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for name, rows in runs.items():
        train = [r for r in rows if r.get("kind") == "train"]
        valid = [r for r in rows if r.get("kind") == "valid"]
        loss_ax.plot([r["step"] for r in train], [r["loss"] for r in train], label=name)
        bleu_ax.plot([r["step"] for r in valid], [r["bleu"] for r in valid], marker="o", label=name)
    loss_ax.set(title="training loss (per target token)", xlabel="step", ylabel="loss")
    bleu_ax.set(title="dev BLEU during training (greedy)", xlabel="step", ylabel="BLEU")
    for ax in (loss_ax, bleu_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def _plot_scores(path: Path, systems: Sequence[SystemResult]) -> bool:
    import matplotlib.pyplot as plt

    splits = list(systems[0].scores)
    if not splits:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("bleu", "chrf"), strict=True):
        _grouped_bars(
            ax, splits, [s.name for s in systems], [[s.scores[sp][metric].score for sp in splits] for s in systems]
        )
        ax.set(title=systems[0].scores[splits[0]][metric].name, ylabel="score")
    return _save(fig, path)


def _plot_contrastive(path: Path, systems: Sequence[SystemResult]) -> bool:
    import matplotlib.pyplot as plt

    sets = list(systems[0].contrastive)
    if not sets:
        return False
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 4), squeeze=False)
    for ax, set_name in zip(axes[0], sets, strict=True):
        distances = sorted({d for s in systems for d in s.contrastive[set_name]["by_distance"]}, key=_distance_key)
        groups = ["all", *(f"d={d}" for d in distances)]
        values = []
        for s in systems:
            report = s.contrastive[set_name]
            by = report["by_distance"]
            values.append([100 * report["accuracy"], *(100 * by[d]["accuracy"] if d in by else 0.0 for d in distances)])
        _grouped_bars(ax, groups, [s.name for s in systems], values)
        ax.axhline(50, color="grey", linestyle="--", linewidth=1)
        ax.set(title=f"contrastive accuracy: {set_name}", ylabel="% correct", ylim=(0, 100))
    return _save(fig, path)


def _plot_cxmi(path: Path, systems: Sequence[SystemResult]) -> bool:
    """CXMI by sentence number in the document, against each control, with 95% intervals."""
    import matplotlib.pyplot as plt

    measured = [s for s in systems if s.cxmi]
    if not measured:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, control in zip(axes, ("reset", "random"), strict=True):
        for s in measured:
            by = s.cxmi[control]["by_position"]
            values = [row["cxmi"] for row in by.values()]
            errors = [[v - row["ci95"][0] for v, row in zip(values, by.values(), strict=True)],
                      [row["ci95"][1] - v for v, row in zip(values, by.values(), strict=True)]]  # fmt: skip
            ax.errorbar(list(by), values, yerr=errors, marker="o", capsize=3, label=s.name)
        ax.axhline(0, color="grey", linestyle="--", linewidth=1)
        ax.set(title=f"CXMI vs {control} context", xlabel="sentence number in the document", ylabel="nats/token")
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def _grouped_bars(ax: Any, groups: list[str], names: list[str], values: list[list[float]]) -> None:
    width = 0.8 / len(names)
    for i, (name, row) in enumerate(zip(names, values, strict=True)):
        xs = [g + (i - (len(names) - 1) / 2) * width for g in range(len(groups))]
        bars = ax.bar(xs, row, width, label=name)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()


def _save(fig: Any, path: Path) -> bool:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
