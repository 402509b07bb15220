"""Build the Bible EN-ES benchmark corpus from Debian's SWORD modules.

The benchmark pairs the World English Bible (`engWEB2015eb`, Debian package
`sword-text-web`) with the Reina-Valera 1909 (`spaRV1909eb`, package
`sword-text-sparv`), one verse per line, one document per chapter.  Both are
public domain and installable with apt, so users can rebuild the benchmark
without anything from a shared folder.

We read the modules with `mod2imp` (package `libsword-utils`), which dumps a
module as "IMP" text: a `$$$Book C:V` key line followed by the verse's raw
OSIS markup.  That avoids decoding SWORD's compressed zText files and
versification tables ourselves.

Verses follow KJV versification, Genesis 1:1 to Revelation 22:21.  The
Spanish module *is* KJV-versified, so its key order is the canonical order;
the English module (NRSVA-versified) is looked up by the same key, which
skips its two NRSVA-only verses (3 John 1:15, empty, and Revelation 12:18).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

EN_MODULE = "engWEB2015eb"
ES_MODULE = "spaRV1909eb"
APT_PACKAGES = ("sword-text-web", "sword-text-sparv", "libsword-utils")
SPLITS = ("train", "dev", "test")
KJV_CHAPTERS = 1189

INSTALL_HINT = (
    "sudo apt-get update && sudo apt-get install -y " + " ".join(APT_PACKAGES) + "   (or run scripts/install-sword.sh)"
)

# Footnotes and headings (e.g. psalm titles) are not translation text.
_NOTE_OR_TITLE = re.compile(r"<(note|title)\b[^>]*>.*?</\1>", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE_BEFORE_CLOSING = re.compile(r"\s+([.,;:!?)\]”’»])")
_SPACE_AFTER_OPENING = re.compile(r"([(\[“‘«¿¡])\s+")
_VERSE_KEY = re.compile(r"(?P<book>.+) (?P<chapter>\d+):(?P<verse>\d+)")


class SwordUnavailable(RuntimeError):
    """The SWORD tools or modules are missing and could not be installed."""


@dataclass(frozen=True)
class Verse:
    """One verse reference in canonical order, with its chapter document."""

    key: str  # IMP key, e.g. "I Samuel 3:10"
    doc: str  # document id, e.g. "I_Samuel.3"
    chapter_index: int  # 0-based over all chapters of the Bible


# --------------------------------------------------------------------------
# Pure helpers (unit-tested on small snippets)
# --------------------------------------------------------------------------


def clean_osis(raw: str) -> str:
    """Turn one verse of OSIS markup into plain text.

    Every remaining tag counts as a word boundary (it becomes a space): the
    modules often glue words with markup only, e.g. `<w>God</w><w>created`
    or the Spanish `sáca</w><transChange>lo</transChange>`, and the reference
    corpus keeps those as separate words.  The spaces this puts before
    punctuation (`<w>earth</w>.`) or after opening quotes are removed again.
    """
    text = _NOTE_OR_TITLE.sub("", raw)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = " ".join(text.split())
    text = _SPACE_BEFORE_CLOSING.sub(r"\1", text)
    return _SPACE_AFTER_OPENING.sub(r"\1", text)


def keep_pair(en: str, es: str) -> bool:
    """Keep a verse pair only if both sides exist and lengths are plausible.

    The length-ratio bound drops misaligned entries, such as the glossary the
    WEB module glues onto Revelation 22:21.
    """
    return bool(en) and bool(es) and 1 / 3 < len(en) / len(es) < 3


def split_for_chapter(chapter_index: int) -> str:
    """Assign a chapter to a split: 1 in 40 chapters each to test and dev.

    Whole chapters (documents) go to one split so document context never
    leaks across splits; the fixed stride spreads them over the whole Bible.
    """
    if chapter_index % 40 == 7:
        return "test"
    if chapter_index % 40 == 27:
        return "dev"
    return "train"


def parse_imp(text: str) -> dict[str, str]:
    """Map each `$$$key` of an IMP dump to the text that follows it."""
    entries: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in text.split("\n"):
        if line.startswith("$$$"):
            lines = entries.setdefault(line[3:], [])
        else:
            lines.append(line)
    return {key: "\n".join(body) for key, body in entries.items()}


def canonical_verses(keys: list[str]) -> Iterator[Verse]:
    """Yield the verses among `keys` (in order), skipping headings and intros.

    IMP keys also include module/testament headings and verse 0 of each book
    and chapter (introductions); those are not verses.
    """
    chapter_index = -1
    doc = ""
    for key in keys:
        match = _VERSE_KEY.fullmatch(key)
        if match is None or match["verse"] == "0":
            continue
        this_doc = f"{match['book'].replace(' ', '_')}.{match['chapter']}"
        if this_doc != doc:
            doc, chapter_index = this_doc, chapter_index + 1
        yield Verse(key, doc, chapter_index)


# --------------------------------------------------------------------------
# SWORD access
# --------------------------------------------------------------------------


def _sword_dirs() -> list[Path]:
    """Where SWORD looks for modules (the places Debian and users put them)."""
    dirs = [
        Path.home() / ".sword",
        Path("/usr/share/sword"),
        Path("/usr/local/share/sword"),
    ]
    if "SWORD_PATH" in os.environ:
        dirs.insert(0, Path(os.environ["SWORD_PATH"]))
    return dirs


def _missing() -> list[str]:
    """Names of the required tools/modules that are not installed."""
    confs = {p.stem.lower() for d in _sword_dirs() for p in d.glob("mods.d/*.conf")}
    missing = [m for m in (EN_MODULE, ES_MODULE) if m.lower() not in confs]
    if shutil.which("mod2imp") is None:
        missing.append("mod2imp")
    return missing


def _apt_install() -> None:
    """Install the Debian packages, refreshing package lists only on failure."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES]
    if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
        subprocess.run(cmd, env=env, capture_output=True, check=True)


