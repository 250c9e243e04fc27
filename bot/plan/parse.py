"""Reads an issue body into plan items: its task list, else its sections.

An explicit task list is honoured item by item: checkboxes (``- [ ]``, ``- [x]``,
``* [ ]``) when there are any, else numbered items (``1.`` / ``1)``), else plain bullets
that read as work (under a heading such as "Tasks" or "Proposal", or bullets that start
with a verb). Items under a background heading (context, steps to reproduce, expected
behaviour, acceptance criteria...) are left out, except checkboxes when there are no
others. An issue that describes a problem (``descriptive``: a bug, a vulnerability, a
slowdown) takes lists only from task headings, since its numbered lines are usually
steps to reproduce. Lines indented under an item belong to it. Without a list, each
``##`` section (else each ``###`` section) that is not background becomes an item.
Code blocks and HTML comments (issue templates leave many) are ignored. An item that
is only a link to another issue ("#12", "owner/repo#12", an issue URL) is a linked
issue, not a task.

Numbers in the text ("after 2") refer to items: by the number written in front of
them when every numbered item has its own number, else by position (1-based).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.plan.model import PlanSource, Priority

_COMMENT_OPEN = "<!--"
_COMMENT_CLOSE = "-->"
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
# Item text is ``\s+(\S.*)`` and trailing space is cut in Python: ``\s+(.*\S)\s*$``
# backtracks quadratically on a line that ends in a long run of spaces.
_CHECKBOX = re.compile(r"(\s*)(?:[-*+]|\d{1,3}[.)])\s+\[([ xX])\]\s+(\S.*)$")
_NUMBERED = re.compile(r"(\s*)(\d{1,3})[.)]\s+(\S.*)$")
_BULLET = re.compile(r"(\s*)[-*+]\s+(?!\[[ xX]\]\s)(\S.*)$")
_QUOTED = re.compile(r"\s{0,3}>")
# "**To Reproduce**" alone on a line: templates use bold lines as headings.
_BOLD_HEADING = re.compile(r"\s{0,3}(\*\*|__)([^*_\n]{1,80}?):?\1:?\s{0,3}")
# Section headings that are a template's prompt; the section's first sentence is the ask.
_PROMPT = re.compile(
    r"(?:describe|what|how|is your|is there|would|could|please|proposed|suggested|possible)\b"
    r"|.{0,120}\?\s{0,3}$",
    re.IGNORECASE,
)
_FIRST_SENTENCE = re.compile(r"[^\n.!?]{3,200}")
_LINK_ONLY = re.compile(
    r"(?:[\w.-]{1,100}/[\w.-]{1,100})?#(\d{1,9})|"
    r"\[[^\]]{0,300}\]\((https?://[^\s)]{1,500})\)|"
    r"(https?://\S{1,500})"
)
_ISSUE_URL = re.compile(
    r"https?://github\.com/[\w.-]{1,100}/[\w.-]{1,100}/(?:issues|pull)/(\d{1,9})"
)
# The heading text is the rest of the line; its closing "#"s are cut in Python, since
# a lazy ``(.*?)[\s#]*$`` backtracks quadratically on a long line of spaces.
_HEADING_OPEN = re.compile(r"\s{0,3}(#{1,6})(?:\s(.*))?$")
_LIST_LINE = re.compile(r"\s*(?:[-*+]|\d{1,3}[.)])\s")
# Sections that describe rather than ask for work; never turned into tasks.
_BACKGROUND = re.compile(
    r"^(?:background|context|motivation|summary|description|overview|problem|why|notes?|"
    r"references?|links?|related(?: issues?)?|screenshots?|environment|versions?|logs?|"
    r"steps to reproduce|reproduction(?: steps)?|to reproduce|expected(?: behaviou?r)?|"
    r"actual(?: behaviou?r)?|current behaviou?r|additional (?:context|information|notes)|"
    r"alternatives(?: considered)?|acceptance criteria|open questions|out of scope|"
    r"non-goals|questions|describe the bug|bug description|what happened|example(?: code)?|"
    r"(?:minimal )?(?:reproducible )?example|mcve|code sample|sample code|"
    r"(?:python|os|operating system|platform|library|package|\w{1,30}) versions?|"
    r"system info(?:rmation)?|output|error(?: message)?|traceback|stack ?trace|"
    r"installation|dependencies|affected versions?|prior art|"
    r"is your feature request related to a problem|describe alternatives you've considered|"
    r"checklist|initial checks|confirmations?|privileged issue|pre-?flight|feature request|"
    r"bug report|why it needs to (?:get |be )?done)\b",
    re.IGNORECASE,
)
# Headings under which lists are work even in an issue that describes a problem.
_TASK_HEADING = re.compile(
    r"^(?:tasks?|to-?dos?|to do|plan|work items?|deliverables?|implementation(?: plan)?|"
    r"(?:proposed |suggested )?(?:changes?|solutions?|fix(?:es)?)|proposal|scope|"
    r"requirements?|action items?|next steps|milestones?|phases?|steps(?! to reproduce)|"
    r"what to (?:do|build|change)|what needs to (?:get |be )?done|sub-?tasks?|subissues|"
    r"sub-issues)\b",
    re.IGNORECASE,
)
# First words of bullets that ask for work.
_VERBS = frozenset((
    "add", "allow", "avoid", "build", "bump", "cache", "change", "check", "clean",
    "convert", "create", "define", "deprecate", "design", "disable", "document", "drop",
    "enable", "ensure", "expose", "extract", "fix", "handle", "implement", "improve",
    "introduce", "investigate", "make", "merge", "migrate", "move", "plan", "port",
    "prevent", "provide", "publish", "raise", "reduce", "refactor", "release", "remove",
    "rename", "replace", "return", "rewrite", "set", "ship", "speed", "split", "support",
    "switch", "test", "update", "upgrade", "use", "validate", "write",
))  # fmt: skip


@dataclass(frozen=True)
class Item:
    """One task candidate: its first line (markers included) and what is nested under it."""

    number: int
    text: str
    details: str = ""
    checked: bool = False
    section: str | None = None
    # Set on items the planner adds itself (a kind's skeleton): who does it, how urgent,
    # the files research suggests, which items it waits for, and why it was added.
    agent: str | None = None
    priority: Priority | None = None
    files: tuple[str, ...] = ()
    waits: tuple[int, ...] = ()
    note: str | None = None
    ordered: bool = False  # ``waits`` is the whole order (no default order applies)
    assign_text: str | None = None  # what the specialist is chosen on, when not the text
    whole_issue: bool = False  # about the whole issue (a skeleton's core task), not a part


@dataclass(frozen=True)
class ParsedIssue:
    """The items, the issues linked as items, the headings and the prose (visible text
    outside lists, code and background sections) of an issue body."""

    source: PlanSource
    items: tuple[Item, ...]
    linked: tuple[str, ...] = ()
    headings: tuple[str, ...] = ()
    prose: str = ""


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


def parse_issue(body: str, *, descriptive: bool = False) -> ParsedIssue:
    """Items of an issue body, and whether they came from a list or from sections."""
    lines = _visible_lines(body)
    headings = tuple(dict.fromkeys(line.section for line in lines if line and line.section))
    found = _list_source(lines, descriptive)
    source, items = found if found else (PlanSource.FALLBACK, [])
    if not items and not descriptive:
        sections = _sections(lines, 2) or _sections(lines, 3)
        if sections:
            return ParsedIssue(PlanSource.SECTIONS, sections, (), headings, _prose(lines))
    linked = tuple(link for draft in items if (link := linked_issue(draft.text)))
    work = [draft for draft in items if not linked_issue(draft.text)]
    return ParsedIssue(source, _finish(work), linked, headings, _prose(lines))


def _list_source(
    lines: list[_Line | None], descriptive: bool
) -> tuple[PlanSource, list[_Draft]] | None:
    checkboxes = _list_items(lines, _CHECKBOX)
    if checkboxes:
        # Acceptance criteria are often checkboxes too; they are tasks only when
        # nothing else is.
        return PlanSource.TASK_LIST, _outside_background(checkboxes) or checkboxes
    for pattern in (_NUMBERED, _BULLET):
        drafts = _outside_background(_list_items(lines, pattern))
        if descriptive:
            drafts = [d for d in drafts if d.section and _TASK_HEADING.match(d.section)]
        elif pattern is _BULLET:
            drafts = _work_bullets(drafts)
        if drafts:
            return PlanSource.TASK_LIST, drafts
    return None


def _work_bullets(drafts: list[_Draft]) -> list[_Draft]:
    """Bullets under a task heading, or a list whose items mostly start with a verb."""
    listed = [d for d in drafts if d.section and _TASK_HEADING.match(d.section)]
    if listed:
        return listed
    verbs = [d for d in drafts if _first_word(d.text) in _VERBS or linked_issue(d.text)]
    return drafts if len(drafts) >= 2 and 2 * len(verbs) > len(drafts) else []


def _first_word(text: str) -> str:
    word = text.lstrip("*_`~ ").split(" ", 1)[0]
    return word.strip("*_`~:,.").lower()


def linked_issue(text: str) -> str | None:
    """``#12`` for an item that is only a link to issue 12 (or another repository's
    issue, or a URL); None for an item with words of its own."""
    stripped = text.strip().strip("*_`~").strip()
    match = _LINK_ONLY.fullmatch(stripped) if len(stripped) <= 700 else None
    if match is None:
        return None
    if match.group(1):
        return stripped
    url = match.group(2) or match.group(3) or ""
    issue = _ISSUE_URL.match(url)
    if issue is None:
        return None
    return url


def _prose(lines: list[_Line | None]) -> str:
    kept = []
    for line in lines:
        if line is None or (line.section and _BACKGROUND.match(line.section)):
            continue
        text = line.text
        if parse_heading(text) or _QUOTED.match(text) or _LIST_LINE.match(text):
            continue
        kept.append(text)
    return "\n".join(kept)


def _outside_background(drafts: list[_Draft]) -> list[_Draft]:
    return [d for d in drafts if not (d.section and _BACKGROUND.match(d.section))]


def _visible_lines(body: str) -> list[_Line | None]:
    """Lines outside code blocks and HTML comments; None stands for a hidden line."""
    result: list[_Line | None] = []
    fence: str | None = None
    section: str | None = None
    for text in strip_comments(body).splitlines():
        if not text or text.isspace():
            result.append(None if fence is not None else _Line(text, section))
            continue
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
        bold = _BOLD_HEADING.fullmatch(text)
        if heading:
            section = heading[1]
        elif bold:
            section = bold.group(2).strip()
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
    lead: str | None = None
    for line in lines:
        if line is None:
            continue
        match = pattern.match(line.text)
        if match and (current is None or len(match.group(1)) <= current.indent):
            current = _draft(match, pattern, line.section)
            if lead and pattern is not _CHECKBOX:
                current.text = f"{lead}: {current.text}"
            drafts.append(current)
        elif current is not None and _continues(line.text, current.indent):
            current.details.append(line.text.strip())
        elif line.text.strip():
            current = None
            lead = _lead_in(line.text)
    outermost = min((draft.indent for draft in drafts), default=0)
    return [draft for draft in drafts if draft.indent == outermost]


def _lead_in(text: str) -> str | None:
    """ "Migrate to v2:" before a list of nouns: the verb phrase each item completes."""
    stripped = text.strip()
    if not stripped.endswith(":") or len(stripped) > 80 or _LIST_LINE.match(text):
        return None
    phrase = stripped.rstrip(":").strip()
    return phrase if _first_word(phrase) in _VERBS else None


def _draft(match: re.Match[str], pattern: re.Pattern[str], section: str | None) -> _Draft:
    indent = len(match.group(1))
    if pattern is _CHECKBOX:
        return _Draft(indent, None, match.group(3).rstrip(), match.group(2) != " ", section)
    if pattern is _BULLET:
        return _Draft(indent, None, match.group(2).rstrip(), False, section)
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


def _section_task(title: str, body: str) -> str | None:
    """The task a section asks for: its heading, or for a template's prompt ("Describe
    the solution you'd like") the first sentence written under it."""
    if _BACKGROUND.match(title):
        return None
    if not _PROMPT.match(title):
        return title
    for line in body.splitlines():
        if line.strip() and not _LIST_LINE.match(line) and not line.lstrip().startswith(">"):
            sentence = _FIRST_SENTENCE.search(line)
            return sentence.group(0).strip() if sentence else None
    return None


def _sections(lines: list[_Line | None], level: int) -> tuple[Item, ...]:
    items: list[Item] = []
    body: list[str] = []
    title: str | None = None
    for line in [*lines, _Line("#" * level + " ", None)]:
        if line is None:
            continue
        heading = parse_heading(line.text)
        if heading and heading[0] <= level:
            text = _section_task(title, "\n".join(body).strip()) if title else None
            if text and title:
                items.append(Item(len(items) + 1, text, "\n".join(body).strip(), False, title))
            title, body = (heading[1] if heading[0] == level else None), []
        elif title is not None:
            body.append(line.text)
    return tuple(items)
