"""Pull requests: open, read, list, edit, files, commits, compare, merge, reviewers, pushes.

A pull request is an :class:`~bot.sandbox.state.Issue` (title, body, state, labels,
author: shared with the issues API, numbers included) plus a :class:`PullRequest`
record in ``repo.extensions["pulls"]`` (branches, draft, merge). Files and patches come
from ``git diff`` between the merge base and the head, as on GitHub.

Pushes (over git HTTP or through the refs/contents API) arrive as ``push`` events: open
pull requests on the pushed branch get the new head and ``pull_request.synchronize``,
and every installed App with ``checks: write`` gets a check suite and
``check_suite.requested`` for a head SHA it has not seen.

Drafts become ready (and back) through GraphQL on GitHub; here through
:func:`mark_ready_for_review` and :func:`convert_to_draft` (the admin surface).
https://docs.github.com/en/rest/pulls/pulls
"""

from __future__ import annotations

import re
import subprocess
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.errors import SandboxError
from bot.sandbox import builders
from bot.sandbox.clock import iso
from bot.sandbox.diffs import MAX_FILES, FileDiff, diff_files
from bot.sandbox.git_data import emit_push
from bot.sandbox.gitstore import ZERO_SHA, GitFailed, Person
from bot.sandbox.issues import issue_payload
from bot.sandbox.protocol import ApiError, Reply, not_found, validation_failed
from bot.sandbox.routing import Ctx, Router, created, no_content
from bot.sandbox.state import CheckSuite, Event, Issue, Repo, State, User

if TYPE_CHECKING:
    from bot.sandbox.sandbox import Sandbox

router = Router()

SERVICE_KEY = "pulls"
EXTENSION = "pulls"
# Comparisons list at most 250 commits, as on GitHub.
MAX_COMPARE_COMMITS = 250
_CACHE_SIZE = 512
# Closing keywords in a merged pull request's body (same repository, default branch).
# https://docs.github.com/en/issues/tracking-your-work-with-issues/using-issues/linking-a-pull-request-to-an-issue
_CLOSING = re.compile(
    r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+(?:([\w.-]+/[\w.-]+))?#(\d+)\b"
)
_PLACEHOLDER_URLS = builders.Urls.for_host("http://sandbox.invalid")
_MERGER = Person("GitHub", "noreply@github.com", 0)


class Text:
    """GitHub's wording for pull request refusals and results."""

    NO_COMMITS = "No commits between {base} and {head}"
    ALREADY_EXISTS = "A pull request already exists for {owner}:{branch}."
    STILL_DRAFT = "Pull Request is still a draft"
    NOT_MERGEABLE = "Pull Request is not mergeable"
    HEAD_MODIFIED = "Head branch was modified. Review and try the merge again."
    BASE_MODIFIED = "Base branch was modified. Review and try the merge again."
    REBASE_NOT_ALLOWED = "Rebase merges are not allowed on this repository."
    MERGED = "Pull Request successfully merged"
    NOT_COLLABORATOR = (
        "Reviews may only be requested from collaborators. One or more of the users or "
        "teams you specified is not a collaborator of the {repo} repository."
    )
    AUTHOR_REVIEWER = "Review cannot be requested from pull request author."
    MERGE_TITLE = "Merge pull request #{number} from {owner}/{branch}"
    SQUASH_TITLE = "{title} (#{number})"


@dataclass
class PullRequest:
    """What a pull request adds to its issue.

    ``head_repo_id`` is the fork holding the head branch (None: this repository); a
    fork's commits are copied here, and every head is kept at ``refs/pull/N/head``.
    """

    id: int
    number: int
    head_ref: str
    head_sha: str
    base_ref: str
    draft: bool = False
    maintainer_can_modify: bool = False
    merged_at: float | None = None
    merged_by_id: int | None = None
    merge_commit_sha: str | None = None
    requested_reviewer_ids: list[int] = field(default_factory=list)
    # The base tip when the pull request was closed (its diff stays what it was).
    closed_base_sha: str | None = None
    head_repo_id: int | None = None


@dataclass(frozen=True)
class PullStats:
    base_sha: str
    commits: int
    additions: int
    deletions: int
    changed_files: int
    review_comments: int
    mergeable: bool | None
    mergeable_state: str


# Called when an open pull request's head moves: (state, repo, pull, before, after).
HeadListener = Callable[[State, Repo, PullRequest, str, str], None]


