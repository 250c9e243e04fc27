"""Context filtering: the work order of one task holds only what that task needs.

The task's own text; of the research, the relevant files its specialist owns (or the
task names), most relevant first, and the security/performance notes on those files;
the hand-offs of the tasks it depends on; messages addressed to it; and, on a retry,
what went wrong last time. :func:`context_chars` measures the full context the order
was cut from, so the checklist can show how much was left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from agents.executors.base import AgentMessage, Handoff, MessageKind, WorkOrder
from agents.research.globs import matches
from agents.research.model import Findings
from bot.features.execution.model import Run
from bot.plan.assign import mentioned_paths
from bot.plan.model import Plan, Task
from bot.repo_config import RepoConfig

MAX_FILES = 15
MAX_FINDINGS = 10


def owned_paths(task: Task, config: RepoConfig) -> tuple[str, ...]:
    spec = config.agent(task.agent)
    return spec.paths if spec is not None else ()


def task_files(task: Task, findings: Findings | None, config: RepoConfig) -> tuple[str, ...]:
    named = mentioned_paths(f"{task.title}\n{task.body}")
    globs = owned_paths(task, config)
    relevant = findings.relevant_paths() if findings is not None else ()
    owned = [path for path in relevant if any(matches(glob, path) for glob in globs)]
    return tuple(dict.fromkeys([*named, *owned]))[:MAX_FILES]


def task_findings(files: Sequence[str], findings: Findings | None) -> tuple[str, ...]:
    if findings is None:
        return ()
    notes = [note for path in files for note in findings.notes_on(path)]
    return tuple(f"{note.ref}: {note.message}" for note in notes[:MAX_FINDINGS])


def handoffs(task: Task, run: Run) -> tuple[Handoff, ...]:
    found = []
    for dep in task.depends_on:
        record = run.task(dep).handoff
        if record is not None:
            found.append(
                Handoff(
                    dep,
                    record.summary,
                    record.changed_files,
                    record.interfaces,
                    record.notes,
                    record.pr_url,
                )
            )
    return tuple(found)


def messages_for(task_id: str, run: Run) -> tuple[AgentMessage, ...]:
    return tuple(
        AgentMessage(m.to, MessageKind(m.kind), m.text, m.sender)
        for m in run.messages
        if m.to in (task_id, "*") and m.sender != task_id
    )


def work_order(
    plan: Plan, task: Task, run: Run, findings: Findings | None, config: RepoConfig, repo: str
) -> WorkOrder:
    files = task_files(task, findings, config)
    return WorkOrder(
        repo=repo,
        issue_number=plan.issue_number or 0,
        issue_title=plan.title,
        task_id=task.id,
        title=task.title,
        agent=task.agent,
        priority=task.priority.value,
        body=task.body,
        files=files,
        allowed_paths=(),
        findings=task_findings(files, findings),
        handoffs=handoffs(task, run),
        messages=messages_for(task.id, run),
        retry_notes=run.task(task.id).retry_notes,
    )


def context_chars(plan: Plan, findings: Findings | None, run: Run) -> int:
    """The size of everything an unfiltered order would carry: the plan, all research,
    every hand-off and message."""
    size = len(json.dumps(plan.to_dict()))
    if findings is not None:
        size += len(json.dumps(findings.to_dict()))
    size += len(json.dumps(run.to_dict().get("messages", [])))
    size += sum(len(json.dumps(t.get("handoff") or {})) for t in run.to_dict()["tasks"].values())
    return size
