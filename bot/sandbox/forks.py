"""Forks: create and list them, and pull requests whose head branch lives in a fork.

A fork is a repository of its own (a bare git repository fetched from its parent) whose
record names its parent (``repo.extensions[FORK_PARENT]``), so it renders with
``fork: true``, ``parent`` and ``source``. Creating one answers 202 and sends the
parent a ``fork`` event; asking again returns the same fork.
https://docs.github.com/en/rest/repos/forks

A pull request into the parent may name ``owner:branch`` of a fork as its head. As in a
fork network on GitHub, the head's commits are copied into the base repository and kept
at ``refs/pull/N/head`` there, so files, commits, merges and ``git fetch origin
pull/N/head`` all work on the base repository alone. A push to the fork's branch moves
the pull request's head (``synchronize``, a check suite requested in the base
repository); deleting that branch closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.sandbox import builders, pulls
from bot.sandbox.builders import FORK_PARENT
from bot.sandbox.gitstore import ZERO_SHA, GitFailed, GitRepo
from bot.sandbox.protocol import Reply, not_found, validation_failed
from bot.sandbox.routing import Ctx, Router
from bot.sandbox.state import Event, Repo, State, User

if TYPE_CHECKING:
    from bot.sandbox.sandbox import Sandbox

router = Router()

_PLACEHOLDER_URLS = builders.Urls.for_host("http://sandbox.invalid")
ACCEPTED = 202


# --- module hooks (see bot/sandbox/app.py) --------------------------------------------


def install(sandbox: Sandbox) -> None:
    state = sandbox.state
    service = sandbox.services.get(pulls.SERVICE_KEY)
    if not isinstance(service, pulls.PullService):
        return  # a sandbox without pull requests: forks are plain repositories
    service.fork_head = fork_head
    state.subscribe(lambda event: _after_event(state, service, event))


# --- reading ------------------------------------------------------------------------------


def parent_of(state: State, repo: Repo) -> Repo | None:
    parent_id = repo.extensions.get(FORK_PARENT)
    return state.repos.get(parent_id) if isinstance(parent_id, int) else None


def source_of(state: State, repo: Repo) -> Repo | None:
    """The root of the fork network (a fork of a fork names the original)."""
    source = parent_of(state, repo)
    while source is not None and (above := parent_of(state, source)) is not None:
        source = above
    return source


def forks_of(state: State, repo: Repo) -> list[Repo]:
    return [other for other in state.repos.values() if parent_of(state, other) is repo]


def fork_fields(urls: builders.Urls, state: State, repo: Repo) -> dict[str, Any]:
    """``parent`` and ``source`` of a full repository (nothing for a repository that is
    not a fork)."""
    parent, source = parent_of(state, repo), source_of(state, repo)
    if parent is None or source is None:
        return {}
    return {
        "parent": builders.repository(urls, state, parent),
        "source": builders.repository(urls, state, source),
    }


def _full(ctx: Ctx, repo: Repo) -> dict[str, Any]:
    return builders.repository(ctx.urls, ctx.state, repo) | fork_fields(ctx.urls, ctx.state, repo)


@router.get("/repos/{owner}/{repo}/forks")
def list_forks(ctx: Ctx) -> Reply:
    found = sorted(forks_of(ctx.state, ctx.repo), key=lambda r: r.created_at, reverse=True)
    if ctx.query.get("sort") == "oldest":
        found.reverse()
    return ctx.paginate(found, lambda fork: builders.repository(ctx.urls, ctx.state, fork))


# --- creating -----------------------------------------------------------------------------


@router.post("/repos/{owner}/{repo}/forks")
def create_fork(ctx: Ctx) -> Reply:
    """202 with the fork; an account's existing fork of the repository is returned as is."""
    parent = ctx.repo
    owner = _fork_owner(ctx)
    existing = next((f for f in forks_of(ctx.state, parent) if f.owner_id == owner.id), None)
    if existing is not None:
        return Reply(ACCEPTED, _full(ctx, existing))
    name = str(ctx.field("name") or parent.name)
    if ctx.state.repo_by_name(owner.login, name) is not None:
        raise validation_failed("Repository", "name", "already_exists", value=name)
    fork = make_fork(ctx.state, parent, owner, name, bool(ctx.field("default_branch_only")))
    ctx.emit("fork", None, lambda urls: {"forkee": builders.repository(urls, ctx.state, fork)})
    return Reply(ACCEPTED, _full(ctx, fork))


def _fork_owner(ctx: Ctx) -> User:
    organization = ctx.field("organization")
    if not organization:
        return ctx.actor
    owner = ctx.state.user_by_login(str(organization))
    if owner is None:
        raise not_found()
    return owner


