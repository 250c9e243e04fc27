"""Shared pytest fixtures: the GitHub sandbox as a real HTTP server, clients and worlds.

Fixtures (all use the real PyGithub client over HTTP on 127.0.0.1):

- ``sandbox_session``: session-wide :class:`bot.sandbox.Sandbox` (strict conformance)
  served by uvicorn on a free port, data in a tmp dir, on a :class:`ManualClock`.
- ``sandbox``: the same sandbox for one test; at teardown it fails the test if any
  response broke GitHub's description, clears faults and rewinds the clock.
- ``sandbox_api_url``: ``http://127.0.0.1:PORT/api/v3``.
- ``app_key``: one RSA key pair (private PEM, public PEM) reused by every world.
- ``github_for``: ``github_for(token) -> github.Github`` (no retries, no pacing).
- ``world``: a fresh user + App + installation + repository per test (unique names),
  with ready clients: ``world.user_gh``, ``world.app_gh`` (installation token obtained
  through the App's JWT) and ``world.integration`` (``GithubIntegration``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import github
import pytest

from bot.sandbox import ManualClock, Sandbox
from bot.sandbox.keys import generate_key_pair
from bot.sandbox.sandbox import SandboxApp, SandboxInstallation, SandboxRepo, SandboxUser
from bot.sandbox.server import ServerThread

_names = itertools.count(1)


def make_github(auth: github.Auth.Auth, api_url: str) -> github.Github:
    """A PyGithub client for the sandbox: no retries/backoff, no pacing between requests."""
    return github.Github(
        auth=auth,
        base_url=api_url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        timeout=15,
    )


def make_integration(auth: github.Auth.AppAuth, api_url: str) -> github.GithubIntegration:
    return github.GithubIntegration(
        auth=auth,
        base_url=api_url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        timeout=15,
    )


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = Sandbox(tmp_path_factory.mktemp("github-sandbox"), clock=ManualClock(), strict=True)
    server = ServerThread(sandbox)
    server.start()
    yield sandbox
    server.stop()


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Iterator[Sandbox]:
    before = len(sandbox_session.violations)
    yield sandbox_session
    sandbox_session.faults.clear()
    clock = sandbox_session.clock
    if isinstance(clock, ManualClock):
        clock.rewind_to_source()
    broken = sandbox_session.violations[before:]
    if broken:
        report = "\n".join(str(v) for v in broken)
        pytest.fail(f"responses that break GitHub's REST API description:\n{report}")


@pytest.fixture
def sandbox_api_url(sandbox: Sandbox) -> str:
    return sandbox.api_url


@pytest.fixture(scope="session")
def app_key() -> tuple[str, str]:
    return generate_key_pair()


@pytest.fixture
def github_for(sandbox_api_url: str) -> Iterator[Callable[[str], github.Github]]:
    made: list[github.Github] = []

    def make(token: str) -> github.Github:
        client = make_github(github.Auth.Token(token), sandbox_api_url)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def unique(prefix: str) -> str:
    """A name no other test in this session uses."""
    return f"{prefix}-{next(_names)}"


@dataclass
class World:
    """One test's GitHub: an owner with a repo and an App installed on it."""

    sandbox: Sandbox
    api_url: str
    user: SandboxUser
    app: SandboxApp
    installation: SandboxInstallation
    repo: SandboxRepo
    private_key: str
    user_gh: github.Github
    app_gh: github.Github
    integration: github.GithubIntegration
    extra_clients: list[github.Github] = field(default_factory=list)

    def app_auth(self) -> github.Auth.AppAuth:
        return github.Auth.AppAuth(self.app.id, self.private_key)

    def installation_client(self, installation_id: int) -> github.Github:
        auth = self.app_auth().get_installation_auth(installation_id)
        client = make_github(auth, self.api_url)
        self.extra_clients.append(client)
        return client

    def close(self) -> None:
        """Close every client's connection pool (open sockets would warn at exit)."""
        for client in [self.user_gh, self.app_gh, *self.extra_clients]:
            client.close()
        self.integration.close()


def build_world(
    sandbox: Sandbox,
    api_url: str,
    app_key: tuple[str, str],
    *,
    permissions: dict[str, str] | None = None,
    files: dict[str, str | bytes] | None = None,
    source: Path | None = None,
    private: bool = False,
) -> World:
    """A fresh world; tests that need another shape call this directly."""
    private_key, public_key = app_key
    user = sandbox.create_user(unique("owner"), name="Repo Owner")
    app = sandbox.create_app(user.login, unique("techlead"), public_key_pem=public_key)
    repo = sandbox.create_repo(
        user.login,
        unique("project"),
        files={"README.md": "# Project\n"} if files is None and source is None else files,
        source=source,
        private=private,
    )
    installation = sandbox.install_app(
        app.id, user.login, permissions=permissions, repositories=[repo.name]
    )
    auth = github.Auth.AppAuth(app.id, private_key)
    return World(
        sandbox=sandbox,
        api_url=api_url,
        user=user,
        app=app,
        installation=installation,
        repo=repo,
        private_key=private_key,
        user_gh=make_github(github.Auth.Token(user.token), api_url),
        app_gh=make_github(auth.get_installation_auth(installation.id), api_url),
        integration=make_integration(auth, api_url),
    )


@pytest.fixture
def world(sandbox: Sandbox, sandbox_api_url: str, app_key: tuple[str, str]) -> Iterator[World]:
    made = build_world(sandbox, sandbox_api_url, app_key)
    yield made
    made.close()


@pytest.fixture
def world_factory(
    sandbox: Sandbox, sandbox_api_url: str, app_key: tuple[str, str]
) -> Iterator[Callable[..., World]]:
    """``world_factory(permissions=..., files=..., source=..., private=...)``: more worlds."""
    made: list[World] = []

    def make(**options: Any) -> World:
        made.append(build_world(sandbox, sandbox_api_url, app_key, **options))
        return made[-1]

    yield make
    for item in made:
        item.close()
