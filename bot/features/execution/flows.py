"""Job bodies of the execution feature: advance a plan, run one task, clean up after a cancel.

``execution.advance`` is the reconciler. Under the issue's plan lease it reads the plan
and its execution record, brings the record up to date with GitHub (task pull requests
whose gates finished are merged or retried, hand-offs merged by people complete), starts
the tasks that may start, opens the integration pull request when every task is done,
saves the record and mirrors it on the checklist. It schedules one ``execution.task``
job per started attempt (dedupe key: task and attempt, so a re-run schedules nothing
twice) and, while gates are pending, a delayed ``execution.advance`` of its own.

``execution.task`` runs one attempt outside the lease: worktree from the integration
branch as it stands, the executor, the commit-time policy, a commit with trailers, a
leased push to the task's branch, and the task's pull request found by branch (reused,
never duplicated) or opened. It records the outcome under the lease and asks for an
advance. Killed at any point, the job runs again and finds what it already made.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace

from agents.executors.base import Budget, ExecutionResult, Outcome
from agents.executors.registry import executor_for
from bot.actions import ReplyComment
from bot.context import JobContext
from bot.errors import GitHubError, GitHubNotFound, GitHubValidationError, WorkspaceError
from bot.features.execution import templates
from bot.features.execution.branches import integration_branch, task_branch
from bot.features.execution.model import HandoffRecord, MessageRecord, Phase, Run, TaskRun
from bot.features.execution.orders import context_chars, work_order
from bot.features.execution.policy import Change, Policy, violations
from bot.features.execution.render import duration
from bot.features.execution.schedule import (
    GateState,
    all_done,
    fair_share,
    gate_verdict,
    grow,
    implicit_after,
    metrics,
    phase_status,
    startable,
)
from bot.features.execution.store import RunStore
from bot.features.planning.flows import Work, publish, working
from bot.gate_runs import author_is_bot, enabled_levels, skip_reason
from bot.jobs import JobSpec
from bot.plan.model import Plan, PlanState, Task, TaskLinks, TaskStatus
from bot.plans import PlanRecord
from bot.ports import CheckRunInfo, ExecutionPort, PullInfo
from bot.settings import AuthMode
from bot.workspace import Identity, Workspace, Worktree
from gates.templates import check_run_name

ADVANCE = "execution.advance"
TASK = "execution.task"
KICK_SECONDS = 1.0
COMMITTER = Identity("TechLead", "techlead@users.noreply.github.com")
AUTHOR = Identity("TechLead agent", "techlead-agent@users.noreply.github.com")
_LIVE = frozenset({PlanState.APPROVED, PlanState.RUNNING})


def advance_spec(repo: str, issue: int, key: str, delay: float = 0.0) -> JobSpec:
    return JobSpec(
        ADVANCE,
        {"repo": repo, "issue": issue},
        dedupe_key=f"{ADVANCE}:{repo.lower()}#{issue}:{key}",
        delay=delay,
    )


def task_spec(repo: str, issue: int, task_id: str, attempt: int) -> JobSpec:
    return JobSpec(
        TASK,
        {"repo": repo, "issue": issue, "task": task_id, "attempt": attempt},
        dedupe_key=f"{TASK}:{repo.lower()}#{issue}:{task_id}:a{attempt}",
    )


@dataclass
class Execution:
    """One execution job's tools: the planning tools plus the run store."""

    work: Work
    runs: RunStore

    @property
    def github(self) -> ExecutionPort:
        github: ExecutionPort = self.work.github  # type: ignore[assignment]
        return github

    @property
    def ctx(self) -> JobContext:
        return self.work.ctx

    @property
    def repo(self) -> str:
        return self.work.repo

    @property
    def issue(self) -> int:
        return self.work.issue

    def now(self) -> float:
        return self.ctx.now()

    def workspace(self) -> Workspace:
        return Workspace(
            self.ctx.settings, committer=COMMITTER, credentials=self.work.github.git_credentials
        )

    def show(self, record: PlanRecord, plan: Plan) -> PlanRecord:
        """Save the plan and re-render the checklist (never schedules another advance)."""
        return publish(self.work, record.with_plan(plan), execute=False)


