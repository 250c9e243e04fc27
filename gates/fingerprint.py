"""Fingerprints findings so they survive line moves, and tells new findings from old ones.

A fingerprint is rule + path + the finding's code line with whitespace collapsed, plus an
occurrence counter for identical lines; line numbers are not part of it, so code moving
up or down keeps its findings' fingerprints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from gates.files import read_lines
from gates.model import Finding

FINGERPRINT_VERSION = "v1"
_Key = tuple[str, str, str]


class LineReader:
    """Reads lines of files under one root, each file once; missing lines read as ''."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._files: dict[str, list[str]] = {}

    def line(self, path: str, number: int) -> str:
        lines = self._lines(path)
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def _lines(self, path: str) -> list[str]:
        if path not in self._files:
            self._files[path] = read_lines(self.root / path) if self.root else []
        return self._files[path]


def normalise(code: str) -> str:
    return " ".join(code.split())


def fingerprint(rule: str, path: str, code: str, occurrence: int) -> str:
    material = "\0".join((FINGERPRINT_VERSION, rule, path, normalise(code), str(occurrence)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def with_fingerprints(
    findings: Iterable[Finding], reader: LineReader, source_path: dict[str, str] | None = None
) -> list[Finding]:
    """Fingerprint each finding from its code line.

    ``source_path`` maps a finding's (head) path to the file to read under the reader's
    root, for base findings of renamed files.
    """
    counts: Counter[_Key] = Counter()
    stamped = []
    for finding in sorted(findings, key=_place):
        code = reader.line((source_path or {}).get(finding.path, finding.path), finding.start_line)
        key = (finding.rule, finding.path, normalise(code))
        stamped.append(
            dataclasses.replace(finding, fingerprint=fingerprint(*key, occurrence=counts[key]))
        )
        counts[key] += 1
    return stamped


def _place(finding: Finding) -> tuple[str, int, int, str]:
    return (finding.path, finding.start_line, finding.start_column or 0, finding.rule)


def split_new(
    head: Sequence[Finding],
    base: Sequence[Finding],
    reader: LineReader,
    base_reader: LineReader,
    added: set[tuple[str, int]],
    source_path: dict[str, str] | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """(new, preexisting) head findings, comparing with the base's findings.

    Identical code lines compare by count: when the head has more than the base, the
    surplus is new, and findings on lines the pull request added are taken as new first.
    """
    base_counts: Counter[_Key] = Counter(
        _key(f, base_reader, (source_path or {}).get(f.path, f.path)) for f in base
    )
    groups: dict[_Key, list[Finding]] = defaultdict(list)
    for finding in head:
        groups[_key(finding, reader, finding.path)].append(finding)
    new: list[Finding] = []
    old: list[Finding] = []
    for key, members in groups.items():
        members.sort(key=lambda f: ((f.path, f.start_line) not in added, f.start_line))
        surplus = max(0, len(members) - base_counts[key])
        new.extend(members[:surplus])
        old.extend(members[surplus:])
    return new, old


def _key(finding: Finding, reader: LineReader, path: str) -> _Key:
    return (finding.rule, finding.path, normalise(reader.line(path, finding.start_line)))


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
