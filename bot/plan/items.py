"""Decides what an issue asks for: its own items, else its asks in prose, else a skeleton.

In order: template text is dropped (the repository's issue templates and common
confirmations); the issue is classified; its task list, numbered or bulleted list or
sections are read (an issue describing a problem takes lists only from task headings);
without any, the sentences that ask for work ("we should ...") become items, with a
security task when the text has security needs none of them covers; without those,
the kind's skeleton (see bot.plan.skeletons). An open issue whose items are all ticked
still has work left, so the skeleton is added after them. The title loses its priority
markers, which set the issue's own priority.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from agents.research.model import Findings
from bot.plan import templates
from bot.plan.model import IssueInput, PlanSource, Priority
from bot.plan.parse import Item, ParsedIssue, parse_issue
from bot.plan.priority import PriorityDecision, decide_priority
from bot.plan.reading import (
    IssueKind,
    KindDecision,
    asks,
    classify,
    is_template_line,
    kind_priority,
    strip_template,
    template_lines,
)
from bot.plan.skeletons import ASPECTS, DOCS, TESTER, clause_around, skeleton
from bot.plan.titles import clean_title

# Kinds whose body describes rather than lists: only lists under task headings count.
DESCRIPTIVE = frozenset(
    {IssueKind.BUG, IssueKind.SECURITY, IssueKind.PERFORMANCE, IssueKind.DOCS, IssueKind.REFACTOR}
)
# Tags some projects put in front of titles ("[BUG] ...", "Feature request: ...").
_TITLE_TAG = re.compile(
    r"\s{0,3}(?:\[(?:bug|feature|feature request|question|docs?|enhancement|proposal|rfc|"
    r"idea)\]|(?:bug|feature(?: request)?|enhancement|proposal|rfc)\s{0,3}:)\s{0,3}",
    re.IGNORECASE,
)
_MAX_ASKS = 12
_TRACKER_ITEMS = 5


@dataclass(frozen=True)
class Reading:
    """What the planner makes of an issue before assigning anyone."""

    title: str
    title_spans: tuple[tuple[int, int], ...]
    kind: KindDecision
    source: PlanSource
    items: tuple[Item, ...]
    linked: tuple[str, ...]
    # The issue's own priority (a marker in its title, or a priority label), if any. A
    # label speaks for every task; a title marker for the tasks on the title's topic.
    priority: PriorityDecision | None
    priority_from_label: bool = False
    # What the kind implies when neither the issue nor the task sets a priority.
    kind_priority: PriorityDecision | None = None


def read(issue: IssueInput, findings: Findings, roster: Sequence[str]) -> Reading:
    known = template_lines(issue.templates)
    body = strip_template(issue.body, known)
    marked = decide_priority(issue.title, "", ())
    level = decide_priority(issue.title, "", issue.labels)
    priority = level if level.reason != templates.PRIORITY_NONE else None
    title = clean_title(issue.title, marked.spans) or issue.title.strip()
    title = _TITLE_TAG.sub("", title, count=1) if _TITLE_TAG.match(title) else title
    title = title or issue.title.strip()
    first = parse_issue(body)
    listed = first.source is PlanSource.TASK_LIST and any(
        not is_template_line(item.text, known) for item in first.items
    )
    kind = classify(
        title, body, issue.labels, first.headings, tracker=_tracker(first), listed=listed
    )
    parsed = parse_issue(body, descriptive=True) if kind.kind in DESCRIPTIVE else first
    items = [item for item in parsed.items if not is_template_line(item.text, known)]
    source = parsed.source if items else PlanSource.FALLBACK
    if not items and kind.kind not in DESCRIPTIVE:
        items = _from_asks(parsed, title, findings)
        source = PlanSource.PROSE if items else source
    if not items:
        items = skeleton(kind.kind, title, parsed.prose, findings, roster)
    elif all(item.checked for item in items):
        extra = skeleton(kind.kind, title, parsed.prose, findings, roster)
        items = [*items, *_after(items, extra, templates.REASON_ALL_TICKED)]
    return Reading(
        title=title,
        title_spans=marked.spans,
        kind=kind,
        source=source,
        items=tuple(items),
        linked=parsed.linked,
        priority=priority,
        priority_from_label=priority is not None and not marked.spans and level != marked,
        kind_priority=_kind_priority(kind.kind, title, body),
    )


def _kind_priority(kind: IssueKind, title: str, body: str) -> PriorityDecision | None:
    found = kind_priority(kind, title, body)
    return PriorityDecision(Priority(found[0]), found[1]) if found else None


def _tracker(parsed: ParsedIssue) -> bool:
    """Three or more items linking other work, or five or more with some ticked: a
    list that tracks work (a short feature list with one box ticked does not)."""
    items = parsed.items
    if len(items) + len(parsed.linked) < 3 or parsed.source is not PlanSource.TASK_LIST:
        return False
    links = sum(1 for item in items if "/pull/" in item.text or "/issues/" in item.text)
    ticked = len(items) >= _TRACKER_ITEMS and any(item.checked for item in items)
    return bool(parsed.linked) or links > 0 or ticked


def _from_asks(parsed: ParsedIssue, title: str, findings: Findings) -> list[Item]:
    """The sentences that ask for work, plus a task for each aspect of the text (an API,
    data, security needs, a user interface) that none of them covers, then tests."""
    found = [Item(n, text) for n, text in enumerate(asks(parsed.prose)[:_MAX_ASKS], start=1)]
    if not found:
        return []
    text = f"{title}\n{parsed.prose}"
    for aspect in ASPECTS:
        what = clause_around(aspect.pattern, text)
        if what and not any(aspect.pattern.search(item.text) for item in found):
            found.append(
                Item(
                    len(found) + 1,
                    aspect.title.format(what=what),
                    agent=aspect.agent,
                    priority=aspect.priority,
                    note=templates.REASON_ASPECT,
                )
            )
    if findings.docs and not any("doc" in item.text.lower() for item in found):
        found.append(
            Item(
                len(found) + 1,
                templates.FEATURE_DOCS.format(where="", title=title),
                agent=DOCS,
                note=templates.REASON_ADDED_DOCS,
            )
        )
    framework = findings.profile.test_framework
    if framework and not any("test" in item.text.lower() for item in found):
        found.append(
            Item(
                len(found) + 1,
                templates.FEATURE_TEST.format(where="", title=title),
                agent=TESTER,
                note=templates.REASON_ADDED_TESTS.format(framework=framework),
            )
        )
    return found


def _after(items: Sequence[Item], extra: Sequence[Item], note: str) -> list[Item]:
    """``extra`` renumbered to follow ``items`` (their waits follow along)."""
    offset = max((item.number for item in items), default=0)
    return [
        replace(
            item,
            number=item.number + offset,
            waits=tuple(n + offset for n in item.waits),
            note=note,
        )
        for item in extra
    ]
