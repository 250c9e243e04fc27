"""Commit-time policy: a task's change is checked here, never only by asking the agent.

Rules, in the order they are reported: protected paths (``planning.blocked_paths``;
``.github/workflows/**`` stays protected unless ``execution.allow_workflow_edits``),
``add_only``, the task's allowed paths, then the size limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agents.research.globs import matches
from bot.features.execution import templates

WORKFLOWS = ".github/workflows/**"


@dataclass(frozen=True)
class Change:
    """One changed file: its status letter (A, M, D, R...) and lines added and deleted."""

    path: str
    status: str
    added: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class Policy:
    blocked_paths: tuple[str, ...] = ()
    allow_workflow_edits: bool = False
    add_only: bool = False
    allowed_paths: tuple[str, ...] = ()
    max_files: int = 50
    max_lines: int = 2000

    @property
    def protected(self) -> tuple[str, ...]:
        paths = [path for path in self.blocked_paths]
        if self.allow_workflow_edits:
            return tuple(path for path in paths if path != WORKFLOWS)
        return tuple(dict.fromkeys([*paths, WORKFLOWS]))


def violations(changes: Sequence[Change], policy: Policy) -> list[str]:
    """Why the change is refused; empty when it may be committed."""
    found = []
    for change in changes:
        protected = next((p for p in policy.protected if matches(p, change.path)), None)
        if protected is not None:
            found.append(templates.POLICY_PROTECTED.format(path=change.path, glob=protected))
        elif policy.add_only and change.status != "A":
            found.append(templates.POLICY_ADD_ONLY.format(path=change.path))
        elif policy.allowed_paths and not any(
            matches(glob, change.path) for glob in policy.allowed_paths
        ):
            found.append(
                templates.POLICY_OUTSIDE.format(
                    path=change.path, allowed=", ".join(policy.allowed_paths)
                )
            )
    if len(changes) > policy.max_files:
        found.append(templates.POLICY_FILES.format(count=len(changes), limit=policy.max_files))
    lines = sum(change.added + change.deleted for change in changes)
    if lines > policy.max_lines:
        found.append(templates.POLICY_LINES.format(count=lines, limit=policy.max_lines))
    return found
