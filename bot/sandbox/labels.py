"""Labels: the repository's label set and the labels on each issue."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox import builders
from bot.sandbox.protocol import ApiError, Msg, Reply, validation_failed
from bot.sandbox.routing import Ctx, Router, created, no_content
from bot.sandbox.state import Issue, Label

router = Router()

DEFAULT_COLOR = "ededed"
_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def ensure_labels(ctx: Ctx, names: list[str]) -> list[str]:
    """Canonical names of ``names``, creating missing labels as GitHub does on issues."""
    result: list[str] = []
    for name in names:
        label = ctx.repo.labels.get(name.lower()) or _new_label(ctx, name, DEFAULT_COLOR, None)
        if label.name not in result:
            result.append(label.name)
    return result


def _new_label(ctx: Ctx, name: str, color: str, description: str | None) -> Label:
    if not name.strip():
        raise validation_failed("Label", "name", "missing_field")
    label = Label(ctx.state.next_id(), name, color.lower(), description)
    ctx.repo.labels[name.lower()] = label
    repo, state = ctx.repo, ctx.state
    ctx.emit("label", "created", lambda urls: {"label": builders.label(urls, state, repo, label)})
    return label


def _find(ctx: Ctx) -> Label:
    label = ctx.repo.labels.get(ctx.params["name"].lower())
    if label is None:
        raise ApiError(404, Msg.NOT_FOUND)
    return label


def render(ctx: Ctx, label: Label) -> dict[str, Any]:
    return builders.label(ctx.urls, ctx.state, ctx.repo, label)


def _color(value: str | None) -> str:
    color = (value or DEFAULT_COLOR).removeprefix("#")
    if not _COLOR.match(color):
        raise validation_failed("Label", "color", "invalid", value=value)
    return color


@router.get("/repos/{owner}/{repo}/labels")
def list_labels(ctx: Ctx) -> Reply:
    labels = sorted(ctx.repo.labels.values(), key=lambda label: label.name.lower())
    return ctx.paginate(labels, lambda label: render(ctx, label))


@router.post("/repos/{owner}/{repo}/labels")
def create_label(ctx: Ctx) -> Reply:
    name = ctx.body["name"]
    if name.lower() in ctx.repo.labels:
        raise validation_failed("Label", "name", "already_exists")
    label = _new_label(ctx, name, _color(ctx.field("color")), ctx.field("description"))
    return created(render(ctx, label))


@router.get("/repos/{owner}/{repo}/labels/{name}")
def get_label(ctx: Ctx) -> dict[str, Any]:
    return render(ctx, _find(ctx))


@router.patch("/repos/{owner}/{repo}/labels/{name}")
def update_label(ctx: Ctx) -> dict[str, Any]:
    label = _find(ctx)
    old_name = label.name
    new_name = ctx.field("new_name") or ctx.field("name")
    if new_name and new_name.lower() != old_name.lower():
        if new_name.lower() in ctx.repo.labels:
            raise validation_failed("Label", "name", "already_exists")
        del ctx.repo.labels[old_name.lower()]
        ctx.repo.labels[new_name.lower()] = label
    if new_name:
        label.name = new_name
        _rename_on_issues(ctx, old_name, new_name)
    if "color" in ctx.body:
        label.color = _color(ctx.body["color"]).lower()
    if "description" in ctx.body:
        label.description = ctx.body["description"]
    repo, state = ctx.repo, ctx.state
    ctx.emit("label", "edited", lambda urls: {"label": builders.label(urls, state, repo, label)})
    return render(ctx, label)


def _rename_on_issues(ctx: Ctx, old: str, new: str) -> None:
    for issue in ctx.repo.issues.values():
        issue.label_names = [new if n.lower() == old.lower() else n for n in issue.label_names]


@router.delete("/repos/{owner}/{repo}/labels/{name}")
def delete_label(ctx: Ctx) -> Reply:
    label = _find(ctx)
    del ctx.repo.labels[label.name.lower()]
    for issue in ctx.repo.issues.values():
        issue.label_names = [n for n in issue.label_names if n.lower() != label.name.lower()]
    repo, state = ctx.repo, ctx.state
    ctx.emit("label", "deleted", lambda urls: {"label": builders.label(urls, state, repo, label)})
    return no_content()


# --- labels on an issue -------------------------------------------------------------------


def _issue(ctx: Ctx) -> Issue:
    from bot.sandbox.issues import find_issue

    return find_issue(ctx)


def _issue_labels(ctx: Ctx, issue: Issue) -> list[dict[str, Any]]:
    return [render(ctx, ctx.repo.labels[n.lower()]) for n in issue.label_names]


def _requested(ctx: Ctx) -> list[str]:
    body = ctx.body
    items = body.get("labels", []) if isinstance(body, dict) else body or []
    return [item["name"] if isinstance(item, dict) else str(item) for item in items]


def _apply(ctx: Ctx, issue: Issue, names: list[str]) -> None:
    from bot.sandbox.issues import emit_labeled

    before = [n.lower() for n in issue.label_names]
    issue.label_names = names
    after = [n.lower() for n in names]
    for name in after:
        if name not in before:
            emit_labeled(ctx, issue, name, "labeled")
    for name in before:
        if name not in after:
            emit_labeled(ctx, issue, name, "unlabeled")
    issue.updated_at = ctx.now


@router.get("/repos/{owner}/{repo}/issues/{issue_number}/labels")
def list_issue_labels(ctx: Ctx) -> Reply:
    issue = _issue(ctx)
    labels = [ctx.repo.labels[n.lower()] for n in issue.label_names]
    return ctx.paginate(labels, lambda label: render(ctx, label))


@router.post("/repos/{owner}/{repo}/issues/{issue_number}/labels")
def add_issue_labels(ctx: Ctx) -> list[dict[str, Any]]:
    issue = _issue(ctx)
    added = ensure_labels(ctx, _requested(ctx))
    current = list(issue.label_names)
    current += [n for n in added if n.lower() not in {c.lower() for c in current}]
    _apply(ctx, issue, current)
    return _issue_labels(ctx, issue)


@router.put("/repos/{owner}/{repo}/issues/{issue_number}/labels")
def set_issue_labels(ctx: Ctx) -> list[dict[str, Any]]:
    issue = _issue(ctx)
    _apply(ctx, issue, ensure_labels(ctx, _requested(ctx)))
    return _issue_labels(ctx, issue)


@router.delete("/repos/{owner}/{repo}/issues/{issue_number}/labels")
def remove_all_issue_labels(ctx: Ctx) -> Reply:
    _apply(ctx, _issue(ctx), [])
    return no_content()


@router.delete("/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}")
def remove_issue_label(ctx: Ctx) -> list[dict[str, Any]]:
    issue = _issue(ctx)
    wanted = ctx.params["name"].lower()
    if wanted not in {n.lower() for n in issue.label_names}:
        raise ApiError(404, Msg.LABEL_NOT_ON_ISSUE)
    _apply(ctx, issue, [n for n in issue.label_names if n.lower() != wanted])
    return _issue_labels(ctx, issue)
