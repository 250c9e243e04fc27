"""git's smart HTTP protocol for sandbox repositories, served by ``git http-backend``.

Routes live at ``/{owner}/{repo}.git/...`` on the API's host (not under /api/v3), as on
github.com, so they are raw ASGI routes outside the REST dispatcher and its OpenAPI
conformance checks. Authentication is HTTP Basic with a sandbox token as the password
(``x-access-token:TOKEN`` or ``login:TOKEN``; a token as the username works too).
https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation#about-authentication-as-a-github-app-installation
https://git-scm.com/docs/git-http-backend

Extension points: :func:`on_ref_updated` subscribes to pushed ref changes (the pull
request module moves PR heads and emits ``pull_request.synchronize`` from it), and
:func:`record_ref_updates` lets other modules report ref changes made another way.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from bot.sandbox import builders
from bot.sandbox.auth import Kind, Principal, authenticate
from bot.sandbox.clock import iso
from bot.sandbox.gitstore import ZERO_SHA, CommitInfo, GitFailed
from bot.sandbox.permissions import Level
from bot.sandbox.protocol import ApiError
from bot.sandbox.routing import Router
from bot.sandbox.state import Repo, Role, State, TokenKind, User

if TYPE_CHECKING:
    from bot.sandbox.sandbox import Sandbox

log = logging.getLogger(__name__)

# git is not part of the REST API: this module declares no REST operations.
router = Router()

SERVICE_KEY = "git_http"
# GitHub's push payload lists at most 20 commits.
MAX_PAYLOAD_COMMITS = 20
_CHUNK = 64 * 1024
_REALM = 'Basic realm="GitHub"'
# The password some clients send when the token is the username.
_PLACEHOLDER_PASSWORD = "x-oauth-basic"  # noqa: S105 - a fixed marker, not a secret


class Service(enum.StrEnum):
    UPLOAD_PACK = "git-upload-pack"  # clone, fetch
    RECEIVE_PACK = "git-receive-pack"  # push


class Text:
    """What git shows the person on a refusal (GitHub's wording)."""

    NO_CREDENTIALS = "Authentication required.\n"
    BAD_CREDENTIALS = (
        "Invalid username or token. Password authentication is not supported for Git operations.\n"
    )
    NOT_FOUND = "Repository not found.\n"
    DENIED = "Permission to {repo}.git denied to {login}.\n"
    NOT_GIT = "Not a git smart HTTP request.\n"


class Denied(Exception):
    """A refusal: HTTP status and the text git prints."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text

    def response(self) -> Response:
        headers = {"WWW-Authenticate": _REALM} if self.status == 401 else {}
        return Response(self.text, self.status, headers, media_type="text/plain")


@dataclass(frozen=True)
class GitRequest:
    """One smart-HTTP request: the ref advertisement (``info/refs``) or a service call."""

    owner: str
    name: str
    service: Service
    advertisement: bool

    @property
    def path_info(self) -> str:
        return "info/refs" if self.advertisement else self.service.value


@dataclass(frozen=True)
class RefUpdate:
    """One ref a push changed; ``before``/``after`` are zeros when created/deleted."""

    ref: str
    before: str
    after: str

    @property
    def created(self) -> bool:
        return self.before == ZERO_SHA

    @property
    def deleted(self) -> bool:
        return self.after == ZERO_SHA


# Called after a push, with the state lock NOT held, in push order; the pusher is the
# person or the App's bot user.
RefListener = Callable[[State, Repo, Sequence[RefUpdate], User], None]


@dataclass
class GitHttp:
    """Per-sandbox service: listeners and a push lock per repository."""

    sandbox: Sandbox
    listeners: list[RefListener] = field(default_factory=list)
    _push_locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    def push_lock(self, repo_id: int) -> asyncio.Lock:
        return self._push_locks.setdefault(repo_id, asyncio.Lock())


# --- module hooks (see bot/sandbox/app.py) --------------------------------------------


def install(sandbox: Sandbox) -> None:
    sandbox.services[SERVICE_KEY] = GitHttp(sandbox)


def asgi_routes(sandbox: Sandbox) -> list[BaseRoute]:
    async def endpoint(request: Request) -> Response:
        return await handle(sandbox, request)

    return [Route("/{owner}/{name}.git/{rest:path}", endpoint, methods=["GET", "POST"])]


def on_ref_updated(sandbox: Sandbox, listener: RefListener) -> None:
    """Call ``listener(state, repo, updates, pusher)`` after every push that moved refs."""
    _service(sandbox).listeners.append(listener)


def _service(sandbox: Sandbox) -> GitHttp:
    service = sandbox.services.get(SERVICE_KEY)
    if not isinstance(service, GitHttp):
        raise RuntimeError("bot.sandbox.git_http is not among the sandbox's modules")
    return service


# --- pure parsing -----------------------------------------------------------------------


def parse_request(method: str, owner: str, name: str, rest: str, query: str) -> GitRequest:
    """Which smart-HTTP call this is; the dumb protocol and anything else is refused."""
    params = dict(part.partition("=")[::2] for part in query.split("&") if part)
    if method == "GET" and rest == "info/refs" and params.get("service") in set(Service):
        return GitRequest(owner, name, Service(params["service"]), advertisement=True)
    if method == "POST" and rest in set(Service):
        return GitRequest(owner, name, Service(rest), advertisement=False)
    raise Denied(404, Text.NOT_GIT)


def basic_token(authorization: str | None) -> str | None:
    """The token in an HTTP Basic header (password, or username when the password is blank)."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise Denied(401, Text.BAD_CREDENTIALS)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Denied(401, Text.BAD_CREDENTIALS) from None
    username, _, password = decoded.partition(":")
    token = password if password and password != _PLACEHOLDER_PASSWORD else username
    if not token:
        raise Denied(401, Text.BAD_CREDENTIALS)
    return token


def parse_cgi_headers(raw: bytes) -> tuple[int, list[tuple[str, str]]]:
    """Status and headers of a CGI response head (``Status: 404 Not Found`` etc.)."""
    status, headers = 200, []
    for line in raw.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if not name.strip():
            continue
        if name.strip().lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name.strip(), value.strip()))
    return status, headers