class _Lru(OrderedDict[Any, Any]):
    def remember(self, key: Any, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > _CACHE_SIZE:
            self.popitem(last=False)
        return value


@dataclass
class PullService:
    """Per-sandbox: head-move listeners, counters other modules provide, git caches."""

    git_env: dict[str, str]
    head_listeners: list[HeadListener] = field(default_factory=list)
    review_comment_count: Callable[[Repo, int], int] = lambda repo, number: 0
    # (state, base repo, owner, branch) -> (fork, head sha) with the commits copied into
    # the base repository; None when ``owner`` has no fork with that branch (bot.sandbox.forks).
    fork_head: Callable[[State, Repo, str, str], tuple[Repo, str] | None] = (
        lambda state, repo, owner, branch: None
    )
    _diffs: _Lru = field(default_factory=_Lru)
    _merge_bases: _Lru = field(default_factory=_Lru)
    _merges: _Lru = field(default_factory=_Lru)

    def files(self, repo: Repo, base: str, head: str) -> list[FileDiff]:
        key = (repo.id, repo.git.path, base, head)
        if key not in self._diffs:
            self._diffs.remember(key, diff_files(repo.git, base, head))
        return list(self._diffs[key])

    def merge_base(self, repo: Repo, base: str, head: str) -> str | None:
        key = (repo.id, repo.git.path, base, head)
        if key not in self._merge_bases:
            try:
                found: str | None = repo.git.text("merge-base", base, head)
            except GitFailed:
                found = None
            self._merge_bases.remember(key, found)
        value: str | None = self._merge_bases[key]
        return value

    def merged_tree(self, repo: Repo, base: str, head: str) -> str | None:
        """The tree of merging ``head`` into ``base``; None when they conflict."""
        key = (repo.id, repo.git.path, base, head)
        if key not in self._merges:
            self._merges.remember(key, _merge_tree(repo, self.git_env, base, head))
        value: str | None = self._merges[key]
        return value


# --- module hooks (see bot/sandbox/app.py) --------------------------------------------


def install(sandbox: Sandbox) -> None:
    service = PullService(git_env=dict(sandbox.state.git_env))
    sandbox.services[SERVICE_KEY] = service
    state = sandbox.state
    state.subscribe(lambda event: _after_event(state, service, event))


def service_of(services: dict[str, Any]) -> PullService:
    found = services.get(SERVICE_KEY)
    if not isinstance(found, PullService):
        raise SandboxError("bot.sandbox.pulls is not among the sandbox's modules")
    return found


def pulls_of(repo: Repo) -> dict[int, PullRequest]:
    pulls: dict[int, PullRequest] = repo.extensions.setdefault(EXTENSION, {})
    return pulls


# --- reading --------------------------------------------------------------------------


def find_pull(ctx: Ctx, number: int | None = None) -> tuple[Issue, PullRequest]:
    wanted = ctx.params["pull_number"] if number is None else number
    pr = pulls_of(ctx.repo).get(wanted)
    if pr is None:
        raise not_found()
    return ctx.repo.issues[wanted], pr


def base_sha(repo: Repo, pr: PullRequest) -> str:
    live = repo.git.ref_sha(f"refs/heads/{pr.base_ref}")
    return pr.closed_base_sha or live or pr.head_sha


def pull_files(service: PullService, repo: Repo, pr: PullRequest) -> list[FileDiff]:
    """The pull request's files: the diff from the merge base to the head."""
    base = base_sha(repo, pr)
    start = service.merge_base(repo, base, pr.head_sha) or base
    return service.files(repo, start, pr.head_sha)


def stats(service: PullService, repo: Repo, issue: Issue, pr: PullRequest) -> PullStats:
    base = base_sha(repo, pr)
    start = service.merge_base(repo, base, pr.head_sha) or base
    files = service.files(repo, start, pr.head_sha)
    commits = len(_commit_shas(repo, start, pr.head_sha))
    mergeable: bool | None = None
    state = "unknown"
    if issue.state == "open":
        mergeable = service.merged_tree(repo, base, pr.head_sha) is not None
        state = "draft" if pr.draft else ("clean" if mergeable else "dirty")
    return PullStats(
        base_sha=base,
        commits=commits,
        additions=sum(f.additions for f in files),
        deletions=sum(f.deletions for f in files),
        changed_files=len(files),
        review_comments=service.review_comment_count(repo, pr.number),
        mergeable=mergeable,
        mergeable_state=state,
    )


def render(
    urls: builders.Urls, state: State, service: PullService, repo: Repo, number: int
) -> dict[str, Any]:
    issue, pr = repo.issues[number], pulls_of(repo)[number]
    return builders.pull_request(urls, state, repo, issue, pr, stats(service, repo, issue, pr))


def render_simple(ctx: Ctx, issue: Issue, pr: PullRequest) -> dict[str, Any]:
    return builders.pull_request_simple(
        ctx.urls, ctx.state, ctx.repo, issue, pr, base_sha(ctx.repo, pr)
    )


def pull_payload(
    state: State,
    service: PullService,
    repo: Repo,
    number: int,
    extra: dict[str, Any] | None = None,
) -> Callable[[builders.Urls], dict[str, Any]]:
    """The ``number`` and ``pull_request`` part of a pull_request-family event."""

    def build(urls: builders.Urls) -> dict[str, Any]:
        body = {"number": number, "pull_request": render(urls, state, service, repo, number)}
        return body | (extra or {})

    return build


def _emit(ctx: Ctx, action: str, number: int, extra: dict[str, Any] | None = None) -> None:
    service = service_of(ctx.services)
    ctx.emit("pull_request", action, pull_payload(ctx.state, service, ctx.repo, number, extra))


def _commit_shas(repo: Repo, start: str, head: str) -> list[str]:
    return repo.git.text("rev-list", "--reverse", f"{start}..{head}").split()


# --- creating -------------------------------------------------------------------------


def _branch(ctx: Ctx, raw: str, field_name: str) -> tuple[str, str]:
    """(branch, sha) of ``branch`` or ``owner:branch`` in this repository; 422 otherwise."""
    owner, _, branch = raw.rpartition(":")
    owner_login = ctx.state.users[ctx.repo.owner_id].login
    sha = ctx.repo.git.ref_sha(f"refs/heads/{branch}") if branch else None
    if (owner and owner.lower() != owner_login.lower()) or sha is None:
        raise validation_failed("PullRequest", field_name, "invalid")
    return branch, sha


def _open_duplicate(
    repo: Repo, head_ref: str, base_ref: str, number: int = 0, head_repo_id: int | None = None
) -> bool:
    return any(
        pr.head_ref == head_ref
        and pr.head_repo_id == head_repo_id
        and pr.base_ref == base_ref
        and pr.number != number
        and repo.issues[pr.number].state == "open"
        for pr in pulls_of(repo).values()
    )


def _custom(message: str) -> ApiError:
    return validation_failed("PullRequest", "", "custom", message=message)


def _head(ctx: Ctx, raw: str) -> tuple[str, str, Repo]:
    """(branch, sha, repository) of the head: ``branch``, ``owner:branch`` of this
    repository, or ``owner:branch`` of owner's fork of it; 422 otherwise."""
    owner, _, branch = raw.rpartition(":")
    if not owner or owner.lower() == ctx.state.users[ctx.repo.owner_id].login.lower():
        return (*_branch(ctx, raw, "head"), ctx.repo)
    found = service_of(ctx.services).fork_head(ctx.state, ctx.repo, owner, branch)
    if found is None:
        raise validation_failed("PullRequest", "head", "invalid")
    fork, sha = found
    return branch, sha, fork


def _check_openable(ctx: Ctx, head: tuple[str, str, Repo], base: tuple[str, str], raw: str) -> None:
    service = service_of(ctx.services)
    (head_ref, head_sha, head_repo), (base_ref, base_tip) = head, base
    if service.merge_base(ctx.repo, base_tip, head_sha) == head_sha:
        raise _custom(Text.NO_COMMITS.format(base=ctx.body["base"], head=raw))
    fork_id = head_repo.id if head_repo is not ctx.repo else None
    if _open_duplicate(ctx.repo, head_ref, base_ref, head_repo_id=fork_id):
        owner = ctx.state.users[head_repo.owner_id].login
        raise _custom(Text.ALREADY_EXISTS.format(owner=owner, branch=head_ref))


def keep_head_ref(repo: Repo, pr: PullRequest) -> None:
    """``refs/pull/N/head``: where GitHub keeps every pull request's head (forks' too).

    Pushes cannot move it (``receive.hideRefs``, as GitHub refuses them); fetches can.
    """
    repo.git.git("config", "receive.hideRefs", "refs/pull")
    repo.git.update_ref(f"refs/pull/{pr.number}/head", pr.head_sha)


@router.post("/repos/{owner}/{repo}/pulls")
def create_pull(ctx: Ctx) -> Reply:
    raw_head = str(ctx.body.get("head", ""))
    head_ref, head_sha, head_repo = _head(ctx, raw_head)
    base_ref, base_tip = _branch(ctx, str(ctx.body.get("base", "")), "base")
    _check_openable(ctx, (head_ref, head_sha, head_repo), (base_ref, base_tip), raw_head)
    issue = _issue_for(ctx)
    pr = PullRequest(
        id=ctx.state.next_id(),
        number=issue.number,
        head_ref=head_ref,
        head_sha=head_sha,
        base_ref=base_ref,
        draft=bool(ctx.field("draft", False)),
        maintainer_can_modify=bool(ctx.field("maintainer_can_modify", False)),
        head_repo_id=head_repo.id if head_repo is not ctx.repo else None,
    )
    pulls_of(ctx.repo)[pr.number] = pr
    keep_head_ref(ctx.repo, pr)
    _emit(ctx, "opened", pr.number)
    body = render(ctx.urls, ctx.state, service_of(ctx.services), ctx.repo, pr.number)
    return created(body, headers={"Location": body["url"]})


def _issue_for(ctx: Ctx) -> Issue:
    """A new issue for the pull request, or the existing one named by ``issue``."""
    link = builders.pull_issue_link
    number = ctx.field("issue")
    if number is not None:
        issue = ctx.repo.issues.get(int(number))
        if issue is None or issue.pull_request is not None:
            raise validation_failed("PullRequest", "issue", "invalid")
        issue.pull_request = link(ctx.urls, ctx.state, ctx.repo, issue.number)
        return issue
    if not ctx.field("title"):
        raise validation_failed("PullRequest", "title", "missing_field")
    now = ctx.now
    issue = Issue(
        id=ctx.state.next_id(),
        number=ctx.repo.allocate_number(),
        title=str(ctx.body["title"]),
        body=ctx.field("body"),
        user_id=ctx.actor.id,
        created_at=now,
        updated_at=now,
        app_id=ctx.app_id,
    )
    issue.pull_request = link(ctx.urls, ctx.state, ctx.repo, issue.number)
    ctx.repo.issues[issue.number] = issue
    return issue


# --- listing and reading --------------------------------------------------------------


def _listed(ctx: Ctx, issue: Issue, pr: PullRequest) -> bool:
    wanted = ctx.query.get("state", "open")
    if wanted != "all" and issue.state != wanted:
        return False
    head = ctx.query.get("head")
    if head:
        owner, _, branch = head.rpartition(":")
        head_repo = ctx.state.repos.get(pr.head_repo_id or ctx.repo.id, ctx.repo)
        owner_login = ctx.state.users[head_repo.owner_id].login
        if (owner and owner.lower() != owner_login.lower()) or (branch and branch != pr.head_ref):
            return False
    base = ctx.query.get("base")
    return not base or base == pr.base_ref


@router.get("/repos/{owner}/{repo}/pulls")
def list_pulls(ctx: Ctx) -> Reply:
    repo = ctx.repo
    found = [
        (repo.issues[n], pr) for n, pr in pulls_of(repo).items() if _listed(ctx, repo.issues[n], pr)
    ]
    sort = ctx.query.get("sort", "created")
    keys: dict[str, Callable[[tuple[Issue, PullRequest]], Any]] = {
        "created": lambda item: (item[0].created_at, item[0].number),
        "updated": lambda item: (item[0].updated_at, item[0].number),
        "popularity": lambda item: (_comment_count(repo, item[0].number), item[0].number),
        "long-running": lambda item: (-item[0].created_at, item[0].number),
    }
    default = "desc" if sort == "created" else "asc"
    found.sort(key=keys[sort], reverse=ctx.query.get("direction", default) == "desc")
    return ctx.paginate(found, lambda item: render_simple(ctx, *item))


def _comment_count(repo: Repo, number: int) -> int:
    return sum(1 for c in repo.comments.values() if c.issue_number == number)


@router.get("/repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull(ctx: Ctx) -> dict[str, Any]:
    _, pr = find_pull(ctx)
    return render(ctx.urls, ctx.state, service_of(ctx.services), ctx.repo, pr.number)


@router.get("/repos/{owner}/{repo}/pulls/{pull_number}/files")
def list_files(ctx: Ctx) -> Reply:
    _, pr = find_pull(ctx)
    files = pull_files(service_of(ctx.services), ctx.repo, pr)[:MAX_FILES]
    return ctx.paginate(
        files, lambda f: builders.diff_entry(ctx.urls, ctx.state, ctx.repo, pr.head_sha, f)
    )


@router.get("/repos/{owner}/{repo}/pulls/{pull_number}/commits")
def list_commits(ctx: Ctx) -> Reply:
    _, pr = find_pull(ctx)
    service = service_of(ctx.services)
    base = base_sha(ctx.repo, pr)
    start = service.merge_base(ctx.repo, base, pr.head_sha) or base
    shas = _commit_shas(ctx.repo, start, pr.head_sha)
    return ctx.paginate(shas, lambda sha: _render_commit(ctx, sha))


def _render_commit(ctx: Ctx, sha: str) -> dict[str, Any]:
    return builders.commit(ctx.urls, ctx.state, ctx.repo, ctx.repo.git.commit_info(sha))


# --- editing --------------------------------------------------------------------------


@router.patch("/repos/{owner}/{repo}/pulls/{pull_number}")
def update_pull(ctx: Ctx) -> dict[str, Any]:
    issue, pr = find_pull(ctx)
    changes: dict[str, Any] = {}
    for name in ("title", "body"):
        if name in ctx.body and ctx.body[name] != getattr(issue, name):
            changes[name] = {"from": getattr(issue, name)}
            setattr(issue, name, ctx.body[name])
    if "base" in ctx.body and ctx.body["base"] != pr.base_ref:
        old_ref, old_sha = pr.base_ref, base_sha(ctx.repo, pr)
        pr.base_ref, _ = _branch(ctx, str(ctx.body["base"]), "base")
        changes["base"] = {"ref": {"from": old_ref}, "sha": {"from": old_sha}}
    if "maintainer_can_modify" in ctx.body:
        pr.maintainer_can_modify = bool(ctx.body["maintainer_can_modify"])
    action = _update_state(ctx, issue, pr)
    issue.updated_at = ctx.now
    if changes:
        _emit(ctx, "edited", pr.number, {"changes": changes})
    if action:
        _emit(ctx, action, pr.number)
    return render(ctx.urls, ctx.state, service_of(ctx.services), ctx.repo, pr.number)


def _update_state(ctx: Ctx, issue: Issue, pr: PullRequest) -> str | None:
    wanted = ctx.field("state")
    if wanted is None or wanted == issue.state or pr.merged_at is not None:
        return None
    if wanted == "closed":
        close(ctx.state, ctx.repo, issue, pr, ctx.actor)
        return "closed"
    head_repo = ctx.state.repos.get(pr.head_repo_id or ctx.repo.id)
    if head_repo is None or head_repo.git.ref_sha(f"refs/heads/{pr.head_ref}") is None:
        raise _custom(f"Cannot reopen this pull request: {pr.head_ref} was deleted")
    if _open_duplicate(ctx.repo, pr.head_ref, pr.base_ref, pr.number, pr.head_repo_id):
        owner = ctx.state.users[ctx.repo.owner_id].login
        raise _custom(Text.ALREADY_EXISTS.format(owner=owner, branch=pr.head_ref))
    issue.state, issue.state_reason = "open", "reopened"
    issue.closed_at = issue.closed_by_id = None
    pr.closed_base_sha = None
    return "reopened"


def close(state: State, repo: Repo, issue: Issue, pr: PullRequest, by: User) -> None:
    """Close without merging; the diff stays the one against the base at this moment."""
    pr.closed_base_sha = base_sha(repo, pr)
    issue.state, issue.state_reason = "closed", None
    issue.closed_at, issue.closed_by_id = state.now(), by.id


# --- merging --------------------------------------------------------------------------


def _merge_tree(repo: Repo, git_env: dict[str, str], base: str, head: str) -> str | None:
    """``git merge-tree --write-tree``: exit 0 gives the tree, exit 1 means conflicts."""
    done = subprocess.run(
        ["git", "--git-dir", str(repo.git.path), "merge-tree", "--write-tree", base, head],
        capture_output=True,
        env=git_env,
        check=False,
    )
    if done.returncode == 0:
        return done.stdout.decode().split()[0]
    if done.returncode == 1:
        return None
    raise GitFailed(f"git merge-tree failed: {done.stderr.decode(errors='replace').strip()}")


def _check_mergeable(ctx: Ctx, issue: Issue, pr: PullRequest) -> str:
    """The merged tree; 405/409 in GitHub's words when the merge cannot happen."""
    if issue.state != "open":
        raise ApiError(405, Text.NOT_MERGEABLE)
    if pr.draft:
        raise ApiError(405, Text.STILL_DRAFT)
    wanted = ctx.field("sha")
    if wanted and wanted != pr.head_sha:
        raise ApiError(409, Text.HEAD_MODIFIED)
    if ctx.field("merge_method", "merge") == "rebase":
        raise ApiError(405, Text.REBASE_NOT_ALLOWED)
    tree = service_of(ctx.services).merged_tree(ctx.repo, base_sha(ctx.repo, pr), pr.head_sha)
    if tree is None:
        raise ApiError(405, Text.NOT_MERGEABLE)
    return tree


def _merge_commit(ctx: Ctx, issue: Issue, pr: PullRequest, tree: str, base: str) -> str:
    owner = ctx.state.users[ctx.repo.owner_id].login
    actor = ctx.actor
    author = Person(actor.name or actor.login, actor.email or "", int(ctx.now))
    committer = Person(_MERGER.name, _MERGER.email, int(ctx.now))
    if ctx.field("merge_method", "merge") == "squash":
        title = ctx.field("commit_title") or Text.SQUASH_TITLE.format(
            title=issue.title, number=issue.number
        )
        detail = ctx.field("commit_message")
        if detail is None:
            start = service_of(ctx.services).merge_base(ctx.repo, base, pr.head_sha) or base
            messages = [
                ctx.repo.git.commit_info(s).message
                for s in _commit_shas(ctx.repo, start, pr.head_sha)
            ]
            detail = "\n\n".join(f"* {m}" for m in messages)
        parents = [base]
    else:
        title = ctx.field("commit_title") or Text.MERGE_TITLE.format(
            number=issue.number, owner=owner, branch=pr.head_ref
        )
        detail = ctx.field("commit_message") or issue.title
        parents = [base, pr.head_sha]
    message = f"{title}\n\n{detail}" if detail else title
    return ctx.repo.git.commit_tree(tree, parents, message, author, committer)


@router.put("/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def merge_pull(ctx: Ctx) -> dict[str, Any]:
    issue, pr = find_pull(ctx)
    tree = _check_mergeable(ctx, issue, pr)
    base = base_sha(ctx.repo, pr)
    sha = _merge_commit(ctx, issue, pr, tree, base)
    refname = f"refs/heads/{pr.base_ref}"
    try:
        ctx.repo.git.update_ref(refname, sha, base)
    except GitFailed as exc:
        raise ApiError(409, Text.BASE_MODIFIED) from exc
    ctx.repo.pushed_at = ctx.now
    close(ctx.state, ctx.repo, issue, pr, ctx.actor)
    pr.closed_base_sha = base
    pr.merged_at, pr.merged_by_id, pr.merge_commit_sha = ctx.now, ctx.actor.id, sha
    if issue.pull_request is not None:
        issue.pull_request["merged_at"] = iso(ctx.now)
    emit_push(ctx, refname, base, sha)
    _emit(ctx, "closed", pr.number)
    if pr.base_ref == ctx.repo.default_branch:
        close_linked_issues(ctx, issue.body or "")
    return {"sha": sha, "merged": True, "message": Text.MERGED}


def closing_references(body: str, full_name: str) -> list[int]:
    """Issue numbers a pull request body closes (``fixes #12``, ``Closes owner/repo#3``)."""
    found: list[int] = []
    for match in _CLOSING.finditer(body):
        other, number = match.group(1), int(match.group(2))
        if (other is None or other.lower() == full_name.lower()) and number not in found:
            found.append(number)
    return found


def close_linked_issues(ctx: Ctx, body: str) -> None:
    for number in closing_references(body, ctx.state.full_name(ctx.repo)):
        issue = ctx.repo.issues.get(number)
        if issue is None or issue.pull_request is not None or issue.state != "open":
            continue
        issue.state, issue.state_reason = "closed", "completed"
        issue.closed_at, issue.closed_by_id, issue.updated_at = ctx.now, ctx.actor.id, ctx.now
        ctx.emit("issues", "closed", issue_payload(ctx.state, ctx.repo, issue))


@router.get("/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def check_merged(ctx: Ctx) -> Reply:
    _, pr = find_pull(ctx)
    if pr.merged_at is None:
        raise not_found()
    return no_content()


# --- requested reviewers ----------------------------------------------------------------


def _reviewer_ids(ctx: Ctx, issue: Issue) -> list[int]:
    """Requested reviewers must be collaborators (or the owner) other than the author."""
    ids = []
    for login in ctx.field("reviewers") or []:
        user = ctx.state.user_by_login(login)
        if user is None or not _is_collaborator(ctx.repo, user.id):
            repo = ctx.state.full_name(ctx.repo)
            raise ApiError(422, Text.NOT_COLLABORATOR.format(repo=repo))
        if user.id == issue.user_id:
            raise ApiError(422, Text.AUTHOR_REVIEWER)
        ids.append(user.id)
    return ids


def _is_collaborator(repo: Repo, user_id: int) -> bool:
    return user_id == repo.owner_id or user_id in repo.collaborators


def _reviewer_payload(ctx: Ctx, user_id: int) -> dict[str, Any]:
    user = ctx.state.users[user_id]
    return {"requested_reviewer": builders.simple_user(ctx.urls, user)}


@router.get("/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
def list_reviewers(ctx: Ctx) -> dict[str, Any]:
    _, pr = find_pull(ctx)
    users = [builders.simple_user(ctx.urls, ctx.state.users[i]) for i in pr.requested_reviewer_ids]
    return {"users": users, "teams": []}


@router.post("/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
def request_reviewers(ctx: Ctx) -> Reply:
    issue, pr = find_pull(ctx)
    for user_id in _reviewer_ids(ctx, issue):
        if user_id not in pr.requested_reviewer_ids:
            pr.requested_reviewer_ids.append(user_id)
            _emit(ctx, "review_requested", pr.number, _reviewer_payload(ctx, user_id))
    return created(render_simple(ctx, issue, pr))


@router.delete("/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
def remove_reviewers(ctx: Ctx) -> dict[str, Any]:
    issue, pr = find_pull(ctx)
    for login in ctx.field("reviewers") or []:
        user = ctx.state.user_by_login(login)
        if user is not None and user.id in pr.requested_reviewer_ids:
            pr.requested_reviewer_ids.remove(user.id)
            _emit(ctx, "review_request_removed", pr.number, _reviewer_payload(ctx, user.id))
    return render_simple(ctx, issue, pr)


def drop_requested_reviewer(repo: Repo, number: int, user_id: int) -> None:
    """A submitted review fulfils the request (the reviews module calls this)."""
    pr = pulls_of(repo).get(number)
    if pr is not None and user_id in pr.requested_reviewer_ids:
        pr.requested_reviewer_ids.remove(user_id)


# --- compare ------------------------------------------------------------------------------


def _resolve_side(ctx: Ctx, raw: str) -> str:
    owner, _, ref = raw.rpartition(":")
    owner_login = ctx.state.users[ctx.repo.owner_id].login
    sha = ctx.repo.git.resolve(ref) if not owner or owner.lower() == owner_login.lower() else None
    if sha is None:
        raise not_found()
    return sha


@router.get("/repos/{owner}/{repo}/compare/{basehead}")
def compare(ctx: Ctx) -> dict[str, Any]:
    basehead = ctx.params["basehead"]
    base_raw, dots, head_raw = basehead.partition("...")
    if not dots:
        base_raw, dots, head_raw = basehead.partition("..")
    if not dots or not base_raw or not head_raw:
        raise not_found()
    base, head = _resolve_side(ctx, base_raw), _resolve_side(ctx, head_raw)
    service = service_of(ctx.services)
    start = service.merge_base(ctx.repo, base, head)
    if start is None:
        raise not_found()
    ahead = _commit_shas(ctx.repo, start, head)
    behind = len(_commit_shas(ctx.repo, start, base))
    status = _compare_status(len(ahead), behind)
    files = service.files(ctx.repo, start, head)[:MAX_FILES]
    return builders.commit_comparison(
        ctx.urls,
        ctx.state,
        ctx.repo,
        (basehead, base, start),
        [_render_commit(ctx, sha) for sha in ahead[:MAX_COMPARE_COMMITS]],
        [builders.diff_entry(ctx.urls, ctx.state, ctx.repo, head, f) for f in files],
        (status, len(ahead), behind),
    )


def _compare_status(ahead: int, behind: int) -> str:
    if ahead and behind:
        return "diverged"
    if ahead:
        return "ahead"
    return "behind" if behind else "identical"


# --- pushes -------------------------------------------------------------------------------


def _after_event(state: State, service: PullService, event: Event) -> None:
    if event.name != "push" or event.repo_id is None:
        return
    with state.lock:
        repo = state.repos.get(event.repo_id)
        if repo is None:
            return
        body = event.body(_PLACEHOLDER_URLS)
        ref, after = str(body.get("ref", "")), str(body.get("after", ZERO_SHA))
        if not ref.startswith("refs/heads/"):
            return
        branch = ref.removeprefix("refs/heads/")
        sender = state.users.get(event.sender_id) if event.sender_id is not None else None
        if after == ZERO_SHA:
            _head_deleted(state, service, repo, branch, sender)
            return
        request_check_suites(state, repo, branch, after, sender)
        for pr in list(pulls_of(repo).values()):
            if _follows(pr, branch) and pr.head_sha != after and _is_open(repo, pr):
                move_head(state, service, repo, pr, after, sender)


def _follows(pr: PullRequest, branch: str) -> bool:
    """A push to ``branch`` of this repository moves ``pr``'s head (not a fork's)."""
    return pr.head_repo_id is None and pr.head_ref == branch


def _is_open(repo: Repo, pr: PullRequest) -> bool:
    return repo.issues[pr.number].state == "open"


def move_head(
    state: State, service: PullService, repo: Repo, pr: PullRequest, after: str, by: User | None
) -> None:
    """The head branch moved: tell listeners (outdated comments), then ``synchronize``."""
    before = pr.head_sha
    pr.head_sha = after
    keep_head_ref(repo, pr)
    repo.issues[pr.number].updated_at = state.now()
    for listener in list(service.head_listeners):
        listener(state, repo, pr, before, after)
    extra = {"before": before, "after": after}
    payload = pull_payload(state, service, repo, pr.number, extra)
    state.emit("pull_request", "synchronize", payload, repo=repo, sender=by)


def _head_deleted(
    state: State, service: PullService, repo: Repo, branch: str, by: User | None
) -> None:
    """Deleting a head branch closes its open pull requests, as on GitHub."""
    for pr in list(pulls_of(repo).values()):
        if _follows(pr, branch) and _is_open(repo, pr):
            issue = repo.issues[pr.number]
            actor = by or state.users[issue.user_id]
            close(state, repo, issue, pr, actor)
            payload = pull_payload(state, service, repo, pr.number)
            state.emit("pull_request", "closed", payload, repo=repo, sender=actor)


def request_check_suites(state: State, repo: Repo, branch: str, sha: str, by: User | None) -> None:
    """A new head SHA: a check suite for every installed App that may write checks."""
    for installation in list(state.installations.values()):
        if (
            installation.suspended_at is not None
            or installation.permissions.get("checks") != "write"
        ):
            continue
        if repo not in state.installation_repos(installation):
            continue
        app_id = installation.app_id
        if any(s.app_id == app_id and s.head_sha == sha for s in repo.check_suites.values()):
            continue
        now = state.now()
        suite = CheckSuite(state.next_id(), app_id, sha, branch, now, now)
        repo.check_suites[suite.id] = suite
        state.emit(
            "check_suite", "requested", _suite_payload(state, repo, suite), repo=repo, sender=by
        )


def _suite_payload(
    state: State, repo: Repo, suite: CheckSuite
) -> Callable[[builders.Urls], dict[str, Any]]:
    return lambda urls: {"check_suite": builders.check_suite(urls, state, repo, suite)}


# --- ready for review and back to draft (GraphQL on GitHub) ------------------------------


def set_draft(
    sandbox: Sandbox, full_name: str, number: int, draft: bool, login: str | None
) -> None:
    """Mark a pull request ready for review (``draft=False``) or convert it to a draft."""
    state = sandbox.state
    service = service_of(sandbox.services)
    with state.lock:
        repo = sandbox.repo(full_name)
        pr = pulls_of(repo).get(number)
        if pr is None:
            raise SandboxError(f"no pull request #{number} in {full_name}")
        issue = repo.issues[number]
        if issue.state != "open":
            raise SandboxError(f"pull request #{number} is closed")
        user = state.user_by_login(login) if login else state.users[issue.user_id]
        if user is None:
            raise SandboxError(f"no user {login!r}")
        if pr.draft == draft:
            return
        pr.draft = draft
        issue.updated_at = state.now()
        action = "converted_to_draft" if draft else "ready_for_review"
        payload = pull_payload(state, service, repo, number)
        state.emit("pull_request", action, payload, repo=repo, sender=user)


def mark_ready_for_review(
    sandbox: Sandbox, full_name: str, number: int, login: str | None = None
) -> None:
    set_draft(sandbox, full_name, number, False, login)


def convert_to_draft(
    sandbox: Sandbox, full_name: str, number: int, login: str | None = None
) -> None:
    set_draft(sandbox, full_name, number, True, login)