@contextmanager
def execution(ctx: JobContext, repo: str, issue: int) -> Iterator[Execution]:
    with working(ctx, repo, issue) as work, RunStore.open(ctx.settings.data_dir, ctx.clock) as runs:
        yield Execution(work, runs)


# ------------------------------------------------------------------------------- advance


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
        if plan.state not in _LIVE:
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
        ex.ctx.enqueue(advance_spec(ex.repo, ex.issue, f"k{run.kicks}", delay=KICK_SECONDS))


def _visible(run: Run) -> Run:
    return replace(run, kicks=0, revision=0)


def _step(ex: Execution, plan: Plan, run: Run) -> tuple[Plan, Run]:
    now = ex.now()
    if run.installation is None and ex.ctx.job.installation_id is not None:
        run = replace(run, installation=ex.ctx.job.installation_id)
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
        return _fail(
            ex, plan, run, task_id, templates.FAIL_GITHUB.format(detail="closed without merging")
        )
    verdict = gate_verdict(_gate_runs(ex, pull.head_sha), _expected_gates(ex, pull))
    if verdict.state is GateState.PENDING:
        return plan, run.with_task(task_id, head_sha=pull.head_sha)
    if verdict.state is GateState.FAILED:
        return _gates_failed(ex, plan, run, task_id, pull, verdict.failed)
    needed = ex.work.config.execution.require_review
    if needed and len(ex.github.approvals(ex.repo, pull.number)) < needed:
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
        return _fail(ex, plan, run, task_id, reason)
    runs = [r for r in _gate_runs(ex, pull.head_sha) if r.name in failed]
    notes = [templates.FAIL_GATES_NOTE.format(gate=name, pr=pull.number) for name in failed]
    notes += [f"{r.name}: {r.title}. {r.summary[:1500]}".strip() for r in runs]
    run = run.with_task(
        task_id, gate_retried=True, retry_notes=tuple(notes), failures=state.failures + 1
    )
    return _restart(ex, plan, run, task_id)


def _conflict(ex: Execution, plan: Plan, run: Run, task_id: str, detail: str) -> tuple[Plan, Run]:
    state = run.task(task_id)
    reason = templates.FAIL_CONFLICT.format(branch=run.integration_branch, detail=detail[:200])
    if state.conflict_retried:
        return _fail(ex, plan, run, task_id, reason)
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


def _fail(ex: Execution, plan: Plan, run: Run, task_id: str, reason: str) -> tuple[Plan, Run]:
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
        _close_number(ex, run.integration_pr, templates.WHY_CANCELLED)
    if not keep:
        ex.github.delete_branch(ex.repo, run.integration_branch)
    ex.runs.save(replace(run, cleaned_up=True))


def _close_pull(ex: Execution, state: TaskRun, why: str) -> None:
    if state.pr is not None:
        _close_number(ex, state.pr, why)


def _close_number(ex: Execution, number: int, why: str) -> None:
    pull = ex.github.get_pull(ex.repo, number)
    if pull.state != "open":
        return
    note = templates.CLOSED_NOTE.format(why=why)
    ex.work.executor.apply_one(ReplyComment(ex.repo, number, f"closed-{number}", note))
    ex.github.update_pull(ex.repo, number, state="closed")


# ---------------------------------------------------------------------------------- tasks


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
        if plan is None or task is None or plan.state not in _LIVE:
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
                task_id, phase=Phase.RUNNING, started_at=state.started_at or now, branch=branch
            )
            run = ex.runs.save(run)
            record = ex.show(record, plan)
        return Attempt(plan, task, run, record, branch)


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
    return outcome


def _cancelled(ex: Execution) -> bool:
    """Whether the plan stopped being live (cancelled, or gone) while the attempt ran."""
    plan = ex.work.plans.load(ex.repo, ex.issue).plan
    return plan is None or plan.state not in _LIVE


