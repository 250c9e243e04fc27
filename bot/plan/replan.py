"""Re-plans an issue after its body was edited, keeping what people already rely on.

Rules
    * A new task whose title equals an old task's title (normalised: case, spacing and
      punctuation ignored) is the same task: it keeps the old id, status and links.
      The one exception: an item newly ticked in the issue moves a pending task to
      completed.
    * Other new tasks get fresh ids from ``Plan.next_id``; ids are never reused.
    * An old task whose item is gone is dropped if it had not started (pending,
      skipped). If it had started it stays listed, marked as no longer in the issue:
      in progress or failed becomes cancelled (so the executor stops it), completed
      stays completed (its branch and pull request are real). Either way its links stay
      visible.
    * When anything changed the version goes up by one and ``Plan.diff`` says what was
      added, removed and changed; an edit that changes no task keeps the plan as it was.
    * After a change, a plan that needs approval waits for approval again (the new
      version is what gets approved); a cancelled plan stays cancelled.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import replace

from agents.research.model import Findings
from bot.plan.assign import AgentLike
from bot.plan.deps import validate
from bot.plan.model import (
    IssueInput,
    Plan,
    PlanDiff,
    PlanState,
    RemovedTask,
    Task,
    TaskChange,
    TaskStatus,
    task_id,
)
from bot.plan.planner import Planner, PlanningLike, make_plan

_NOT_WORD = re.compile(r"[\W_]+")
COMPARED_FIELDS = (
    "title",
    "status",
    "agent",
    "priority",
    "depends_on",
    "external_deps",
    "category",
    "body",
)


def normalise_title(title: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", title.lower()).split())


def replan(
    previous: Plan,
    issue: IssueInput,
    findings: Findings,
    roster: Sequence[AgentLike],
    config: PlanningLike,
    *,
    planner: Planner | None = None,
) -> Plan:
    """Plan the edited issue and carry the previous plan's ids, statuses and links over."""
    fresh = make_plan(issue, findings, roster, config, planner=planner)
    merged = merge_plans(previous, fresh, require_approval=config.require_approval)
    validate(merged)
    return merged


def merge_plans(previous: Plan, fresh: Plan, *, require_approval: bool = True) -> Plan:
    """The fresh plan with the previous plan's identities; see the module rules."""
    ids, next_id = _match_ids(previous, fresh)
    old = {task.id: task for task in previous.tasks}
    tasks: list[Task] = []
    changed: list[TaskChange] = []
    added: list[str] = []
    for task in fresh.tasks:
        carried = _carry(task, ids, old.get(ids[task.id]))
        tasks.append(carried)
        if ids[task.id] not in old:
            added.append(carried.id)
        elif fields := _changed_fields(old[carried.id], carried):
            changed.append(TaskChange(carried.id, fields))
    kept, removed = _left_out(previous, set(ids.values()))
    tasks.extend(kept)
    diff = PlanDiff(tuple(added), tuple(removed), tuple(changed))
    if diff.empty:
        return previous
    return replace(
        fresh,
        tasks=tuple(tasks),
        version=previous.version + 1,
        next_id=next_id,
        diff=diff,
        state=_state_after_edit(previous.state, fresh.state, require_approval),
        cancel_reason=previous.cancel_reason,
        cancelled_by=previous.cancelled_by,
    )


def _match_ids(previous: Plan, fresh: Plan) -> tuple[dict[str, str], int]:
    """Fresh id -> final id; equal normalised titles match in order of appearance."""
    pool: dict[str, deque[str]] = defaultdict(deque)
    for task in previous.tasks:
        pool[normalise_title(task.title)].append(task.id)
    next_id = max(previous.next_id, len(previous.tasks) + 1)
    ids: dict[str, str] = {}
    for task in fresh.tasks:
        candidates = pool.get(normalise_title(task.title))
        if candidates:
            ids[task.id] = candidates.popleft()
        else:
            ids[task.id] = task_id(next_id)
            next_id += 1
    return ids, next_id


def _carry(task: Task, ids: dict[str, str], before: Task | None) -> Task:
    depends_on = tuple(ids.get(dep, dep) for dep in task.depends_on)
    if before is None:
        return replace(task, id=ids[task.id], depends_on=depends_on)
    status = before.status
    if task.status is TaskStatus.COMPLETED and status is TaskStatus.PENDING:
        status = TaskStatus.COMPLETED  # ticked in the issue since the last plan
    if not before.in_issue and status is TaskStatus.CANCELLED:
        status = TaskStatus.PENDING  # the item came back
    return replace(task, id=before.id, depends_on=depends_on, status=status, links=before.links)


def _changed_fields(before: Task, after: Task) -> tuple[str, ...]:
    return tuple(name for name in COMPARED_FIELDS if getattr(before, name) != getattr(after, name))


def _left_out(previous: Plan, matched: set[str]) -> tuple[list[Task], list[RemovedTask]]:
    """Old tasks no fresh task matched: which stay listed, and what the diff reports."""
    kept: list[Task] = []
    removed: list[RemovedTask] = []
    survivors = matched | {
        task.id for task in previous.tasks if not task.in_issue or task.status.started
    }
    for task in previous.tasks:
        if task.id in matched:
            continue
        if not task.in_issue:
            kept.append(_detach(task, survivors, task.status))  # reported when it left
            continue
        if not task.status.started:
            removed.append(RemovedTask(task.id, task.title))
            continue
        status = (
            TaskStatus.COMPLETED if task.status is TaskStatus.COMPLETED else TaskStatus.CANCELLED
        )
        kept.append(_detach(task, survivors, status))
        removed.append(RemovedTask(task.id, task.title, status))
    return kept, removed


def _detach(task: Task, survivors: set[str], status: TaskStatus) -> Task:
    depends_on = tuple(dep for dep in task.depends_on if dep in survivors)
    return replace(task, status=status, depends_on=depends_on, in_issue=False)


def _state_after_edit(before: PlanState, fresh: PlanState, require_approval: bool) -> PlanState:
    if before is PlanState.CANCELLED:
        return before
    if before in (PlanState.APPROVED, PlanState.RUNNING) and not require_approval:
        return before
    return fresh
