"""The live dashboard: plans, runs, queue and GitHub budgets as a view, rendered as HTML or text.

:func:`dashboard_view` is the pure core: plain data in (a :class:`Snapshot` read from
the store, with the clock's ``now``), plain data out (a :class:`DashboardView`). The
renderers turn a view into the page served at ``/dashboard`` (server-rendered, inline
CSS, refreshed by a ``<meta>`` tag, readable without JavaScript or even CSS) and into
the lines ``techlead status`` prints; ``/dashboard.json`` is the view itself.
Reading the snapshot (:func:`read_snapshot`) and the access rule (:func:`access`) sit
at the end; ``bot.app`` serves the routes.
"""

from __future__ import annotations

import enum
import functools
import hmac
import html
import ipaddress
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from bot.context import Clock
from bot.errors import QueueError
from bot.features.execution.model import Phase, Run, TaskRun
from bot.jobs import JobState
from bot.log import Redactor, get_logger, secrets_of
from bot.plan.model import Plan, PlanState, Task, TaskStatus
from bot.queue import JobQueue, QueueStats, SqliteJobQueue
from bot.rate_limits import Budget, read_budgets
from bot.run_metrics import span
from bot.settings import Settings
from bot.state import plans_beside, runs_beside
from bot.store import Store

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


# ------------------------------------------------------------------------ formatting


def duration(seconds: float | None) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``; an em dash when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.1%}"


def clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span_text(row: TaskRow) -> str:
    """Where a task's bar lies, in words: ``0 s → 42 s (42 s)``."""
    if row.start is None:
        return "not started"
    if row.end is None:
        return f"{duration(row.start)} → now"
    return f"{duration(row.start)} → {duration(row.end)} ({duration(row.end - row.start)})"


def queue_text(view: DashboardView) -> str:
    counts = ", ".join(f"{count} {state}" for state, count in view.queue.items())
    oldest = duration(view.oldest_ready)
    return f"{view.depth} waiting or running, the oldest due for {oldest} (jobs: {counts})"


def least_headroom_text(rooms: Sequence[Headroom]) -> str:
    """The identity closest to running out (by share left, else by count)."""
    if not rooms:
        return "no GitHub response seen yet"
    room = min(rooms, key=lambda r: (_share_left(r), r.remaining))
    return f"{room.identity or 'unknown'}: {headroom_text(room)}"


def _share_left(room: Headroom) -> float:
    if room.limit:
        return room.remaining / room.limit
    return 0.0 if room.remaining == 0 else 1.0


def rate_text(rate: Rate) -> str:
    return f"{percent(rate.ratio)} ({rate.done} done, {rate.dead} dead)"


def stage_text(stage: StageTime | None) -> str:
    if stage is None:
        return "nothing measured yet"
    return (
        f"{stage.name}: p90 {duration(stage.p90)}, median {duration(stage.median)} "
        f"({stage.samples} samples)"
    )


def headroom_text(room: Headroom) -> str:
    limit = "?" if room.limit is None else str(room.limit)
    resets = "reset unknown" if room.resets_in is None else f"resets in {duration(room.resets_in)}"
    return f"{room.remaining}/{limit} left, {resets} (seen {duration(room.seen_ago)} ago)"


# ------------------------------------------------------------------------------ HTML

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TechLead dashboard</title>
<style>{css}</style>
</head>
<body>
<h1>TechLead dashboard</h1>
<p class="muted">Generated {generated}; refreshes every {refresh} s.</p>
<section id="health">
<h2>Queue and outcomes</h2>
<dl>
<dt>Queue depth</dt><dd id="queue">{queue}</dd>
{rates}
<dt>Slowest stage</dt><dd id="slowest">{slowest}</dd>
<dt>Least GitHub headroom</dt><dd id="least-headroom">{least}</dd>
</dl>
</section>
<section id="plans">
<h2>Plans</h2>
{legend}
{plans}
</section>
<section id="failures">
<h2>Recent failures</h2>
{failures}
</section>
<section id="rate-limits">
<h2>GitHub rate-limit headroom</h2>
{headroom}
</section>
<section id="stages">
<h2>Stage times</h2>
{stages}
</section>
</body>
</html>
"""
CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1f2328;max-width:80rem}"
    "h1{font-size:1.4rem;margin:0}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}"
    "h3{font-size:1rem;margin:1rem 0 .3rem}.muted{color:#656d76}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}"
    "dd{margin:0}table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #d8dee4;"
    "vertical-align:middle}th{font-weight:600;background:#f6f8fa}"
    "td.track-cell{width:40%}.track{position:relative;height:1rem;background:#f6f8fa;"
    "border:1px solid #d8dee4}.bar{position:absolute;top:0;bottom:0;min-width:3px}"
    ".legend span{display:inline-block;margin-right:1rem}"
    ".swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;"
    "vertical-align:middle}"
    + "".join(f".tone-{tone.value}{{background:{colour}}}" for tone, colour in TONE_COLOURS.items())
)
RATE_ITEM = '<dt>Success rate, {window}</dt><dd class="rate">{text}</dd>'
LEGEND = '<p class="legend">Legend: {items}</p>'
LEGEND_ITEM = '<span><span class="swatch tone-{tone}"></span>{tone}</span>'
PLAN_BLOCK = """<article class="plan" id="plan-{anchor}">
<h3>{repo}#{issue} · {title}</h3>
<p class="muted">{state} · {done}/{total} tasks done · {seconds}</p>
<table>
<thead><tr><th>Task</th><th>Title</th><th>Specialist</th><th>Status</th>
<th>Timeline (0 → {seconds})</th><th>When</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</article>"""
TASK_ROW = """<tr class="task" data-task="{id}" data-status="{status}">
<td>{id}</td><td>{title}</td><td>{specialist}</td><td>{status}{extra}</td>
<td class="track-cell"><div class="track">
<div class="bar tone-{tone}" style="left:{offset}%;width:{width}%"
 title="{id} {status}: {when}"></div>
