"""The port as composed for ``serve`` reports every request and the rate limit to /metrics."""

from __future__ import annotations

import pytest

from bot import features
from bot.metrics import Metrics
from bot.sandbox import Sandbox
from tests.conftest import World
from tests.github.conftest import app_settings, token_settings

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize(
    ("settings_for", "identity"),
    [(token_settings, "token"), (app_settings, "installation:{id}")],
    ids=["token-mode", "app-mode"],
)
def test_requests_and_rate_limit_reach_the_metrics(
    world: World, sandbox: Sandbox, settings_for: object, identity: str
) -> None:
    metrics = Metrics()
    settings = settings_for(world)  # type: ignore[operator]
    port = features.github_factory(settings, metrics)(world.installation.id)
    repo = f"{world.repo.owner}/{world.repo.name}"
    sandbox.set_rate_limit(
        f"installation:{world.installation.id}", 5000, remaining=4321, reset_in=3600
    )
    sandbox.set_rate_limit(f"user:{world.user.id}", 5000, remaining=4321, reset_in=3600)

    port.default_branch(repo)

    text = metrics.render().decode()
    assert 'techlead_github_requests_total{route="GET /repos/{owner}/{repo}",status="200"} 1.0' in (
        text
    )
    label = identity.format(id=world.installation.id)
    assert f'techlead_github_rate_limit_remaining{{installation="{label}"}} 4320.0' in text
