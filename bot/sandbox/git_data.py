"""Git data: refs (create, move with fast-forward rules, delete), commits, trees and blobs."""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
from pathlib import Path
from typing import Any

from bot.sandbox import builders
from bot.sandbox.clock import iso, parse_iso
from bot.sandbox.gitstore import ZERO_SHA, GitFailed, Person
from bot.sandbox.protocol import ApiError, Msg, Reply, not_found
from bot.sandbox.routing import Ctx, Router, created, no_content
from bot.sandbox.state import Repo, State, User

router = Router()

_SHA = re.compile(r"^[0-9a-f]{40}$")
_REF_NAME = re.compile(r"^refs/[^\s~^:?*\[\\]+/[^\s~^:?*\[\\]+$")


def emit_push(ctx: Ctx, refname: str, before: str, after: str, *, forced: bool = False) -> None:
    """A ``push`` event (plus ``create``/``delete`` for new or removed branches and tags)."""
    repo, state, pusher = ctx.repo, ctx.state, ctx.actor
    created_ref, deleted = before == ZERO_SHA, after == ZERO_SHA
    ctx.emit(
        "push",
        None,
        lambda urls: _push_payload(urls, state, repo, pusher, refname, (before, after), forced),
    )
    short = refname.split("/", 2)[-1]
    ref_type = "tag" if refname.startswith("refs/tags/") else "branch"
    if created_ref:
        created_body = {
            "ref": short,
            "ref_type": ref_type,
            "master_branch": repo.default_branch,
            "description": repo.description,
            "pusher_type": "user",
        }
        ctx.emit("create", None, created_body)
    if deleted:
        ctx.emit("delete", None, {"ref": short, "ref_type": ref_type, "pusher_type": "user"})


def _push_payload(
    urls: builders.Urls,
    state: State,
    repo: Repo,
    pusher: User,
    refname: str,
    moved: tuple[str, str],
    forced: bool,
) -> dict[str, Any]:
    before, after = moved
    head = None if after == ZERO_SHA else _push_commit(urls, state, repo, after)
    return {
        "ref": refname,
        "before": before,
        "after": after,
        "created": before == ZERO_SHA,
        "deleted": after == ZERO_SHA,
        "forced": forced,
        "base_ref": None,
        "compare": f"{builders.repo_web(urls, state, repo)}/compare/{before[:12]}...{after[:12]}",
        "commits": [head] if head else [],
        "head_commit": head,
        "pusher": {"name": pusher.login, "email": pusher.email},
    }


def _push_commit(urls: builders.Urls, state: State, repo: Repo, sha: str) -> dict[str, Any]:
    info = repo.git.commit_info(sha)
    files = repo.git.changed_files(sha)
    return {
        "id": sha,
        "tree_id": info.tree,
        "distinct": True,
        "message": info.message,
        "timestamp": iso(info.committer.epoch),
        "url": f"{builders.repo_web(urls, state, repo)}/commit/{sha}",
        "author": {"name": info.author.name, "email": info.author.email},
        "committer": {"name": info.committer.name, "email": info.committer.email},
        "added": [f[0] for f in files if f[3] == "A"],
        "removed": [f[0] for f in files if f[3] == "D"],
        "modified": [f[0] for f in files if f[3] not in "AD"],
    }


# --- refs ---------------------------------------------------------------------------------


def _full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


def render_ref(ctx: Ctx, refname: str, sha: str, kind: str) -> dict[str, Any]:
    return builders.git_ref(ctx.urls, ctx.state, ctx.repo, refname, sha, kind)


@router.get("/repos/{owner}/{repo}/git/ref/{ref}")
def get_ref(ctx: Ctx) -> dict[str, Any]:
    refname = _full_ref(ctx.params["ref"])
    for name, sha, kind in ctx.repo.git.refs(refname):
        if name == refname:
            return render_ref(ctx, name, sha, kind)
    raise not_found()


