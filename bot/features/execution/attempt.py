"""``execution.task``: one attempt of one task, outside the plan lease.

Worktree from the integration branch as it stands, the executor, the commit-time
policy, a commit with trailers, a leased push to the task's branch, and the task's pull
request found by branch (reused, never duplicated) or opened. The outcome is recorded
under the lease and an advance is asked for. Killed at any point, the job runs again
and finds what it already made; a job that gives up fails its task (:func:`give_up`).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace

from agents.executors.base import Budget, ExecutionResult, Outcome
from agents.executors.llm import usage_line
from agents.executors.registry import executor_for
from bot.errors import WorkspaceError
from bot.features.execution import templates
from bot.features.execution.branches import task_branch
from bot.features.execution.flows import AUTHOR, LIVE, Execution, advance_spec
from bot.features.execution.model import HandoffRecord, MessageRecord, Phase, Run, TaskRun
from bot.features.execution.orders import context_chars, work_order
from bot.features.execution.policy import Change, Policy, violations
from bot.features.execution.reconcile import close_number, fail_task
from bot.features.execution.schedule import (
    grow,
    phase_status,
)
from bot.features.gates import QUEUE_KIND
from bot.gate_runs import GateRequest, enabled_levels
from bot.jobs import JobSpec
from bot.llm import ModelConfig
from bot.plan.model import Plan, Task, TaskLinks
from bot.plans import PlanRecord
from bot.ports import PullInfo
from bot.workspace import Workspace, Worktree

MAX_LOG = 2000


@dataclass(frozen=True)
class Attempt:
    """What one attempt needs, read under the lease."""

    plan: Plan
    task: Task
    run: Run
    record: PlanRecord
    branch: str


def run_task(ex: Execution, task_id: str, attempt: int) -> None:
    """Carry out one attempt of ``task_id``; see the module docstring."""
    claimed = _claim(ex, task_id, attempt)
    if claimed is None:
        return
    started = time.monotonic()
    outcome = _attempt(ex, claimed)
    outcome = replace(outcome, seconds=outcome.seconds or time.monotonic() - started)
    _record(ex, task_id, attempt, outcome)
    ex.ctx.enqueue(advance_spec(ex.repo, ex.issue, f"{task_id}:a{attempt}:done"))


def _claim(ex: Execution, task_id: str, attempt: int) -> Attempt | None:
    with ex.work.lease():
        record = ex.work.plans.load(ex.repo, ex.issue)
        run = ex.runs.load(ex.repo, ex.issue)
        plan, state = record.plan, run.task(task_id)
        task = plan.task(task_id) if plan is not None else None
        if plan is None or task is None or plan.state not in LIVE:
            return None
        if state.attempt != attempt or state.phase not in (Phase.QUEUED, Phase.RUNNING):
            return None
        config = ex.work.config.execution
        branch = state.branch or task_branch(
            config.task_branch, ex.issue, plan.title, task_id, task.title
        )
        if state.phase is Phase.QUEUED:
            now = ex.now()
            run = run.with_task(
                task_id,
                phase=Phase.RUNNING,
                started_at=state.started_at or now,
                branch=branch,
                **_lineage(ex, task),
            )
            run = ex.runs.save(run)
            record = ex.show(record, plan)
        return Attempt(plan, task, run, record, branch)


def _lineage(ex: Execution, task: Task) -> dict[str, str]:
    """The attempt's trace, agent and delivery: its commit carries them as trailers."""
    return {
        "trace_id": ex.ctx.trace_id,
        "agent": task.agent,
        "delivery_id": ex.ctx.delivery_id or "",
    }


@dataclass(frozen=True)
class AttemptOutcome:
    phase: Phase
    summary: str = ""
    reason: str = ""
    log: str = ""
    pr: PullInfo | None = None
    head_sha: str = ""
    seconds: float = 0.0
    executor_seconds: float = 0.0
    result: ExecutionResult | None = None
    order_chars: int = 0
    context_chars: int = 0


def _attempt(ex: Execution, claimed: Attempt) -> AttemptOutcome:
    config = ex.work.config
    order = work_order(
        claimed.plan, claimed.task, claimed.run, claimed.record.findings, config, ex.repo
    )
    order_chars = len(order.to_markdown())
    full_chars = context_chars(claimed.plan, claimed.record.findings, claimed.run)
    spec = config.agent(claimed.task.agent)
    stop = functools.partial(_cancelled, ex)
    executor = executor_for(
        spec.executor if spec else "handoff",
        claimed.task.agent,
        should_stop=stop,
        resolve_action=ex.github.commit_sha,
        model=ModelConfig.from_settings(ex.ctx.settings),  # the llm executor's endpoint
    )
    budget = Budget(seconds=config.execution.task_seconds)
    workspace = ex.workspace()
    try:
        workspace.fetch(ex.repo, [claimed.run.integration_branch])
        with workspace.worktree(ex.repo, claimed.run.integration_branch, label="task") as tree:
            began = time.monotonic()
            result = executor.run(order, tree.path, budget, {})
            spent = result.usage.get("seconds", time.monotonic() - began)
            if _cancelled(ex):  # nothing reaches GitHub for a cancelled plan
                return AttemptOutcome(Phase.CANCELLED, reason=result.summary)
            outcome = _commit(ex, claimed, tree, result, workspace)
    except WorkspaceError as exc:
        reason = templates.FAIL_PUSH.format(detail=str(exc)[:300])
        return AttemptOutcome(Phase.FAILED, reason=reason, order_chars=order_chars)
    outcome = replace(
        outcome,
        executor_seconds=float(spent),
        result=result,
        order_chars=order_chars,
        context_chars=full_chars,
    )
    if outcome.phase in (Phase.REVIEW, Phase.HANDOFF):
        pull = _task_pull(ex, claimed, order.to_markdown(), outcome)
        outcome = replace(outcome, pr=pull, head_sha=pull.head_sha)
    if outcome.phase is Phase.REVIEW and outcome.pr is not None and enabled_levels(config.gates):
        ex.ctx.enqueue(_gates_spec(ex.repo, claimed.branch, outcome.pr))
    return outcome


