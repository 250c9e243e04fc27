"""Reads an issue body into plan items: its task list, else its sections.

An explicit task list is honoured item by item: checkboxes (``- [ ]``, ``- [x]``,
``* [ ]``) when there are any, else numbered items (``1.`` / ``1)``). Items under a
background heading (context, steps to reproduce, expected behaviour, acceptance
criteria...) are left out, except checkboxes when there are no others. Lines indented
under an item belong to it. Without a list, each ``##`` section that is not
background (context, motivation, screenshots...) becomes an item. Code blocks and HTML
comments (issue templates leave many) are ignored.

Numbers in the text ("after 2") refer to items: by the number written in front of
them when every numbered item has its own number, else by position (1-based).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.plan.model import PlanSource

_COMMENT_OPEN = "<!--"
_COMMENT_CLOSE = "-->"
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
# Item text is ``\s+(\S.*)`` and trailing space is cut in Python: ``\s+(.*\S)\s*$``
# backtracks quadratically on a line that ends in a long run of spaces.
_CHECKBOX = re.compile(r"(\s*)(?:[-*+]|\d{1,3}[.)])\s+\[([ xX])\]\s+(\S.*)$")
_NUMBERED = re.compile(r"(\s*)(\d{1,3})[.)]\s+(\S.*)$")
# The heading text is the rest of the line; its closing "#"s are cut in Python, since
# a lazy ``(.*?)[\s#]*$`` backtracks quadratically on a long line of spaces.
_HEADING_OPEN = re.compile(r"\s{0,3}(#{1,6})(?:\s(.*))?$")
# Sections that describe rather than ask for work; never turned into tasks.
_BACKGROUND = re.compile(
    r"^(?:background|context|motivation|summary|description|overview|problem|why|notes?|"
    r"references?|links?|related(?: issues?)?|screenshots?|environment|versions?|logs?|"
    r"steps to reproduce|reproduction(?: steps)?|to reproduce|expected(?: behaviou?r)?|"
    r"actual(?: behaviou?r)?|current behaviou?r|additional (?:context|information|notes)|"
    r"alternatives(?: considered)?|acceptance criteria|open questions|out of scope|"
    r"non-goals|questions)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Item:
    """One task candidate: its first line (markers included) and what is nested under it."""

    number: int
    text: str
    details: str = ""
    checked: bool = False
    section: str | None = None


@dataclass(frozen=True)
class ParsedIssue:
    source: PlanSource
    items: tuple[Item, ...]


@dataclass
class _Line:
    text: str
    section: str | None


@dataclass
class _Draft:
    indent: int
    written: int | None
    text: str
    checked: bool
    section: str | None
    details: list[str] = field(default_factory=list)


def parse_issue(body: str) -> ParsedIssue:
    """Items of an issue body, and whether they came from a list or from sections."""
    lines = _visible_lines(body)
    checkboxes = _list_items(lines, _CHECKBOX)
    if checkboxes:
        # Acceptance criteria are often checkboxes too; they are tasks only when
        # nothing else is.
        return ParsedIssue(
            PlanSource.TASK_LIST, _finish(_outside_background(checkboxes) or checkboxes)
        )
    numbered = _outside_background(_list_items(lines, _NUMBERED))
    if numbered:
        return ParsedIssue(PlanSource.TASK_LIST, _finish(numbered))
    sections = _sections(lines)
    if sections:
        return ParsedIssue(PlanSource.SECTIONS, sections)
    return ParsedIssue(PlanSource.FALLBACK, ())


def _outside_background(drafts: list[_Draft]) -> list[_Draft]:
    return [d for d in drafts if not (d.section and _BACKGROUND.match(d.section))]


def _visible_lines(body: str) -> list[_Line | None]:
    """Lines outside code blocks and HTML comments; None stands for a hidden line."""
    result: list[_Line | None] = []
    fence: str | None = None
    section: str | None = None
    for text in strip_comments(body).splitlines():
        opening = _FENCE.match(text)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            result.append(None)
            continue
        if opening:
            fence = opening.group(1)
            result.append(None)
            continue
        heading = parse_heading(text)
        if heading:
            section = heading[1]
        result.append(_Line(text, section))
    return result


def strip_comments(text: str) -> str:
    """``text`` without HTML comments, scanned once with ``str.find``.

    A comment left open hides the rest of the text when it starts a line (GitHub's
    Markdown then treats the rest as one HTML block); elsewhere it stays as text.
    """
    kept: list[str] = []
    position = 0
    while (start := text.find(_COMMENT_OPEN, position)) >= 0:
        end = text.find(_COMMENT_CLOSE, start + len(_COMMENT_OPEN))
        if end < 0:
            line_start = text.rfind("\n", 0, start) + 1
            if text[line_start:start].strip(" "):
                break
            kept.append(text[position:start])
            return "".join(kept)
        kept.append(text[position:start])
        position = end + len(_COMMENT_CLOSE)
    kept.append(text[position:])
    return "".join(kept)


def parse_heading(line: str) -> tuple[int, str] | None:
    """A Markdown ATX heading's level and text (closing ``#``s cut), or None."""
    match = _HEADING_OPEN.match(line)
    if match is None:
        return None
    text = match.group(2) or ""
    end = len(text)
    while end and (text[end - 1] == "#" or text[end - 1].isspace()):
        end -= 1
    return len(match.group(1)), text[:end].strip()


def _list_items(lines: list[_Line | None], pattern: re.Pattern[str]) -> list[_Draft]:
    drafts: list[_Draft] = []
    current: _Draft | None = None
    for line in lines:
        if line is None:
            continue
        match = pattern.match(line.text)
        if match and (current is None or len(match.group(1)) <= current.indent):
            current = _draft(match, pattern, line.section)
            drafts.append(current)
        elif current is not None and _continues(line.text, current.indent):
            current.details.append(line.text.strip())
        elif line.text.strip():
            current = None
    outermost = min((draft.indent for draft in drafts), default=0)
    return [draft for draft in drafts if draft.indent == outermost]


def _draft(match: re.Match[str], pattern: re.Pattern[str], section: str | None) -> _Draft:
    indent = len(match.group(1))
    if pattern is _CHECKBOX:
        return _Draft(indent, None, match.group(3).rstrip(), match.group(2) != " ", section)
    return _Draft(indent, int(match.group(2)), match.group(3).rstrip(), False, section)


def _continues(text: str, indent: int) -> bool:
    """Whether a line belongs to the item above it (indented deeper, or blank)."""
    if not text.strip():
        return True
    stripped = len(text) - len(text.lstrip())
    return stripped > indent and parse_heading(text) is None


def _finish(drafts: list[_Draft]) -> tuple[Item, ...]:
    written = [draft.written for draft in drafts]
    use_written = all(number is not None for number in written) and len(set(written)) == len(
        written
    )
    return tuple(
        Item(
            number=(draft.written or position) if use_written else position,
            text=draft.text,
            details="\n".join(draft.details).strip(),
            checked=draft.checked,
            section=draft.section,
        )
        for position, draft in enumerate(drafts, start=1)
    )


def _sections(lines: list[_Line | None]) -> tuple[Item, ...]:
    items: list[Item] = []
    body: list[str] = []
    title: str | None = None
    for line in [*lines, _Line("## ", None)]:
        if line is None:
            continue
        heading = parse_heading(line.text)
        if heading and heading[0] == 2:
            if title and not _BACKGROUND.match(title):
                items.append(Item(len(items) + 1, title, "\n".join(body).strip(), False, title))
            title, body = heading[1], []
        elif title is not None:
            body.append(line.text)
    return tuple(items)
