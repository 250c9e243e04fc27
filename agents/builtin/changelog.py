"""A CHANGELOG entry under "Unreleased", in the file's own style (pure).

Follows https://keepachangelog.com/en/1.1.0/: an ``Unreleased`` section on top, change
kinds as subsections in the order Added, Changed, Deprecated, Removed, Fixed, Security.
The section is created when missing (bracketed like the file's version headings, at
their level, before the newest one, with a compare link when the file keeps them); the
bullet marker is the one the file uses. An entry for the same issue is never added twice.
"""

from __future__ import annotations

import re

KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
_I = re.IGNORECASE
# Most specific first: a security fix is Security, not Fixed.
_KIND_WORDS = (
    ("Security", re.compile(r"\bsecurity\b|\bvulnerab|\bcve-|\bharden", _I)),
    ("Deprecated", re.compile(r"\bdeprecat", _I)),
    ("Removed", re.compile(r"\b(remove|drop|delete)[sd]?\b", _I)),
    ("Fixed", re.compile(r"\b(fix(es|ed)?|bug|crash|error|broken|regression)\b", _I)),
    ("Added", re.compile(r"\b(add(s|ed)?|new|introduce[sd]?|support|implement)\b", _I)),
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_UNRELEASED = re.compile(r"^\[?unreleased\]?", _I)
_BULLET = re.compile(r"^([-*+])\s")
_LINK = re.compile(r"^\[([^\]]+)\]:\s*(\S+)\s*$")
_COMPARE = re.compile(
    r"^(?P<base>.+?)/(?:compare/(?:[^/]*\.\.\.)?|releases/tag/)(?P<tag>[^/.][^/]*)$"
)


def kind_of(text: str) -> str:
    """The keepachangelog kind a change described by ``text`` belongs to."""
    for kind, words in _KIND_WORDS:
        if words.search(text):
            return kind
    return "Changed"


def has_entry(text: str, issue: int) -> bool:
    """Whether the Unreleased section already mentions ``#issue``."""
    lines = text.splitlines()
    start, end = _unreleased(lines)
    if start is None:
        return False
    mention = re.compile(rf"#{issue}(?!\d)")
    return any(mention.search(line) for line in lines[start:end])


def add_entry(text: str, entry: str, kind: str) -> str:
    """``text`` with ``entry`` as a bullet under Unreleased, subsection ``kind``."""
    lines = text.splitlines()
    newline = "\r\n" if "\r\n" in text else "\n"
    start, end = _unreleased(lines)
    if start is None:
        lines, start, end = _with_unreleased(lines)
    level = _heading(lines[start])[0] + 1
    lines = _insert_entry(lines, start, end, level, kind, f"{_bullet(lines)} {entry}")
    return newline.join(lines).rstrip() + newline


def _heading(line: str) -> tuple[int, str]:
    """(level, title) of a Markdown heading; (0, "") for any other line."""
    match = _HEADING.match(line)
    return (len(match.group(1)), match.group(2)) if match else (0, "")


def _unreleased(lines: list[str]) -> tuple[int | None, int]:
    """(heading index, end index) of the Unreleased section, or (None, 0)."""
    for index, line in enumerate(lines):
        level, title = _heading(line)
        if level and _UNRELEASED.match(title):
            return index, _section_end(lines, index, level)
    return None, 0


def _section_end(lines: list[str], start: int, level: int) -> int:
    for index in range(start + 1, len(lines)):
        depth = _heading(lines[index])[0]
        if (depth and depth <= level) or _LINK.match(lines[index]):
            return index
    return len(lines)


def _with_unreleased(lines: list[str]) -> tuple[list[str], int, int]:
    """Add an empty Unreleased section before the newest version; its (start, end)."""
    versions = [i for i, line in enumerate(lines) if _is_version(line)]
    if versions:
        at = versions[0]
        level, title = _heading(lines[at])
        bracketed = title.startswith("[")
        section = [f"{'#' * level} {'[Unreleased]' if bracketed else 'Unreleased'}", ""]
    else:
        at = len(lines)
        while at and not lines[at - 1].strip():
            at -= 1
        bracketed = True
        section = ["", "## [Unreleased]", ""] if at else ["## [Unreleased]", ""]
    lines = [*lines[:at], *section, *lines[at:]]
    start = at + len(section) - 2
    if bracketed:
        lines = _compare_link(lines)
    return lines, start, start + 2


def _is_version(line: str) -> bool:
    level, title = _heading(line)
    return level > 0 and re.match(r"^\[?v?\d", title) is not None


def _compare_link(lines: list[str]) -> list[str]:
    """Add ``[Unreleased]: …/compare/<newest tag>...HEAD`` when the file keeps such links."""
    links = [(index, _LINK.match(line)) for index, line in enumerate(lines)]
    found = [(index, match) for index, match in links if match is not None]
    if not found or any(match.group(1).lower() == "unreleased" for _, match in found):
        return lines
    index, match = found[0]
    compare = _COMPARE.match(match.group(2))
    if compare is None:
        return lines
    link = f"[Unreleased]: {compare.group('base')}/compare/{compare.group('tag')}...HEAD"
    return [*lines[:index], link, *lines[index:]]


def _bullet(lines: list[str]) -> str:
    for line in lines:
        match = _BULLET.match(line)
        if match:
            return match.group(1)
    return "-"


def _insert_entry(
    lines: list[str], start: int, end: int, level: int, kind: str, bullet: str
) -> list[str]:
    subsections = {
        _heading(lines[i])[1].strip().lower(): i
        for i in range(start + 1, end)
        if _heading(lines[i])[0] == level
    }
    if kind.lower() in subsections:
        at = _last_content(lines, subsections[kind.lower()], end) + 1
        return [*lines[:at], bullet, *lines[at:]]
    later = [i for name, i in subsections.items() if _rank(name) > _rank(kind.lower())]
    at = min(later) if later else _last_content(lines, start, end) + 1
    block = [f"{'#' * level} {kind}", "", bullet, ""]
    if lines[at - 1].strip():
        block = ["", *block]
    if at < len(lines) and not lines[at].strip():
        block = block[:-1]
    return [*lines[:at], *block, *lines[at:]]


def _last_content(lines: list[str], start: int, end: int) -> int:
    """The last non-blank line of the section headed at ``start`` (before ``end``)."""
    level = _heading(lines[start])[0]
    last = start
    for index in range(start + 1, end):
        depth = _heading(lines[index])[0]
        if depth and depth <= level:
            break
        if lines[index].strip():
            last = index
    return last


def _rank(name: str) -> int:
    lowered = [kind.lower() for kind in KINDS]
    return lowered.index(name) if name in lowered else len(KINDS)
