"""The worker: claims jobs under a lease, runs their handlers, and applies the retry policy.

A job is dead-lettered when it fails on its last attempt, when it is claimed again after
more than ``max_attempts`` attempts (its workers kept dying or losing the lease), or when
no handler is registered for its kind. Whoever makes that transition (one worker, see
:meth:`JobQueue.fail`) then runs the kind's ``on_dead`` hook once, in a fresh context.
"""

from __future__ import annotations

import enum
import itertools
import math
import random
import resource
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import Protocol

from bot.context import Clock, GitHubFactory, JobContext, child_spec, no_github
from bot.errors import GitHubRateLimited, QueueError
from bot.jobs import DeadHandler, Job, JobKind, JobRegistry, JobSpec, JobState
from bot.log import Redactor, bound, get_logger, job_fields, secrets_of
from bot.metrics import Metrics
from bot.owners import owner_id, owner_is_dead
from bot.queue import JobQueue
from bot.settings import Settings

# GitHub: a secondary rate limit without Retry-After means wait at least a minute.
# https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
DEFAULT_RATE_LIMIT_WAIT = 60.0
TOKEN_MODE_INSTALLATION = 0  # pauses in token mode apply to jobs without an installation
PRUNE_BATCH = 500  # finished jobs deleted per heartbeat, at most (a few milliseconds)
# A job taken back from a process that died runs again only after this long: a request
# the dead process had sent may still be carried out, and GitHub ends a request it has
# not answered within 10 seconds. Sooner, the retry could read GitHub before that write
# lands and make it a second time (a second plan comment).
# https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#timeouts
IN_FLIGHT_GRACE_SECONDS = 10.0

MSG_NO_HANDLER = "no handler for job kind {kind!r} (is its feature or plugin loaded?)"
MSG_ABANDONED = "abandoned after {attempts} attempts: its worker died or its lease expired"
MSG_ABANDONED_AFTER_ERROR = MSG_ABANDONED + "; the last error before that: {error}"
MSG_CPU_BUDGET_THREADS = "a per-job CPU budget needs one job at a time per process (threads=1)"


class Outcome(enum.StrEnum):
    """What became of one run of a job (the ``outcome`` label of job metrics)."""

    DONE = "done"
    RETRY = "retry"
    DEAD = "dead"
    RATE_LIMITED = "rate_limited"
    RELEASED = "released"  # given back unfinished because the worker is shutting down
    LOST = "lease_lost"  # another worker took the job over: its lease had expired


@dataclass(frozen=True)
class WorkerConfig:
    threads: int = 2
    lease_seconds: float = 300.0
    heartbeat_seconds: float = 30.0
    poll_seconds: float = 0.5
    grace_seconds: float = 20.0
    defer_seconds: float = 0.05
    # Seconds of CPU one job may use before the kernel stops its process (SIGXCPU);
    # only for a process running one job at a time (``techlead worker``).
    cpu_seconds: float | None = None


class Runner(Protocol):
    """What the web app needs from whatever runs the jobs: threads here, or processes."""

    def start(self) -> None: ...

    def stop(self, grace: float | None = None) -> object: ...

    def alive(self) -> bool: ...

    def wake(self) -> None: ...

    def deferring(self) -> AbstractContextManager[None]: ...


class NoJobs:
    """A :class:`Runner` that runs nothing here: ``techlead worker`` processes, on this
    machine or others sharing the queue, take the jobs (``serve --no-jobs``)."""

    def start(self) -> None:
        get_logger().info("worker_elsewhere")

    def stop(self, grace: float | None = None) -> list[Job]:
        return []

    def alive(self) -> bool:
        return True

    def wake(self) -> None:
        """Nothing to wake: the workers elsewhere poll the queue, or Redis wakes them."""

    @contextmanager
    def deferring(self) -> Iterator[None]:
        yield


@contextmanager
def cpu_budget(seconds: float | None) -> Iterator[None]:
    """Let the kernel stop this process if the code inside uses ``seconds`` more of CPU.

    A runaway job (a regular expression gone quadratic, a parser in a loop) holds the
    GIL, so no thread of this process could interrupt it; RLIMIT_CPU is enforced by
    the kernel, which sends SIGXCPU once the soft limit is crossed. The limit counts
    the whole process, which is why it needs one job at a time per process.
    """
    if not seconds:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    limit = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


