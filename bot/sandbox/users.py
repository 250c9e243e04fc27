"""Users: the authenticated user and public profiles."""

from __future__ import annotations

from typing import Any

from bot.sandbox import builders
from bot.sandbox.protocol import not_found
from bot.sandbox.routing import Ctx, Router

router = Router()


@router.get("/user")
def get_authenticated(ctx: Ctx) -> dict[str, Any]:
    return builders.private_user(ctx.urls, ctx.state, ctx.actor)


@router.get("/users/{username}")
def get_by_username(ctx: Ctx) -> dict[str, Any]:
    user = ctx.state.user_by_login(ctx.params["username"])
    if user is None:
        raise not_found()
    return builders.public_user(ctx.urls, ctx.state, user)