@router.get("/repos/{owner}/{repo}/git/matching-refs/{ref}")
def list_matching_refs(ctx: Ctx) -> list[dict[str, Any]]:
    prefix = _full_ref(ctx.params["ref"])
    parent = prefix.rsplit("/", 1)[0] if not prefix.endswith("/") else prefix
    return [
        render_ref(ctx, name, sha, kind)
        for name, sha, kind in ctx.repo.git.refs(parent)
        if name.startswith(prefix)
    ]


@router.post("/repos/{owner}/{repo}/git/refs")
def create_ref(ctx: Ctx) -> Reply:
    refname, sha = ctx.body["ref"], ctx.body["sha"]
    if not _REF_NAME.match(refname):
        raise ApiError(422, Msg.REF_NAME_INVALID)
    if ctx.repo.git.ref_sha(refname) is not None:
        raise ApiError(422, Msg.REF_EXISTS)
    kind = ctx.repo.git.object_type(sha) if _SHA.match(sha) else None
    if kind is None:
        raise ApiError(422, Msg.OBJECT_MISSING)
    ctx.repo.git.update_ref(refname, sha, ZERO_SHA)
    ctx.repo.pushed_at = ctx.now
    emit_push(ctx, refname, ZERO_SHA, sha)
    return created(render_ref(ctx, refname, sha, kind))


@router.patch("/repos/{owner}/{repo}/git/refs/{ref}")
def update_ref(ctx: Ctx) -> dict[str, Any]:
    refname = _full_ref(ctx.params["ref"])
    git = ctx.repo.git
    current = git.ref_sha(refname)
    if current is None:
        raise ApiError(422, Msg.REF_MISSING)
    sha = ctx.body["sha"]
    if not _SHA.match(sha) or git.object_type(sha) != "commit":
        raise ApiError(422, Msg.OBJECT_MISSING)
    forced = not git.is_ancestor(current, sha)
    if forced and not ctx.field("force", False):
        raise ApiError(422, Msg.NOT_FAST_FORWARD)
    try:
        git.update_ref(refname, sha, current)
    except GitFailed as exc:
        raise ApiError(409, Msg.REF_UPDATE_FAILED) from exc
    ctx.repo.pushed_at = ctx.now
    emit_push(ctx, refname, current, sha, forced=forced)
    return render_ref(ctx, refname, sha, "commit")


@router.delete("/repos/{owner}/{repo}/git/refs/{ref}")
def delete_ref(ctx: Ctx) -> Reply:
    refname = _full_ref(ctx.params["ref"])
    current = ctx.repo.git.ref_sha(refname)
    if current is None:
        raise ApiError(422, Msg.REF_MISSING)
    ctx.repo.git.delete_ref(refname)
    emit_push(ctx, refname, current, ZERO_SHA)
    return no_content()


# --- objects ------------------------------------------------------------------------------


def _object(ctx: Ctx, sha: str, kind: str) -> str:
    if not _SHA.match(sha) or ctx.repo.git.object_type(sha) != kind:
        raise not_found()
    return sha


@router.get("/repos/{owner}/{repo}/git/commits/{commit_sha}")
def get_commit(ctx: Ctx) -> dict[str, Any]:
    sha = _object(ctx, ctx.params["commit_sha"], "commit")
    return builders.git_commit(ctx.urls, ctx.state, ctx.repo, ctx.repo.git.commit_info(sha))


@router.get("/repos/{owner}/{repo}/git/trees/{tree_sha}")
def get_tree(ctx: Ctx) -> dict[str, Any]:
    git = ctx.repo.git
    wanted = ctx.params["tree_sha"]
    sha = wanted if _SHA.match(wanted) else git.resolve(wanted)
    if sha is None:
        raise not_found()
    kind = git.object_type(sha)
    if kind == "commit":
        sha = git.commit_info(sha).tree
    elif kind != "tree":
        raise not_found()
    entries = git.ls_tree(sha, recursive=bool(ctx.query.get("recursive")))
    return builders.git_tree(ctx.urls, ctx.state, ctx.repo, sha, entries)


