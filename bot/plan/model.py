"""The plan's data: tasks, their statuses and links, plan states and version diffs."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import TypeAdapter


class TaskStatus(enum.StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def started(self) -> bool:
        return self in (TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED, TaskStatus.FAILED)

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.SKIPPED, TaskStatus.CANCELLED)


class Priority(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for high: sorts high-priority work first."""
        return _PRIORITY_ORDER.index(self)


_PRIORITY_ORDER = list(Priority)


class PlanState(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    INVALID = "invalid"


class Category(enum.StrEnum):
    """The kind of work a task is; it decides the default order (see bot.plan.deps)."""

    CONTRACT = "contract"
    IMPLEMENTATION = "implementation"
    FRONTEND = "frontend"
    TESTS = "tests"
    DOCS = "docs"


class PlanSource(enum.StrEnum):
    """Where the tasks came from."""

    TASK_LIST = "task_list"
    SECTIONS = "sections"
    PROSE = "prose"
    FALLBACK = "fallback"


class CancelReason(enum.StrEnum):
    BY_USER = "by_user"
    ISSUE_CLOSED = "issue_closed"
    LABEL_REMOVED = "label_removed"


@dataclass(frozen=True)
class IssueInput:
    """The issue being planned, as plain values."""

    title: str
    body: str
    number: int | None = None
    labels: tuple[str, ...] = ()
    # The repository's issue templates (.github/ISSUE_TEMPLATE/*), whose text is not
    # the author's and never becomes a task.
    templates: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return f"{self.title}\n\n{self.body}"


@dataclass(frozen=True)
class TaskLinks:
    branch: str | None = None
    pr: int | None = None


@dataclass(frozen=True)
class Task:
    """One unit of work. ``depends_on`` holds task ids; ``external_deps`` issue numbers
    that must be closed first."""

    id: str
    title: str
    agent: str
    priority: Priority = Priority.MEDIUM
    status: TaskStatus = TaskStatus.PENDING
    depends_on: tuple[str, ...] = ()
    external_deps: tuple[int, ...] = ()
    category: Category = Category.IMPLEMENTATION
    body: str = ""
    links: TaskLinks = field(default_factory=TaskLinks)
    reasoning: tuple[str, ...] = ()
    # False once the task's item left the issue but the task stays listed (it had started).
    in_issue: bool = True
    # Files research suggests starting from; kept apart from the text, which is the issue's.
    files: tuple[str, ...] = ()

    @property
    def number(self) -> int:
        """The numeric part of the id (T12 -> 12), for ordering."""
        digits = self.id.lstrip("Tt")
        return int(digits) if digits.isdigit() else 0


@dataclass(frozen=True)
class TaskChange:
    id: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class RemovedTask:
    """A task whose item left the issue; ``kept_as`` is its status if it stays listed."""

    id: str
    title: str
    kept_as: TaskStatus | None = None


@dataclass(frozen=True)
class PlanDiff:
    added: tuple[str, ...] = ()
    removed: tuple[RemovedTask, ...] = ()
    changed: tuple[TaskChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class Plan:
    """A versioned plan for one issue. ``next_id`` is never reused, even after removals."""

    title: str
    tasks: tuple[Task, ...]
    issue_number: int | None = None
    version: int = 1
    state: PlanState = PlanState.AWAITING_APPROVAL
    source: PlanSource = PlanSource.TASK_LIST
    next_id: int = 1
    diff: PlanDiff | None = None
    cancel_reason: CancelReason | None = None
    cancelled_by: str | None = None
    # The issue's kind (bot.plan.reading.IssueKind) and the issues it lists as items.
    kind: str | None = None
    linked: tuple[str, ...] = ()
    kind_reason: str = ""
    # Lines for the checklist about how the plan was made (the model planner's cost, or
    # why its plan was not used).
    notes: tuple[str, ...] = ()
    # The delivery and trace of the job that last saved the plan (bot.jobs.Job lineage),
    # so the checklist's hidden state traces back to what changed it.
    delivery_id: str = ""
    trace_id: str = ""

    def task(self, task_id: str) -> Task | None:
        return next((task for task in self.tasks if task.id == task_id), None)

    def ids(self) -> tuple[str, ...]:
        return tuple(task.id for task in self.tasks)

    def with_task(self, task_id: str, **changes: Any) -> Plan:
        """A copy with one task's fields replaced (status, links...)."""
        tasks = tuple(
            replace(task, **changes) if task.id == task_id else task for task in self.tasks
        )
        return replace(self, tasks=tasks)

    def traced(self, delivery_id: str | None, trace_id: str) -> Plan:
        """A copy naming the delivery and trace that changed it."""
        return replace(self, delivery_id=delivery_id or "", trace_id=trace_id)

    def cancel(self, reason: CancelReason, actor: str | None = None) -> Plan:
        """A copy in the cancelled state, saying why (and who, when a person did it)."""
        return replace(self, state=PlanState.CANCELLED, cancel_reason=reason, cancelled_by=actor)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _adapter().dump_python(self, mode="json")
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return _adapter().validate_python(data)


def task_id(number: int) -> str:
    return f"T{number}"


@functools.cache
def _adapter() -> TypeAdapter[Plan]:
    return TypeAdapter(Plan)
