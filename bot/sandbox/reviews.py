"""Pull request reviews and review comments: anchored on the diff, outdated by later pushes.

Placement rules live in :mod:`bot.sandbox.diffs`. One comment that cannot be placed
rejects the whole review, and nothing is stored. The review endpoints answer 422 as
GitHub does, ``{"message": "Unprocessable Entity", "errors": ["<sentences>"]}``; the
single-comment endpoint answers ``Validation Failed`` with one error per field.

When a push moves the head, every comment still placed is followed to the new head:
a comment whose lines changed (or left the diff) becomes outdated (``line`` and
``position`` null; ``original_*`` kept), as on GitHub.
https://docs.github.com/en/rest/pulls/reviews
https://docs.github.com/en/rest/pulls/comments
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.sandbox import builders, diffs
from bot.sandbox.clock import parse_iso
from bot.sandbox.diffs import AnchorError, FileDiff, Side
from bot.sandbox.protocol import ApiError, Reply, not_found
from bot.sandbox.pulls import (
    PullRequest,
    PullService,
    base_sha,
    drop_requested_reviewer,
    find_pull,
    pull_payload,
    service_of,
)
from bot.sandbox.routing import Ctx, Router, created, no_content
from bot.sandbox.state import Reaction, Repo, Role, State

if TYPE_CHECKING:
    from bot.sandbox.sandbox import Sandbox

router = Router()

EXTENSION = "reviews"
FILE_COMMENT_LINE = 1


class ReviewState(enum.StrEnum):
    PENDING = "PENDING"
    COMMENTED = "COMMENTED"
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    DISMISSED = "DISMISSED"


STATE_OF_EVENT = {
    "APPROVE": ReviewState.APPROVED,
    "REQUEST_CHANGES": ReviewState.CHANGES_REQUESTED,
    "COMMENT": ReviewState.COMMENTED,
}


class Text:
    """GitHub's wording for review refusals."""

    UNPROCESSABLE = "Unprocessable Entity"
    BODY_BLANK = "Body can't be blank"
    OWN_APPROVE = "Can not approve your own pull request"
    OWN_REQUEST_CHANGES = "Can not request changes on your own pull request"
    ONE_PENDING = "User can only have one pending review per pull request"
    NOT_PENDING = "Can not submit a non-pending review"
    COMMIT_UNKNOWN = "Commit id could not be resolved"
    REPLY_TO_REPLY = "Replies to a reply are not supported; reply to the first comment"


@dataclass
class Review:
    id: int
    number: int
    user_id: int
    body: str
    state: ReviewState
    commit_id: str
    created_at: float
    submitted_at: float | None = None


@dataclass
class ReviewComment:
    id: int
    review_id: int
    number: int
    user_id: int
    body: str
    path: str
    subject_type: str
    side: str | None
    line: int | None
    start_side: str | None
    start_line: int | None
    position: int | None
    original_line: int | None
    original_start_line: int | None
    original_position: int | None
    commit_id: str
    original_commit_id: str
    diff_hunk: str
    created_at: float
    updated_at: float
    # The merge base the LEFT side refers to while the comment is placed.
    base_sha: str = ""
    in_reply_to_id: int | None = None
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class ReviewData:
    reviews: dict[int, Review] = field(default_factory=dict)
    comments: dict[int, ReviewComment] = field(default_factory=dict)


def data_of(repo: Repo) -> ReviewData:
    found: ReviewData = repo.extensions.setdefault(EXTENSION, ReviewData())
    return found


# --- module hooks ---------------------------------------------------------------------------


def install(sandbox: Sandbox) -> None:
    service = service_of(sandbox.services)
    service.head_listeners.append(
        lambda state, repo, pr, before, after: follow_comments(service, repo, pr, after)
    )
    service.review_comment_count = lambda repo, number: sum(
        1 for c in data_of(repo).comments.values() if c.number == number
    )


# --- rendering and events -------------------------------------------------------------------


class ReviewRejected(ApiError):
    """GitHub's review 422: ``errors`` is one plain string joining every problem.

    (GitHub's description allows only objects there; GitHub itself sends strings.)
    """

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__(422, Text.UNPROCESSABLE)
        self.sentence = diffs.join_messages(list(dict.fromkeys(messages)))

    def reply(self) -> Reply:
        answer = super().reply()
        answer.body = {"message": self.message, "errors": [self.sentence]} | answer.body
        return answer


def _unprocessable(messages: Sequence[str]) -> ApiError:
    return ReviewRejected(messages)


