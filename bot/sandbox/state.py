"""The sandbox's world: thread-safe in-memory records plus one bare git repo per repository."""

from __future__ import annotations

import enum
import itertools
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.sandbox.clock import Clock
from bot.sandbox.gitstore import GitRepo


class Role(enum.StrEnum):
    """A person's role on a repository, weakest first (GitHub's repository roles)."""

    NONE = "none"
    READ = "read"
    TRIAGE = "triage"
    WRITE = "write"
    MAINTAIN = "maintain"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


# PUT /collaborators/{username} names roles the old way.
ROLE_FROM_PERMISSION = {
    "pull": Role.READ,
    "triage": Role.TRIAGE,
    "push": Role.WRITE,
    "maintain": Role.MAINTAIN,
    "admin": Role.ADMIN,
}


class TokenKind(enum.StrEnum):
    USER = "user"
    INSTALLATION = "installation"


@dataclass
class User:
    id: int
    login: str
    created_at: float
    type: str = "User"  # User | Bot | Organization
    name: str | None = None
    email: str | None = None
    site_admin: bool = False


@dataclass
class Token:
    value: str
    kind: TokenKind
    created_at: float
    user_id: int | None = None
    installation_id: int | None = None
    expires_at: float | None = None
    permissions: dict[str, str] = field(default_factory=dict)
    repository_ids: frozenset[int] | None = None  # None: every repo of the installation


@dataclass
class App:
    id: int
    slug: str
    name: str
    owner_id: int
    bot_user_id: int
    client_id: str
    public_key_pem: str
    permissions: dict[str, str]
    events: list[str]
    created_at: float
    description: str | None = None


@dataclass
class Installation:
    id: int
    app_id: int
    account_id: int
    permissions: dict[str, str]
    repository_ids: set[int] | None  # None: all repositories of the account
    events: list[str]
    created_at: float
    updated_at: float
    suspended_at: float | None = None


@dataclass
class Label:
    id: int
    name: str
    color: str
    description: str | None = None
    default: bool = False


@dataclass
class Reaction:
    id: int
    user_id: int
    content: str
    created_at: float


@dataclass
class Issue:
    id: int
    number: int
    title: str
    body: str | None
    user_id: int
    created_at: float
    updated_at: float
    state: str = "open"
    state_reason: str | None = None
    label_names: list[str] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    closed_at: float | None = None
    closed_by_id: int | None = None
    locked: bool = False
    reactions: list[Reaction] = field(default_factory=list)
    app_id: int | None = None  # performed_via_github_app
    # Set by the pull request module for issues that are pull requests.
    pull_request: dict[str, Any] | None = None


@dataclass
class Comment:
    id: int
    issue_number: int
    user_id: int
    body: str
    created_at: float
    updated_at: float
    reactions: list[Reaction] = field(default_factory=list)
    app_id: int | None = None


@dataclass
class CommitStatus:
    id: int
    sha: str
    state: str
    context: str
    creator_id: int
    created_at: float
    updated_at: float
    target_url: str | None = None
    description: str | None = None


@dataclass
class CheckSuite:
    id: int
    app_id: int
    head_sha: str
    head_branch: str | None
    created_at: float
    updated_at: float
    status: str = "queued"
    conclusion: str | None = None
    rerequest_count: int = 0


@dataclass
class CheckRun:
    id: int
    suite_id: int
    app_id: int
    name: str
    head_sha: str
    created_at: float
    status: str = "queued"
    conclusion: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    external_id: str | None = None
    details_url: str | None = None
    output: dict[str, Any] = field(default_factory=dict)  # title, summary, text
    annotations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Repo:
    id: int
    owner_id: int
    name: str
    git: GitRepo
    created_at: float
    updated_at: float
    pushed_at: float
    default_branch: str = "main"
    private: bool = False
    description: str | None = None
    next_number: int = 1
    collaborators: dict[int, Role] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # by lower-case name
    issues: dict[int, Issue] = field(default_factory=dict)  # by number
    comments: dict[int, Comment] = field(default_factory=dict)  # by id
    statuses: list[CommitStatus] = field(default_factory=list)
    check_suites: dict[int, CheckSuite] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    # Per-repository data of resource modules added later (pulls, reviews...), by module.
    extensions: dict[str, Any] = field(default_factory=dict)

    def allocate_number(self) -> int:
        """Issues and pull requests share one number sequence, as on GitHub."""
        number = self.next_number
        self.next_number += 1
        return number


