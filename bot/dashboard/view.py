"""The dashboard's pure core: a :class:`Snapshot` of plans, runs, jobs and budgets in, a view out.

:func:`dashboard_view` takes plain data read from the store, with the clock's ``now``,
and returns a :class:`DashboardView`: the timelines of live and recently finished
plans, queue depth, success rates, the slowest stages, recent failures and GitHub
rate-limit headroom. Nothing here reads a store or the clock.
"""

from __future__ import annotations

import enum
import functools
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from bot.features.execution.model import Phase, Run, TaskRun
from bot.jobs import JobState
from bot.log import Redactor
from bot.plan.model import Plan, PlanState, Task, TaskStatus
from bot.queue import QueueStats
from bot.rate_limits import Budget
from bot.run_metrics import span

HOUR = 3600.0
DAY = 86400.0
REFRESH_SECONDS = 5
MAX_PLANS = 10
MAX_FAILURES = 10
MAX_STAGES = 8
MAX_REASON_CHARS = 200
MIN_BAR_PERCENT = 0.8
TEXT_BAR_WIDTH = 32
DASHBOARD_PATH = "/dashboard"
JSON_PATH = "/dashboard.json"


class Tone(enum.StrEnum):
    """The colour class of a task's bar; the legend lists them in this order."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    GATES = "gates"
    HANDOFF = "handoff"
    MERGED = "merged"
    FAILED = "failed"
    SKIPPED = "skipped"


# What each execution phase (or, before execution, plan status) is called, and its tone.
PHASE_LABELS: dict[Phase, tuple[str, Tone]] = {
    Phase.WAITING: ("pending", Tone.PENDING),
    Phase.QUEUED: ("queued", Tone.QUEUED),
    Phase.RUNNING: ("running", Tone.RUNNING),
    Phase.REVIEW: ("gates", Tone.GATES),
    Phase.HANDOFF: ("handoff", Tone.HANDOFF),
    Phase.MERGED: ("merged", Tone.MERGED),
    Phase.NO_CHANGE: ("no change", Tone.MERGED),
    Phase.FAILED: ("failed", Tone.FAILED),
    Phase.CANCELLED: ("cancelled", Tone.SKIPPED),
}
STATUS_LABELS: dict[TaskStatus, tuple[str, Tone]] = {
    TaskStatus.PENDING: ("pending", Tone.PENDING),
    TaskStatus.IN_PROGRESS: ("running", Tone.RUNNING),
    TaskStatus.COMPLETED: ("done", Tone.MERGED),
    TaskStatus.FAILED: ("failed", Tone.FAILED),
    TaskStatus.SKIPPED: ("skipped", Tone.SKIPPED),
    TaskStatus.CANCELLED: ("cancelled", Tone.SKIPPED),
}
TONE_COLOURS: dict[Tone, str] = {
    Tone.PENDING: "#9aa4af",
    Tone.QUEUED: "#7fb3e6",
    Tone.RUNNING: "#1f6feb",
    Tone.GATES: "#d29922",
    Tone.HANDOFF: "#8250df",
    Tone.MERGED: "#2da44e",
    Tone.FAILED: "#cf222e",
    Tone.SKIPPED: "#d0d7de",
}
# Task execution stages, as (name, from field, to field) of a TaskRun.
TASK_STAGES = (
    ("task: waiting for a worker", "queued_at", "started_at"),
    ("task: executor", "started_at", "executed_at"),
    ("task: gates and review", "executed_at", "finished_at"),
)
LIVE_PLAN_STATES = frozenset({PlanState.APPROVED, PlanState.RUNNING})


# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class FinishedJob:
    """A job that ended (done or dead), as the dashboard needs it."""

    id: int
    kind: str
    state: JobState
    due_at: float
    finished_at: float
    delivery_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything the dashboard shows, read at one moment (``now``, epoch seconds)."""

    now: float
    plans: Sequence[tuple[str, int, Plan]] = ()  # repository, issue, plan
    runs: Sequence[Run] = ()
    queue: QueueStats = field(default_factory=lambda: QueueStats({}, 0.0))
    jobs: Sequence[FinishedJob] = ()  # finished within the last day, newest first
    budgets: Sequence[Budget] = ()


# ------------------------------------------------------------------------------ view


@dataclass(frozen=True)
class TaskRow:
    """One task of a plan's timeline; ``offset``/``width`` are percents of the plan's span."""

    id: str
    title: str
    specialist: str
    status: str
    tone: Tone
    start: float | None = None  # seconds since the plan started
    end: float | None = None  # None while in flight (the bar runs to now)
    offset: float = 0.0
    width: float = 0.0
    attempt: int = 0
    pr: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Timeline:
    repo: str
    issue: int
    title: str
    state: str
    active: bool
    seconds: float
    done: int
    rows: tuple[TaskRow, ...]


