"""Repository contents: read files and directories at a ref; create, update, delete files.

Writes make real commits on the branch (default: the default branch), guarded like
GitHub: updating or deleting needs the current blob ``sha`` ("sha" wasn't supplied ->
422; a stale sha -> 409 "... does not match ...").
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import Any

from bot.sandbox import builders
from bot.sandbox.clock import parse_iso
from bot.sandbox.git_data import emit_push
from bot.sandbox.gitstore import GitFailed, Person
from bot.sandbox.protocol import ApiError, Msg, Reply, not_found
from bot.sandbox.routing import Ctx, Router, created

router = Router()


def _ref(ctx: Ctx) -> tuple[str, str]:
    """(ref name as asked, commit sha); 404 when the ref or the repository is empty."""
    ref = ctx.query.get("ref") or ctx.repo.default_branch
    sha = ctx.repo.git.resolve(ref)
    if sha is None:
        raise ApiError(404, Msg.NO_COMMIT_FOR_REF.format(ref=ref))
    return ref, sha


@router.get("/repos/{owner}/{repo}/contents/{path}")
def get_content(ctx: Ctx) -> Any:
    ref, sha = _ref(ctx)
    path = ctx.params["path"].strip("/")
    entry = ctx.repo.git.entry_at(sha, path)
    if entry is None:
        raise not_found()
    if entry.kind == "tree":
        children = ctx.repo.git.ls_tree(f"{sha}:{path}" if path else sha)
        prefix = f"{path}/" if path else ""
        return [
            builders.content_entry(
                ctx.urls, ctx.state, ctx.repo, ref, replace(child, path=prefix + child.path)
            )
            for child in children
        ]
    if entry.kind != "blob":
        raise not_found()
    content = ctx.repo.git.read_blob(entry.sha)
    return builders.content_file(ctx.urls, ctx.state, ctx.repo, ref, entry, content)


def _branch(ctx: Ctx) -> tuple[str, str | None]:
    """(branch, tip sha or None for an empty repository's default branch)."""
    branch = ctx.field("branch") or ctx.repo.default_branch
    tip = ctx.repo.git.ref_sha(f"refs/heads/{branch}")
    if tip is None and (branch != ctx.repo.default_branch or ctx.repo.git.refs("refs/heads/")):
        raise ApiError(404, Msg.NAMED_BRANCH_NOT_FOUND.format(branch=branch))
    return branch, tip


def _people(ctx: Ctx) -> tuple[Person, Person]:
    actor = ctx.actor

    def person(raw: dict[str, Any] | None) -> Person:
        if not raw:
            return Person(actor.name or actor.login, actor.email or "", int(ctx.now))
        when = parse_iso(raw["date"]) if raw.get("date") else ctx.now
        return Person(raw["name"], raw["email"], int(when))

    committer = person(ctx.field("committer"))
    author = person(ctx.field("author")) if ctx.field("author") else committer
    return author, committer


def _write(ctx: Ctx, content: bytes | None) -> tuple[str, str | None]:
    """Commit the change; return (commit sha, previous blob sha)."""
    path = ctx.params["path"].strip("/")
    branch, tip = _branch(ctx)
    existing = ctx.repo.git.entry_at(tip, path) if tip else None
    given = ctx.field("sha")
    if existing is not None and existing.kind != "blob":
        raise ApiError(422, Msg.PATH_IS_DIRECTORY.format(path=path))
    if existing is not None and given is None:
        raise ApiError(422, Msg.INVALID_REQUEST.format(details='"sha" wasn\'t supplied.'))
    if existing is None and content is None:
        raise not_found()
    if existing is not None and given != existing.sha:
        raise ApiError(409, Msg.SHA_MISMATCH.format(path=path, sha=given))
    author, committer = _people(ctx)
    commit = ctx.repo.git.commit_change(tip, path, content, ctx.body["message"], author, committer)
    try:
        ctx.repo.git.update_ref(f"refs/heads/{branch}", commit, tip or "0" * 40)
    except GitFailed as exc:
        raise ApiError(409, Msg.SHA_MISMATCH.format(path=path, sha=given)) from exc
    ctx.repo.pushed_at = ctx.now
    emit_push(ctx, f"refs/heads/{branch}", tip or "0" * 40, commit)
    return commit, existing.sha if existing else None


def _file_commit(ctx: Ctx, commit: str, with_content: bool) -> dict[str, Any]:
    info = ctx.repo.git.commit_info(commit)
    body: dict[str, Any] = {
        "content": None,
        "commit": builders.git_commit(ctx.urls, ctx.state, ctx.repo, info),
    }
    if with_content:
        path = ctx.params["path"].strip("/")
        entry = ctx.repo.git.entry_at(commit, path)
        assert entry is not None
        branch = ctx.field("branch") or ctx.repo.default_branch
        body["content"] = builders.content_entry(ctx.urls, ctx.state, ctx.repo, branch, entry)
    return body


@router.put("/repos/{owner}/{repo}/contents/{path}")
def put_content(ctx: Ctx) -> Reply:
    try:
        data = base64.b64decode(ctx.body["content"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(422, Msg.INVALID_REQUEST.format(details=Msg.BAD_BASE64)) from exc
    commit, previous = _write(ctx, data)
    body = _file_commit(ctx, commit, with_content=True)
    return Reply(200, body) if previous else created(body)


@router.delete("/repos/{owner}/{repo}/contents/{path}")
def delete_content(ctx: Ctx) -> dict[str, Any]:
    commit, _ = _write(ctx, None)
    return _file_commit(ctx, commit, with_content=False)
