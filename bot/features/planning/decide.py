"""Pure decisions of the planning feature: the next plan, what a command does, what to show.

Nothing here touches GitHub, git or the database; the job bodies (``flows``) load the
inputs, call these helpers and apply what they return.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from agents.research.model import Findings
from bot.features.planning import templates
from bot.plan import templates as plan_templates
from bot.plan.checklist import render
from bot.plan.commands import Command, CommandKind
from bot.plan.model import CancelReason, IssueInput, Plan, PlanState, TaskStatus
from bot.plan.planner import Planner, make_plan
from bot.plan.replan import replan
from bot.plans import PlanRecord
from bot.repo_config import RepoConfig

_APPROVABLE = frozenset({PlanState.AWAITING_APPROVAL, PlanState.DRAFT})


class Reason(enum.StrEnum):
    """Why a plan job runs."""

    LABELED = "labeled"
    REOPENED = "reopened"
    EDITED = "edited"
    COMMAND = "command"


@dataclass(frozen=True)
class Words:
    """The repository's trigger label and command word, for texts that name them."""

    label: str
    command: str

    @classmethod
    def of(cls, config: RepoConfig) -> Words:
        return cls(config.trigger.label, config.trigger.command)


@dataclass(frozen=True)
class Outcome:
    """What a command does: the new plan (None: unchanged) and notes for the reply.

    ``ok`` is False when any part was refused; the notes then say why.
    """

    plan: Plan | None = None
    notes: tuple[str, ...] = ()
    ok: bool = True


# ----------------------------------------------------------------------------- planning


def next_plan(
    previous: Plan | None,
    issue: IssueInput,
    findings: Findings,
    config: RepoConfig,
    *,
    planner: Planner | None = None,
) -> Plan:
    """The plan for ``issue``: a first plan, or a re-plan keeping ids, statuses and links.

    A cancelled plan planned again comes back as a new version that needs approval
    (when the repository asks for approval). Raises ``PlanError`` (cycles, dangling
    references, too many tasks). ``planner`` is the deterministic one unless given.
    """
    if previous is None:
        return make_plan(issue, findings, config.agents, config.planning, planner=planner)
    if previous.state is PlanState.CANCELLED:
        previous = revive(previous, config.planning.require_approval)
    return replan(previous, issue, findings, config.agents, config.planning, planner=planner)


def revive(plan: Plan, require_approval: bool) -> Plan:
    """A cancelled plan made live again as the next version (its tasks keep their ids)."""
    state = PlanState.AWAITING_APPROVAL if require_approval else PlanState.APPROVED
    return replace(
        plan,
        state=state,
        version=plan.version + 1,
        cancel_reason=None,
        cancelled_by=None,
        diff=None,
    )


def replannable(record: PlanRecord) -> bool:
    """An issue edit re-plans only an issue that has a live plan (or a planning error)."""
    if record.error is not None:
        return True
    return record.plan is not None and record.plan.state is not PlanState.CANCELLED


def still_wanted(
    reason: Reason, *, state: str, labels: Sequence[str], is_pull: bool, label: str
) -> bool:
    """Whether the issue, as GitHub has it now, should still be planned."""
    if is_pull or state != "open":
        return False
    if reason in (Reason.LABELED, Reason.REOPENED):
        return label.lower() in {name.lower() for name in labels}
    return True


# ----------------------------------------------------------------------------- commands


def apply_command(record: PlanRecord, command: Command, actor: str, words: Words) -> Outcome:
    """What approve, retry, skip or cancel (typed or ticked) does to the stored plan."""
    plan = record.plan
    if plan is None:
        return _refused(templates.NO_PLAN.format(label=words.label, command=words.command))
    if command.kind is CommandKind.CANCEL:
        return _cancel(plan, actor)
    if record.error is not None:
        return _refused(templates.PLAN_INVALID.format(command=words.command))
    if plan.state is PlanState.CANCELLED:
        return _refused(templates.PLAN_CANCELLED.format(command=words.command))
    if command.version is not None and command.version != plan.version:
        return _refused(templates.STALE_TICK.format(tick=command.version, version=plan.version))
    change = _CHANGES.get(command.kind)
    if change is None:
        raise ValueError(f"{command.kind.value} does not change a plan")
    return change(plan, command)


def _approve(plan: Plan, command: Command) -> Outcome:
    if plan.state not in _APPROVABLE:
        return Outcome(notes=(templates.ALREADY_APPROVED.format(version=plan.version),))
    return Outcome(plan=replace(plan, state=PlanState.APPROVED))


def _retry(plan: Plan, command: Command) -> Outcome:
    return _per_task(plan, command, _retry_one)


def _skip(plan: Plan, command: Command) -> Outcome:
    return _per_task(plan, command, _skip_one)


