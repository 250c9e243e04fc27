"""``execution.advance``: the reconciler of one plan's execution.

Under the issue's plan lease it reads the plan and its execution record, brings the
record up to date with GitHub (task pull requests whose gates finished are merged or
retried, hand-offs merged by people complete, PRs of removed tasks closed), starts the
tasks that may start, opens the integration pull request when every task is done,
saves the record and mirrors it on the checklist. It schedules one ``execution.task``
job per started attempt (dedupe key: task and attempt, so a re-run schedules nothing
twice) and, while gates are pending, a delayed ``execution.advance`` of its own. A
cancelled plan is cleaned up here once: open PRs closed with a note, branches deleted.
"""

from __future__ import annotations

from dataclasses import replace

from bot.actions import ReplyComment
from bot.errors import GitHubError, GitHubNotFound, GitHubValidationError
from bot.features.execution import templates
from bot.features.execution.branches import integration_branch, task_branch
from bot.features.execution.flows import KICK_SECONDS, LIVE, Execution, advance_spec, task_spec
from bot.features.execution.model import HandoffRecord, Phase, Run, TaskRun
from bot.features.execution.render import duration
from bot.features.execution.schedule import (
    GateState,
    all_done,
    fair_share,
    gate_summary,
    gate_verdict,
    implicit_after,
    metrics,
    startable,
)
from bot.gate_runs import author_is_bot, enabled_levels, skip_reason
from bot.plan.model import Plan, PlanState, TaskLinks, TaskStatus
from bot.plans import PlanRecord
from bot.ports import CheckRunInfo, PullInfo
from bot.settings import AuthMode
from gates.templates import check_run_name


