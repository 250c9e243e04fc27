"""Fixtures for the GitHub port: TechLead's client on the sandbox, in App or token mode."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.github import GitHubClient
from bot.ports import GitHubPort
from bot.sandbox import Sandbox
from bot.settings import Settings
from tests.conftest import World


@dataclass
class Sleeper:
    """Records every wait instead of waiting; ``clock`` (if any) moves forward instead."""

    clock: object | None = None
    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        advance = getattr(self.clock, "advance", None)
        if advance is not None:
            advance(seconds)


@dataclass
class Rig:
    """The world, a TechLead client on it, and the port for its repository."""

    world: World
    client: GitHubClient
    sleeper: Sleeper

    @property
    def port(self) -> GitHubPort:
        # Typed as the Protocol so mypy checks the implementation conforms to it.
        return self.client.port()

    @property
    def repo(self) -> str:
        return self.world.repo.full_name

    @property
    def sandbox(self) -> Sandbox:
        return self.world.sandbox

    def issue(self, title: str = "Add a health endpoint") -> int:
        created = self.world.user_gh.get_repo(self.repo).create_issue(title, body="please")
        return int(created.number)


def app_settings(world: World, *, write_interval: float = 0.0) -> Settings:
    return Settings(
        app_id=world.app.id,
        private_key=world.private_key,
        api_url=world.api_url,
        write_interval=write_interval,
    )


def token_settings(world: World, *, write_interval: float = 0.0) -> Settings:
    return Settings(
        github_token=world.user.token, api_url=world.api_url, write_interval=write_interval
    )


def make_rig(world: World, settings: Settings, *, clock: object | None = None) -> Rig:
    sleeper = Sleeper()
    client = GitHubClient(settings, clock=clock or world.sandbox.clock, sleep=sleeper)  # type: ignore[arg-type]
    return Rig(world, client, sleeper)


@pytest.fixture
def app_rig(world: World) -> Rig:
    return make_rig(world, app_settings(world))


@pytest.fixture
def token_rig(world: World) -> Rig:
    return make_rig(world, token_settings(world))
