"""Where plans, execution runs and gate heads live: SQLite in the data dir, or Redis with the queue.

With ``TECHLEAD_QUEUE_URL=redis://…`` the state that workers on several machines must
share moves to the same Redis as the job queue (:mod:`bot.redis_state`): the plan rows
and their per-issue lease, the execution runs, and the newest head of each pull request
the gates saw. Otherwise it stays in the data dir's SQLite database (:mod:`bot.plans`,
:mod:`bot.features.execution.store`) and gate heads are known per process only.

Callers depend on the :class:`Plans` and :class:`Runs` protocols, never on a backend.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import redis

from bot.context import Clock
from bot.errors import PlanStoreConflict
from bot.plans import DEFAULT_LEASE_SECONDS, DEFAULT_WAIT_SECONDS, PlanRecord, PlanStore
from bot.settings import Settings
from bot.store import Store

if TYPE_CHECKING:
    from bot.features.execution.model import Run
    from bot.gate_runs import SharedHeads

# The Redis stores and the run store are imported where they are opened: the execution
# feature's package imports the planning flows, which import this module.


class Plans(Protocol):
    """The plan rows (optimistic ``revision``) and the per-issue lease; see :mod:`bot.plans`."""

    def load(self, repo: str, issue: int) -> PlanRecord: ...

    def records(self) -> list[PlanRecord]: ...

    def save(self, record: PlanRecord) -> PlanRecord: ...

    def lease(
        self,
        repo: str,
        issue: int,
        *,
        seconds: float = DEFAULT_LEASE_SECONDS,
        wait: float = DEFAULT_WAIT_SECONDS,
    ) -> AbstractContextManager[None]: ...


class Runs(Protocol):
    """The execution runs (optimistic ``revision``); see :mod:`bot.features.execution.store`."""

    def load(self, repo: str, issue: int) -> Run: ...

    def save(self, run: Run) -> Run: ...

    def runs(self) -> list[Run]: ...

    def find_branch(self, repo: str, branch: str) -> int | None: ...

    def installation_load(
        self, installation: int | None, repo: str, issue: int
    ) -> tuple[int, int]: ...


_clients_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def client_for(url: str) -> redis.Redis:
    """One client (a connection pool, safe across threads and forks) per URL and process."""
    with _clients_lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url)
        return _clients[url]


def close_clients() -> None:
    """Close the process's state clients (their connections); the next use opens anew."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


@contextmanager
def open_plan_store(settings: Settings, *, clock: Clock | None = None) -> Iterator[Plans]:
    """The plan store ``settings`` select: Redis beside the queue, else the data dir's SQLite."""
    if settings.queue_url is not None:
        from bot.redis_state import RedisPlanStore

        yield RedisPlanStore(client_for(settings.queue_url), clock=clock)
        return
    with PlanStore.open(settings.data_dir, clock=clock) as plans:
        yield plans


@contextmanager
def open_run_store(settings: Settings, clock: Clock | None = None) -> Iterator[Runs]:
    """The run store ``settings`` select: Redis beside the queue, else the data dir's SQLite."""
    from bot.features.execution.store import RunStore
    from bot.redis_state import RedisRunStore

    if settings.queue_url is not None:
        yield RedisRunStore(client_for(settings.queue_url), clock)
        return
    with RunStore.open(settings.data_dir, clock) as runs:
        yield runs


def plans_beside(store: Store, settings: Settings | None = None) -> Plans:
    """The plan store on an open SQLite ``store``, or on Redis when ``settings`` say so
    (readers that hold the store for long: /metrics, the dashboard)."""
    if settings is not None and settings.queue_url is not None:
        from bot.redis_state import RedisPlanStore

        return RedisPlanStore(client_for(settings.queue_url))
    return PlanStore(store)


def runs_beside(store: Store, settings: Settings | None = None) -> Runs:
    """The run store on an open SQLite ``store`` (its table created), or on Redis."""
    from bot.features.execution.store import RunStore
    from bot.redis_state import RedisRunStore

    if settings is not None and settings.queue_url is not None:
        return RedisRunStore(client_for(settings.queue_url))
    return RunStore(store)


def shared_heads(settings: Settings) -> SharedHeads | None:
    """Gate heads shared by every machine (Redis), or None: the process's registry is all."""
    if settings.queue_url is None:
        return None
    from bot.redis_state import RedisHeads

    return RedisHeads(client_for(settings.queue_url))


def copy_state(plans: Plans, runs: Runs, to_plans: Plans, to_runs: Runs) -> tuple[int, int]:
    """Copy every plan and run to other stores; (plans, runs) copied.

    A row the target already holds is left as it is, so copying twice (an interrupted
    migration run again) changes nothing.
    """
    copied_plans = copied_runs = 0
    for record in plans.records():
        try:
            to_plans.save(replace(record, revision=0))
            copied_plans += 1
        except PlanStoreConflict:
            pass
    for run in runs.runs():
        try:
            to_runs.save(replace(run, revision=0))
            copied_runs += 1
        except PlanStoreConflict:
            pass
    return copied_plans, copied_runs