def advance(ex: Execution) -> None:
    """Reconcile the plan's execution with the world; see the module docstring."""
    with ex.work.lease():
        record = ex.work.plans.load(ex.repo, ex.issue)
        plan, run = record.plan, ex.runs.load(ex.repo, ex.issue)
        if plan is None or record.error is not None:
            return
        if plan.state is PlanState.CANCELLED:
            _clean_up(ex, plan, run)
            return
        config = ex.work.config.execution
        if plan.state is PlanState.AWAITING_APPROVAL and config.auto_approve:
            plan = replace(plan, state=PlanState.APPROVED)
        if plan.state not in LIVE:
            _between_versions(ex, record, plan, run)
            return
        if config.dry_run:
            _dry_run(ex, record, plan, run)
            return
        before_plan, before_run = plan, run
        plan, run = _step(ex, plan, run)
        waiting = any(
            task.phase is Phase.REVIEW and not task.gates_passed for task in run.tasks.values()
        )
        if waiting:
            run = replace(run, kicks=run.kicks + 1)
        run = ex.runs.save(run)
        if plan != before_plan or _visible(run) != _visible(before_run):
            ex.show(record, plan)
    for task_id, task in run.tasks.items():
        if task.phase is Phase.QUEUED:
            ex.ctx.enqueue(task_spec(ex.repo, ex.issue, task_id, task.attempt))
    if waiting:
        # One tick per second whatever number of advances ask for it (the key dedupes).
        tick = int(ex.now() // KICK_SECONDS) + 1
        ex.ctx.enqueue(advance_spec(ex.repo, ex.issue, f"tick{tick}", delay=KICK_SECONDS))


def _visible(run: Run) -> Run:
    return replace(run, kicks=0, revision=0)


def _step(ex: Execution, plan: Plan, run: Run) -> tuple[Plan, Run]:
    now = ex.now()
    if run.installation is None and ex.ctx.job.installation_id is not None:
        run = replace(run, installation=ex.ctx.job.installation_id)
    if not run.trace_id:  # the trace and delivery that started the execution
        run = replace(run, trace_id=ex.ctx.trace_id, delivery_id=ex.ctx.delivery_id or "")
    run = _ensure_integration(ex, plan, run)
    plan, run = _removed_tasks(ex, plan, run)
    plan, run = _retried_tasks(plan, run)
    for task_id, task in list(run.tasks.items()):
        if task.phase is Phase.REVIEW:
            plan, run = _review(ex, plan, run, task_id)
        elif task.phase is Phase.HANDOFF:
            plan, run = _handoff_done(ex, plan, run, task_id)
    after = implicit_after(plan)
    others, _ = ex.runs.installation_load(run.installation, ex.repo, ex.issue)
    allowed = fair_share(ex.work.config.execution.max_parallel, others)
    for task_id in startable(plan, run, allowed):
        plan, run = _start(plan, run, task_id, now, after.get(task_id, ()))
    if all_done(plan) and run.integration_pr is None:
        run = _open_integration(ex, plan, run)
    done = all_done(plan) and run.integration_pr is not None
    plan = replace(plan, state=PlanState.DONE if done else PlanState.RUNNING)
    if done and run.finished_at is None:
        run = replace(run, finished_at=now)
    return plan, run


def _start(
    plan: Plan, run: Run, task_id: str, now: float, after: tuple[str, ...]
) -> tuple[Plan, Run]:
    task = run.task(task_id)
    run = run.with_task(
        task_id,
        phase=Phase.QUEUED,
        attempt=task.attempt + 1,
        gates_passed=False,
        queued_at=task.queued_at or now,
        finished_at=None,
        reason="",
        after=after,
    )
    if run.started_at is None:
        run = replace(run, started_at=now)
    return plan.with_task(task_id, status=TaskStatus.IN_PROGRESS), run


def _retried_tasks(plan: Plan, run: Run) -> tuple[Plan, Run]:
    """A failed task a person retried (status back to pending) may start again; a task
    whose attempt was interrupted (a re-plan waiting for approval) starts over."""
    for task in plan.tasks:
        state = run.task(task.id)
        if task.status is TaskStatus.PENDING and state.phase in (Phase.FAILED, Phase.CANCELLED):
            run = run.with_task(
                task.id, phase=Phase.WAITING, gate_retried=False, conflict_retried=False
            )
        elif task.status is TaskStatus.IN_PROGRESS and state.phase in _INTERRUPTED:
            plan = plan.with_task(task.id, status=TaskStatus.PENDING)
            run = run.with_task(task.id, phase=Phase.WAITING)
    return plan, run


_INTERRUPTED = frozenset({Phase.WAITING, Phase.CANCELLED})


def _between_versions(ex: Execution, record: PlanRecord, plan: Plan, run: Run) -> None:
    """A re-planned version waits for approval: close the PRs of tasks it removed."""
    if not run.integration_branch:
        return
    changed_plan, changed_run = _removed_tasks(ex, plan, run)
    if changed_run != run:
        ex.runs.save(changed_run)
        ex.show(record, changed_plan)


def _ensure_integration(ex: Execution, plan: Plan, run: Run) -> Run:
    if run.integration_branch and run.base_sha:
        return run
    config = ex.work.config.execution
    branch = integration_branch(config.integration_branch, ex.issue, plan.title)
    existing = ex.github.branch_sha(ex.repo, branch)
    if existing is None:
        default = ex.github.default_branch(ex.repo)
        base = ex.github.branch_sha(ex.repo, default)
        if base is None:
            raise GitHubNotFound(f"{ex.repo}: default branch {default!r} has no commit")
        try:
            ex.github.create_branch(ex.repo, branch, base)
        except GitHubValidationError:  # made by an earlier attempt of this job
            base = ex.github.branch_sha(ex.repo, branch) or base
        existing = base
    return replace(run, integration_branch=branch, base_sha=existing)


def _removed_tasks(ex: Execution, plan: Plan, run: Run) -> tuple[Plan, Run]:
    """Tasks the plan cancelled (left the issue while running): close their PRs."""
    for task in plan.tasks:
        state = run.task(task.id)
        if task.status is TaskStatus.CANCELLED and state.phase not in (
            Phase.CANCELLED,
            Phase.WAITING,
        ):
            if state.pr and not state.phase.done:
                _close_pull(ex, state, templates.WHY_REMOVED)
            run = run.with_task(task.id, phase=Phase.CANCELLED, finished_at=ex.now())
    return plan, run


def _review(ex: Execution, plan: Plan, run: Run, task_id: str) -> tuple[Plan, Run]:
    state = run.task(task_id)
    if state.pr is None:
        return plan, run
    pull = ex.github.get_pull(ex.repo, state.pr)
    if pull.merged:
        return _merged(ex, plan, run, task_id, pull)
    if pull.head_sha != state.head_sha:  # someone pushed: its gates are new
        run = run.with_task(task_id, head_sha=pull.head_sha, gates_passed=False)
    if pull.state != "open":
        return fail_task(
            ex, plan, run, task_id, templates.FAIL_GITHUB.format(detail="closed without merging")
        )
    expected = _expected_gates(ex, pull)
    runs = _gate_runs(ex, pull.head_sha) if expected else []
    verdict = gate_verdict(runs, expected)
    if verdict.state is GateState.PENDING:
        return plan, run.with_task(task_id, head_sha=pull.head_sha)
    if verdict.state is GateState.FAILED:
        return _gates_failed(ex, plan, run, task_id, pull, verdict.failed)
    run = run.with_task(task_id, gates=gate_summary(runs, expected))
    needed = ex.work.config.execution.require_review
    approved = ex.github.approvals(ex.repo, pull.number) if needed else ()
    run = run.with_task(task_id, approved_by=approved)
    if len(approved) < needed:
        # Gates are done: a review (pull_request_review) brings the next advance.
        return plan, run.with_task(task_id, gates_passed=True, head_sha=pull.head_sha)
    try:
        ex.github.merge_pull(ex.repo, pull.number, sha=pull.head_sha)
    except GitHubError as exc:
        if exc.status in (405, 409) or isinstance(exc, GitHubValidationError):
            return _conflict(ex, plan, run, task_id, str(exc))
        raise
    return _merged(ex, plan, run, task_id, replace(pull, merged=True))


def _gate_runs(ex: Execution, sha: str) -> list[CheckRunInfo]:
    """The gates' results on ``sha``: check runs, or commit statuses in token mode."""
    if ex.ctx.settings.auth_mode is not AuthMode.TOKEN:
        return ex.github.list_check_runs(ex.repo, sha)
    return [
        CheckRunInfo(
            index, context, sha, *_STATUS_AS_RUN.get(state, ("completed", "failure")), None
        )
        for index, (context, state) in enumerate(ex.github.commit_statuses(ex.repo, sha).items())
    ]


_STATUS_AS_RUN = {"pending": ("in_progress", None), "success": ("completed", "success")}


def _expected_gates(ex: Execution, pull: PullInfo) -> list[str]:
    gates = ex.work.config.gates
    is_bot = author_is_bot(pull, ex.ctx.settings.bot_login)
    if skip_reason(pull, pull.head_sha, gates.pull_requests, author_is_bot=is_bot) is not None:
        return []
    return [check_run_name(level) for level in enabled_levels(gates)]


def _gates_failed(
    ex: Execution, plan: Plan, run: Run, task_id: str, pull: PullInfo, failed: tuple[str, ...]
) -> tuple[Plan, Run]:
    state = run.task(task_id)
    reason = templates.FAIL_GATES.format(gates=", ".join(failed))
    if state.gate_retried:
        return fail_task(ex, plan, run, task_id, reason)
    runs = [r for r in _gate_runs(ex, pull.head_sha) if r.name in failed]
    notes = [templates.FAIL_GATES_NOTE.format(gate=name, pr=pull.number) for name in failed]
    notes += [f"{r.name}: {r.title}. {r.summary[:1500]}".strip() for r in runs]
    run = run.with_task(
        task_id, gate_retried=True, retry_notes=tuple(notes), failures=state.failures + 1
    )
    return _restart(ex, plan, run, task_id)


MAX_CONFLICT_FILES = 10


def _conflict(ex: Execution, plan: Plan, run: Run, task_id: str, detail: str) -> tuple[Plan, Run]:
    state = run.task(task_id)
    reason = templates.FAIL_CONFLICT.format(branch=run.integration_branch, detail=detail[:200])
    if state.conflict_retried and state.pr is not None:
        files = [change.filename for change in ex.github.pull_files(ex.repo, state.pr)]
        shown = ", ".join(f"`{name}`" for name in files[:MAX_CONFLICT_FILES])
        reason += templates.FAIL_CONFLICT_FILES.format(files=shown or "-")
        return fail_task(ex, plan, run, task_id, reason)
    run = run.with_task(task_id, conflict_retried=True, retry_notes=(reason,))
    return _restart(ex, plan, run, task_id)


def _restart(ex: Execution, plan: Plan, run: Run, task_id: str) -> tuple[Plan, Run]:
    """A new attempt now, on the integration branch as it stands (same branch, same PR)."""
    state = run.task(task_id)
    run = run.with_task(
        task_id,
        phase=Phase.QUEUED,
        attempt=state.attempt + 1,
        queued_at=state.queued_at or ex.now(),
    )
    return plan.with_task(task_id, status=TaskStatus.IN_PROGRESS), run


def fail_task(ex: Execution, plan: Plan, run: Run, task_id: str, reason: str) -> tuple[Plan, Run]:
    state = run.task(task_id)
    failures = state.failures + 1
    run = run.with_task(
        task_id, phase=Phase.FAILED, reason=reason, failures=failures, finished_at=ex.now()
    )
    config = ex.work.config.execution
    if failures >= config.max_attempts and config.maintainers and not state.mentioned:
        mentions = " ".join(f"@{login}" for login in config.maintainers)
        body = templates.MAINTAINERS.format(
            mentions=mentions, task=task_id, failures=failures, reason=reason
        )
        key = f"execution-{task_id}-{failures}"
        ex.work.executor.apply_one(ReplyComment(ex.repo, ex.issue, key, body))
        run = run.with_task(task_id, mentioned=True)
    return plan.with_task(task_id, status=TaskStatus.FAILED), run


def _merged(ex: Execution, plan: Plan, run: Run, task_id: str, pull: PullInfo) -> tuple[Plan, Run]:
    state = run.task(task_id)
    files = tuple(change.filename for change in ex.github.pull_files(ex.repo, pull.number))
    handoff = state.handoff or HandoffRecord()
    handoff = replace(handoff, changed_files=files, pr_url=pull.html_url)
    run = run.with_task(
        task_id, phase=Phase.MERGED, finished_at=ex.now(), handoff=handoff, reason=""
    )
    if not ex.work.config.execution.keep_branches and state.branch:
        ex.github.delete_branch(ex.repo, state.branch)
    links = TaskLinks(branch=state.branch or None, pr=pull.number)
    return plan.with_task(task_id, status=TaskStatus.COMPLETED, links=links), run


def _handoff_done(ex: Execution, plan: Plan, run: Run, task_id: str) -> tuple[Plan, Run]:
    state = run.task(task_id)
    if state.pr is None:
        return plan, run
    pull = ex.github.get_pull(ex.repo, state.pr)
    if pull.merged:
        return _merged(ex, plan, run, task_id, pull)
    return plan, run


def _open_integration(ex: Execution, plan: Plan, run: Run) -> Run:
    marker = templates.INTEGRATION_MARKER.format(repo=ex.repo.lower(), issue=ex.issue)
    default = ex.github.default_branch(ex.repo)
    found = ex.github.find_pull(ex.repo, run.integration_branch, default)
    if found is None:
        body = integration_body(plan, run, marker, ex.work.config.execution.max_parallel)
        title = templates.INTEGRATION_TITLE.format(title=plan.title, issue=ex.issue)
        found = ex.github.create_pull(
            ex.repo, title=title, body=body, head=run.integration_branch, base=default
        )
    return replace(run, integration_pr=found.number, integration_url=found.html_url)


def integration_body(plan: Plan, run: Run, marker: str, parallel: int) -> str:
    rows = []
    for task in plan.tasks:
        state = run.task(task.id)
        if task.status is TaskStatus.SKIPPED or not task.in_issue:
            continue
        rows.append(
            templates.INTEGRATION_ROW.format(
                task=task.id,
                title=task.title.replace("|", "\\|"),
                agent=task.agent,
                pr=f"#{state.pr}" if state.pr else "-",
                seconds=duration(state.seconds),
                gates="<br>".join(state.gates) or "-",
                reviews=", ".join(f"@{login}" for login in state.approved_by) or "-",
            )
        )
    ended = max((t.finished_at or 0.0 for t in run.tasks.values()), default=0.0)
    m = metrics(run.tasks.values(), run.started_at, ended, parallel)
    summary = templates.SECTION_METRICS.format(
        efficiency=m.efficiency,
        overhead=m.overhead,
        wall=duration(m.wall_seconds),
        executor=duration(m.executor_seconds),
    )
    return templates.INTEGRATION_BODY.format(
        marker=marker,
        issue=plan.issue_number,
        branch=run.integration_branch,
        rows="\n".join(rows),
        metrics=summary,
    )


def _dry_run(ex: Execution, record: PlanRecord, plan: Plan, run: Run) -> None:
    config = ex.work.config.execution
    items = [f"branch `{integration_branch(config.integration_branch, ex.issue, plan.title)}`"]
    for task in plan.tasks:
        name = task_branch(config.task_branch, ex.issue, plan.title, task.id, task.title)
        spec = ex.work.config.agent(task.agent)
        executor = spec.executor if spec else "handoff"
        items.append(f"{task.id}: branch `{name}` and a pull request, by `{executor}`")
    items.append("an integration pull request closing the issue")
    if tuple(items) != run.dry_run:
        ex.runs.save(replace(run, dry_run=tuple(items)))
        ex.show(record, plan)


# --------------------------------------------------------------------------------- cancel


def _clean_up(ex: Execution, plan: Plan, run: Run) -> None:
    """Close open task PRs with a note, delete branches, close the integration PR: once."""
    if run.cleaned_up or not run.integration_branch:
        return
    keep = ex.work.config.execution.keep_branches
    for task_id, state in run.tasks.items():
        if state.pr and not state.phase.done:
            _close_pull(ex, state, templates.WHY_CANCELLED)
        if state.branch and not keep:
            ex.github.delete_branch(ex.repo, state.branch)
        if state.phase.in_flight or state.phase is Phase.HANDOFF:
            run = run.with_task(task_id, phase=Phase.CANCELLED)
    if run.integration_pr:
        close_number(ex, run.integration_pr, templates.WHY_CANCELLED)
    if not keep:
        ex.github.delete_branch(ex.repo, run.integration_branch)
    ex.runs.save(replace(run, cleaned_up=True))


def _close_pull(ex: Execution, state: TaskRun, why: str) -> None:
    if state.pr is not None:
        close_number(ex, state.pr, why)


def close_number(ex: Execution, number: int, why: str) -> None:
    pull = ex.github.get_pull(ex.repo, number)
    if pull.state != "open":
        return
    note = templates.CLOSED_NOTE.format(why=why)
    ex.work.executor.apply_one(ReplyComment(ex.repo, number, f"closed-{number}", note))
    ex.github.update_pull(ex.repo, number, state="closed")
