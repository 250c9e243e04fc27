"""Repositories: get and update (the git data behind them lives in gitstore)."""

from __future__ import annotations

from typing import Any

from bot.sandbox import builders
from bot.sandbox.forks import fork_fields
from bot.sandbox.protocol import validation_failed
from bot.sandbox.routing import Ctx, Router

router = Router()


@router.get("/repos/{owner}/{repo}")
def get_repo(ctx: Ctx) -> dict[str, Any]:
    body = builders.repository(ctx.urls, ctx.state, ctx.repo)
    return _with_permissions(ctx, body | fork_fields(ctx.urls, ctx.state, ctx.repo))


@router.patch("/repos/{owner}/{repo}")
def update_repo(ctx: Ctx) -> dict[str, Any]:
    repo = ctx.repo
    if "default_branch" in ctx.body:
        branch = ctx.body["default_branch"]
        if repo.git.ref_sha(f"refs/heads/{branch}") is None:
            raise validation_failed("Repository", "default_branch", "invalid", value=branch)
        repo.default_branch = branch
    if "description" in ctx.body:
        repo.description = ctx.body["description"]
    if "private" in ctx.body:
        repo.private = bool(ctx.body["private"])
    repo.updated_at = ctx.now
    ctx.emit("repository", "edited", {"changes": {}})
    return _with_permissions(ctx, builders.repository(ctx.urls, ctx.state, repo))


def _with_permissions(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    if ctx.principal.user is not None and ctx.principal.installation is None:
        role = ctx.state.role_of(ctx.repo, ctx.principal.user.id)
        body["permissions"] = builders.role_permissions(role)
    return body
