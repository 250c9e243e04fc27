"""The execution record of one plan: per-task phases, attempts, timings, branches and PRs."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import TypeAdapter


class Phase(enum.StrEnum):
    """Where one task's current attempt stands."""

    WAITING = "waiting"  # not started (dependencies, parallelism)
    QUEUED = "queued"  # its task job is scheduled
    RUNNING = "running"  # the executor works in the task's worktree
    REVIEW = "review"  # its pull request waits for gates (and reviews)
    HANDOFF = "handoff"  # a draft pull request waits for a person to merge it
    MERGED = "merged"  # merged into the integration branch: the task is complete
    NO_CHANGE = "no_change"  # done without a change
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def in_flight(self) -> bool:
        return self in (Phase.QUEUED, Phase.RUNNING, Phase.REVIEW)

    @property
    def done(self) -> bool:
        return self in (Phase.MERGED, Phase.NO_CHANGE)


@dataclass(frozen=True)
class HandoffRecord:
    """What a finished task passes on (mirrors ``agents.executors.base.Handoff``)."""

    summary: str = ""
    changed_files: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    pr_url: str = ""


@dataclass(frozen=True)
class MessageRecord:
    """An agent's message delivered to another task (``to``: a task id or ``*``)."""

    sender: str
    to: str
    kind: str
    text: str


@dataclass(frozen=True)
class TaskRun:
    """One task's execution. Times are epoch seconds; ``executor_seconds`` sums attempts."""

    phase: Phase = Phase.WAITING
    attempt: int = 0
    failures: int = 0
    queued_at: float | None = None
    started_at: float | None = None
    executed_at: float | None = None
    finished_at: float | None = None
    executor_seconds: float = 0.0
    branch: str = ""
    pr: int | None = None
    pr_url: str = ""
    head_sha: str = ""
    reason: str = ""
    retry_notes: tuple[str, ...] = ()
    gates_passed: bool = False  # waiting only for reviews
    gates: tuple[str, ...] = ()  # the required gates' conclusions when it merged
    approved_by: tuple[str, ...] = ()
    gate_retried: bool = False
    conflict_retried: bool = False
    handoff: HandoffRecord | None = None
    log: str = ""
    order_chars: int = 0
    context_chars: int = 0
    after: tuple[str, ...] = ()  # implicit dependencies: overlapping paths in one wave
    mentioned: bool = False
    # Who worked on the current attempt, and the job lineage it traces back to: the
    # same values as the TechLead-Trace, -Agent and -Delivery trailers of its commit.
    trace_id: str = ""
    agent: str = ""
    delivery_id: str = ""

    @property
    def seconds(self) -> float:
        """Wall time from the first start to completion (0 until both are known)."""
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return max(self.finished_at - self.started_at, 0.0)


@dataclass(frozen=True)
class Run:
    """The execution of one plan. ``revision`` 0: nothing saved yet."""

    repo: str
    issue: int
    revision: int = 0
    installation: int | None = None
    integration_branch: str = ""
    base_sha: str = ""
    integration_pr: int | None = None
    integration_url: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    tasks: dict[str, TaskRun] = field(default_factory=dict)
    messages: tuple[MessageRecord, ...] = ()
    cleaned_up: bool = False
    dry_run: tuple[str, ...] = ()  # what would be created (``execution.dry_run``)
    kicks: int = 0
    # The trace and delivery that started the execution.
    trace_id: str = ""
    delivery_id: str = ""

    def task(self, task_id: str) -> TaskRun:
        return self.tasks.get(task_id, TaskRun())

    @property
    def active(self) -> bool:
        """Some task is under way (queued, running or waiting for its gates)."""
        return any(task.phase.in_flight for task in self.tasks.values())

    def with_task(self, task_id: str, **changes: Any) -> Run:
        tasks = dict(self.tasks)
        tasks[task_id] = replace(self.task(task_id), **changes)
        return replace(self, tasks=tasks)

    def to_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """The record as JSON values; ``compact`` leaves out fields at their defaults."""
        result: dict[str, Any] = _adapter().dump_python(self, mode="json", exclude_defaults=compact)
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        return _adapter().validate_python(data)


@dataclass(frozen=True)
class Metrics:
    """Per plan: Σ task time ÷ (wall x parallelism), and the share of wall time not executing."""

    wall_seconds: float
    task_seconds: float
    executor_seconds: float
    parallelism: int
    efficiency: float
    overhead: float


@functools.cache
def _adapter() -> TypeAdapter[Run]:
    return TypeAdapter(Run)