Payload = dict[str, Any] | Callable[[Any], dict[str, Any]]


@dataclass
class Event:
    """A state change GitHub would turn into a webhook delivery.

    ``payload`` is the event-specific part (``issue``, ``comment``, ``label``...) or a
    function of the URL set (:class:`bot.sandbox.builders.Urls`) that builds it; the
    webhook module adds ``action``, ``repository``, ``sender`` and ``installation``.
    """

    seq: int
    name: str
    action: str | None
    payload: Payload
    repo_id: int | None
    sender_id: int | None
    at: float

    def body(self, urls: Any) -> dict[str, Any]:
        return self.payload(urls) if callable(self.payload) else dict(self.payload)


@dataclass
class WebhookTarget:
    url: str | None = None
    secret: str | None = field(default=None, repr=False)


class State:
    """All records, guarded by one re-entrant lock (``with state.lock:``)."""

    def __init__(self, data_dir: Path, clock: Clock, git_env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self.git_env = git_env
        self.lock = threading.RLock()
        self.webhook = WebhookTarget()
        self._listeners: list[Callable[[Event], None]] = []
        self._clear()

    def _clear(self) -> None:
        self._ids = itertools.count(1001)
        self._event_seq = itertools.count(1)
        self.users: dict[int, User] = {}
        self.tokens: dict[str, Token] = {}
        self.apps: dict[int, App] = {}
        self.installations: dict[int, Installation] = {}
        self.repos: dict[int, Repo] = {}
        self.events: list[Event] = []
        # Global data of resource modules added later, by module name.
        self.extensions: dict[str, Any] = {}

    def reset(self) -> None:
        """Forget everything and delete the git repositories; listeners stay subscribed."""
        with self.lock:
            shutil.rmtree(self.repos_dir, ignore_errors=True)
            self._clear()

    @property
    def repos_dir(self) -> Path:
        return self.data_dir / "repos"

    def now(self) -> float:
        return self.clock.now()

    def next_id(self) -> int:
        return next(self._ids)

    # --- lookups ----------------------------------------------------------------------

    def user_by_login(self, login: str) -> User | None:
        wanted = login.lower()
        return next((u for u in self.users.values() if u.login.lower() == wanted), None)

    def repo_by_name(self, owner: str, name: str) -> Repo | None:
        user = self.user_by_login(owner)
        if user is None:
            return None
        wanted = name.lower()
        return next(
            (r for r in self.repos.values() if r.owner_id == user.id and r.name.lower() == wanted),
            None,
        )

    def full_name(self, repo: Repo) -> str:
        return f"{self.users[repo.owner_id].login}/{repo.name}"

    def role_of(self, repo: Repo, user_id: int) -> Role:
        """The user's role: owner is admin; collaborators as set; others read if public."""
        if user_id == repo.owner_id:
            return Role.ADMIN
        if user_id in repo.collaborators:
            return repo.collaborators[user_id]
        return Role.NONE if repo.private else Role.READ

    def installation_repos(self, installation: Installation) -> list[Repo]:
        owned = [r for r in self.repos.values() if r.owner_id == installation.account_id]
        if installation.repository_ids is None:
            return owned
        return [r for r in owned if r.id in installation.repository_ids]

    def installation_for(self, app_id: int, repo: Repo) -> Installation | None:
        for installation in self.installations.values():
            if installation.app_id == app_id and repo in self.installation_repos(installation):
                return installation
        return None

    # --- events -----------------------------------------------------------------------

    def emit(
        self,
        name: str,
        action: str | None,
        payload: Payload,
        *,
        repo: Repo | None = None,
        sender: User | int | None = None,
    ) -> Event:
        """Record a webhook-worthy change and hand it to every subscribed listener."""
        sender_id = sender.id if isinstance(sender, User) else sender
        with self.lock:
            event = Event(
                seq=next(self._event_seq),
                name=name,
                action=action,
                payload=payload,
                repo_id=repo.id if repo else None,
                sender_id=sender_id,
                at=self.now(),
            )
            self.events.append(event)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        return event

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener(event)`` after every :meth:`emit` (the webhook module's hook).

        Listeners run on the request's thread while the state lock is held: they should
        queue work (e.g. a delivery) rather than do slow I/O themselves.
        """
        with self.lock:
            self._listeners.append(listener)
