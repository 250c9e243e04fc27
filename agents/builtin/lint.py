"""The lint fixer: ``ruff check --fix`` and ``ruff format`` on the task's Python files.

ruff runs in the worktree, so the repository's own ruff settings (``ruff.toml``,
``[tool.ruff]``, their excludes via ``--force-exclude``) decide what is fixed; only safe
fixes are applied. The summary counts what was fixed by rule and what is left.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from agents.builtin import templates
from agents.builtin.common import BuiltinAgent, Scope, Snapshot, Tools, counted, report
from agents.executors.base import ExecutionResult, WorkOrder
from bot.errors import AgentError

PYTHON_SUFFIXES = (".py", ".pyi")
SYNTAX_ERROR = "invalid-syntax"
_COMMON = ("--no-cache", "--force-exclude")


def is_python(path: str) -> bool:
    return path.endswith(PYTHON_SUFFIXES)


class LintFixer(BuiltinAgent):
    """Applies ruff's safe fixes and its formatter to the files a task owns."""

    name = "lint-fixer"

    def work(self, order: WorkOrder, scope: Scope, tools: Tools) -> ExecutionResult:
        paths = scope.targets(is_python)
        if not paths:
            return report(order, [], templates.LINT_NO_FILES)
        snapshot = Snapshot(scope.root, paths)
        before = findings(tools, paths)
        fixed = tools.run("ruff", "check", "--fix", "--exit-zero", *_COMMON, *paths)
        after = findings(tools, paths)
        fixed_files = set(snapshot.changed())
        formatting = Snapshot(scope.root, paths)
        formatted = tools.run("ruff", "format", *_COMMON, *paths, ok_codes=(0, 2))
        reformatted = formatting.changed()
        changed = sorted(fixed_files | set(reformatted))
        summary, notes = describe(before, after, len(reformatted), len(paths))
        return report(order, changed, summary, notes, log=fixed.stderr + formatted.stderr)


def findings(tools: Tools, paths: Sequence[str]) -> Counter[tuple[str, str]]:
    """(path, rule) -> how many times ruff reports it, with the repository's settings."""
    output = tools.run("ruff", "check", "--exit-zero", "--output-format", "json", *_COMMON, *paths)
    try:
        reported = json.loads(output.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise AgentError(f"ruff check printed something that is not JSON: {exc}") from exc
    root = str(tools.root) + "/"
    return Counter(
        (str(item.get("filename", "")).removeprefix(root), str(item.get("code") or SYNTAX_ERROR))
        for item in reported
    )


def describe(
    before: Counter[tuple[str, str]],
    after: Counter[tuple[str, str]],
    reformatted: int,
    files: int,
) -> tuple[str, list[str]]:
    """The summary line and the notes: fixed rules, rules left, files ruff cannot parse."""
    fixed = Counter({rule: 0 for _, rule in before})
    for (_, rule), count in (before - after).items():
        fixed[rule] += count
    fixed = +fixed
    if not fixed and not reformatted:
        summary = templates.LINT_CLEAN.format(files=files)
    else:
        what = counted(fixed) if fixed else templates.NOTHING
        summary = templates.LINT_FIXED.format(fixed=what, formatted=reformatted, files=files)
    notes = []
    left = Counter(rule for (_, rule) in after.elements() if rule != SYNTAX_ERROR)
    if left:
        notes.append(templates.LINT_LEFT.format(left=counted(left)))
    broken = sorted({path for (path, rule) in after if rule == SYNTAX_ERROR})
    if broken:
        notes.append(templates.LINT_UNPARSABLE.format(paths=", ".join(broken)))
    return summary, notes
