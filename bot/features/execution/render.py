"""The execution section of the plan comment and the bodies of task and integration PRs.

Pure: a :class:`~bot.features.execution.model.Run` and the plan in, Markdown out. The
section ends with a hidden, versioned run block (``<!-- techlead:run v1 ... -->``,
zlib-compressed JSON in base64 like the plan's state block) mirroring the execution
record, so a process that starts with an empty store (a GitHub Actions run) reads the
record back with :func:`parse_run_state`. Logs are left out of it, and it is trimmed
further when it would grow past :data:`MAX_RUN_STATE` characters.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from bot.errors import ChecklistStateError
from bot.features.execution import templates
from bot.features.execution.model import HandoffRecord, Phase, Run, TaskRun
from bot.features.execution.schedule import metrics
from bot.plan.checklist import MAX_COMMENT_CHARS
from bot.plan.model import Plan, Task

MAX_REASON = 300
MAX_ORDER = 6000
MAX_MESSAGES = 10
RUN_FORMAT = 1
# The run block's share of the 65,536-character comment (GITHUB-FACTS.md).
MAX_RUN_STATE = 16_000
_RUN = re.compile(r"<!--\s*techlead:run\s+v(\d+)(?:\s+([A-Za-z0-9+/=]+))?\s*-->")


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _flat(text: str, limit: int = MAX_REASON) -> str:
    flat = " ".join(text.split()).replace("<!--", "&lt;!--").replace("-->", "--&gt;")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def section(plan: Plan, run: Run, max_parallel: int) -> str:
    """The checklist's execution section; empty before anything ran."""
    if run.dry_run:
        items = "\n".join(f"- {item}" for item in run.dry_run)
        return f"{templates.SECTION_DRY_RUN}\n\n{items}"
    if not run.integration_branch:
        return ""
    pr = (
        templates.SECTION_INTEGRATION_PR.format(pr=run.integration_pr) if run.integration_pr else ""
    )
    lines = [templates.SECTION_INTEGRATION.format(branch=run.integration_branch, pr=pr), ""]
    lines += [_row(task.id, run.task(task.id)) for task in plan.tasks if task.id in run.tasks]
    if run.started_at is not None:
        ended = run.finished_at or max(
            (t.finished_at or 0.0 for t in run.tasks.values()), default=run.started_at
        )
        m = metrics(run.tasks.values(), run.started_at, ended, max_parallel)
        lines += [
            "",
            templates.SECTION_METRICS.format(
                efficiency=m.efficiency,
                overhead=m.overhead,
                wall=duration(m.wall_seconds),
                executor=duration(m.executor_seconds),
            ),
        ]
    if run.messages:
        items = "; ".join(
            f"{m.sender} → {m.to} ({m.kind}): {_flat(m.text, 120)}"
            for m in run.messages[-MAX_MESSAGES:]
        )
        lines += ["", templates.SECTION_MESSAGES.format(items=items)]
    shown = templates.SECTION.format(lines="\n".join(lines))
    state = encode_run_state(run)
    return f"{shown}\n\n{state}" if state else shown


def _row(task_id: str, task: TaskRun) -> str:
    return templates.SECTION_ROW.format(
        task=task_id,
        phase=templates.PHASE_NAMES[task.phase.value],
        pr=templates.SECTION_PR.format(pr=task.pr) if task.pr else "",
        attempt=templates.SECTION_ATTEMPT.format(attempt=task.attempt) if task.attempt > 1 else "",
        time=templates.SECTION_TIME.format(seconds=duration(task.seconds)) if task.seconds else "",
        order=templates.SECTION_ORDER.format(order=task.order_chars, context=task.context_chars)
        if task.order_chars
        else "",
        after=templates.SECTION_AFTER.format(tasks=", ".join(task.after)) if task.after else "",
        reason=templates.SECTION_REASON.format(reason=_flat(task.reason))
        if task.reason and task.phase in (Phase.FAILED, Phase.HANDOFF, Phase.CANCELLED)
        else "",
    )


def insert_section(body: str, extra: str, limit: int = MAX_COMMENT_CHARS) -> str:
    """``body`` (the plan checklist) with ``extra`` placed before its hidden state block.

    When both would pass GitHub's comment limit, the section's visible lines give way
    to a note, then the run block too (a later process then starts the record afresh).
    """
    if not extra:
        return body
    placed = _place(body, extra)
    if len(placed) <= limit:
        return placed
    block = _RUN.search(extra)
    if block is not None:
        placed = _place(body, f"{templates.SECTION_TRIMMED}\n\n{block.group(0)}")
        if len(placed) <= limit:
            return placed
    return _place(body, templates.SECTION_TRIMMED)


