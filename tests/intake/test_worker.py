"""The worker: retries with backoff, dead letters, rate-limit pauses, lineage, shutdown."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from bot.cli import main
from bot.context import JobContext
from bot.errors import GitHubRateLimited, SettingsError
from bot.jobs import Job, JobRegistry, JobSpec, JobState, RetryPolicy
from bot.owners import owner_is_dead
from bot.worker import WorkerConfig, rate_limit_until
from tests.intake.conftest import T0, FakeClock, FixedRandom, ServicesFactory, drain


def flaky(failures: int) -> tuple[JobRegistry, list[int]]:
    """A job kind failing ``failures`` times, then succeeding; records each attempt."""
    jobs = JobRegistry()
    attempts: list[int] = []

    @jobs.register("flaky", max_attempts=5)
    def run(job: Job, ctx: JobContext) -> None:
        attempts.append(job.attempts)
        if len(attempts) <= failures:
            raise RuntimeError(f"failure {len(attempts)}")

    return jobs, attempts


def run_due(services, clock: FakeClock, rounds: int) -> None:
    for _ in range(rounds):
        drain(services)
        clock.advance(3600)


def test_a_job_failing_twice_then_succeeding_is_done_after_three_attempts(
    make_services: ServicesFactory, clock: FakeClock
) -> None:
    jobs, attempts = flaky(failures=2)
    services = make_services(jobs=jobs)
    job = services.queue.enqueue(JobSpec("flaky"))
    run_due(services, clock, rounds=4)
    final = services.queue.get(job.id)
    assert final is not None
    assert (final.state, final.attempts) == (JobState.DONE, 3)
    assert attempts == [1, 2, 3]


def test_backoff_grows_exponentially_with_injected_jitter(
    make_services: ServicesFactory, clock: FakeClock
) -> None:
    jobs, _ = flaky(failures=2)
    services = make_services(jobs=jobs, rand=FixedRandom(0.0))
    job = services.queue.enqueue(JobSpec("flaky"))
    services.worker.run_once()
    assert services.queue.get(job.id).run_at == T0 + 1.0  # type: ignore[union-attr]
    clock.advance(1.0)
    services.worker.run_once()
    assert services.queue.get(job.id).run_at == T0 + 1.0 + 2.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("attempts", "rand", "expected"),
    [(1, 0.0, 1.0), (1, 1.0, 2.0), (3, 0.5, 6.0), (30, 0.0, 1800.0)],
    ids=["first-min", "first-max", "third-mid", "capped"],
)
def test_retry_policy_delay(attempts: int, rand: float, expected: float) -> None:
    assert RetryPolicy().delay(attempts, rand) == expected


def test_a_job_that_always_fails_is_dead_lettered_and_can_be_redriven(
    make_services: ServicesFactory,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jobs, attempts = flaky(failures=7)
    services = make_services(jobs=jobs)
    job = services.queue.enqueue(JobSpec("flaky"))
    run_due(services, clock, rounds=6)
    dead = services.queue.get(job.id)
    assert dead is not None
    assert (dead.state, dead.attempts, len(attempts)) == (JobState.DEAD, 5, 5)
    assert dead.last_error == "RuntimeError: failure 5"

    env = {"TECHLEAD_DATA_DIR": str(services.settings.data_dir)}
    capsys.readouterr()
    assert main(["jobs", "list", "--dead", "--json"], env) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["id"], row["state"]) for row in listed] == [(job.id, "dead")]

    assert main(["jobs", "retry", str(job.id)], env) == 0
    assert f"job {job.id} (flaky) is pending again" in capsys.readouterr().out
    clock.advance(1)
    run_due(services, clock, rounds=3)
    final = services.queue.get(job.id)
    assert final is not None
    assert (final.state, final.attempts, len(attempts)) == (JobState.DONE, 3, 8)


def test_retrying_a_job_that_is_not_dead_is_a_clear_error(
    services, capsys: pytest.CaptureFixture[str]
) -> None:
    job = services.queue.enqueue(JobSpec("x"))
    env = {"TECHLEAD_DATA_DIR": str(services.settings.data_dir)}
    assert main(["jobs", "retry", str(job.id)], env) == 2
    assert "is pending; only dead jobs can be retried" in capsys.readouterr().err


def rate_limited_kind() -> tuple[JobRegistry, list[int]]:
    jobs = JobRegistry()
    calls: list[int] = []

    @jobs.register("github.write", max_attempts=1)
    def write(job: Job, ctx: JobContext) -> None:
        calls.append(job.attempts)
        if len([call for call in calls if call > 0]) <= 3:
            raise GitHubRateLimited(
                "slow down", status=403, route="POST /x", reset_at=ctx.now() + 600
            )

    @jobs.register("github.read")
    def read(job: Job, ctx: JobContext) -> None:
        calls.append(-job.id)

    return jobs, calls


def test_a_rate_limited_job_waits_for_the_reset_without_spending_attempts(
    make_services: ServicesFactory, clock: FakeClock
) -> None:
    reset = T0 + 600
    jobs, calls = rate_limited_kind()
    services = make_services(jobs=jobs)
    job = services.queue.enqueue(JobSpec("github.write", installation_id=7))
    sibling = services.queue.enqueue(JobSpec("github.read", installation_id=7))
    stranger = services.queue.enqueue(JobSpec("github.read", installation_id=8))

    assert services.worker.run_once().state is JobState.PENDING  # type: ignore[union-attr]
    drain(services)
    paused = services.queue.get(job.id)
    assert paused is not None
    assert (paused.state, paused.attempts, paused.run_at) == (JobState.PENDING, 0, reset)
    assert services.queue.get(sibling.id).state is JobState.PENDING  # type: ignore[union-attr]
    assert services.queue.get(stranger.id).state is JobState.DONE  # type: ignore[union-attr]
    assert services.queue.paused_until(7) == reset

    for _ in range(3):  # rate limited again and again: still never dead (max_attempts=1)
        clock.advance(600)
        drain(services)
    final = services.queue.get(job.id)
    assert final is not None and (final.state, final.attempts) == (JobState.DONE, 1)
    assert [attempt for attempt in calls if attempt > 0] == [1, 1, 1, 1]
    assert services.queue.get(sibling.id).state is JobState.DONE  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("retry_after", "reset_at", "expected"),
    [
        (30.0, None, T0 + 30),
        (None, T0 + 90, T0 + 90),
        (120.0, T0 + 90, T0 + 120),
        (None, None, T0 + 60),
        (None, T0 - 5, T0 + 60),
    ],
    ids=["retry-after", "reset", "later-of-both", "neither-waits-a-minute", "reset-in-past"],
)
def test_rate_limit_wait(
    retry_after: float | None, reset_at: float | None, expected: float
) -> None:
    exc = GitHubRateLimited("x", retry_after=retry_after, reset_at=reset_at)
    assert rate_limit_until(exc, T0) == expected


def test_token_mode_rate_limit_pauses_jobs_without_an_installation(
    make_services: ServicesFactory,
) -> None:
    jobs, _ = rate_limited_kind()
    services = make_services(jobs=jobs)
    services.queue.enqueue(JobSpec("github.write"))
    other = services.queue.enqueue(JobSpec("github.read"))
    drain(services)
    assert services.queue.get(other.id).state is JobState.PENDING  # type: ignore[union-attr]


def test_children_inherit_trace_delivery_and_installation(
    make_services: ServicesFactory,
) -> None:
    jobs = JobRegistry()

    @jobs.register("parent")
    def parent(job: Job, ctx: JobContext) -> None:
        ctx.enqueue(JobSpec("child"))
        ctx.enqueue(JobSpec("child"))

    @jobs.register("child")
    def child(job: Job, ctx: JobContext) -> None:
        ctx.enqueue(JobSpec("grandchild", dedupe_key=f"grandchild:{job.id}"))

    @jobs.register("grandchild")
    def grandchild(job: Job, ctx: JobContext) -> None:
        pass

    services = make_services(jobs=jobs)
    root = services.queue.enqueue(
        JobSpec("parent", delivery_id="d-9", trace_id="trace-9", installation_id=3)
    )
    drain(services)
    everything = services.queue.list()
    assert len(everything) == 5
    assert {(job.trace_id, job.delivery_id, job.installation_id) for job in everything} == {
        ("trace-9", "d-9", 3)
    }
    assert all(job.state is JobState.DONE for job in everything)
    assert {job.parent_id for job in everything if job.kind == "child"} == {root.id}


def test_rerunning_a_parent_does_not_schedule_its_children_twice(
    make_services: ServicesFactory, clock: FakeClock
) -> None:
    jobs = JobRegistry()
    runs: list[int] = []

    @jobs.register("parent")
    def parent(job: Job, ctx: JobContext) -> None:
        runs.append(job.attempts)
        ctx.enqueue(JobSpec("child"))
        if len(runs) == 1:
            raise RuntimeError("crashed after scheduling")

    jobs.register("child")(lambda job, ctx: None)
    services = make_services(jobs=jobs)
    services.queue.enqueue(JobSpec("parent"))
    run_due(services, clock, rounds=2)
    assert runs == [1, 2]
    assert sorted(job.kind for job in services.queue.list()) == ["child", "parent"]


def test_github_is_built_lazily_for_the_jobs_installation(
    make_services: ServicesFactory,
) -> None:
    built: list[int | None] = []
    jobs = JobRegistry()
    used: list[object] = []

    @jobs.register("uses-github")
    def uses(job: Job, ctx: JobContext) -> None:
        used.extend([ctx.github, ctx.github])

    jobs.register("no-github")(lambda job, ctx: None)

    def factory(installation_id: int | None) -> object:
        built.append(installation_id)
        return f"client-{installation_id}"

    services = make_services(jobs=jobs, github_factory=factory)
    services.queue.enqueue(JobSpec("no-github", installation_id=5))
    services.queue.enqueue(JobSpec("uses-github", installation_id=5))
    drain(services)
    assert built == [5]
    assert used == ["client-5", "client-5"]


def test_without_credentials_github_access_fails_naming_the_variable(
    make_services: ServicesFactory,
) -> None:
    jobs = JobRegistry()
    jobs.register("uses-github", max_attempts=1)(lambda job, ctx: ctx.github)
    services = make_services(jobs=jobs)
    job = services.queue.enqueue(JobSpec("uses-github"))
    drain(services)
    dead = services.queue.get(job.id)
    assert dead is not None and dead.state is JobState.DEAD
    assert dead.last_error is not None and "TECHLEAD_GITHUB_TOKEN" in dead.last_error
    assert SettingsError.__name__ in dead.last_error


def test_an_unknown_kind_is_dead_lettered_with_a_hint(services) -> None:
    job = services.queue.enqueue(JobSpec("gone.away"))
    drain(services)
    dead = services.queue.get(job.id)
    assert dead is not None and dead.state is JobState.DEAD
    assert "no handler for job kind 'gone.away'" in (dead.last_error or "")


def test_a_job_whose_worker_keeps_dying_is_dead_lettered(
    make_services: ServicesFactory, clock: FakeClock
) -> None:
    jobs = JobRegistry()
    ran: list[int] = []
    jobs.register("crashy", max_attempts=2)(lambda job, ctx: ran.append(job.id))
    services = make_services(jobs=jobs)
    job = services.queue.enqueue(JobSpec("crashy"))
    lease = services.worker.config.lease_seconds
    for owner in ("w1", "w2"):  # two workers die holding it
        services.queue.claim(owner, lease)
        clock.advance(lease)
    drain(services)
    dead = services.queue.get(job.id)
    assert dead is not None and dead.state is JobState.DEAD and ran == []
    assert "abandoned after 2 attempts" in (dead.last_error or "")


def test_secrets_in_errors_are_masked_in_the_store(make_services: ServicesFactory) -> None:
    jobs = JobRegistry()

    @jobs.register("leaky", max_attempts=1)
    def leaky(job: Job, ctx: JobContext) -> None:
        raise RuntimeError("push to https://x-access-token:ghs_abcdef123456@github.com failed")

    services = make_services(jobs=jobs)
    job = services.queue.enqueue(JobSpec("leaky"))
    drain(services)
    error = services.queue.get(job.id).last_error or ""  # type: ignore[union-attr]
    assert "ghs_abcdef123456" not in error
    assert "x-access-token:[REDACTED]@github.com" in error


def test_graceful_stop_releases_a_job_that_does_not_finish_in_time(
    make_services: ServicesFactory,
) -> None:
    jobs = JobRegistry()
    started, finish = threading.Event(), threading.Event()

    @jobs.register("slow")
    def slow(job: Job, ctx: JobContext) -> None:
        started.set()
        finish.wait(10)

    services = make_services(jobs=jobs, worker_config=WorkerConfig(threads=1, poll_seconds=0.01))
    job = services.queue.enqueue(JobSpec("slow"))
    services.worker.start()
    assert started.wait(10)
    assert services.worker.alive()
    released = services.worker.stop(grace=0.05)
    finish.set()
    assert services.worker.join(10)
    assert [item.id for item in released] == [job.id]
    after = services.queue.get(job.id)
    assert after is not None and (after.state, after.attempts) == (JobState.PENDING, 0)
    assert not services.worker.alive()


def test_graceful_stop_lets_a_quick_job_finish(make_services: ServicesFactory) -> None:
    jobs = JobRegistry()
    started = threading.Event()

    @jobs.register("quick")
    def quick(job: Job, ctx: JobContext) -> None:
        started.set()
        ctx.stopping.wait(10)  # a cooperative job notices the shutdown and wraps up

    services = make_services(jobs=jobs, worker_config=WorkerConfig(threads=1, poll_seconds=0.01))
    job = services.queue.enqueue(JobSpec("quick"))
    services.worker.start()
    assert started.wait(10)
    assert services.worker.stop(grace=5) == []
    assert services.queue.get(job.id).state is JobState.DONE  # type: ignore[union-attr]


def test_a_job_aborting_because_of_shutdown_is_released_not_charged(
    make_services: ServicesFactory,
) -> None:
    jobs = JobRegistry()
    started = threading.Event()

    @jobs.register("cooperative", max_attempts=1)
    def cooperative(job: Job, ctx: JobContext) -> None:
        started.set()
        ctx.stopping.wait(10)
        raise InterruptedError("shutting down, will resume")

    services = make_services(jobs=jobs, worker_config=WorkerConfig(threads=1, poll_seconds=0.01))
    job = services.queue.enqueue(JobSpec("cooperative"))
    services.worker.start()
    assert started.wait(10)
    assert services.worker.stop(grace=5) == []
    after = services.queue.get(job.id)
    assert after is not None and (after.state, after.attempts) == (JobState.PENDING, 0)


@pytest.mark.parametrize(
    ("owner", "me", "dead"),
    [
        ("host:999999999:a", "host:1:b", True),
        ("host:1:a", "host:1:b", True),
        ("host:1:b", "host:1:b", False),
        ("other:999999999:a", "host:1:b", False),
        ("garbage", "host:1:b", False),
    ],
    ids=["pid-gone", "same-pid-earlier-run", "myself", "other-host", "unparsable"],
)
def test_owner_liveness(owner: str, me: str, dead: bool) -> None:
    assert owner_is_dead(owner, me) is dead


def test_new_jobs_wait_while_a_webhook_is_being_answered(
    make_services: ServicesFactory,
) -> None:
    jobs = JobRegistry()
    ran = threading.Event()
    jobs.register("quick")(lambda job, ctx: ran.set())
    config = WorkerConfig(threads=1, poll_seconds=0.01, defer_seconds=30)
    services = make_services(jobs=jobs, worker_config=config)
    services.queue.enqueue(JobSpec("quick"))
    with services.worker.deferring():
        services.worker.start()
        assert not ran.wait(0.3), "a job started while an answer was in flight"
    assert ran.wait(10)
    services.worker.stop(grace=5)
