"""GitHub budgets reach the dashboard: the composed port records them in the store, sparingly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest

from bot import features
from bot.app import build_services
from bot.ports import GitHubPort
from bot.rate_limits import Budget, read_budgets, worth_writing
from bot.sandbox import Sandbox
from tests.conftest import World
from tests.github.conftest import app_settings, token_settings

LAST = Budget("installation:1", 4000, 5000, 1000.0, 100.0)


@pytest.mark.parametrize(
    ("seen", "written"),
    [
        (replace(LAST, remaining=3999, seen_at=101.0), False),
        (replace(LAST, remaining=3990, seen_at=105.0), True),
        (replace(LAST, remaining=4999, reset_at=4600.0, seen_at=101.0), True),
        (replace(LAST, remaining=0, seen_at=100.5), True),
        (replace(LAST, limit=15000, seen_at=101.0), True),
    ],
    ids=["soon-after", "after-the-interval", "new-window", "ran-out", "new-limit"],
)
def test_a_budget_is_written_when_it_matters(seen: Budget, written: bool) -> None:
    assert worth_writing(LAST, seen, interval=5.0) is written
    assert worth_writing(None, seen, interval=5.0), "the first sighting is always written"


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("settings_for", "identity"),
    [(token_settings, "token"), (app_settings, "installation:{id}")],
    ids=["token-mode", "app-mode"],
)
def test_the_port_as_serve_composes_it_records_the_budget_for_the_dashboard(
    world: World, sandbox: Sandbox, settings_for: object, identity: str, tmp_path: Path
) -> None:
    settings = replace(settings_for(world), data_dir=tmp_path)  # type: ignore[operator]
    services = build_services(settings, checkpoints=False)
    try:
        factory = features.github_factory(settings, services.metrics)
        port = cast(GitHubPort, factory(world.installation.id))
        sandbox.set_rate_limit(
            f"installation:{world.installation.id}", 5000, remaining=4321, reset_in=3600
        )
        sandbox.set_rate_limit(f"user:{world.user.id}", 5000, remaining=4321, reset_in=3600)

        port.default_branch(world.repo.full_name)

        budgets = {budget.identity: budget for budget in read_budgets(services.store)}
    finally:
        services.close()
    # In App mode the App's own budget (the installation token request) is there too.
    budget = budgets[identity.format(id=world.installation.id)]
    assert (budget.remaining, budget.limit) == (4320, 5000)
    assert budget.reset_at is not None
    assert budget.reset_at - sandbox.clock.now() == pytest.approx(3600, abs=5)
