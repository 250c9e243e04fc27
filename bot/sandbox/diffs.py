"""Pull request diffs: git's unified diff per file, hunks, and where review comments anchor.

Anchoring follows GitHub's "Create a review comment for a pull request":
https://docs.github.com/en/rest/pulls/comments#create-a-review-comment-for-a-pull-request

- ``line`` + ``side``: ``RIGHT`` names a line of the new file (added or context line),
  ``LEFT`` a line of the old file (removed or context line); the line must be in a hunk.
- ``start_line`` + ``start_side`` open a multi-line range that must lie in the same hunk
  as ``line`` and come before it.
- ``position`` (deprecated) counts lines down from the file's first ``@@`` header; later
  ``@@`` headers count too.
- ``subject_type: "file"`` comments on the whole file.

Errors carry GitHub's own sentences (``Pull request review thread line must be part of
the diff`` ...); the review endpoint joins them into one string, the single-comment
endpoint reports them per field. Everything here is pure except :func:`diff_files`,
which runs ``git diff`` in a bare repository.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.sandbox.gitstore import GitRepo

# GitHub's limits: the files API lists at most 3,000 files, and a file's patch is left out
# when its diff is over 20,000 lines or 500 KB.
# https://docs.github.com/en/repositories/creating-and-managing-repositories/repository-limits
MAX_FILES = 3000
MAX_PATCH_LINES = 20_000
MAX_PATCH_BYTES = 500 * 1024

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied"}


class Side(enum.StrEnum):
    LEFT = "LEFT"
    RIGHT = "RIGHT"


class Kind(enum.StrEnum):
    """What a diff line is: added (``+``), removed (``-``), context (`` ``) or a note."""

    ADDED = "+"
    REMOVED = "-"
    CONTEXT = " "
    HEADER = "@"
    NOTE = "\\"  # "\ No newline at end of file"


class Msg:
    """GitHub's sentences for review-thread anchoring errors."""

    LINE_NOT_IN_DIFF = "Pull request review thread line must be part of the diff"
    HUNK_BLANK = "Pull request review thread diff hunk can't be blank"
    START_NOT_IN_HUNK = (
        "Pull request review thread start line must be part of the same hunk as the line."
    )
    START_AFTER_END = "Pull request review thread start line must precede the end line."
    POSITION_INVALID = "Pull request review thread position is invalid"
    PATH_UNRESOLVED = "Path could not be resolved"
    # The single-comment endpoint names the failing field instead.
    FIELD_LINE = "pull_request_review_thread.line"
    FIELD_START_LINE = "pull_request_review_thread.start_line"
    FIELD_POSITION = "pull_request_review_thread.position"
    FIELD_HUNK = "pull_request_review_thread.diff_hunk"
    FIELD_PATH = "pull_request_review_thread.path"


@dataclass(frozen=True)
class DiffLine:
    kind: Kind
    old: int | None  # line number in the old file (LEFT), None for added lines
    new: int | None  # line number in the new file (RIGHT), None for removed lines
    position: int  # lines below the file's first @@ header (that header is 0)
    hunk: int  # index of the hunk in the file


@dataclass(frozen=True)
class FileDiff:
    """One file of a diff as the pull request files API describes it."""

    path: str
    previous_path: str | None
    status: str  # added, removed, modified, renamed, copied, changed
    additions: int
    deletions: int
    patch: str | None  # the hunks (from the first @@), None for binary or empty diffs
    lines: tuple[DiffLine, ...]
    too_large: bool = False

    @property
    def changes(self) -> int:
        return self.additions + self.deletions

    def find(self, side: Side, line: int) -> DiffLine | None:
        """The diff line commentable as ``line`` on ``side``, or None."""
        for item in self.lines:
            if side is Side.RIGHT and item.new == line and item.kind is not Kind.REMOVED:
                return item
            if side is Side.LEFT and item.old == line and item.kind is not Kind.ADDED:
                return item
        return None

    def at_position(self, position: int) -> DiffLine | None:
        for item in self.lines:
            if item.position == position and item.kind in _COMMENTABLE:
                return item
        return None

    def diff_hunk(self, upto: DiffLine) -> str:
        """GitHub's ``diff_hunk``: the hunk's header and its lines down to ``upto``."""
        rows = (self.patch or "").split("\n")
        first = next(i for i in self.lines if i.hunk == upto.hunk and i.kind is Kind.HEADER)
        return "\n".join(rows[first.position : upto.position + 1])

    def first_hunk_header(self) -> str:
        return (self.patch or "").split("\n", 1)[0]


_COMMENTABLE = (Kind.ADDED, Kind.REMOVED, Kind.CONTEXT)


