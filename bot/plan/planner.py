"""Turns an issue and research findings into a validated plan.

:class:`Planner` is the seam: the built-in :class:`DeterministicPlanner` reads the issue
(bot.plan.items: template text out, its kind, its items or its kind's skeleton), assigns
specialists (bot.plan.assign), priorities (bot.plan.priority: the task's marker, the
issue's label or title marker, the task's words, the kind) and dependencies
(bot.plan.deps: the issue's own words, else by stage between tasks on one topic). Any
other planner (an LLM one, later) returns the same :class:`Plan`; :func:`make_plan`
validates whichever ran, so no planner can hand the executor a cycle or a dangling
reference, and counts only open tasks against ``max_tasks``.
"""

from __future__ import annotations

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
    topic,
    validate,
)
from bot.plan.items import DESCRIPTIVE, Reading, read
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
from bot.plan.parse import Item
from bot.plan.priority import PriorityDecision, decide_priority
from bot.plan.reading import IssueKind
from bot.plan.skeletons import DEVELOPER, KIND_SPECIALISTS, skeleton
from bot.plan.titles import clean_title

__all__ = [
    "DeterministicPlanner",
    "Planner",
    "PlanningDefaults",
    "PlanningLike",
    "clean_title",
    "make_plan",
    "open_tasks",
    "readable_issue",
]


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
    Only open tasks count against ``max_tasks``: items ticked in the issue are done.
    """
    issue = readable_issue(issue)
    plan = (planner or DeterministicPlanner()).plan(issue, findings, roster, config)
    if open_tasks(plan.tasks) > config.max_tasks:
        raise TooManyTasksError(open_tasks(plan.tasks), config.max_tasks)
    validate(plan)
    return plan


def open_tasks(tasks: Sequence[Task | Item]) -> int:
    """How many of ``tasks`` are still to do (neither ticked nor finished)."""
    return sum(
        1
        for task in tasks
        if not (task.checked if isinstance(task, Item) else task.status.finished)
    )


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
    waits: tuple[int, ...] = ()  # item numbers a skeleton task waits for
    ordered: bool = False


class DeterministicPlanner:
    """Same issue, findings and roster in, same plan out; no model, no randomness."""

    def plan(
        self,
        issue: IssueInput,
        findings: Findings,
        roster: Sequence[AgentLike],
        config: PlanningLike,
    ) -> Plan:
        reading = read(issue, findings, [agent.name for agent in roster])
        if open_tasks(reading.items) > config.max_tasks:
            raise TooManyTasksError(open_tasks(reading.items), config.max_tasks)
        drafts = [
            _draft(position, item, reading, findings, roster)
            for position, item in enumerate(reading.items, start=1)
        ]
        if reading.source is PlanSource.SECTIONS or _open_code_list(drafts, reading):
            drafts.extend(_test_task(drafts, reading, findings, roster))
        drafts.extend(_missing_specialists(drafts, reading, findings, roster))
        tasks = _resolve(drafts)
        state = PlanState.AWAITING_APPROVAL if config.require_approval else PlanState.APPROVED
        return Plan(
            title=reading.title,
            tasks=tasks,
            issue_number=issue.number,
            state=state,
            source=reading.source,
            next_id=len(tasks) + 1,
            kind=reading.kind.kind.value,
            linked=reading.linked,
            kind_reason=reading.kind.reason,
        )


def _draft(
    position: int,
    item: Item,
    reading: Reading,
    findings: Findings,
    roster: Sequence[AgentLike],
) -> _Draft:
    in_title = find_dependencies(item.text)
    in_details = find_dependencies(item.details)
    # A skeleton task's words are the planner's; only the issue's title speaks for it.
    words = reading.title if item.whole_issue else f"{item.text}\n{item.details}"
    own = decide_priority(item.text, words, ())
    title = clean_title(item.text, (*in_title.spans, *own.spans)) or item.text
    priority = _priority(own, item, title, reading)
    chosen = _agent(title, item, reading, findings, roster)
    reasoning = [
        chosen,
        templates.REASON_PRIORITY.format(priority=priority.priority.value, why=priority.reason),
    ]
    if item.note:
        reasoning.append(item.note)
    if item.checked:
        reasoning.append(templates.REASON_CHECKED)
    agent = chosen.split(":", 1)[0]
    task = Task(
        id=task_id(position),
        title=title,
        agent=agent,
        priority=priority.priority,
        status=TaskStatus.COMPLETED if item.checked else TaskStatus.PENDING,
        category=categorise(title, agent),
        body=item.details,
        reasoning=tuple(reasoning),
        files=item.files,
    )
    refs = DependencyRefs(
        items=(*in_title.items, *in_details.items),
        tasks=(*in_title.tasks, *in_details.tasks),
        issues=(*in_title.issues, *in_details.issues),
        unknown=(*in_title.unknown, *in_details.unknown),
    )
    return _Draft(item.number, task, refs, item.waits, item.ordered)


def _priority(own: PriorityDecision, item: Item, title: str, reading: Reading) -> PriorityDecision:
    """The task's own marker; else the skeleton's; else the issue's own priority (a
    label for every task, a title marker for tasks on the title's topic); else the
    task's own words; else what the issue's kind implies; else medium."""
    if own.spans or own.reason.startswith(templates.PRIORITY_MARKER.split("{", 1)[0]):
        return own
    if item.priority is not None:
        return PriorityDecision(item.priority, templates.PRIORITY_KIND)
    issue = reading.priority
    on_topic = item.whole_issue or bool(topic(title) & topic(reading.title))
    if issue is not None and (on_topic or reading.priority_from_label):
        why = templates.REASON_ISSUE_PRIORITY.format(
            priority=issue.priority.value, why=issue.reason
        )
        return PriorityDecision(issue.priority, why)
    if own.reason != templates.PRIORITY_NONE:
        return own
    return reading.kind_priority or own


def _agent(
    title: str, item: Item, reading: Reading, findings: Findings, roster: Sequence[AgentLike]
) -> str:
    """The reason line for the chosen agent, starting with its name."""
    kind = reading.kind.kind
    if item.agent:
        name = templates.KIND_NAMES[kind.value]
        return templates.REASON_HINT_AGENT.format(agent=item.agent, kind=name)
    relevant = findings.relevant_paths()
    preferred = KIND_SPECIALISTS.get(kind)
    text = item.assign_text or title
    chosen = assign(text, item.details, roster, relevant, preferred=preferred, fallback=DEVELOPER)
    return chosen.reason


def _resolve(drafts: Sequence[_Draft]) -> tuple[Task, ...]:
    """Turn item numbers into task ids; the issue's own words decide the order when it
    names any, skeleton tasks keep their order, the rest wait by stage and topic."""
    by_number = {draft.number: draft.task.id for draft in drafts}
    explicit = any(draft.refs.internal for draft in drafts)
    topics = {d.task.id: topic(d.task.title) for d in drafts}
    defaults = default_dependencies([(d.task.id, d.task.category) for d in drafts], topics)
    tasks = []
    for draft in drafts:
        if draft.ordered or draft.waits:
            waits = [by_number[n] for n in draft.waits if n in by_number]
            note = templates.REASON_SKELETON_ORDER.format(waits=", ".join(waits)) if waits else None
        elif explicit:
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


def _missing_specialists(
    drafts: Sequence[_Draft], reading: Reading, findings: Findings, roster: Sequence[AgentLike]
) -> list[_Draft]:
    """For a bug, vulnerability or slowdown listed by hand: the skeleton's tasks whose
    specialist (the tester, security-guardian, performance-expert) has no task yet."""
    if reading.source is PlanSource.FALLBACK or reading.kind.kind not in DESCRIPTIVE:
        return []
    names = [agent.name for agent in roster]
    have = {draft.task.agent for draft in drafts}
    extra: list[_Draft] = []
    number = max((d.number for d in drafts), default=0)
    listed = "\n".join(draft.task.title for draft in drafts)
    for step in skeleton(reading.kind.kind, reading.title, listed, findings, names):
        if step.agent and step.agent not in have and step.agent != DEVELOPER:
            number += 1
            have.add(step.agent)
            item = replace(
                step, number=number, waits=(), ordered=False, note=templates.REASON_SPECIALIST
            )
            extra.append(_draft(len(drafts) + len(extra) + 1, item, reading, findings, roster))
    return extra


def _open_code_list(drafts: Sequence[_Draft], reading: Reading) -> bool:
    """A tracker's hand-written list of code work still open, which a tech lead would
    not sign without tests. (A feature's own list is planned as written.)"""
    if reading.source is not PlanSource.TASK_LIST or reading.kind.kind is not IssueKind.TRACKING:
        return False
    pending = [d for d in drafts if not d.task.status.finished]
    return bool(pending) and all(d.task.category is not Category.DOCS for d in pending)


def _test_task(
    drafts: Sequence[_Draft], reading: Reading, findings: Findings, roster: Sequence[AgentLike]
) -> list[_Draft]:
    """A test task for a sectioned issue or an open list of code work, when the
    repository has tests and no task covers them."""
    framework = findings.profile.test_framework
    if framework is None or any(d.task.category is Category.TESTS for d in drafts):
        return []
    number = max((d.number for d in drafts), default=0) + 1
    title = templates.SECTION_TESTS_TITLE.format(title=reading.title)
    body = templates.FALLBACK_TEST_BODY.format(command=findings.profile.test_command)
    note = templates.REASON_ADDED_TESTS.format(framework=framework)
    item = Item(number, title, body, note=note)
    return [_draft(len(drafts) + 1, item, reading, findings, roster)]
