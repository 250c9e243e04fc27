"""Job bodies of the planning feature: load from GitHub and the plan store, decide, apply.

Every flow reads the configuration from the default branch, checks the requester's
permission, then works under the issue's lease in the plan store: load the record,
decide with the pure helpers (``decide``), save the record (the source of truth), and
only then write the checklist comment through the executor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from agents.research import Findings
from bot.actions import CreateReaction, Reaction, ReplyComment, UpsertComment
from bot.context import JobContext
from bot.errors import GitHubNotFound, PlanError, RepoConfigError
from bot.executor import Executor
from bot.features.planning import templates
from bot.features.planning.decide import (
    CHANGING_COMMANDS,
    Outcome,
    Reason,
    Words,
    apply_command,
    checklist_body,
    next_plan,
    replannable,
    reply_body,
    status_text,
    still_wanted,
)
from bot.features.planning.requests import (
    CancelRequest,
    CommandRequest,
    PlanRequest,
    Requester,
    TickRequest,
)
from bot.features.planning.research import issue_templates, research_issue
from bot.permissions import check_sender
from bot.plan.checklist import PLAN_MARKER, render_error
from bot.plan.commands import Command, CommandKind, help_text, parse_commands
from bot.plan.llm import planner_for
from bot.plan.model import IssueInput, PlanState
from bot.plans import PlanRecord
from bot.ports import GitHubPort, IssueInfo
from bot.repo_config import RepoConfig, fetch_repo_config, load_defaults
from bot.state import Plans, open_plan_store

# A plan job holds the issue's lease through research; leave room beyond the budget.
LEASE_MARGIN_SECONDS = 120.0


@dataclass
class Work:
    """One job's tools: the port, the executor, the plan store and the repository's config.

    ``problem`` is the configuration error, if the repository's file is invalid; the
    defaults stand in for ``config`` meanwhile so triggers and permissions still work.
    """

    ctx: JobContext
    github: GitHubPort
    plans: Plans
    repo: str
    issue: int
    config: RepoConfig
    problem: RepoConfigError | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def words(self) -> Words:
        return Words.of(self.config)

    @property
    def executor(self) -> Executor:
        return Executor(self.github)

    @contextmanager
    def lease(self) -> Iterator[None]:
        seconds = self.config.planning.research_budget_seconds + LEASE_MARGIN_SECONDS
        with self.plans.lease(self.repo, self.issue, seconds=seconds, wait=seconds):
            yield

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - started, 4)

    def allowed(self, actor: Requester, command: str) -> tuple[bool, str]:
        decision = check_sender(
            self.github,
            self.repo,
            actor.login,
            command,
            self.config.permissions,
            sender_type=actor.type,
        )
        return decision.allowed, decision.reason


@contextmanager
def working(ctx: JobContext, repo: str, issue: int) -> Iterator[Work]:
    """The tools for one job on ``repo#issue``; the plan store is closed afterwards."""
    github: GitHubPort = ctx.github
    started = time.perf_counter()
    config, problem = load_config(github, repo)
    config_seconds = round(time.perf_counter() - started, 4)
    with open_plan_store(ctx.settings, clock=ctx.clock) as plans:
        work = Work(ctx, github, plans, repo, issue, config, problem)
        work.timings["config"] = config_seconds
        yield work


def load_config(github: GitHubPort, repo: str) -> tuple[RepoConfig, RepoConfigError | None]:
    """The repository's configuration from its default branch, or the defaults and the error."""
    try:
        return fetch_repo_config(github, repo), None
    except RepoConfigError as exc:
        return load_defaults(), exc


# ------------------------------------------------------------------------------ planning


def run_plan(work: Work, request: PlanRequest) -> PlanRecord | None:
    """Research and plan the issue (label, reopen, issue edit); None when nothing was to do."""
    if request.reason in (Reason.LABELED, Reason.REOPENED) and not _is_trigger(work, request):
        return None
    if request.reason is Reason.EDITED and not replannable(work.plans.load(work.repo, work.issue)):
        return None
    with work.timed("permission"):
        allowed, reason = work.allowed(request.actor, CommandKind.PLAN.value)
    if not allowed:
        _refuse(work, request.actor, _refusal_key(work, request), reason)
        return None
    return plan_issue(work, request.reason)


def _refusal_key(work: Work, request: PlanRequest) -> str:
    """One refusal per delivery; a person's repeated edits share one (updated) reply."""
    if request.reason is Reason.EDITED:
        return f"edited-by-{request.actor.login}"
    return f"{request.reason.value}-{_trigger_key(work)}"


