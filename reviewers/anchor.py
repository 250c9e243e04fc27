"""Where a review comment may sit on a pull request's diff, as GitHub decides it.

GitHub accepts an inline comment only on a line the diff shows: an added or context
line of the head file (``side: RIGHT``) or a removed line of the base file (``LEFT``),
inside a hunk. A multi-line comment (``start_line`` .. ``line``) must lie within ONE
hunk, on one side, with ``start_line`` strictly before ``line``; one bad comment
rejects the whole review with a 422
(https://docs.github.com/en/rest/pulls/reviews#create-a-review-for-a-pull-request).
So every comment is placed here, before anything is sent: inline where the diff shows
its lines, on the file (``subject_type: file``) when the file is in the diff but the
lines are not, and in the review's body when the file is not in the diff at all.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from unidiff import PatchedFile, PatchSet
from unidiff.errors import UnidiffParseError

_NO_FILE = "/dev/null"


class Side(enum.StrEnum):
    RIGHT = "RIGHT"  # the head file: added and context lines
    LEFT = "LEFT"  # the base file: removed and context lines


class Placement(enum.StrEnum):
    LINE = "line"  # inline, on lines the diff shows
    FILE = "file"  # on the whole file (subject_type: file)
    BODY = "body"  # in the review's body: the file is not in the diff


@dataclass(frozen=True)
class Hunk:
    """One hunk's lines: head lines shown (added + context) and base lines shown."""

    right: frozenset[int]
    left: frozenset[int]
    added: frozenset[int]


@dataclass(frozen=True)
class DiffFile:
    path: str
    old_path: str | None
    hunks: tuple[Hunk, ...]
    binary: bool = False
    deleted: bool = False

    def hunk_of(self, line: int, side: Side) -> int | None:
        """The index of the hunk showing ``line`` on ``side``, or None."""
        for index, hunk in enumerate(self.hunks):
            if line in (hunk.right if side is Side.RIGHT else hunk.left):
                return index
        return None

    @property
    def added(self) -> frozenset[int]:
        return frozenset().union(*(hunk.added for hunk in self.hunks))


@dataclass(frozen=True)
class Anchor:
    """Where one comment goes. ``start_line`` is set only for a valid multi-line range."""

    placement: Placement
    path: str
    line: int | None = None
    side: Side = Side.RIGHT
    start_line: int | None = None

    def api_fields(self) -> dict[str, object]:
        """The comment's anchoring fields for the review API (body and ids excluded)."""
        if self.placement is Placement.FILE:
            return {"path": self.path, "subject_type": "file"}
        fields: dict[str, object] = {"path": self.path, "line": self.line, "side": self.side.value}
        if self.start_line is not None:
            fields |= {"start_line": self.start_line, "start_side": self.side.value}
        return fields


class Diff:
    """A pull request's diff, indexed by head path (a renamed file by its old path too)."""

    def __init__(self, files: Iterable[DiffFile]) -> None:
        self.files = {file.path: file for file in files}
        self._old = {file.old_path: file for file in self.files.values() if file.old_path}

    @classmethod
    def parse(cls, text: str) -> Diff:
        """Parse ``git diff`` output; a diff unidiff cannot read has no files (and so no
        inline comments: everything goes to the body rather than risk a 422)."""
        try:
            patch = PatchSet(text)
        except UnidiffParseError:
            return cls(())
        return cls(_file(patched) for patched in patch)

    @classmethod
    def from_patch(cls, patch: PatchSet) -> Diff:
        return cls(_file(patched) for patched in patch)

    def get(self, path: str) -> DiffFile | None:
        return self.files.get(path) or self._old.get(path)

    def place(
        self, path: str, line: int, end_line: int | None = None, side: Side = Side.RIGHT
    ) -> Anchor:
        """Anchor a comment about ``path`` lines ``line``..``end_line`` (1-based)."""
        file = self.get(path)
        if file is None:
            return Anchor(Placement.BODY, path)
        if file.binary or (file.deleted and side is Side.RIGHT):
            return Anchor(Placement.FILE, file.path)
        last = max(line, end_line or line)
        hunk = file.hunk_of(last, side)
        if hunk is None:
            return Anchor(Placement.FILE, file.path)
        start = _range_start(file.hunks[hunk], line, last, side)
        return Anchor(Placement.LINE, file.path, last, side, start)

    def place_exact(self, path: str, line: int, end_line: int) -> Anchor | None:
        """A RIGHT anchor covering exactly ``line``..``end_line``, or None.

        Suggestions replace exactly the anchored lines, so a suggestion whose lines are
        not all shown in one hunk cannot be offered inline.
        """
        file = self.get(path)
        if file is None or file.binary or file.deleted:
            return None
        hunk = file.hunk_of(end_line, Side.RIGHT)
        if hunk is None or any(n not in file.hunks[hunk].right for n in range(line, end_line + 1)):
            return None
        start = line if line < end_line else None
        return Anchor(Placement.LINE, file.path, end_line, Side.RIGHT, start)


def _range_start(hunk: Hunk, line: int, last: int, side: Side) -> int | None:
    """The first line of the range inside the same hunk, or None for a one-line comment."""
    # A hunk shows one contiguous run of lines on each side: clip the range to it.
    shown = hunk.right if side is Side.RIGHT else hunk.left
    start = max(line, min(shown))
    return start if start < last else None


def _file(patched: PatchedFile) -> DiffFile:
    source, target = _strip(patched.source_file), _strip(patched.target_file)
    deleted = patched.is_removed_file or target == _NO_FILE
    path = source if deleted else target
    old = None if patched.is_added_file or source == _NO_FILE else source
    hunks = tuple(_hunk(hunk) for hunk in patched)
    return DiffFile(path, old, hunks, binary=patched.is_binary_file, deleted=deleted)


def _hunk(hunk: Iterable[object]) -> Hunk:
    right: set[int] = set()
    left: set[int] = set()
    added: set[int] = set()
    for line in hunk:
        target, source = (
            getattr(line, "target_line_no", None),
            getattr(line, "source_line_no", None),
        )
        if target is not None:
            right.add(target)
            if source is None:
                added.add(target)
        if source is not None:
            left.add(source)
    return Hunk(frozenset(right), frozenset(left), frozenset(added))


def _strip(name: str) -> str:
    for prefix in ("a/", "b/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def suggestion(replacement: str) -> str:
    """A ```` ```suggestion ```` block whose fence is longer than any backtick run inside."""
    longest = run = 0
    for char in replacement:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    body = replacement if replacement.endswith("\n") or not replacement else replacement + "\n"
    return f"{fence}suggestion\n{body}{fence}"
