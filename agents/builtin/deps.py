"""The dependency updater: moves the dependency a task names to the version it asks for.

``bump requests to 2.32.3`` rewrites ``requests``' pins in the task's requirements files
and pyproject.toml, then re-locks every lock that pins it (``uv lock``, ``uv pip
compile`` / ``pip-compile``), so a dependency only found in a lock (a transitive one) is
moved there. A task that names no version leaves the pins and only lets the locks take
the newest version the pins allow. When a lock cannot be updated, every file is put back
and the task fails with the tool's reason: half an update is never left behind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement

from agents.builtin import locks, templates
from agents.builtin.common import BuiltinAgent, Scope, Snapshot, Tools, handoff, report, walk
from agents.builtin.requirements import (
    Ask,
    Edit,
    declared,
    edit_pyproject,
    edit_requirements,
    read_ask,
)
from agents.executors.base import ExecutionResult, WorkOrder
from bot.errors import AgentError

_DECLARATIONS = re.compile(
    r"(^|/)(pyproject\.toml|[^/]*requirements[^/]*\.(txt|in)|requirements/[^/]+\.(txt|in))$"
)
_LOCK_NAMES = re.compile(r"(^|/)(uv\.lock|poetry\.lock|Pipfile\.lock|pdm\.lock|[^/]+\.txt)$")


def is_declaration(path: str) -> bool:
    return _DECLARATIONS.search(path) is not None


@dataclass
class Update:
    """What one run changed and what it has to say about it."""

    edits: list[Edit] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class DependencyUpdater(BuiltinAgent):
    """Bumps one named dependency in its declarations and its locks."""

    name = "dependency-updater"

    def work(self, order: WorkOrder, scope: Scope, tools: Tools) -> ExecutionResult:
        ask = read_ask(f"{order.title}\n{order.body}")
        if ask.name is None:
            return handoff(order, templates.DEPS_NO_NAME)
        all_locks = find_locks(scope)
        lock_paths = {lock.path for lock in all_locks}
        files = [p for p in scope.targets(is_declaration) if p not in lock_paths]
        if not files and not all_locks:
            return handoff(order, templates.DEPS_NO_FILES)
        pins = {
            path: declared(_text(scope, path), ask.name, pyproject=_is_toml(path)) for path in files
        }
        relevant = [lock for lock in all_locks if _relevant(scope, lock, ask.name, pins)]
        if not any(pins.values()) and not relevant:
            where = ", ".join(files) or templates.NOTHING
            return handoff(order, templates.DEPS_NOT_FOUND.format(name=ask.name, files=where))
        snapshot = Snapshot(scope.root, [*files, *lock_paths])
        try:
            update = apply(scope, tools, ask, pins, relevant)
        except AgentError:
            snapshot.restore()
            raise
        return summarise(order, ask, snapshot.changed(), update, pins)


def find_locks(scope: Scope) -> list[locks.Lock]:
    """The lock files the order allows changing (a task's file list need not name them)."""
    everything = walk(scope.root)
    exists = set(everything)
    found = []
    for path in everything:
        if not _LOCK_NAMES.search(path) or not scope.allows(path):
            continue
        text = _text(scope, path) if path.endswith(".txt") else ""
        lock = locks.find_lock(path, text, exists)
        if lock is not None:
            found.append(lock)
    return found


def _relevant(scope: Scope, lock: locks.Lock, name: str, pins: dict[str, list[str]]) -> bool:
    if lock.source and pins.get(lock.source):
        return True
    return lock.tool not in locks.UNSUPPORTED.values() and lock.mentions(
        _text(scope, lock.path), name
    )


def apply(
    scope: Scope, tools: Tools, ask: Ask, pins: dict[str, list[str]], relevant: Sequence[locks.Lock]
) -> Update:
    """Edit the declarations, then re-lock; raises AgentError when a lock tool fails."""
    name = ask.name or ""
    update = Update()
    if ask.version is not None:
        for path in (p for p, found in pins.items() if found):
            update.edits += _edit(scope, path, name, ask.version, update.notes)
    upgrade = f"{name}=={ask.version}" if ask.version else name
    for lock in relevant:
        if lock.tool in locks.UNSUPPORTED.values():
            update.notes.append(templates.DEPS_LOCK_SKIPPED.format(lock=lock.path, kind=lock.tool))
            continue
        before = _text(scope, lock.path)
        try:
            tool = locks.relock(tools, lock, upgrade)
        except AgentError as exc:
            raise AgentError(
                templates.DEPS_LOCK_FAILED.format(lock=lock.path, tool=lock.tool, error=exc)
            ) from exc
        changed = _text(scope, lock.path) != before
        said = templates.DEPS_LOCK_UPDATED if changed else templates.DEPS_LOCK_UNCHANGED
        update.notes.append(said.format(lock=lock.path, tool=tool))
        if changed:
            update.locked.append(lock.path)
    return update


def _edit(scope: Scope, path: str, name: str, version: str, notes: list[str]) -> list[Edit]:
    target = scope.path(path)
    text = target.read_bytes().decode("utf-8")
    editor = edit_pyproject if _is_toml(path) else edit_requirements
    new, edits = editor(path, text, name, version)
    if new != text:
        target.write_bytes(new.encode("utf-8"))
    for requirement in declared(new, name, pyproject=_is_toml(path)):
        if not _allows(requirement, version):
            notes.append(
                templates.DEPS_UNSATISFIABLE.format(
                    file=path, requirement=requirement, version=version
                )
            )
    return edits


def _allows(requirement: str, version: str) -> bool:
    try:
        return Requirement(requirement).specifier.contains(version, prereleases=True)
    except InvalidRequirement:
        return False


def summarise(
    order: WorkOrder, ask: Ask, changed: Sequence[str], update: Update, pins: dict[str, list[str]]
) -> ExecutionResult:
    name = ask.name or ""
    notes = [f"{edit.path}: `{edit.old}` → `{edit.new}`" for edit in update.edits] + update.notes
    if ask.version is None:
        found = "; ".join(f"{path}: {', '.join(reqs)}" for path, reqs in pins.items() if reqs)
        summary = templates.DEPS_NO_VERSION.format(name=name, pins=found or templates.NOTHING)
    elif changed:
        summary = templates.DEPS_BUMPED.format(
            name=name, version=ask.version, files=", ".join(changed)
        )
    else:
        summary = templates.DEPS_ALREADY.format(name=name, version=ask.version)
    return report(order, changed, summary, notes)


def _text(scope: Scope, path: str) -> str:
    try:
        return (scope.root / path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _is_toml(path: str) -> bool:
    return PurePosixPath(path).name == "pyproject.toml"
