"""Typed views of webhook payloads: the one place where handlers' payload fields are read.

A delivery is signed, yet any field in it may still be absent, null or of another type:
an older GitHub Enterprise Server, a redelivery by a tool, a schema change, a bug
upstream. A handler that indexes the raw payload crashes on such a delivery, and the
job queue retries the crash until it dead-letters the routing job. So every field a
handler needs is read here, once, by path, into a small frozen view; anything
unexpected raises :class:`~bot.errors.MalformedEvent` naming the field (never its
value), which the router logs and skips. Handlers and their pure cores see typed
values only.

The rules, from GitHub's payload descriptions
(https://docs.github.com/en/webhooks/webhook-events-and-payloads):

* ids and numbers are JSON integers in 1..2**63-1 (GitHub's ids are 64-bit); a boolean
  or a numeric string is not an id;
* text is a JSON string that encodes as UTF-8: JSON may carry lone surrogates
  (``"\\ud800"``), which neither git nor an HTTP body can;
* what the schema marks optional or nullable reads as None (or empty); a field that is
  present with another type is malformed;
* what goes into API paths and git commands (``owner/name``, commit SHAs, the numbers
  in our own check runs' ``external_id``) must match its ASCII shape: ``str.isdigit``
  accepts ``"²"``, which ``int`` refuses.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeGuard

from bot.errors import MalformedEvent
from bot.gate_runs import EXTERNAL_PREFIX
from bot.router import Event

MAX_ID: Final = 2**63 - 1
_REPO = re.compile(r"(?P<owner>[A-Za-z0-9_.-]{1,100})/(?P<name>[A-Za-z0-9_.-]{1,100})")
_DOTS = frozenset({".", ".."})  # would walk out of /repos/{owner}/{name}
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories
_TAGGED = re.compile(rf"{EXTERNAL_PREFIX}:(?P<tag>[A-Za-z0-9]{{1,16}}):(?P<number>[0-9]{{1,18}})")

Key = str | int  # an object's key, or an array's index
JSON_TYPES: Final[tuple[tuple[type, str], ...]] = (
    (type(None), "null"),
    (bool, "boolean"),  # before int: True is an int to Python, not to JSON
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (Mapping, "object"),
)


class _Missing(enum.Enum):
    """The value at a path that is not in the payload (None is JSON's null)."""

    MISSING = "missing"


MISSING: Final = _Missing.MISSING


def json_type(value: object) -> str:
    """The JSON name of ``value``'s type: what a reason may say instead of the value."""
    return next((name for kind, name in JSON_TYPES if isinstance(value, kind)), "unknown")


def dotted(path: tuple[Key, ...]) -> str:
    """``("issue", "labels", 0, "name")`` -> ``issue.labels[0].name``."""
    text = ""
    for key in path:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else key
    return text or "payload"


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Fields:
    """One event's payload read by path; every surprise is a MalformedEvent for that path."""

    def __init__(self, event: Event) -> None:
        self._event = event

    def malformed(self, path: tuple[Key, ...], reason: str) -> MalformedEvent:
        return MalformedEvent(self._event.name, self._event.action, dotted(path), reason)

    def get(self, *path: Key) -> object:
        """The value at ``path``, or MISSING; a step through a non-container is malformed."""
        value: object = self._event.payload
        for depth, key in enumerate(path):
            value = self._step(path[:depth], value, key)
            if value is MISSING:
                break
        return value

    def _step(self, at: tuple[Key, ...], value: object, key: Key) -> object:
        if isinstance(key, int):
            if not isinstance(value, list):
                raise self._expected(at, "an array", value)
            return value[key] if key < len(value) else MISSING
        if not isinstance(value, Mapping):
            raise self._expected(at, "an object", value)
        return value.get(key, MISSING)

    def id(self, *path: Key) -> int:
        """A GitHub id or number: a JSON integer in 1..2**63-1."""
        value = self.get(*path)
        if not _is_int(value):
            raise self._expected(path, "an integer", value)
        if not 1 <= value <= MAX_ID:
            raise self.malformed(path, "expected an id in 1..2**63-1")
        return value

    def text(self, *path: Key) -> str:
        """A required string."""
        value = self.optional_text(*path)
        if value is None:
            raise self._expected(path, "a string", self.get(*path))
        return value

    def optional_text(self, *path: Key) -> str | None:
        """A string, or None where the field is absent or null."""
        value = self.get(*path)
        if value is MISSING or value is None:
            return None
        if not isinstance(value, str):
            raise self._expected(path, "a string", value)
        if not _is_utf8(value):
            raise self.malformed(path, "expected text, got a lone surrogate")
        return value

    def shaped(self, pattern: re.Pattern[str], shape: str, *path: Key) -> re.Match[str]:
        """A required string matching ``pattern`` whole (``shape`` names it for people)."""
        match = pattern.fullmatch(self.text(*path))
        if match is None:
            raise self.malformed(path, f"expected {shape}")
        return match

    def has_object(self, *path: Key) -> bool:
        """Whether an optional object is there (absent and null both mean no)."""
        value = self.get(*path)
        if value is MISSING or value is None:
            return False
        if not isinstance(value, Mapping):
            raise self._expected(path, "an object", value)
        return True

    def indices(self, *path: Key) -> range:
        """The indices of the array at ``path``; none when it is absent or null."""
        value = self.get(*path)
        if value is MISSING or value is None:
            return range(0)
        if not isinstance(value, list):
            raise self._expected(path, "an array", value)
        return range(len(value))

    def ids_of(self, *path: Key, key: str = "number") -> tuple[int, ...]:
        """``item[key]`` of every item of an optional array (``pull_requests[].number``)."""
        return tuple(self.id(*path, index, key) for index in self.indices(*path))

    def texts_of(self, *path: Key, key: str = "name") -> tuple[str, ...]:
        """``item[key]`` of every item of an optional array (``labels[].name``)."""
        return tuple(self.text(*path, index, key) for index in self.indices(*path))

    def repo(self) -> str:
        """``repository.full_name``: ``owner/name``, safe to put in an API path."""
        path = ("repository", "full_name")
        match = self.shaped(_REPO, "owner/name", *path)
        if match["owner"] in _DOTS or match["name"] in _DOTS:
            raise self.malformed(path, "expected owner/name")
        return match.group()

    def sha(self, *path: Key) -> str:
        """A commit SHA: 40 (or 64) lowercase hex digits, safe to hand to git."""
        return self.shaped(_SHA, "a commit SHA", *path).group()

    def _expected(self, path: tuple[Key, ...], what: str, value: object) -> MalformedEvent:
        got = "missing" if value is MISSING else f"expected {what}, got {json_type(value)}"
        return self.malformed(path, got)


# ------------------------------------------------------------------------------- issues


@dataclass(frozen=True)
class Issue:
    """The ``issue`` of an ``issues`` or ``issue_comment`` event (pull requests are issues)."""

    number: int
    is_pull_request: bool
    labels: tuple[str, ...]

    @classmethod
    def read(cls, fields: Fields) -> Issue:
        return cls(
            number=fields.id("issue", "number"),
            is_pull_request=fields.has_object("issue", "pull_request"),
            labels=fields.texts_of("issue", "labels"),
        )


@dataclass(frozen=True)
class IssueEvent:
    """``issues.*``: the issue, the label (``labeled``/``unlabeled``) and the old body
    (``edited``, when the body changed)."""

    repo: str
    issue: Issue
    label: str | None = None
    previous_body: str | None = None

    @classmethod
    def from_event(cls, event: Event) -> IssueEvent:
        fields = Fields(event)
        return cls(
            repo=fields.repo(),
            issue=Issue.read(fields),
            label=fields.optional_text("label", "name"),
            previous_body=fields.optional_text("changes", "body", "from"),
        )


@dataclass(frozen=True)
class IssueCommentEvent:
    """``issue_comment.*``: the comment, its issue, and its old body (``edited``)."""

    repo: str
    issue: Issue
    comment_id: int
    body: str
    previous_body: str | None = None

    @classmethod
    def from_event(cls, event: Event) -> IssueCommentEvent:
        fields = Fields(event)
        return cls(
            repo=fields.repo(),
            issue=Issue.read(fields),
            comment_id=fields.id("comment", "id"),
            body=fields.optional_text("comment", "body") or "",
            previous_body=fields.optional_text("changes", "body", "from"),
        )


# --------------------------------------------------------------------- pulls and checks


@dataclass(frozen=True)
class PullRequestEvent:
    """``pull_request.*``: the pull request and its head."""

    repo: str
    number: int
    head_sha: str
    head_ref: str

    @classmethod
    def from_event(cls, event: Event) -> PullRequestEvent:
        fields = Fields(event)
        return cls(
            repo=fields.repo(),
            number=fields.id("pull_request", "number"),
            head_sha=fields.sha("pull_request", "head", "sha"),
            head_ref=fields.text("pull_request", "head", "ref"),
        )


@dataclass(frozen=True)
class ReviewCommentEvent:
    """``pull_request_review_comment.*``: a comment on a pull request's diff, its thread
    (``in_reply_to``: the thread's first comment, None for that first comment itself)."""

    repo: str
    number: int
    comment_id: int
    body: str
    in_reply_to: int | None

    @property
    def thread(self) -> int:
        return self.in_reply_to or self.comment_id

    @classmethod
    def from_event(cls, event: Event) -> ReviewCommentEvent:
        fields = Fields(event)
        reply_to = fields.get("comment", "in_reply_to_id")
        return cls(
            repo=fields.repo(),
            number=fields.id("pull_request", "number"),
            comment_id=fields.id("comment", "id"),
            body=fields.optional_text("comment", "body") or "",
            in_reply_to=None
            if reply_to in (MISSING, None)
            else fields.id("comment", "in_reply_to_id"),
        )


@dataclass(frozen=True)
class CheckSuiteEvent:
    """``check_suite.*``: the suite's head and the pull requests GitHub lists for it
    (none for forks). ``head_branch`` is ``""`` where GitHub sends null."""

    repo: str
    head_sha: str
    head_branch: str
    pull_numbers: tuple[int, ...]

    @classmethod
    def from_event(cls, event: Event) -> CheckSuiteEvent:
        fields = Fields(event)
        return cls(
            repo=fields.repo(),
            head_sha=fields.sha("check_suite", "head_sha"),
            head_branch=fields.optional_text("check_suite", "head_branch") or "",
            pull_numbers=fields.ids_of("check_suite", "pull_requests"),
        )


@dataclass(frozen=True)
class TaggedRun:
    """What TechLead wrote into its own check run's ``external_id``:
    ``techlead:<tag>:<pull request number>`` (the tag names the gate)."""

    tag: str
    number: int


@dataclass(frozen=True)
class CheckRunEvent:
    """``check_run.*``: the run's name, head and suite branch; ``tagged`` is its
    ``external_id`` when TechLead wrote it (None for every other App's run)."""

    repo: str
    head_sha: str
    name: str
    tagged: TaggedRun | None
    head_branch: str
    pull_numbers: tuple[int, ...]

    @classmethod
    def from_event(cls, event: Event) -> CheckRunEvent:
        fields = Fields(event)
        return cls(
            repo=fields.repo(),
            head_sha=fields.sha("check_run", "head_sha"),
            name=fields.text("check_run", "name"),
            tagged=_tagged(fields, "check_run", "external_id"),
            head_branch=fields.optional_text("check_run", "check_suite", "head_branch") or "",
            pull_numbers=fields.ids_of("check_run", "pull_requests"),
        )


def _tagged(fields: Fields, *path: Key) -> TaggedRun | None:
    """Our prefix claims the id is ours: then it must parse, as we never write another."""
    text = fields.optional_text(*path) or ""
    if not text.startswith(f"{EXTERNAL_PREFIX}:"):
        return None
    match = _TAGGED.fullmatch(text)
    # At most 18 ASCII digits: int() cannot fail, and the number fits in an id.
    if match is None or int(match["number"]) < 1:
        raise fields.malformed(path, f"expected {EXTERNAL_PREFIX}:<gate>:<pull request number>")
    return TaggedRun(match["tag"], int(match["number"]))
