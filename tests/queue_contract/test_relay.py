"""TECHLEAD_QUEUE_URL=redis://: a delivery is acknowledged once SQLite and Redis both hold it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.app import Services, build_services, create_app
from bot.errors import SettingsError
from bot.intake import Delivery, envelope
from bot.jobs import JobRegistry, JobSpec, JobState
from bot.router import Event, Router
from bot.settings import Settings
from tests.intake.conftest import (
    SECRET,
    FakeClock,
    FixedRandom,
    TestClient,
    payload_bytes,
    signed_headers,
)
from tests.queue_contract.redis_server import redis_server

PAYLOAD = {"action": "opened", "installation": {"id": 42}, "issue": {"number": 1}}


@pytest.fixture
def flushed(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


def _settings(tmp_path: Path, queue_url: str) -> Settings:
    return Settings.from_env(
        {
            "TECHLEAD_WEBHOOK_SECRET": SECRET,
            "TECHLEAD_DATA_DIR": str(tmp_path / "data"),
            "TECHLEAD_QUEUE_URL": queue_url,
        }
    )


@pytest.fixture
def routed() -> list[Event]:
    return []


def _build(settings: Settings, clock: FakeClock, routed: list[Event]) -> Services:
    router = Router()

    @router.register("issues", action="opened")
    def record(event: Event, ctx: object) -> list[JobSpec]:
        routed.append(event)
        return []

    return build_services(
        settings, clock=clock, router=router, jobs=JobRegistry(), rand=FixedRandom()
    )


@pytest.fixture
def services(
    tmp_path: Path, flushed: str, clock: FakeClock, routed: list[Event]
) -> Iterator[Services]:
    built = _build(_settings(tmp_path, flushed), clock, routed)
    yield built
    built.close()


def _post(services: Services, delivery_id: str) -> int:
    client = TestClient(create_app(services.settings, services, start_worker=False))
    body = payload_bytes(PAYLOAD)
    response = client.post(
        "/webhook", content=body, headers=signed_headers(body, "issues", delivery_id)
    )
    return response.status_code


def test_an_acknowledged_delivery_is_in_sqlite_and_its_routing_job_in_redis(
    services: Services, routed: list[Event]
) -> None:
    assert _post(services, "d-1") == 202
    assert _post(services, "d-1") == 202  # a redelivery: acknowledged, scheduled once
    assert services.store.get_delivery("d-1") is not None
    assert services.store.count("jobs") == 0, "the outbox row moved to Redis"
    queued = services.queue.list()
    assert [(job.kind, job.installation_id) for job in queued] == [("delivery.route", 42)]
    assert services.worker.run_once() is not None
    assert [event.delivery_id for event in routed] == ["d-1"]
    assert services.queue.list()[0].state is JobState.DONE


def test_a_crash_before_the_relay_loses_nothing(
    tmp_path: Path, flushed: str, clock: FakeClock, routed: list[Event]
) -> None:
    settings = _settings(tmp_path, flushed)
    first = _build(settings, clock, routed)
    body = payload_bytes(PAYLOAD)
    delivery = Delivery("d-2", "issues", body, PAYLOAD, envelope(PAYLOAD))
    route = JobSpec(
        "delivery.route",
        {"delivery_id": "d-2"},
        dedupe_key="delivery.route:d-2",
        installation_id=42,
        delivery_id="d-2",
        trace_id="t-2",
    )
    # Committed to SQLite; the process dies before the relay runs.
    first.store.accept_delivery(delivery, route, clock.now())
    first.close()
    for _ in range(2):  # two start-ups: the sweep is idempotent
        again = _build(settings, clock, routed)
        assert again.store.count("jobs") == 0
        again.close()
    again = _build(settings, clock, routed)
    assert [job.delivery_id for job in again.queue.list()] == ["d-2"]
    assert again.worker.run_once() is not None
    assert [event.delivery_id for event in routed] == ["d-2"]
    again.close()


def test_without_redis_a_delivery_is_refused_and_waits_in_the_outbox(
    tmp_path: Path, clock: FakeClock, routed: list[Event], flushed: str
) -> None:
    with redis_server(tmp_path) as doomed:
        services = _build(_settings(tmp_path, doomed), clock, routed)
    assert _post(services, "d-3") == 503, "Redis is down: GitHub must redeliver"
    assert services.store.get_delivery("d-3") is not None
    assert services.store.count("jobs") == 1, "the routing job waits for the next sweep"
    services.close()
    revived = _build(_settings(tmp_path, flushed), clock, routed)
    assert [job.delivery_id for job in revived.queue.list()] == ["d-3"]
    assert revived.store.count("jobs") == 0
    revived.close()


@pytest.mark.parametrize(
    "url",
    ["postgres://user:hunter2@db/techlead", "127.0.0.1:6379"],
    ids=["another-database", "no-scheme"],
)
def test_a_queue_url_that_is_not_redis_is_refused_by_name(url: str) -> None:
    with pytest.raises(SettingsError, match="TECHLEAD_QUEUE_URL") as raised:
        Settings.from_env({"TECHLEAD_QUEUE_URL": url})
    assert "hunter2" not in str(raised.value)
