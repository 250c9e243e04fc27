"""The docs writer: an ADR from the work order and its hand-offs, and a CHANGELOG entry.

The ADR (``docs/adr/NNNN-<slug>.md``, or the repository's own ADR folder, numbered after
the ones there) follows MADR's sections: the issue as context, the research findings as
decision drivers, what the tasks it depends on did as the outcome, their changed files
and interfaces as consequences. Written again for the same issue, it replaces its own
file (found by a hidden marker) instead of adding a second one. The CHANGELOG entry goes
under "Unreleased" (see :mod:`agents.builtin.changelog`). A task asking only for one of
the two gets only that one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

from agents.builtin import changelog, templates
from agents.builtin.common import BuiltinAgent, Scope, Snapshot, Tools, report
from agents.executors.base import ExecutionResult, WorkOrder

ADR_FOLDERS = ("docs/adr", "docs/adrs", "doc/adr", "docs/decisions", "docs/architecture/decisions")
CHANGELOG_NAMES = ("CHANGELOG.md", "CHANGELOG", "CHANGES.md", "HISTORY.md")
_NUMBERED = re.compile(r"^(\d{3,})-[^/]+\.md$")
_I = re.IGNORECASE
_ASKS_ADR = re.compile(r"\badrs?\b|decision", _I)
_ASKS_CHANGELOG = re.compile(r"change ?log|release notes", _I)
_SLUG_LENGTH = 50


def _today() -> date:
    return datetime.now(UTC).date()


class DocsWriter(BuiltinAgent):
    """Records a plan's decision as an ADR and its change in the CHANGELOG."""

    name = "docs-writer"

    def __init__(self, today: Callable[[], date] = _today) -> None:
        self.today = today

    def work(self, order: WorkOrder, scope: Scope, tools: Tools) -> ExecutionResult:
        adr, entry = wanted_parts(order)
        targets = [adr_file(scope, order)] if adr else []
        targets += [changelog_file(scope.root)] if entry else []
        refused = [path for path in targets if not scope.allows(path)]
        notes = [
            templates.DOCS_NO_ROOM.format(path=path, reason=_refusal(path)) for path in refused
        ]
        snapshot = Snapshot(scope.root, targets)
        written: list[str] = []
        for path in (p for p in targets if p not in refused):
            if path.endswith(".md") and _NUMBERED.match(PurePosixPath(path).name):
                written += self._write_adr(scope, path, order)
            else:
                written += _write_changelog(scope, path, order)
        changed = snapshot.changed()
        if not changed:
            return report(order, [], templates.DOCS_NOTHING, notes)
        summary = templates.DOCS_WROTE.format(what=" and ".join(written))
        return report(order, changed, summary, notes)

    def _write_adr(self, scope: Scope, path: str, order: WorkOrder) -> list[str]:
        target = scope.path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_adr(order, self.today()), encoding="utf-8")
        return [templates.DOCS_ADR.format(path=path)]


def _refusal(path: str) -> str:
    return templates.PATH_NOT_ALLOWED.format(path=path)


def wanted_parts(order: WorkOrder) -> tuple[bool, bool]:
    """(ADR, CHANGELOG entry): what the task asks for; both when it names neither."""
    text = f"{order.title}\n{order.body}"
    adr, entry = bool(_ASKS_ADR.search(text)), bool(_ASKS_CHANGELOG.search(text))
    return (adr, entry) if adr or entry else (True, True)


# ---------------------------------------------------------------------------- ADR


def adr_file(scope: Scope, order: WorkOrder) -> str:
    """This issue's ADR if one exists, else the next number in the ADR folder."""
    folder = next((f for f in ADR_FOLDERS if (scope.root / f).is_dir()), ADR_FOLDERS[0])
    existing = sorted(p.name for p in (scope.root / folder).glob("*.md") if _NUMBERED.match(p.name))
    marker = _marker(order)
    for name in existing:
        if marker in (scope.root / folder / name).read_text(encoding="utf-8", errors="replace"):
            return f"{folder}/{name}"
    return f"{folder}/{next_name(existing, slug(order.issue_title))}"


def next_name(existing: Sequence[str], slugged: str) -> str:
    """``0004-slug.md`` after ``0003-…``; the width of the existing numbers is kept."""
    numbers = [m.group(1) for m in map(_NUMBERED.match, existing) if m]
    width = max((len(n) for n in numbers), default=4)
    number = max((int(n) for n in numbers), default=0) + 1
    return f"{number:0{width}d}-{slugged}.md"


def slug(title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return words[:_SLUG_LENGTH].rstrip("-") or "decision"


def _marker(order: WorkOrder) -> str:
    return f"<!-- techlead:adr {order.repo}#{order.issue_number} -->"


def render_adr(order: WorkOrder, day: date) -> str:
    """The ADR's Markdown, from the work order and the hand-offs of its dependencies."""
    context = templates.ADR_CONTEXT.format(
        number=order.issue_number, repo=order.repo, title=order.issue_title
    )
    if order.body:
        context += f"\n\n{order.body.strip()}"
    drivers = templates.ADR_DRIVERS.format(items=_bullets(order.findings)) if order.findings else ""
    outcomes = [
        templates.ADR_OUTCOME_ITEM.format(task=h.task_id, summary=h.summary) for h in order.handoffs
    ]
    outcome = _bullets(outcomes) or templates.ADR_OUTCOME_NONE.format(number=order.issue_number)
    consequences = _consequences(order)
    more = [templates.ADR_MORE.format(task=order.task_id, number=order.issue_number)]
    more += [
        templates.ADR_PR.format(task=h.task_id, url=h.pr_url) for h in order.handoffs if h.pr_url
    ]
    return templates.ADR.format(
        date=day.isoformat(),
        title=order.issue_title,
        context=context,
        drivers=drivers,
        outcome=outcome,
        consequences=templates.ADR_CONSEQUENCES.format(items=_bullets(consequences))
        if consequences
        else "",
        more=_bullets(more),
        marker=f"{order.repo}#{order.issue_number}",
    )


def _consequences(order: WorkOrder) -> list[str]:
    items: list[str] = []
    for handoff in order.handoffs:
        if handoff.changed_files:
            files = ", ".join(f"`{path}`" for path in handoff.changed_files)
            items.append(templates.ADR_CHANGED.format(files=files))
        items += [templates.ADR_INTERFACES.format(interface=i) for i in handoff.interfaces]
        items += list(handoff.notes)
    return list(dict.fromkeys(items))


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"* {item}" for item in items)


# ---------------------------------------------------------------------------- CHANGELOG


def changelog_file(root: Path) -> str:
    """The repository's changelog (any of the usual names, any case), else CHANGELOG.md."""
    names = {p.name.lower(): p.name for p in root.iterdir() if p.is_file()}
    for name in CHANGELOG_NAMES:
        if name.lower() in names:
            return names[name.lower()]
    return CHANGELOG_NAMES[0]


def _write_changelog(scope: Scope, path: str, order: WorkOrder) -> list[str]:
    target = scope.path(path)
    text = target.read_bytes().decode("utf-8") if target.is_file() else templates.CHANGELOG_NEW
    if changelog.has_entry(text, order.issue_number):
        return []
    kind = changelog.kind_of(order.issue_title)
    entry = templates.CHANGELOG_ENTRY.format(title=order.issue_title, number=order.issue_number)
    target.write_bytes(changelog.add_entry(text, entry, kind).encode("utf-8"))
    return [templates.DOCS_CHANGELOG.format(section="Unreleased", kind=kind)]
