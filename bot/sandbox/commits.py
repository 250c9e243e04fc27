"""Commits as the repos API shows them (GET /repos/{owner}/{repo}/commits/{ref})."""

from __future__ import annotations

from typing import Any

from bot.sandbox import builders
from bot.sandbox.protocol import Msg, validation_failed
from bot.sandbox.routing import Ctx, Router

router = Router()


@router.get("/repos/{owner}/{repo}/commits/{ref}")
def get_commit(ctx: Ctx) -> dict[str, Any]:
    ref = ctx.params["ref"]
    sha = ctx.repo.git.resolve(ref)
    if sha is None:
        raise validation_failed(
            "Commit", "sha", "invalid", message=Msg.NO_COMMIT_FOR_SHA.format(sha=ref)
        )
    info = ctx.repo.git.commit_info(sha)
    files = ctx.repo.git.changed_files(sha)
    return builders.commit(ctx.urls, ctx.state, ctx.repo, info, files)