def _retry_one(plan: Plan, task_id: str) -> Plan | str:
    task = plan.task(task_id)
    if task is None:
        return templates.NO_SUCH_TASK.format(task=task_id, ids=", ".join(plan.ids()))
    if task.status is not TaskStatus.FAILED:
        status = plan_templates.STATUS_NAMES[task.status.value]
        return templates.RETRY_NEEDS_FAILED.format(task=task_id, status=status)
    return plan.with_task(task_id, status=TaskStatus.PENDING)


def _skip_one(plan: Plan, task_id: str) -> Plan | str:
    task = plan.task(task_id)
    if task is None:
        return templates.NO_SUCH_TASK.format(task=task_id, ids=", ".join(plan.ids()))
    if task.status is TaskStatus.SKIPPED:
        return plan  # asked twice (or the job ran again): already done
    if task.status.finished:
        status = plan_templates.STATUS_NAMES[task.status.value]
        return templates.SKIP_FINISHED.format(task=task_id, status=status)
    return plan.with_task(task_id, status=TaskStatus.SKIPPED)


def _per_task(plan: Plan, command: Command, one: Callable[[Plan, str], Plan | str]) -> Outcome:
    """Apply ``one`` to each named task; tasks that cannot change are reported, not fatal."""
    current, notes = plan, []
    for task_id in command.args:
        result = one(current, task_id)
        if isinstance(result, str):
            notes.append(result)
        else:
            current = result
    return Outcome(plan=None if current == plan else current, notes=tuple(notes), ok=not notes)


def _cancel(plan: Plan, actor: str) -> Outcome:
    if plan.state is PlanState.CANCELLED:
        return Outcome(notes=(templates.ALREADY_CANCELLED,))
    return Outcome(plan=plan.cancel(CancelReason.BY_USER, actor))


def _refused(note: str) -> Outcome:
    return Outcome(notes=(note,), ok=False)


_CHANGES: dict[CommandKind, Callable[[Plan, Command], Outcome]] = {
    CommandKind.APPROVE: _approve,
    CommandKind.RETRY: _retry,
    CommandKind.SKIP: _skip,
}
CHANGING_COMMANDS = frozenset({*_CHANGES, CommandKind.CANCEL})


# ------------------------------------------------------------------------------ showing


def checklist_body(record: PlanRecord, command: str) -> str:
    """The plan comment for ``record``: the error that stopped planning, or the checklist."""
    if record.error_body is not None:
        return record.error_body
    if record.plan is None:
        raise ValueError(f"{record.repo}#{record.issue} has neither a plan nor an error")
    return annotate(render(record.plan, record.findings, command=command), record.plan)


def annotate(body: str, plan: Plan) -> str:
    """Say what approval means in this version, and who cancelled when the note does not."""
    if plan.state in (PlanState.APPROVED, PlanState.RUNNING):
        note = plan_templates.APPROVED_NOTE.format(version=plan.version)
        means = templates.APPROVED_MEANS.format(version=plan.version)
        return body.replace(note, f"{note} {means}", 1)
    if plan.state is PlanState.CANCELLED and plan.cancelled_by:
        reason = plan.cancel_reason.value if plan.cancel_reason else ""
        note = plan_templates.CANCELLED_NOTES.get(reason, "")
        if note and "{actor}" not in note:
            by = templates.CANCELLED_BY.format(actor=plan.cancelled_by)
            return body.replace(note, note.removesuffix(".") + by + ".", 1)
    return body


def status_text(record: PlanRecord, words: Words, url: str | None = None) -> str:
    """A one-paragraph answer to ``status``."""
    plan = record.plan
    if plan is None:
        return templates.NO_PLAN.format(label=words.label, command=words.command)
    state = record.state or plan.state
    counts = Counter(task.status for task in plan.tasks)
    parts = [
        templates.STATUS_COUNT.format(count=n, status=plan_templates.STATUS_NAMES[status.value])
        for status, n in sorted(counts.items(), key=lambda item: list(TaskStatus).index(item[0]))
    ]
    text = templates.STATUS.format(
        version=plan.version,
        state=templates.STATE_NAMES[state.value],
        counts=", ".join(parts) or templates.STATUS_NO_TASKS,
    )
    return text + (templates.STATUS_LINK.format(url=url) if url else "")


def reply_body(actor: str, quoted: Sequence[str], notes: Sequence[str]) -> str:
    """A reply to ``actor``: the lines it answers, quoted, then the notes (a list if several).

    The actor is mentioned once: not again when a note already names them.
    """
    mention = f"@{actor}"
    if len(notes) == 1:
        text = notes[0]
        answer = text if mention in text else templates.REPLY_ALONE.format(actor=actor, text=text)
    else:
        items = "\n".join(templates.REPLY_LIST_ITEM.format(text=note) for note in notes)
        answer = templates.REPLY_LIST.format(actor=actor, items=items)
    if not quoted:
        return answer
    quote = "\n".join(templates.REPLY_QUOTE.format(line=line) for line in quoted)
    return templates.REPLY.format(quote=quote, text=answer)
