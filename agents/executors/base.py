"""The executor contract: a work order in, changes in the worktree and a result out.

An executor does one task of an approved plan. TechLead cuts the task's branch, checks
it out in a fresh worktree and hands the executor a :class:`WorkOrder` holding only what
the task needs (its text, the files it owns, findings for its domain, hand-offs from the
tasks it depends on). The executor edits files in the worktree and returns an
:class:`ExecutionResult`; it never commits, pushes or talks to GitHub. TechLead then
checks the change against policy (protected paths, size limits, allowed paths), commits
it with trailers and opens the task's pull request.

Executors are chosen per specialist by the roster's ``executor:`` key: ``builtin`` (a
shipped agent, no model, no network), ``command:<program>``, ``llm`` or ``handoff``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class MessageKind(enum.StrEnum):
    """What an agent's message to another task is."""

    INFORMATION = "information"
    CHANGE_REQUEST = "change_request"
    WARNING = "warning"
    CONFIRMATION = "confirmation"


@dataclass(frozen=True)
class AgentMessage:
    """A note from one task's agent to another task (``to``: a task id, or ``*`` for all)."""

    to: str
    kind: MessageKind
    text: str
    sender: str = ""


@dataclass(frozen=True)
class Handoff:
    """What a finished task passes to the tasks that depend on it."""

    task_id: str
    summary: str
    changed_files: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()  # endpoints, response shapes, public functions
    notes: tuple[str, ...] = ()
    pr_url: str = ""


@dataclass(frozen=True)
class Budget:
    """Limits one execution runs under; ``None`` means the executor's own default."""

    seconds: float = 600.0
    max_iterations: int | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class WorkOrder:
    """Everything an executor is told about its task, and nothing more."""

    repo: str
    issue_number: int
    issue_title: str
    task_id: str
    title: str
    agent: str
    priority: str
    body: str = ""
    files: tuple[str, ...] = ()  # the files the task owns, most relevant first
    allowed_paths: tuple[str, ...] = ()  # globs; empty: any path policy allows
    findings: tuple[str, ...] = ()  # research notes for the task's domain
    handoffs: tuple[Handoff, ...] = ()
    messages: tuple[AgentMessage, ...] = ()
    retry_notes: tuple[str, ...] = ()  # e.g. the gate findings of a failed attempt

    def to_markdown(self) -> str:
        """The work order as the file handed to command executors (``TASK.md``)."""
        lines = [f"# {self.task_id}: {self.title}", ""]
        lines += [f"Issue #{self.issue_number}: {self.issue_title} ({self.repo})"]
        lines += [f"Specialist: {self.agent}. Priority: {self.priority}.", ""]
        if self.body:
            lines += [self.body, ""]
        lines += _section("Files to work on", self.files)
        lines += _section("Only change paths matching", self.allowed_paths)
        lines += _section("Findings", self.findings)
        for handoff in self.handoffs:
            lines += [f"## Hand-off from {handoff.task_id}", "", handoff.summary, ""]
            lines += _section("Changed files", handoff.changed_files, level=3)
            lines += _section("Interfaces", handoff.interfaces, level=3)
            lines += _section("Notes", handoff.notes, level=3)
        messages = [
            f"{m.kind.value} from {m.sender or 'another task'}: {m.text}" for m in self.messages
        ]
        lines += _section("Messages", messages)
        lines += _section("Fix these from the previous attempt", self.retry_notes)
        return "\n".join(lines).rstrip() + "\n"


def _section(title: str, items: tuple[str, ...] | list[str], level: int = 2) -> list[str]:
    if not items:
        return []
    return [f"{'#' * level} {title}", "", *(f"- {item}" for item in items), ""]


class Outcome(enum.StrEnum):
    """How an execution ended."""

    CHANGED = "changed"  # files in the worktree changed: commit them
    NO_CHANGE = "no_change"  # the work needed no change (the task completes)
    HANDOFF = "handoff"  # a person must do it: open a draft PR with the work order
    FAILED = "failed"  # could not do it; ``summary`` says why


@dataclass(frozen=True)
class ExecutionResult:
    """What an executor reports; the worktree holds its changes."""

    outcome: Outcome
    summary: str
    log: str = ""  # captured output, already redacted and truncated by the executor
    handoff: Handoff | None = None  # for the dependents; TechLead fills in what is missing
    messages: tuple[AgentMessage, ...] = ()
    new_tasks: tuple[str, ...] = ()  # titles of tasks the plan should gain
    usage: Mapping[str, float] = field(default_factory=dict)  # tokens, seconds, iterations


class Executor(Protocol):
    """Does one task in ``worktree``; must not commit, push or use GitHub credentials."""

    name: str

    def run(
        self, order: WorkOrder, worktree: Path, budget: Budget, env: Mapping[str, str]
    ) -> ExecutionResult: ...