def ref_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[RefUpdate]:
    """Refs that differ between two snapshots, sorted by name."""
    names = sorted(set(before) | set(after))
    return [
        RefUpdate(name, before.get(name, ZERO_SHA), after.get(name, ZERO_SHA))
        for name in names
        if before.get(name) != after.get(name)
    ]


# --- authentication and access ----------------------------------------------------------


def identify(state: State, authorization: str | None) -> Principal | None:
    """The caller, None when anonymous; 401 for bad, expired or non-token credentials."""
    token = basic_token(authorization)
    if token is None:
        return None
    try:
        principal = authenticate(state, f"token {token}")
    except ApiError:
        raise Denied(401, Text.BAD_CREDENTIALS) from None
    if principal.kind not in (Kind.USER, Kind.INSTALLATION):
        raise Denied(401, Text.BAD_CREDENTIALS)
    return principal


def authorize(state: State, principal: Principal | None, repo: Repo, service: Service) -> None:
    """Reading needs read access (contents:read), pushing write access (contents:write)."""
    level = Level.WRITE if service is Service.RECEIVE_PACK else Level.READ
    if principal is None:
        if repo.private or level is Level.WRITE:
            raise Denied(401, Text.NO_CREDENTIALS)
        return
    if principal.kind is Kind.INSTALLATION:
        allowed = _installation_may(principal, repo, level)
    else:
        assert principal.user is not None
        role = state.role_of(repo, principal.user.id)
        if role is Role.NONE and not (
            level is Level.WRITE and _maintainer_edit(state, principal, repo)
        ):
            raise Denied(404, Text.NOT_FOUND)
        allowed = role.at_least(Role.WRITE if level is Level.WRITE else Role.READ)
    if not allowed and level is Level.WRITE:
        allowed = _maintainer_edit(state, principal, repo)
    if not allowed:
        login = principal.user.login if principal.user else "anonymous"
        raise Denied(403, Text.DENIED.format(repo=state.full_name(repo), login=login))


def _maintainer_edit(state: State, principal: Principal, repo: Repo) -> bool:
    """A push to a fork by someone who may push to its parent ("Allow edits by maintainers")."""
    from bot.sandbox.forks import maintainers_may_edit  # forks needs the pull requests module

    def may_write(parent: Repo) -> bool:
        if principal.kind is Kind.INSTALLATION:
            try:
                return _installation_may(principal, parent, Level.WRITE)
            except Denied:
                return False
        assert principal.user is not None
        return state.role_of(parent, principal.user.id).at_least(Role.WRITE)

    return maintainers_may_edit(state, repo, may_write)


def _installation_may(principal: Principal, repo: Repo, level: Level) -> bool:
    token, installation = principal.token, principal.installation
    assert token is not None and installation is not None and token.kind is TokenKind.INSTALLATION
    in_scope = repo.owner_id == installation.account_id and (
        token.repository_ids is None or repo.id in token.repository_ids
    )
    if not in_scope:
        if repo.private:
            raise Denied(404, Text.NOT_FOUND)
        return level is Level.READ  # public repositories can be read by anyone
    if level is Level.READ and not repo.private:
        return True
    return level.granted_by(token.permissions.get("contents"))


# --- the endpoint -----------------------------------------------------------------------


async def handle(sandbox: Sandbox, request: Request) -> Response:
    params = request.path_params
    try:
        git_request = parse_request(
            request.method, params["owner"], params["name"], params["rest"], request.url.query
        )
        repo, principal = await run_in_threadpool(
            _admit, sandbox.state, git_request, request.headers.get("authorization")
        )
    except Denied as denied:
        return denied.response()
    env = _cgi_env(sandbox.state, request, repo, git_request, principal)
    if git_request.service is Service.RECEIVE_PACK and not git_request.advertisement:
        return await _push(sandbox, request, repo, principal, env)
    backend = await _Backend.start(env, request.stream())
    return await backend.streaming_response()


def _admit(
    state: State, git_request: GitRequest, authorization: str | None
) -> tuple[Repo, Principal | None]:
    with state.lock:
        principal = identify(state, authorization)
        repo = state.repo_by_name(git_request.owner, git_request.name)
        if repo is None and principal is None:
            # Like GitHub: ask for credentials rather than reveal what does not exist.
            raise Denied(401, Text.NO_CREDENTIALS)
        if repo is None:
            raise Denied(404, Text.NOT_FOUND)
        authorize(state, principal, repo, git_request.service)
        return repo, principal


def _cgi_env(
    state: State, request: Request, repo: Repo, git_request: GitRequest, principal: Principal | None
) -> dict[str, str]:
    env = dict(state.git_env)
    env.update(
        GIT_PROJECT_ROOT=str(repo.git.path.parent),
        PATH_INFO=f"/{repo.git.path.name}/{git_request.path_info}",
        QUERY_STRING=request.url.query,
        REQUEST_METHOD=request.method,
        CONTENT_TYPE=request.headers.get("content-type", ""),
        GIT_HTTP_EXPORT_ALL="1",
        REMOTE_ADDR=request.client.host if request.client else "127.0.0.1",
    )
    if principal is not None and principal.user is not None:
        env["REMOTE_USER"] = principal.user.login
    # http-backend inflates gzip bodies itself and hands protocol v2 on to git.
    for header, variable in _PASSED_HEADERS:
        if header in request.headers:
            env[variable] = request.headers[header]
    return env


