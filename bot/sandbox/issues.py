"""Issues: create, read, list, edit (title, body, state, labels, assignees) and assignees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sandbox import builders
from bot.sandbox.clock import parse_iso
from bot.sandbox.labels import ensure_labels
from bot.sandbox.protocol import ApiError, Msg, Reply, not_found, validation_failed
from bot.sandbox.routing import Ctx, Router, created
from bot.sandbox.state import Issue, Repo, Role, State

router = Router()

_CLOSED_REASONS = {"completed", "not_planned", "duplicate"}


def find_issue(ctx: Ctx) -> Issue:
    issue = ctx.repo.issues.get(ctx.params["issue_number"])
    if issue is None:
        raise not_found()
    return issue


def issue_payload(
    state: State, repo: Repo, issue: Issue
) -> Callable[[builders.Urls], dict[str, Any]]:
    """The ``issue`` part of an issues/issue_comment event, rendered at delivery time."""
    return lambda urls: {"issue": builders.issue(urls, state, repo, issue)}


def render(ctx: Ctx, issue: Issue) -> dict[str, Any]:
    return builders.issue(ctx.urls, ctx.state, ctx.repo, issue)


def _assignee_ids(ctx: Ctx, logins: list[str]) -> list[int]:
    ids = []
    for login in logins:
        user = ctx.state.user_by_login(login)
        if user is None or ctx.state.role_of(ctx.repo, user.id) is Role.NONE:
            raise validation_failed("Issue", "assignees", "invalid", value=login)
        if user.id not in ids:
            ids.append(user.id)
    return ids


def _can_triage(ctx: Ctx) -> bool:
    if ctx.principal.installation is not None:
        return True  # the permission table already required issues:write
    return ctx.state.role_of(ctx.repo, ctx.actor.id).at_least(Role.TRIAGE)


@router.post("/repos/{owner}/{repo}/issues")
def create_issue(ctx: Ctx) -> Reply:
    repo, now = ctx.repo, ctx.now
    triage = _can_triage(ctx)
    logins = list(ctx.field("assignees") or [])
    if ctx.field("assignee"):
        logins.insert(0, ctx.field("assignee"))
    issue = Issue(
        id=ctx.state.next_id(),
        number=repo.allocate_number(),
        title=str(ctx.body["title"]),
        body=ctx.field("body"),
        user_id=ctx.actor.id,
        created_at=now,
        updated_at=now,
        app_id=ctx.app_id,
    )
    # People without push access have labels and assignees silently dropped, as on GitHub.
    if triage:
        issue.assignee_ids = _assignee_ids(ctx, logins)
        issue.label_names = ensure_labels(ctx, _label_names(ctx.field("labels") or []))
    repo.issues[issue.number] = issue
    ctx.emit("issues", "opened", issue_payload(ctx.state, repo, issue))
    return created(render(ctx, issue))


def _label_names(items: list[Any]) -> list[str]:
    return [item["name"] if isinstance(item, dict) else str(item) for item in items]


@router.get("/repos/{owner}/{repo}/issues/{issue_number}")
def get_issue(ctx: Ctx) -> dict[str, Any]:
    return render(ctx, find_issue(ctx))


@router.get("/repos/{owner}/{repo}/issues")
def list_issues(ctx: Ctx) -> Reply:
    found = [i for i in ctx.repo.issues.values() if _listed(ctx, i)]
    sort = ctx.query.get("sort", "created")
    key = {
        "created": lambda i: (i.created_at, i.number),
        "updated": lambda i: (i.updated_at, i.number),
        "comments": lambda i: (_comment_count(ctx.repo, i), i.number),
    }[sort]
    found.sort(key=key, reverse=ctx.query.get("direction", "desc") == "desc")
    return ctx.paginate(found, lambda i: render(ctx, i))


def _comment_count(repo: Repo, issue: Issue) -> int:
    return sum(1 for c in repo.comments.values() if c.issue_number == issue.number)


def _listed(ctx: Ctx, issue: Issue) -> bool:
    state = ctx.query.get("state", "open")
    if state != "all" and issue.state != state:
        return False
    raw_labels = ctx.query.get("labels") or ""
    wanted_labels = {name.strip().lower() for name in raw_labels.split(",") if name.strip()}
    if not wanted_labels <= {name.lower() for name in issue.label_names}:
        return False
    if not _matches_user(ctx, "creator", [issue.user_id]):
        return False
    if not _matches_user(ctx, "assignee", issue.assignee_ids):
        return False
    since = ctx.query.get("since")
    return not (since and issue.updated_at < parse_iso(since))


def _matches_user(ctx: Ctx, name: str, ids: list[int]) -> bool:
    login = ctx.query.get(name)
    if not login or login == "*":
        return bool(ids) if login == "*" else True
    if login == "none":
        return not ids
    user = ctx.state.user_by_login(login)
    return user is not None and user.id in ids


@router.patch("/repos/{owner}/{repo}/issues/{issue_number}")
def update_issue(ctx: Ctx) -> dict[str, Any]:
    issue = find_issue(ctx)
    triage = _can_triage(ctx)
    if not triage and issue.user_id != ctx.actor.id:
        raise ApiError(403, Msg.ISSUE_NEEDS_TRIAGE)
    changes: dict[str, Any] = {}
    for name in ("title", "body"):
        if name in ctx.body and ctx.body[name] != getattr(issue, name):
            changes[name] = {"from": getattr(issue, name)}
            setattr(issue, name, None if ctx.body[name] is None else str(ctx.body[name]))
    if triage:
        _update_people_and_labels(ctx, issue)
    action = _update_state(ctx, issue)
    issue.updated_at = ctx.now
    if changes:
        payload = issue_payload(ctx.state, ctx.repo, issue)
        ctx.emit("issues", "edited", lambda urls: payload(urls) | {"changes": changes})
    if action:
        ctx.emit("issues", action, issue_payload(ctx.state, ctx.repo, issue))
    return render(ctx, issue)


def _update_people_and_labels(ctx: Ctx, issue: Issue) -> None:
    if "assignees" in ctx.body or "assignee" in ctx.body:
        logins = list(ctx.field("assignees") or [])
        if ctx.field("assignee"):
            logins.insert(0, ctx.field("assignee"))
        issue.assignee_ids = _assignee_ids(ctx, logins)
    if "labels" in ctx.body:
        before = {n.lower() for n in issue.label_names}
        issue.label_names = ensure_labels(ctx, _label_names(ctx.body["labels"] or []))
        after = {n.lower() for n in issue.label_names}
        for name in after - before:
            emit_labeled(ctx, issue, name, "labeled")
        for name in before - after:
            emit_labeled(ctx, issue, name, "unlabeled")


def emit_labeled(ctx: Ctx, issue: Issue, name: str, action: str) -> None:
    """``issues.labeled`` / ``issues.unlabeled`` with the label in ``payload.label``."""
    repo, state = ctx.repo, ctx.state
    label = repo.labels.get(name.lower())
    if label is None:
        return

    def payload(urls: builders.Urls) -> dict[str, Any]:
        return {
            "issue": builders.issue(urls, state, repo, issue),
            "label": builders.label(urls, state, repo, label),
        }

    ctx.emit("issues", action, payload)


def _update_state(ctx: Ctx, issue: Issue) -> str | None:
    wanted = ctx.field("state")
    reason = ctx.field("state_reason")
    if wanted is None or wanted == issue.state:
        if reason and issue.state == "closed" and reason in _CLOSED_REASONS:
            issue.state_reason = reason
        return None
    if wanted == "closed":
        issue.state, issue.closed_at, issue.closed_by_id = "closed", ctx.now, ctx.actor.id
        issue.state_reason = reason if reason in _CLOSED_REASONS else "completed"
        return "closed"
    issue.state, issue.closed_at, issue.closed_by_id = "open", None, None
    issue.state_reason = "reopened"
    return "reopened"


@router.post("/repos/{owner}/{repo}/issues/{issue_number}/assignees")
def add_assignees(ctx: Ctx) -> Reply:
    issue = find_issue(ctx)
    for uid in _assignee_ids(ctx, list(ctx.field("assignees") or [])):
        if uid not in issue.assignee_ids:
            issue.assignee_ids.append(uid)
            ctx.emit("issues", "assigned", issue_payload(ctx.state, ctx.repo, issue))
    issue.updated_at = ctx.now
    return created(render(ctx, issue))


@router.delete("/repos/{owner}/{repo}/issues/{issue_number}/assignees")
def remove_assignees(ctx: Ctx) -> dict[str, Any]:
    issue = find_issue(ctx)
    for login in ctx.field("assignees") or []:
        user = ctx.state.user_by_login(login)
        if user is not None and user.id in issue.assignee_ids:
            issue.assignee_ids.remove(user.id)
            ctx.emit("issues", "unassigned", issue_payload(ctx.state, ctx.repo, issue))
    issue.updated_at = ctx.now
    return render(ctx, issue)
