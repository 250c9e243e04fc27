"""Collaborators and their permission levels on a repository."""

from __future__ import annotations

from typing import Any

from bot.sandbox import builders
from bot.sandbox.protocol import Msg, Reply, not_found, validation_failed
from bot.sandbox.routing import Ctx, Router, no_content
from bot.sandbox.state import ROLE_FROM_PERMISSION, Role, User

router = Router()


def _user(ctx: Ctx) -> User:
    user = ctx.state.user_by_login(ctx.params["username"])
    if user is None:
        raise not_found()
    return user


@router.get("/repos/{owner}/{repo}/collaborators")
def list_collaborators(ctx: Ctx) -> Reply:
    repo = ctx.repo
    members = [(repo.owner_id, Role.ADMIN), *repo.collaborators.items()]
    wanted = ctx.query.get("permission")
    if wanted:
        needed = ROLE_FROM_PERMISSION[wanted]
        members = [(uid, role) for uid, role in members if role.at_least(needed)]
    return ctx.paginate(
        members,
        lambda item: builders.collaborator(ctx.urls, ctx.state.users[item[0]], item[1]),
    )


@router.get("/repos/{owner}/{repo}/collaborators/{username}")
def check_collaborator(ctx: Ctx) -> Reply:
    user = _user(ctx)
    if user.id != ctx.repo.owner_id and user.id not in ctx.repo.collaborators:
        raise not_found()
    return no_content()


@router.put("/repos/{owner}/{repo}/collaborators/{username}")
def add_collaborator(ctx: Ctx) -> Reply:
    """Adds the person at once (GitHub would send an invitation first; answers 204)."""
    user = _user(ctx)
    permission = ctx.field("permission", "push")
    if permission not in ROLE_FROM_PERMISSION:
        raise validation_failed("Repository", "permission", "invalid", value=permission)
    if user.id == ctx.repo.owner_id:
        raise validation_failed(
            "Repository",
            "collaborator",
            "custom",
            message=Msg.OWNER_NOT_COLLABORATOR,
        )
    ctx.repo.collaborators[user.id] = ROLE_FROM_PERMISSION[permission]
    ctx.emit("member", "added", lambda urls: {"member": builders.simple_user(urls, user)})
    return no_content()


@router.delete("/repos/{owner}/{repo}/collaborators/{username}")
def remove_collaborator(ctx: Ctx) -> Reply:
    user = _user(ctx)
    if ctx.repo.collaborators.pop(user.id, None) is not None:
        ctx.emit("member", "removed", lambda urls: {"member": builders.simple_user(urls, user)})
    return no_content()


@router.get("/repos/{owner}/{repo}/collaborators/{username}/permission")
def get_permission(ctx: Ctx) -> dict[str, Any]:
    user = _user(ctx)
    # Outsiders read public repositories and have no access to private ones.
    role = ctx.state.role_of(ctx.repo, user.id)
    return builders.collaborator_permission(ctx.urls, user, role)
