"""The queue contract on every backend: dedupe, leases, retries, dead letters, pauses."""

from __future__ import annotations

import pytest

from bot.errors import QueueError
from bot.jobs import JobSpec, JobState
from bot.queue import JobQueue
from tests.intake.conftest import T0, FakeClock

LEASE = 30.0


def test_enqueue_is_idempotent_on_its_dedupe_key(queue: JobQueue) -> None:
    first = queue.enqueue(JobSpec("plan.run", {"issue": 1}, dedupe_key="plan.run:d-1:1"))
    again = queue.enqueue(JobSpec("plan.run", {"issue": 2}, dedupe_key="plan.run:d-1:1"))
    assert again.id == first.id
    assert again.payload == {"issue": 1}
    assert [job.id for job in queue.list()] == [first.id]


def test_enqueue_without_lineage_starts_a_trace(queue: JobQueue) -> None:
    job = queue.enqueue(JobSpec("plan.run"))
    assert job.trace_id
    assert job.dedupe_key == f"plan.run:{job.trace_id}"
    assert (job.state, job.attempts, job.delivery_id) == (JobState.PENDING, 0, None)


def test_a_payload_that_is_not_json_is_refused(queue: JobQueue) -> None:
    with pytest.raises(QueueError, match="not JSON"):
        queue.enqueue(JobSpec("plan.run", {"when": object()}))
    assert queue.list() == []


def test_claim_takes_due_jobs_oldest_first(queue: JobQueue, clock: FakeClock) -> None:
    later = queue.enqueue(JobSpec("a", delay=10))
    now = queue.enqueue(JobSpec("b"))
    claimed = queue.claim("w1", LEASE)
    assert claimed is not None and claimed.id == now.id
    assert (claimed.state, claimed.attempts, claimed.lease_owner) == (JobState.RUNNING, 1, "w1")
    assert queue.claim("w1", LEASE) is None
    clock.advance(10)
    claimed_later = queue.claim("w1", LEASE)
    assert claimed_later is not None and claimed_later.id == later.id


def test_an_expired_lease_makes_the_job_claimable_again(queue: JobQueue, clock: FakeClock) -> None:
    job = queue.enqueue(JobSpec("a"))
    assert queue.claim("dead-worker", LEASE) is not None
    clock.advance(LEASE - 1)
    assert queue.claim("w2", LEASE) is None
    clock.advance(1)
    taken = queue.claim("w2", LEASE)
    assert taken is not None and (taken.id, taken.attempts, taken.lease_owner) == (job.id, 2, "w2")
    assert not queue.complete(job.id, "dead-worker"), "the old owner lost the lease"
    assert queue.complete(job.id, "w2")
    assert queue.get(job.id).state is JobState.DONE  # type: ignore[union-attr]


def test_extend_keeps_a_long_job_leased(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(JobSpec("a"))
    queue.claim("w1", LEASE)
    clock.advance(LEASE - 1)
    assert queue.extend("w1", LEASE) == 1
    clock.advance(LEASE - 1)
    assert queue.claim("w2", LEASE) is None


def test_fail_schedules_a_retry_or_dead_letters(queue: JobQueue, clock: FakeClock) -> None:
    job = queue.enqueue(JobSpec("a"))
    queue.claim("w1", LEASE)
    assert queue.fail(job.id, "w1", "boom", T0 + 5)
    retried = queue.get(job.id)
    assert retried is not None
    assert (retried.state, retried.run_at, retried.last_error) == (JobState.PENDING, T0 + 5, "boom")
    clock.advance(5)
    queue.claim("w1", LEASE)
    assert queue.fail(job.id, "w1", "boom again", None)
    assert queue.get(job.id).state is JobState.DEAD  # type: ignore[union-attr]


def test_retry_redrives_only_dead_jobs(queue: JobQueue) -> None:
    job = queue.enqueue(JobSpec("a"))
    with pytest.raises(QueueError, match="only dead jobs"):
        queue.retry(job.id)
    with pytest.raises(QueueError, match="no job with id 999"):
        queue.retry(999)
    queue.claim("w1", LEASE)
    queue.fail(job.id, "w1", "boom", None)
    again = queue.retry(job.id)
    assert (again.state, again.attempts, again.last_error) == (JobState.PENDING, 0, "boom")


def test_release_with_refund_does_not_spend_the_attempt(queue: JobQueue, clock: FakeClock) -> None:
    job = queue.enqueue(JobSpec("a"))
    queue.claim("w1", LEASE)
    assert queue.release(job.id, "w1", T0 + 60, refund=True)
    released = queue.get(job.id)
    assert released is not None
    assert (released.state, released.attempts, released.run_at) == (JobState.PENDING, 0, T0 + 60)


def test_a_paused_installation_holds_only_its_own_jobs(queue: JobQueue, clock: FakeClock) -> None:
    held = queue.enqueue(JobSpec("a", installation_id=7))
    other = queue.enqueue(JobSpec("b", installation_id=8))
    queue.pause_installation(7, T0 + 100)
    queue.pause_installation(7, T0 + 50)  # an earlier reset never shortens a pause
    claimed = queue.claim("w1", LEASE)
    assert claimed is not None and claimed.id == other.id
    assert queue.claim("w1", LEASE) is None
    clock.advance(100)
    claimed = queue.claim("w1", LEASE)
    assert claimed is not None and claimed.id == held.id


def test_release_owners_frees_leases_of_dead_owners_only(queue: JobQueue) -> None:
    gone = queue.enqueue(JobSpec("a"))
    alive = queue.enqueue(JobSpec("b"))
    queue.claim("gone", LEASE)
    queue.claim("alive", LEASE)
    assert queue.release_owners(lambda owner: owner == "gone") == 1
    assert queue.get(gone.id).state is JobState.PENDING  # type: ignore[union-attr]
    assert queue.get(alive.id).state is JobState.RUNNING  # type: ignore[union-attr]


def test_a_job_released_from_a_dead_owner_waits_out_the_grace(
    queue: JobQueue, clock: FakeClock
) -> None:
    job = queue.enqueue(JobSpec("a"))
    queue.claim("gone", LEASE)
    assert queue.release_owners(lambda owner: owner == "gone", due_in=10.0) == 1
    assert queue.get(job.id).state is JobState.PENDING  # type: ignore[union-attr]
    assert queue.claim("w1", LEASE) is None, "a write of the dead attempt may still land"
    clock.advance(10.0)
    claimed = queue.claim("w1", LEASE)
    assert claimed is not None and (claimed.id, claimed.attempts) == (job.id, 2)


def test_list_filters_by_state(queue: JobQueue) -> None:
    done = queue.enqueue(JobSpec("a"))
    pending = queue.enqueue(JobSpec("b", delay=60))
    queue.claim("w1", LEASE)
    queue.complete(done.id, "w1")
    assert [job.id for job in queue.list([JobState.DONE])] == [done.id]
    assert [job.id for job in queue.list([JobState.PENDING])] == [pending.id]
    assert [job.id for job in queue.list()] == [done.id, pending.id]


def test_stats_report_depth_and_the_oldest_due_job(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(JobSpec("a"))
    queue.enqueue(JobSpec("b", delay=1000))
    clock.advance(12)
    stats = queue.stats()
    assert stats.by_state[JobState.PENDING] == 2
    assert stats.by_state[JobState.DEAD] == 0
    assert stats.oldest_ready_age == 12
