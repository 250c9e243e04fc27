"""Gitignore-style path patterns, as CODEOWNERS files and the agent roster use them."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# "**/" (any number of leading directories), "/**" (everything below), "**", "*", "?",
# a character class, or one literal character.
_TOKEN = re.compile(r"\*\*/|/\*\*$|\*\*|\*|\?|\[[^\]]*\]|.", re.DOTALL)


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex matching relative POSIX paths the way gitignore and CODEOWNERS do.

    A pattern with a slash before its end is anchored at the root; one without a slash
    matches at any depth. A pattern ending in ``/`` matches only what lies below that
    directory; a pattern whose last segment is plain (``docs``) also matches everything
    below such a directory, while a wildcard segment does not reach deeper: ``docs/*``
    matches ``docs/a.md`` but not ``docs/deep/a.md``, as GitHub documents for CODEOWNERS.
    """
    directory_only = pattern.endswith("/")
    body = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in body
    prefix = "" if anchored or body.startswith("**/") else "(?:.*/)?"
    plain_last = not re.search(r"[*?\[]", body.rsplit("/", 1)[-1])
    tail = "/.*" if directory_only else "(?:/.*)?" if plain_last else ""
    return re.compile(f"^{prefix}{_translate(body)}{tail}$", re.DOTALL)


_WILDCARDS = {"**/": "(?:.*/)?", "/**": "/.*", "**": ".*", "*": "[^/]*", "?": "[^/]"}


def _translate(body: str) -> str:
    parts: list[str] = []
    for piece in _TOKEN.findall(body):
        if piece in _WILDCARDS:
            parts.append(_WILDCARDS[piece])
        elif piece.startswith("[") and len(piece) > 2:
            inner = piece[1:-1]
            parts.append("[" + ("^" + inner[1:] if inner.startswith("!") else inner) + "]")
        else:
            parts.append(re.escape(piece))
    return "".join(parts)


def matches(pattern: str, path: str) -> bool:
    """Whether ``path`` (relative, POSIX) matches the gitignore-style ``pattern``."""
    return compile_glob(pattern).match(path) is not None


def specificity(pattern: str) -> int:
    """How narrow a pattern is: its count of literal characters (``**/*`` is 1)."""
    return len(re.sub(r"[*?]", "", pattern))


def best_match(patterns: Iterable[str], path: str) -> str | None:
    """The most specific of ``patterns`` matching ``path``, or None."""
    found = [pattern for pattern in patterns if matches(pattern, path)]
    return max(found, key=specificity, default=None)