class Worker:
    """Runs jobs from a :class:`JobQueue` on a few threads; ``run_once`` for tests."""

    def __init__(
        self,
        queue: JobQueue,
        registry: JobRegistry,
        settings: Settings,
        clock: Clock,
        metrics: Metrics,
        *,
        github_factory: GitHubFactory = no_github,
        rand: Callable[[], float] = random.random,
        config: WorkerConfig | None = None,
        owner: str | None = None,
    ) -> None:
        self.queue = queue
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.github_factory = github_factory
        self.rand = rand
        self.config = config or WorkerConfig()
        self.owner = owner or owner_id()
        self._redactor = Redactor(secrets_of(settings))
        self._log = get_logger(worker=self.owner)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._answering = 0
        self._answered = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._running: dict[int, Job] = {}
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------

    def recover(self) -> int:
        """Release jobs leased by dead processes on this host (after a crash or kill -9)."""
        released = self.queue.release_owners(
            lambda owner: owner_is_dead(owner, self.owner), due_in=IN_FLIGHT_GRACE_SECONDS
        )
        if released:
            self._log.warning("released_orphaned_jobs", count=released)
        return released

    def start(self) -> None:
        if self.config.cpu_seconds and self.config.threads != 1:
            raise ValueError(MSG_CPU_BUDGET_THREADS)
        self.recover()
        targets = [self._loop] * self.config.threads + [self._heartbeat]
        for index, target in enumerate(targets):
            thread = threading.Thread(target=target, name=f"techlead-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._log.info("worker_started", threads=self.config.threads)

    def stop(self, grace: float | None = None) -> list[Job]:
        """Stop claiming, wait up to ``grace`` seconds, then release what still runs."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + (self.config.grace_seconds if grace is None else grace)
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        unfinished = self._release_running()
        self._log.info("worker_stopped", released=[job.id for job in unfinished])
        return unfinished

    def join(self, timeout: float) -> bool:
        """Wait for every thread to end (after :meth:`stop`); False if some still run."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        return not any(thread.is_alive() for thread in self._threads)

    def busy(self) -> bool:
        """Whether a job is in hand: running, or being settled (an on_dead hook included)."""
        with self._lock:
            return bool(self._running)

    def alive(self) -> bool:
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def wake(self) -> None:
        """Tell idle threads a job is ready (saves up to one poll interval)."""
        self._wake.set()

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """Hold back new jobs while a webhook is being answered.

        Worker threads compete with the event loop for the GIL; between two jobs they
        wait (at most ``defer_seconds``) until no answer is in flight, so job work
        fills the gaps between deliveries instead of slowing their 202.
        """
        with self._answered:
            self._answering += 1
        try:
            yield
        finally:
            with self._answered:
                self._answering -= 1
                if not self._answering:
                    self._answered.notify_all()

    def _defer_to_answers(self) -> None:
        with self._answered:
            self._answered.wait_for(lambda: not self._answering, self.config.defer_seconds)

    # -- running jobs ------------------------------------------------------------

    def run_once(self) -> Job | None:
        """Claim and run one due job; returns it as stored afterwards, or None if idle."""
        job = self.queue.claim(self.owner, self.config.lease_seconds)
        if job is None:
            return None
        self.execute(job)
        return self.queue.get(job.id)

    def execute(self, job: Job) -> Outcome:
        with self._lock:
            self._running[job.id] = job
        started = time.perf_counter()
        try:
            with bound(**job_fields(job)), cpu_budget(self.config.cpu_seconds):
                outcome = self._run(job)
        finally:
            with self._lock:
                self._running.pop(job.id, None)
        elapsed = time.perf_counter() - started
        self.metrics.observe_job(job.kind, outcome.value, elapsed)
        with bound(**job_fields(job)):
            # Routine successes are debug lines; anything else is worth reading.
            log = self._log.debug if outcome is Outcome.DONE else self._log.info
            log("job_finished", outcome=outcome.value, seconds=round(elapsed, 4))
        return outcome

    def _run(self, job: Job) -> Outcome:
        kind = self.registry.get(job.kind)
        if kind is None:
            return self._bury(job, None, MSG_NO_HANDLER.format(kind=job.kind))
        if job.attempts > kind.retry.max_attempts:
            # A crash loop: every attempt so far died with its worker (or lost its lease).
            # This claim is not an attempt: the handler does not run again.
            return self._bury(job, kind, abandoned_error(job), refund=True)
        try:
            kind.handler(job, self._context(job))
        except GitHubRateLimited as exc:
            return self._pause(job, exc)
        except Exception as exc:
            if self._stopping.is_set():
                return self._interrupted(job, exc)
            return self._failed(job, kind, exc)
        return self._settle(self.queue.complete(job.id, self.owner), Outcome.DONE)

    def _context(self, job: Job) -> JobContext:
        children = itertools.count()

        def enqueue(spec: JobSpec) -> Job:
            child = self.queue.enqueue(child_spec(job, spec, next(children)))
            self.wake()
            return child

        return JobContext(
            job=job,
            settings=self.settings,
            clock=self.clock,
            log=get_logger(**job_fields(job)),
            enqueue=enqueue,
            github_factory=self.github_factory,
            stopping=self._stopping,
        )

    def _failed(self, job: Job, kind: JobKind, exc: Exception) -> Outcome:
        error = self._redactor.text(f"{type(exc).__name__}: {exc}")
        if kind.retry.exhausted(job.attempts):
            self._log.error("job_dead", error=error, trace=traceback.format_exc())
            return self._bury(job, kind, error)
        delay = kind.retry.delay(job.attempts, self.rand())
        self._log.warning("job_retry", error=error, retry_in=round(delay, 3))
        stored = self.queue.fail(job.id, self.owner, error, self.clock.now() + delay)
        return self._settle(stored, Outcome.RETRY)

    def _interrupted(self, job: Job, exc: Exception) -> Outcome:
        """A job failing while we shut down (``ctx.stopping``) is released, not charged."""
        self._log.info("job_interrupted", error=self._redactor.text(str(exc)))
        released = self.queue.release(job.id, self.owner, refund=True)
        return self._settle(released, Outcome.RELEASED)

    def bury_orphan(self, job: Job, error: str) -> Outcome:
        """Dead-letter a running job whose process was stopped because of the job itself.

        The supervisor of worker processes calls this when the kernel stopped one for
        exceeding its CPU budget: running it again would only burn the budget again.
        The kind's ``on_dead`` hook runs here, once, as for any dead job.
        """
        with bound(**job_fields(job)):
            return self._bury(job, self.registry.get(job.kind), error, owner=job.lease_owner)

    def _bury(
        self,
        job: Job,
        kind: JobKind | None,
        error: str,
        *,
        refund: bool = False,
        owner: str | None = None,
    ) -> Outcome:
        """Dead-letter ``job``; if this worker made the transition, run the kind's hook."""
        self._log.error("job_dead_lettered", error=error)
        buried = self.queue.fail(job.id, owner or self.owner, error, None, refund=refund)
        if buried and kind is not None and kind.on_dead is not None:
            attempts = job.attempts - 1 if refund else job.attempts
            dead = replace(job, state=JobState.DEAD, attempts=attempts, last_error=error)
            self._after_death(kind.on_dead, dead, error)
        return self._settle(buried, Outcome.DEAD)

    def _after_death(self, hook: DeadHandler, job: Job, error: str) -> None:
        """Best effort: a failing hook is logged; the job stays dead, the worker goes on."""
        try:
            hook(job, error, self._context(job))
        except Exception as exc:
            self._log.exception("job_dead_hook_failed", error=self._redactor.text(str(exc)))

    def _pause(self, job: Job, exc: GitHubRateLimited) -> Outcome:
        """Wait for the reset without spending an attempt; hold the installation too."""
        until = rate_limit_until(exc, self.clock.now())
        installation = job.installation_id
        self.queue.pause_installation(
            TOKEN_MODE_INSTALLATION if installation is None else installation, until
        )
        released = self.queue.release(job.id, self.owner, until, refund=True)
        self._log.warning("job_rate_limited", until=until, route=exc.route)
        return self._settle(released, Outcome.RATE_LIMITED)

    def _settle(self, stored: bool, outcome: Outcome) -> Outcome:
        if stored:
            return outcome
        self._log.warning("job_lease_lost", wanted=outcome.value)
        return Outcome.LOST

    # -- threads -----------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._defer_to_answers()
            if not self._step():
                self._wake.wait(self.config.poll_seconds)
                self._wake.clear()

    def _step(self) -> bool:
        """Run one job if one is due; False when idle or the store failed (then back off)."""
        try:
            job = self.queue.claim(self.owner, self.config.lease_seconds)
            if job is None:
                return False
            self.execute(job)
        except QueueError:
            self._log.exception("worker_store_failed")
            return False
        return True

    def _heartbeat(self) -> None:
        while not self._stopping.wait(self.config.heartbeat_seconds):
            try:
                self.queue.extend(self.owner, self.config.lease_seconds)
            except QueueError:
                self._log.exception("heartbeat_failed")
            try:
                self.prune()
            except QueueError:
                self._log.exception("prune_failed")

    def prune(self) -> int:
        """Delete one bounded batch of jobs finished longer ago than the retention."""
        done_before, dead_before = self.settings.retention.cutoffs(self.clock.now())
        pruned = self.queue.prune(done_before, dead_before, PRUNE_BATCH)
        if pruned:
            self._log.info("jobs_pruned", count=pruned)
        return pruned

    def _release_running(self) -> list[Job]:
        with self._lock:
            unfinished = list(self._running.values())
        for job in unfinished:
            self.queue.release(job.id, self.owner, refund=True)
        return unfinished


def abandoned_error(job: Job) -> str:
    """Why a job claimed past its last attempt is dead: its attempts (and last error) died."""
    attempts = job.attempts - 1
    earlier = job.last_error or ""
    # A job re-driven after an earlier abandonment still carries that message: not news.
    if earlier and not earlier.startswith(MSG_ABANDONED.partition("{")[0]):
        return MSG_ABANDONED_AFTER_ERROR.format(attempts=attempts, error=earlier)
    return MSG_ABANDONED.format(attempts=attempts)


def rate_limit_until(exc: GitHubRateLimited, now: float) -> float:
    """When to try again: the later of ``Retry-After`` and the reset time, else a minute."""
    candidates = [exc.reset_at or 0.0]
    if exc.retry_after is not None:
        candidates.append(now + exc.retry_after)
    until = max(candidates)
    return until if until > now else now + DEFAULT_RATE_LIMIT_WAIT
