"""Plan errors not yet in bot.errors: subclasses of its PlanError."""

from __future__ import annotations

from bot.errors import PlanError
from bot.plan import templates


class TooManyTasksError(PlanError):
    """The issue asks for more tasks than planning.max_tasks allows."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(templates.TOO_MANY_TASKS.format(count=count, limit=limit))
        self.count = count
        self.limit = limit


class ChecklistStateError(PlanError):
    """The hidden plan state in a checklist comment cannot be read."""

    def __init__(self, problem: str) -> None:
        super().__init__(templates.ERROR_STATE.format(problem=problem))
        self.problem = problem


class ChecklistTooLargeError(PlanError):
    """Even fully trimmed, the checklist exceeds GitHub's comment size limit."""

    def __init__(self) -> None:
        super().__init__(templates.ERROR_TOO_LARGE)
