"""Which built-in agents each roster specialist may use, and the executors that run them.

A specialist's executor reads its task and picks the fitting built-in agent among the
ones listed for it (:func:`choose_builtin`); a task none of them fits is handed to a
person (``Outcome.HANDOFF``). A roster entry named after a built-in agent itself
(``lint-fixer``, ``docs-writer``...) runs that agent on every task it gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agents.builtin import templates
from agents.builtin.choose import (
    DEPENDENCY_UPDATER,
    DOCS_WRITER,
    LINT_FIXER,
    SECURITY_FIXER,
    WORKFLOW_HARDENER,
    choose_builtin,
)
from agents.builtin.common import handoff
from agents.builtin.deps import DependencyUpdater
from agents.builtin.docs import DocsWriter
from agents.builtin.lint import LintFixer
from agents.builtin.security import SecurityFixer
from agents.builtin.workflows import ActionResolver, WorkflowHardener
from agents.executors.base import Budget, ExecutionResult, Executor, WorkOrder

SPECIALISTS: Mapping[str, tuple[str, ...]] = {
    "project-analyst": (DOCS_WRITER, DEPENDENCY_UPDATER),
    "backend-developer": (LINT_FIXER, SECURITY_FIXER, DEPENDENCY_UPDATER),
    "security-guardian": (SECURITY_FIXER, DEPENDENCY_UPDATER, WORKFLOW_HARDENER),
    "performance-expert": (SECURITY_FIXER,),
    "test-engineer": (LINT_FIXER,),
    "code-reviewer": (LINT_FIXER, SECURITY_FIXER),
    "devops-engineer": (WORKFLOW_HARDENER, DEPENDENCY_UPDATER, LINT_FIXER),
}


_PLAIN: Mapping[str, Callable[[], Executor]] = {
    LINT_FIXER: LintFixer,
    DEPENDENCY_UPDATER: DependencyUpdater,
    DOCS_WRITER: DocsWriter,
    SECURITY_FIXER: SecurityFixer,
}


def make_builtin(name: str, *, resolve_action: ActionResolver | None = None) -> Executor:
    """The built-in agent ``name`` (one of :func:`available`)."""
    if name == WORKFLOW_HARDENER:
        return WorkflowHardener(resolve_action)
    return _PLAIN[name]()


def available() -> tuple[str, ...]:
    """The built-in agents this installation ships."""
    return (*_PLAIN, WORKFLOW_HARDENER)


@dataclass
class Specialist:
    """A roster specialist's executor: the fitting built-in agent for each task, or a person."""

    name: str
    among: tuple[str, ...]
    resolve_action: ActionResolver | None = None

    def run(
        self, order: WorkOrder, worktree: Path, budget: Budget, env: Mapping[str, str]
    ) -> ExecutionResult:
        chosen = self.choose(order)
        if chosen is None:
            return handoff(order, self.reason())
        agent = make_builtin(chosen, resolve_action=self.resolve_action)
        return agent.run(order, worktree, budget, env)

    def choose(self, order: WorkOrder) -> str | None:
        among = [name for name in self.among if name in available()]
        if self.name in among:
            return self.name
        return choose_builtin(order, among)

    def reason(self) -> str:
        if not self.among:
            return templates.NOT_THIS_SPECIALIST.format(agent=self.name)
        return templates.NO_FITTING_AGENT


class BuiltinFactory(Protocol):
    """Makes a specialist's executor; the caller may pass how to resolve action pins."""

    def __call__(self, *, resolve_action: ActionResolver | None = None) -> Executor: ...


def _factory(name: str, among: tuple[str, ...]) -> BuiltinFactory:
    def make(*, resolve_action: ActionResolver | None = None) -> Executor:
        return Specialist(name, among, resolve_action)

    return make


def builtins() -> dict[str, BuiltinFactory]:
    """Specialist name -> executor factory, for the roster and for each built-in agent."""
    table = {name: _factory(name, among) for name, among in SPECIALISTS.items()}
    table |= {name: _factory(name, (name,)) for name in available()}
    return table
