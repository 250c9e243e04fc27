"""What a pull request's diff changed: files, added lines and hunks, and the filter modes."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from unidiff import PatchedFile, PatchSet

from gates.config import FilterMode
from gates.model import Finding

_NO_FILE = "/dev/null"


class FileStatus(enum.StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    RENAMED = "renamed"
    DELETED = "deleted"


@dataclass(frozen=True)
class ChangedFile:
    """One file of the diff. Line numbers are 1-based lines of the head file.

    ``old_path`` is the file's path on the base (None when the pull request adds it).
    ``hunks`` are inclusive head line ranges of the diff's hunks. ``spans`` are the
    hunks as (base start, base end, head start, head end), ends exclusive, and ``kept``
    pairs each unchanged line inside a hunk (base line, head line): together they map a
    base line to the head line it became (:meth:`head_line`).
    """

    path: str
    old_path: str | None
    status: FileStatus
    added: frozenset[int]
    hunks: tuple[tuple[int, int], ...]
    binary: bool = False
    spans: tuple[tuple[int, int, int, int], ...] = ()
    kept: tuple[tuple[int, int], ...] = ()

    @property
    def exists_at_head(self) -> bool:
        return self.status is not FileStatus.DELETED and not self.binary

    def in_hunk(self, line: int) -> bool:
        return any(start <= line <= end for start, end in self.hunks)

    @cached_property
    def _kept(self) -> dict[int, int]:
        return dict(self.kept)

    def head_line(self, base_line: int) -> int | None:
        """The head line base line ``base_line`` became; None when the change removed it."""
        offset = 0
        for base_start, base_end, _head_start, head_end in self.spans:
            if base_line < base_start:
                break
            if base_line < base_end:
                return self._kept.get(base_line)
            offset = head_end - base_end
        return base_line + offset


class DiffIndex:
    """The changed files of a diff, looked up by head path (deleted files by base path)."""

    def __init__(self, files: Iterable[ChangedFile]) -> None:
        self.files: dict[str, ChangedFile] = {f.path: f for f in files}

    @classmethod
    def from_patch(cls, patch: PatchSet) -> DiffIndex:
        return cls(_changed_file(patched) for patched in patch)

    def get(self, path: str) -> ChangedFile | None:
        return self.files.get(path)

    def present(self, suffixes: tuple[str, ...] = ()) -> list[ChangedFile]:
        """Files that exist at head (not deleted, not binary), optionally by suffix."""
        return [
            f
            for f in self.files.values()
            if f.exists_at_head and (not suffixes or f.path.endswith(suffixes))
        ]

    def added_lines(self) -> Iterator[tuple[str, int]]:
        for changed in self.files.values():
            for line in sorted(changed.added):
                yield changed.path, line


def _changed_file(patched: PatchedFile) -> ChangedFile:
    source = _strip_prefix(patched.source_file)
    target = _strip_prefix(patched.target_file)
    status = _status(patched, source, target)
    added: set[int] = set()
    hunks: list[tuple[int, int]] = []
    spans: list[tuple[int, int, int, int]] = []
    kept: list[tuple[int, int]] = []
    for hunk in patched:
        if hunk.target_length:
            hunks.append((hunk.target_start, hunk.target_start + hunk.target_length - 1))
        added.update(line.target_line_no for line in hunk if line.is_added and line.target_line_no)
        spans.append(
            _span(hunk.source_start, hunk.source_length, hunk.target_start, hunk.target_length)
        )
        kept += [
            (line.source_line_no, line.target_line_no)
            for line in hunk
            if line.is_context and line.source_line_no and line.target_line_no
        ]
    path = source if status is FileStatus.DELETED else target
    return ChangedFile(
        path=path,
        old_path=None if status is FileStatus.ADDED else source,
        status=status,
        added=frozenset(added),
        hunks=tuple(hunks),
        binary=bool(patched.is_binary_file),
        spans=tuple(spans),
        kept=tuple(kept),
    )


def _span(
    base_start: int, base_length: int, head_start: int, head_length: int
) -> tuple[int, int, int, int]:
    """A hunk's base and head ranges, ends exclusive.

    An empty side names the line before it (``@@ -5,0 +6,2 @@`` inserts after line 5).
    """
    if not base_length:
        base_start += 1
    if not head_length:
        head_start += 1
    return (base_start, base_start + base_length, head_start, head_start + head_length)


def _status(patched: PatchedFile, source: str, target: str) -> FileStatus:
    if patched.is_added_file or source == _NO_FILE:
        return FileStatus.ADDED
    if patched.is_removed_file or target == _NO_FILE:
        return FileStatus.DELETED
    if source != target:
        return FileStatus.RENAMED
    return FileStatus.MODIFIED


def _strip_prefix(name: str) -> str:
    if name.startswith(("a/", "b/")):
        return name[2:]
    return name


def keep(finding: Finding, index: DiffIndex, mode: FilterMode) -> bool:
    """Whether ``finding`` counts under ``mode`` (reviewdog's filter modes).

    A multi-line finding counts in ``added``/``diff_context`` when any of its lines does.
    """
    if mode is FilterMode.NOFILTER:
        return True
    changed = index.get(finding.path)
    if changed is None or not changed.exists_at_head:
        return False
    if mode is FilterMode.FILE:
        return True
    lines = range(finding.start_line, max(finding.start_line, finding.end_line) + 1)
    if mode is FilterMode.ADDED:
        return any(line in changed.added for line in lines)
    return any(changed.in_hunk(line) for line in lines)
