"""Job types: what to run (JobSpec), a stored job (Job), retry policy and the handler registry.

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


class JobState(enum.StrEnum):
    PENDING = "pending"  # waiting for run_at (and its installation's pause) to pass
    RUNNING = "running"  # leased by a worker until lease_expires
    DONE = "done"
    DEAD = "dead"  # dead-lettered: out of attempts, or no handler; re-drive with `jobs retry`


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