def plan_issue(work: Work, reason: Reason) -> PlanRecord | None:
    """Plan (or re-plan) the issue and publish the checklist; returns the saved record."""
    with work.timed("github_issue"):
        issue = work.github.get_issue(work.repo, work.issue)
    if not _wanted(work, reason, issue):
        return None
    if work.problem is not None:
        return _publish_error(work, work.problem)
    issue_input = IssueInput(issue.title, issue.body, issue.number, issue.labels)
    with work.timed("research"):
        findings = research_issue(
            work.github,
            work.ctx.settings,
            work.repo,
            issue_input.text,
            budget_seconds=work.config.planning.research_budget_seconds,
            timings=work.timings,
        )
    # The repository's own issue templates are text the author never wrote.
    issue_input = replace(issue_input, templates=issue_templates(work.repo))
    with work.lease():
        record = work.plans.load(work.repo, work.issue)
        if reason is Reason.EDITED and not replannable(record):
            return None
        with work.timed("planning"):
            planned = _planned(work, record, issue_input, findings)
        return publish(work, planned)


def _planned(work: Work, record: PlanRecord, issue: IssueInput, findings: Findings) -> PlanRecord:
    """The record with the next plan, or with the error that prevents one.

    The checklist is rendered here once so a plan too large for a comment becomes an
    error shown on the issue rather than a job failing at publication.
    """
    # planning.planner: llm asks the model; its cost lands in the record's timings.
    planner = planner_for(work.config.planning.planner, work.ctx.settings, timings=work.timings)
    try:
        plan = next_plan(record.plan, issue, findings, work.config, planner=planner)
        planned = record.with_plan(plan, findings)
        checklist_body(planned, work.words.command)
    except PlanError as exc:
        body = render_error(exc, issue_number=work.issue, command=work.words.command)
        return replace(record, findings=findings).with_error(str(exc), body)
    return planned


def _publish_error(work: Work, error: RepoConfigError) -> PlanRecord:
    body = render_error(error, issue_number=work.issue, command=work.words.command)
    with work.lease():
        record = work.plans.load(work.repo, work.issue)
        return publish(work, record.with_error(str(error), body))


def _wanted(work: Work, reason: Reason, issue: IssueInfo) -> bool:
    return still_wanted(
        reason,
        state=issue.state,
        labels=issue.labels,
        is_pull=issue.is_pull_request,
        label=work.config.trigger.label,
    )


def _is_trigger(work: Work, request: PlanRequest) -> bool:
    """The label added (labeled) or one the reopened issue carries is the trigger label."""
    wanted = work.config.trigger.label.lower()
    if request.reason is Reason.REOPENED:
        return wanted in {label.lower() for label in request.labels}
    return (request.label or "").lower() == wanted


def publish(
    work: Work, record: PlanRecord, *, merge_ticks: bool = True, execute: bool = True
) -> PlanRecord:
    """Save ``record`` (the source of truth), then make the checklist comment mirror it.

    The checklist carries the plan's execution section; ``execute`` schedules the
    execution feature to act on the saved plan (approved, retried, cancelled...).
    """
    # Imported here: the execution feature builds on this module.
    import bot.features.execution.hooks as hooks

    record = replace(record, timings=dict(work.timings))
    if record.plan is not None:  # the hidden state names the delivery behind the change
        record = replace(record, plan=record.plan.traced(work.ctx.delivery_id, work.ctx.trace_id))
    saved = work.plans.save(record)
    body = hooks.checklist_with_execution(
        work.ctx, saved, checklist_body(saved, work.words.command), work.config
    )
    action = UpsertComment(
        work.repo,
        work.issue,
        PLAN_MARKER,
        body,
        merge_ticks=merge_ticks,
        comment_id=saved.comment_id,
    )
    with work.timed("github_comment"):
        applied = work.executor.apply_one(action)
    # Saved again: the comment's id (new after a first post) and the full timings.
    final = work.plans.save(replace(saved, comment_id=applied.id, timings=dict(work.timings)))
    if execute:
        hooks.schedule_execution(work.ctx, final, work.config)
    return final


# ------------------------------------------------------------------------------ commands


@dataclass(frozen=True)
class Answer:
    ok: bool
    notes: tuple[str, ...] = ()


def run_commands(work: Work, request: CommandRequest) -> None:
    """Answer every command of one comment: react, act, reply when there is something to say."""
    commands = parse_commands(request.body, work.words.command)
    if not commands:
        return
    _react(work, request.comment_id, Reaction.EYES)
    answers = [answer_command(work, request.actor, command) for command in commands]
    notes = [note for answer in answers for note in answer.notes]
    if notes:
        quoted = [command.raw for command in commands]
        body = reply_body(request.actor.login, quoted, notes)
        work.executor.apply_one(ReplyComment(work.repo, work.issue, str(request.comment_id), body))
    ok = all(answer.ok for answer in answers)
    _react(work, request.comment_id, Reaction.PLUS_ONE if ok else Reaction.CONFUSED)