def make_fork(state: State, parent: Repo, owner: User, name: str, default_only: bool) -> Repo:
    """A new repository of ``owner`` holding ``parent``'s branches and tags."""
    repo_id = state.next_id()
    path = state.repos_dir / f"{repo_id}-{owner.login}-{name}.git"
    git = GitRepo(path, state.git_env)
    git.init(parent.default_branch)
    wanted = [f"refs/heads/{parent.default_branch}:refs/heads/{parent.default_branch}"]
    if not default_only:
        wanted = ["refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"]
    if parent.git.refs("refs/heads/"):
        git.git("fetch", "--quiet", str(parent.git.path), *wanted)
    now = state.now()
    fork = Repo(
        id=repo_id,
        owner_id=owner.id,
        name=name,
        git=git,
        created_at=now,
        updated_at=now,
        pushed_at=now,
        default_branch=parent.default_branch,
        private=parent.private,
        description=parent.description,
    )
    fork.extensions[FORK_PARENT] = parent.id
    state.repos[fork.id] = fork
    return fork


# --- pull requests from forks ---------------------------------------------------------------


def fork_head(state: State, base: Repo, owner: str, branch: str) -> tuple[Repo, str] | None:
    """``owner``'s fork of ``base`` and its ``branch`` tip, copied into ``base``."""
    fork = next(
        (
            f
            for f in forks_of(state, base)
            if state.users[f.owner_id].login.lower() == owner.lower()
        ),
        None,
    )
    if fork is None or not branch:
        return None
    sha = fork.git.ref_sha(f"refs/heads/{branch}")
    if sha is None:
        return None
    copy_commits(base, fork, branch)
    return fork, sha


def maintainers_may_edit(state: State, fork: Repo, may_write: Callable[[Repo], bool]) -> bool:
    """GitHub's "Allow edits by maintainers": whoever may push to the parent may push to
    a fork that heads one of its open pull requests with ``maintainer_can_modify``.

    (GitHub allows only that pull request's head branch; the sandbox allows the fork.)
    """
    parent = parent_of(state, fork)
    if parent is None or not may_write(parent):
        return False
    return any(
        pr.head_repo_id == fork.id
        and pr.maintainer_can_modify
        and parent.issues[pr.number].state == "open"
        for pr in pulls.pulls_of(parent).values()
    )


def copy_commits(base: Repo, fork: Repo, branch: str) -> None:
    """The objects of ``fork``'s ``branch`` into ``base`` (no ref of base changes)."""
    try:
        base.git.git("fetch", "--quiet", "--no-tags", str(fork.git.path), f"refs/heads/{branch}")
    except GitFailed:
        return  # the branch went away meanwhile: the caller sees its sha is unknown


def _after_event(state: State, service: pulls.PullService, event: Event) -> None:
    """A push to a fork's branch: the pull requests it heads follow it."""
    if event.name != "push" or event.repo_id is None:
        return
    with state.lock:
        fork = state.repos.get(event.repo_id)
        parent = parent_of(state, fork) if fork is not None else None
        if fork is None or parent is None:
            return
        body = event.body(_PLACEHOLDER_URLS)
        ref, after = str(body.get("ref", "")), str(body.get("after", ZERO_SHA))
        if not ref.startswith("refs/heads/"):
            return
        branch = ref.removeprefix("refs/heads/")
        sender = state.users.get(event.sender_id) if event.sender_id is not None else None
        for pr in _heads(parent, fork, branch):
            _follow(state, service, parent, fork, pr, after, sender)


def _heads(parent: Repo, fork: Repo, branch: str) -> list[pulls.PullRequest]:
    return [
        pr
        for pr in pulls.pulls_of(parent).values()
        if pr.head_repo_id == fork.id
        and pr.head_ref == branch
        and parent.issues[pr.number].state == "open"
    ]


def _follow(
    state: State,
    service: pulls.PullService,
    parent: Repo,
    fork: Repo,
    pr: pulls.PullRequest,
    after: str,
    sender: User | None,
) -> None:
    if after == ZERO_SHA:
        issue = parent.issues[pr.number]
        actor = sender or state.users[issue.user_id]
        pulls.close(state, parent, issue, pr, actor)
        payload = pulls.pull_payload(state, service, parent, pr.number)
        state.emit("pull_request", "closed", payload, repo=parent, sender=actor)
        return
    if pr.head_sha == after:
        return
    copy_commits(parent, fork, pr.head_ref)
    pulls.request_check_suites(state, parent, pr.head_ref, after, sender)
    pulls.move_head(state, service, parent, pr, after, sender)
