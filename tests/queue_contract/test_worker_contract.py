"""The worker on every backend: backoff with jitter, dead letters with their hook, pauses."""

from __future__ import annotations

from bot.context import JobContext
from bot.errors import GitHubRateLimited
from bot.jobs import Job, JobRegistry, JobSpec, JobState, RetryPolicy
from bot.metrics import Metrics
from bot.queue import JobQueue
from bot.settings import Settings
from bot.worker import Worker, WorkerConfig
from tests.intake.conftest import T0, FakeClock, FixedRandom

POLICY = RetryPolicy(max_attempts=3, base=2.0, factor=2.0)


def _worker(queue: JobQueue, clock: FakeClock, jobs: JobRegistry) -> Worker:
    return Worker(
        queue,
        jobs,
        Settings(),
        clock,
        Metrics(),
        rand=FixedRandom(0.5),
        config=WorkerConfig(threads=1),
        owner="host:1:w",
    )


def test_failures_back_off_with_jitter_then_dead_letter_once(
    queue: JobQueue, clock: FakeClock
) -> None:
    deaths: list[tuple[int, str]] = []
    jobs = JobRegistry()

    def boom(job: Job, ctx: JobContext) -> None:
        raise RuntimeError(f"boom {job.attempts}")

    jobs.register(
        "fragile",
        retry=POLICY,
        on_dead=lambda job, error, ctx: deaths.append((job.attempts, error)),
    )(boom)
    worker = _worker(queue, clock, jobs)
    job = queue.enqueue(JobSpec("fragile", installation_id=3))
    delays = []
    for _ in range(POLICY.max_attempts):
        ran = worker.run_once()
        assert ran is not None
        delays.append(ran.run_at - clock.now())
        clock.advance(max(ran.run_at - clock.now(), 0))
    # Equal jitter with rand 0.5: 3/4 of 2 s, then of 4 s; the third failure is the last.
    assert delays[:2] == [1.5, 3.0]
    final = queue.get(job.id)
    assert final is not None and (final.state, final.attempts) == (JobState.DEAD, 3)
    assert deaths == [(3, "RuntimeError: boom 3")]
    assert worker.run_once() is None
    assert queue.retry(job.id).state is JobState.PENDING


def test_a_rate_limit_pauses_its_installation_without_spending_an_attempt(
    queue: JobQueue, clock: FakeClock
) -> None:
    jobs = JobRegistry()

    @jobs.register("limited")
    def limited(job: Job, ctx: JobContext) -> None:
        if job.installation_id == 7:
            raise GitHubRateLimited("secondary rate limit", status=403, retry_after=60)

    worker = _worker(queue, clock, jobs)
    held = queue.enqueue(JobSpec("limited", installation_id=7))
    queue.enqueue(JobSpec("limited", installation_id=7))
    other = queue.enqueue(JobSpec("limited", installation_id=8))
    assert worker.run_once() is not None  # the first of 7 hits the limit
    paused = queue.get(held.id)
    assert paused is not None and (paused.state, paused.attempts) == (JobState.PENDING, 0)
    assert paused.run_at == T0 + 60
    ran = worker.run_once()
    assert ran is not None and ran.id == other.id and ran.state is JobState.DONE
    assert worker.run_once() is None, "installation 7 waits for its reset"