def _gates_spec(repo: str, branch: str, pull: PullInfo) -> JobSpec:
    """Queue the gates of the task PR's head ourselves: a webhook lost while TechLead was
    down must not leave the task waiting for gates forever. Queueing finds runs that
    already exist, so the webhook's own request adds none."""
    request = GateRequest(repo, pull.head_sha, branch, (pull.number,))
    key = f"execution.gates:{repo.lower()}@{pull.head_sha}"
    return JobSpec(QUEUE_KIND, request.to_payload(), dedupe_key=key)


def _cancelled(ex: Execution) -> bool:
    """Whether the plan stopped being live (cancelled, or gone) while the attempt ran."""
    plan = ex.work.plans.load(ex.repo, ex.issue).plan
    return plan is None or plan.state not in LIVE


def _commit(
    ex: Execution, claimed: Attempt, tree: Worktree, result: ExecutionResult, workspace: Workspace
) -> AttemptOutcome:
    task = claimed.task
    trailers = [
        ("TechLead-Task", task.id),
        ("TechLead-Plan", f"{ex.repo}#{ex.issue} v{claimed.plan.version}"),
        ("TechLead-Trace", ex.ctx.trace_id),
        ("TechLead-Agent", task.agent),
    ]
    if ex.ctx.delivery_id:  # the webhook delivery the work traces back to
        trailers.append(("TechLead-Delivery", ex.ctx.delivery_id))
    if result.outcome is Outcome.FAILED:
        return AttemptOutcome(Phase.FAILED, result.summary, result.summary, result.log)
    if result.outcome is Outcome.HANDOFF:
        title = templates.START_TITLE.format(task=task.id, title=task.title)
        sha = tree.commit_all(title, author=AUTHOR, trailers=trailers, allow_empty=True)
        phase = Phase.HANDOFF
    else:
        tree.squash_to_base()  # an agent's own commits are checked like the rest
        changes = [Change(*item) for item in tree.changes()]
        problems = violations(changes, _policy(ex))
        if problems:
            reason = templates.POLICY_REJECTED.format(reasons="; ".join(problems))
            return AttemptOutcome(Phase.FAILED, result.summary, reason, result.log)
        if not changes:
            return AttemptOutcome(Phase.NO_CHANGE, result.summary, templates.NO_CHANGE, result.log)
        title = templates.COMMIT_TITLE.format(task=task.id, title=task.title)
        sha = tree.commit_all(f"{title}\n\n{result.summary}", author=AUTHOR, trailers=trailers)
        phase = Phase.REVIEW
    if sha is None:
        return AttemptOutcome(Phase.NO_CHANGE, result.summary, templates.NO_CHANGE, result.log)
    expected = workspace.remote_sha(ex.repo, claimed.branch)
    tree.push(claimed.branch, expected=expected)
    return AttemptOutcome(
        phase,
        result.summary,
        result.summary if phase is Phase.HANDOFF else "",
        result.log,
        head_sha=sha,
    )


def _policy(ex: Execution) -> Policy:
    config = ex.work.config
    return Policy(
        blocked_paths=tuple(config.planning.blocked_paths),
        allow_workflow_edits=config.execution.allow_workflow_edits,
        add_only=config.execution.add_only,
        max_files=config.execution.max_changed_files,
        max_lines=config.execution.max_changed_lines,
    )


def _task_pull(ex: Execution, claimed: Attempt, order: str, outcome: AttemptOutcome) -> PullInfo:
    from bot.features.execution.render import task_pull_body

    task, run = claimed.task, claimed.run
    marker = templates.TASK_MARKER.format(repo=ex.repo.lower(), issue=ex.issue, task=task.id)
    body = task_pull_body(
        marker=marker,
        plan=claimed.plan,
        task=task,
        run=run,
        attempt=run.task(task.id).attempt,
        summary=outcome.summary,
        order=order,
        log=outcome.log,
        handoff_reason=outcome.reason if outcome.phase is Phase.HANDOFF else "",
        branch=claimed.branch,
        order_chars=outcome.order_chars,
        context_chars=outcome.context_chars,
        usage=_usage(outcome.result, ex.work.config.execution.task_seconds),
    )
    title = templates.TASK_PR_TITLE.format(task=task.id, title=task.title)
    draft = outcome.phase is Phase.HANDOFF
    found = ex.github.find_pull(ex.repo, claimed.branch, run.integration_branch)
    if found is not None and not found.merged:
        state = "open" if found.state != "open" else None
        return ex.github.update_pull(ex.repo, found.number, body=body, state=state)
    pull = ex.github.create_pull(
        ex.repo,
        title=title,
        body=body,
        head=claimed.branch,
        base=run.integration_branch,
        draft=draft,
    )
    assignees = ex.work.config.execution.handoff_assignees
    if draft and assignees:
        ex.github.add_assignees(ex.repo, pull.number, assignees)
    return pull


