"""Declared routing: matching, bot filtering, composition, stable scheduling."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.app import create_app
from bot.context import JobContext
from bot.jobs import Job, JobRegistry, JobSpec, JobState
from bot.router import Event, Router
from bot.settings import Settings
from tests.intake.conftest import (
    FIXTURES,
    SECRET,
    ServicesFactory,
    TestClient,
    drain,
    signed_headers,
)


def event(name: str = "issues", action: str | None = "labeled", **sender: Any) -> Event:
    payload: dict[str, Any] = {
        "action": action,
        "sender": sender or {"login": "octocat", "type": "User"},
    }
    return Event.from_payload(name, "d-1", payload)


def names(router: Router, evt: Event, bot_login: str | None = None) -> list[str]:
    return [route.name for route in router.matching(evt, bot_login)]


def build_router() -> Router:
    router = Router()

    @router.register("issues", action="labeled")
    def labeled(evt: Event, ctx: JobContext) -> list[JobSpec]:
        return []

    @router.register("issues")
    def any_issue(evt: Event, ctx: JobContext) -> list[JobSpec]:
        return []

    @router.register("issues", action="labeled", allow_bots=True)
    def gate(evt: Event, ctx: JobContext) -> list[JobSpec]:
        return []

    return router


@pytest.mark.parametrize(
    ("evt", "bot_login", "expected"),
    [
        (
            event(),
            None,
            [
                "build_router.<locals>.labeled",
                "build_router.<locals>.any_issue",
                "build_router.<locals>.gate",
            ],
        ),
        (event(action="opened"), None, ["build_router.<locals>.any_issue"]),
        (event("pull_request"), None, []),
        (event(login="techlead[bot]", type="Bot"), None, ["build_router.<locals>.gate"]),
        (event(login="renovate[bot]", type="User"), None, ["build_router.<locals>.gate"]),
        (event(login="TechLead", type="User"), "techlead", ["build_router.<locals>.gate"]),
    ],
    ids=["labeled", "other-action", "other-event", "bot-type", "bot-suffix", "own-login"],
)
def test_matching(evt: Event, bot_login: str | None, expected: list[str]) -> None:
    assert names(build_router(), evt, bot_login) == expected


def test_compose_keeps_every_route_in_order() -> None:
    first, second = Router(), Router()
    first.register("issues")(lambda evt, ctx: [])
    second.register("push")(lambda evt, ctx: [])
    composed = Router.compose(first, second)
    assert [route.event for route in composed.routes] == ["issues", "push"]


def test_events_read_their_facts_leniently() -> None:
    bare = Event.from_payload("ping", "d-2", {})
    assert (bare.action, bare.installation_id, bare.repo, bare.sender_login) == (None,) * 4
    assert not bare.from_bot(None)
    full = Event.from_payload(
        "issues",
        "d-3",
        json.loads((FIXTURES / "issues.reopened.json").read_text()),
    )
    assert full.installation_id is not None
    assert full.repo and "/" in full.repo


def client_for(services) -> TestClient:
    return TestClient(create_app(services.settings, services, start_worker=False))


def deliver(
    client: TestClient, payload: dict[str, Any], delivery_id: str, event_name: str = "issues"
) -> None:
    body = json.dumps(payload).encode()
    assert (
        client.post(
            "/webhook", content=body, headers=signed_headers(body, event_name, delivery_id)
        ).status_code
        == 202
    )


def test_bot_comments_never_trigger_handlers_but_gates_see_bot_prs(
    make_services: ServicesFactory, tmp_path
) -> None:
    router = Router()
    seen: list[str] = []

    @router.register("issue_comment", action="created")
    def command(evt: Event, ctx: JobContext) -> list[JobSpec]:
        seen.append(f"command:{evt.sender_login}")
        return []

    @router.register("pull_request", action="opened", allow_bots=True)
    def gates(evt: Event, ctx: JobContext) -> list[JobSpec]:
        seen.append(f"gates:{evt.sender_login}")
        return []

    settings = Settings.from_env(
        {
            "TECHLEAD_WEBHOOK_SECRET": SECRET,
            "TECHLEAD_DATA_DIR": str(tmp_path / "d"),
            "TECHLEAD_BOT_LOGIN": "techlead-app",
        }
    )
    services = make_services(router=router, settings_=settings)
    client = client_for(services)
    bot = {"login": "techlead-app", "type": "User"}
    deliver(client, {"action": "created", "sender": bot}, "c-bot", "issue_comment")
    deliver(
        client,
        {"action": "created", "sender": {"login": "x[bot]", "type": "Bot"}},
        "c-other-bot",
        "issue_comment",
    )
    deliver(
        client,
        {"action": "created", "sender": {"login": "alice", "type": "User"}},
        "c-human",
        "issue_comment",
    )
    deliver(client, {"action": "opened", "sender": bot}, "pr-bot", "pull_request")
    drain(services)
    assert seen == ["command:alice", "gates:techlead-app"]
    assert services.store.get_delivery("c-bot").outcome == "ignored (bot)"  # type: ignore[union-attr]
    assert services.store.get_delivery("c-human").outcome == "nothing to do"  # type: ignore[union-attr]


def test_a_failing_handler_does_not_stop_the_others_nor_double_their_jobs(
    make_services: ServicesFactory, clock
) -> None:
    router = Router()
    calls: list[str] = []

    @router.register("issues")
    def broken(evt: Event, ctx: JobContext) -> list[JobSpec]:
        calls.append("broken")
        if calls.count("broken") == 1:
            raise RuntimeError("config unreadable")
        return [JobSpec("work", {"by": "broken"})]

    @router.register("issues")
    def fine(evt: Event, ctx: JobContext) -> list[JobSpec]:
        calls.append("fine")
        return [JobSpec("work", {"by": "fine"})]

    jobs = JobRegistry()
    jobs.register("work")(lambda job, ctx: None)
    services = make_services(router=router, jobs=jobs)
    deliver(client_for(services), {"action": "opened"}, "d-7")
    drain(services)
    clock.advance(3600)
    drain(services)
    work = [job for job in services.queue.list() if job.kind == "work"]
    assert sorted(job.payload["by"] for job in work) == ["broken", "fine"]
    assert all(job.delivery_id == "d-7" and job.state is JobState.DONE for job in work)
    route = next(job for job in services.queue.list() if job.kind == "delivery.route")
    assert (route.state, route.attempts) == (JobState.DONE, 2)


def test_scheduled_jobs_carry_the_delivery_and_trace(make_services: ServicesFactory) -> None:
    router = Router()
    router.register("issues")(lambda evt, ctx: [JobSpec("work")])
    jobs = JobRegistry()
    traces: list[tuple[str | None, str]] = []

    @jobs.register("work")
    def work(job: Job, ctx: JobContext) -> None:
        traces.append((ctx.delivery_id, ctx.trace_id))

    services = make_services(router=router, jobs=jobs)
    client = client_for(services)
    body = json.dumps({"action": "opened"}).encode()
    answer = client.post(
        "/webhook", content=body, headers=signed_headers(body, "issues", "d-5")
    ).json()
    drain(services)
    assert traces == [("d-5", answer["trace_id"])]
