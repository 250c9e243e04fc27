"""Builds GitHub's JSON objects from sandbox records, complete and schema-valid.

Every resource module (and the webhook payloads) renders objects through these
functions, so a shape is fixed in one place. ``Urls`` carries the server's address:
API URLs look like GitHub Enterprise's (``http://HOST/api/v3/...``), web URLs like
``http://HOST/owner/repo``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sandbox.clock import iso
from bot.sandbox.gitstore import CommitInfo, Person, TreeEntry
from bot.sandbox.state import (
    App,
    CheckRun,
    CheckSuite,
    Comment,
    CommitStatus,
    Event,
    Installation,
    Issue,
    Label,
    Reaction,
    Repo,
    Role,
    State,
    User,
)

if TYPE_CHECKING:
    from bot.sandbox.diffs import FileDiff
    from bot.sandbox.pulls import PullRequest, PullStats
    from bot.sandbox.reviews import Review, ReviewComment

REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
# Legacy "permission" names of roles (GET .../collaborators/{u}/permission).
LEGACY_PERMISSION = {
    Role.ADMIN: "admin",
    Role.MAINTAIN: "write",
    Role.WRITE: "write",
    Role.TRIAGE: "read",
    Role.READ: "read",
    Role.NONE: "none",
}


@dataclass(frozen=True)
class Urls:
    """Where the sandbox is reachable: ``api`` ends in /api/v3, ``web`` is the host root."""

    api: str
    web: str

    @classmethod
    def for_host(cls, root: str) -> Urls:
        root = root.rstrip("/")
        return cls(api=f"{root}/api/v3", web=root)


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"{kind}:{ident}".encode()).decode().rstrip("=")


def _opt_iso(epoch: float | None) -> str | None:
    return None if epoch is None else iso(epoch)


# --- people -----------------------------------------------------------------------------


def simple_user(urls: Urls, user: User) -> dict[str, Any]:
    api = f"{urls.api}/users/{user.login}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id("User", user.id),
        "avatar_url": f"{urls.web}/avatars/u/{user.id}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{urls.web}/{user.login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": user.type,
        "site_admin": user.site_admin,
        "user_view_type": "public",
    }


def public_user(urls: Urls, state: State, user: User) -> dict[str, Any]:
    repos = [r for r in state.repos.values() if r.owner_id == user.id]
    return simple_user(urls, user) | {
        "name": user.name,
        "company": None,
        "blog": "",
        "location": None,
        "email": user.email,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": sum(1 for r in repos if not r.private),
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.created_at),
    }


def private_user(urls: Urls, state: State, user: User) -> dict[str, Any]:
    repos = [r for r in state.repos.values() if r.owner_id == user.id]
    private = sum(1 for r in repos if r.private)
    return public_user(urls, state, user) | {
        "private_gists": 0,
        "total_private_repos": private,
        "owned_private_repos": private,
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": True,
        "user_view_type": "private",
    }


def nullable_user(urls: Urls, state: State, user_id: int | None) -> dict[str, Any] | None:
    if user_id is None or user_id not in state.users:
        return None
    return simple_user(urls, state.users[user_id])


# --- apps -------------------------------------------------------------------------------


def integration(urls: Urls, state: State, app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "slug": app.slug,
        "node_id": node_id("App", app.id),
        "client_id": app.client_id,
        "owner": simple_user(urls, state.users[app.owner_id]),
        "name": app.name,
        "description": app.description,
        "external_url": f"{urls.web}/apps/{app.slug}",
        "html_url": f"{urls.web}/apps/{app.slug}",
        "created_at": iso(app.created_at),
        "updated_at": iso(app.created_at),
        "permissions": dict(app.permissions),
        "events": list(app.events),
        "installations_count": sum(1 for i in state.installations.values() if i.app_id == app.id),
    }


def installation(urls: Urls, state: State, inst: Installation) -> dict[str, Any]:
    app = state.apps[inst.app_id]
    account = state.users[inst.account_id]
    # GET /app/installations describes the account as "allOf" user *and* enterprise
    # (a quirk of the published description), so the enterprise fields come along.
    enterprise_fields = {
        "name": account.name or account.login,
        "slug": account.login.lower(),
        "created_at": iso(account.created_at),
        "updated_at": iso(account.created_at),
    }
    return {
        "id": inst.id,
        "account": simple_user(urls, account) | enterprise_fields,
        "repository_selection": "all" if inst.repository_ids is None else "selected",
        "access_tokens_url": f"{urls.api}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{urls.api}/installation/repositories",
        "html_url": f"{urls.web}/settings/installations/{inst.id}",
        "app_id": app.id,
        "app_slug": app.slug,
        "client_id": app.client_id,
        "target_id": account.id,
        "target_type": account.type if account.type != "Bot" else "User",
        "permissions": dict(inst.permissions),
        "events": list(inst.events),
        "created_at": iso(inst.created_at),
        "updated_at": iso(inst.updated_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": _opt_iso(inst.suspended_at),
    }


# --- repositories -----------------------------------------------------------------------

# Where bot.sandbox.forks keeps a fork's parent repository id (repo.extensions).
FORK_PARENT = "fork_parent"


def fork_count(state: State, repo: Repo) -> int:
    return sum(1 for other in state.repos.values() if other.extensions.get(FORK_PARENT) == repo.id)


def repository(urls: Urls, state: State, repo: Repo) -> dict[str, Any]:
    """The full repository object (a superset of minimal-repository and repository)."""
    owner = state.users[repo.owner_id]
    full = f"{owner.login}/{repo.name}"
    api = f"{urls.api}/repos/{full}"
    open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
    return {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": full,
        "owner": simple_user(urls, owner),
        "private": repo.private,
        "html_url": f"{urls.web}/{full}",
        "description": repo.description,
        "fork": FORK_PARENT in repo.extensions,
        "url": api,
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "assignees_url": f"{api}/assignees{{/user}}",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "comments_url": f"{api}/comments{{/number}}",
        "commits_url": f"{api}/commits{{/sha}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "contributors_url": f"{api}/contributors",
        "deployments_url": f"{api}/deployments",
        "downloads_url": f"{api}/downloads",
        "events_url": f"{api}/events",
        "forks_url": f"{api}/forks",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_url": f"{urls.web}/{full}.git",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "issues_url": f"{api}/issues{{/number}}",
        "keys_url": f"{api}/keys{{/key_id}}",
        "labels_url": f"{api}/labels{{/name}}",
        "languages_url": f"{api}/languages",
        "merges_url": f"{api}/merges",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "releases_url": f"{api}/releases{{/id}}",
        "ssh_url": f"git@sandbox:{full}.git",
        "stargazers_url": f"{api}/stargazers",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "tags_url": f"{api}/tags",
        "teams_url": f"{api}/teams",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "clone_url": f"{urls.web}/{full}.git",
        "mirror_url": None,
        "hooks_url": f"{api}/hooks",
        "svn_url": f"{urls.web}/{full}",
        "homepage": None,
        "language": None,
        "forks_count": fork_count(state, repo),
        "forks": fork_count(state, repo),
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues_count": open_issues,
        "open_issues": open_issues,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "pushed_at": iso(repo.pushed_at),
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.updated_at),
        "allow_rebase_merge": True,
        "allow_squash_merge": True,
        "allow_merge_commit": True,
        "allow_auto_merge": False,
        "delete_branch_on_merge": False,
        "license": None,
        "network_count": 0,
        "subscribers_count": 0,
    }


def repo_api(urls: Urls, state: State, repo: Repo) -> str:
    return f"{urls.api}/repos/{state.full_name(repo)}"


def repo_web(urls: Urls, state: State, repo: Repo) -> str:
    return f"{urls.web}/{state.full_name(repo)}"


# --- issues, comments, labels, reactions -------------------------------------------------


def label(urls: Urls, state: State, repo: Repo, item: Label) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": node_id("Label", item.id),
        "url": f"{repo_api(urls, state, repo)}/labels/{item.name}",
        "name": item.name,
        "description": item.description,
        "color": item.color,
        "default": item.default,
    }


def reaction(urls: Urls, state: State, item: Reaction) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": node_id("Reaction", item.id),
        "user": nullable_user(urls, state, item.user_id),
        "content": item.content,
        "created_at": iso(item.created_at),
    }


def reaction_rollup(url: str, reactions: list[Reaction]) -> dict[str, Any]:
    counts = {content: 0 for content in REACTION_CONTENTS}
    for item in reactions:
        counts[item.content] += 1
    return {"url": f"{url}/reactions", "total_count": len(reactions), **counts}


def author_association(state: State, repo: Repo, user_id: int) -> str:
    if user_id == repo.owner_id:
        return "OWNER"
    if user_id in repo.collaborators:
        return "COLLABORATOR"
    return "NONE"


def issue(urls: Urls, state: State, repo: Repo, item: Issue) -> dict[str, Any]:
    api = f"{repo_api(urls, state, repo)}/issues/{item.number}"
    labels = [
        label(urls, state, repo, repo.labels[name.lower()])
        for name in item.label_names
        if name.lower() in repo.labels
    ]
    assignees = [simple_user(urls, state.users[uid]) for uid in item.assignee_ids]
    comments = sum(1 for c in repo.comments.values() if c.issue_number == item.number)
    body: dict[str, Any] = {
        "id": item.id,
        "node_id": node_id("Issue", item.id),
        "url": api,
        "repository_url": repo_api(urls, state, repo),
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{repo_web(urls, state, repo)}/issues/{item.number}",
        "number": item.number,
        "state": item.state,
        "state_reason": item.state_reason,
        "title": item.title,
        "body": item.body,
        "user": nullable_user(urls, state, item.user_id),
        "labels": labels,
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "milestone": None,
        "locked": item.locked,
        "active_lock_reason": None,
        "comments": comments,
        "closed_at": _opt_iso(item.closed_at),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "closed_by": nullable_user(urls, state, item.closed_by_id),
        "author_association": author_association(state, repo, item.user_id),
        "reactions": reaction_rollup(api, item.reactions),
        "timeline_url": f"{api}/timeline",
        "performed_via_github_app": _via_app(urls, state, item.app_id),
    }
    if item.pull_request is not None:
        body["pull_request"] = dict(item.pull_request)
    return body


def comment(urls: Urls, state: State, repo: Repo, item: Comment) -> dict[str, Any]:
    api = f"{repo_api(urls, state, repo)}/issues/comments/{item.id}"
    issue_html = f"{repo_web(urls, state, repo)}/issues/{item.issue_number}"
    return {
        "id": item.id,
        "node_id": node_id("IssueComment", item.id),
        "url": api,
        "html_url": f"{issue_html}#issuecomment-{item.id}",
        "issue_url": f"{repo_api(urls, state, repo)}/issues/{item.issue_number}",
        "body": item.body,
        "user": nullable_user(urls, state, item.user_id),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "author_association": author_association(state, repo, item.user_id),
        "reactions": reaction_rollup(api, item.reactions),
        "performed_via_github_app": _via_app(urls, state, item.app_id),
    }


def _via_app(urls: Urls, state: State, app_id: int | None) -> dict[str, Any] | None:
    if app_id is None or app_id not in state.apps:
        return None
    return integration(urls, state, state.apps[app_id])


# --- collaborators ----------------------------------------------------------------------


def role_permissions(role: Role) -> dict[str, bool]:
    return {
        "admin": role.at_least(Role.ADMIN),
        "maintain": role.at_least(Role.MAINTAIN),
        "push": role.at_least(Role.WRITE),
        "triage": role.at_least(Role.TRIAGE),
        "pull": role.at_least(Role.READ),
    }


def collaborator(urls: Urls, user: User, role: Role) -> dict[str, Any]:
    return simple_user(urls, user) | {
        "permissions": role_permissions(role),
        "role_name": role.value,
    }


def collaborator_permission(urls: Urls, user: User, role: Role) -> dict[str, Any]:
    return {
        "permission": LEGACY_PERMISSION[role],
        "role_name": role.value,
        "user": collaborator(urls, user, role),
    }


# --- git data ---------------------------------------------------------------------------


def git_person(person: Person) -> dict[str, Any]:
    return {"name": person.name, "email": person.email, "date": iso(person.epoch)}


def _verification() -> dict[str, Any]:
    return {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }


def git_commit(urls: Urls, state: State, repo: Repo, info: CommitInfo) -> dict[str, Any]:
    api = repo_api(urls, state, repo)
    return {
        "sha": info.sha,
        "node_id": node_id("Commit", info.sha),
        "url": f"{api}/git/commits/{info.sha}",
        "html_url": f"{repo_web(urls, state, repo)}/commit/{info.sha}",
        "author": git_person(info.author),
        "committer": git_person(info.committer),
        "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
        "message": info.message,
        "parents": [
            {
                "sha": parent,
                "url": f"{api}/git/commits/{parent}",
                "html_url": f"{repo_web(urls, state, repo)}/commit/{parent}",
            }
            for parent in info.parents
        ],
        "verification": _verification(),
    }


def _account_for(urls: Urls, state: State, person: Person) -> dict[str, Any] | None:
    wanted = person.email.lower()
    for user in state.users.values():
        if user.email and user.email.lower() == wanted:
            return simple_user(urls, user)
    return None


def commit(
    urls: Urls,
    state: State,
    repo: Repo,
    info: CommitInfo,
    files: list[tuple[str, int, int, str]] | None = None,
) -> dict[str, Any]:
    """The "commit" object of GET /repos/{o}/{r}/commits/{ref}."""
    api = repo_api(urls, state, repo)
    web = repo_web(urls, state, repo)
    body: dict[str, Any] = {
        "url": f"{api}/commits/{info.sha}",
        "sha": info.sha,
        "node_id": node_id("Commit", info.sha),
        "html_url": f"{web}/commit/{info.sha}",
        "comments_url": f"{api}/commits/{info.sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{info.sha}",
            "author": git_person(info.author),
            "committer": git_person(info.committer),
            "message": info.message,
            "comment_count": 0,
            "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
            "verification": _verification(),
        },
        "author": _account_for(urls, state, info.author),
        "committer": _account_for(urls, state, info.committer),
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{web}/commit/{p}"}
            for p in info.parents
        ],
    }
    if files is not None:
        body["files"] = [_commit_file(api, web, info.sha, f) for f in files]
        added = sum(f[1] for f in files)
        deleted = sum(f[2] for f in files)
        body["stats"] = {"additions": added, "deletions": deleted, "total": added + deleted}
    return body


_FILE_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied"}


def _commit_file(api: str, web: str, sha: str, item: tuple[str, int, int, str]) -> dict[str, Any]:
    path, added, deleted, letter = item
    return {
        "sha": None,
        "filename": path,
        "status": _FILE_STATUS.get(letter, "changed"),
        "additions": added,
        "deletions": deleted,
        "changes": added + deleted,
        "blob_url": f"{web}/blob/{sha}/{path}",
        "raw_url": f"{web}/raw/{sha}/{path}",
        "contents_url": f"{api}/contents/{path}?ref={sha}",
    }


def simple_commit(info: CommitInfo) -> dict[str, Any]:
    return {
        "id": info.sha,
        "tree_id": info.tree,
        "message": info.message,
        "timestamp": iso(info.committer.epoch),
        "author": {"name": info.author.name, "email": info.author.email},
        "committer": {"name": info.committer.name, "email": info.committer.email},
    }


def git_ref(
    urls: Urls, state: State, repo: Repo, refname: str, sha: str, kind: str
) -> dict[str, Any]:
    api = repo_api(urls, state, repo)
    plural = {"commit": "commits", "tag": "tags", "tree": "trees", "blob": "blobs"}[kind]
    return {
        "ref": refname,
        "node_id": node_id("Ref", f"{repo.id}:{refname}"),
        "url": f"{api}/git/{refname}",
        "object": {"type": kind, "sha": sha, "url": f"{api}/git/{plural}/{sha}"},
    }


def git_tree(
    urls: Urls, state: State, repo: Repo, sha: str, entries: list[TreeEntry]
) -> dict[str, Any]:
    api = repo_api(urls, state, repo)
    items = []
    for entry in entries:
        item: dict[str, Any] = {
            "path": entry.path,
            "mode": entry.mode,
            "type": entry.kind,
            "sha": entry.sha,
        }
        if entry.kind == "blob":
            item["size"] = entry.size or 0
            item["url"] = f"{api}/git/blobs/{entry.sha}"
        elif entry.kind == "tree":
            item["url"] = f"{api}/git/trees/{entry.sha}"
        items.append(item)
    return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": items, "truncated": False}


def blob(urls: Urls, state: State, repo: Repo, sha: str, content: bytes) -> dict[str, Any]:
    return {
        "sha": sha,
        "node_id": node_id("Blob", sha),
        "url": f"{repo_api(urls, state, repo)}/git/blobs/{sha}",
        "size": len(content),
        "content": _b64_lines(content),
        "encoding": "base64",
    }


def short_blob(urls: Urls, state: State, repo: Repo, sha: str) -> dict[str, Any]:
    return {"url": f"{repo_api(urls, state, repo)}/git/blobs/{sha}", "sha": sha}


def _b64_lines(content: bytes) -> str:
    """Base64 in 60-character lines ending in newlines, as GitHub returns it."""
    encoded = base64.b64encode(content).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


# --- contents ---------------------------------------------------------------------------


def content_entry(
    urls: Urls, state: State, repo: Repo, ref: str, entry: TreeEntry
) -> dict[str, Any]:
    """A file or directory entry of the contents API (without ``content``)."""
    api = repo_api(urls, state, repo)
    web = repo_web(urls, state, repo)
    kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[entry.kind]
    if entry.mode == "120000":
        kind = "symlink"
    plural = "trees" if entry.kind == "tree" else "blobs"
    git_url = f"{api}/git/{plural}/{entry.sha}"
    html = f"{web}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{entry.path}"
    return {
        "type": kind,
        "size": entry.size or 0,
        "name": entry.path.rsplit("/", 1)[-1],
        "path": entry.path,
        "sha": entry.sha,
        "url": f"{api}/contents/{entry.path}?ref={ref}",
        "git_url": git_url,
        "html_url": html,
        "download_url": f"{web}/raw/{ref}/{entry.path}" if kind == "file" else None,
        "_links": {"self": f"{api}/contents/{entry.path}?ref={ref}", "git": git_url, "html": html},
    }


def content_file(
    urls: Urls, state: State, repo: Repo, ref: str, entry: TreeEntry, content: bytes
) -> dict[str, Any]:
    return content_entry(urls, state, repo, ref, entry) | {
        "content": _b64_lines(content),
        "encoding": "base64",
    }


def git_blob_sha(content: bytes) -> str:
    """The SHA git gives a blob with this content (without writing it)."""
    header = f"blob {len(content)}\0".encode()
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


# --- statuses and checks ----------------------------------------------------------------


def commit_status(urls: Urls, state: State, repo: Repo, item: CommitStatus) -> dict[str, Any]:
    creator = nullable_user(urls, state, item.creator_id)
    return {
        "url": f"{repo_api(urls, state, repo)}/statuses/{item.sha}",
        "avatar_url": creator["avatar_url"] if creator else None,
        "id": item.id,
        "node_id": node_id("StatusContext", item.id),
        "state": item.state,
        "description": item.description,
        "target_url": item.target_url,
        "context": item.context,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "creator": creator,
    }


def check_suite(urls: Urls, state: State, repo: Repo, suite: CheckSuite) -> dict[str, Any]:
    api = repo_api(urls, state, repo)
    runs = [r for r in repo.check_runs.values() if r.suite_id == suite.id]
    return {
        "id": suite.id,
        "node_id": node_id("CheckSuite", suite.id),
        "head_branch": suite.head_branch,
        "head_sha": suite.head_sha,
        "status": suite.status,
        "conclusion": suite.conclusion,
        "url": f"{api}/check-suites/{suite.id}",
        "before": None,
        "after": suite.head_sha,
        "pull_requests": [],
        "app": integration(urls, state, state.apps[suite.app_id]),
        "repository": repository(urls, state, repo),
        "created_at": iso(suite.created_at),
        "updated_at": iso(suite.updated_at),
        "head_commit": simple_commit(repo.git.commit_info(suite.head_sha)),
        "latest_check_runs_count": len(runs),
        "check_runs_url": f"{api}/check-suites/{suite.id}/check-runs",
        "rerequestable": True,
        "runs_rerequestable": True,
    }


def check_run(urls: Urls, state: State, repo: Repo, run: CheckRun) -> dict[str, Any]:
    api = repo_api(urls, state, repo)
    url = f"{api}/check-runs/{run.id}"
    return {
        "id": run.id,
        "node_id": node_id("CheckRun", run.id),
        "head_sha": run.head_sha,
        "external_id": run.external_id or "",
        "url": url,
        "html_url": f"{repo_web(urls, state, repo)}/runs/{run.id}",
        "details_url": run.details_url or f"{urls.web}/apps/{state.apps[run.app_id].slug}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": _opt_iso(run.started_at),
        "completed_at": _opt_iso(run.completed_at),
        "output": {
            "title": run.output.get("title"),
            "summary": run.output.get("summary"),
            "text": run.output.get("text"),
            "annotations_count": len(run.annotations),
            "annotations_url": f"{url}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": run.suite_id},
        "app": integration(urls, state, state.apps[run.app_id]),
        "pull_requests": [],
    }


def check_annotation(
    urls: Urls, state: State, repo: Repo, run: CheckRun, item: dict[str, Any]
) -> dict[str, Any]:
    return {
        "path": item["path"],
        "blob_href": f"{repo_web(urls, state, repo)}/blob/{run.head_sha}/{item['path']}",
        "start_line": item["start_line"],
        "end_line": item["end_line"],
        "start_column": item.get("start_column"),
        "end_column": item.get("end_column"),
        "annotation_level": item.get("annotation_level"),
        "title": item.get("title"),
        "message": item.get("message"),
        "raw_details": item.get("raw_details"),
    }


# --- webhook payloads -------------------------------------------------------------------


def event_payload(
    urls: Urls, state: State, event: Event, installation: Installation | None = None
) -> dict[str, Any]:
    """The full webhook body of ``event``: action, its own part, repository, sender.

    ``installation`` is the receiving App's installation (webhooks to an App carry it).
    """
    body: dict[str, Any] = {"action": event.action} if event.action else {}
    body |= event.body(urls)
    repo = state.repos.get(event.repo_id) if event.repo_id is not None else None
    if repo is not None:
        body["repository"] = repository(urls, state, repo)
    if event.sender_id is not None and event.sender_id in state.users:
        body["sender"] = simple_user(urls, state.users[event.sender_id])
    if installation is not None:
        body["installation"] = {
            "id": installation.id,
            "node_id": node_id("Installation", installation.id),
        }
    return body


# --- pull requests, reviews and review comments -----------------------------------------


def _link(href: str) -> dict[str, str]:
    return {"href": href}


def _pull_urls(urls: Urls, state: State, repo: Repo, number: int) -> dict[str, str]:
    api = repo_api(urls, state, repo)
    web = f"{repo_web(urls, state, repo)}/pull/{number}"
    return {
        "api": f"{api}/pulls/{number}",
        "web": web,
        "issue": f"{api}/issues/{number}",
        "diff": f"{web}.diff",
        "patch": f"{web}.patch",
    }


def pull_issue_link(urls: Urls, state: State, repo: Repo, number: int) -> dict[str, Any]:
    """The ``pull_request`` member of an issue that is a pull request (``merged_at`` None)."""
    found = _pull_urls(urls, state, repo, number)
    return {
        "url": found["api"],
        "html_url": found["web"],
        "diff_url": found["diff"],
        "patch_url": found["patch"],
        "merged_at": None,
    }


def _pull_branch(urls: Urls, state: State, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
    owner = state.users[repo.owner_id]
    return {
        "label": f"{owner.login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": simple_user(urls, owner),
        "repo": repository(urls, state, repo),
    }


def pull_request_simple(
    urls: Urls, state: State, repo: Repo, item: Issue, pr: PullRequest, base_sha: str
) -> dict[str, Any]:
    """A pull request as lists show it (``pull-request-simple``)."""
    found = _pull_urls(urls, state, repo, item.number)
    api = repo_api(urls, state, repo)
    as_issue = issue(urls, state, repo, item)
    reviewers = [simple_user(urls, state.users[uid]) for uid in pr.requested_reviewer_ids]
    return {
        "url": found["api"],
        "id": pr.id,
        "node_id": node_id("PullRequest", pr.id),
        "html_url": found["web"],
        "diff_url": found["diff"],
        "patch_url": found["patch"],
        "issue_url": found["issue"],
        "commits_url": f"{found['api']}/commits",
        "review_comments_url": f"{found['api']}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{found['issue']}/comments",
        "statuses_url": f"{api}/statuses/{pr.head_sha}",
        "number": item.number,
        "state": item.state,
        "locked": item.locked,
        "title": item.title,
        "user": as_issue["user"],
        "body": item.body,
        "labels": as_issue["labels"],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "closed_at": _opt_iso(item.closed_at),
        "merged_at": _opt_iso(pr.merged_at),
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": as_issue["assignee"],
        "assignees": as_issue["assignees"],
        "requested_reviewers": reviewers,
        "requested_teams": [],
        # A fork's pull request shows the fork as its head repository.
        "head": _pull_branch(
            urls, state, state.repos.get(pr.head_repo_id or repo.id, repo), pr.head_ref, pr.head_sha
        ),
        "base": _pull_branch(urls, state, repo, pr.base_ref, base_sha),
        "_links": {
            "self": _link(found["api"]),
            "html": _link(found["web"]),
            "issue": _link(found["issue"]),
            "comments": _link(f"{found['issue']}/comments"),
            "review_comments": _link(f"{found['api']}/comments"),
            "review_comment": _link(f"{api}/pulls/comments{{/number}}"),
            "commits": _link(f"{found['api']}/commits"),
            "statuses": _link(f"{api}/statuses/{pr.head_sha}"),
        },
        "author_association": as_issue["author_association"],
        "auto_merge": None,
        "draft": pr.draft,
    }


def pull_request(
    urls: Urls, state: State, repo: Repo, item: Issue, pr: PullRequest, stats: PullStats
) -> dict[str, Any]:
    """The full pull request (GET /pulls/{n}, webhook payloads)."""
    comments = sum(1 for c in repo.comments.values() if c.issue_number == item.number)
    return pull_request_simple(urls, state, repo, item, pr, stats.base_sha) | {
        "merged": pr.merged_at is not None,
        "mergeable": stats.mergeable,
        "rebaseable": stats.mergeable,
        "mergeable_state": stats.mergeable_state,
        "merged_by": nullable_user(urls, state, pr.merged_by_id),
        "comments": comments,
        "review_comments": stats.review_comments,
        "maintainer_can_modify": pr.maintainer_can_modify,
        "commits": stats.commits,
        "additions": stats.additions,
        "deletions": stats.deletions,
        "changed_files": stats.changed_files,
    }


def diff_entry(
    urls: Urls, state: State, repo: Repo, head_sha: str, item: FileDiff
) -> dict[str, Any]:
    """One file of GET /pulls/{n}/files or a comparison; ``patch`` left out when too large."""
    api = repo_api(urls, state, repo)
    web = repo_web(urls, state, repo)
    entry = repo.git.entry_at(head_sha, item.path) if item.status != "removed" else None
    body: dict[str, Any] = {
        "sha": entry.sha if entry else None,
        "filename": item.path,
        "status": item.status,
        "additions": item.additions,
        "deletions": item.deletions,
        "changes": item.changes,
        "blob_url": f"{web}/blob/{head_sha}/{item.path}",
        "raw_url": f"{web}/raw/{head_sha}/{item.path}",
        "contents_url": f"{api}/contents/{item.path}?ref={head_sha}",
    }
    if item.patch is not None:
        body["patch"] = item.patch
    if item.previous_path is not None:
        body["previous_filename"] = item.previous_path
    return body


def commit_comparison(
    urls: Urls,
    state: State,
    repo: Repo,
    spec: tuple[str, str, str],
    commits: list[dict[str, Any]],
    files: list[dict[str, Any]],
    counts: tuple[str, int, int],
) -> dict[str, Any]:
    """GET /compare/{basehead}: ``spec`` is (basehead text, base sha, merge-base sha)."""
    basehead, base_sha, merge_base = spec
    status, ahead, behind = counts
    api = repo_api(urls, state, repo)
    web = repo_web(urls, state, repo)
    return {
        "url": f"{api}/compare/{basehead}",
        "html_url": f"{web}/compare/{basehead}",
        "permalink_url": f"{web}/compare/{base_sha[:7]}...{merge_base[:7]}",
        "diff_url": f"{web}/compare/{basehead}.diff",
        "patch_url": f"{web}/compare/{basehead}.patch",
        "base_commit": commit(urls, state, repo, repo.git.commit_info(base_sha)),
        "merge_base_commit": commit(urls, state, repo, repo.git.commit_info(merge_base)),
        "status": status,
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": ahead,
        "commits": commits,
        "files": files,
    }


def pull_review(urls: Urls, state: State, repo: Repo, item: Review) -> dict[str, Any]:
    pull_api = f"{repo_api(urls, state, repo)}/pulls/{item.number}"
    html = f"{repo_web(urls, state, repo)}/pull/{item.number}#pullrequestreview-{item.id}"
    body: dict[str, Any] = {
        "id": item.id,
        "node_id": node_id("PullRequestReview", item.id),
        "user": nullable_user(urls, state, item.user_id),
        "body": item.body,
        "state": item.state,
        "html_url": html,
        "pull_request_url": pull_api,
        "_links": {"html": _link(html), "pull_request": _link(pull_api)},
        "commit_id": item.commit_id,
        "author_association": author_association(state, repo, item.user_id),
    }
    if item.submitted_at is not None:
        body["submitted_at"] = iso(item.submitted_at)
    return body


def review_comment(urls: Urls, state: State, repo: Repo, item: ReviewComment) -> dict[str, Any]:
    api = f"{repo_api(urls, state, repo)}/pulls/comments/{item.id}"
    pull_api = f"{repo_api(urls, state, repo)}/pulls/{item.number}"
    html = f"{repo_web(urls, state, repo)}/pull/{item.number}#discussion_r{item.id}"
    body: dict[str, Any] = {
        "url": api,
        "pull_request_review_id": item.review_id,
        "id": item.id,
        "node_id": node_id("PullRequestReviewComment", item.id),
        "diff_hunk": item.diff_hunk,
        "path": item.path,
        "position": item.position,
        "original_position": item.original_position,
        "commit_id": item.commit_id,
        "original_commit_id": item.original_commit_id,
        "user": nullable_user(urls, state, item.user_id),
        "body": item.body,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "html_url": html,
        "pull_request_url": pull_api,
        "author_association": author_association(state, repo, item.user_id),
        "_links": {"self": _link(api), "html": _link(html), "pull_request": _link(pull_api)},
        "start_line": item.start_line,
        "original_start_line": item.original_start_line,
        "start_side": item.start_side,
        "line": item.line,
        "original_line": item.original_line,
        "side": item.side,
        "subject_type": item.subject_type,
        "reactions": reaction_rollup(api, item.reactions),
    }
    if item.in_reply_to_id is not None:
        body["in_reply_to_id"] = item.in_reply_to_id
    # GitHub sends null for an outdated comment's position and line; its REST description
    # does not allow null there, so the REST form leaves them out (webhooks keep null).
    return {k: v for k, v in body.items() if v is not None or k not in _REST_NOT_NULL}


_REST_NOT_NULL = frozenset({"position", "line", "original_line", "original_position", "side"})


# --- webhook payload shapes ---------------------------------------------------------------
# Webhook payloads describe the same objects as the REST API with a few members more or
# less (GitHub's webhook schemas, published as @octokit/webhooks-schemas, allow no others).

_HOOK_REPOSITORY_EXTRA = {"web_commit_signoff_required": False, "custom_properties": {}}
_HOOK_REPOSITORY_DROP = frozenset({"network_count", "subscribers_count"})
_HOOK_ISSUE_DROP = frozenset({"closed_by"})
_HOOK_APP_DROP = frozenset({"client_id", "installations_count"})
_HOOK_INSTALLATION_DROP = frozenset({"client_id"})
_PULL_FULL_ONLY = frozenset(
    {
        "merged",
        "mergeable",
        "rebaseable",
        "mergeable_state",
        "merged_by",
        "comments",
        "review_comments",
        "maintainer_can_modify",
        "commits",
        "additions",
        "deletions",
        "changed_files",
    }
)
# Events whose ``pull_request`` is the short form (no merge state or counts).
_SIMPLE_PULL_EVENTS = frozenset({"pull_request_review", "pull_request_review_comment"})
_CHECK_SUITE_IN_RUN = (
    "id",
    "node_id",
    "head_branch",
    "head_sha",
    "status",
    "conclusion",
    "url",
    "before",
    "after",
    "pull_requests",
    "app",
    "created_at",
    "updated_at",
)


def _drop(value: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {key: item for key, item in value.items() if key not in names}


def _strip_user_view_type(value: Any) -> Any:
    """Webhook user objects have no ``user_view_type`` (REST ones do)."""
    if isinstance(value, dict):
        return {k: _strip_user_view_type(v) for k, v in value.items() if k != "user_view_type"}
    if isinstance(value, list):
        return [_strip_user_view_type(item) for item in value]
    return value


def hook_repository(value: dict[str, Any]) -> dict[str, Any]:
    return _drop(value, _HOOK_REPOSITORY_DROP) | {
        key: value.get(key, default) for key, default in _HOOK_REPOSITORY_EXTRA.items()
    }


def hook_app(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else _drop(value, _HOOK_APP_DROP)


def hook_issue(value: dict[str, Any]) -> dict[str, Any]:
    shaped = _drop(value, _HOOK_ISSUE_DROP)
    shaped["performed_via_github_app"] = hook_app(value.get("performed_via_github_app"))
    return shaped


def hook_pull_request(value: dict[str, Any], *, simple: bool) -> dict[str, Any]:
    shaped = _drop(value, _PULL_FULL_ONLY) if simple else dict(value)
    for side in ("head", "base"):
        branch = dict(shaped[side])
        if branch.get("repo") is not None:
            branch["repo"] = hook_repository(branch["repo"])
        shaped[side] = branch
    return shaped


def hook_check_suite(value: dict[str, Any]) -> dict[str, Any]:
    shaped = _drop(value, frozenset({"repository"}))
    shaped["app"] = hook_app(value.get("app"))
    return shaped


def hook_check_run(value: dict[str, Any], suite: dict[str, Any], created_at: str) -> dict[str, Any]:
    """A check run in a webhook carries its whole suite (the REST one only the id).

    GitHub starts the clock of a queued run when it is created.
    """
    shaped = dict(value)
    if shaped.get("started_at") is None:
        shaped["started_at"] = created_at
    shaped["app"] = hook_app(value.get("app"))
    shaped["check_suite"] = {k: suite[k] for k in _CHECK_SUITE_IN_RUN if k in suite} | {
        "app": hook_app(suite.get("app"))
    }
    return shaped


def hook_installation(value: dict[str, Any]) -> dict[str, Any]:
    shaped = _drop(value, _HOOK_INSTALLATION_DROP)
    account = dict(shaped["account"])
    # The webhook's installation account is a plain user (no enterprise members).
    for extra in ("name", "slug", "created_at", "updated_at"):
        account.pop(extra, None)
    shaped["account"] = account
    return shaped


def webhook_body(
    event: str, body: dict[str, Any], run: tuple[dict[str, Any], str] | None = None
) -> dict[str, Any]:
    """A full event body (see :func:`event_payload`) in the webhook payload's shape.

    ``run`` is, for a ``check_run`` event, the run's REST check suite and creation time.
    """
    shaped = dict(body)
    if isinstance(shaped.get("check_run"), dict) and run is not None:
        shaped["check_run"] = hook_check_run(shaped["check_run"], *run)
    if isinstance(shaped.get("comment"), dict) and "performed_via_github_app" in shaped["comment"]:
        app = shaped["comment"]["performed_via_github_app"]
        shaped["comment"] = shaped["comment"] | {"performed_via_github_app": hook_app(app)}
    if event == "pull_request_review_comment" and isinstance(shaped.get("comment"), dict):
        shaped["comment"] = {key: None for key in ("position", "line")} | shaped["comment"]
    if isinstance(shaped.get("changes"), dict):
        # An edit of an empty body: webhooks give the old text as "" (never null).
        shaped["changes"] = {
            key: {"from": ""} if change == {"from": None} else change
            for key, change in shaped["changes"].items()
        }
    if isinstance(shaped.get("review"), dict):
        # Webhooks spell review states in lower case (REST: APPROVED, webhook: approved).
        shaped["review"] = shaped["review"] | {"state": str(shaped["review"]["state"]).lower()}
    if isinstance(shaped.get("repository"), dict):
        shaped["repository"] = hook_repository(shaped["repository"])
    if isinstance(shaped.get("issue"), dict):
        shaped["issue"] = hook_issue(shaped["issue"])
    if isinstance(shaped.get("pull_request"), dict) and "head" in shaped["pull_request"]:
        simple = event in _SIMPLE_PULL_EVENTS
        shaped["pull_request"] = hook_pull_request(shaped["pull_request"], simple=simple)
    if isinstance(shaped.get("check_suite"), dict):
        suite = hook_check_suite(shaped["check_suite"])
        if body.get("action") == "rerequested":  # the published schema leaves these out
            suite = _drop(suite, frozenset({"rerequestable", "runs_rerequestable"}))
        shaped["check_suite"] = suite
    if event == "installation" and isinstance(shaped.get("installation"), dict):
        shaped["installation"] = hook_installation(shaped["installation"])
    result: dict[str, Any] = _strip_user_view_type(shaped)
    return result


def installation_event(
    urls: Urls, state: State, inst: Installation, requester: User | None = None
) -> dict[str, Any]:
    """The part of ``installation.created`` after ``action``: installation, repositories."""
    repos = state.installation_repos(inst)
    return {
        "installation": installation(urls, state, inst),
        "repositories": [
            {
                "id": repo.id,
                "node_id": node_id("Repository", repo.id),
                "name": repo.name,
                "full_name": state.full_name(repo),
                "private": repo.private,
            }
            for repo in repos
        ],
    } | ({"requester": simple_user(urls, requester)} if requester else {})


def hook_organization(urls: Urls, org: User) -> dict[str, Any]:
    """The ``organization`` of a webhook about a repository an organization owns."""
    api = f"{urls.api}/orgs/{org.login}"
    return {
        "login": org.login,
        "id": org.id,
        "node_id": node_id("Organization", org.id),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"{urls.web}/avatars/u/{org.id}",
        "description": None,
    }