def _commit(
    ex: Execution, claimed: Attempt, tree: Worktree, result: ExecutionResult, workspace: Workspace
) -> AttemptOutcome:
    task = claimed.task
    trailers = [
        ("TechLead-Task", task.id),
        ("TechLead-Plan", f"{ex.repo}#{ex.issue} v{claimed.plan.version}"),
        ("TechLead-Trace", ex.ctx.trace_id),
    ]
    if result.outcome is Outcome.FAILED:
        return AttemptOutcome(Phase.FAILED, result.summary, result.summary, result.log)
    if result.outcome is Outcome.HANDOFF:
        title = templates.START_TITLE.format(task=task.id, title=task.title)
        sha = tree.commit_all(title, author=AUTHOR, trailers=trailers, allow_empty=True)
        phase = Phase.HANDOFF
    else:
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


def _record(ex: Execution, task_id: str, attempt: int, outcome: AttemptOutcome) -> None:
    with ex.work.lease():
        record = ex.work.plans.load(ex.repo, ex.issue)
        run = ex.runs.load(ex.repo, ex.issue)
        plan, state = record.plan, run.task(task_id)
        if plan is None or state.attempt != attempt or state.phase is not Phase.RUNNING:
            return
        now = ex.now()
        changes: dict[str, object] = {
            "phase": outcome.phase,
            "executed_at": now,
            "executor_seconds": round(state.executor_seconds + outcome.executor_seconds, 3),
            "log": outcome.log[-2000:],
            "order_chars": outcome.order_chars,
            "context_chars": outcome.context_chars,
            "reason": outcome.reason,
            "gates_passed": False,
        }
        if outcome.pr is not None:
            changes.update(
                pr=outcome.pr.number, pr_url=outcome.pr.html_url, head_sha=outcome.head_sha
            )
        result = outcome.result
        if result is not None and result.handoff is not None:
            h = result.handoff
            changes["handoff"] = HandoffRecord(
                h.summary or outcome.summary, h.changed_files, h.interfaces, h.notes
            )
        if outcome.phase.done:
            changes["finished_at"] = now
        run = run.with_task(task_id, **changes)
        if result is not None and result.messages:
            delivered = tuple(
                MessageRecord(task_id, m.to, m.kind.value, m.text) for m in result.messages
            )
            run = replace(run, messages=(*run.messages, *delivered))
        if result is not None and result.new_tasks and outcome.phase is not Phase.FAILED:
            plan = grow(plan, task_id, result.new_tasks)
        if outcome.phase is Phase.CANCELLED:
            run = run.with_task(task_id, phase=Phase.CANCELLED)
        elif outcome.phase is Phase.FAILED:
            plan, run = _fail(ex, plan, run, task_id, outcome.reason)
        else:
            links = TaskLinks(
                branch=state.branch or None, pr=outcome.pr.number if outcome.pr else None
            )
            plan = plan.with_task(task_id, status=phase_status(outcome.phase), links=links)
        ex.runs.save(run)
        ex.show(record, plan)


def give_up(ex: Execution, task_id: str, attempt: int, error: str) -> None:
    """The task job ran out of attempts: fail the task with why, show it, advance."""
    with ex.work.lease():
        record = ex.work.plans.load(ex.repo, ex.issue)
        run, plan = ex.runs.load(ex.repo, ex.issue), record.plan
        state = run.task(task_id)
        if plan is None or state.attempt != attempt or not state.phase.in_flight:
            return
        reason = templates.FAIL_JOB.format(error=" ".join(error.split())[:300])
        plan, run = _fail(ex, plan, run, task_id, reason)
        ex.runs.save(run)
        ex.show(record, plan)
    ex.ctx.enqueue(advance_spec(ex.repo, ex.issue, f"{task_id}:a{attempt}:dead"))


def settle_mapping(payload: Mapping[str, object]) -> tuple[str, int]:
    repo, issue = payload.get("repo"), payload.get("issue")
    if not isinstance(repo, str) or not isinstance(issue, int):
        raise ValueError("an execution job needs repo and issue")
    return repo, issue
