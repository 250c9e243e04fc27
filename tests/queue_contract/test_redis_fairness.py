"""The Redis queue beyond the contract: lease take-backs, batches, adoption, older data."""

from __future__ import annotations

import pytest

from bot.jobs import Job, JobSpec, JobState
from bot.redis_queue import RedisJobQueue
from tests.intake.conftest import T0, FakeClock

LEASE = 30.0


def test_a_queue_written_before_priority_classes_is_served(
    redis_queue: RedisJobQueue, clock: FakeClock
) -> None:
    """The one ring and per-installation lists of older versions join the normal class."""
    client, prefix = redis_queue.client, redis_queue.prefix
    ids = [redis_queue.enqueue(JobSpec("a", installation_id=4)).id for _ in range(2)]
    for job_id in ids:  # as an older version stored them: no class, one ring
        client.hdel(f"{prefix}job:{job_id}", "priority")
    client.delete(f"{prefix}ready:4:1", f"{prefix}fresh:1", f"{prefix}inring:1")
    client.rpush(f"{prefix}ready:4", *ids)
    client.rpush(f"{prefix}ring", "4")
    client.sadd(f"{prefix}inring", "4")
    upgraded = RedisJobQueue(client, clock, prefix=prefix)
    claimed = [upgraded.claim("w1", LEASE) for _ in range(3)]
    assert [job.id if job else None for job in claimed] == [*ids, None]
    assert client.exists(f"{prefix}ring", f"{prefix}ready:4", f"{prefix}inring") == 0


def test_a_job_of_a_killed_worker_goes_first_in_its_installation(
    redis_queue: RedisJobQueue, clock: FakeClock
) -> None:
    jobs = [redis_queue.enqueue(JobSpec("a", installation_id=1)) for _ in range(3)]
    taken = redis_queue.claim("killed", LEASE)
    assert taken is not None and taken.id == jobs[0].id
    clock.advance(LEASE)
    again = redis_queue.claim("w2", LEASE)
    assert again is not None and (again.id, again.attempts) == (jobs[0].id, 2)
    assert not redis_queue.complete(jobs[0].id, "killed")


def test_enqueue_many_schedules_each_dedupe_key_once(redis_queue: RedisJobQueue) -> None:
    specs = [JobSpec("delivery.route", dedupe_key=f"delivery.route:d-{n % 3}") for n in range(6)]
    ids = redis_queue.enqueue_many(specs)
    assert ids[:3] == ids[3:]
    assert len(redis_queue.list([JobState.PENDING])) == 3


def _stored(state: JobState, attempts: int, error: str | None) -> Job:
    return Job(
        id=41,
        kind="plan.run",
        payload={"issue": 3},
        dedupe_key=f"plan.run:{state.value}",
        state=state,
        attempts=attempts,
        run_at=T0 - 5,
        trace_id="trace",
        installation_id=9,
        lease_owner="elsewhere",
        lease_expires=T0 + 100,
        last_error=error,
        created_at=T0 - 50,
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (JobState.PENDING, JobState.PENDING),
        (JobState.RUNNING, JobState.PENDING),
        (JobState.DEAD, JobState.DEAD),
    ],
    ids=["pending", "running-comes-over-pending", "dead-stays-dead"],
)
def test_adopt_keeps_a_moved_jobs_history(
    redis_queue: RedisJobQueue, state: JobState, expected: JobState
) -> None:
    adopted = redis_queue.adopt(_stored(state, 2, "boom"))
    again = redis_queue.adopt(_stored(state, 2, "boom"))
    assert again.id == adopted.id
    assert (adopted.state, adopted.attempts, adopted.last_error) == (expected, 2, "boom")
    assert (adopted.payload, adopted.installation_id, adopted.lease_owner) == (
        {"issue": 3},
        9,
        None,
    )
    if expected is JobState.PENDING:
        claimed = redis_queue.claim("w1", LEASE)
        assert claimed is not None and claimed.id == adopted.id
    else:
        assert redis_queue.retry(adopted.id).state is JobState.PENDING
