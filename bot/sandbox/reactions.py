"""Reactions on issues and issue comments (201 when new, 200 when already there)."""

from __future__ import annotations

from bot.sandbox import builders
from bot.sandbox.comments import find_comment
from bot.sandbox.issues import find_issue
from bot.sandbox.protocol import Reply, not_found
from bot.sandbox.routing import Ctx, Router, created, no_content
from bot.sandbox.state import Reaction

router = Router()


def _create(ctx: Ctx, reactions: list[Reaction]) -> Reply:
    content = ctx.body["content"]
    for existing in reactions:
        if existing.user_id == ctx.actor.id and existing.content == content:
            return Reply(200, builders.reaction(ctx.urls, ctx.state, existing))
    reaction = Reaction(ctx.state.next_id(), ctx.actor.id, content, ctx.now)
    reactions.append(reaction)
    return created(builders.reaction(ctx.urls, ctx.state, reaction))


def _list(ctx: Ctx, reactions: list[Reaction]) -> Reply:
    wanted = ctx.query.get("content")
    found = [r for r in reactions if not wanted or r.content == wanted]
    return ctx.paginate(found, lambda r: builders.reaction(ctx.urls, ctx.state, r))


def _delete(ctx: Ctx, reactions: list[Reaction]) -> Reply:
    reaction_id = ctx.params["reaction_id"]
    for reaction in reactions:
        if reaction.id == reaction_id:
            reactions.remove(reaction)
            return no_content()
    raise not_found()


@router.get("/repos/{owner}/{repo}/issues/{issue_number}/reactions")
def list_for_issue(ctx: Ctx) -> Reply:
    return _list(ctx, find_issue(ctx).reactions)


@router.post("/repos/{owner}/{repo}/issues/{issue_number}/reactions")
def create_for_issue(ctx: Ctx) -> Reply:
    return _create(ctx, find_issue(ctx).reactions)


@router.delete("/repos/{owner}/{repo}/issues/{issue_number}/reactions/{reaction_id}")
def delete_for_issue(ctx: Ctx) -> Reply:
    return _delete(ctx, find_issue(ctx).reactions)


@router.get("/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
def list_for_comment(ctx: Ctx) -> Reply:
    return _list(ctx, find_comment(ctx).reactions)


@router.post("/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
def create_for_comment(ctx: Ctx) -> Reply:
    return _create(ctx, find_comment(ctx).reactions)


@router.delete("/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}")
def delete_for_comment(ctx: Ctx) -> Reply:
    return _delete(ctx, find_comment(ctx).reactions)
