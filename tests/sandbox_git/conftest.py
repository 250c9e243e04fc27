"""git over HTTP against the sandbox: the shared sandbox with git's smart HTTP, a git CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox import ManualClock, Sandbox, git_http
from bot.sandbox.app import RESOURCE_MODULES
from bot.sandbox.server import ServerThread
from tests.sandbox_git.gitcli import GitCli


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The shared sandbox, made sure to speak git over HTTP."""
    modules = tuple(RESOURCE_MODULES)
    if git_http not in modules:
        modules += (git_http,)
    sandbox = Sandbox(
        tmp_path_factory.mktemp("git-sandbox"), clock=ManualClock(), strict=True, modules=modules
    )
    server = ServerThread(sandbox)
    server.start()
    yield sandbox
    server.stop()


@pytest.fixture
def git_cli(tmp_path: Path) -> GitCli:
    home = tmp_path / "home"
    home.mkdir()
    return GitCli(home)