</div></td>
<td>{when}</td>
</tr>"""
NO_PLANS = '<p class="muted">No plan is being carried out, and none finished in the last day.</p>'
STAGE_TABLE = """<table>
<thead><tr><th>Stage</th><th>p90</th><th>Median</th><th>Samples</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""
STAGE_ROW = "<tr><td>{name}</td><td>{p90}</td><td>{median}</td><td>{samples}</td></tr>"
NO_STAGES = '<p class="muted">Nothing measured yet.</p>'
FAILURE_TABLE = """<table>
<thead><tr><th>When</th><th>What</th><th>Reason</th><th>Delivery</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""
FAILURE_ROW = (
    '<tr class="failure"><td>{at}</td><td>{what}</td><td>{reason}</td><td>{delivery}</td></tr>'
)
NO_FAILURES = '<p class="muted">No failures in the last day.</p>'
HEADROOM_TABLE = """<table>
<thead><tr><th>Identity</th><th>Remaining</th><th>Reset</th><th>Seen</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""
HEADROOM_ROW = (
    "<tr><td>{identity}</td><td>{remaining}/{limit}</td><td>{resets}</td><td>{seen} ago</td></tr>"
)
NO_HEADROOM = '<p class="muted">No GitHub response seen yet.</p>'


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_html(view: DashboardView) -> str:
    """The whole page; every value from outside (titles, reasons, ids) is escaped."""
    rates = "\n".join(
        RATE_ITEM.format(window=_e(rate.window), text=_e(rate_text(rate))) for rate in view.rates
    )
    legend = LEGEND.format(items=" ".join(LEGEND_ITEM.format(tone=tone.value) for tone in Tone))
    return PAGE.format(
        refresh=REFRESH_SECONDS,
        css=CSS,
        generated=_e(clock(view.generated_at)),
        queue=_e(queue_text(view)),
        rates=rates,
        slowest=_e(stage_text(view.slowest)),
        least=_e(least_headroom_text(view.headroom)),
        legend=legend,
        plans="\n".join(_plan_html(line) for line in view.timelines) or NO_PLANS,
        stages=_stages_html(view.stages),
        failures=_failures_html(view.failures),
        headroom=_headroom_html(view.headroom),
    )


def _plan_html(line: Timeline) -> str:
    rows = "\n".join(
        TASK_ROW.format(
            id=_e(row.id),
            title=_e(row.title),
            specialist=_e(row.specialist),
            status=_e(row.status),
            extra=_e(_row_extra(row)),
            tone=row.tone.value,
            offset=f"{row.offset:.2f}",
            width=f"{row.width if row.start is not None else 0:.2f}",
            when=_e(span_text(row)),
        )
        for row in line.rows
    )
    return PLAN_BLOCK.format(
        anchor=_e(f"{line.repo}-{line.issue}".replace("/", "-")),
        repo=_e(line.repo),
        issue=line.issue,
        title=_e(line.title),
        state=_e(line.state),
        done=line.done,
        total=len(line.rows),
        seconds=_e(duration(line.seconds)),
        rows=rows,
    )


def _row_extra(row: TaskRow) -> str:
    parts = [f"#{row.pr}" if row.pr else "", f"attempt {row.attempt}" if row.attempt > 1 else ""]
    if row.reason and row.tone is Tone.FAILED:
        parts.append(row.reason[:MAX_REASON_CHARS])
    shown = " · ".join(part for part in parts if part)
    return f" ({shown})" if shown else ""


