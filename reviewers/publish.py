"""From a stream's comments to one GitHub review, and from earlier reviews to what is new.

Pure: comments and what is already on the pull request in, review payloads and replies
out. Rules it keeps (https://docs.github.com/en/rest/pulls/reviews):

* at most ``MAX_INLINE`` inline comments per review, most severe first; the rest are
  listed in the review's body, so nothing is lost and the review stays readable;
* each comment carries a hidden fingerprint; a comment whose fingerprint is already on
  the pull request is not posted again, and one whose finding disappeared gets a short
  "Fixed in <sha>" reply (threads are never deleted: the discussion stays);
* ``REQUEST_CHANGES`` only when the repository asks for it and a blocking finding is new.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reviewers import texts
from reviewers.anchor import Anchor, Diff, Placement, suggestion
from reviewers.model import Comment, Stream

MAX_INLINE = 30
MAX_BODY_ITEMS = 100
_MARKER = re.compile(
    r"<!-- techlead:review stream=([a-z-]{1,20}) rule=([^\s>]{1,80}) fp=([0-9a-f]{16}) -->"
)
_FIXED = re.compile(r"<!-- techlead:review-fixed fp=([0-9a-f]{16}) -->")


class Event(enum.StrEnum):
    COMMENT = "COMMENT"
    REQUEST_CHANGES = "REQUEST_CHANGES"


@dataclass(frozen=True)
class Posted:
    """A review comment already on the pull request, as the API lists it."""

    id: int
    body: str
    in_reply_to: int | None = None

    @property
    def marker(self) -> tuple[str, str] | None:
        """(stream, fingerprint) of a TechLead review comment; None for anyone else's."""
        found = _MARKER.search(self.body)
        return (found.group(1), found.group(3)) if found else None

    @property
    def rule(self) -> str | None:
        found = _MARKER.search(self.body)
        return found.group(2) if found else None

    @property
    def fixed(self) -> str | None:
        found = _FIXED.search(self.body)
        return found.group(1) if found else None


@dataclass(frozen=True)
class Inline:
    comment: Comment
    anchor: Anchor
    body: str

    def api(self) -> dict[str, object]:
        return {**self.anchor.api_fields(), "body": self.body}


@dataclass(frozen=True)
class Review:
    """One stream's review for one head commit (``inline`` may be empty: body only)."""

    stream: Stream
    sha: str
    event: Event
    body: str
    inline: tuple[Inline, ...]
    new: tuple[Comment, ...]


@dataclass(frozen=True)
class Reply:
    """A "Fixed in" reply to comment ``to`` whose finding is gone."""

    to: int
    body: str


def marker(comment: Comment) -> str:
    rule = re.sub(r"[^A-Za-z0-9_./:-]", "_", comment.rule)[:80] or "-"
    return texts.MARKER.format(
        stream=comment.stream.value, rule=rule, fingerprint=comment.fingerprint
    )


def unsuppressed(comments: Iterable[Comment], suppressed: frozenset[str]) -> list[Comment]:
    """The comments no reviewed suppression (``/techlead ignore``) covers."""
    return [c for c in comments if c.fingerprint not in suppressed and c.origin not in suppressed]


def render(comment: Comment, anchor: Anchor, exact: bool) -> str:
    """The comment's text: title, explanation, the suggestion, the hidden fingerprint."""
    extra = ""
    if comment.suggestion is not None and exact:
        extra = texts.SUGGESTION.format(block=suggestion(comment.suggestion))
    elif comment.suggestion is not None:
        block = suggestion(comment.suggestion).replace("suggestion\n", "python\n", 1)
        end = comment.end_line or comment.line
        extra = texts.SUGGESTION_AS_TEXT.format(start=comment.line, end=end, block=block)
    return texts.COMMENT.format(
        title=comment.title, body=comment.body, suggestion=extra, marker=marker(comment)
    )


