"""Where things are: contract globs, and base lines carried over to the head file.

A removal has no line in the head file. It is shown where it used to be: its base line
carried through the diff to the head line now standing in its place (the first line
after the removed block, else the last one before it), so the annotation sits on the
diff hunk that removed it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from unidiff import PatchedFile, PatchSet

_BRACES = re.compile(r"\{([^{}]*)\}")


def matches(path: str, patterns: Iterable[str]) -> bool:
    """``path`` matches a glob: ``**/`` any directories, ``*`` and ``?`` within one, ``{a,b}``."""
    return any(_compiled(pattern).fullmatch(path) for pattern in patterns)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile("|".join(_translate(p) for p in _expand(pattern)))


def _expand(pattern: str) -> list[str]:
    found = _BRACES.search(pattern)
    if found is None:
        return [pattern]
    head, tail = pattern[: found.start()], pattern[found.end() :]
    return [x for option in found[1].split(",") for x in _expand(head + option + tail)]


def _translate(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def patched_file(patch: PatchSet, path: str) -> PatchedFile | None:
    """The diff of the file whose head path is ``path``."""
    for patched in patch:
        if patched.target_file in (f"b/{path}", path):
            return patched
    return None


def head_line(patched: PatchedFile | None, base_line: int) -> int:
    """The head line standing where ``base_line`` of the base file was (see module doc)."""
    if patched is None:
        return base_line
    shift = 0
    for hunk in patched:
        if base_line < hunk.source_start:
            break
        if base_line >= hunk.source_start + hunk.source_length:
            shift = (
                hunk.target_start + hunk.target_length - (hunk.source_start + hunk.source_length)
            )
            continue
        return _in_hunk(hunk, base_line)
    return max(1, base_line + shift)


def _in_hunk(hunk: Iterable[object], base_line: int) -> int:
    before: int | None = None
    passed = False
    for line in hunk:
        source = getattr(line, "source_line_no", None)
        target = getattr(line, "target_line_no", None)
        if passed and target is not None:
            return int(target)
        if source == base_line:
            if target is not None:
                return int(target)
            passed = True
        elif target is not None and not passed:
            before = int(target)
    return max(1, before or 1)
