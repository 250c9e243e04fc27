"""Turns an issue and research findings into a validated plan.

:class:`Planner` is the seam: the built-in :class:`DeterministicPlanner` reads the issue
(see bot.plan.parse), assigns specialists (bot.plan.assign), priorities
(bot.plan.priority) and dependencies (bot.plan.deps). Any other planner (an LLM one,
later) returns the same :class:`Plan`; :func:`make_plan` validates whichever ran, so no
planner can hand the executor a cycle or a dangling reference.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from agents.research.model import Findings
from bot.errors import TooManyTasksError
from bot.plan import templates
from bot.plan.assign import AgentLike, assign
from bot.plan.deps import (
    DependencyRefs,
    categorise,
    default_dependencies,
    find_dependencies,
    validate,
)
from bot.plan.model import (
    Category,
    IssueInput,
    Plan,
    PlanSource,
    PlanState,
    Task,
    TaskStatus,
    task_id,
)
from bot.plan.parse import Item, parse_issue
from bot.plan.priority import decide_priority

# Each pattern can only start at the first character of a run (lookbehinds), so none
# backtracks over a long run more than once.
_EMPTY_BRACKETS = re.compile(r"\([\s,;:&]*\)|\[[\s,;:&]*\]")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<!\s)\s+([,;:.)\]])")
_STRAY_SEPARATOR = re.compile(r"(?<![,;:&])[,;:&]+(?=[)\]])|(?<=[,;])[,;]+")
_EDGE_PUNCTUATION = " \t,;:-|\u2013\u2014"  # also en and em dashes


class PlanningLike(Protocol):
    """What the planner reads of ``RepoConfig.planning``."""

    @property
    def require_approval(self) -> bool: ...

    @property
    def max_tasks(self) -> int: ...

    @property
    def research_budget_seconds(self) -> float: ...


@dataclass(frozen=True)
class PlanningDefaults:
    """Stand-in for ``RepoConfig.planning`` where no configuration is at hand."""

    require_approval: bool = True
    max_tasks: int = 20
    research_budget_seconds: float = 10.0


class Planner(Protocol):
    def plan(
        self,
        issue: IssueInput,
        findings: Findings,
        roster: Sequence[AgentLike],
        config: PlanningLike,
    ) -> Plan: ...


def make_plan(
    issue: IssueInput,
    findings: Findings,
    roster: Sequence[AgentLike],
    config: PlanningLike,
    *,
    planner: Planner | None = None,
) -> Plan:
    """Plan with ``planner`` (the deterministic one by default) and validate the result.

    Raises CyclicPlanError, DanglingDependencyError or TooManyTasksError (all PlanError).
    """
    issue = readable_issue(issue)
    plan = (planner or DeterministicPlanner()).plan(issue, findings, roster, config)
    if len(plan.tasks) > config.max_tasks:
        raise TooManyTasksError(len(plan.tasks), config.max_tasks)
    validate(plan)
    return plan


def readable_issue(issue: IssueInput) -> IssueInput:
    """``issue`` with lone surrogates (a str from JSON may hold them; UTF-8 cannot)
    replaced by U+FFFD, so every text built from it can be sent to GitHub."""
    return replace(
        issue,
        title=_readable(issue.title),
        body=_readable(issue.body),
        labels=tuple(_readable(label) for label in issue.labels),
    )


def _readable(text: str) -> str:
    # UTF-16 joins surrogate pairs back into one character; only lone halves are replaced.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


@dataclass(frozen=True)
class _Draft:
    """A task before ids are resolved: its item number and what it waits for."""

    number: int
    task: Task
    refs: DependencyRefs


class DeterministicPlanner:
    """Same issue, findings and roster in, same plan out; no model, no randomness."""

    def plan(
        self,
        issue: IssueInput,
        findings: Findings,
        roster: Sequence[AgentLike],
        config: PlanningLike,
    ) -> Plan:
        parsed = parse_issue(issue.body)
        items = parsed.items or _fallback_items(issue, findings)
        if len(items) > config.max_tasks:
            raise TooManyTasksError(len(items), config.max_tasks)
        drafts = [
            _draft(position, item, issue, findings, roster)
            for position, item in enumerate(items, start=1)
        ]
        if parsed.source is PlanSource.SECTIONS:
            drafts.extend(_test_task(drafts, issue, findings, roster))
        tasks = _resolve(drafts)
        state = PlanState.AWAITING_APPROVAL if config.require_approval else PlanState.APPROVED
        return Plan(
            title=issue.title,
            tasks=tasks,
            issue_number=issue.number,
            state=state,
            source=parsed.source,
            next_id=len(tasks) + 1,
        )


def _draft(
    position: int,
    item: Item,
    issue: IssueInput,
    findings: Findings,
    roster: Sequence[AgentLike],
) -> _Draft:
    in_title = find_dependencies(item.text)
    in_details = find_dependencies(item.details)
    priority = decide_priority(item.text, f"{item.text}\n{item.details}", issue.labels)
    title = clean_title(item.text, (*in_title.spans, *priority.spans)) or item.text
    chosen = assign(title, item.details, roster, findings.relevant_paths())
    reasoning = [
        chosen.reason,
        templates.REASON_PRIORITY.format(priority=priority.priority.value, why=priority.reason),
    ]
    if item.checked:
        reasoning.append(templates.REASON_CHECKED)
    task = Task(
        id=task_id(position),
        title=title,
        agent=chosen.agent,
        priority=priority.priority,
        status=TaskStatus.COMPLETED if item.checked else TaskStatus.PENDING,
        category=categorise(title, chosen.agent),
        body=item.details,
        reasoning=tuple(reasoning),
    )
    refs = DependencyRefs(
        items=(*in_title.items, *in_details.items),
        tasks=(*in_title.tasks, *in_details.tasks),
        issues=(*in_title.issues, *in_details.issues),
        unknown=(*in_title.unknown, *in_details.unknown),
    )
    return _Draft(item.number, task, refs)


def clean_title(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` without the marker spans, empty brackets and dangling punctuation."""
    kept = []
    position = 0
    for start, end in sorted(spans):
        if start >= position:
            kept.append(text[position:start])
            position = end
    kept.append(text[position:])
    title = _EMPTY_BRACKETS.sub("", _balance_parentheses("".join(kept)))
    title = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(title.split()))
    title = _EMPTY_BRACKETS.sub("", _STRAY_SEPARATOR.sub("", title))
    return " ".join(title.split()).strip(_EDGE_PUNCTUATION)


