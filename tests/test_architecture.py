"""docs/architecture.md's map of the code cannot go stale: every module has its place in the table, and every
module the table names exists.

The table "Where each concern lives" is the map a newcomer reads first; a module missing from it is a
module nobody is told about. A module counts as named when a row names its path (`training/store.py`)
or its file name after its package (`training/` (`trainer.py`, ...)): bare names in a row belong to the
package named last before them. `__init__.py` files are left out (they only mark a package, which the
table names as `pkg/`), and so is server/gen/ (generated gRPC stubs; the table names the folder).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("translator", "corpora", "evaluation", "training", "server", "nmt")
DOC = ROOT / "docs" / "architecture.md"
TABLE = "## Where each concern lives"
CODE = re.compile(r"`([^`]+)`")


def modules(root: Path) -> set[str]:
    """Every module the map must name, as `package/file.py` (server/gen and `__init__.py` left out)."""
    return {
        path.relative_to(root).as_posix()
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        if path.name != "__init__.py" and "gen" not in path.relative_to(root).parts
    }


def named(doc: str) -> set[str]:
    """The `package/file.py` paths the table's rows name, in full or by file name after their package."""
    table = doc.split(TABLE, 1)[1].split("\n## ", 1)[0]
    found = set()
    for row in (line for line in table.splitlines() if line.startswith("|")):
        package = None
        for code in CODE.findall(row):
            path = re.match(r"[\w/]+(\.py)?", code)
            head = path.group().split("/")[0] if path else ""
            if "/" in code:
                package = head if head in PACKAGES else None
            if path and path.group(1) and ("/" in path.group() or package):
                found.add(path.group() if "/" in path.group() else f"{package}/{path.group()}")
    return found


def test_every_module_is_on_the_map() -> None:
    missing = modules(ROOT) - named(DOC.read_text(encoding="utf-8"))
    assert not missing, f"not in {DOC.name}'s table ({TABLE[3:]}): " + ", ".join(sorted(missing))


def test_every_module_on_the_map_exists() -> None:
    gone = {name for name in named(DOC.read_text(encoding="utf-8")) if name.split("/")[0] in PACKAGES} - modules(ROOT)
    assert not gone, f"{DOC.name}'s table names modules that do not exist: " + ", ".join(sorted(gone))


def test_the_check_reads_full_paths_and_names_after_their_package(tmp_path: Path) -> None:
    """The reader itself, on a made-up table: a bare name belongs to the package named last before it."""
    doc = (
        "# A\n\n## Where each concern lives\n\n| Concern | Where |\n| --- | --- |\n"
        "| Network | `translator/model.py` (`Seq2Seq`), `lstm.py` |\n"
        "| Serving | `server/` (`app.py`), offline in `training/cli.py: main` and `data.py` |\n"
        "| Figures | `bench/` (`scale.py`) |\n"
        "\n## Later\n\n| x | `corpora/mix.py` |\n"
    )
    assert named(doc) == {
        "translator/model.py",
        "translator/lstm.py",
        "server/app.py",
        "training/cli.py",
        "training/data.py",
    }
    for name in ("translator/model.py", "translator/__init__.py", "server/gen/x_pb2.py", "nmt/__main__.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert modules(tmp_path) == {"translator/model.py", "nmt/__main__.py"}