def _place(body: str, extra: str) -> str:
    marker = "<!-- techlead:state"
    at = body.rfind(marker)
    if at < 0:
        return body.rstrip("\n") + f"\n\n{extra}\n"
    return f"{body[:at]}{extra}\n\n{body[at:]}"


def task_pull_body(
    *,
    marker: str,
    plan: Plan,
    task: Task,
    run: Run,
    attempt: int,
    summary: str,
    order: str,
    log: str,
    handoff_reason: str,
    branch: str,
    order_chars: int,
    context_chars: int,
    usage: str = "",
) -> str:
    """The body of a task's pull request: summary, work order, output, messages, marker."""
    handoff = ""
    if handoff_reason:
        handoff = templates.HANDOFF_PR_NOTE.format(
            reason=handoff_reason.rstrip("."), branch=branch, base=run.integration_branch
        )
    messages = [m for m in run.messages if m.to in (task.id, "*") and m.sender != task.id]
    message_block = ""
    if messages:
        items = "\n".join(
            templates.MESSAGE_ITEM.format(kind=m.kind, sender=m.sender, text=_flat(m.text, 500))
            for m in messages[-MAX_MESSAGES:]
        )
        message_block = templates.MESSAGES_BLOCK.format(items=items)
    return templates.TASK_PR_BODY.format(
        marker=marker,
        task=task.id,
        issue=plan.issue_number,
        agent=task.agent,
        attempt=attempt,
        summary=(summary or task.title) + (f"\n\n{usage}" if usage else ""),
        chars=order_chars,
        context=context_chars,
        order=order[:MAX_ORDER],
        handoff=handoff,
        log=templates.LOG_BLOCK.format(log=log.replace("```", "'''")) if log.strip() else "",
        messages=message_block,
        base=run.integration_branch,
    )


# ------------------------------------------------------------------------ run block


def _lean_task(task: TaskRun, level: int) -> TaskRun:
    """What a later process needs of one task: never the log; less at higher levels."""
    task = replace(task, log="")
    if level >= 1:
        task = replace(task, retry_notes=tuple(note[:500] for note in task.retry_notes[-3:]))
    if level >= 2:
        handoff = task.handoff
        if handoff is not None:
            handoff = HandoffRecord(summary=_flat(handoff.summary, 200), pr_url=handoff.pr_url)
        task = replace(task, retry_notes=(), handoff=handoff, gates=())
    return task


def _lean(run: Run, level: int) -> Run:
    tasks = {task_id: _lean_task(task, level) for task_id, task in run.tasks.items()}
    messages = run.messages if level == 0 else run.messages[-MAX_MESSAGES:] if level == 1 else ()
    return replace(run, tasks=tasks, messages=messages, revision=0, kicks=0, dry_run=())


def encode_run_state(run: Run, limit: int = MAX_RUN_STATE) -> str:
    """The hidden run block: the record without logs, trimmed until it fits ``limit``;
    empty when even the leanest form does not fit (a later process then starts afresh)."""
    for level in range(3):
        data = json.dumps(
            _lean(run, level).to_dict(compact=True),
            separators=(",", ":"),
            sort_keys=True,
            ensure_ascii=False,
        )
        payload = base64.b64encode(zlib.compress(data.encode("utf-8"), 9)).decode("ascii")
        block = templates.RUN_BLOCK.format(format=RUN_FORMAT, payload=payload)
        if len(block) <= limit:
            return block
    return ""


def parse_run_state(body: str, repo: str, issue: int) -> Run | None:
    """The execution record mirrored in a checklist body; None when it has no run block.

    Raises ChecklistStateError when the block is corrupt or from a newer format.
    """
    match = _RUN.search(body)
    if match is None:
        return None
    found = int(match.group(1))
    if found > RUN_FORMAT:
        problem = templates.RUN_STATE_VERSION.format(found=found, known=RUN_FORMAT)
        raise ChecklistStateError(problem)
    try:
        payload = base64.b64decode(match.group(2) or "", validate=True)
        data: Any = json.loads(zlib.decompress(payload))
        run = Run.from_dict({**data, "repo": repo, "issue": issue})
    except (binascii.Error, zlib.error, ValueError, TypeError, ValidationError) as exc:
        raise ChecklistStateError(type(exc).__name__) from exc
    return replace(run, revision=0)
