"""Branches: list and get (branch protection is not modelled: every branch is unprotected)."""

from __future__ import annotations

from typing import Any

from bot.sandbox import builders
from bot.sandbox.protocol import ApiError, Msg, Reply
from bot.sandbox.routing import Ctx, Router

router = Router()


def _short(ctx: Ctx, name: str, sha: str) -> dict[str, Any]:
    api = builders.repo_api(ctx.urls, ctx.state, ctx.repo)
    return {
        "name": name,
        "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
        "protected": False,
        "protection_url": f"{api}/branches/{name}/protection",
    }


@router.get("/repos/{owner}/{repo}/branches")
def list_branches(ctx: Ctx) -> Reply:
    branches = [
        (refname.removeprefix("refs/heads/"), sha)
        for refname, sha, _ in ctx.repo.git.refs("refs/heads/")
    ]
    return ctx.paginate(branches, lambda item: _short(ctx, *item))


@router.get("/repos/{owner}/{repo}/branches/{branch}")
def get_branch(ctx: Ctx) -> dict[str, Any]:
    name = ctx.params["branch"]
    sha = ctx.repo.git.ref_sha(f"refs/heads/{name}")
    if sha is None:
        raise ApiError(404, Msg.BRANCH_NOT_FOUND)
    info = ctx.repo.git.commit_info(sha)
    api = builders.repo_api(ctx.urls, ctx.state, ctx.repo)
    return _short(ctx, name, sha) | {
        "commit": builders.commit(ctx.urls, ctx.state, ctx.repo, info),
        "_links": {
            "self": f"{api}/branches/{name}",
            "html": f"{builders.repo_web(ctx.urls, ctx.state, ctx.repo)}/tree/{name}",
        },
        "protection": {
            "enabled": False,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
    }