def _review_payload(ctx: Ctx, review: Review) -> Callable[[Any], dict[str, Any]]:
    state, repo = ctx.state, ctx.repo
    pull_part = _pull_part(service_of(ctx.services), state, repo, review.number)

    def build(urls: builders.Urls) -> dict[str, Any]:
        return {"review": builders.pull_review(urls, state, repo, review)} | pull_part(urls)

    return build


def _comment_payload(
    ctx: Ctx, comment: ReviewComment, extra: dict[str, Any] | None = None
) -> Callable[[Any], dict[str, Any]]:
    state, repo = ctx.state, ctx.repo
    pull_part = _pull_part(service_of(ctx.services), state, repo, comment.number)

    def build(urls: builders.Urls) -> dict[str, Any]:
        body = {"comment": builders.review_comment(urls, state, repo, comment)}
        return body | pull_part(urls) | (extra or {})

    return build


def _pull_part(
    service: PullService, state: State, repo: Repo, number: int
) -> Callable[[Any], dict[str, Any]]:
    payload = pull_payload(state, service, repo, number)
    return lambda urls: {"pull_request": payload(urls)["pull_request"]}


def render_review(ctx: Ctx, review: Review) -> dict[str, Any]:
    return builders.pull_review(ctx.urls, ctx.state, ctx.repo, review)


def render_comment(ctx: Ctx, comment: ReviewComment) -> dict[str, Any]:
    return builders.review_comment(ctx.urls, ctx.state, ctx.repo, comment)


# --- placing comments -----------------------------------------------------------------------


def _commit_for(ctx: Ctx, pr: PullRequest) -> str:
    wanted = ctx.field("commit_id") or pr.head_sha
    sha = ctx.repo.git.resolve(str(wanted))
    if sha is None or not sha.startswith(str(wanted).lower()):
        raise _unprocessable([Text.COMMIT_UNKNOWN])
    return sha


def _files_at(ctx: Ctx, pr: PullRequest, commit: str) -> tuple[list[FileDiff], str]:
    """The pull request's diff as of ``commit``, and the merge base it starts from."""
    service = service_of(ctx.services)
    base = base_sha(ctx.repo, pr)
    start = service.merge_base(ctx.repo, base, commit) or base
    return service.files(ctx.repo, start, commit), start


def _request(raw: dict[str, Any]) -> diffs.Request:
    return diffs.Request(
        path=str(raw.get("path", "")),
        line=raw.get("line"),
        side=raw.get("side"),
        start_line=raw.get("start_line"),
        start_side=raw.get("start_side"),
        position=raw.get("position"),
        subject_type=raw.get("subject_type"),
    )


def _new_comment(
    ctx: Ctx, review: Review, raw: dict[str, Any], placed: diffs.Anchor, base: str
) -> ReviewComment:
    now = ctx.now
    return ReviewComment(
        id=ctx.state.next_id(),
        review_id=review.id,
        number=review.number,
        user_id=ctx.actor.id,
        body=str(raw.get("body", "")),
        path=placed.path,
        subject_type=placed.subject_type,
        side=placed.side.value if placed.side else None,
        line=placed.line,
        start_side=placed.start_side.value if placed.start_side else None,
        start_line=placed.start_line,
        position=placed.position,
        # A file-level comment has no line; GitHub's schemas still want numbers here.
        original_line=placed.line if placed.line is not None else FILE_COMMENT_LINE,
        original_start_line=placed.start_line,
        original_position=placed.position if placed.position is not None else FILE_COMMENT_LINE,
        commit_id=review.commit_id,
        original_commit_id=review.commit_id,
        diff_hunk=placed.diff_hunk,
        created_at=now,
        updated_at=now,
        base_sha=base,
    )


def place_all(files: Sequence[FileDiff], raws: Sequence[dict[str, Any]]) -> list[diffs.Anchor]:
    """Every comment's anchor, or :class:`AnchorError` with all problems (nothing stored)."""
    placed: list[diffs.Anchor] = []
    problems: list[str] = []
    for raw in raws:
        try:
            placed.append(diffs.anchor(files, _request(raw)))
        except AnchorError as error:
            problems.extend(error.messages)
    if problems:
        raise AnchorError(problems)
    return placed


# --- reviews ------------------------------------------------------------------------------


def _check_review(ctx: Ctx, issue_user: int, event: str | None, comments: list[Any]) -> None:
    body = ctx.field("body") or ""
    if event == "REQUEST_CHANGES" and not body:
        raise _unprocessable([Text.BODY_BLANK])
    if event == "COMMENT" and not body and not comments:
        raise _unprocessable([Text.BODY_BLANK])
    if issue_user == ctx.actor.id and event == "APPROVE":
        raise _unprocessable([Text.OWN_APPROVE])
    if issue_user == ctx.actor.id and event == "REQUEST_CHANGES":
        raise _unprocessable([Text.OWN_REQUEST_CHANGES])
    if event is None and any(
        r.user_id == ctx.actor.id
        and r.state is ReviewState.PENDING
        and r.number == ctx.params["pull_number"]
        for r in data_of(ctx.repo).reviews.values()
    ):
        raise _unprocessable([Text.ONE_PENDING])


