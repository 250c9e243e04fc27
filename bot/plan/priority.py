"""Decides a task's priority from its own markers, the issue's labels, then its words.

Order of precedence: an explicit marker on the task ("(high)", "[P0]", "priority:
low", "urgent", a trailing "!"), then the issue's priority label ("priority/high",
"P1"), then words in the task (security, crash, data loss -> high; docs, typo -> low),
else medium. P0 and P1 mean high, P2 medium, P3 and below low.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.plan import templates
from bot.plan.model import Priority

_NAMED = {
    "high": Priority.HIGH,
    "medium": Priority.MEDIUM,
    "low": Priority.LOW,
    "critical": Priority.HIGH,
    "urgent": Priority.HIGH,
    "normal": Priority.MEDIUM,
}
_LEVEL = r"(?:high|medium|low|critical|urgent|normal|p[0-4])"
_MARKERS = (
    re.compile(
        rf"[(\[]\s*(?:priority\s*(?:[:=]\s*)?)?({_LEVEL})(?:[\s_-]{{1,3}}priority)?\s*[)\]]",
        re.IGNORECASE,
    ),
    re.compile(rf"\bpriority\s*[:=]\s*({_LEVEL})\b", re.IGNORECASE),
    re.compile(r"(?<![\w-])(P[0-4])\b"),
    re.compile(r"\b(urgent|asap|blocker|critical)\b", re.IGNORECASE),
)
# A run of "!" inside a title ("fix it !! now"); leading and trailing runs are found by
# _bangs() without a regex, since ``\s*!+\s*$`` backtracks quadratically.
_INNER_BANG = re.compile(r"(?<=\s)!{2,}(?=\s)")
_LABEL = re.compile(
    rf"(?:prio(?:rity)?\s*[:/=\-]\s*)?({_LEVEL})(?:\s*[-_]\s*priority|\s+priority)?",
    re.IGNORECASE,
)
# "Urgency: small", "severity/critical", "Security: high": a level under another name.
_SCALE_LABEL = re.compile(
    r"(?:urgency|severity|importance|impact|security)\s{0,3}[:/=\- ]\s{0,3}"
    r"(high|medium|low|critical|urgent|normal|major|minor|small|trivial|blocker|large)",
    re.IGNORECASE,
)
_SCALE = {
    "major": Priority.HIGH,
    "blocker": Priority.HIGH,
    "large": Priority.HIGH,
    "minor": Priority.LOW,
    "small": Priority.LOW,
    "trivial": Priority.LOW,
}
# GitHub caps label names at 50 characters; longer text is no priority label.
_MAX_LABEL = 50
_HIGH_WORDS = re.compile(
    r"\b(?:security|vulnerabilit(?:y|ies)|cve|exploit|crash(?:es|ing)?|data\s+loss|"
    r"outage|corrupt(?:s|ion|ed)?|leak(?:s|ing)?|auth|authentication|authori[sz]ation|"
    r"login|passwords?|credentials?|pci|injection|xss|csrf|ssrf)\b",
    re.IGNORECASE,
)
_LOW_WORDS = re.compile(
    r"\b(?:docs?|documentation|typos?|readme|wording|cosmetic|nit|spelling|comments?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PriorityDecision:
    priority: Priority
    reason: str
    spans: tuple[tuple[int, int], ...] = ()


def level(word: str) -> Priority:
    word = word.lower()
    if word.startswith("p") and word[1:].isdigit():
        number = int(word[1:])
        return Priority.HIGH if number <= 1 else Priority.MEDIUM if number == 2 else Priority.LOW
    return _NAMED.get(word, Priority.HIGH)


def label_level(label: str) -> Priority | None:
    """The priority a label sets ("P1", "priority/high", "Urgency Small"), if any."""
    if len(label) > _MAX_LABEL:
        return None
    match = _LABEL.fullmatch(label.strip())
    if match:
        return level(match.group(1))
    match = _SCALE_LABEL.fullmatch(label.strip())
    if match:
        word = match.group(1).lower()
        return _SCALE.get(word) or level(word)
    return None


def decide_priority(title: str, text: str, labels: Sequence[str]) -> PriorityDecision:
    """``title`` is the task's first line (markers there are removed from the title);
    ``text`` is everything written about the task."""
    marker = _marker(title)
    if marker:
        return marker
    for label in labels:
        found = label_level(label)
        if found is not None:
            return PriorityDecision(found, templates.PRIORITY_LABEL.format(label=label))
    high = _HIGH_WORDS.search(text)
    if high:
        return PriorityDecision(
            Priority.HIGH, templates.PRIORITY_WORD.format(word=high.group(0).lower())
        )
    low = _LOW_WORDS.search(text)
    if low:
        return PriorityDecision(
            Priority.LOW, templates.PRIORITY_WORD.format(word=low.group(0).lower())
        )
    return PriorityDecision(Priority.MEDIUM, templates.PRIORITY_NONE)


def _marker(title: str) -> PriorityDecision | None:
    """The first marker (in the order of _MARKERS, then "!") decides; every bracketed,
    "priority:", P-level and "!" marker is removed from the title. Words like "urgent"
    stay in the title."""
    decision: tuple[Priority, str] | None = None
    spans: list[tuple[int, int]] = []
    for index, pattern in enumerate(_MARKERS):
        for match in pattern.finditer(title):
            if decision is None:
                decision = (
                    level(match.group(1)),
                    templates.PRIORITY_MARKER.format(marker=match.group(0).strip()),
                )
            if index < 3:
                spans.append((match.start(), match.end()))
    for span in _bangs(title):
        decision = decision or (Priority.HIGH, templates.PRIORITY_BANG)
        spans.append(span)
    if decision is None:
        return None
    return PriorityDecision(decision[0], decision[1], tuple(sorted(spans)))


def _bangs(title: str) -> list[tuple[int, int]]:
    """Spans of "!" markers: a trailing run (with the space before it), a leading run
    followed by a space, and runs of two or more standing alone between spaces."""
    spans = [match.span() for match in _INNER_BANG.finditer(title)]
    body = title.rstrip()
    if body.endswith("!"):
        spans.append((len(body.rstrip("!").rstrip()), len(title)))
    stripped = title.lstrip()
    lead = len(title) - len(stripped)
    run_end = len(title) - len(stripped.lstrip("!"))
    if run_end > lead and run_end < len(title) and title[run_end].isspace():
        spans.append((0, run_end + 1))
    return _merged(spans)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