def place(diff: Diff, comment: Comment) -> tuple[Anchor, bool]:
    """Where the comment goes, and whether its suggestion can be offered there."""
    end = comment.end_line or comment.line
    if comment.line < 1:
        file = diff.get(comment.path)
        placement = Placement.FILE if file is not None else Placement.BODY
        return Anchor(placement, file.path if file else comment.path), False
    if comment.suggestion is not None:
        exact = diff.place_exact(comment.path, comment.line, end)
        if exact is not None:
            return exact, True
    return diff.place(comment.path, comment.line, end), False


def build(
    stream: Stream,
    sha: str,
    diff: Diff,
    comments: Iterable[Comment],
    posted: Sequence[Posted],
    *,
    request_changes: bool = False,
) -> Review | None:
    """The review to post for ``stream`` at ``sha``, or None when nothing is new."""
    seen = {mark[1] for p in posted if (mark := p.marker) is not None}
    new = sorted(
        (c for c in _unique(comments) if c.fingerprint not in seen), key=lambda c: c.sort_key
    )
    if not new:
        return None
    inline: list[Inline] = []
    overflow: list[Comment] = []
    elsewhere: list[Comment] = []
    for comment in new:
        anchor, exact = place(diff, comment)
        if anchor.placement is Placement.BODY:
            elsewhere.append(comment)
        elif len(inline) < MAX_INLINE:
            inline.append(Inline(comment, anchor, render(comment, anchor, exact)))
        else:
            overflow.append(comment)
    blocking = request_changes and any(c.blocking for c in new)
    event = Event.REQUEST_CHANGES if blocking else Event.COMMENT
    body = _body(stream, sha, new, overflow, elsewhere)
    return Review(stream, sha, event, body, tuple(inline), tuple(new))


def fixed_replies(
    stream: Stream, sha: str, comments: Iterable[Comment], posted: Sequence[Posted]
) -> list[Reply]:
    """ "Fixed in <sha>" for each of the stream's threads whose finding is gone, once."""
    current = {c.fingerprint for c in comments}
    answered = {p.fixed for p in posted if p.fixed}
    replies = []
    for p in posted:
        mark = p.marker
        if p.in_reply_to is not None or mark is None or mark[0] != stream.value:
            continue
        fingerprint = mark[1]
        if fingerprint in current or fingerprint in answered:
            continue
        body = texts.FIXED_REPLY.format(
            sha=sha, marker=texts.FIXED_MARKER.format(fingerprint=fingerprint)
        )
        replies.append(Reply(p.id, body))
    return replies


def _unique(comments: Iterable[Comment]) -> list[Comment]:
    """One comment per fingerprint (two tools saying the same thing at one place)."""
    return list({c.fingerprint: c for c in reversed(list(comments))}.values())[::-1]


def _body(
    stream: Stream, sha: str, new: list[Comment], overflow: list[Comment], elsewhere: list[Comment]
) -> str:
    counts = _counts(new)
    more = texts.REVIEW_MORE.format(count=len(overflow), items=_items(overflow)) if overflow else ""
    away = texts.REVIEW_ELSEWHERE.format(items=_items(elsewhere)) if elsewhere else ""
    return texts.REVIEW_BODY.format(
        heading=stream.heading, sha=sha[:7], counts=counts, more=more, elsewhere=away
    )


def _counts(comments: Sequence[Comment]) -> str:
    by_severity: dict[str, int] = {}
    for comment in comments:
        by_severity[comment.severity.value] = by_severity.get(comment.severity.value, 0) + 1
    parts = [f"{count} {severity}" for severity, count in by_severity.items()]
    return f"{len(comments)} new finding(s) ({', '.join(parts)})"


def _items(comments: Sequence[Comment]) -> str:
    shown = [
        texts.REVIEW_ITEM.format(
            path=c.path, where=f":{c.line}" if c.line > 0 else "", title=c.title
        )
        for c in comments[:MAX_BODY_ITEMS]
    ]
    if len(comments) > MAX_BODY_ITEMS:
        shown.append(f"- ... and {len(comments) - MAX_BODY_ITEMS} more")
    return "\n".join(shown)
