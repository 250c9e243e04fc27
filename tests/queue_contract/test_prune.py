"""Retention on every backend: finished jobs and their dedupe keys go, unfinished ones stay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.cli import main
from bot.context import SystemClock
from bot.errors import SettingsError
from bot.intake import Delivery, envelope
from bot.jobs import DAY, JobRegistry, JobSpec, JobState, Retention
from bot.metrics import Metrics
from bot.queue import JobQueue, SqliteJobQueue
from bot.redis_queue import DEFAULT_PREFIX, RedisJobQueue
from bot.settings import Settings
from bot.store import Store
from bot.worker import Worker, WorkerConfig
from tests.intake.conftest import T0, FakeClock

LEASE = 30.0
CliQueue = tuple[JobQueue, FakeClock, dict[str, str]]


def _finish(queue: JobQueue, spec: JobSpec, state: JobState) -> int:
    """Enqueue ``spec`` and take it to ``state`` (done, dead or running)."""
    job = queue.enqueue(spec)
    claimed = queue.claim("w1", LEASE)
    assert claimed is not None and claimed.id == job.id
    if state is JobState.DONE:
        assert queue.complete(job.id, "w1")
    elif state is JobState.DEAD:
        assert queue.fail(job.id, "w1", "boom", None)
    return job.id


def test_prune_deletes_finished_jobs_past_their_cutoff_only(
    queue: JobQueue, clock: FakeClock
) -> None:
    done = _finish(queue, JobSpec("a", dedupe_key="key-done"), JobState.DONE)
    dead = _finish(queue, JobSpec("b", dedupe_key="key-dead"), JobState.DEAD)
    running = _finish(queue, JobSpec("c"), JobState.RUNNING)
    pending = queue.enqueue(JobSpec("d", delay=10 * DAY)).id
    clock.advance(10)
    assert queue.prune(T0 + 5, T0, 100) == 1, "done before the cutoff; dead ones kept longer"
    assert [queue.get(job_id) is None for job_id in (done, dead, running, pending)] == [
        True,
        False,
        False,
        False,
    ]
    assert queue.prune(T0 + 5, T0 + 5, 100) == 1
    assert queue.get(dead) is None
    assert queue.prune(T0 + 5, T0 + 5, 100) == 0
    assert {job.id for job in queue.list()} == {running, pending}


def test_a_pruned_jobs_dedupe_key_schedules_anew(queue: JobQueue, clock: FakeClock) -> None:
    first = _finish(queue, JobSpec("a", dedupe_key="delivery.route:d-1"), JobState.DONE)
    assert queue.enqueue(JobSpec("a", dedupe_key="delivery.route:d-1")).id == first
    clock.advance(1)
    assert queue.prune(T0 + 1, T0 + 1, 10) == 1
    again = queue.enqueue(JobSpec("a", dedupe_key="delivery.route:d-1"))
    assert (again.state, again.attempts, again.created_at) == (JobState.PENDING, 0, T0 + 1)


def test_prune_works_in_bounded_batches(queue: JobQueue, clock: FakeClock) -> None:
    for n in range(5):
        _finish(queue, JobSpec("a", installation_id=n), JobState.DONE)
    clock.advance(1)
    assert [queue.prune(T0 + 1, T0 + 1, 2) for _ in range(4)] == [2, 2, 1, 0]


def test_a_redriven_dead_job_is_out_of_prunings_reach(queue: JobQueue, clock: FakeClock) -> None:
    dead = _finish(queue, JobSpec("a"), JobState.DEAD)
    queue.retry(dead)
    clock.advance(1)
    assert queue.prune(T0 + 1, T0 + 1, 10) == 0
    assert queue.get(dead).state is JobState.PENDING  # type: ignore[union-attr]


def test_the_worker_prunes_what_the_retention_lets_go(queue: JobQueue, clock: FakeClock) -> None:
    settings = Settings(retention=Retention(done=5 * DAY, dead=30 * DAY))
    worker = Worker(queue, JobRegistry(), settings, clock, Metrics())
    old = _finish(queue, JobSpec("a"), JobState.DONE)
    old_dead = _finish(queue, JobSpec("b"), JobState.DEAD)
    clock.advance(3 * DAY)
    recent = _finish(queue, JobSpec("c"), JobState.DONE)
    clock.advance(3 * DAY)
    assert worker.prune() == 1
    assert [queue.get(job_id) is None for job_id in (old, old_dead, recent)] == [
        True,
        False,
        False,
    ]


def test_a_running_worker_prunes_at_its_heartbeat(queue: JobQueue, clock: FakeClock) -> None:
    old = _finish(queue, JobSpec("a"), JobState.DONE)
    clock.advance(8 * DAY)
    config = WorkerConfig(threads=1, heartbeat_seconds=0.01, poll_seconds=0.01)
    worker = Worker(queue, JobRegistry(), Settings(), clock, Metrics(), config=config)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while queue.get(old) is not None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop(grace=1)
    assert queue.get(old) is None


def test_sqlite_prune_drops_routed_deliveries_and_idle_turns(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = Store.open(tmp_path / "data")
    queue = SqliteJobQueue(store, clock)
    payload = {"action": "opened", "installation": {"id": 7}}
    for delivery_id in ("routed", "waiting"):
        delivery = Delivery(delivery_id, "issues", b"{}", payload, envelope(payload))
        route = JobSpec(
            "delivery.route",
            {"delivery_id": delivery_id},
            dedupe_key=f"delivery.route:{delivery_id}",
            installation_id=7,
            delivery_id=delivery_id,
            trace_id=delivery_id,
        )
        store.accept_delivery(delivery, route, T0)
    store.mark_routed("routed", "routed", T0)
    claimed = queue.claim("w1", LEASE)
    assert claimed is not None and queue.complete(claimed.id, "w1")
    clock.advance(1)
    queue.prune(T0 + 1, T0 + 1, 10)
    assert store.get_delivery("routed") is None
    assert store.get_delivery("waiting") is not None, "not routed yet: its job still needs it"
    with store.reading() as conn:
        turns = conn.execute("SELECT installation_id FROM queue_turns").fetchall()
    assert turns == [(7,)], "installation 7 still has a pending job"
    store.close()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Retention(7 * DAY, 30 * DAY)),
        ({"TECHLEAD_JOB_RETENTION_DAYS": "4"}, Retention(4 * DAY, 30 * DAY)),
        ({"TECHLEAD_DEAD_JOB_RETENTION_DAYS": "90"}, Retention(7 * DAY, 90 * DAY)),
        ({"TECHLEAD_JOB_RETENTION_DAYS": "3.5"}, "TECHLEAD_JOB_RETENTION_DAYS: must be at least 4"),
        ({"TECHLEAD_DEAD_JOB_RETENTION_DAYS": "1"}, "TECHLEAD_DEAD_JOB_RETENTION_DAYS: must be at"),
        ({"TECHLEAD_JOB_RETENTION_DAYS": "a week"}, "must be a number"),
    ],
    ids=[
        "defaults",
        "shortest",
        "dead-longer",
        "shorter-than-redelivery",
        "dead-too",
        "not-a-number",
    ],
)
def test_retention_settings(env: dict[str, str], expected: Retention | str) -> None:
    if isinstance(expected, Retention):
        assert Settings.from_env(env).retention == expected
        return
    with pytest.raises(SettingsError, match=expected):
        Settings.from_env(env)


@pytest.fixture(params=["sqlite", "redis-server"])
def cli_queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CliQueue]:
    """A queue ``techlead jobs`` finds through its environment; its clock is 8 days back."""
    clock = FakeClock(SystemClock().now() - 8 * DAY)
    env = {"TECHLEAD_DATA_DIR": str(tmp_path / "data")}
    if request.param == "sqlite":
        store = Store.open(tmp_path / "data")
        yield SqliteJobQueue(store, clock), clock, env
        store.close()
        return
    url = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    client.delete(*client.keys(DEFAULT_PREFIX.replace("{", "[{]") + "*"), DEFAULT_PREFIX)
    yield RedisJobQueue(client, clock), clock, {**env, "TECHLEAD_QUEUE_URL": url}
    client.close()


def test_jobs_prune_command(cli_queue: CliQueue, capsys: pytest.CaptureFixture[str]) -> None:
    queue, clock, env = cli_queue
    old = _finish(queue, JobSpec("a"), JobState.DONE)
    clock.advance(2 * DAY)
    kept = _finish(queue, JobSpec("b"), JobState.DEAD)
    assert main(["jobs", "prune"], env) == 0
    assert "pruned 1 finished jobs" in capsys.readouterr().out
    assert main(["jobs", "prune"], {**env, "TECHLEAD_JOB_RETENTION_DAYS": "2"}) == 2
    assert "must be at least 4 days" in capsys.readouterr().err
    assert [job.id for job in queue.list()] == [kept]
    assert queue.get(old) is None
