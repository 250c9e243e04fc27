"""The Redis queue's turns: installations take turns, a newcomer's first job goes next."""

from __future__ import annotations

import pytest

from bot.jobs import Job, JobSpec, JobState
from bot.redis_queue import RedisJobQueue
from tests.intake.conftest import T0, FakeClock

LEASE = 30.0


def _claim_installations(queue: RedisJobQueue, count: int) -> list[int | None]:
    claimed = [queue.claim("w1", LEASE) for _ in range(count)]
    return [job.installation_id for job in claimed if job is not None]


def test_a_flooding_installation_does_not_delay_another_ones_first_job(
    redis_queue: RedisJobQueue,
) -> None:
    redis_queue.enqueue_many([JobSpec("flood", installation_id=1) for _ in range(2000)])
    assert _claim_installations(redis_queue, 3) == [1, 1, 1]
    quiet = redis_queue.enqueue(JobSpec("quiet", installation_id=2))
    first = redis_queue.claim("w1", LEASE)
    assert first is not None and first.id == quiet.id


@pytest.mark.parametrize(
    ("queued", "order"),
    [
        ({1: 3, 2: 3, 3: 3}, [1, 2, 3, 1, 2, 3, 1, 2, 3]),
        ({1: 4, 2: 1}, [1, 2, 1, 1, 1]),
        ({None: 2, 5: 2}, [None, 5, None, 5]),
    ],
    ids=["three-even", "one-short", "no-installation-shares-a-turn"],
)
def test_installations_take_turns_one_job_each(
    redis_queue: RedisJobQueue, queued: dict[int | None, int], order: list[int | None]
) -> None:
    for installation, count in queued.items():
        redis_queue.enqueue_many([JobSpec("a", installation_id=installation)] * count)
    assert _claim_installations(redis_queue, len(order) + 1) == order


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
