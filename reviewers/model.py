"""What reviewers exchange: the review input, one comment, and a stream's name."""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from gates.config import Severity
from gates.model import Finding
from reviewers.anchor import Diff

FileReader = Callable[[str], str | None]  # a path's text at one revision, None when absent


class Stream(enum.StrEnum):
    """The three reviewers; each posts its own review per head commit."""

    CODE = "code-review"
    SECURITY = "security"
    DOCS = "docs"

    @property
    def heading(self) -> str:
        return {"code-review": "Code review", "security": "Security", "docs": "Docs"}[self.value]


@dataclass(frozen=True)
class ReviewSettings:
    """The review options of ``.github/techlead.yml`` that the pure streams need."""

    complexity_threshold: int = 10
    max_function_lines: int = 80
    docs_required: bool = False
    blocking_severity: Severity = Severity.HIGH


@dataclass(frozen=True)
class ReviewInput:
    """A pull request as the streams see it: the diff, both revisions, the gates' findings.

    ``findings`` are the new findings of the L1 and L5 gates on the head (already
    filtered to what the pull request introduced).
    """

    diff: Diff
    base: FileReader
    head: FileReader
    findings: tuple[Finding, ...] = ()
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    head_paths: frozenset[str] = frozenset()  # every file at head; empty when unknown

    def exists(self, path: str) -> bool:
        """Whether ``path`` is a file or directory at head."""
        if not self.head_paths:
            return self.head(path) is not None
        prefix = path.rstrip("/") + "/"
        return path in self.head_paths or any(p.startswith(prefix) for p in self.head_paths)


_SPACE = re.compile(r"\s+")


def normalise(snippet: str) -> str:
    """Code as a fingerprint sees it: whitespace runs collapsed, ends trimmed."""
    return _SPACE.sub(" ", snippet).strip()


@dataclass(frozen=True)
class Comment:
    """One reviewer comment about head lines ``line``..``end_line`` of ``path``.

    ``suggestion`` replaces exactly those lines when set (a one-click fix). ``snippet``
    is the code the comment is about: with the stream, rule and path it makes the
    fingerprint, so the same finding on a line that moved is still the same comment.
    """

    stream: Stream
    rule: str
    path: str
    line: int
    title: str
    body: str
    severity: Severity = Severity.LOW
    end_line: int | None = None
    suggestion: str | None = None
    snippet: str = ""
    blocking: bool = False
    origin: str = ""  # the gate finding's fingerprint, for comments made from one

    @property
    def fingerprint(self) -> str:
        key = "\0".join((self.stream.value, self.rule, self.path, normalise(self.snippet)))
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        """Most severe first, then by place."""
        return (-self.severity.rank, self.path, self.line, self.rule)


def lines_of(text: str | None, start: int, end: int | None = None) -> str:
    """Lines ``start``..``end`` (1-based, inclusive) of ``text``, or ``""``."""
    if text is None or start < 1:
        return ""
    rows = text.splitlines(keepends=True)
    return "".join(rows[start - 1 : (end or start)])
