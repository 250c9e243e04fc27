"""Issue comments: create, read, edit, delete, list per issue and per repository."""

from __future__ import annotations

from typing import Any

from bot.sandbox import builders
from bot.sandbox.clock import parse_iso
from bot.sandbox.issues import find_issue
from bot.sandbox.protocol import ApiError, Msg, Reply, not_found
from bot.sandbox.routing import Ctx, Router, created, no_content
from bot.sandbox.state import Comment, Issue, Role

router = Router()


def find_comment(ctx: Ctx) -> Comment:
    comment = ctx.repo.comments.get(ctx.params["comment_id"])
    if comment is None:
        raise not_found()
    return comment


def render(ctx: Ctx, comment: Comment) -> dict[str, Any]:
    return builders.comment(ctx.urls, ctx.state, ctx.repo, comment)


def _emit(ctx: Ctx, action: str, comment: Comment, extra: dict[str, Any] | None = None) -> None:
    repo, state = ctx.repo, ctx.state
    issue = repo.issues[comment.issue_number]

    def payload(urls: builders.Urls) -> dict[str, Any]:
        return {
            "issue": builders.issue(urls, state, repo, issue),
            "comment": builders.comment(urls, state, repo, comment),
        } | (extra or {})

    ctx.emit("issue_comment", action, payload)


def _check_author_or_triage(ctx: Ctx, comment: Comment) -> None:
    if ctx.principal.installation is not None or comment.user_id == ctx.actor.id:
        return
    if not ctx.state.role_of(ctx.repo, ctx.actor.id).at_least(Role.TRIAGE):
        raise ApiError(403, Msg.COMMENT_NEEDS_TRIAGE)


@router.post("/repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_comment(ctx: Ctx) -> Reply:
    issue = find_issue(ctx)
    if issue.locked and not ctx.state.role_of(ctx.repo, ctx.actor.id).at_least(Role.WRITE):
        raise ApiError(403, Msg.ISSUE_LOCKED)
    now = ctx.now
    comment = Comment(
        id=ctx.state.next_id(),
        issue_number=issue.number,
        user_id=ctx.actor.id,
        body=ctx.body["body"],
        created_at=now,
        updated_at=now,
        app_id=ctx.app_id,
    )
    ctx.repo.comments[comment.id] = comment
    issue.updated_at = now
    _emit(ctx, "created", comment)
    return created(render(ctx, comment))


@router.get("/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(ctx: Ctx) -> dict[str, Any]:
    return render(ctx, find_comment(ctx))


@router.patch("/repos/{owner}/{repo}/issues/comments/{comment_id}")
def update_comment(ctx: Ctx) -> dict[str, Any]:
    comment = find_comment(ctx)
    _check_author_or_triage(ctx, comment)
    before = comment.body
    comment.body = ctx.body["body"]
    comment.updated_at = ctx.now
    if before != comment.body:
        _emit(ctx, "edited", comment, {"changes": {"body": {"from": before}}})
    return render(ctx, comment)


@router.delete("/repos/{owner}/{repo}/issues/comments/{comment_id}")
def delete_comment(ctx: Ctx) -> Reply:
    comment = find_comment(ctx)
    _check_author_or_triage(ctx, comment)
    _emit(ctx, "deleted", comment)
    del ctx.repo.comments[comment.id]
    return no_content()


def _filtered(ctx: Ctx, comments: list[Comment]) -> list[Comment]:
    since = ctx.query.get("since")
    if since:
        limit = parse_iso(since)
        comments = [c for c in comments if c.updated_at >= limit]
    return sorted(comments, key=lambda c: (c.created_at, c.id))


@router.get("/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_comments(ctx: Ctx) -> Reply:
    issue: Issue = find_issue(ctx)
    found = [c for c in ctx.repo.comments.values() if c.issue_number == issue.number]
    return ctx.paginate(_filtered(ctx, found), lambda c: render(ctx, c))


@router.get("/repos/{owner}/{repo}/issues/comments")
def list_repo_comments(ctx: Ctx) -> Reply:
    found = _filtered(ctx, list(ctx.repo.comments.values()))
    if ctx.query.get("sort") == "updated":
        found.sort(key=lambda c: (c.updated_at, c.id))
    if ctx.query.get("direction") == "desc":
        found.reverse()
    return ctx.paginate(found, lambda c: render(ctx, c))