@dataclass(frozen=True)
class Anchor:
    """Where a valid review comment sits; ``line`` is None for file-level comments."""

    path: str
    subject_type: str  # line | file
    side: Side | None
    line: int | None
    start_side: Side | None
    start_line: int | None
    position: int | None
    diff_hunk: str


class AnchorError(Exception):
    """A comment that cannot be placed; ``messages`` are GitHub's sentences."""

    def __init__(self, messages: Sequence[str], fields: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(join_messages(messages))
        self.messages = tuple(messages)
        # (field, message) pairs for the single-comment endpoint's "errors" list.
        self.fields = tuple(fields)


@dataclass(frozen=True)
class Request:
    """The anchoring fields of one requested comment (as sent by the client)."""

    path: str
    line: int | None = None
    side: str | None = None
    start_line: int | None = None
    start_side: str | None = None
    position: int | None = None
    subject_type: str | None = None


def join_messages(messages: Sequence[str]) -> str:
    """Rails' ``to_sentence``, which GitHub uses to join a review's errors."""
    items = list(messages)
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


# --- parsing ------------------------------------------------------------------------------


def parse_patch(patch: str) -> tuple[DiffLine, ...]:
    """Every line of a file's patch (from its first ``@@``), numbered as GitHub numbers it."""
    lines: list[DiffLine] = []
    old = new = 0
    hunk = -1
    for position, text in enumerate(patch.split("\n")):
        header = _HUNK_HEADER.match(text)
        if header:
            hunk += 1
            old, new = int(header.group(1)), int(header.group(3))
            lines.append(DiffLine(Kind.HEADER, None, None, position, hunk))
            continue
        kind = Kind(text[:1]) if text[:1] in "+- \\" and text else Kind.CONTEXT
        if kind is Kind.ADDED:
            lines.append(DiffLine(kind, None, new, position, hunk))
            new += 1
        elif kind is Kind.REMOVED:
            lines.append(DiffLine(kind, old, None, position, hunk))
            old += 1
        elif kind is Kind.NOTE:
            lines.append(DiffLine(kind, None, None, position, hunk))
        else:
            lines.append(DiffLine(Kind.CONTEXT, old, new, position, hunk))
            old, new = old + 1, new + 1
    return tuple(lines)


def split_git_diff(text: str) -> list[str]:
    """The per-file sections of ``git diff`` output (each starts with ``diff --git``)."""
    sections: list[list[str]] = []
    for row in text.split("\n"):
        if row.startswith("diff --git "):
            sections.append([])
        if sections:
            sections[-1].append(row)
    return ["\n".join(rows).rstrip("\n") for rows in sections]


def section_patch(section: str) -> str | None:
    """GitHub's ``patch``: the section from its first ``@@`` line, None when it has none."""
    rows = section.split("\n")
    start = next((i for i, row in enumerate(rows) if row.startswith("@@ ")), None)
    return None if start is None else "\n".join(rows[start:])


def file_diff(path: str, previous: str | None, letter: str, section: str) -> FileDiff:
    patch = section_patch(section)
    lines = parse_patch(patch) if patch is not None else ()
    added = sum(1 for item in lines if item.kind is Kind.ADDED)
    removed = sum(1 for item in lines if item.kind is Kind.REMOVED)
    too_large = patch is not None and (
        patch.count("\n") + 1 > MAX_PATCH_LINES or len(patch.encode()) > MAX_PATCH_BYTES
    )
    return FileDiff(
        path=path,
        previous_path=previous if letter in "RC" else None,
        status=_STATUS.get(letter, "changed"),
        additions=added,
        deletions=removed,
        patch=None if too_large else patch,
        lines=lines,
        too_large=too_large,
    )


def parse_name_status(raw: bytes) -> list[tuple[str, str, str | None]]:
    """(letter, path, previous path) from ``git diff --name-status -z``."""
    fields = raw.decode(errors="replace").split("\0")
    entries: list[tuple[str, str, str | None]] = []
    index = 0
    while index < len(fields) and fields[index]:
        letter = fields[index][:1]
        if letter in "RC":
            entries.append((letter, fields[index + 2], fields[index + 1]))
            index += 3
        else:
            entries.append((letter, fields[index + 1], None))
            index += 2
    return entries


def diff_files(git: GitRepo, base: str, head: str) -> list[FileDiff]:
    """The files changed from ``base`` to ``head`` (both commits), in git's order."""
    options = ["--no-color", "--no-ext-diff", "-M", "--no-textconv"]
    names = parse_name_status(git.git("diff", "--name-status", "-z", *options, base, head))
    text = git.git("-c", "core.quotePath=false", "diff", *options, base, head)
    sections = split_git_diff(text.decode(errors="replace"))
    if len(sections) != len(names):  # exotic names git quotes differently: one call each
        sections = [_one_section(git, options, base, head, entry) for entry in names]
    return [
        file_diff(path, previous, letter, section)
        for (letter, path, previous), section in zip(names, sections, strict=True)
    ]


def _one_section(
    git: GitRepo, options: list[str], base: str, head: str, entry: tuple[str, str, str | None]
) -> str:
    _letter, path, previous = entry
    paths = [previous, path] if previous else [path]
    out = git.git("diff", *options, base, head, "--", *paths).decode(errors="replace")
    return out.rstrip("\n")


# --- anchoring ----------------------------------------------------------------------------


def anchor(files: Sequence[FileDiff], request: Request) -> Anchor:
    """Place one requested comment on the diff, or raise :class:`AnchorError`."""
    found = next((f for f in files if f.path == request.path), None)
    if found is None:
        raise AnchorError([Msg.PATH_UNRESOLVED], [(Msg.FIELD_PATH, Msg.PATH_UNRESOLVED)])
    if request.subject_type == "file":
        return Anchor(
            found.path, "file", Side.RIGHT, None, None, None, None, found.first_hunk_header()
        )
    if request.line is None and request.position is not None:
        return _by_position(found, request.position)
    return _by_line(found, request)


def _by_position(found: FileDiff, position: int) -> Anchor:
    target = found.at_position(position)
    if target is None:
        raise AnchorError(
            [Msg.POSITION_INVALID, Msg.HUNK_BLANK],
            [(Msg.FIELD_POSITION, "is invalid"), (Msg.FIELD_HUNK, "can't be blank")],
        )
    side = Side.LEFT if target.kind is Kind.REMOVED else Side.RIGHT
    line = target.old if side is Side.LEFT else target.new
    return Anchor(found.path, "line", side, line, None, None, position, found.diff_hunk(target))


def _side(raw: str | None, default: Side) -> Side:
    return Side(raw.upper()) if raw else default


def _by_line(found: FileDiff, request: Request) -> Anchor:
    side = _side(request.side, Side.RIGHT)
    target = found.find(side, request.line) if request.line is not None else None
    errors: list[str] = []
    fields: list[tuple[str, str]] = []
    start_side = _side(request.start_side, side) if request.start_line is not None else None
    start = None
    if request.start_line is not None and start_side is not None:
        start = found.find(start_side, request.start_line)
    if target is None:
        errors.append(Msg.LINE_NOT_IN_DIFF)
        fields.append((Msg.FIELD_LINE, "must be part of the diff"))
    if request.start_line is not None and (
        start is None or target is None or start.hunk != target.hunk
    ):
        errors.append(Msg.START_NOT_IN_HUNK)
        fields.append((Msg.FIELD_START_LINE, "must be part of the same hunk as the line."))
    elif start is not None and target is not None and start.position >= target.position:
        errors.append(Msg.START_AFTER_END)
        fields.append((Msg.FIELD_START_LINE, "must precede the end line."))
    if target is None:
        errors.append(Msg.HUNK_BLANK)
        fields.append((Msg.FIELD_HUNK, "can't be blank"))
    if errors or target is None:
        raise AnchorError(errors, fields)
    return Anchor(
        path=found.path,
        subject_type="line",
        side=side,
        line=request.line,
        start_side=start_side,
        start_line=request.start_line,
        position=target.position,
        diff_hunk=found.diff_hunk(target),
    )


# --- following lines across commits -------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One ``-U0`` hunk: ``old_count`` lines from ``old_start`` became ``new_count`` lines."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int


def changes_of(patch: str | None) -> list[Change]:
    found = []
    for row in (patch or "").split("\n"):
        header = _HUNK_HEADER.match(row)
        if header:
            old_count = 1 if header.group(2) is None else int(header.group(2))
            new_count = 1 if header.group(4) is None else int(header.group(4))
            found.append(Change(int(header.group(1)), old_count, int(header.group(3)), new_count))
    return found


def follow_line(changes: Sequence[Change], line: int) -> int | None:
    """Where ``line`` of the old file is in the new one; None when a change touched it."""
    shift = 0
    for change in changes:
        if change.old_count == 0:  # pure insertion after old line old_start
            if change.old_start < line:
                shift += change.new_count
            continue
        last = change.old_start + change.old_count - 1
        if change.old_start <= line <= last:
            return None
        if last < line:
            shift += change.new_count - change.old_count
    return line + shift


def line_changes(git: GitRepo, old: str, new: str, path: str) -> list[Change] | None:
    """How ``path`` changed between two commits (``-U0``); None when it is gone in ``new``."""
    if git.entry_at(new, path) is None:
        return None
    out = git.git("diff", "--no-color", "--no-ext-diff", "-U0", old, new, "--", path)
    return changes_of(out.decode(errors="replace"))
