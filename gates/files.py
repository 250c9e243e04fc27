"""Reads source files the way the tools number their lines (only ``\\n`` ends a line)."""

from __future__ import annotations

import re
from pathlib import Path

_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Lines with their endings; unlike ``str.splitlines`` a form feed does not split."""
    return _LINE.findall(text)


def read_lines(path: Path) -> list[str]:
    """The file's lines with endings; [] when it cannot be read."""
    try:
        return split_lines(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def relative(path: str, root: Path) -> str:
    """``path`` (absolute or relative to ``root``) as a repository path with '/'."""
    candidate = Path(path)
    if not candidate.is_absolute():
        return candidate.as_posix().removeprefix("./")
    for base in (root, root.resolve()):
        for target in (candidate, candidate.resolve()):
            if target.is_relative_to(base):
                return target.relative_to(base).as_posix()
    return candidate.as_posix()