def _stages_html(stages: Sequence[StageTime]) -> str:
    if not stages:
        return NO_STAGES
    rows = "\n".join(
        STAGE_ROW.format(
            name=_e(stage.name),
            p90=_e(duration(stage.p90)),
            median=_e(duration(stage.median)),
            samples=stage.samples,
        )
        for stage in stages
    )
    return STAGE_TABLE.format(rows=rows)


def _failures_html(found: Sequence[Failure]) -> str:
    if not found:
        return NO_FAILURES
    rows = "\n".join(
        FAILURE_ROW.format(
            at=_e(clock(failure.at)),
            what=_e(failure.what),
            reason=_e(failure.reason),
            delivery=_e(failure.delivery_id or "—"),
        )
        for failure in found
    )
    return FAILURE_TABLE.format(rows=rows)


def _headroom_html(rooms: Sequence[Headroom]) -> str:
    if not rooms:
        return NO_HEADROOM
    rows = "\n".join(
        HEADROOM_ROW.format(
            identity=_e(room.identity or "unknown"),
            remaining=room.remaining,
            limit=_e("?" if room.limit is None else room.limit),
            resets=_e("unknown" if room.resets_in is None else f"in {duration(room.resets_in)}"),
            seen=_e(duration(room.seen_ago)),
        )
        for room in rooms
    )
    return HEADROOM_TABLE.format(rows=rows)


# ------------------------------------------------------------------------------ text

STATUS_HEADER = "TechLead status · {generated}"
NO_PLANS_TEXT = "  no plan is being carried out, and none finished in the last day"


def render_text(view: DashboardView) -> str:
    """The same view as plain lines for a terminal (no colour, no cursor control)."""
    lines = [
        STATUS_HEADER.format(generated=clock(view.generated_at)),
        "",
        f"Queue depth:   {queue_text(view)}",
        *(f"Success rate:  {rate.window}: {rate_text(rate)}" for rate in view.rates),
        f"Slowest stage: {stage_text(view.slowest)}",
        f"Least GitHub headroom: {least_headroom_text(view.headroom)}",
        "",
        "Plans",
        *(_plan_lines(view.timelines) if view.timelines else [NO_PLANS_TEXT]),
        "",
        "Recent failures",
        *(_failure_line(f) for f in view.failures),
        *([] if view.failures else ["  none in the last day"]),
        "",
        "GitHub rate-limit headroom",
        *(f"  {room.identity or 'unknown'}: {headroom_text(room)}" for room in view.headroom),
        *([] if view.headroom else ["  no GitHub response seen yet"]),
    ]
    return "\n".join(_plain_lines(lines)) + "\n"


def _plain_lines(lines: Iterable[str]) -> Iterable[str]:
    # Titles come from issues: a control character must not reach the terminal.
    for line in lines:
        yield "".join(ch if ch.isprintable() else "?" for ch in line)


def _plan_lines(timelines: Sequence[Timeline]) -> list[str]:
    lines = []
    for line in timelines:
        lines.append(
            f"  {line.repo}#{line.issue} {line.title} · {line.state} · "
            f"{line.done}/{len(line.rows)} tasks done · {duration(line.seconds)}"
        )
        width = max((len(row.id) for row in line.rows), default=2)
        for row in line.rows:
            lines.append(
                f"    {row.id:<{width}} {row.status:<9} [{text_bar(row)}] "
                f"{span_text(row)} · {row.specialist} · {row.title}{_row_extra(row)}"
            )
    return lines


def text_bar(row: TaskRow, width: int = TEXT_BAR_WIDTH) -> str:
    """The timeline bar in characters: ``.....#####......``."""
    if row.start is None:
        return " " * width
    first = min(int(row.offset / 100 * width), width - 1)
    length = max(round(row.width / 100 * width), 1)
    last = min(first + length, width)
    return "." * first + "#" * (last - first) + "." * (width - last)


def _failure_line(failure: Failure) -> str:
    delivery = f" · delivery {failure.delivery_id}" if failure.delivery_id else ""
    return f"  {clock(failure.at)} · {failure.what}{delivery} · {failure.reason}"


# --------------------------------------------------------------------------- reading

MAX_JOBS = 20_000
_FINISHED_JOBS = (
    "SELECT id, kind, state, run_at, updated_at, delivery_id, last_error FROM jobs "
    "WHERE state IN ('done', 'dead') AND updated_at >= ? ORDER BY updated_at DESC LIMIT ?"
)