def _usage(result: ExecutionResult | None, seconds: float) -> str:
    """What a model spent (tokens, iterations, tools), for the PR; empty for others."""
    if result is None or "tokens" not in result.usage:
        return ""
    return usage_line(result.usage, Budget(seconds=seconds))


def _record(ex: Execution, task_id: str, attempt: int, outcome: AttemptOutcome) -> None:
    """Save what the attempt did (unless the task moved on meanwhile) and show it."""
    with ex.work.lease():
        record = ex.work.plans.load(ex.repo, ex.issue)
        run = ex.runs.load(ex.repo, ex.issue)
        plan, state = record.plan, run.task(task_id)
        if state.phase is Phase.CANCELLED and outcome.head_sha:
            _withdraw(ex, state, outcome)  # the plan was cancelled while this attempt pushed
        if plan is None or state.attempt != attempt or state.phase is not Phase.RUNNING:
            return
        run = run.with_task(task_id, **_recorded(state, outcome, ex.now()))
        plan, run = _passed_on(plan, run, task_id, outcome)
        if outcome.phase is Phase.FAILED:
            plan, run = fail_task(ex, plan, run, task_id, outcome.reason)
        elif outcome.phase is not Phase.CANCELLED:
            pr = outcome.pr.number if outcome.pr else None
            links = TaskLinks(branch=state.branch or None, pr=pr)
            plan = plan.with_task(task_id, status=phase_status(outcome.phase), links=links)
        ex.runs.save(run)
        ex.show(record, plan)


def _withdraw(ex: Execution, state: TaskRun, outcome: AttemptOutcome) -> None:
    """Undo what an attempt pushed after its plan was cleaned up: close its PR and (unless
    ``keep_branches``) delete its branch."""
    if outcome.pr is not None:
        close_number(ex, outcome.pr.number, templates.WHY_CANCELLED)
    if state.branch and not ex.work.config.execution.keep_branches:
        ex.github.delete_branch(ex.repo, state.branch)


def _recorded(state: TaskRun, outcome: AttemptOutcome, now: float) -> dict[str, object]:
    """The task record's new fields after an attempt."""
    changes: dict[str, object] = {
        "phase": outcome.phase,
        "executed_at": now,
        "executor_seconds": round(state.executor_seconds + outcome.executor_seconds, 3),
        "log": outcome.log[-MAX_LOG:],
        "order_chars": outcome.order_chars,
        "context_chars": outcome.context_chars,
        "reason": outcome.reason,
        "gates_passed": False,
    }
    if outcome.pr is not None:
        changes.update(pr=outcome.pr.number, pr_url=outcome.pr.html_url, head_sha=outcome.head_sha)
    result = outcome.result
    if result is not None and result.handoff is not None:
        given = result.handoff
        summary = given.summary or outcome.summary
        changes["handoff"] = HandoffRecord(
            summary, given.changed_files, given.interfaces, given.notes
        )
    if outcome.phase.done:
        changes["finished_at"] = now
    return changes


def _passed_on(plan: Plan, run: Run, task_id: str, outcome: AttemptOutcome) -> tuple[Plan, Run]:
    """Messages the agent sent go to the run; tasks it reported join the plan."""
    result = outcome.result
    if result is None:
        return plan, run
    if result.messages:
        sent = tuple(MessageRecord(task_id, m.to, m.kind.value, m.text) for m in result.messages)
        run = replace(run, messages=(*run.messages, *sent))
    if result.new_tasks and outcome.phase is not Phase.FAILED:
        plan = grow(plan, task_id, result.new_tasks)
    return plan, run


def give_up(ex: Execution, task_id: str, attempt: int, error: str) -> None:
    """The task job ran out of attempts: fail the task with why, show it, advance."""
    with ex.work.lease():
        record = ex.work.plans.load(ex.repo, ex.issue)
        run, plan = ex.runs.load(ex.repo, ex.issue), record.plan
        state = run.task(task_id)
        if plan is None or state.attempt != attempt or not state.phase.in_flight:
            return
        reason = templates.FAIL_JOB.format(error=" ".join(error.split())[:300])
        plan, run = fail_task(ex, plan, run, task_id, reason)
        ex.runs.save(run)
        ex.show(record, plan)
    ex.ctx.enqueue(advance_spec(ex.repo, ex.issue, f"{task_id}:a{attempt}:dead"))
