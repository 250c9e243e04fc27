"""Refining a pull request: applying reviewers' suggested fixes to the head's files.

Pure: file texts and comments in, new texts and what was applied out. A suggestion
replaces exactly its comment's lines (``line``..``end_line``); suggestions on one file
apply from the bottom up so earlier ones keep their line numbers, and one overlapping
another already applied is skipped (the next refine sees the new text).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reviewers.model import Comment


@dataclass(frozen=True)
class Refined:
    """New texts by path, and the comments whose fixes went into them."""

    texts: dict[str, str]
    applied: tuple[Comment, ...]


def fixable(comments: Iterable[Comment]) -> list[Comment]:
    """Comments with a suggestion that replaces real lines."""
    return [c for c in comments if c.suggestion is not None and c.line >= 1]


def apply_suggestions(texts: dict[str, str], comments: Iterable[Comment]) -> Refined:
    """Apply every fixable comment's suggestion to ``texts`` (the head's files by path)."""
    by_path: dict[str, list[Comment]] = {}
    for comment in fixable(comments):
        if comment.path in texts:
            by_path.setdefault(comment.path, []).append(comment)
    changed: dict[str, str] = {}
    applied: list[Comment] = []
    for path, mine in sorted(by_path.items()):
        text, done = _apply_file(texts[path], mine)
        if done:
            changed[path] = text
            applied += done
    return Refined(changed, tuple(sorted(applied, key=lambda c: (c.path, c.line))))


def _apply_file(text: str, comments: list[Comment]) -> tuple[str, list[Comment]]:
    lines = text.splitlines(keepends=True)
    taken_from = len(lines) + 1  # first line of the lowest suggestion applied so far
    done: list[Comment] = []
    for comment in sorted(comments, key=lambda c: (c.line, c.end_line or c.line), reverse=True):
        end = comment.end_line or comment.line
        if end >= taken_from or end > len(lines):
            continue  # overlaps one already applied, or the file changed under it
        replacement = comment.suggestion or ""
        lines[comment.line - 1 : end] = replacement.splitlines(keepends=True)
        taken_from = comment.line
        done.append(comment)
    return "".join(lines), done
