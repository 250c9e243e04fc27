"""Planning on GitHub: a labelled issue gets researched, planned and one live checklist comment.

Delivery handlers here only decide which job to schedule (no GitHub calls), from the
payload views of :mod:`bot.events` (a malformed payload is skipped by the router, not
retried); the jobs (``flows``) do the work:

=========================  ===============================================  ============
event                      when                                             job
=========================  ===============================================  ============
issues.labeled             any label (the job compares it with the config)  plan.run
issues.reopened            the issue carries labels                         plan.run
issues.edited              the body changed                                 plan.run
issues.unlabeled           any label                                        plan.cancel
issues.closed              always                                           plan.cancel
issue_comment.created      a line starts with ``/`` (not on pull requests)  plan.command
issue_comment.edited       the plan comment, with boxes newly ticked        plan.ticks
=========================  ===============================================  ============

Events from bots reach only ``issues.closed`` (a close by anyone ends the plan); starting
work stays reserved to people (the router filters bots from the other handlers). Each job's
dedupe key comes from the delivery, so a delivery routed twice schedules its jobs once.
A job that is dead-lettered (out of attempts, or its worker kept dying) leaves a comment
on the issue saying what happened and what to do: :func:`report_failure`, the ``on_dead``
hook of every planning job.
"""

from __future__ import annotations

import re

from bot.actions import ReplyComment
from bot.context import JobContext
from bot.events import IssueCommentEvent, IssueEvent
from bot.executor import Executor
from bot.features.planning import flows, templates
from bot.features.planning.decide import Reason
from bot.features.planning.requests import (
    CancelRequest,
    CommandRequest,
    Kind,
    PlanRequest,
    Requester,
    TickRequest,
    from_payload,
    to_payload,
)
from bot.jobs import Job, JobRegistry, JobSpec
from bot.plan.checklist import decide_tick_actions, is_plan_comment
from bot.plan.commands import DEFAULT_COMMAND
from bot.plan.model import CancelReason
from bot.router import Event, Router

router = Router()
jobs = JobRegistry()

# Cheap pre-filter: only comments with a line starting with "/" can hold a command.
_COMMAND_LINE = re.compile(r"^\s{0,3}/\w", re.MULTILINE)
_ERROR_CHARS = 500


# ------------------------------------------------------------------------ what to schedule
# Pure: typed views in (bot.events), job specs out. A pull request's issue events are
# not for planning; neither is a comment without a command or an edit that ticks nothing.


def requester(event: Event) -> Requester:
    return Requester(event.sender_login or "ghost", event.sender_type or "User")


def plan_spec(
    event: IssueEvent,
    actor: Requester,
    reason: Reason,
    label: str | None = None,
    labels: tuple[str, ...] = (),
) -> list[JobSpec]:
    if event.issue.is_pull_request:
        return []
    request = PlanRequest(
        event.repo, event.issue.number, reason=reason, actor=actor, label=label, labels=labels
    )
    return [JobSpec(Kind.RUN.value, to_payload(request))]


def cancel_spec(
    event: IssueEvent, actor: Requester, reason: CancelReason, label: str | None = None
) -> list[JobSpec]:
    if event.issue.is_pull_request:
        return []
    request = CancelRequest(event.repo, event.issue.number, reason, actor, label)
    return [JobSpec(Kind.CANCEL.value, to_payload(request))]


def command_spec(comment: IssueCommentEvent, actor: Requester) -> list[JobSpec]:
    if comment.issue.is_pull_request or not _COMMAND_LINE.search(comment.body):
        return []
    request = CommandRequest(
        comment.repo, comment.issue.number, comment.comment_id, actor, comment.body
    )
    return [JobSpec(Kind.COMMAND.value, to_payload(request))]


def tick_spec(comment: IssueCommentEvent, actor: Requester) -> list[JobSpec]:
    before = comment.previous_body
    if comment.issue.is_pull_request or before is None or not is_plan_comment(comment.body):
        return []
    ticks = tuple(decide_tick_actions(before, comment.body))
    if not ticks:
        return []
    request = TickRequest(comment.repo, comment.issue.number, comment.comment_id, actor, ticks)
    return [JobSpec(Kind.TICKS.value, to_payload(request))]


