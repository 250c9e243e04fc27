"""Planning on GitHub: a labelled issue gets researched, planned and one live checklist comment.

Delivery handlers here only decide which job to schedule (no GitHub calls); the jobs
(``flows``) do the work:

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
from collections.abc import Mapping
from typing import Any

from bot.actions import ReplyComment
from bot.context import JobContext
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


def issue_of(event: Event) -> tuple[str, int] | None:
    """(repo, number) of an issue event's issue; None for pull requests and odd payloads."""
    issue = event.payload.get("issue")
    if not isinstance(issue, Mapping) or issue.get("pull_request") or event.repo is None:
        return None
    number = issue.get("number")
    return (event.repo, number) if isinstance(number, int) else None


def requester(event: Event) -> Requester:
    return Requester(event.sender_login or "ghost", event.sender_type or "User")


def label_of(event: Event) -> str | None:
    label = event.payload.get("label")
    name = label.get("name") if isinstance(label, Mapping) else None
    return name if isinstance(name, str) else None


def plan_spec(
    event: Event, reason: Reason, label: str | None = None, labels: tuple[str, ...] = ()
) -> list[JobSpec]:
    target = issue_of(event)
    if target is None:
        return []
    actor = requester(event)
    request = PlanRequest(*target, reason=reason, actor=actor, label=label, labels=labels)
    return [JobSpec(Kind.RUN.value, to_payload(request))]


def labels_of(event: Event) -> tuple[str, ...]:
    """The names of the issue's labels, as the payload lists them."""
    issue = event.payload.get("issue")
    labels = issue.get("labels") if isinstance(issue, Mapping) else None
    names = (item.get("name") for item in labels or () if isinstance(item, Mapping))
    return tuple(name for name in names if isinstance(name, str))


def cancel_spec(event: Event, reason: CancelReason, label: str | None = None) -> list[JobSpec]:
    target = issue_of(event)
    if target is None:
        return []
    request = CancelRequest(*target, reason=reason, actor=requester(event), label=label)
    return [JobSpec(Kind.CANCEL.value, to_payload(request))]


def command_spec(event: Event) -> list[JobSpec]:
    target = issue_of(event)
    comment = event.payload.get("comment")
    if target is None or not isinstance(comment, Mapping):
        return []
    body = str(comment.get("body") or "")
    if not _COMMAND_LINE.search(body):
        return []
    request = CommandRequest(*target, int(comment["id"]), requester(event), body)
    return [JobSpec(Kind.COMMAND.value, to_payload(request))]


def tick_spec(event: Event) -> list[JobSpec]:
    target = issue_of(event)
    comment = event.payload.get("comment")
    before = _changed_body(event.payload)
    if target is None or not isinstance(comment, Mapping) or before is None:
        return []
    after = str(comment.get("body") or "")
    if not is_plan_comment(after):
        return []
    ticks = tuple(decide_tick_actions(before, after))
    if not ticks:
        return []
    request = TickRequest(*target, int(comment["id"]), requester(event), ticks)
    return [JobSpec(Kind.TICKS.value, to_payload(request))]


def _changed_body(payload: Mapping[str, Any]) -> str | None:
    """``changes.body.from``: the body before an edit, when the body changed."""
    changes = payload.get("changes")
    body = changes.get("body") if isinstance(changes, Mapping) else None
    before = body.get("from") if isinstance(body, Mapping) else None
    return before if isinstance(before, str) else None


# ------------------------------------------------------------------------------ handlers


@router.register("issues", action="labeled")
def on_labeled(event: Event, ctx: JobContext) -> list[JobSpec]:
    return plan_spec(event, Reason.LABELED, label_of(event))


@router.register("issues", action="reopened")
def on_reopened(event: Event, ctx: JobContext) -> list[JobSpec]:
    labels = labels_of(event)
    return plan_spec(event, Reason.REOPENED, labels=labels) if labels else []


@router.register("issues", action="edited")
def on_edited(event: Event, ctx: JobContext) -> list[JobSpec]:
    return plan_spec(event, Reason.EDITED) if _changed_body(event.payload) is not None else []


@router.register("issues", action="unlabeled")
def on_unlabeled(event: Event, ctx: JobContext) -> list[JobSpec]:
    return cancel_spec(event, CancelReason.LABEL_REMOVED, label_of(event) or "")


# Closing cancels whoever closes: a bot merging a pull request with "Closes #12"
# ends the plan too. Only starting work is reserved to people.
@router.register("issues", action="closed", allow_bots=True)
def on_closed(event: Event, ctx: JobContext) -> list[JobSpec]:
    return cancel_spec(event, CancelReason.ISSUE_CLOSED)


@router.register("issue_comment", action="created")
def on_comment(event: Event, ctx: JobContext) -> list[JobSpec]:
    return command_spec(event)


@router.register("issue_comment", action="edited")
def on_comment_edited(event: Event, ctx: JobContext) -> list[JobSpec]:
    return tick_spec(event)


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
