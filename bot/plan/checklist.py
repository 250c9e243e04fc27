"""The plan checklist comment: render it, read it back, and merge people's ticks.

The comment is machine-rendered and deterministic (like Renovate's dependency
dashboard). It starts with ``<!-- techlead:plan -->`` so the bot finds and edits it,
and ends with a hidden, versioned state block (``<!-- techlead:state v1 ... -->``:
zlib-compressed JSON in base64, which can never contain ``-->``) mirroring the plan.

Control checkboxes (approve, retry T3, skip T3) carry a hidden per-line marker with
the plan version, so a tick is identified whatever the visible text says and a tick
on an old version is never taken for approval of a new one. Before the bot writes,
it re-reads the comment and :func:`merge_ticks` carries over ticks a person made in
the meantime (the Renovate #4355 lesson); :func:`decide_tick_actions` turns an
``issue_comment.edited`` event's old and new bodies into commands.

GitHub refuses bodies over 65,536 characters, so :func:`render` trims, in order: the
research details, then the whole research summary, task reasoning, the change list,
the bodies and reasoning in the state block, and finally task titles. The controls
are never trimmed.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from agents.research.model import Findings, Note
from bot.errors import (
    ChecklistStateError,
    ChecklistTooLargeError,
    CyclicPlanError,
    DanglingDependencyError,
    RepoConfigError,
    TechLeadError,
)
from bot.plan import templates
from bot.plan.commands import DEFAULT_COMMAND, Command, CommandKind
from bot.plan.model import Plan, PlanState, Task, TaskStatus
from bot.plan.waves import plan_waves, wave_name

MAX_COMMENT_CHARS = 65_536
STATE_FORMAT = 1
PLAN_MARKER = templates.PLAN_MARKER
_STATE = re.compile(r"<!--\s*techlead:state\s+v(\d+)(?:\s+([A-Za-z0-9+/=]+))?\s*-->")
# Spaces are [ \t], never \s: with re.MULTILINE a \s* at "^" would run across every
# following blank line from each line start, which is quadratic on a body of newlines.
_CONTROL = re.compile(
    r"^(?P<lead>[ \t]*[-*][ \t]+\[)(?P<tick>[ xX])(?P<rest>\].*?<!--[ \t]*techlead:control[ \t]+"
    r"(?P<kind>approve|retry|skip)(?:[ \t]+(?P<task>T\d+))?[ \t]+v(?P<version>\d+)[ \t]*-->.*)$",
    re.MULTILINE,
)
_MAX_LIST = 10


class ControlKind(enum.StrEnum):
    APPROVE = "approve"
    RETRY = "retry"
    SKIP = "skip"


@dataclass(frozen=True)
class Control:
    """One control checkbox, identified by its hidden marker."""

    kind: ControlKind
    task: str | None
    version: int


@dataclass(frozen=True)
class Ticks:
    """The ticked control boxes of a checklist body."""

    controls: tuple[Control, ...] = ()

    @property
    def approve(self) -> bool:
        return any(control.kind is ControlKind.APPROVE for control in self.controls)

    @property
    def retry(self) -> frozenset[str]:
        return self._tasks(ControlKind.RETRY)

    @property
    def skip(self) -> frozenset[str]:
        return self._tasks(ControlKind.SKIP)

    def _tasks(self, kind: ControlKind) -> frozenset[str]:
        return frozenset(c.task for c in self.controls if c.kind is kind and c.task)


@dataclass(frozen=True)
class _Options:
    """How much detail one rendering attempt includes."""

    research: str = "full"  # full | brief | none
    task_details: bool = True
    changes: bool = True
    full_state: bool = True
    title_chars: int = 200


# Each step trims more; the first rendering that fits is used.
_TRIM_STEPS = (
    _Options(),
    _Options(research="brief"),
    _Options(research="none"),
    _Options(research="none", task_details=False),
    _Options(research="none", task_details=False, changes=False),
    _Options(research="none", task_details=False, changes=False, full_state=False),
    _Options(research="none", task_details=False, changes=False, full_state=False, title_chars=60),
    _Options(research="none", task_details=False, changes=False, full_state=False, title_chars=0),
)


# ------------------------------------------------------------------------------- render


def render(
    plan: Plan,
    findings: Findings | None = None,
    *,
    command: str = DEFAULT_COMMAND,
    limit: int = MAX_COMMENT_CHARS,
) -> str:
    """The checklist body for ``plan``, at most ``limit`` characters."""
    waves = plan_waves(plan)
    for options in _TRIM_STEPS:
        body = _render(plan, findings, waves, command, options)
        if len(body) <= limit:
            return body
    raise ChecklistTooLargeError()


def _render(
    plan: Plan,
    findings: Findings | None,
    waves: tuple[tuple[str, ...], ...],
    command: str,
    options: _Options,
) -> str:
    sections = [
        PLAN_MARKER,
        _header(plan),
        _summary(plan, len(waves)),
        _linked(plan),
        _research(findings, options.research),
        _waves(plan, waves, options),
        _controls(plan),
        _changes(plan, options.changes),
        _footer(plan, command),
        encode_state(plan, full=options.full_state),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _header(plan: Plan) -> str:
    issue = templates.HEADER_ISSUE.format(number=plan.issue_number) if plan.issue_number else ""
    state = templates.STATE_NAMES[plan.state.value]
    return templates.HEADER.format(issue=issue, state=state, version=plan.version)


def _summary(plan: Plan, wave_count: int) -> str:
    summary = templates.SUMMARY.format(
        title=_inline(plan.title, 200),
        tasks=_count(templates.COUNT_TASKS, len(plan.tasks)),
        waves=_count(templates.COUNT_WAVES, wave_count),
        source=templates.SOURCE_NAMES[plan.source.value],
    )
    return "\n".join([summary, *(_inline(note, 400) for note in plan.notes)])


def _linked(plan: Plan) -> str:
    """The issues the issue lists as items: tracked there, not planned here."""
    if not plan.linked:
        return ""
    shown = [_code(link, 120) for link in plan.linked[: _MAX_LIST * 2]]
    more = len(plan.linked) - len(shown)
    text = ", ".join(shown) + (templates.LINKED_MORE.format(count=more) if more else "")
    return templates.LINKED.format(issues=text)


def _count(forms: tuple[str, str], n: int) -> str:
    return (forms[0] if n == 1 else forms[1]).format(n=n)


def _research(findings: Findings | None, level: str) -> str:
    if findings is None:
        return ""
    if level == "none":
        return templates.RESEARCH_OMITTED
    languages = _languages(findings)
    if level == "brief":
        return templates.RESEARCH_BRIEF.format(files=findings.file_count, languages=languages)
    lines = [templates.RESEARCH_OPEN, *_profile_lines(findings, languages)]
    lines += _relevant_lines(findings)
    lines += _note_lines(templates.RESEARCH_SECURITY, findings.security)
    lines += _note_lines(templates.RESEARCH_PERFORMANCE, findings.performance)
    if findings.degraded:
        agents = ", ".join(
            templates.RESEARCH_DEGRADED_ITEM.format(agent=d.agent, reason=_inline(d.reason, 200))
            for d in findings.degraded
        )
        lines.append(templates.RESEARCH_DEGRADED.format(agents=agents))
    lines.append(templates.RESEARCH_CLOSE)
    return "\n".join(lines)


def _languages(findings: Findings) -> str:
    shares = findings.profile.languages[:_MAX_LIST]
    return ", ".join(f"{s.name} {_percent(s.percent)}" for s in shares) or templates.NONE


def _percent(value: float) -> str:
    return f"{value:g}%" if value >= 0.1 else "<0.1%"


def _profile_lines(findings: Findings, languages: str) -> list[str]:
    profile = findings.profile
    lines = [
        templates.RESEARCH_FILES.format(count=findings.file_count),
        templates.RESEARCH_LANGUAGES.format(languages=languages),
        templates.RESEARCH_FRAMEWORKS.format(frameworks=_names(profile.frameworks)),
        templates.RESEARCH_TOOLS.format(tools=_names(profile.tools)),
    ]
    if profile.test_framework and profile.test_command:
        lines.append(
            templates.RESEARCH_TESTS.format(
                framework=_inline(profile.test_framework, 60),
                command=_code(profile.test_command, 100),
            )
        )
    if profile.top_dirs:
        dirs = ", ".join(f"`{_code(name, 60)}/`" for name in profile.top_dirs[: _MAX_LIST * 2])
        src = templates.RESEARCH_SRC if profile.src_layout else ""
        lines.append(templates.RESEARCH_LAYOUT.format(dirs=dirs, src=src))
    if profile.api_specs:
        specs = ", ".join(
            f"`{_code(s.path, 120)}` ({s.kind.value})" for s in profile.api_specs[:_MAX_LIST]
        )
        lines.append(templates.RESEARCH_SPECS.format(specs=specs))
    return lines


def _names(names: Sequence[str]) -> str:
    return ", ".join(_inline(name, 60) for name in names[: _MAX_LIST * 2]) or templates.NONE


def _relevant_lines(findings: Findings) -> list[str]:
    if not findings.relevant:
        return []
    rows = [
        templates.RESEARCH_RELEVANT_ROW.format(
            path=_code(item.path, 160).replace("|", "\\|"),
            score=item.score,
            owners=_inline(" ".join(item.owners), 120).replace("|", "\\|") or "",
        )
        for item in findings.relevant
    ]
    return [templates.RESEARCH_RELEVANT, *rows]


def _note_lines(heading: str, notes: Sequence[Note]) -> list[str]:
    if not notes:
        return []
    rows = [
        templates.RESEARCH_NOTE.format(ref=_code(note.ref, 160), message=_inline(note.message, 200))
        for note in notes
    ]
    return [heading, *rows]


def _waves(plan: Plan, waves: tuple[tuple[str, ...], ...], options: _Options) -> str:
    blocks = []
    for index, wave in enumerate(waves):
        lines = [templates.WAVE.format(name=wave_name(index))]
        for task_id in wave:
            task = plan.task(task_id)
            if task is not None:
                lines.extend(_task_lines(task, options))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _task_lines(task: Task, options: _Options) -> list[str]:
    title = _inline(task.title, options.title_chars) if options.title_chars else ""
    template = templates.TASK_TITLE_STRUCK if _struck(task) else templates.TASK_TITLE
    title_part = template.format(id=task.id, title=title).replace("** ~~", "**~~").strip()
    extra = ""
    if task.depends_on:
        extra += templates.TASK_WAITS.format(ids=", ".join(task.depends_on))
    if task.external_deps:
        extra += templates.TASK_WAITS.format(ids=", ".join(f"#{n}" for n in task.external_deps))
    if task.links.branch:
        extra += templates.TASK_BRANCH.format(branch=_code(task.links.branch, 120))
    if task.links.pr:
        extra += templates.TASK_PR.format(pr=task.links.pr)
    status = templates.STATUS_NAMES[task.status.value]
    if not task.in_issue:
        status += templates.TASK_REMOVED
    line = templates.TASK_LINE.format(
        tick="x" if task.status is TaskStatus.COMPLETED else " ",
        title_part=title_part,
        agent=task.agent,
        priority=task.priority.value,
        status=status,
        extra=extra,
    )
    if options.task_details and task.reasoning:
        return [line, templates.TASK_DETAIL.format(reason=_inline(task.reasoning[0], 300))]
    return [line]


def _struck(task: Task) -> bool:
    return task.status in (TaskStatus.SKIPPED, TaskStatus.CANCELLED)


def _controls(plan: Plan) -> str:
    if plan.state is PlanState.CANCELLED:
        note = templates.CANCELLED_NOTES.get(plan.cancel_reason.value if plan.cancel_reason else "")
        text = (note or templates.CANCELLED_UNKNOWN).format(actor=plan.cancelled_by or "someone")
        return f"{templates.CONTROLS}\n\n{text}"
    lines = [templates.CONTROLS, ""]
    if plan.state in (PlanState.AWAITING_APPROVAL, PlanState.DRAFT):
        lines.append(templates.CONTROL_APPROVE.format(tick=" ", version=plan.version))
    elif plan.state is PlanState.DONE:
        lines.append(templates.DONE_NOTE)
    else:
        lines.append(templates.APPROVED_NOTE.format(version=plan.version))
    for task in plan.tasks:
        if task.status is TaskStatus.FAILED and task.in_issue:
            lines.append(templates.CONTROL_RETRY.format(tick=" ", id=task.id, version=plan.version))
            lines.append(templates.CONTROL_SKIP.format(tick=" ", id=task.id, version=plan.version))
    return "\n".join(lines)


def _changes(plan: Plan, full: bool) -> str:
    diff = plan.diff
    if diff is None or diff.empty:
        return ""
    heading = templates.CHANGES.format(version=plan.version)
    if not full:
        counts = templates.CHANGE_COUNTS.format(
            added=len(diff.added), removed=len(diff.removed), changed=len(diff.changed)
        )
        return f"{heading}\n\n{counts}"
    lines = [heading, ""]
    if diff.added:
        added = [_change_task(plan, task_id) for task_id in diff.added]
        lines.append(templates.CHANGE_ADDED.format(tasks=", ".join(added)))
    if diff.removed:
        removed = [
            (templates.CHANGE_KEPT if r.kept_as else templates.CHANGE_TASK).format(
                id=r.id,
                title=_inline(r.title, 80),
                status=templates.STATUS_NAMES[r.kept_as.value] if r.kept_as else "",
            )
            for r in diff.removed
        ]
        lines.append(templates.CHANGE_REMOVED.format(tasks=", ".join(removed)))
    if diff.changed:
        changed = [
            templates.CHANGE_FIELDS.format(id=c.id, fields=", ".join(c.fields))
            for c in diff.changed
        ]
        lines.append(templates.CHANGE_CHANGED.format(tasks=", ".join(changed)))
    return "\n".join(lines)


def _change_task(plan: Plan, task_id: str) -> str:
    task = plan.task(task_id)
    return templates.CHANGE_TASK.format(id=task_id, title=_inline(task.title, 80) if task else "")


def _footer(plan: Plan, command: str) -> str:
    commands = " · ".join(f"`{command} {name}`" for name in templates.FOOTER_COMMANDS)
    return templates.FOOTER.format(version=plan.version, commands=commands)


def _inline(text: str, limit: int) -> str:
    """One line of text that cannot open HTML comments or break the layout."""
    flat = " ".join(text.split()).replace("<!--", "&lt;!--").replace("-->", "--&gt;")
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)].rstrip() + "…"


def _code(text: str, limit: int) -> str:
    return _inline(text, limit).replace("`", "'")


# ------------------------------------------------------------------------ state block


def encode_state(plan: Plan, *, full: bool = True) -> str:
    """The hidden state block; ``full=False`` leaves out task bodies and reasoning."""
    if not full:
        plan = replace(plan, tasks=tuple(replace(t, body="", reasoning=()) for t in plan.tasks))
    data = json.dumps(plan.to_dict(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    payload = base64.b64encode(zlib.compress(data.encode("utf-8"), 9)).decode("ascii")
    return templates.STATE_BLOCK.format(format=STATE_FORMAT, payload=payload)


def parse_state(body: str) -> Plan | None:
    """The plan mirrored in a checklist body; None when the body has no state block.

    Raises ChecklistStateError when the block is corrupt or from a newer format.
    """
    match = _STATE.search(body)
    if match is None:
        return None
    found = int(match.group(1))
    if found != STATE_FORMAT:
        problem = templates.ERROR_STATE_VERSION.format(found=found, known=STATE_FORMAT)
        raise ChecklistStateError(problem)
    try:
        payload = base64.b64decode(match.group(2) or "", validate=True)
        data: Any = json.loads(zlib.decompress(payload))
        return Plan.from_dict(data)
    except (binascii.Error, zlib.error, ValueError, ValidationError) as exc:
        raise ChecklistStateError(type(exc).__name__) from exc


def is_plan_comment(body: str) -> bool:
    return body.lstrip().startswith(PLAN_MARKER)


# ------------------------------------------------------------------------------- ticks


def _controls_in(body: str) -> list[tuple[Control, bool]]:
    found = []
    for match in _CONTROL.finditer(body):
        control = Control(ControlKind(match["kind"]), match["task"], int(match["version"]))
        found.append((control, match["tick"] != " "))
    return found


def parse_ticks(body: str) -> Ticks:
    """Which control boxes are ticked in ``body``."""
    return Ticks(tuple(control for control, ticked in _controls_in(body) if ticked))


def merge_ticks(current_body: str, new_body: str) -> str:
    """``new_body`` with every control ticked in ``current_body`` ticked as well.

    ``current_body`` is the comment as GitHub has it now (re-read just before writing);
    ``new_body`` is what the bot rendered. A tick carries over only to the same control
    (kind, task and plan version) still present and unticked in ``new_body``; controls
    the bot already acted on are gone from its rendering, so nothing is applied twice.
    """
    ticked = set(parse_ticks(current_body).controls)
    if not ticked:
        return new_body

    def tick(match: re.Match[str]) -> str:
        control = Control(ControlKind(match["kind"]), match["task"], int(match["version"]))
        if control in ticked and match["tick"] == " ":
            return f"{match['lead']}x{match['rest']}"
        return match.group(0)

    return _CONTROL.sub(tick, new_body)


def decide_tick_actions(old_body: str, new_body: str) -> list[Command]:
    """Commands meant by boxes ticked in ``new_body`` that were not ticked in ``old_body``
    (an ``issue_comment.edited`` event carries both). The handler checks ``version``
    against the current plan before acting."""
    before = set(parse_ticks(old_body).controls)
    commands = []
    for control, ticked in _controls_in(new_body):
        if ticked and control not in before:
            kind = CommandKind(control.kind.value)
            args = (control.task,) if control.task else ()
            raw = f"[x] {control.kind.value} {control.task or ''}".strip()
            commands.append(Command(kind, kind.value, args, raw, version=control.version))
    return commands


# ------------------------------------------------------------------------- error bodies


def render_error(
    error: TechLeadError, *, issue_number: int | None = None, command: str = DEFAULT_COMMAND
) -> str:
    """The comment shown instead of a plan when planning failed."""
    issue = templates.HEADER_ISSUE.format(number=issue_number) if issue_number else ""
    header = templates.ERROR_HEADER.format(issue=issue)
    return f"{PLAN_MARKER}\n\n{header}\n\n{_error_text(error, command)}\n"


def _error_text(error: TechLeadError, command: str) -> str:
    if isinstance(error, CyclicPlanError):
        return templates.ERROR_CYCLE.format(cycle=" → ".join(error.cycle))
    if isinstance(error, DanglingDependencyError):
        return templates.ERROR_DANGLING.format(task=error.task_id, missing=error.missing)
    if isinstance(error, RepoConfigError):
        where = error.path or ".github/techlead.yml"
        where = f"{where}:{error.line}" if error.line is not None else where
        return templates.ERROR_CONFIG.format(
            where=_code(where, 200),
            key=_code(error.key or "-", 120),
            message=_inline(error.message, 500),
            command=command,
        )
    return templates.ERROR_PLAN.format(message=_inline(str(error), 1000), command=command)
