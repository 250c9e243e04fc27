"""Finds rule matches in source text, with line numbers, cheaply.

Python's regex engine tries an alternation at every position, which is slow on
megabytes of code. So each rule names literal ``triggers`` (lower case): the lowered
text is searched for them with plain substring search, and the rule's regex runs only
on the lines holding a trigger. A rule can ask whether its hit sits inside a loop (an
enclosing ``for``/``while`` by indentation), which is how "a query inside a loop" is
told apart from "a query". Each rule reports at most once per file (and loop state).
:func:`scan_files` runs a scanner over the inventory for a specialist agent.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import dataclass

from agents.research.base import ResearchContext
from agents.research.inventory import SourceFile
from agents.research.model import Note, NoteKind
from agents.research.tokens import words

_LOOP_HEADER = re.compile(r"(?:async\s+)?(?:for|while)\b|.*\.(?:forEach|map)\(")
_LOOKBACK_LINES = 40
# A trigger found more often than this in one file is not looked at further.
_MAX_OCCURRENCES = 500
_BLANK = 1 << 30


@dataclass(frozen=True)
class Rule:
    """A pattern and what to say about it; ``kind`` None means "only inside a loop".

    ``topics`` are issue words (folded as :func:`agents.research.tokens.words` folds
    them) that make the rule worth reporting; an empty set means always.
    """

    kind: NoteKind | None
    pattern: str
    message: str
    triggers: tuple[str, ...]
    loop_kind: NoteKind | None = None
    loop_message: str = ""
    topics: frozenset[str] = frozenset()

    def on_topic(self, issue_words: Set[str]) -> bool:
        return not self.topics or not self.topics.isdisjoint(issue_words)


def topic(text: str) -> frozenset[str]:
    """Topic words from a space-separated list, folded like issue words."""
    return frozenset(words(text))


class Scanner:
    """Compiled rules; ``scan`` returns a file's notes in line order."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._compiled = tuple(re.compile(rule.pattern, re.MULTILINE) for rule in self.rules)

    def on_topic(self, issue_words: Set[str]) -> Scanner:
        """A scanner with only the rules the issue's words make worth reporting."""
        scanner = Scanner(())
        pairs = [
            (rule, regex)
            for rule, regex in zip(self.rules, self._compiled, strict=True)
            if rule.on_topic(issue_words)
        ]
        scanner.rules = tuple(rule for rule, _ in pairs)
        scanner._compiled = tuple(regex for _, regex in pairs)
        return scanner

    def scan(self, path: str, text: str) -> list[Note]:
        lines = _Lines(text)
        notes: list[Note] = []
        lowered = lines.lowered
        for rule, regex in zip(self.rules, self._compiled, strict=True):
            for trigger in rule.triggers:
                if trigger in lowered:
                    notes.extend(_rule_notes(rule, regex, path, lines))
                    break
        notes.sort(key=lambda note: note.line)
        return notes


def scan_files(
    context: ResearchContext,
    scanner: Scanner,
    wanted: Callable[[SourceFile], bool],
    whole_file: Callable[[SourceFile], Iterable[Note]] = lambda item: (),
) -> tuple[Note, ...]:
    """The notes on the ``wanted`` files in focus, until the budget is spent.

    Only rules on the issue's topic run, and only over ``context.focus`` (the relevant
    files) when research has one. ``whole_file`` gives notes about a file as such;
    they come before its rule matches.
    """
    active = scanner.on_topic(set(words(context.query)))
    notes: list[Note] = []
    for item in _focused(context):
        if context.expired():
            break
        if item.text is not None and wanted(item):
            notes.extend(whole_file(item))
            notes.extend(active.scan(item.path, item.text))
    return tuple(notes)


def _focused(context: ResearchContext) -> Iterable[SourceFile]:
    if context.focus is None:
        return (item for item, _ in context.inventory.texts())
    found = (context.inventory.get(path) for path in context.focus)
    return (item for item in found if item is not None)


def _rule_notes(rule: Rule, regex: re.Pattern[str], path: str, lines: _Lines) -> Iterator[Note]:
    wanted = {state for state, kind in ((False, rule.kind), (True, rule.loop_kind)) if kind}
    seen: set[bool] = set()
    for start, end in lines.candidates(rule.triggers):
        match = regex.search(lines.text, start, end)
        if match is None:
            continue
        number = lines.number(match.start())
        looped = rule.loop_kind is not None and lines.in_loop(number)
        kind, message = (rule.loop_kind, rule.loop_message) if looped else (rule.kind, rule.message)
        if kind is not None and looped not in seen:
            seen.add(looped)
            yield Note(kind, path, number, message)
        if seen == wanted:
            return


class _Lines:
    """A file's text with line offsets, computed once and shared by all rules."""

    def __init__(self, text: str) -> None:
        self.text = text
        lowered = text.lower()
        # Lower-casing can change the length of some non-ASCII text; offsets must agree.
        self.lowered = lowered if len(lowered) == len(text) else text
        self._starts: list[int] | None = None
        self._rows: list[str] | None = None
        self._indents: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *(match.end() for match in re.finditer("\n", self.text))]
        return self._starts

    def candidates(self, triggers: Sequence[str]) -> list[tuple[int, int]]:
        """(start, end) offsets of the lines holding a trigger, in order."""
        spans: set[tuple[int, int]] = set()
        for trigger in triggers:
            position = self.lowered.find(trigger)
            found = 0
            while position >= 0 and found < _MAX_OCCURRENCES:
                start = self.lowered.rfind("\n", 0, position) + 1
                end = self.lowered.find("\n", position)
                end = len(self.text) if end < 0 else end
                spans.add((start, end))
                position = self.lowered.find(trigger, end)
                found += 1
        return sorted(spans)

    def number(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    @property
    def rows(self) -> list[str]:
        if self._rows is None:
            self._rows = self.text.split("\n")
        return self._rows

    @property
    def indents(self) -> list[int]:
        """Indentation per line; blank lines count as infinitely indented (skipped)."""
        if self._indents is None:
            self._indents = [
                len(row) - len(stripped) if (stripped := row.lstrip(" \t")) else _BLANK
                for row in self.rows
            ]
        return self._indents

    def in_loop(self, number: int) -> bool:
        """Whether an enclosing block (by indentation) of line ``number`` is a loop."""
        rows, indents = self.rows, self.indents
        current = indents[number - 1]
        for previous in range(number - 2, max(-1, number - 1 - _LOOKBACK_LINES), -1):
            indent = indents[previous]
            if indent >= current:
                continue
            if _LOOP_HEADER.match(rows[previous], indent):
                return True
            current = indent
            if current == 0:
                return False
        return False
