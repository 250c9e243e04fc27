"""Fingerprints findings so they survive edits, and tells new findings from old ones.

A finding is identified by its tool, rule, path, scope (the enclosing def/class, see
:mod:`gates.scopes`), message with numbers and whitespace normalised and subject (a
secret's digest, which its redacted message cannot tell apart), plus an occurrence
counter for identical ones. Neither the line number nor the text of the line
is part of it: code moving up or down, or an edit to a line that already had the
finding (a renamed argument next to a hard-coded password), keeps it.

A head finding is new when no base finding matches it: first a base finding on the
same line once mapped through the diff (same rule and message), then one with the same
identity anywhere in the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from gates.diff import DiffIndex
from gates.files import read_lines
from gates.model import Finding
from gates.scopes import ScopeIndex

FINGERPRINT_VERSION = "v2"
_NUMBER = re.compile(r"\d+")
_Key = tuple[str, str, str, str, str, str]
_Place = tuple[str, str, str, int, str, str]


class LineReader:
    """Reads files under one root, each file once; missing lines read as ''."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._files: dict[str, list[str]] = {}
        self._scopes: dict[str, ScopeIndex] = {}

    def line(self, path: str, number: int) -> str:
        lines = self._lines(path)
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def scope(self, path: str, number: int) -> str:
        """The def/class (or parent keys) around ``number``."""
        if path not in self._scopes:
            self._scopes[path] = ScopeIndex(path, self._lines(path))
        return self._scopes[path].name(number)

    def _lines(self, path: str) -> list[str]:
        if path not in self._files:
            self._files[path] = read_lines(self.root / path) if self.root else []
        return self._files[path]


def normalise(text: str) -> str:
    """Whitespace collapsed and numbers blanked (``Line too long (105 > 100)``)."""
    return _NUMBER.sub("#", " ".join(text.split()))


def fingerprint(key: _Key, occurrence: int) -> str:
    material = "\0".join((FINGERPRINT_VERSION, *key, str(occurrence)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def identity(finding: Finding, reader: LineReader, source: str | None = None) -> _Key:
    """What identifies ``finding`` apart from its line; ``source`` is the file to read."""
    scope = reader.scope(source or finding.path, finding.start_line)
    message = normalise(finding.message)
    return (finding.tool, finding.rule, finding.path, scope, message, finding.subject)


def with_fingerprints(
    findings: Iterable[Finding], reader: LineReader, source_path: dict[str, str] | None = None
) -> list[Finding]:
    """Fingerprint each finding from its identity.

    ``source_path`` maps a finding's (head) path to the file to read under the reader's
    root, for base findings of renamed files.
    """
    counts: Counter[_Key] = Counter()
    stamped = []
    for finding in sorted(findings, key=_place):
        key = identity(finding, reader, (source_path or {}).get(finding.path))
        stamped.append(dataclasses.replace(finding, fingerprint=fingerprint(key, counts[key])))
        counts[key] += 1
    return stamped


def _place(finding: Finding) -> tuple[str, int, int, str]:
    return (finding.path, finding.start_line, finding.start_column or 0, finding.rule)


def split_new(
    head: Sequence[Finding],
    base: Sequence[Finding],
    reader: LineReader,
    base_reader: LineReader,
    changes: DiffIndex,
    source_path: dict[str, str] | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """(new, preexisting) head findings, comparing with the base's findings.

    Base findings are under their head path; ``source_path`` maps it to the base file.
    Identical identities compare by count: when the head has more than the base, the
    surplus is new, and findings on lines the pull request added are taken as new first.
    """
    unmatched_head, unmatched_base = _match_in_place(head, base, changes)
    base_counts: Counter[_Key] = Counter(
        identity(f, base_reader, (source_path or {}).get(f.path)) for f in unmatched_base
    )
    groups: dict[_Key, list[Finding]] = defaultdict(list)
    for finding in unmatched_head:
        groups[identity(finding, reader)].append(finding)
    added = set(changes.added_lines())
    new: list[Finding] = []
    left = {id(f) for f in unmatched_head}
    old = [f for f in head if id(f) not in left]
    for key, members in groups.items():
        members.sort(key=lambda f: ((f.path, f.start_line) not in added, f.start_line))
        surplus = max(0, len(members) - base_counts[key])
        new.extend(members[:surplus])
        old.extend(members[surplus:])
    return new, old


def _match_in_place(
    head: Sequence[Finding], base: Sequence[Finding], changes: DiffIndex
) -> tuple[list[Finding], list[Finding]]:
    """Pairs a base finding with the head finding on the line its line became.

    Returns the head and base findings left without a partner.
    """
    waiting: dict[_Place, list[int]] = defaultdict(list)
    for number, finding in enumerate(head):
        waiting[_at(finding, finding.start_line)].append(number)
    paired: set[int] = set()
    unmatched_base = []
    for finding in base:
        changed = changes.get(finding.path)
        line = changed.head_line(finding.start_line) if changed else finding.start_line
        candidates = waiting.get(_at(finding, line)) if line is not None else None
        if candidates:
            paired.add(candidates.pop(0))
        else:
            unmatched_base.append(finding)
    unmatched_head = [f for number, f in enumerate(head) if number not in paired]
    return unmatched_head, unmatched_base


def _at(finding: Finding, line: int) -> _Place:
    message = normalise(finding.message)
    return (finding.tool, finding.rule, finding.path, line, message, finding.subject)


def load_baseline(path: Path) -> frozenset[str]:
    """Fingerprints accepted by a baseline file; raises ValueError when it is malformed.

    The file is ``{"version": 1, "findings": [{"fingerprint": "...", ...}, ...]}``.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return frozenset()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path.name}: {exc}") from exc
    entries = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError('expected {"version": 1, "findings": [{"fingerprint": ...}]}')
    return frozenset(
        str(entry["fingerprint"])
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str)
    )


def baseline_document(findings: Iterable[Finding]) -> dict[str, object]:
    """A baseline file accepting ``findings`` (what ``load_baseline`` reads)."""
    entries = [
        {"fingerprint": f.fingerprint, "rule": f.rule, "path": f.path, "tool": f.tool}
        for f in sorted(findings, key=_place)
    ]
    return {"version": 1, "findings": entries}
