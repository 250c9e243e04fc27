"""Applies Actions through the GitHub port, idempotently: check before writing, never duplicate.

* :class:`~bot.actions.UpsertComment` finds its comment by marker (trying the known id
  first), re-reads it right before writing, merges ticks a person made meanwhile
  (:func:`bot.plan.checklist.merge_ticks`, the Renovate #4355 lesson) and writes only
  when the body changes. It creates a comment only when none carries the marker.
* :class:`~bot.actions.ReplyComment` does the same with its per-trigger reply marker.
* :class:`~bot.actions.CreateReaction` relies on GitHub: adding a reaction the user
  already left answers 200 with the existing one, so a repeat changes nothing.

GitHub errors are not caught here: they reach the job, whose queue retries it (or
pauses the installation on a rate limit); re-applying the same actions is harmless.
New action kinds plug in with :meth:`Executor.register`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.actions import CreateReaction, ReplyComment, UpsertComment
from bot.errors import GitHubNotFound
from bot.plan.checklist import merge_ticks
from bot.ports import CommentInfo, GitHubPort


class Effect(enum.StrEnum):
    """What applying an action changed on GitHub."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Applied:
    """One applied action; ``id`` is the comment written or found, when there is one."""

    action: object
    effect: Effect
    id: int | None = None


Applier = Callable[[GitHubPort, Any], Applied]


class Executor:
    """Applies actions in order through one GitHub port."""

    def __init__(self, github: GitHubPort, appliers: Mapping[type, Applier] | None = None) -> None:
        self._github = github
        self._appliers: dict[type, Applier] = dict(DEFAULT_APPLIERS)
        self._appliers.update(appliers or {})

    def register(self, kind: type, applier: Applier) -> None:
        """Teach the executor a new action type (a later feature's check runs, statuses...)."""
        self._appliers[kind] = applier

    def apply(self, actions: Iterable[object]) -> list[Applied]:
        """Apply each action; the first GitHub error propagates (earlier writes stay done)."""
        return [self.apply_one(action) for action in actions]

    def apply_one(self, action: object) -> Applied:
        applier = self._appliers.get(type(action))
        if applier is None:
            raise TypeError(f"no applier for {type(action).__name__}")
        return applier(self._github, action)


# ------------------------------------------------------------------------------ comments


def upsert_comment(github: GitHubPort, action: UpsertComment) -> Applied:
    current = locate(github, action.repo, action.issue, action.marker, action.comment_id)
    if current is None:
        created = github.create_comment(action.repo, action.issue, action.body)
        return Applied(action, Effect.CREATED, created.id)
    body = merge_ticks(current.body, action.body) if action.merge_ticks else action.body
    return _edit_if_changed(github, action, current, body)


def reply_comment(github: GitHubPort, action: ReplyComment) -> Applied:
    body = f"{action.marker}\n{action.body}"
    current = locate(github, action.repo, action.issue, action.marker)
    if current is None:
        created = github.create_comment(action.repo, action.issue, body)
        return Applied(action, Effect.CREATED, created.id)
    return _edit_if_changed(github, action, current, body)


def _edit_if_changed(
    github: GitHubPort, action: UpsertComment | ReplyComment, current: CommentInfo, body: str
) -> Applied:
    if same_text(current.body, body):
        return Applied(action, Effect.UNCHANGED, current.id)
    edited = github.edit_comment(action.repo, current.id, body)
    return Applied(action, Effect.UPDATED, edited.id)


def locate(
    github: GitHubPort, repo: str, issue: int, marker: str, hint: int | None = None
) -> CommentInfo | None:
    """The comment whose body starts with ``marker``, read fresh from GitHub.

    A known id is tried first (one request); if that comment is gone or no longer
    carries the marker, every comment of the issue is searched. A comment that only
    quotes the marker further down is not it.
    """
    if hint is not None:
        try:
            found = github.get_comment(repo, hint)
        except GitHubNotFound:
            found = None
        if found is not None and carries(found.body, marker):
            return found
    return next((c for c in github.list_comments(repo, issue) if carries(c.body, marker)), None)


def carries(body: str, marker: str) -> bool:
    return body.lstrip().startswith(marker)


def same_text(left: str, right: str) -> bool:
    """Equal up to line endings and surrounding blank space (editors add ``\\r\\n``)."""
    return _normal(left) == _normal(right)


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


# ----------------------------------------------------------------------------- reactions


def create_reaction(github: GitHubPort, action: CreateReaction) -> Applied:
    content = action.content.value
    if action.comment_id is not None:
        github.add_comment_reaction(action.repo, action.comment_id, content)
    else:
        assert action.issue is not None
        github.add_issue_reaction(action.repo, action.issue, content)
    return Applied(action, Effect.CREATED)


DEFAULT_APPLIERS: Mapping[type, Applier] = {
    UpsertComment: upsert_comment,
    ReplyComment: reply_comment,
    CreateReaction: create_reaction,
}
