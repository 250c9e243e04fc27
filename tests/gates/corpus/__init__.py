"""Real-shaped commits for L1 and L5, each with the new findings a reviewer expects.

Each ``*.txt`` file here is one commit: a header of ``# key: value`` lines, then files
as ``-- base/<path> --``, ``-- head/<path> --`` or ``-- both/<path> --`` sections
(a file only under ``base/`` is deleted by the commit). Header keys:

- ``shape``: which project and kind of change it mirrors (requests, click, httpx,
  youtube-dl), and what could go wrong.
- ``new``: ``<path>:<line> <rule>``, one per expected new finding; ``none`` when the
  commit brings none. Every other finding the gates report must be pre-existing.

The cases are plain text so that the project's own linters and pytest never read the
Python inside them. :func:`build` makes a git repository of a case (base on ``main``,
head on ``change``).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).parent
_SECTION = re.compile(r"^-- (base|head|both)/(.+?) --$", re.MULTILINE)
_EXPECTED = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+) (?P<rule>\S+)$")
GIT_IDENTITY = (
    "-c",
    "user.name=Corpus",
    "-c",
    "user.email=corpus@example.com",
    "-c",
    "commit.gpgsign=false",
)


@dataclass(frozen=True)
class Case:
    """One commit: the trees on both sides and the new findings it brings."""

    name: str
    shape: str
    base: dict[str, str]
    head: dict[str, str]
    new: frozenset[tuple[str, int, str]] = field(default_factory=frozenset)


def load(path: Path) -> Case:
    text = path.read_text(encoding="utf-8")
    first = _SECTION.search(text)
    header = text[: first.start()] if first else text
    meta: dict[str, list[str]] = {}
    for line in header.splitlines():
        key, _, value = line.removeprefix("#").partition(":")
        if line.startswith("#") and value:
            meta.setdefault(key.strip(), []).append(value.strip())
    base: dict[str, str] = {}
    head: dict[str, str] = {}
    sections = list(_SECTION.finditer(text))
    for number, match in enumerate(sections):
        end = sections[number + 1].start() if number + 1 < len(sections) else len(text)
        body = text[match.end() + 1 : end]
        side, name = match.group(1), match.group(2)
        if side in ("base", "both"):
            base[name] = body
        if side in ("head", "both"):
            head[name] = body
    return Case(path.stem, " ".join(meta.get("shape", [])), base, head, _expected(meta))


def _expected(meta: dict[str, list[str]]) -> frozenset[tuple[str, int, str]]:
    found = set()
    for entry in meta.get("new", []):
        if entry == "none":
            continue
        match = _EXPECTED.match(entry)
        if match is None:
            raise ValueError(f"cannot read expected finding {entry!r}")
        found.add((match["path"], int(match["line"]), match["rule"]))
    return frozenset(found)


def cases() -> list[Case]:
    return [load(path) for path in sorted(CORPUS.glob("*.txt"))]


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return proc.stdout


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def build(case: Case, root: Path, *, commit_head: bool = True) -> Path:
    """A repository at ``root``: the base committed on ``main``, the head on ``change``
    (left uncommitted in the working tree when ``commit_head`` is false)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    _write(root, case.base)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", "base")
    git(root, "checkout", "-q", "-b", "change")
    for path in set(case.base) - set(case.head):
        (root / path).unlink()
    _write(root, case.head)
    if commit_head:
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", "change")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes (git's own files aside), to show nothing was rewritten."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }
