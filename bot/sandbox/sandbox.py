"""The Sandbox: one object holding the state and the scripting (admin) API over it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.applications import Starlette

from bot.errors import SandboxError
from bot.sandbox import auth
from bot.sandbox.builders import Urls, installation_event
from bot.sandbox.clock import Clock, SystemClock
from bot.sandbox.conformance import Spec, Violation
from bot.sandbox.dispatch import Dispatcher, Violations
from bot.sandbox.faults import Faults
from bot.sandbox.gitstore import GitRepo, Person, git_environment
from bot.sandbox.keys import generate_key_pair, normalize_public_key
from bot.sandbox.ratelimit import RateLimiter
from bot.sandbox.state import (
    ROLE_FROM_PERMISSION,
    App,
    Event,
    Installation,
    Repo,
    Role,
    State,
    Token,
    TokenKind,
    User,
)

DEFAULT_APP_PERMISSIONS = {
    "metadata": "read",
    "contents": "write",
    "issues": "write",
    "pull_requests": "write",
    "checks": "write",
    "statuses": "write",
}
DEFAULT_APP_EVENTS = [
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "check_run",
    "check_suite",
    "push",
]
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class SandboxUser:
    id: int
    login: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class SandboxApp:
    id: int
    slug: str
    client_id: str
    bot_login: str
    private_key_pem: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SandboxInstallation:
    id: int
    app_id: int
    account: str


@dataclass(frozen=True)
class SandboxRepo:
    id: int
    owner: str
    name: str
    default_branch: str
    git_path: Path
    head_sha: str | None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class Sandbox:
    """A GitHub stand-in: scripting API here, HTTP API via :meth:`asgi`.

    ``strict`` records every response that breaks GitHub's description in
    :attr:`violations`. ``env`` supplies PATH for git (defaults to the process env).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Clock | None = None,
        strict: bool = False,
        env: Mapping[str, str] | None = None,
        spec: Spec | None = None,
        modules: Sequence[ModuleType] | None = None,
    ) -> None:
        from bot.sandbox.app import RESOURCE_MODULES, collect_routes

        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.clock: Clock = clock or SystemClock()
        self.spec = spec or Spec.load()
        git_env = git_environment(os.environ if env is None else env, self.data_dir)
        self.state = State(self.data_dir, self.clock, git_env)
        # State lives in memory only: repositories left by an earlier run are orphans.
        self.state.reset()
        self.limiter = RateLimiter(self.clock)
        self.faults = Faults()
        self._violations = Violations()
        self.modules = tuple(RESOURCE_MODULES if modules is None else modules)
        # Shared objects resource modules offer each other (e.g. a webhook sender).
        self.services: dict[str, Any] = {"limiter": self.limiter, "faults": self.faults}
        self.base_url: str | None = None
        self.dispatcher = Dispatcher(
            self.state,
            self.spec,
            collect_routes(self.modules, self.spec),
            self.limiter,
            self.faults,
            self._violations,
            strict=strict,
            services=self.services,
        )
        for module in self.modules:
            if hasattr(module, "install"):
                module.install(self)

    # --- serving ----------------------------------------------------------------------

    def asgi(self) -> Starlette:
        from bot.sandbox.app import build_asgi

        return build_asgi(self, self.modules)

    @property
    def api_url(self) -> str:
        if self.base_url is None:
            raise SandboxError("the sandbox is not being served yet (no base URL)")
        return f"{self.base_url}/api/v3"

    @property
    def urls(self) -> Urls:
        if self.base_url is None:
            raise SandboxError("the sandbox is not being served yet (no base URL)")
        return Urls.for_host(self.base_url)

    # --- observation ------------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        with self.state.lock:
            return list(self.state.events)

    @property
    def violations(self) -> list[Violation]:
        return self._violations.snapshot()

    def clear_violations(self) -> None:
        self._violations.clear()

    # --- people and tokens ------------------------------------------------------------

    def create_user(
        self,
        login: str,
        *,
        name: str | None = None,
        email: str | None = None,
        kind: str = "User",
    ) -> SandboxUser:
        """A GitHub account with a personal access token (``ghp_...``)."""
        if not _LOGIN.match(login) and not (kind == "Bot" and login.endswith("[bot]")):
            raise SandboxError(f"invalid login {login!r}")
        with self.state.lock:
            if self.state.user_by_login(login):
                raise SandboxError(f"user {login!r} already exists")
            user = User(
                self.state.next_id(),
                login,
                self.state.now(),
                type=kind,
                name=name,
                email=email or f"{login.removesuffix('[bot]')}@users.noreply.sandbox",
            )
            self.state.users[user.id] = user
            token = self._user_token(user) if kind != "Bot" else ""
        return SandboxUser(user.id, user.login, token)

    def create_token(self, login: str) -> str:
        """Another personal access token for an existing user."""
        with self.state.lock:
            return self._user_token(self._user(login))

    def _user_token(self, user: User) -> str:
        token = Token(auth.new_token("ghp_"), TokenKind.USER, self.state.now(), user_id=user.id)
        self.state.tokens[token.value] = token
        return token.value

    def _user(self, login: str) -> User:
        user = self.state.user_by_login(login)
        if user is None:
            raise SandboxError(f"no user {login!r}")
        return user

    # --- apps and installations -------------------------------------------------------

    def create_app(
        self,
        owner: str,
        slug: str,
        *,
        name: str | None = None,
        public_key_pem: str | None = None,
        permissions: Mapping[str, str] | None = None,
        events: Sequence[str] | None = None,
    ) -> SandboxApp:
        """A GitHub App owned by ``owner``. Without a key, one is generated and returned."""
        private_pem = None
        if public_key_pem is None:
            private_pem, public_key_pem = generate_key_pair()
        public = normalize_public_key(public_key_pem)
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,33}", slug):
            raise SandboxError(f"invalid App slug {slug!r}")
        with self.state.lock:
            if any(a.slug == slug for a in self.state.apps.values()):
                raise SandboxError(f"App {slug!r} already exists")
            owner_user = self._user(owner)
            bot = self.create_user(f"{slug}[bot]", kind="Bot")
            app = App(
                id=self.state.next_id(),
                slug=slug,
                name=name or slug,
                owner_id=owner_user.id,
                bot_user_id=bot.id,
                client_id=f"Iv1.{auth.new_token('')[:16].lower()}",
                public_key_pem=public,
                permissions=dict(permissions or DEFAULT_APP_PERMISSIONS),
                events=list(events or DEFAULT_APP_EVENTS),
                created_at=self.state.now(),
            )
            self.state.apps[app.id] = app
        return SandboxApp(app.id, app.slug, app.client_id, bot.login, private_pem)

    def install_app(
        self,
        app_id: int,
        account: str,
        *,
        permissions: Mapping[str, str] | None = None,
        repositories: Sequence[str] | None = None,
        events: Sequence[str] | None = None,
    ) -> SandboxInstallation:
        """Install an App on ``account``; ``repositories`` (names) None means all of them."""
        with self.state.lock:
            app = self.state.apps.get(app_id)
            if app is None:
                raise SandboxError(f"no App {app_id}")
            owner = self._user(account)
            repo_ids = None
            if repositories is not None:
                repo_ids = {self._repo(owner.login, name).id for name in repositories}
            granted = dict(permissions if permissions is not None else app.permissions)
            granted.setdefault("metadata", "read")  # every installation can read metadata
            now = self.state.now()
            installation = Installation(
                id=self.state.next_id(),
                app_id=app.id,
                account_id=owner.id,
                permissions=granted,
                repository_ids=repo_ids,
                events=list(events if events is not None else app.events),
                created_at=now,
                updated_at=now,
            )
            self.state.installations[installation.id] = installation
            self.state.emit(
                "installation",
                "created",
                lambda urls: installation_event(urls, self.state, installation),
                sender=owner,
            )
        return SandboxInstallation(installation.id, app.id, owner.login)

    def add_installation_repos(self, installation_id: int, names: Sequence[str]) -> None:
        with self.state.lock:
            installation = self._installation(installation_id)
            if installation.repository_ids is not None:
                account = self.state.users[installation.account_id].login
                installation.repository_ids |= {self._repo(account, n).id for n in names}

    def installation_token(
        self, installation_id: int, *, permissions: Mapping[str, str] | None = None
    ) -> str:
        """An installation token minted directly (the HTTP way is POST .../access_tokens)."""
        with self.state.lock:
            installation = self._installation(installation_id)
            perms = dict(permissions) if permissions is not None else None
            return auth.mint_installation_token(self.state, installation, perms).value

    def _installation(self, installation_id: int) -> Installation:
        installation = self.state.installations.get(installation_id)
        if installation is None:
            raise SandboxError(f"no installation {installation_id}")
        return installation

    # --- repositories -----------------------------------------------------------------

    def create_repo(
        self,
        owner: str,
        name: str,
        *,
        source: Path | None = None,
        files: Mapping[str, str | bytes] | None = None,
        private: bool = False,
        default_branch: str = "main",
        description: str | None = None,
        message: str = "Initial commit",
    ) -> SandboxRepo:
        """A repository backed by a bare git repo; ``source`` or ``files`` make the first commit."""
        if not _REPO_NAME.match(name) or name in (".", ".."):
            raise SandboxError(f"invalid repository name {name!r}")
        with self.state.lock:
            owner_user = self._user(owner)
            if self.state.repo_by_name(owner, name):
                raise SandboxError(f"repository {owner}/{name} already exists")
            repo_id = self.state.next_id()
            path = self.state.repos_dir / f"{repo_id}-{owner_user.login}-{name}.git"
            git = GitRepo(path, self.state.git_env)
            git.init(default_branch)
            now = self.state.now()
            repo = Repo(
                id=repo_id,
                owner_id=owner_user.id,
                name=name,
                git=git,
                created_at=now,
                updated_at=now,
                pushed_at=now,
                default_branch=default_branch,
                private=private,
                description=description,
            )
            head = self._first_commit(repo, owner_user, source, files, message)
            self.state.repos[repo.id] = repo
        return SandboxRepo(repo.id, owner_user.login, name, default_branch, path, head)

    def _first_commit(
        self,
        repo: Repo,
        owner: User,
        source: Path | None,
        files: Mapping[str, str | bytes] | None,
        message: str,
    ) -> str | None:
        who = Person(owner.name or owner.login, owner.email or "", int(self.state.now()))
        if source is not None:
            return repo.git.import_directory(Path(source), repo.default_branch, message, who)
        if not files:
            return None
        parent: str | None = None
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            parent = repo.git.commit_change(parent, path, data, message, who, who)
        assert parent is not None
        repo.git.update_ref(f"refs/heads/{repo.default_branch}", parent)
        return parent

    def repo(self, full_name: str) -> Repo:
        """The live record of ``owner/name`` (read it under ``sandbox.state.lock``)."""
        owner, _, name = full_name.partition("/")
        return self._repo(owner, name)

    def _repo(self, owner: str, name: str) -> Repo:
        repo = self.state.repo_by_name(owner, name)
        if repo is None:
            raise SandboxError(f"no repository {owner}/{name}")
        return repo

    def set_role(self, full_name: str, login: str, role: Role | str) -> None:
        """Make ``login`` a collaborator with ``role`` (admin/maintain/write/triage/read/none).

        The legacy names pull/push are accepted too.
        """
        value = ROLE_FROM_PERMISSION.get(str(role), None) or Role(str(role))
        with self.state.lock:
            repo = self.repo(full_name)
            user = self._user(login)
            if value is Role.NONE:
                repo.collaborators.pop(user.id, None)
            else:
                repo.collaborators[user.id] = value

    # --- limits, faults, webhook target, reset ------------------------------------------

    def set_rate_limit(
        self,
        key: str,
        limit: int,
        *,
        remaining: int | None = None,
        reset_in: float | None = None,
    ) -> None:
        """Budget of ``installation:ID``, ``user:ID``, ``app:ID`` or ``anonymous``.

        ``remaining`` sets what is left of the current window and ``reset_in`` (seconds)
        when it ends; afterwards the budget is full again for a fresh hour.
        """
        self.limiter.configure(key, limit, remaining=remaining, reset_in=reset_in)

    def set_webhook(self, url: str | None, secret: str | None) -> None:
        with self.state.lock:
            self.state.webhook.url = url
            self.state.webhook.secret = secret

    def reset(self) -> None:
        """Back to an empty GitHub: no users, repos, events, faults, budgets or violations."""
        self.state.reset()
        self.limiter.reset()
        self.faults.clear()
        self.clear_violations()

    # --- pull requests and webhook deliveries (bot.sandbox.pulls, bot.sandbox.webhooks) --

    def mark_ready_for_review(self, full_name: str, number: int, login: str | None = None) -> None:
        """A draft becomes ready (GraphQL on GitHub); emits ``pull_request.ready_for_review``."""
        from bot.sandbox import pulls

        pulls.mark_ready_for_review(self, full_name, number, login)

    def convert_to_draft(self, full_name: str, number: int, login: str | None = None) -> None:
        """Back to draft (GraphQL on GitHub); emits ``pull_request.converted_to_draft``."""
        from bot.sandbox import pulls

        pulls.convert_to_draft(self, full_name, number, login)

    def set_app_webhook(self, app_id: int, url: str | None, secret: str | None) -> None:
        """One App's webhook (None url: the sandbox-wide target of :meth:`set_webhook`)."""
        from bot.sandbox import webhooks

        webhooks.service_of(self.services).configure(app_id, url, secret)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until every queued webhook delivery was attempted; False on timeout."""
        from bot.sandbox import webhooks

        return webhooks.service_of(self.services).drain(timeout)

    def webhook_deliveries(self, app_id: int | None = None) -> list[Any]:
        """Attempted deliveries (:class:`bot.sandbox.webhooks.Delivery`), oldest first."""
        from bot.sandbox import webhooks

        return webhooks.service_of(self.services).deliveries(app_id)

    def request_check_run_action(
        self, full_name: str, check_run_id: int, identifier: str, login: str
    ) -> None:
        """A person pressed a check run's button: ``check_run.requested_action``."""
        from bot.sandbox import webhooks

        webhooks.request_action(self, full_name, check_run_id, identifier, login)
