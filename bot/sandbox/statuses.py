"""Commit statuses: create, list per ref, and the combined status of a ref."""

from __future__ import annotations

from typing import Any

from bot.sandbox import builders
from bot.sandbox.protocol import Msg, Reply, validation_failed
from bot.sandbox.routing import Ctx, Router, created
from bot.sandbox.state import CommitStatus

router = Router()
# https://docs.github.com/en/webhooks/webhook-events-and-payloads#status
MAX_STATUS_BRANCHES = 10


def _sha(ctx: Ctx, ref: str) -> str:
    sha = ctx.repo.git.resolve(ref)
    if sha is None:
        raise validation_failed(
            "Status", "sha", "invalid", message=Msg.NO_COMMIT_FOR_SHA.format(sha=ref)
        )
    return sha


def render(ctx: Ctx, status: CommitStatus) -> dict[str, Any]:
    return builders.commit_status(ctx.urls, ctx.state, ctx.repo, status)


@router.post("/repos/{owner}/{repo}/statuses/{sha}")
def create_status(ctx: Ctx) -> Reply:
    sha = _sha(ctx, ctx.params["sha"])
    now = ctx.now
    status = CommitStatus(
        id=ctx.state.next_id(),
        sha=sha,
        state=ctx.body["state"],
        context=ctx.field("context") or "default",
        creator_id=ctx.actor.id,
        created_at=now,
        updated_at=now,
        target_url=ctx.field("target_url"),
        description=ctx.field("description"),
    )
    ctx.repo.statuses.append(status)
    repo, state = ctx.repo, ctx.state
    heads = _branches_containing(ctx, sha)
    info = repo.git.commit_info(sha)

    def payload(urls: builders.Urls) -> dict[str, Any]:
        body = builders.commit_status(urls, state, repo, status)
        api = builders.repo_api(urls, state, repo)
        return {
            "name": state.full_name(repo),
            "commit": _webhook_commit(builders.commit(urls, state, repo, info)),
            "branches": [
                {
                    "name": name,
                    "commit": {"sha": head, "url": f"{api}/commits/{head}"},
                    "protected": False,
                }
                for name, head in heads
            ],
            "sha": sha,
            "state": status.state,
            "context": status.context,
            "description": status.description,
            "target_url": status.target_url,
            "id": status.id,
            "created_at": body["created_at"],
            "updated_at": body["updated_at"],
        }

    ctx.emit("status", None, payload)
    return created(render(ctx, status))


def _webhook_commit(commit: dict[str, Any]) -> dict[str, Any]:
    """The commit as the ``status`` event carries it: its verification has no
    ``verified_at`` (GitHub's webhook schema allows no other keys there)."""
    verification = dict(commit["commit"]["verification"])
    verification.pop("verified_at", None)
    return {**commit, "commit": {**commit["commit"], "verification": verification}}


def _branches_containing(ctx: Ctx, sha: str) -> list[tuple[str, str]]:
    """(name, head) of the branches whose history holds ``sha``, at most 10, as the
    ``status`` event's ``branches`` lists them."""
    out = ctx.repo.git.text(
        "for-each-ref", "--contains", sha, "--format=%(refname) %(objectname)", "refs/heads/"
    )
    found = [line.split(" ") for line in out.splitlines() if line]
    return [(ref.removeprefix("refs/heads/"), head) for ref, head in found][:MAX_STATUS_BRANCHES]


def _for_ref(ctx: Ctx) -> list[CommitStatus]:
    sha = _sha(ctx, ctx.params["ref"])
    return sorted((s for s in ctx.repo.statuses if s.sha == sha), key=lambda s: -s.id)


@router.get("/repos/{owner}/{repo}/commits/{ref}/statuses")
def list_statuses(ctx: Ctx) -> Reply:
    return ctx.paginate(_for_ref(ctx), lambda s: render(ctx, s))


def combined_state(statuses: list[CommitStatus]) -> str:
    """failure if any error/failure, pending if any pending (or none at all), else success."""
    states = {s.state for s in statuses}
    if states & {"error", "failure"}:
        return "failure"
    if not states or "pending" in states:
        return "pending"
    return "success"


@router.get("/repos/{owner}/{repo}/commits/{ref}/status")
def combined_status(ctx: Ctx) -> dict[str, Any]:
    sha = _sha(ctx, ctx.params["ref"])
    latest: dict[str, CommitStatus] = {}
    for status in sorted((s for s in ctx.repo.statuses if s.sha == sha), key=lambda s: s.id):
        latest[status.context] = status
    statuses = sorted(latest.values(), key=lambda s: s.context)
    api = builders.repo_api(ctx.urls, ctx.state, ctx.repo)
    return {
        "state": combined_state(statuses),
        "sha": sha,
        "total_count": len(statuses),
        "statuses": [render(ctx, s) for s in statuses],
        "repository": builders.repository(ctx.urls, ctx.state, ctx.repo),
        "commit_url": f"{api}/commits/{sha}",
        "url": f"{api}/commits/{sha}/status",
    }
