"""Task and plan titles without the markers the planner read out of them."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Each pattern can only start at the first character of a run (lookbehinds), so none
# backtracks over a long run more than once.
_EMPTY_BRACKETS = re.compile(r"\([\s,;:&]*\)|\[[\s,;:&]*\]")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<!\s)\s+([,;:.)\]])")
_STRAY_SEPARATOR = re.compile(r"(?<![,;:&])[,;:&]+(?=[)\]])|(?<=[,;])[,;]+")
_EDGE_PUNCTUATION = " \t,;:-|\u2013\u2014"  # also en and em dashes


def clean_title(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` without the marker spans, empty brackets and dangling punctuation."""
    kept = []
    position = 0
    for start, end in sorted(spans):
        if start >= position:
            kept.append(text[position:start])
            position = end
    kept.append(text[position:])
    title = _EMPTY_BRACKETS.sub("", _balance_parentheses("".join(kept)))
    title = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(title.split()))
    title = _EMPTY_BRACKETS.sub("", _STRAY_SEPARATOR.sub("", title))
    return " ".join(title.split()).strip(_EDGE_PUNCTUATION)


def _balance_parentheses(text: str) -> str:
    """Drop parentheses left unmatched once a marker inside them was cut out."""
    unmatched: set[int] = set()
    opened: list[int] = []
    for index, char in enumerate(text):
        if char == "(":
            opened.append(index)
        elif char == ")":
            if opened:
                opened.pop()
            else:
                unmatched.add(index)
    unmatched.update(opened)
    return "".join(char for index, char in enumerate(text) if index not in unmatched)