_PASSED_HEADERS = (
    ("content-length", "CONTENT_LENGTH"),
    ("content-encoding", "HTTP_CONTENT_ENCODING"),
    ("git-protocol", "HTTP_GIT_PROTOCOL"),
)


async def _push(
    sandbox: Sandbox, request: Request, repo: Repo, principal: Principal | None, env: dict[str, str]
) -> Response:
    """Run receive-pack, then report the refs it moved before the client sees the end."""
    assert principal is not None and principal.user is not None
    async with _service(sandbox).push_lock(repo.id):
        before = await run_in_threadpool(_ref_snapshot, repo)
        backend = await _Backend.start(env, request.stream())
        status, headers, body = await backend.collect()
        after = await run_in_threadpool(_ref_snapshot, repo)
    updates = ref_changes(before, after)
    if updates:
        await run_in_threadpool(record_ref_updates, sandbox, repo, updates, principal.user)
    return Response(body, status, dict(headers))


def _ref_snapshot(repo: Repo) -> dict[str, str]:
    return {name: sha for name, sha, _kind in repo.git.refs("refs/")}


# --- running git http-backend -----------------------------------------------------------


class _Backend:
    """One ``git http-backend`` process: request body streamed in, CGI response out."""

    def __init__(self, process: asyncio.subprocess.Process, feeder: asyncio.Task[None]) -> None:
        self.process = process
        self.feeder = feeder
        self.stderr = asyncio.ensure_future(self._drain_stderr())
        self._finished = False

    @classmethod
    async def start(cls, env: dict[str, str], body: AsyncIterator[bytes]) -> _Backend:
        process = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(process, asyncio.ensure_future(_feed(process, body)))

    async def _drain_stderr(self) -> bytes:
        assert self.process.stderr is not None
        return await self.process.stderr.read()

    async def head(self) -> tuple[int, list[tuple[str, str]]]:
        assert self.process.stdout is not None
        lines = []
        while (line := await self.process.stdout.readline()) not in (b"\r\n", b"\n"):
            if not line:  # no CGI head at all: http-backend could not run
                await self.finish()
                return 500, [("Content-Type", "text/plain")]
            lines.append(line)
        return parse_cgi_headers(b"".join(lines))

    async def body(self) -> AsyncIterator[bytes]:
        assert self.process.stdout is not None
        try:
            while chunk := await self.process.stdout.read(_CHUNK):
                yield chunk
        finally:
            await self.finish()

    async def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self.process.returncode is None and self.process.stdout is not None:
            with contextlib.suppress(ProcessLookupError):
                if self.process.stdout.at_eof():
                    await self.process.wait()
                else:  # the client went away mid-response
                    self.process.kill()
                    await self.process.wait()
        self.feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.feeder
        errors = (await self.stderr).decode(errors="replace").strip()
        if self.process.returncode:
            log.warning("git http-backend exited %s: %s", self.process.returncode, errors[-500:])

    async def streaming_response(self) -> Response:
        # The whole request must be in before the response starts: a StreamingResponse
        # listens for disconnects on the same ASGI receive channel and would swallow
        # the rest of the body. Both services read all input before answering in bulk.
        await self.feeder
        status, headers = await self.head()
        return StreamingResponse(self.body(), status, dict(headers))

    async def collect(self) -> tuple[int, list[tuple[str, str]], bytes]:
        status, headers = await self.head()
        chunks = [chunk async for chunk in self.body()]
        return status, headers, b"".join(chunks)


async def _feed(process: asyncio.subprocess.Process, body: AsyncIterator[bytes]) -> None:
    assert process.stdin is not None
    try:
        async for chunk in body:
            process.stdin.write(chunk)
            await process.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # http-backend answered without reading everything (e.g. an error)
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.close()


# --- after a push -----------------------------------------------------------------------


