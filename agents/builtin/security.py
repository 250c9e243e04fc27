"""The security fixer: libcst codemods for common bandit findings, checked with bandit.

The task's text narrows the fixes (a task about timeouts only adds timeouts); a task
naming none of them gets them all. bandit runs on the touched files before and after,
so the pull request says how many findings went away and which are left.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence

import libcst as cst

from agents.builtin import codemods, templates
from agents.builtin.common import BuiltinAgent, Scope, Snapshot, Tools, counted, report
from agents.executors.base import ExecutionResult, WorkOrder
from bot.errors import AgentError

_I = re.IGNORECASE
# Words in a task that ask for one fix in particular.
_ASKS: dict[str, re.Pattern[str]] = {
    codemods.YAML_LOAD: re.compile(r"\byaml\b|\bB506\b|safe_load", _I),
    codemods.VERIFY_FALSE: re.compile(r"verify|certificate|\btls\b|\bssl\b|\bB501\b", _I),
    codemods.REQUEST_TIMEOUT: re.compile(r"timeout|\bB113\b", _I),
    codemods.SHELL_TRUE: re.compile(r"shell|subprocess|command injection|\bB602\b", _I),
}


def wanted_fixes(order: WorkOrder) -> tuple[str, ...]:
    """The fixes the task asks for; all of them when it names none."""
    text = f"{order.title}\n{order.body}"
    asked = tuple(kind for kind in codemods.FIXES if _ASKS[kind].search(text))
    return asked or codemods.FIXES


class SecurityFixer(BuiltinAgent):
    """Rewrites insecure calls in the task's Python files into their safe forms."""

    name = "security-fixer"

    def work(self, order: WorkOrder, scope: Scope, tools: Tools) -> ExecutionResult:
        paths = scope.targets(lambda path: path.endswith(".py"))
        if not paths:
            return report(order, [], templates.SECURITY_NO_FILES)
        wanted = wanted_fixes(order)
        # bandit and the codemods read only the files that can hold a fixable call.
        candidates = [path for path in paths if _candidate(scope, path, wanted)]
        snapshot = Snapshot(scope.root, candidates)
        before = bandit(tools, candidates) if candidates else Counter()
        applied, notes = apply(scope, candidates, wanted)
        changed = snapshot.changed()
        if not changed:
            kinds = ", ".join(templates.FIX_NAMES[kind] for kind in wanted)
            summary = templates.SECURITY_CLEAN.format(kinds=kinds, files=len(paths))
            return report(order, [], summary, notes)
        after = bandit(tools, changed)
        notes += bandit_notes(before, after, changed)
        fixes = counted({templates.FIX_NAMES[kind]: count for kind, count in applied.items()})
        summary = templates.SECURITY_FIXED.format(fixes=fixes, files=len(changed))
        return report(order, changed, summary, notes)


def _candidate(scope: Scope, path: str, wanted: Sequence[str]) -> bool:
    code = scope.path(path).read_bytes()
    return any(codemods.might_apply(kind, code) for kind in wanted)


def apply(
    scope: Scope, paths: Sequence[str], wanted: Sequence[str]
) -> tuple[Counter[str], list[str]]:
    """Run the codemods over ``paths`` in place: (fixes applied by kind, notes)."""
    applied: Counter[str] = Counter()
    notes: list[str] = []
    for path in paths:
        target = scope.path(path)
        source = target.read_bytes()
        try:
            fixed, kinds = codemods.fix_source(source, wanted)
        except cst.ParserSyntaxError as exc:
            error = str(exc).splitlines()[0]
            notes.append(templates.SECURITY_UNPARSABLE.format(path=path, error=error))
            continue
        if fixed != source:
            target.write_bytes(fixed)
            applied += kinds
    return applied, notes


def bandit(tools: Tools, paths: Sequence[str]) -> Counter[tuple[str, str]]:
    """(path, test id) -> how many times bandit reports it."""
    output = tools.run("bandit", "-q", "-f", "json", *paths, ok_codes=(0, 1))
    try:
        reported = json.loads(output.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise AgentError(f"bandit printed something that is not JSON: {exc}") from exc
    root = str(tools.root) + "/"
    return Counter(
        (_relative(str(item.get("filename", "")), root), str(item.get("test_id", "")))
        for item in reported.get("results", [])
    )


def _relative(path: str, root: str) -> str:
    return path.removeprefix(root).removeprefix("./")


def bandit_notes(
    before: Counter[tuple[str, str]], after: Counter[tuple[str, str]], changed: Sequence[str]
) -> list[str]:
    """How bandit's findings in the changed files moved, and what it still reports."""
    touched = set(changed)
    was = sum(count for (path, _), count in before.items() if path in touched)
    notes = [templates.SECURITY_BANDIT.format(before=was, after=after.total())]
    left = Counter(test for (_, test) in after.elements())
    if left:
        notes.append(templates.SECURITY_BANDIT_LEFT.format(left=counted(left)))
    return notes