# ------------------------------------------------------------------------------ handlers


@router.register("issues", action="labeled")
def on_labeled(event: Event, ctx: JobContext) -> list[JobSpec]:
    issue = IssueEvent.from_event(event)
    return plan_spec(issue, requester(event), Reason.LABELED, label=issue.label)


@router.register("issues", action="reopened")
def on_reopened(event: Event, ctx: JobContext) -> list[JobSpec]:
    issue = IssueEvent.from_event(event)
    labels = issue.issue.labels
    return plan_spec(issue, requester(event), Reason.REOPENED, labels=labels) if labels else []


@router.register("issues", action="edited")
def on_edited(event: Event, ctx: JobContext) -> list[JobSpec]:
    issue = IssueEvent.from_event(event)
    if issue.previous_body is None:
        return []  # the title or another field changed: the plan does not depend on it
    return plan_spec(issue, requester(event), Reason.EDITED)


@router.register("issues", action="unlabeled")
def on_unlabeled(event: Event, ctx: JobContext) -> list[JobSpec]:
    issue = IssueEvent.from_event(event)
    return cancel_spec(issue, requester(event), CancelReason.LABEL_REMOVED, issue.label or "")


# Closing cancels whoever closes: a bot merging a pull request with "Closes #12"
# ends the plan too. Only starting work is reserved to people.
@router.register("issues", action="closed", allow_bots=True)
def on_closed(event: Event, ctx: JobContext) -> list[JobSpec]:
    return cancel_spec(IssueEvent.from_event(event), requester(event), CancelReason.ISSUE_CLOSED)


@router.register("issue_comment", action="created")
def on_comment(event: Event, ctx: JobContext) -> list[JobSpec]:
    return command_spec(IssueCommentEvent.from_event(event), requester(event))


@router.register("issue_comment", action="edited")
def on_comment_edited(event: Event, ctx: JobContext) -> list[JobSpec]:
    return tick_spec(IssueCommentEvent.from_event(event), requester(event))


# ---------------------------------------------------------------------------------- jobs


def report_failure(job: Job, error: str, ctx: JobContext) -> None:
    """``on_dead``: one comment on the issue (keyed by the job, so never twice) saying what
    failed and what to do. Best effort: when GitHub itself is what fails, the comment
    cannot be written either, and the worker logs that. ``error`` comes redacted.

    Rate limits never get here (the queue pauses and retries them for free), nor do
    jobs interrupted by a shutdown (released, not charged).
    """
    repo, issue = job.payload.get("repo"), job.payload.get("issue")
    if not isinstance(repo, str) or not isinstance(issue, int):
        return
    body = templates.JOB_FAILED.format(
        what=templates.JOB_WHAT.get(job.kind, templates.JOB_WHAT_OTHER),
        attempts=job.attempts,
        error=error[:_ERROR_CHARS],
        command=DEFAULT_COMMAND,
        job=job.id,
    )
    Executor(ctx.github).apply_one(ReplyComment(repo, issue, f"job{job.id}", body))


@jobs.register(Kind.RUN.value, on_dead=report_failure)
def plan_run(job: Job, ctx: JobContext) -> None:
    request = from_payload(PlanRequest, job.payload)
    with flows.working(ctx, request.repo, request.issue) as work:
        flows.run_plan(work, request)


@jobs.register(Kind.COMMAND.value, on_dead=report_failure)
def plan_command(job: Job, ctx: JobContext) -> None:
    request = from_payload(CommandRequest, job.payload)
    with flows.working(ctx, request.repo, request.issue) as work:
        flows.run_commands(work, request)


@jobs.register(Kind.TICKS.value, on_dead=report_failure)
def plan_ticks(job: Job, ctx: JobContext) -> None:
    request = from_payload(TickRequest, job.payload)
    with flows.working(ctx, request.repo, request.issue) as work:
        flows.run_ticks(work, request)


@jobs.register(Kind.CANCEL.value, on_dead=report_failure)
def plan_cancel(job: Job, ctx: JobContext) -> None:
    request = from_payload(CancelRequest, job.payload)
    with flows.working(ctx, request.repo, request.issue) as work:
        flows.run_cancel(work, request)