def ensure_sword_modules(install: bool) -> None:
    """Make sure `mod2imp` and both modules are available, or say how to get them.

    Installing needs root and apt-get; anywhere else we fail with the exact
    command rather than guessing at sudo or other package managers.
    """
    missing = _missing()
    if not missing:
        return
    if install and os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get") is not None:
        try:
            _apt_install()
        except subprocess.CalledProcessError as err:
            detail = (err.stderr or b"").decode(errors="replace").strip()
            raise SwordUnavailable(f"apt-get failed ({detail}); install by hand: {INSTALL_HINT}") from err
        missing = _missing()
        if not missing:
            return
    raise SwordUnavailable(f"SWORD tools/modules not found: {', '.join(missing)}. Install them with: {INSTALL_HINT}")


def read_module(name: str) -> dict[str, str]:
    """Dump a SWORD module with `mod2imp`: key -> raw OSIS, in module order."""
    result = subprocess.run(["mod2imp", name], capture_output=True, check=False)
    if result.returncode != 0:
        raise SwordUnavailable(f"mod2imp could not read {name}: {result.stderr.decode(errors='replace').strip()}")
    return parse_imp(result.stdout.decode("utf-8"))


# --------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------


def build_bible_corpus(out_dir: Path, *, install: bool = True) -> dict[str, int]:
    """Write {train,dev,test}.{en,es,doc} into `out_dir`; return lines per split.

    Files are written to temporary names and renamed at the end, so an
    interrupted build never leaves a half-written corpus that looks complete.
    """
    ensure_sword_modules(install)
    english = read_module(EN_MODULE)
    spanish = read_module(ES_MODULE)
    verses = list(canonical_verses(list(spanish)))
    if verses[-1].chapter_index + 1 != KJV_CHAPTERS:
        raise RuntimeError(f"{ES_MODULE}: expected {KJV_CHAPTERS} KJV chapters, got {verses[-1].chapter_index + 1}")

    lines: dict[str, dict[str, list[str]]] = {s: {"en": [], "es": [], "doc": []} for s in SPLITS}
    for verse in verses:
        en = clean_osis(english.get(verse.key, ""))
        es = clean_osis(spanish[verse.key])
        if keep_pair(en, es):
            split = lines[split_for_chapter(verse.chapter_index)]
            split["en"].append(en)
            split["es"].append(es)
            split["doc"].append(verse.doc)

    _write_atomically(out_dir, lines)
    return {s: len(lines[s]["doc"]) for s in SPLITS}


def _write_atomically(out_dir: Path, lines: dict[str, dict[str, list[str]]]) -> None:
    """Write every file under a temporary name first, then rename them all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    renames: list[tuple[Path, Path]] = []
    for split, columns in lines.items():
        for ext, rows in columns.items():
            final = out_dir / f"{split}.{ext}"
            tmp = out_dir / f".{final.name}.tmp"
            tmp.write_text("".join(row + "\n" for row in rows), encoding="utf-8", newline="\n")
            renames.append((tmp, final))
    for tmp, final in renames:
        tmp.replace(final)


if __name__ == "__main__":
    import sys

    print(build_bible_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "data/bible-en-es")))