class DashboardSource:
    """Reads a :class:`Snapshot`: plans, runs and budgets from the store, jobs from the queue."""

    def __init__(
        self, store: Store, queue: JobQueue, clock: Clock, settings: Settings | None = None
    ) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock
        # Plans and runs live in Redis with the queue when TECHLEAD_QUEUE_URL is set.
        self._plans = plans_beside(store, settings)
        self._runs = runs_beside(store, settings)

    def snapshot(self) -> Snapshot:
        now = self._clock.now()
        records = self._plans.records()
        return Snapshot(
            now=now,
            plans=[(r.repo, r.issue, r.plan) for r in records if r.plan is not None],
            runs=self.runs(),
            queue=self._queue.stats(),
            jobs=self.finished_jobs(now - DAY),
            budgets=read_budgets(self._store),
        )

    def runs(self) -> list[Run]:
        """Every execution run (the execution feature's table, read only)."""
        return self._runs.runs()

    def finished_jobs(self, since: float) -> list[FinishedJob]:
        """Jobs done or dead since ``since``, newest first (from the store when it holds them)."""
        if isinstance(self._queue, SqliteJobQueue):
            with self._store.reading() as conn:
                rows = conn.execute(_FINISHED_JOBS, (since, MAX_JOBS)).fetchall()
            return [
                FinishedJob(int(i), str(k), JobState(s), float(due), float(end), d, e)
                for i, k, s, due, end, d, e in rows
            ]
        ended = self._queue.list((JobState.DONE, JobState.DEAD), limit=MAX_JOBS)
        found = [
            FinishedJob(j.id, j.kind, j.state, j.run_at, j.updated_at, j.delivery_id, j.last_error)
            for j in ended
            if j.updated_at >= since
        ]
        return sorted(found, key=lambda job: -job.finished_at)


# ---------------------------------------------------------------------------- access


class Access(enum.StrEnum):
    LOCAL = "local"
    TOKEN = "token"  # noqa: S105 - how access was granted, not a secret
    REFUSED = "refused"


# A request that passed through a proxy: its loopback peer says nothing about the sender.
FORWARDING_HEADERS = frozenset({"forwarded", "x-forwarded-for", "x-real-ip"})
MSG_REFUSED = (
    "The TechLead dashboard answers requests from this machine only (127.0.0.1 or ::1, "
    "not through a proxy), or requests carrying the configured token: set "
    "TECHLEAD_DASHBOARD_TOKEN and send it as 'Authorization: Bearer <token>' or '?token=<token>'.\n"
)


def access(
    peer: str | None, headers: Mapping[str, str], query_token: str | None, token: str | None
) -> Access:
    """Whether to show the dashboard: the configured token, or a direct loopback peer.

    ``X-Forwarded-For`` and friends are never trusted to prove locality; their
    presence only takes it away.
    """
    names = {name.lower() for name in headers}
    if token:
        given = _bearer(headers) or query_token or ""
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return Access.TOKEN
    if is_loopback(peer) and not names & FORWARDING_HEADERS:
        return Access.LOCAL
    return Access.REFUSED


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, credential = value.partition(" ")
    return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None


def is_loopback(peer: str | None) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


# ---------------------------------------------------------------------------- routes


def add_routes(app: FastAPI, source: DashboardSource, settings: Settings) -> None:
    """``GET /dashboard`` (HTML) and ``GET /dashboard.json`` (the view), behind :func:`access`."""
    redact = Redactor(secrets_of(settings)).text

    def allowed(request: Request) -> bool:
        peer = request.client.host if request.client else None
        query = request.query_params.get("token")
        return access(peer, request.headers, query, settings.dashboard_token) is not Access.REFUSED

    def view() -> DashboardView | str:
        """The view, or why the store (or Redis) could not be read."""
        try:
            return dashboard_view(source.snapshot(), redact)
        except QueueError as exc:
            get_logger().warning("dashboard_unavailable", error=str(exc))
            return redact(str(exc))

    @app.get(DASHBOARD_PATH, include_in_schema=False)
    async def dashboard_page(request: Request) -> Response:
        if not allowed(request):
            return PlainTextResponse(MSG_REFUSED, status_code=403)
        shown = await run_in_threadpool(view)
        if isinstance(shown, str):
            page = UNAVAILABLE_PAGE.format(refresh=REFRESH_SECONDS, reason=_e(shown))
            return HTMLResponse(page, status_code=503, headers=NO_STORE)
        return HTMLResponse(render_html(shown), headers=NO_STORE)

    @app.get(JSON_PATH, include_in_schema=False)
    async def dashboard_json(request: Request) -> Response:
        if not allowed(request):
            return JSONResponse({"error": "forbidden", "message": MSG_REFUSED.strip()}, 403)
        shown = await run_in_threadpool(view)
        if isinstance(shown, str):
            return JSONResponse({"error": "unavailable", "message": shown}, 503, NO_STORE)
        return JSONResponse(shown.to_dict(), headers=NO_STORE)


NO_STORE = {"cache-control": "no-store"}
UNAVAILABLE_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh}">
<title>TechLead dashboard</title>
</head>
<body>
<h1>TechLead dashboard</h1>
<p>The dashboard could not read TechLead's state: {reason}. It tries again every {refresh} s.</p>
</body>
</html>
"""
