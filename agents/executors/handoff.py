"""``handoff``: a person does the task; TechLead opens a draft pull request with the work order."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from agents.executors.base import Budget, ExecutionResult, Outcome, WorkOrder


class HandoffExecutor:
    """Changes nothing: the task completes when its draft pull request is merged."""

    name = "handoff"

    def __init__(self, reason: str = "") -> None:
        self.reason = reason

    def run(
        self, order: WorkOrder, worktree: Path, budget: Budget, env: Mapping[str, str]
    ) -> ExecutionResult:
        summary = self.reason or f"{order.task_id} is handed to a person"
        return ExecutionResult(Outcome.HANDOFF, summary)
