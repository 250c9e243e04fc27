"""The queue contract runs against every backend: SQLite, Redis on fakeredis, a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
import redis

from bot.queue import JobQueue, SqliteJobQueue
from bot.redis_queue import RedisJobQueue
from bot.store import Store
from tests.intake.conftest import FakeClock
from tests.queue_contract import redis_server

BACKENDS = ["sqlite", "fakeredis", "redis-server"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server for the session; each test gets its own key prefix."""
    if not redis_server.available():
        pytest.skip(redis_server.MISSING)
    with redis_server.redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def _prefix() -> str:
    return "{t" + uuid.uuid4().hex[:12] + "}:"


@pytest.fixture(params=BACKENDS)
def queue(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[JobQueue]:
    if request.param == "sqlite":
        store = Store.open(tmp_path / "data")
        yield SqliteJobQueue(store, clock)
        store.close()
        return
    if request.param == "fakeredis":
        client: redis.Redis = fakeredis.FakeRedis()
    else:
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisJobQueue(client, clock, prefix=_prefix())
    client.close()


@pytest.fixture(params=BACKENDS[1:])
def redis_queue(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[RedisJobQueue]:
    """Redis only: behaviour the SQLite queue does not promise (fair turns)."""
    if request.param == "fakeredis":
        client: redis.Redis = fakeredis.FakeRedis()
    else:
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisJobQueue(client, clock, prefix=_prefix())
    client.close()
