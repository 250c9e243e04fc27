"""The dead-letter hook: once per dead-lettering, whatever killed the job; never harmful."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from structlog.testing import capture_logs

from bot.app import Services
from bot.context import JobContext
from bot.errors import GitHubRateLimited
from bot.jobs import Job, JobRegistry, JobSpec, JobState
from bot.metrics import Metrics
from bot.worker import IN_FLIGHT_GRACE_SECONDS, Worker, WorkerConfig
from tests.intake.conftest import FakeClock, ServicesFactory, drain

KIND = "fragile"
MAX_ATTEMPTS = 2
LEASE = 300.0
THREADS = WorkerConfig(threads=2, poll_seconds=0.01, heartbeat_seconds=0.05)


@dataclass
class Deaths:
    """What the hook saw: (job id, attempts, state, error) per call, and its contexts."""

    calls: list[tuple[int, int, JobState, str]] = field(default_factory=list)
    contexts: list[JobContext] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, job: Job, error: str, ctx: JobContext) -> None:
        with self.lock:
            self.calls.append((job.id, job.attempts, job.state, error))
            self.contexts.append(ctx)


def fragile(
    behaviour: Callable[[Job, JobContext], None], hook: Callable[[Job, str, JobContext], None]
) -> JobRegistry:
    jobs = JobRegistry()
    jobs.register(KIND, max_attempts=MAX_ATTEMPTS, on_dead=hook)(behaviour)
    return jobs


def boom(job: Job, ctx: JobContext) -> None:
    raise RuntimeError(f"boom on attempt {job.attempts}")


def fine(job: Job, ctx: JobContext) -> None:
    return None


def rate_limited(job: Job, ctx: JobContext) -> None:
    raise GitHubRateLimited("secondary rate limit", status=403, route="POST /x", retry_after=60)


def run_until_quiet(services: Services, clock: FakeClock, rounds: int = 6) -> None:
    for _ in range(rounds):
        drain(services)
        clock.advance(3600)


def die_holding_it(services: Services, clock: FakeClock, owners: list[str]) -> None:
    """Workers claim the job and die: their leases expire (no handler ever runs)."""
    for owner in owners:
        assert services.queue.claim(owner, LEASE) is not None
        clock.advance(LEASE)


def earlier_run_of_this_process() -> str:
    """An owner ``recover`` judges dead: this host and pid, another run's token."""
    return f"{socket.gethostname()}:{os.getpid()}:an-earlier-run"


# ---------------------------------------------------------------------------- when it runs


@dataclass(frozen=True)
class Case:
    behaviour: Callable[[Job, JobContext], None]
    prepare: Callable[[Services, FakeClock], None]
    state: JobState
    attempts: int  # as stored, and as the hook sees the job
    error: str | None  # in the hook's error (None: the hook must not run)


def nothing(services: Services, clock: FakeClock) -> None:
    return None


def two_workers_die(services: Services, clock: FakeClock) -> None:
    die_holding_it(services, clock, ["w1:1:a", "w2:2:b"])


def fails_then_workers_die(services: Services, clock: FakeClock) -> None:
    job = services.queue.claim("w1:1:a", LEASE)
    assert job is not None
    assert services.queue.fail(job.id, "w1:1:a", "GitHubUnavailable: 502", clock.now())
    die_holding_it(services, clock, ["w2:2:b"])


def process_dies_twice(services: Services, clock: FakeClock) -> None:
    """Killed twice while running it; each restart's ``recover`` releases the lease."""
    for _ in range(MAX_ATTEMPTS):
        assert services.queue.claim(earlier_run_of_this_process(), LEASE) is not None
        assert services.worker.recover() == 1
        clock.advance(IN_FLIGHT_GRACE_SECONDS)  # the dead attempt's writes have landed


