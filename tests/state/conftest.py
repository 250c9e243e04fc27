"""The state contract runs against every backend: SQLite, Redis on fakeredis, a real Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import fakeredis
import pytest
import redis

from bot.context import SystemClock
from bot.features.execution.store import RunStore
from bot.owners import lease_owner_id
from bot.plans import PlanStore
from bot.redis_state import RedisHeads, RedisPlanStore, RedisRunStore
from bot.state import Plans, Runs
from bot.store import Store
from tests.queue_contract import redis_server

BACKENDS = ["sqlite", "fakeredis", "redis-server"]
T0 = 1_800_000_000.0


class Clock:
    """A clock the fake sleep moves: lease waits take no real time."""

    def __init__(self) -> None:
        self.t = T0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Backend:
    """Opens stores as separate machines would: each its own connection, one shared state."""

    name: str
    clock: Clock
    open_plans: Callable[[Callable[[], str], Clock | SystemClock], Plans]
    open_runs: Callable[[], Runs]
    heads: Callable[[], RedisHeads] | None = None

    def plans(self, new_owner: Callable[[], str] = lease_owner_id) -> Plans:
        return self.open_plans(new_owner, self.clock)

    def plans_in_real_time(self) -> Plans:
        """A store on the system clock, whose lease waits really sleep (threads)."""
        return self.open_plans(lease_owner_id, SystemClock())

    def runs(self) -> Runs:
        return self.open_runs()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server for the session; each test gets its own key prefix."""
    if not redis_server.available():
        pytest.skip(redis_server.MISSING)
    with redis_server.redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def _sqlite(tmp_path: Path, clock: Clock, opened: list[Store]) -> Backend:
    def connection() -> Store:
        store = Store.open(tmp_path / "data")
        opened.append(store)
        return store

    def plans(new_owner: Callable[[], str], at: Clock | SystemClock) -> Plans:
        return PlanStore(connection(), clock=at, sleep=_sleep(at), new_owner=new_owner)

    return Backend("sqlite", clock, plans, lambda: RunStore(connection(), clock))


def _redis(name: str, client: redis.Redis, clock: Clock) -> Backend:
    prefix = "{s" + uuid.uuid4().hex[:12] + "}:"

    def plans(new_owner: Callable[[], str], at: Clock | SystemClock) -> Plans:
        return RedisPlanStore(
            client, clock=at, sleep=_sleep(at), new_owner=new_owner, prefix=prefix
        )

    return Backend(
        name,
        clock,
        plans,
        lambda: RedisRunStore(client, clock, prefix),
        lambda: RedisHeads(client, prefix),
    )


def _sleep(clock: Clock | SystemClock) -> Callable[[float], None]:
    return clock.sleep if isinstance(clock, Clock) else time.sleep


def _client(request: pytest.FixtureRequest) -> redis.Redis:
    if request.param == "fakeredis":
        return fakeredis.FakeRedis()
    return redis.Redis.from_url(request.getfixturevalue("redis_url"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Backend]:
    if request.param == "sqlite":
        opened: list[Store] = []
        yield _sqlite(tmp_path, clock, opened)
        for store in opened:
            store.close()
        return
    client = _client(request)
    yield _redis(request.param, client, clock)
    client.close()


@pytest.fixture(params=BACKENDS[1:])
def redis_backend(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Backend]:
    """Redis only: the gate heads, which SQLite keeps per process."""
    client = _client(request)
    yield _redis(request.param, client, clock)
    client.close()