def _balance_parentheses(text: str) -> str:
    """Drop parentheses left unmatched once a marker inside them was cut out."""
    unmatched: set[int] = set()
    opened: list[int] = []
    for index, char in enumerate(text):
        if char == "(":
            opened.append(index)
        elif char == ")":
            if opened:
                opened.pop()
            else:
                unmatched.add(index)
    unmatched.update(opened)
    return "".join(char for index, char in enumerate(text) if index not in unmatched)


def _resolve(drafts: Sequence[_Draft]) -> tuple[Task, ...]:
    """Turn item numbers into task ids and apply the default order where none is given."""
    by_number = {draft.number: draft.task.id for draft in drafts}
    explicit = any(draft.refs.internal for draft in drafts)
    defaults = default_dependencies([(d.task.id, d.task.category) for d in drafts])
    tasks = []
    for draft in drafts:
        if explicit:
            waits = [
                by_number.get(number, templates.MISSING_ITEM.format(number=number))
                for number in draft.refs.items
            ]
            waits += [*draft.refs.tasks, *draft.refs.unknown]
            note = templates.REASON_EXPLICIT_ORDER if waits else None
        else:
            waits = list(defaults[draft.task.id])
            note = _default_note(draft.task.category, waits)
        reasoning = (*draft.task.reasoning, note) if note else draft.task.reasoning
        tasks.append(
            Task(
                **{
                    **draft.task.__dict__,
                    "depends_on": tuple(dict.fromkeys(waits)),
                    "external_deps": tuple(dict.fromkeys(draft.refs.issues)),
                    "reasoning": reasoning,
                }
            )
        )
    return tuple(tasks)


def _default_note(category: Category, waits: Sequence[str]) -> str | None:
    if not waits:
        return None
    return templates.REASON_DEFAULT_ORDER.format(category=category.value, waits=", ".join(waits))


def _fallback_items(issue: IssueInput, findings: Findings) -> tuple[Item, ...]:
    files = ", ".join(f"`{path}`" for path in findings.relevant_paths()[:5])
    start = templates.FALLBACK_FILES_BODY.format(files=files) if files else ""
    command = findings.profile.test_command
    test_body = templates.FALLBACK_TEST_BODY.format(command=command) if command else ""
    bodies = (start, start, test_body, "")
    return tuple(
        Item(number, template.format(title=issue.title.strip()), body)
        for number, (template, body) in enumerate(
            zip(templates.FALLBACK_TITLES, bodies, strict=True), 1
        )
    )


def _test_task(
    drafts: Sequence[_Draft], issue: IssueInput, findings: Findings, roster: Sequence[AgentLike]
) -> list[_Draft]:
    """A test task for a sectioned issue when the repository has tests and no section
    covers them."""
    framework = findings.profile.test_framework
    if framework is None or any(d.task.category is Category.TESTS for d in drafts):
        return []
    number = max((d.number for d in drafts), default=0) + 1
    title = templates.SECTION_TESTS_TITLE.format(title=issue.title.strip())
    body = templates.FALLBACK_TEST_BODY.format(command=findings.profile.test_command)
    draft = _draft(len(drafts) + 1, Item(number, title, body), issue, findings, roster)
    note = templates.REASON_ADDED_TESTS.format(framework=framework)
    task = Task(**{**draft.task.__dict__, "reasoning": (*draft.task.reasoning, note)})
    return [_Draft(number, task, draft.refs)]
