"""GitHub Apps: the authenticated App, its installations and installation access tokens."""

from __future__ import annotations

from typing import Any

from bot.sandbox import auth, builders
from bot.sandbox.clock import iso
from bot.sandbox.protocol import ApiError, Msg, Reply, not_found
from bot.sandbox.routing import Ctx, Router, created
from bot.sandbox.state import App, Installation

router = Router()


def _app(ctx: Ctx) -> App:
    assert ctx.principal.app is not None
    return ctx.principal.app


def _own_installation(ctx: Ctx) -> Installation:
    installation = ctx.state.installations.get(ctx.params["installation_id"])
    if installation is None or installation.app_id != _app(ctx).id:
        raise not_found()
    return installation


@router.get("/app")
def get_authenticated(ctx: Ctx) -> dict[str, Any]:
    return builders.integration(ctx.urls, ctx.state, _app(ctx))


@router.get("/app/installations")
def list_installations(ctx: Ctx) -> Reply:
    app = _app(ctx)
    found = [i for i in ctx.state.installations.values() if i.app_id == app.id]
    return ctx.paginate(found, lambda i: builders.installation(ctx.urls, ctx.state, i))


@router.get("/app/installations/{installation_id}")
def get_installation(ctx: Ctx) -> dict[str, Any]:
    return builders.installation(ctx.urls, ctx.state, _own_installation(ctx))


@router.post("/app/installations/{installation_id}/access_tokens")
def create_access_token(ctx: Ctx) -> Reply:
    installation = _own_installation(ctx)
    if installation.suspended_at is not None:
        raise ApiError(403, Msg.INSTALLATION_SUSPENDED)
    repo_ids = _requested_repos(ctx, installation)
    token = auth.mint_installation_token(
        ctx.state, installation, ctx.field("permissions"), repo_ids
    )
    assert token.expires_at is not None
    body: dict[str, Any] = {
        "token": token.value,
        "expires_at": iso(token.expires_at),
        "permissions": dict(token.permissions),
        "repository_selection": "all" if token.repository_ids is None else "selected",
    }
    if token.repository_ids is not None:
        repos = [ctx.state.repos[i] for i in sorted(token.repository_ids)]
        body["repositories"] = [builders.repository(ctx.urls, ctx.state, r) for r in repos]
    return created(body)


def _requested_repos(ctx: Ctx, installation: Installation) -> frozenset[int] | None:
    names, ids = ctx.field("repositories"), ctx.field("repository_ids")
    if names is None and ids is None:
        return None
    account = ctx.state.users[installation.account_id].login
    wanted: set[int] = set(ids or [])
    for name in names or []:
        repo = ctx.state.repo_by_name(account, name)
        if repo is None:
            raise ApiError(422, Msg.REPOS_NOT_ACCESSIBLE)
        wanted.add(repo.id)
    return frozenset(wanted)


@router.get("/repos/{owner}/{repo}/installation")
def get_repo_installation(ctx: Ctx) -> dict[str, Any]:
    installation = ctx.state.installation_for(_app(ctx).id, ctx.repo)
    if installation is None:
        raise not_found()
    return builders.installation(ctx.urls, ctx.state, installation)


@router.get("/installation/repositories")
def list_installation_repos(ctx: Ctx) -> Reply:
    token = ctx.principal.token
    installation = ctx.principal.installation
    if token is None or installation is None:
        raise ApiError(403, Msg.INTEGRATION_FORBIDDEN)
    repos = ctx.state.installation_repos(installation)
    if token.repository_ids is not None:
        repos = [r for r in repos if r.id in token.repository_ids]
    reply = ctx.paginate(
        repos, lambda r: builders.repository(ctx.urls, ctx.state, r), wrap="repositories"
    )
    reply.body["repository_selection"] = (
        "all" if installation.repository_ids is None else "selected"
    )
    return reply