def answer_command(work: Work, actor: Requester, command: Command) -> Answer:
    if command.kind is CommandKind.UNKNOWN:
        text = templates.UNKNOWN_COMMAND.format(
            command=work.words.command, name=command.name, help=help_text(work.words.command)
        )
        return Answer(False, (text,))
    allowed, reason = work.allowed(actor, command.kind.value)
    if not allowed:
        return Answer(False, (reason,))
    if command.problem:
        return Answer(False, (command.problem,))
    return _ANSWERS[command.kind](work, actor, command)


def _answer_plan(work: Work, actor: Requester, command: Command) -> Answer:
    record = plan_issue(work, Reason.COMMAND)
    if record is None:
        return Answer(False, (templates.NOT_OPEN.format(command=work.words.command),))
    return Answer(record.error is None)  # an error is explained in the plan comment


def _answer_status(work: Work, actor: Requester, command: Command) -> Answer:
    record = work.plans.load(work.repo, work.issue)
    return Answer(True, (status_text(record, work.words, _comment_url(work, record)),))


def _answer_help(work: Work, actor: Requester, command: Command) -> Answer:
    return Answer(True, (help_text(work.words.command),))


def _answer_change(work: Work, actor: Requester, command: Command) -> Answer:
    if work.problem is not None:
        return Answer(False, (templates.CONFIG_INVALID.format(problem=work.problem),))
    with work.lease():
        record = work.plans.load(work.repo, work.issue)
        outcome = apply_command(record, command, actor.login, work.words)
        if outcome.plan is not None:
            publish(work, record.with_plan(outcome.plan))
    return Answer(outcome.ok, outcome.notes)


_ANSWERS: dict[CommandKind, Callable[[Work, Requester, Command], Answer]] = {
    CommandKind.PLAN: _answer_plan,
    CommandKind.STATUS: _answer_status,
    CommandKind.HELP: _answer_help,
    **{kind: _answer_change for kind in CHANGING_COMMANDS},
}


def _comment_url(work: Work, record: PlanRecord) -> str | None:
    if record.comment_id is None:
        return None
    try:
        return work.github.get_comment(work.repo, record.comment_id).html_url or None
    except GitHubNotFound:
        return None


# --------------------------------------------------------------------------------- ticks


def run_ticks(work: Work, request: TickRequest) -> None:
    """Act on boxes ticked in the plan comment, then re-render it (clearing refused ticks)."""
    permitted: list[Command] = []
    notes: list[str] = []
    for tick in request.ticks:
        allowed, reason = work.allowed(request.actor, tick.kind.value)
        if allowed:
            permitted.append(tick)
        else:
            notes.append(reason)
    with work.lease():
        record = work.plans.load(work.repo, work.issue)
        if record.comment_id != request.comment_id or record.plan is None:
            return  # not (or no longer) this issue's plan comment
        outcome = _apply_all(record, permitted, request.actor.login, work.words)
        notes.extend(outcome.notes)
        updated = record.with_plan(outcome.plan) if outcome.plan is not None else record
        publish(work, updated, merge_ticks=not notes)
    if notes:
        key = f"tick-{_trigger_key(work)}"
        body = reply_body(request.actor.login, [], notes)
        work.executor.apply_one(ReplyComment(work.repo, work.issue, key, body))


def _apply_all(record: PlanRecord, ticks: Sequence[Command], actor: str, words: Words) -> Outcome:
    """Apply ticks one after another; the plan of each feeds the next."""
    current, changed = record, False
    notes: list[str] = []
    for tick in ticks:
        outcome = apply_command(current, tick, actor, words)
        notes.extend(outcome.notes)
        if outcome.plan is not None:
            current, changed = current.with_plan(outcome.plan), True
    return Outcome(current.plan if changed else None, tuple(notes), ok=not notes)


# -------------------------------------------------------------------------------- cancel


def run_cancel(work: Work, request: CancelRequest) -> PlanRecord | None:
    """Cancel the live plan because the issue was closed or its trigger label removed."""
    label = request.label
    if label is not None and label.lower() != work.config.trigger.label.lower():
        return None
    with work.lease():
        record = work.plans.load(work.repo, work.issue)
        plan = record.plan
        if plan is None or plan.state is PlanState.CANCELLED:
            return None
        return publish(work, record.with_plan(plan.cancel(request.reason, request.actor.login)))


# --------------------------------------------------------------------------------- small


def _react(work: Work, comment_id: int, content: Reaction) -> None:
    work.executor.apply_one(CreateReaction(work.repo, content, comment_id=comment_id))


def _refuse(work: Work, actor: Requester, key: str, reason: str) -> None:
    body = reply_body(actor.login, [], [reason])
    work.executor.apply_one(ReplyComment(work.repo, work.issue, key, body))


def _trigger_key(work: Work) -> str:
    """A reply key unique to the delivery that triggered this job (stable across retries)."""
    job = work.ctx.job
    return job.delivery_id or f"job{job.id}"