@router.post("/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def create_review(ctx: Ctx) -> dict[str, Any]:
    issue, pr = find_pull(ctx)
    event = ctx.field("event")
    raws = list(ctx.field("comments") or [])
    _check_review(ctx, issue.user_id, event, raws)
    commit = _commit_for(ctx, pr)
    files, base = _files_at(ctx, pr, commit)
    try:
        placed = place_all(files, raws)
    except AnchorError as error:
        raise _unprocessable(error.messages) from error
    review = Review(
        id=ctx.state.next_id(),
        number=pr.number,
        user_id=ctx.actor.id,
        body=str(ctx.field("body") or ""),
        state=STATE_OF_EVENT.get(event or "", ReviewState.PENDING),
        commit_id=commit,
        created_at=ctx.now,
    )
    data = data_of(ctx.repo)
    data.reviews[review.id] = review
    stored = [
        _new_comment(ctx, review, raw, anchor, base)
        for raw, anchor in zip(raws, placed, strict=True)
    ]
    for comment in stored:
        data.comments[comment.id] = comment
    if commit != pr.head_sha:
        follow_comments(service_of(ctx.services), ctx.repo, pr, pr.head_sha, stored)
    if review.state is not ReviewState.PENDING:
        _submitted(ctx, review, stored)
    return render_review(ctx, review)


def _submitted(ctx: Ctx, review: Review, comments: Sequence[ReviewComment]) -> None:
    review.submitted_at = ctx.now
    ctx.repo.issues[review.number].updated_at = ctx.now
    drop_requested_reviewer(ctx.repo, review.number, review.user_id)
    for comment in comments:
        comment.created_at = comment.updated_at = ctx.now
        ctx.emit("pull_request_review_comment", "created", _comment_payload(ctx, comment))
    ctx.emit("pull_request_review", "submitted", _review_payload(ctx, review))


def _find_review(ctx: Ctx) -> Review:
    review = data_of(ctx.repo).reviews.get(ctx.params["review_id"])
    if review is None or review.number != ctx.params["pull_number"]:
        raise not_found()
    if review.state is ReviewState.PENDING and review.user_id != ctx.actor.id:
        raise not_found()  # other people's pending reviews are invisible
    return review


def _visible(ctx: Ctx, review: Review) -> bool:
    user = ctx.principal.user
    return review.state is not ReviewState.PENDING or (
        user is not None and user.id == review.user_id
    )


@router.get("/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def list_reviews(ctx: Ctx) -> Reply:
    _, pr = find_pull(ctx)
    found = [
        r for r in data_of(ctx.repo).reviews.values() if r.number == pr.number and _visible(ctx, r)
    ]
    found.sort(key=lambda r: r.id)
    return ctx.paginate(found, lambda r: render_review(ctx, r))


@router.get("/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}")
def get_review(ctx: Ctx) -> dict[str, Any]:
    find_pull(ctx)
    return render_review(ctx, _find_review(ctx))


@router.put("/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}")
def update_review(ctx: Ctx) -> dict[str, Any]:
    find_pull(ctx)
    review = _find_review(ctx)
    review.body = str(ctx.body["body"])
    return render_review(ctx, review)


@router.delete("/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}")
def delete_pending_review(ctx: Ctx) -> dict[str, Any]:
    find_pull(ctx)
    review = _find_review(ctx)
    if review.state is not ReviewState.PENDING:
        raise _unprocessable([Text.NOT_PENDING])
    data = data_of(ctx.repo)
    del data.reviews[review.id]
    for comment_id in [c.id for c in data.comments.values() if c.review_id == review.id]:
        del data.comments[comment_id]
    return render_review(ctx, review)


@router.post("/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/events")
def submit_review(ctx: Ctx) -> dict[str, Any]:
    issue, _ = find_pull(ctx)
    review = _find_review(ctx)
    if review.state is not ReviewState.PENDING:
        raise _unprocessable([Text.NOT_PENDING])
    event = str(ctx.body["event"])
    comments = [c for c in data_of(ctx.repo).comments.values() if c.review_id == review.id]
    _check_review(ctx, issue.user_id, event, comments)
    if ctx.field("body"):
        review.body = str(ctx.body["body"])
    review.state = STATE_OF_EVENT[event]
    _submitted(ctx, review, comments)
    return render_review(ctx, review)


@router.put("/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals")
def dismiss_review(ctx: Ctx) -> dict[str, Any]:
    find_pull(ctx)
    review = _find_review(ctx)
    if review.state is ReviewState.PENDING:
        raise _unprocessable([Text.NOT_PENDING])
    review.state = ReviewState.DISMISSED
    ctx.emit("pull_request_review", "dismissed", _review_payload(ctx, review))
    return render_review(ctx, review)


@router.get("/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments")
def list_review_comments_of_review(ctx: Ctx) -> Reply:
    find_pull(ctx)
    review = _find_review(ctx)
    found = sorted(
        (c for c in data_of(ctx.repo).comments.values() if c.review_id == review.id),
        key=lambda c: c.id,
    )
    return ctx.paginate(found, lambda c: render_comment(ctx, c))


# --- single review comments and replies ---------------------------------------------------


def _validation_failed(error: AnchorError) -> ApiError:
    """The single-comment endpoint's 422: one error per failing field."""
    errors = [
        {
            "resource": "PullRequestReviewComment",
            "code": "custom",
            "field": name,
            "message": f"{name} {message}" if name.startswith("pull_request") else message,
        }
        for name, message in error.fields
    ] or [{"resource": "PullRequestReviewComment", "code": "custom", "message": str(error)}]
    return ApiError(422, "Validation Failed", errors=errors)


def _single_review(ctx: Ctx, pr: PullRequest, commit: str) -> Review:
    review = Review(
        id=ctx.state.next_id(),
        number=pr.number,
        user_id=ctx.actor.id,
        body="",
        state=ReviewState.COMMENTED,
        commit_id=commit,
        created_at=ctx.now,
    )
    data_of(ctx.repo).reviews[review.id] = review
    return review


def _find_comment(ctx: Ctx, comment_id: int | None = None) -> ReviewComment:
    wanted = ctx.params["comment_id"] if comment_id is None else comment_id
    comment = data_of(ctx.repo).comments.get(wanted)
    if comment is None:
        raise not_found()
    return comment


@router.post("/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def create_review_comment(ctx: Ctx) -> Reply:
    _, pr = find_pull(ctx)
    reply_to = ctx.field("in_reply_to")
    if reply_to is not None:
        return _reply(ctx, pr, _find_comment(ctx, int(reply_to)))
    commit = _commit_for(ctx, pr)
    files, base = _files_at(ctx, pr, commit)
    try:
        placed = diffs.anchor(files, _request(ctx.body))
    except AnchorError as error:
        raise _validation_failed(error) from error
    review = _single_review(ctx, pr, commit)
    comment = _new_comment(ctx, review, ctx.body, placed, base)
    data_of(ctx.repo).comments[comment.id] = comment
    if commit != pr.head_sha:
        follow_comments(service_of(ctx.services), ctx.repo, pr, pr.head_sha, [comment])
    _submitted(ctx, review, [comment])
    return created(render_comment(ctx, comment))


def _reply(ctx: Ctx, pr: PullRequest, parent: ReviewComment) -> Reply:
    if parent.number != pr.number:
        raise not_found()
    root = parent
    if parent.in_reply_to_id is not None:
        root = data_of(ctx.repo).comments.get(parent.in_reply_to_id, parent)
    review = _single_review(ctx, pr, root.commit_id)
    now = ctx.now
    comment = ReviewComment(
        **{
            **root.__dict__,
            "id": ctx.state.next_id(),
            "review_id": review.id,
            "user_id": ctx.actor.id,
            "body": str(ctx.body["body"]),
            "created_at": now,
            "updated_at": now,
            "in_reply_to_id": root.id,
            "reactions": [],
        }
    )
    data_of(ctx.repo).comments[comment.id] = comment
    _submitted(ctx, review, [comment])
    return created(render_comment(ctx, comment))


@router.post("/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies")
def create_reply(ctx: Ctx) -> Reply:
    _, pr = find_pull(ctx)
    return _reply(ctx, pr, _find_comment(ctx))


def _sorted(ctx: Ctx, comments: list[ReviewComment]) -> list[ReviewComment]:
    since = ctx.query.get("since")
    if since:
        limit = parse_iso(since)
        comments = [c for c in comments if c.updated_at >= limit]
    key = (
        (lambda c: (c.updated_at, c.id))
        if ctx.query.get("sort") == "updated"
        else (lambda c: (c.created_at, c.id))
    )
    return sorted(comments, key=key, reverse=ctx.query.get("direction") == "desc")


def _listed(ctx: Ctx, comment: ReviewComment) -> bool:
    review = data_of(ctx.repo).reviews.get(comment.review_id)
    return review is not None and _visible(ctx, review)


@router.get("/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def list_review_comments(ctx: Ctx) -> Reply:
    _, pr = find_pull(ctx)
    found = [
        c for c in data_of(ctx.repo).comments.values() if c.number == pr.number and _listed(ctx, c)
    ]
    return ctx.paginate(_sorted(ctx, found), lambda c: render_comment(ctx, c))


@router.get("/repos/{owner}/{repo}/pulls/comments")
def list_repo_review_comments(ctx: Ctx) -> Reply:
    found = [c for c in data_of(ctx.repo).comments.values() if _listed(ctx, c)]
    return ctx.paginate(_sorted(ctx, found), lambda c: render_comment(ctx, c))


@router.get("/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def get_review_comment(ctx: Ctx) -> dict[str, Any]:
    comment = _find_comment(ctx)
    if not _listed(ctx, comment):
        raise not_found()
    return render_comment(ctx, comment)


def _check_author_or_write(ctx: Ctx, comment: ReviewComment) -> None:
    if ctx.principal.installation is not None or comment.user_id == ctx.actor.id:
        return
    if not ctx.state.role_of(ctx.repo, ctx.actor.id).at_least(Role.WRITE):
        raise ApiError(403, "Must have write access to change other people's comments")


@router.patch("/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def update_review_comment(ctx: Ctx) -> dict[str, Any]:
    comment = _find_comment(ctx)
    _check_author_or_write(ctx, comment)
    before = comment.body
    comment.body = str(ctx.body["body"])
    comment.updated_at = ctx.now
    if before != comment.body:
        extra = {"changes": {"body": {"from": before}}}
        ctx.emit("pull_request_review_comment", "edited", _comment_payload(ctx, comment, extra))
    return render_comment(ctx, comment)


@router.delete("/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def delete_review_comment(ctx: Ctx) -> Reply:
    comment = _find_comment(ctx)
    _check_author_or_write(ctx, comment)
    ctx.emit("pull_request_review_comment", "deleted", _comment_payload(ctx, comment))
    del data_of(ctx.repo).comments[comment.id]
    return no_content()


# --- following comments to a new head -------------------------------------------------------


def follow_comments(
    service: PullService,
    repo: Repo,
    pr: PullRequest,
    head: str,
    only: Sequence[ReviewComment] | None = None,
) -> None:
    """Re-place placed line comments on ``head``; those whose lines changed become outdated."""
    comments = (
        list(only)
        if only is not None
        else [c for c in data_of(repo).comments.values() if c.number == pr.number]
    )
    base = base_sha(repo, pr)
    start = service.merge_base(repo, base, head) or base
    files = service.files(repo, start, head)
    for comment in comments:
        if comment.subject_type == "line" and comment.position is not None:
            _follow(repo, comment, files, head, start)


def _follow(
    repo: Repo, comment: ReviewComment, files: list[FileDiff], head: str, start: str
) -> None:
    line = _moved(repo, comment, comment.side, comment.line, head, start)
    start_line = None
    if comment.start_line is not None:
        start_line = _moved(repo, comment, comment.start_side, comment.start_line, head, start)
    request = diffs.Request(
        path=comment.path,
        line=line,
        side=comment.side,
        start_line=start_line,
        start_side=comment.start_side if comment.start_line is not None else None,
    )
    try:
        if line is None or (comment.start_line is not None and start_line is None):
            raise AnchorError([diffs.Msg.LINE_NOT_IN_DIFF])
        placed = diffs.anchor(files, request)
    except AnchorError:
        comment.line = comment.start_line = comment.position = None
        return
    comment.line, comment.start_line, comment.position = (
        placed.line,
        placed.start_line,
        placed.position,
    )
    comment.commit_id, comment.base_sha = head, start


def _moved(
    repo: Repo, comment: ReviewComment, side: str | None, line: int | None, head: str, start: str
) -> int | None:
    """Where ``line`` of the comment's side is after the move; None when it changed."""
    if line is None:
        return None
    if side == Side.LEFT:
        old, new = comment.base_sha, start
    else:
        old, new = comment.commit_id, head
    if old == new:
        return line
    changes = diffs.line_changes(repo.git, old, new, comment.path)
    return None if changes is None else diffs.follow_line(changes, line)


def pull_comments(repo: Repo, number: int) -> list[ReviewComment]:
    """Every review comment of a pull request (tests and the admin surface)."""
    return [c for c in data_of(repo).comments.values() if c.number == number]
