"""What TechLead wants done on GitHub, as plain data that bot.executor applies idempotently.

Feature cores return these instead of calling GitHub, so deciding stays pure and every
write goes through one place that checks before writing. The set is open: a feature
adds its own action type (``CreateCheckRun``, ``CreateStatus``...) together with an
applier registered on :class:`bot.executor.Executor`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

REPLY_MARKER = "<!-- techlead:reply:{key} -->"


class Action(Protocol):
    """Every action names the repository (``owner/name``) it writes to."""

    @property
    def repo(self) -> str: ...


class Reaction(enum.StrEnum):
    """GitHub's reaction contents."""

    PLUS_ONE = "+1"
    MINUS_ONE = "-1"
    LAUGH = "laugh"
    CONFUSED = "confused"
    HEART = "heart"
    HOORAY = "hooray"
    ROCKET = "rocket"
    EYES = "eyes"


@dataclass(frozen=True)
class UpsertComment:
    """The one comment on ``issue`` whose body starts with ``marker``: created once, then edited.

    ``merge_ticks`` keeps control boxes a person ticked since ``body`` was rendered: the
    executor re-reads the comment right before writing and carries those ticks over.
    ``comment_id`` is where the comment was last seen (a hint that saves listing every
    comment; the marker decides).
    """

    repo: str
    issue: int
    marker: str
    body: str
    merge_ticks: bool = False
    comment_id: int | None = None


@dataclass(frozen=True)
class ReplyComment:
    """An answer on ``issue`` to one trigger (a command comment, a tick, a label).

    ``key`` names the trigger (a comment id, ``label-<delivery>``); the body carries
    ``<!-- techlead:reply:{key} -->`` so answering the same trigger again edits the
    reply instead of adding another.
    """

    repo: str
    issue: int
    key: str
    body: str

    @property
    def marker(self) -> str:
        return reply_marker(self.key)


@dataclass(frozen=True)
class CreateReaction:
    """A reaction on a comment (``comment_id``) or, without one, on the issue itself."""

    repo: str
    content: Reaction
    comment_id: int | None = None
    issue: int | None = None

    def __post_init__(self) -> None:
        if (self.comment_id is None) == (self.issue is None):
            raise ValueError("a reaction goes on exactly one of a comment or an issue")


def reply_marker(key: str) -> str:
    """The hidden marker of the reply to ``key``; keys are single tokens (no spaces)."""
    if not key or any(char.isspace() or char in "<>" for char in key):
        raise ValueError(f"not a usable reply key: {key!r}")
    return REPLY_MARKER.format(key=key)
