"""The sweep end to end: the App's delivery log on the sandbox, TechLead's store and server.

A delivery the bot failed to take (it was down) is redelivered by the sweep and stored;
a second sweep does nothing. A delivery TechLead stored although GitHub logged a failure
is left alone.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot import cli
from bot.deliveries import PeriodicSweep, sweep
from bot.errors import GitHubUnavailable, GitHubValidationError
from bot.github import GitHubClient
from bot.intake import sign
from bot.ports import HookDelivery
from bot.sandbox import Sandbox
from bot.sandbox.webhooks import Delivery
from bot.store import Store
from tests.conftest import World
from tests.deliveries.conftest import TECHLEAD_SECRET, TechLead, dead_url, hooks_to

pytestmark = pytest.mark.sandbox

DAY = 24 * 3600.0
NOW = 1_800_000_000.0


# --- the adapter over stateful fakes ---------------------------------------------------------


@dataclass
class FakeLog:
    """The App's delivery log: a redelivery adds an attempt that gets ``answer``."""

    attempts: list[HookDelivery] = field(default_factory=list)
    answer: int = 200
    refused: set[int] = field(default_factory=set)

    def add(self, guid: str, status: int) -> int:
        when = datetime.fromtimestamp(NOW - 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        delivery_id = len(self.attempts) + 1
        self.attempts.append(
            HookDelivery(delivery_id, guid, "issues", "opened", status, False, when)
        )
        return delivery_id

    def hook_deliveries_since(self, since: float) -> list[HookDelivery]:
        return list(reversed(self.attempts))

    def redeliver(self, delivery_id: int) -> None:
        if delivery_id in self.refused:
            raise GitHubValidationError("POST /app/hook/deliveries/{delivery_id}/attempts: 422")
        original = next(a for a in self.attempts if a.id == delivery_id)
        self.add(original.guid, self.answer)


@dataclass
class FakeStore:
    guids: set[str] = field(default_factory=set)

    def get_delivery(self, delivery_id: str) -> object | None:
        return delivery_id if delivery_id in self.guids else None


@dataclass
class FixedClock:
    t: float = NOW

    def now(self) -> float:
        return self.t


def test_refused_redeliveries_are_reported_and_the_rest_go_on() -> None:
    log = FakeLog()
    first = log.add("a", 500)
    second = log.add("b", 0)
    log.refused.add(first)

    report = sweep(log, FakeStore(), FixedClock(), DAY)

    assert report.redelivered == (second,)
    assert len(report.errors) == 1 and report.errors[0].startswith(f"{first}: ")
    assert report.failed == ("b", "a")


def test_a_second_sweep_finds_nothing_once_redeliveries_succeeded() -> None:
    log = FakeLog()
    log.add("a", 500)
    log.add("b", 500)
    store = FakeStore({"b"})

    first = sweep(log, store, FixedClock(), DAY)
    second = sweep(log, store, FixedClock(), DAY)

    assert (first.redelivered, first.known) == ((1,), ("b",))
    assert (second.redelivered, second.failed) == ((), ("b",))


# --- the port against the sandbox's delivery log ---------------------------------------------


def miss_a_delivery(sandbox: Sandbox, world: World, title: str) -> Delivery:
    """Open an issue while TechLead is down: the ``issues`` delivery the App's log marks failed."""
    hooks_to(sandbox, world, dead_url())
    world.user_gh.get_repo(world.repo.full_name).create_issue(title)
    assert sandbox.wait_for_deliveries()
    [missed] = [d for d in sandbox.webhook_deliveries(world.app.id) if d.event == "issues"]
    return missed


def attempts_of(sandbox: Sandbox, world: World, guid: str) -> list[tuple[bool, int]]:
    """(redelivery, status code) of each attempt at delivering ``guid``, oldest first."""
    return [
        (d.redelivery, d.status_code)
        for d in sandbox.webhook_deliveries(world.app.id)
        if d.guid == guid
    ]


def test_the_port_sweeps_the_sandbox_log(
    sandbox: Sandbox, world: World, client: GitHubClient, store: Store
) -> None:
    missed = miss_a_delivery(sandbox, world, "Missed while down")
    assert missed.status_code == 0

    report = sweep(client.port(), store, sandbox.clock, DAY)
    assert sandbox.wait_for_deliveries()

    assert report.failed == (missed.guid,)
    assert report.redelivered == (missed.id,)
    assert attempts_of(sandbox, world, missed.guid) == [(False, 0), (True, 0)]


def test_the_port_follows_the_log_past_one_page(
    sandbox: Sandbox, world: World, client: GitHubClient, store: Store
) -> None:
    hooks_to(sandbox, world, dead_url())
    headers = {"Authorization": f"token {world.user.token}"}
    issues = f"{world.api_url}/repos/{world.repo.full_name}/issues"
    with httpx.Client(headers=headers, timeout=30) as http:
        number = http.post(issues, json={"title": "Busy"}).json()["number"]
        for index in range(104):
            http.post(f"{issues}/{number}/comments", json={"body": f"c{index}"})
    assert sandbox.wait_for_deliveries(60)

    listed = client.port().hook_deliveries_since(sandbox.clock.now() - DAY)

    failed = [d for d in listed if d.event != "installation"]
    assert len(failed) == 105
    assert len({d.id for d in failed}) == 105


# --- TechLead's own server: down, then back -------------------------------------------------


def test_a_delivery_missed_while_down_is_recovered_once(
    sandbox: Sandbox, world: World, client: GitHubClient, techlead: TechLead
) -> None:
    missed = miss_a_delivery(sandbox, world, "While TechLead was down")
    assert techlead.store.get_delivery(missed.guid) is None
    hooks_to(sandbox, world, techlead.url)

    first = sweep(client.port(), techlead.store, sandbox.clock, DAY)
    assert sandbox.wait_for_deliveries()
    second = sweep(client.port(), techlead.store, sandbox.clock, DAY)

    assert first.redelivered == (missed.id,)
    stored = techlead.store.get_delivery(missed.guid)
    assert stored is not None and stored.event == "issues"
    assert stored.payload()["issue"]["title"] == "While TechLead was down"
    assert (second.redelivered, second.failed) == ((), ())
    assert attempts_of(sandbox, world, missed.guid) == [(False, 0), (True, 202)]


def test_a_delivery_techlead_stored_is_not_asked_for_again(
    sandbox: Sandbox, world: World, client: GitHubClient, techlead: TechLead
) -> None:
    missed = miss_a_delivery(sandbox, world, "Stored, but GitHub saw a failure")
    # The same bytes reach TechLead another way (GitHub logged a failure nonetheless).
    headers = {k: v for k, v in missed.headers.items() if not k.startswith("X-Hub-")}
    headers["X-Hub-Signature-256"] = sign(missed.body, TECHLEAD_SECRET)
    assert httpx.post(techlead.url, content=missed.body, headers=headers).status_code == 202

    report = sweep(client.port(), techlead.store, sandbox.clock, DAY)

    assert (report.failed, report.known, report.redelivered) == ((missed.guid,), (missed.guid,), ())


# --- the command line -----------------------------------------------------------------------


def _env(world: World, data_dir: Path, *, app: bool = True) -> dict[str, str]:
    env = {"TECHLEAD_GITHUB_API_URL": world.api_url, "TECHLEAD_DATA_DIR": str(data_dir)}
    if app:
        env |= {"TECHLEAD_APP_ID": str(world.app.id), "TECHLEAD_PRIVATE_KEY": world.private_key}
    else:
        env["TECHLEAD_GITHUB_TOKEN"] = world.user.token
    return env


def test_the_command_redelivers_and_reports(
    sandbox: Sandbox, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    miss_a_delivery(sandbox, world, "For the command")

    code = cli.main(["deliveries", "sweep", "--since", "2"], _env(world, tmp_path))
    assert sandbox.wait_for_deliveries()
    text = capsys.readouterr().out
    json_code = cli.main(["deliveries", "sweep", "--json"], _env(world, tmp_path))

    assert code == 0
    assert (
        "in the last 2 h; 1 failed, 0 of them already stored; asked GitHub to redeliver 1" in text
    )
    report = json.loads(capsys.readouterr().out)
    assert json_code == 0
    assert len(report["redelivered"]) == 1  # still failing: the bot is still down


def test_the_command_needs_app_credentials(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["deliveries", "sweep"], _env(world, tmp_path, app=False))

    assert code == 2
    assert "TECHLEAD_APP_ID" in capsys.readouterr().err


@pytest.mark.parametrize("since", ["0", "-3", "soon"], ids=["zero", "negative", "not-a-number"])
def test_the_command_rejects_a_bad_window(
    world: World, tmp_path: Path, since: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["deliveries", "sweep", "--since", since], _env(world, tmp_path))

    assert stopped.value.code == 2
    assert "--since" in capsys.readouterr().err


# --- the periodic sweep in serve -------------------------------------------------------------


@dataclass
class LoggedLines:
    lines: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    def info(self, event: str, **fields: object) -> None:
        self.lines.append((event, fields))

    def warning(self, event: str, **fields: object) -> None:
        self.lines.append((event, fields))


@dataclass
class UnavailableLog(FakeLog):
    down: bool = True

    def hook_deliveries_since(self, since: float) -> list[HookDelivery]:
        if self.down:
            raise GitHubUnavailable("GET /app/hook/deliveries: 503")
        return super().hook_deliveries_since(since)


def test_the_periodic_sweep_survives_github_being_down_and_recovers_next_time() -> None:
    log = UnavailableLog()
    log.add("a", 502)
    lines = LoggedLines()
    periodic = PeriodicSweep(log, FakeStore(), FixedClock(), 60.0, lines)

    assert periodic.run_once() is None
    log.down = False
    report = periodic.run_once()

    assert report is not None and report.redelivered == (1,)
    assert [event for event, _ in lines.lines] == ["delivery_sweep_failed", "delivery_sweep"]


def test_the_periodic_sweep_runs_at_start_and_stops_promptly() -> None:
    log = FakeLog()
    log.add("a", 500)
    lines = LoggedLines()
    periodic = PeriodicSweep(log, FakeStore(), FixedClock(), 3600.0, lines)

    periodic.start()
    for _ in range(200):
        if lines.lines:
            break
        threading.Event().wait(0.01)
    periodic.stop(timeout=2.0)

    assert [event for event, _ in lines.lines] == ["delivery_sweep"]
    assert lines.lines[0][1]["redelivered"] == [1]


def test_serve_refuses_a_sweep_without_an_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"TECHLEAD_WEBHOOK_SECRET": "s", "TECHLEAD_DATA_DIR": str(tmp_path / "data")}
    assert cli.main(["serve", "--sweep-every", "5"], env) == 2
    assert "TECHLEAD_APP_ID" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before anything started
