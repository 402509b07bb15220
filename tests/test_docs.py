"""The docs cannot link to nothing: every relative link in README.md and docs/**/*.md names a file
(or folder) that exists, and a link into a Markdown file with a #fragment names one of its headings.

Sections move (docs/history/ holds the superseded experiments of docs/evaluation.md and
docs/benchmark.md); this test is what keeps a move from leaving dead links behind. Links to the web
(http, https, mailto) are not followed. Fenced code blocks and inline code are not read as links.
Heading fragments follow GitHub's rule: lower case, punctuation dropped, spaces to hyphens, "-1",
"-2", ... for repeats.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target); the target may be <...> and may carry a "title"
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(\S+)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...


def _prose_lines(text: str, keep_code: bool = False) -> list[tuple[int, str]]:
    """(line number, line) for every line outside fenced code blocks, inline code removed unless kept."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line if keep_code else _INLINE_CODE.sub("", line)))
    return out


def links(page: Path) -> list[tuple[int, str]]:
    """Every link target of a page, with its line number."""
    found = []
    lines = dict(_prose_lines(page.read_text(encoding="utf-8")))
    # the prose with code blanked out, line for line, so a link text may wrap across lines
    prose = "\n".join(lines.get(n, "") for n in range(1, max(lines, default=0) + 1))
    for match in _LINK.finditer(prose):
        found.append((prose.count("\n", 0, match.start()) + 1, match.group(1).strip("<>")))
    for number, line in lines.items():
        reference = _REFERENCE.match(line)
        if reference:
            found.append((number, reference.group(1).strip("<>")))
    return sorted(found)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading keeps its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, line in _prose_lines(page.read_text(encoding="utf-8"), keep_code=True):
        heading = _HEADING.match(line)
        if not heading:
            continue
        base = slug(heading.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    for match in re.finditer(r"<a\s+(?:name|id)=\"([^\"]+)\"", page.read_text(encoding="utf-8")):
        out.add(match.group(1))
    return out


def test_slug_follows_github() -> None:
    assert slug("The levers, one run each at a fixed 900 steps") == "the-levers-one-run-each-at-a-fixed-900-steps"
    assert slug("Twice as long (1,800 steps), and the contrastive margin") == (
        "twice-as-long-1800-steps-and-the-contrastive-margin"
    )
    assert slug("Precision by CPU: `train.precision: auto`") == "precision-by-cpu-trainprecision-auto"
    assert slug("CXMI of the 900-step `carry` model") == "cxmi-of-the-900-step-carry-model"


def test_link_parser_skips_code_and_reads_titles() -> None:
    assert _prose_lines("a\n```\n[x](nowhere.md)\n```\n`[y](nowhere.md)` b") == [(1, "a"), (5, " b")]
    assert [m.group(1) for m in _LINK.finditer('[a](x.md "t") ![b](<y z.png>) [c [d]](w.md#h) [e\nf](v.md)')] == [
        "x.md",
        "<y z.png>",
        "w.md#h",
        "v.md",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    dead = []
    for number, target in links(page):
        if not target or _EXTERNAL.match(target):
            continue
        path_part, _, fragment = target.partition("#")
        where = f"{page.relative_to(ROOT)}:{number}: {target}"
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            dead.append(f"{where} (no such file)")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            dead.append(f"{where} (no such heading in {resolved.relative_to(ROOT)})")
    assert not dead, "dead links:\n" + "\n".join(dead)


def test_history_pages_are_linked() -> None:
    """A page moved to docs/history/ stays reachable from the page it came from."""
    history = sorted((ROOT / "docs/history").glob("*.md"))
    assert history
    targets = {
        (page.parent / target.partition("#")[0]).resolve()
        for page in PAGES
        if page.parent.name != "history"
        for _, target in links(page)
        if not _EXTERNAL.match(target) and target.partition("#")[0]
    }
    assert [p for p in history if p.resolve() not in targets] == []