def record_ref_updates(
    sandbox: Sandbox, repo: Repo, updates: Sequence[RefUpdate], pusher: User
) -> None:
    """Emit one ``push`` event per changed ref, then tell every listener."""
    state = sandbox.state
    with state.lock:
        repo.pushed_at = repo.updated_at = state.now()
    for update in updates:
        payload = _push_payload(state, repo, update, pusher)
        state.emit("push", None, payload, repo=repo, sender=pusher)
        _emit_create_or_delete(state, repo, update, pusher)
    for listener in list(_service(sandbox).listeners):
        listener(state, repo, updates, pusher)


def _emit_create_or_delete(state: State, repo: Repo, update: RefUpdate, pusher: User) -> None:
    """GitHub also sends ``create``/``delete`` when a push adds or removes a branch or tag."""
    if not (update.created or update.deleted):
        return
    kind, _, short = update.ref.removeprefix("refs/").partition("/")
    body: dict[str, Any] = {
        "ref": short,
        "ref_type": "tag" if kind == "tags" else "branch",
        "pusher_type": "user",
    }
    if update.created:
        body |= {"master_branch": repo.default_branch, "description": repo.description}
    state.emit("create" if update.created else "delete", None, body, repo=repo, sender=pusher)


def _push_payload(
    state: State, repo: Repo, update: RefUpdate, pusher: User
) -> Callable[[Any], dict[str, Any]]:
    commits = _pushed_commits(repo, update)
    files = {info.sha: repo.git.changed_files(info.sha) for info in commits}
    # An annotated tag's head_commit is the commit it points to.
    head_sha = None if update.deleted else repo.git.resolve(update.after)
    head = repo.git.commit_info(head_sha) if head_sha else None
    head_files = repo.git.changed_files(head.sha) if head else []
    forced = not (update.created or update.deleted) and not repo.git.is_ancestor(
        update.before, update.after
    )

    def build(urls: builders.Urls) -> dict[str, Any]:
        web = builders.repo_web(urls, state, repo)
        return {
            "ref": update.ref,
            "before": update.before,
            "after": update.after,
            "created": update.created,
            "deleted": update.deleted,
            "forced": forced,
            "base_ref": None,
            "compare": _compare_url(web, update),
            "commits": [_payload_commit(web, info, files[info.sha]) for info in commits],
            "head_commit": _payload_commit(web, head, head_files) if head else None,
            "pusher": {"name": pusher.login, "email": pusher.email},
        }

    return build


def _pushed_commits(repo: Repo, update: RefUpdate) -> list[CommitInfo]:
    """Commits the push brought to the ref, oldest first (at most 20)."""
    if update.deleted:
        return []
    # A new ref: commits no other ref reached already; an update: before..after.
    if update.created:
        exclude = ["--not", f"--exclude={update.ref}", "--all"]
    else:
        exclude = [f"^{update.before}"]
    try:
        listed = repo.git.text("rev-list", "--reverse", f"{update.after}^{{commit}}", *exclude)
    except GitFailed:
        return []
    shas = listed.split()[-MAX_PAYLOAD_COMMITS:]
    return [repo.git.commit_info(sha) for sha in shas]


def _compare_url(web: str, update: RefUpdate) -> str:
    if update.created:
        return f"{web}/compare/{update.ref.rpartition('/')[2]}"
    return f"{web}/compare/{update.before[:12]}...{update.after[:12]}"


def _payload_commit(
    web: str, info: CommitInfo, files: Sequence[tuple[str, int, int, str]]
) -> dict[str, Any]:
    by_status: dict[str, list[str]] = {"A": [], "D": [], "M": []}
    for path, _added, _removed, status in files:
        by_status.get(status, by_status["M"]).append(path)
    return {
        "id": info.sha,
        "tree_id": info.tree,
        "distinct": True,
        "message": info.message,
        "timestamp": iso(info.author.epoch),
        "url": f"{web}/commit/{info.sha}",
        "author": {"name": info.author.name, "email": info.author.email},
        "committer": {"name": info.committer.name, "email": info.committer.email},
        "added": by_status["A"],
        "removed": by_status["D"],
        "modified": by_status["M"],
    }
