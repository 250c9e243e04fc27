"""Fixtures shared by the sandbox's pull request and webhook tests (imported by conftests).

The session sandbox speaks git over HTTP and sends every webhook to a session-wide
receiver; after each test, every payload delivered during it must be valid against
GitHub's published webhook schema for its ``event$action``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.sandbox import ManualClock, Sandbox, git_http
from bot.sandbox.app import RESOURCE_MODULES
from bot.sandbox.server import ServerThread
from tests.conftest import World
from tests.sandbox_webhooks.support import SECRET, Receiver, WebhookSchemas
from tests.support.gitcli import GitCli, clone_url

# What a conftest gets with ``from tests.sandbox_webhooks.fixtures import *``.
__all__ = [
    "clone",
    "delivered_payloads_are_valid",
    "git",
    "hook_receiver",
    "receiver",
    "sandbox_session",
    "schemas",
]

DRAIN_TIMEOUT = 20.0


@pytest.fixture(scope="session")
def hook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def schemas() -> WebhookSchemas:
    return WebhookSchemas()


@pytest.fixture(scope="session")
def sandbox_session(
    tmp_path_factory: pytest.TempPathFactory, hook_receiver: Receiver
) -> Iterator[Sandbox]:
    """The shared sandbox, with git's smart HTTP and every webhook sent to a receiver."""
    modules = tuple(RESOURCE_MODULES)
    if git_http not in modules:
        modules += (git_http,)
    sandbox = Sandbox(
        tmp_path_factory.mktemp("pulls-sandbox"), clock=ManualClock(), strict=True, modules=modules
    )
    sandbox.set_webhook(hook_receiver.url, SECRET)
    server = ServerThread(sandbox)
    server.start()
    yield sandbox
    server.stop()


@pytest.fixture(autouse=True)
def delivered_payloads_are_valid(
    sandbox_session: Sandbox, schemas: WebhookSchemas
) -> Iterator[None]:
    """Every payload delivered during the test validates against GitHub's schema."""
    sandbox_session.wait_for_deliveries(DRAIN_TIMEOUT)
    before = {d.id for d in sandbox_session.webhook_deliveries()}
    yield
    assert sandbox_session.wait_for_deliveries(DRAIN_TIMEOUT), "webhook deliveries still queued"
    fresh = [d for d in sandbox_session.webhook_deliveries() if d.id not in before]
    problems = [p for d in fresh for p in schemas.problems(d.event, d.payload)]
    assert not problems, "\n".join(problems[:40])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver of the test's own (point an App at it with ``set_app_webhook``)."""
    own = Receiver()
    own.start()
    yield own
    own.stop()


@pytest.fixture
def git(tmp_path: Path) -> GitCli:
    home = tmp_path / "home"
    home.mkdir()
    return GitCli(home)


Cloner = Callable[[World, str], Path]


@pytest.fixture
def clone(sandbox: Sandbox, git: GitCli, tmp_path: Path) -> Cloner:
    """``clone(world, token)``: a checkout of the world's repository."""

    def make(world: World, token: str) -> Path:
        target = tmp_path / f"checkout-{world.repo.name}"
        git.ok("clone", "-q", clone_url(sandbox, world), str(target), token=token)
        return target

    return make
