"""The README is a front door and the manual is in docs/: every link in them resolves.

- README.md stays under 200 lines (the reference lives in docs/*.md);
- every relative Markdown link `[text](path)` of README.md and docs/*.md names a file or folder of the clone,
  relative to the file that links it, and its `#anchor`, if any, names a heading of the file it points to;
- every backticked repo path (`bench/province.py`, `mis/reconcile.py`, `docker/`) names a file or folder of
  the clone, from its root: a path whose first folder is one of the clone's own (paths the gateway or the
  demo writes, under var/ or out/, and paths outside the clone, ../shared/..., are left out).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 200

FENCE = re.compile(r"^```[^\n]*\n.*?^```[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
PATH_SPAN = re.compile(r"^[\w.-]+(/[\w.-]+)*/?$")
GENERATED = {"var", "out", ".venv"}                 # written by the gateway, the demo or set-up, not in the clone


def documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _prose(text: str) -> str:
    """The text without its fenced blocks (line numbers kept)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, formatting and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)        # a link keeps its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    for m in HEADING.finditer(_prose(path.read_text(encoding="utf-8"))):
        base = slug(m.group(2))
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link outside code blocks and code spans."""
    text = _prose(path.read_text(encoding="utf-8"))
    text = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)
    return [(_line(text, m.start()), m.group(2)) for m in LINK.finditer(text)]


def repo_paths(path: Path) -> list[tuple[int, str]]:
    """(line, path) of every code span that names a path of the clone, from its root."""
    text = _prose(path.read_text(encoding="utf-8"))
    top = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")} - GENERATED
    found = []
    for m in CODE_SPAN.finditer(text):
        span = m.group(1).strip()
        if "/" in span and PATH_SPAN.match(span) and span.split("/")[0] in top:
            found.append((_line(text, m.start()), span))
    return found


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves(doc: Path):
    problems = []
    for line, target in links(doc):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):              # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        where = f"{doc.relative_to(ROOT)} line {line}: [{target}]"
        if not dest.exists():
            problems.append(f"{where} points to {file_part}, which does not exist")
        elif ROOT.resolve() not in dest.parents and dest != ROOT.resolve():
            problems.append(f"{where} points outside the clone")
        elif anchor and dest.is_file() and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{where}: no heading #{anchor} in {dest.relative_to(ROOT.resolve())} "
                            f"(headings: {', '.join(sorted(anchors(dest)))})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_backticked_repo_path_exists(doc: Path):
    missing = [f"{doc.relative_to(ROOT)} line {line}: `{span}`" for line, span in repo_paths(doc)
               if not (ROOT / span).exists()]
    assert not missing, "paths named that the clone does not have:\n" + "\n".join(missing)


def test_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < MAX_README_LINES, f"README.md has {len(lines)} lines: the reference belongs in docs/"
    readme_links = {target.split("#")[0] for _, target in links(README)}
    manual = {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    assert manual <= readme_links, f"README.md does not link {sorted(manual - readme_links)}"