@router.get("/repos/{owner}/{repo}/git/blobs/{file_sha}")
def get_blob(ctx: Ctx) -> dict[str, Any]:
    sha = _object(ctx, ctx.params["file_sha"], "blob")
    return builders.blob(ctx.urls, ctx.state, ctx.repo, sha, ctx.repo.git.read_blob(sha))


@router.post("/repos/{owner}/{repo}/git/blobs")
def create_blob(ctx: Ctx) -> Reply:
    data = _decode(ctx.body["content"], ctx.field("encoding", "utf-8"))
    sha = ctx.repo.git.write_blob(data)
    return created(builders.short_blob(ctx.urls, ctx.state, ctx.repo, sha))


def _decode(content: str, encoding: str) -> bytes:
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=False)
        except binascii.Error as exc:
            raise ApiError(422, Msg.BAD_BASE64) from exc
    if encoding not in ("utf-8", "utf8"):
        raise ApiError(422, Msg.BAD_ENCODING.format(encoding=encoding))
    return content.encode()


@router.post("/repos/{owner}/{repo}/git/trees")
def create_tree(ctx: Ctx) -> Reply:
    git = ctx.repo.git
    base = ctx.field("base_tree")
    if base and git.object_type(base) not in ("tree", "commit"):
        raise ApiError(422, Msg.BAD_BASE_TREE)
    with tempfile.TemporaryDirectory() as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_WORK_TREE": scratch}
        if base:
            git.git("read-tree", base, env=env)
        for entry in ctx.body["tree"]:
            _stage(ctx, entry, env)
        sha = git.text("write-tree", env=env)
    return created(builders.git_tree(ctx.urls, ctx.state, ctx.repo, sha, git.ls_tree(sha)))


def _stage(ctx: Ctx, entry: dict[str, Any], env: dict[str, str]) -> None:
    git, path = ctx.repo.git, entry["path"]
    if "content" in entry:
        sha: str | None = git.write_blob(str(entry["content"]).encode())
    else:
        sha = entry.get("sha")
    if sha is None:
        git.git("update-index", "--force-remove", "--", path, env=env)
        return
    kind = entry.get("type", "blob")
    if kind == "tree":
        git.git("read-tree", f"--prefix={path.rstrip('/')}/", sha, env=env)
        return
    if git.object_type(sha) != kind:
        raise ApiError(422, Msg.BAD_TREE_ENTRY.format(sha=sha, kind=kind))
    mode = entry.get("mode", "100644")
    git.git("update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env)


@router.post("/repos/{owner}/{repo}/git/commits")
def create_commit(ctx: Ctx) -> Reply:
    git = ctx.repo.git
    tree = ctx.body["tree"]
    if git.object_type(tree) != "tree":
        raise ApiError(422, Msg.TREE_MISSING)
    parents = list(ctx.field("parents") or [])
    for parent in parents:
        if git.object_type(parent) != "commit":
            raise ApiError(422, Msg.PARENT_MISSING)
    author = _person(ctx, ctx.field("author"))
    committer = _person(ctx, ctx.field("committer")) if ctx.field("committer") else author
    sha = git.commit_tree(tree, parents, ctx.body["message"], author, committer)
    return created(builders.git_commit(ctx.urls, ctx.state, ctx.repo, git.commit_info(sha)))


def _person(ctx: Ctx, raw: dict[str, Any] | None) -> Person:
    """Author/committer from a request, defaulting to the caller, dated by the sandbox clock."""
    actor = ctx.actor
    if not raw:
        return Person(actor.name or actor.login, actor.email or "", int(ctx.now))
    when = parse_iso(raw["date"]) if raw.get("date") else ctx.now
    return Person(raw.get("name") or actor.login, raw.get("email") or actor.email or "", int(when))
