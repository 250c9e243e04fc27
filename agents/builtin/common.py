"""What every built-in agent shares: the paths it may touch, its tools and its result.

A built-in agent works on a task's worktree without a model and without GitHub. It may
change only paths the work order allows (``WorkOrder.allowed_paths`` globs, or any path
when there are none), never a path that leaves the worktree (``..`` or a symbolic link
pointing outside), and it reports the files it changed in a :class:`Handoff` for the
tasks that depend on it.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agents.builtin import templates
from agents.executors.base import (
    Budget,
    ExecutionResult,
    Handoff,
    Outcome,
    WorkOrder,
)
from agents.research.globs import matches
from bot.errors import AgentError, AgentTimeout, GateError, GateTimeout
from gates.redact import redact_text
from gates.tools import CancelToken, ToolOutput, ToolRunner, tool_command

# Directories a built-in agent never walks into when a task names no files.
_SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox", ".mypy_cache"}
)
# Package indexes and caches the dependency tools may use (never credentials).
_INDEX_ENV = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_CACHE_DIR",
    "UV_OFFLINE",
    "XDG_CACHE_HOME",
)
_MAX_LOG = 4000


@dataclass(frozen=True)
class Scope:
    """The worktree of one task and the paths its order lets an agent change."""

    root: Path
    files: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    @classmethod
    def of(cls, order: WorkOrder, worktree: Path) -> Scope:
        return cls(worktree.resolve(), order.files, order.allowed_paths)

    def allows(self, path: str) -> bool:
        """Whether ``path`` (relative, POSIX) stays in the worktree and the order allows it."""
        relative = normalised(path)
        if relative is None or not self.inside(relative):
            return False
        return not self.allowed or any(matches(glob, relative) for glob in self.allowed)

    def inside(self, relative: str) -> bool:
        """Whether ``relative`` resolves (symbolic links followed) into the worktree."""
        resolved = (self.root / relative).resolve()
        return resolved == self.root or self.root in resolved.parents

    def targets(self, wanted: Callable[[str], bool]) -> list[str]:
        """The order's files that exist, are allowed and ``wanted``; else all such files."""
        if self.files:
            named = (normalised(path) for path in self.files)
            return [p for p in dict.fromkeys(named) if p and self._usable(p, wanted)]
        return [p for p in walk(self.root) if self._usable(p, wanted)]

    def _usable(self, path: str, wanted: Callable[[str], bool]) -> bool:
        return wanted(path) and self.allows(path) and (self.root / path).is_file()

    def path(self, relative: str) -> Path:
        """The file ``relative`` in the worktree; AgentError when the order forbids it."""
        if not self.allows(relative):
            raise AgentError(templates.PATH_NOT_ALLOWED.format(path=relative))
        return self.root / relative


def normalised(path: str) -> str | None:
    """``path`` as a clean relative POSIX path, or None when it is absolute or climbs out."""
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or not posix.parts:
        return None
    clean = posix.as_posix()
    return None if clean == "." else clean


def walk(root: Path) -> list[str]:
    """Every file below ``root`` (relative, sorted), skipping VCS and environment folders."""
    found: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        base = Path(folder).relative_to(root)
        found += [(base / name).as_posix() for name in names]
    return sorted(found)


class Snapshot:
    """File contents before an agent ran, to tell exactly which files it changed."""

    def __init__(self, root: Path, paths: Iterable[str]) -> None:
        self.root = root
        self.before = {path: _read(root / path) for path in paths}

    def changed(self) -> list[str]:
        return [p for p, old in self.before.items() if _read(self.root / p) != old]

    def restore(self) -> None:
        """Put every file back as it was (an agent that fails leaves nothing half-done)."""
        for path, old in self.before.items():
            target = self.root / path
            if old is None:
                target.unlink(missing_ok=True)
            elif _read(target) != old:
                target.write_bytes(old)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


class Tools:
    """Runs an agent's tools in the worktree within its time budget, without credentials."""

    def __init__(
        self,
        root: Path,
        budget: Budget,
        env: Mapping[str, str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.extra = {name: env[name] for name in _INDEX_ENV if name in env}
        deadline = clock() + budget.seconds
        self.runner = ToolRunner(deadline=deadline, cancel=CancelToken(), env=env, clock=clock)

    def run(
        self,
        name: str,
        *args: str,
        ok_codes: tuple[int, ...] = (0,),
        module: str | None = None,
    ) -> ToolOutput:
        """Run the tool ``name`` (from TechLead's own environment) with ``args``."""
        return self.argv([*tool_command(name, module), *args], ok_codes=ok_codes)

    def argv(self, argv: Sequence[str], *, ok_codes: tuple[int, ...] = (0,)) -> ToolOutput:
        try:
            return self.runner.run(argv, cwd=self.root, ok_codes=ok_codes, extra_env=self.extra)
        except GateTimeout as exc:
            raise AgentTimeout(str(exc)) from exc
        except GateError as exc:
            raise AgentError(str(exc)) from exc


class BuiltinAgent(ABC):
    """A shipped agent: the executor contract around one ``work`` step."""

    name = "builtin"

    def run(
        self, order: WorkOrder, worktree: Path, budget: Budget, env: Mapping[str, str]
    ) -> ExecutionResult:
        scope = Scope.of(order, worktree)
        started = time.monotonic()
        try:
            result = self.work(order, scope, Tools(scope.root, budget, env))
        except AgentError as exc:
            result = ExecutionResult(Outcome.FAILED, redact_text(f"{self.name}: {exc}"))
        seconds = round(time.monotonic() - started, 3)
        return _with_usage(result, seconds)

    @abstractmethod
    def work(self, order: WorkOrder, scope: Scope, tools: Tools) -> ExecutionResult:
        """Do the task in ``scope``; raise AgentError when it cannot be done."""


def _with_usage(result: ExecutionResult, seconds: float) -> ExecutionResult:
    usage = {**result.usage, "seconds": seconds}
    return ExecutionResult(
        result.outcome,
        result.summary,
        log=result.log,
        handoff=result.handoff,
        messages=result.messages,
        new_tasks=result.new_tasks,
        usage=usage,
    )


def report(
    order: WorkOrder,
    changed: Sequence[str],
    summary: str,
    notes: Sequence[str] = (),
    log: str = "",
) -> ExecutionResult:
    """CHANGED when ``changed`` lists files, else NO_CHANGE; the hand-off says what was done."""
    outcome = Outcome.CHANGED if changed else Outcome.NO_CHANGE
    handoff = Handoff(
        task_id=order.task_id,
        summary=summary,
        changed_files=tuple(sorted(changed)),
        notes=tuple(notes),
    )
    return ExecutionResult(outcome, summary, log=_clip(log), handoff=handoff)


def handoff(order: WorkOrder, reason: str) -> ExecutionResult:
    """The task needs a person (no built-in agent can do it)."""
    summary = templates.NEEDS_A_PERSON.format(reason=reason)
    return ExecutionResult(Outcome.HANDOFF, summary, handoff=Handoff(order.task_id, summary))


def _clip(log: str) -> str:
    text = redact_text(log.strip())
    return text if len(text) <= _MAX_LOG else text[: _MAX_LOG - 1] + "…"


def counted(counts: Mapping[str, int]) -> str:
    """``F401 (2), I001`` from ``{"F401": 2, "I001": 1}`` (sorted by name)."""
    return ", ".join(
        name if count == 1 else f"{name} ({count})" for name, count in sorted(counts.items())
    )
