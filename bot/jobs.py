"""Job types: what to run (JobSpec), a stored job (Job), retry policy and the handler registry.

Every job has a :class:`Priority`: the queue serves urgent jobs (a person waits for the
answer) before normal ones, and bulk work last; ``KIND_PRIORITIES`` gives each kind its
default, a :class:`JobSpec` may say otherwise. :class:`Retention` says how long finished
jobs (and with them their dedupe keys) are kept.

A kind may register an ``on_dead`` hook: the worker calls it once each time a job of that
kind is dead-lettered (out of attempts, or abandoned by workers that kept dying), so a
feature leaves its visible state finished (a check run completed, a comment saying what
happened) however the job ended. The hook is best effort: it runs after the job is dead,
and its own failure is only logged.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.context import JobContext

DEFAULT_MAX_ATTEMPTS = 5
DAY = 24 * 3600.0
# GitHub lists an App's deliveries, and lets them be redelivered with the same
# X-GitHub-Delivery, for 3 days; a dedupe key must outlive that, with a day to spare.
# https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks
REDELIVERY_DAYS = 3
MIN_RETENTION = (REDELIVERY_DAYS + 1) * DAY
DEFAULT_RETENTION = 7 * DAY
DEFAULT_DEAD_RETENTION = 30 * DAY


class JobState(enum.StrEnum):
    PENDING = "pending"  # waiting for run_at (and its installation's pause) to pass
    RUNNING = "running"  # leased by a worker until lease_expires
    DONE = "done"
    DEAD = "dead"  # dead-lettered: out of attempts, or no handler; re-drive with `jobs retry`


class Priority(enum.IntEnum):
    """How soon a job should run; a lower value goes first."""

    URGENT = 0  # a person waits: routing a webhook, answering a command, the plan comment
    NORMAL = 1  # gates, reviews, execution steps
    LOW = 2  # bulk: re-plans, backfills, sweeps


# The default priority of each kind; a kind not listed is normal.
KIND_PRIORITIES: Mapping[str, Priority] = {
    "delivery.route": Priority.URGENT,
    "plan.run": Priority.URGENT,
    "plan.command": Priority.URGENT,
    "plan.ticks": Priority.URGENT,
    "plan.cancel": Priority.URGENT,
    "reviews.command": Priority.URGENT,
    "gates.ok_to_test": Priority.URGENT,
}


def kind_priority(kind: str) -> Priority:
    return KIND_PRIORITIES.get(kind, Priority.NORMAL)


@dataclass(frozen=True)
class JobSpec:
    """A job to schedule. ``dedupe_key`` makes scheduling idempotent.

    Lineage (delivery, trace, parent, installation) is filled in from the scheduling
    job by ``ctx.enqueue``; set it only for jobs that start a new trace.
    """

    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    installation_id: int | None = None
    delay: float = 0.0
    delivery_id: str | None = None
    trace_id: str | None = None
    parent_id: int | None = None
    priority: Priority | None = None  # None: the kind's (``KIND_PRIORITIES``)

    @property
    def effective_priority(self) -> Priority:
        return kind_priority(self.kind) if self.priority is None else self.priority


@dataclass(frozen=True)
class Job:
    """A stored job, as a worker or ``techlead jobs list`` sees it."""

    id: int
    kind: str
    payload: dict[str, Any]
    dedupe_key: str
    state: JobState
    attempts: int
    run_at: float
    trace_id: str
    delivery_id: str | None = None
    parent_id: int | None = None
    installation_id: int | None = None
    lease_owner: str | None = None
    lease_expires: float | None = None
    last_error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True)
class Retention:
    """How long finished jobs stay listable; their dedupe keys go with them.

    ``done`` can be shortened to no less than :data:`MIN_RETENTION`: a delivery GitHub
    redelivers must still find its routing job's dedupe key. Dead jobs stay longer
    (someone has to look at them); re-driving one makes it pending again, out of reach.
    """

    done: float = DEFAULT_RETENTION
    dead: float = DEFAULT_DEAD_RETENTION

    def __post_init__(self) -> None:
        if min(self.done, self.dead) < MIN_RETENTION:
            raise ValueError(f"retention under {MIN_RETENTION / DAY:g} days")

    def cutoffs(self, now: float) -> tuple[float, float]:
        """Done jobs finished before the first, dead ones before the second, may go."""
        return now - self.done, now - self.dead


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, then the dead-letter state after ``max_attempts``."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base: float = 2.0
    factor: float = 2.0
    cap: float = 3600.0

    def delay(self, attempts: int, rand: float) -> float:
        """Seconds before attempt ``attempts + 1``; ``rand`` in [0, 1) spreads retries.

        "Equal jitter": half the backoff is fixed, half random, so retries never bunch
        up and never fire immediately.
        """
        backoff = min(self.cap, self.base * self.factor ** max(attempts - 1, 0))
        return backoff / 2 + backoff / 2 * rand

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


JobHandler = Callable[[Job, "JobContext"], None]
# Called with the dead job, why it died (its last error, secrets redacted) and a fresh context.
DeadHandler = Callable[[Job, str, "JobContext"], None]


@dataclass(frozen=True)
class JobKind:
    """A registered job kind: its handler, its retry policy and its dead-letter hook."""

    name: str
    handler: JobHandler
    retry: RetryPolicy
    on_dead: DeadHandler | None = None


class JobRegistry:
    """Job handlers by kind. ``@jobs.register("plan.run", max_attempts=5, on_dead=report)``."""

    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}

    def register(
        self,
        kind: str,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry: RetryPolicy | None = None,
        on_dead: DeadHandler | None = None,
    ) -> Callable[[JobHandler], JobHandler]:
        policy = retry or RetryPolicy(max_attempts=max_attempts)

        def decorate(handler: JobHandler) -> JobHandler:
            self.add(JobKind(kind, handler, policy, on_dead))
            return handler

        return decorate

    def add(self, kind: JobKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"job kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind

    def get(self, kind: str) -> JobKind | None:
        return self._kinds.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self._kinds)

    @classmethod
    def compose(cls, *registries: JobRegistry) -> JobRegistry:
        """One registry holding every kind; a kind registered twice is an error."""
        merged = cls()
        for registry in registries:
            for kind in registry._kinds.values():
                merged.add(kind)
        return merged
