"""``techlead jobs migrate --to redis://…``, then ``jobs list``/``retry`` on Redis, unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from bot.cli import main
from bot.context import SystemClock
from bot.features.execution.model import Phase, Run, TaskRun
from bot.features.execution.store import RunStore
from bot.intake import Delivery, envelope
from bot.jobs import JobSpec, JobState, Priority
from bot.plans import PlanRecord, PlanStore
from bot.queue import SqliteJobQueue
from bot.redis_queue import RedisDeliveries, RedisJobQueue
from bot.redis_state import RedisPlanStore, RedisRunStore
from bot.store import Store

PAYLOAD = {"action": "opened", "installation": {"id": 7}}


@pytest.fixture
def target(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


def _fill(data_dir: Path) -> dict[str, int]:
    """A SQLite queue: a delivery's pending routing job, a running, a dead and a done job."""
    store = Store.open(data_dir)
    queue = SqliteJobQueue(store, SystemClock())
    delivery = Delivery("d-1", "issues", b'{"action": "opened"}', PAYLOAD, envelope(PAYLOAD))
    route = JobSpec(
        "delivery.route",
        {"delivery_id": "d-1"},
        dedupe_key="delivery.route:d-1",
        installation_id=7,
        delivery_id="d-1",
        trace_id="t-1",
    )
    store.accept_delivery(delivery, route, 0.0)
    ids = {name: queue.enqueue(JobSpec(name, installation_id=7)).id for name in ("run", "die")}
    ids["done"] = queue.enqueue(JobSpec("done")).id
    claimed = [queue.claim("old-worker", 60) for _ in range(4)]
    for job in claimed:
        assert job is not None
        if job.kind == "die":
            queue.fail(job.id, "old-worker", "boom", None)
        elif job.kind == "done":
            queue.complete(job.id, "old-worker")
        elif job.kind == "delivery.route":
            queue.release(job.id, "old-worker")
    PlanStore(store).save(PlanRecord("Octo/Shop", 7, error="no plan yet", error_body="-"))
    run = Run("Octo/Shop", 7, installation=7, tasks={"T1": TaskRun(phase=Phase.RUNNING)})
    RunStore(store).save(run)
    store.close()
    return ids


def test_migrate_moves_unfinished_jobs_and_their_deliveries(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    _fill(data_dir)
    env = {"TECHLEAD_DATA_DIR": str(data_dir)}
    assert main(["jobs", "migrate", "--to", target], env) == 0
    assert (
        "moved 3 jobs (1 dead, 1 pending, 1 running), 1 plans and 1 execution runs"
        in capsys.readouterr().out
    )
    assert main(["jobs", "migrate", "--to", target], env) == 0, "running it again is harmless"
    assert "moved 0 jobs (none), 0 plans and 0 execution runs" in capsys.readouterr().out
    queue = RedisJobQueue.from_url(target, SystemClock())
    moved = {job.kind: job for job in queue.list()}
    assert {kind: job.state for kind, job in moved.items()} == {
        "delivery.route": JobState.PENDING,
        "run": JobState.PENDING,
        "die": JobState.DEAD,
    }
    assert (moved["die"].last_error, moved["run"].attempts) == ("boom", 1)
    assert (moved["delivery.route"].priority, moved["run"].priority) == (
        Priority.URGENT,
        Priority.NORMAL,
    )
    delivery = RedisDeliveries(queue.client).get_delivery("d-1")
    assert delivery is not None and delivery.event == "issues"
    plan = RedisPlanStore(queue.client).load("octo/shop", 7)
    assert (plan.revision, plan.error) == (1, "no plan yet")
    run = RedisRunStore(queue.client).load("octo/shop", 7)
    assert run.tasks["T1"].phase is Phase.RUNNING
    assert RedisRunStore(queue.client).installation_load(7, "octo/other", 1) == (1, 1)
    queue.close()

    redis_env = {**env, "TECHLEAD_QUEUE_URL": target}
    assert main(["jobs", "list", "--dead"], redis_env) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 2 and "die" in table[1] and "boom" in table[1]
    assert main(["jobs", "retry", str(moved["die"].id)], redis_env) == 0
    assert "is pending again" in capsys.readouterr().out
    assert main(["jobs", "retry", "999"], redis_env) == 2
    assert "no job with id 999" in capsys.readouterr().err


def test_migrate_refuses_a_target_that_is_not_redis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(tmp_path / "data")
    env = {"TECHLEAD_DATA_DIR": str(tmp_path / "data")}
    assert main(["jobs", "migrate", "--to", "postgres://db/x"], env) == 2
    assert "--to must be a redis://" in capsys.readouterr().err