@dataclass(frozen=True)
class Rate:
    window: str
    done: int
    dead: int

    @property
    def ratio(self) -> float | None:
        finished = self.done + self.dead
        return self.done / finished if finished else None


@dataclass(frozen=True)
class StageTime:
    name: str
    samples: int
    median: float
    p90: float


@dataclass(frozen=True)
class Failure:
    at: float
    what: str
    reason: str
    delivery_id: str | None = None


@dataclass(frozen=True)
class Headroom:
    identity: str
    remaining: int
    limit: int | None
    resets_in: float | None  # seconds; None when unknown
    seen_ago: float


@dataclass(frozen=True)
class DashboardView:
    generated_at: float
    timelines: tuple[Timeline, ...] = ()
    queue: dict[str, int] = field(default_factory=dict)
    oldest_ready: float = 0.0
    rates: tuple[Rate, ...] = ()
    stages: tuple[StageTime, ...] = ()  # slowest first (by p90)
    failures: tuple[Failure, ...] = ()
    headroom: tuple[Headroom, ...] = ()

    @property
    def depth(self) -> int:
        """Jobs waiting or running."""
        return self.queue.get(JobState.PENDING.value, 0) + self.queue.get(JobState.RUNNING.value, 0)

    @property
    def slowest(self) -> StageTime | None:
        return self.stages[0] if self.stages else None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _adapter().dump_python(self, mode="json")
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DashboardView:
        return _adapter().validate_python(dict(data))


@functools.cache
def _adapter() -> TypeAdapter[DashboardView]:
    return TypeAdapter(DashboardView)


# ------------------------------------------------------------------------- pure core


def dashboard_view(snapshot: Snapshot, redact: Callable[[str], str] | None = None) -> DashboardView:
    """The dashboard's data; ``redact`` masks secrets in failure reasons."""
    scrub = redact or Redactor().text
    runs = {(run.repo.lower(), run.issue): run for run in snapshot.runs}
    return DashboardView(
        generated_at=snapshot.now,
        timelines=timelines(snapshot.plans, runs, snapshot.now),
        queue={state.value: count for state, count in snapshot.queue.by_state.items()},
        oldest_ready=round(snapshot.queue.oldest_ready_age, 3),
        rates=success_rates(snapshot.jobs, snapshot.now),
        stages=stage_times(snapshot.runs, snapshot.jobs),
        failures=failures(snapshot.jobs, snapshot.plans, runs, scrub),
        headroom=tuple(headroom(budget, snapshot.now) for budget in snapshot.budgets),
    )


def timelines(
    plans: Iterable[tuple[str, int, Plan]], runs: Mapping[tuple[str, int], Run], now: float
) -> tuple[Timeline, ...]:
    """Plans under way first, then those finished within a day, most recent first."""
    shown: list[tuple[bool, float, Timeline]] = []
    for repo, issue, plan in plans:
        run = runs.get((repo.lower(), issue))
        if shown_plan(plan, run, now):
            line = timeline(repo, issue, plan, run, now)
            ended = now if run is None or run.finished_at is None else run.finished_at
            shown.append((not line.active, -ended, line))
    shown.sort(key=lambda item: item[:2])
    return tuple(line for _, _, line in shown[:MAX_PLANS])


def shown_plan(plan: Plan, run: Run | None, now: float) -> bool:
    if plan.state in LIVE_PLAN_STATES or (run is not None and run.active):
        return True
    finished = None if run is None else run.finished_at
    return finished is not None and now - finished <= DAY


def timeline(repo: str, issue: int, plan: Plan, run: Run | None, now: float) -> Timeline:
    run = run or Run(repo, issue)
    start, end = span(run)
    active = plan.state in LIVE_PLAN_STATES or run.active
    if start is not None and (end is None or active):
        end = now
    total = max((end or 0.0) - (start or 0.0), 0.0)
    rows = tuple(task_row(task, run.tasks.get(task.id), start, total, now) for task in plan.tasks)
    return Timeline(
        repo=repo,
        issue=issue,
        title=plan.title,
        state=plan.state.value,
        active=active,
        seconds=round(total, 3),
        done=sum(1 for row in rows if row.tone is Tone.MERGED),
        rows=rows,
    )


