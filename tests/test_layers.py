"""The import graph: no cycles, and no import from a lower layer to a higher one (docs/architecture.md).

Reads every module's imports with `ast` (top-level, in functions, and under
`if TYPE_CHECKING:` alike: a lazy or type-only import is still a dependency a
reader has to follow), so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("translator", "corpora", "evaluation", "training", "server", "nmt")
# What each package may import (besides itself). Layers: translator < corpora, evaluation, training < server < nmt;
# training uses evaluation (not corpora: `nmt prepare` is corpora/cli.py); the server never imports
# training; nothing imports nmt.
MAY_IMPORT = {
    "translator": set(),
    "corpora": {"translator"},
    "evaluation": {"translator"},
    "training": {"translator", "evaluation"},
    "server": {"translator", "corpora", "evaluation"},
    "nmt": {"translator", "corpora", "evaluation", "training", "server"},
}
# Module cycles still to be removed, each with the step that removes it; the test also fails
# when one of them is gone, so that this list only shrinks.
KNOWN_CYCLES: set[frozenset[str]] = set()  # none left; a new one must be removed, not listed


def _modules(root: Path) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "gen" in path.relative_to(root).parts:
                continue  # server/gen: generated gRPC stubs
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """The project modules `path` imports, with the line of each import."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from translator import checkpoint` names a module; `from translator.x import f` a name in x
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name in known:
                yield name, node.lineno
                if isinstance(node, ast.ImportFrom):
                    break  # the most specific module only


def _graph(root: Path) -> dict[str, dict[str, int]]:
    modules = _modules(root)
    return {name: dict(_imports(path, set(modules))) for name, path in modules.items()}


def _upward_imports(root: Path) -> list[str]:
    """`file:line: module imports module` for every import a package may not make."""
    modules = _modules(root)
    return [
        f"{modules[source].relative_to(root)}:{line}: {source} imports {target}"
        for source, targets in _graph(root).items()
        for target, line in targets.items()
        if (package := target.split(".")[0]) != source.split(".")[0] and package not in MAY_IMPORT[source.split(".")[0]]
    ]


def _cycles(graph: dict[str, dict[str, int]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_runs_up_the_layers() -> None:
    wrong = _upward_imports(ROOT)
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    cycles = _cycles(_graph(ROOT))
    assert cycles - KNOWN_CYCLES == set(), "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)
    assert KNOWN_CYCLES - cycles == set(), "a known cycle is gone: take it off KNOWN_CYCLES"


def test_the_check_finds_planted_wrong_imports(tmp_path: Path) -> None:
    """The checker itself, on a made-up tree: lazy and type-only imports count, by file and line."""
    files = {
        "translator/a.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from training.b import f\n",
        "training/b.py": "def f() -> None:\n    from translator import a\n",
        "server/c.py": "import os\nimport training.b\n",
        "evaluation/d.py": "from nmt.cli import main\n",
        "nmt/cli.py": "main = None\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert sorted(_upward_imports(tmp_path)) == [
        "evaluation/d.py:1: evaluation.d imports nmt.cli",
        "server/c.py:2: server.c imports training.b",
        "translator/a.py:4: translator.a imports training.b",
    ]
    assert _cycles(_graph(tmp_path)) == {frozenset({"translator.a", "training.b"})}