CASES = {
    "out-of-attempts": Case(boom, nothing, JobState.DEAD, 2, "RuntimeError: boom on attempt 2"),
    "leases-expired": Case(fine, two_workers_die, JobState.DEAD, 2, "abandoned after 2 attempts"),
    "killed-and-recovered": Case(
        fine, process_dies_twice, JobState.DEAD, 2, "its worker died or its lease expired"
    ),
    "error-then-expired": Case(
        fine, fails_then_workers_die, JobState.DEAD, 2, "the last error before that: GitHubUn"
    ),
    "succeeds": Case(fine, nothing, JobState.DONE, 1, None),
    "rate-limited": Case(rate_limited, nothing, JobState.PENDING, 0, None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_hook_runs_once_exactly_when_the_job_dies(
    make_services: ServicesFactory, clock: FakeClock, case: Case
) -> None:
    deaths = Deaths()
    services = make_services(jobs=fragile(case.behaviour, deaths))
    job = services.queue.enqueue(JobSpec(KIND))
    case.prepare(services, clock)
    run_until_quiet(services, clock, rounds=1 if case.state is JobState.PENDING else 6)

    stored = services.queue.get(job.id)
    assert stored is not None
    assert (stored.state, stored.attempts) == (case.state, case.attempts)
    if case.error is None:
        assert deaths.calls == []
        return
    [(job_id, attempts, state, error)] = deaths.calls
    assert (job_id, attempts, state) == (job.id, case.attempts, JobState.DEAD)
    assert case.error in error
    assert stored.last_error == error


def test_the_hook_gets_a_fresh_context_that_can_schedule_work(
    make_services: ServicesFactory, clock: FakeClock
) -> None:
    followed: list[int] = []

    def hook(job: Job, error: str, ctx: JobContext) -> None:
        ctx.enqueue(JobSpec("follow-up", {"dead": job.id}))

    jobs = fragile(boom, hook)
    jobs.register("follow-up")(lambda job, ctx: followed.append(job.payload["dead"]))
    services = make_services(jobs=jobs)
    job = services.queue.enqueue(JobSpec(KIND, installation_id=42))
    run_until_quiet(services, clock)

    assert followed == [job.id]
    [child] = [j for j in services.queue.list() if j.kind == "follow-up"]
    assert (child.parent_id, child.installation_id) == (job.id, 42)


def test_a_redriven_job_that_dies_again_runs_the_hook_again(
    make_services: ServicesFactory, clock: FakeClock
) -> None:
    deaths = Deaths()
    services = make_services(jobs=fragile(boom, deaths))
    job = services.queue.enqueue(JobSpec(KIND))
    run_until_quiet(services, clock)
    services.queue.retry(job.id)
    run_until_quiet(services, clock)
    assert [call[0] for call in deaths.calls] == [job.id, job.id]


def test_a_worker_whose_lease_was_taken_over_does_not_run_the_hook_twice(
    make_services: ServicesFactory, clock: FakeClock
) -> None:
    """A slow worker fails the job after another already dead-lettered it: one hook run."""
    deaths = Deaths()
    jobs = JobRegistry()
    jobs.register(KIND, max_attempts=1, on_dead=deaths)(boom)
    slow = make_services(jobs=jobs)
    fast = make_services(jobs=jobs)
    queued = slow.queue.enqueue(JobSpec(KIND))
    taken = slow.queue.claim(slow.worker.owner, LEASE)
    assert taken is not None and taken.id == queued.id
    clock.advance(LEASE)  # the slow worker's lease runs out while its handler still runs

    assert fast.worker.run_once() is not None  # claims it past its last attempt: dead
    outcome = slow.worker.execute(taken)  # the handler fails; the lease is gone

    assert outcome.value == "lease_lost"
    assert [call[0] for call in deaths.calls] == [queued.id]
    assert "abandoned after 1 attempts" in deaths.calls[0][3]


# ---------------------------------------------------------------------------- best effort


def test_a_failing_hook_is_logged_and_the_worker_keeps_going(
    make_services: ServicesFactory,
) -> None:
    def hook(job: Job, error: str, ctx: JobContext) -> None:
        raise RuntimeError("the hook broke too")

    jobs = JobRegistry()
    jobs.register(KIND, max_attempts=1, on_dead=hook)(boom)
    after = threading.Event()
    jobs.register("after")(lambda job, ctx: after.set())
    services = make_services(jobs=jobs, worker_config=THREADS)
    dead = services.queue.enqueue(JobSpec(KIND))
    with capture_logs() as logs:
        services.worker.start()
        try:
            assert _wait(lambda: _state(services, dead.id) is JobState.DEAD)
            services.queue.enqueue(JobSpec("after"))
            services.worker.wake()
            assert after.wait(10), "the worker stopped taking jobs"
            assert services.worker.alive()
        finally:
            services.worker.stop(grace=5)

    failed = [line for line in logs if line["event"] == "job_dead_hook_failed"]
    assert [line["error"] for line in failed] == ["the hook broke too"]
    stored = services.queue.get(dead.id)
    assert stored is not None and (stored.state, stored.attempts) == (JobState.DEAD, 1)
    assert "boom on attempt 1" in (stored.last_error or "")


def test_crash_looped_jobs_die_once_each_under_two_running_workers(
    make_services: ServicesFactory, clock: FakeClock
) -> None:
    deaths = Deaths()
    jobs = fragile(fine, deaths)
    services = make_services(jobs=jobs)
    ids = [services.queue.enqueue(JobSpec(KIND, dedupe_key=f"loop-{n}")).id for n in range(20)]
    for _ in range(MAX_ATTEMPTS):  # every job's workers die holding it, twice
        for _ in ids:
            assert services.queue.claim("gone:1:x", LEASE) is not None
        clock.advance(LEASE)
    # Two processes (here on two hosts, so neither takes the other for a dead earlier run).
    workers = [
        Worker(
            services.queue, jobs, services.settings, clock, Metrics(), owner=owner, config=THREADS
        )
        for owner in ("host-a:1:a", "host-b:2:b")
    ]

    for worker in workers:
        worker.start()
    try:
        assert _wait(lambda: all(_state(services, i) is JobState.DEAD for i in ids))
    finally:
        for worker in workers:
            worker.stop(grace=5)

    assert sorted(call[0] for call in deaths.calls) == ids
    assert {call[1] for call in deaths.calls} == {MAX_ATTEMPTS}


def _state(services: Services, job_id: int) -> JobState | None:
    job = services.queue.get(job_id)
    return None if job is None else job.state


def _wait(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if check():
            return True
        done.wait(0.01)
    return check()