def task_row(
    task: Task, state: TaskRun | None, origin: float | None, total: float, now: float
) -> TaskRow:
    """A task's bar: from its first start (or queueing) to its end, or to now while in flight."""
    if state is None or (state.phase is Phase.WAITING and task.status is not TaskStatus.PENDING):
        label, tone = STATUS_LABELS[task.status]
    else:
        label, tone = PHASE_LABELS[state.phase]
    row = TaskRow(task.id, task.title, task.agent, label, tone)
    if state is None or origin is None:
        return row
    began = state.started_at or state.queued_at
    ended = state.finished_at or (now if state.phase.in_flight else None)
    if began is None:
        return row
    start = max(began - origin, 0.0)
    end = max((ended or began) - origin, start)
    offset = 100.0 * start / total if total else 0.0
    width = max(100.0 * (end - start) / total if total else 100.0, MIN_BAR_PERCENT)
    return TaskRow(
        task.id,
        task.title,
        task.agent,
        label,
        tone,
        start=round(start, 3),
        end=round(end, 3) if state.finished_at is not None else None,
        offset=round(min(offset, 100.0 - MIN_BAR_PERCENT), 2),
        width=round(min(width, 100.0 - min(offset, 100.0 - MIN_BAR_PERCENT)), 2),
        attempt=state.attempt,
        pr=state.pr,
        reason=state.reason,
    )


def success_rates(jobs: Iterable[FinishedJob], now: float) -> tuple[Rate, ...]:
    """done ÷ (done + dead) among jobs that finished within the last hour and day."""
    listed = list(jobs)
    rates = []
    for window, seconds in (("last hour", HOUR), ("last day", DAY)):
        recent = [job for job in listed if now - job.finished_at <= seconds]
        done = sum(1 for job in recent if job.state is JobState.DONE)
        dead = sum(1 for job in recent if job.state is JobState.DEAD)
        rates.append(Rate(window, done, dead))
    return tuple(rates)


def stage_times(runs: Iterable[Run], jobs: Iterable[FinishedJob]) -> tuple[StageTime, ...]:
    """Median and p90 of each task stage and each job kind (due to done), slowest first."""
    samples: dict[str, list[float]] = {}
    for run in runs:
        for task in run.tasks.values():
            for name, begin, end in TASK_STAGES:
                first, last = getattr(task, begin), getattr(task, end)
                if first is not None and last is not None and last >= first:
                    samples.setdefault(name, []).append(last - first)
    for job in jobs:
        if job.state is JobState.DONE:
            samples.setdefault(f"job: {job.kind}", []).append(max(job.finished_at - job.due_at, 0))
    found = [StageTime(name, len(v), *_median_p90(v)) for name, v in samples.items()]
    return tuple(sorted(found, key=lambda stage: (-stage.p90, stage.name))[:MAX_STAGES])


def _median_p90(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p90 = ordered[min(int(0.9 * len(ordered)), len(ordered) - 1)]
    return round(statistics.median(ordered), 3), round(p90, 3)


def failures(
    jobs: Iterable[FinishedJob],
    plans: Iterable[tuple[str, int, Plan]],
    runs: Mapping[tuple[str, int], Run],
    redact: Callable[[str], str],
) -> tuple[Failure, ...]:
    """Dead-lettered jobs and failed tasks, newest first, reasons redacted and shortened."""
    found = [
        Failure(
            job.finished_at, f"job {job.id} {job.kind}", reason(job.error, redact), job.delivery_id
        )
        for job in jobs
        if job.state is JobState.DEAD
    ]
    for repo, issue, plan in plans:
        run = runs.get((repo.lower(), issue))
        for task_id, task in run.tasks.items() if run else ():
            if task.phase is Phase.FAILED:
                title = plan.task(task_id)
                what = f"{repo}#{issue} {task_id}" + (f" {title.title}" if title else "")
                found.append(Failure(task.finished_at or 0.0, what, reason(task.reason, redact)))
    found.sort(key=lambda failure: -failure.at)
    return tuple(found[:MAX_FAILURES])


def reason(text: str | None, redact: Callable[[str], str]) -> str:
    """The last line of an error (a traceback ends with the exception), masked and cut."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    last = redact(lines[-1]) if lines else "no reason recorded"
    return last if len(last) <= MAX_REASON_CHARS else last[: MAX_REASON_CHARS - 1] + "…"


def headroom(budget: Budget, now: float) -> Headroom:
    resets_in = None if budget.reset_at is None else max(budget.reset_at - now, 0.0)
    return Headroom(
        budget.identity,
        budget.remaining,
        budget.limit,
        None if resets_in is None else round(resets_in, 1),
        round(max(now - budget.seen_at, 0.0), 1),
    )
