"""The optional model planner (``planning.planner: llm``), held to deterministic guards.

The model is sent the issue without its template text, a repository map (the files
research ranked, with their symbols), the roster and the limits, and is asked for the
plan as JSON under :data:`PLAN_SCHEMA`. What comes back is accepted only if:

* every item of the issue's own checklist is still a task (ticked ones completed);
* every file a task names exists (among the files research knows, or on disk when the
  caller can check);
* every agent is in the roster;
* the plan validates (no cycle, no dangling dependency) and fits ``max_tasks``.

Otherwise, and on any model failure or timeout, the deterministic planner answers and
the plan carries a note saying why (shown on the checklist). Either way the call's cost
(tokens, seconds) is written into the caller's ``timings`` (the plan store keeps them)
and shown in the note.
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from agents.research.model import Findings
from bot.errors import ModelError, ModelReplyError, PlanError
from bot.llm import ModelClient, ModelConfig, Reply, Usage
from bot.plan.assign import AgentLike
from bot.plan.deps import validate
from bot.plan.model import (
    Category,
    IssueInput,
    Plan,
    PlanSource,
    PlanState,
    Priority,
    Task,
    TaskStatus,
    task_id,
)
from bot.plan.parse import Item, parse_issue
from bot.plan.planner import DeterministicPlanner, Planner, PlanningLike, open_tasks
from bot.plan.reading import is_template_line, normalise, strip_template, template_lines
from bot.settings import Settings

LLM_PLANNER = "llm"
TIMINGS_PREFIX = "llm_"
# The files of the repository map, most relevant first, and symbols per file.
MAP_FILES = 40
MAP_SYMBOLS = 12
MAX_BODY_CHARS = 20_000

# Text shown on the checklist.
NOTE_PLANNED = (
    "Planned by the model `{model}` ({tokens} tokens, {seconds:.1f} s); "
    "checked by TechLead's guards."
)
NOTE_FALLBACK = "The model's plan was not used ({why}); TechLead's own planner made this one."
NOTE_COST = " The model call cost {tokens} tokens and {seconds:.1f} s."
NO_MODEL = "no model is configured: set TECHLEAD_LLM_BASE_URL and TECHLEAD_LLM_MODEL"
DROPPED_ITEM = "it dropped the issue's item “{item}”"
MISSING_FILE = "it names `{path}`, which is not in the repository"
UNKNOWN_AGENT = "it assigns `{agent}`, who is not in the roster"
TOO_MANY = "it has {count} open tasks, more than planning.max_tasks ({limit})"
NO_TASKS = "it has no tasks"
REASON_MODEL = "{agent}: {why} (the model's choice)"
REASON_CHECKED = "The item is ticked in the issue: already done."

SYSTEM_PROMPT = """You are the tech lead of a software project. Split the GitHub issue you are \
given into a plan of tasks for the specialists in the roster.
Rules:
- Every item of the issue's own checklist becomes a task whose title is the item's text, \
copied exactly.
- Only assign agents from the roster, by name.
- Only name files listed in the repository map.
- depends_on lists the ids of tasks that must finish first; never make a cycle.
- Tests come after or alongside the change they cover.
- At most {max_tasks} tasks.
Answer with the JSON object the schema describes and nothing else."""

_TASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id", "title", "agent", "priority", "category", "depends_on", "files", "body", "reason",
    ],
    "properties": {
        "id": {"type": "string", "description": "T1, T2, ... in order"},
        "title": {"type": "string"},
        "agent": {"type": "string"},
        "priority": {"type": "string", "enum": [p.value for p in Priority]},
        "category": {"type": "string", "enum": [c.value for c in Category]},
        "depends_on": {"type": "array", "items": {"type": "string"}},
        "files": {"type": "array", "items": {"type": "string"}},
        "body": {"type": "string"},
        "reason": {"type": "string", "description": "why this agent and priority"},
    },
}  # fmt: skip
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "tasks"],
    "properties": {"title": {"type": "string"}, "tasks": {"type": "array", "items": _TASK_SCHEMA}},
}


class ChatModel(Protocol):
    """What the planner needs of :class:`bot.llm.ModelClient`."""

    @property
    def config(self) -> ModelConfig: ...

    def chat(
        self, messages: Sequence[Any], *, schema: Any = None, schema_name: str = "answer"
    ) -> Reply: ...


@dataclass(frozen=True)
class Brief:
    """What the model is told about the issue, and the user's items it must keep."""

    title: str
    body: str
    items: tuple[Item, ...]


class LLMPlanner:
    """A :class:`bot.plan.planner.Planner` asking a model, falling back to the deterministic one.

    ``exists(path)`` says whether a file is in the repository; without it, a file must
    be one research knows. ``timings`` receives the model's cost (``llm_tokens``...).
    """

    def __init__(
        self,
        model: ChatModel | None,
        *,
        exists: Callable[[str], bool] | None = None,
        timings: MutableMapping[str, float] | None = None,
        fallback: Planner | None = None,
        unavailable: str = NO_MODEL,
    ) -> None:
        self.model = model
        self.exists = exists
        self.timings = timings if timings is not None else {}
        self.fallback = fallback or DeterministicPlanner()
        self.unavailable = unavailable

    def plan(
        self,
        issue: IssueInput,
        findings: Findings,
        roster: Sequence[AgentLike],
        config: PlanningLike,
    ) -> Plan:
        if self.model is None:
            return self._fall_back(issue, findings, roster, config, self.unavailable, None)
        brief = brief_of(issue)
        usage = None
        try:
            reply = self.model.chat(
                messages(brief, findings, roster, config), schema=PLAN_SCHEMA, schema_name="plan"
            )
            usage = reply.usage
            self._record(usage)
            plan = self._accepted(reply, brief, issue, findings, roster, config)
        except (ModelError, PlanError) as exc:
            return self._fall_back(issue, findings, roster, config, str(exc), usage)
        note = NOTE_PLANNED.format(
            model=self.model.config.model, tokens=usage.total_tokens, seconds=usage.seconds
        )
        return replace(plan, notes=(*plan.notes, note))

    def _accepted(
        self,
        reply: Reply,
        brief: Brief,
        issue: IssueInput,
        findings: Findings,
        roster: Sequence[AgentLike],
        config: PlanningLike,
    ) -> Plan:
        """The model's plan, or ModelReplyError/PlanError saying which guard refused it."""
        answer = reply.json()
        if not isinstance(answer, dict) or not isinstance(answer.get("tasks"), list):
            raise ModelReplyError("the model's answer is not a plan object")
        tasks = _tasks(answer["tasks"])
        tasks = guard(tasks, brief, findings, roster, config, self.exists)
        state = PlanState.AWAITING_APPROVAL if config.require_approval else PlanState.APPROVED
        title = str(answer.get("title") or "").strip() or brief.title
        source = PlanSource.TASK_LIST if brief.items else PlanSource.PROSE
        plan = Plan(
            title=title[:200],
            tasks=tasks,
            issue_number=issue.number,
            state=state,
            source=source,
            next_id=len(tasks) + 1,
        )
        validate(plan)
        return plan

    def _fall_back(
        self,
        issue: IssueInput,
        findings: Findings,
        roster: Sequence[AgentLike],
        config: PlanningLike,
        why: str,
        usage: Usage | None,
    ) -> Plan:
        plan = self.fallback.plan(issue, findings, roster, config)
        note = NOTE_FALLBACK.format(why=_sentence(why))
        if usage is not None:
            note += NOTE_COST.format(tokens=usage.total_tokens, seconds=usage.seconds)
        return replace(plan, notes=(*plan.notes, note))

    def _record(self, usage: Usage) -> None:
        for key, value in usage.as_dict(TIMINGS_PREFIX).items():
            self.timings[key] = self.timings.get(key, 0) + value


def planner_for(
    planner: str,
    settings: Settings,
    *,
    timings: MutableMapping[str, float] | None = None,
    exists: Callable[[str], bool] | None = None,
    client: Callable[[ModelConfig], ChatModel] = ModelClient,
) -> Planner | None:
    """The planner ``planning.planner`` names; None for the deterministic one (the default).

    ``exists`` checks a named file against the repository on disk, where there is one.
    """
    if planner != LLM_PLANNER:
        return None
    config = ModelConfig.from_settings(settings)
    return LLMPlanner(client(config) if config else None, exists=exists, timings=timings)


# ------------------------------------------------------------------------------ the brief


def brief_of(issue: IssueInput) -> Brief:
    """The issue without template text, and the checklist items that are the author's."""
    known = template_lines(issue.templates)
    body = strip_template(issue.body, known)
    parsed = parse_issue(body)
    items: tuple[Item, ...] = ()
    if parsed.source is PlanSource.TASK_LIST:
        items = tuple(item for item in parsed.items if not is_template_line(item.text, known))
    return Brief(issue.title.strip(), body[:MAX_BODY_CHARS], items)


def messages(
    brief: Brief, findings: Findings, roster: Sequence[AgentLike], config: PlanningLike
) -> list[dict[str, str]]:
    """The system prompt and the request (the issue, the map, the roster) as JSON."""
    request = {
        "issue": {
            "title": brief.title,
            "body": brief.body,
            "checklist": [{"text": i.text, "done": i.checked} for i in brief.items],
        },
        "repository_map": repository_map(findings),
        "test_command": findings.profile.test_command,
        "roster": [{"name": a.name, "description": a.description} for a in roster],
        "max_tasks": config.max_tasks,
    }
    system = SYSTEM_PROMPT.format(max_tasks=config.max_tasks)
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": json.dumps(request, ensure_ascii=False)},
    ]


def repository_map(findings: Findings) -> list[dict[str, Any]]:
    """The files research ranked (code first, then prose), with their main symbols."""
    ranked = [*findings.relevant, *findings.docs]
    seen: set[str] = set()
    rows = []
    for item in ranked:
        if item.path in seen:
            continue
        seen.add(item.path)
        rows.append(
            {"path": item.path, "kind": item.kind, "symbols": list(item.symbols[:MAP_SYMBOLS])}
        )
    return rows[:MAP_FILES]


# ------------------------------------------------------------------------------ the guards


def guard(
    tasks: tuple[Task, ...],
    brief: Brief,
    findings: Findings,
    roster: Sequence[AgentLike],
    config: PlanningLike,
    exists: Callable[[str], bool] | None = None,
) -> tuple[Task, ...]:
    """The tasks with the issue's ticked items completed; raises ModelReplyError when a
    guard refuses them (a dropped item, a missing file, an unknown agent, too many)."""
    if not tasks:
        raise ModelReplyError(NO_TASKS)
    names = {agent.name for agent in roster}
    for task in tasks:
        if task.agent not in names:
            raise ModelReplyError(UNKNOWN_AGENT.format(agent=task.agent))
    known = {item.path for item in (*findings.relevant, *findings.docs)}
    present = exists or known.__contains__
    for task in tasks:
        for path in task.files:
            if not present(path):
                raise ModelReplyError(MISSING_FILE.format(path=path))
    tasks = _keep_items(tasks, brief.items)
    if open_tasks(tasks) > config.max_tasks:
        raise ModelReplyError(TOO_MANY.format(count=open_tasks(tasks), limit=config.max_tasks))
    return tasks


def _keep_items(tasks: tuple[Task, ...], items: Sequence[Item]) -> tuple[Task, ...]:
    """Every user item matched by a task (its text within the task's title); ticked
    items' tasks are completed. Raises ModelReplyError for the first item dropped."""
    titles = [normalise(task.title) for task in tasks]
    done: set[int] = set()
    for item in items:
        wanted = normalise(item.text)
        found = next((i for i, title in enumerate(titles) if wanted and wanted in title), None)
        if found is None:
            raise ModelReplyError(DROPPED_ITEM.format(item=item.text.strip()[:120]))
        if item.checked:
            done.add(found)
    return tuple(
        replace(
            task,
            status=TaskStatus.COMPLETED,
            reasoning=(*task.reasoning, REASON_CHECKED),
        )
        if index in done
        else task
        for index, task in enumerate(tasks)
    )


def _tasks(raw: list[Any]) -> tuple[Task, ...]:
    """Tasks from the model's JSON, renumbered T1..Tn (its ids mapped in its order)."""
    rows = [row for row in raw if isinstance(row, dict)]
    if len(rows) != len(raw):
        raise ModelReplyError("a task in the model's answer is not an object")
    ids = {str(row.get("id") or index): task_id(index) for index, row in enumerate(rows, 1)}
    return tuple(_task(row, task_id(index), ids) for index, row in enumerate(rows, 1))


def _task(row: dict[str, Any], new_id: str, ids: dict[str, str]) -> Task:
    title = str(row.get("title") or "").strip()
    agent = str(row.get("agent") or "").strip()
    if not title or not agent:
        raise ModelReplyError("a task in the model's answer has no title or no agent")
    try:
        priority = Priority(str(row.get("priority", "medium")))
        category = Category(str(row.get("category", "implementation")))
    except ValueError as exc:
        raise ModelReplyError(f"task “{title[:80]}”: {exc}") from exc
    # An id the model never gave stays as written, so validate() names it as dangling.
    waits = tuple(dict.fromkeys(ids.get(str(dep), str(dep)) for dep in _strings(row, "depends_on")))
    why = str(row.get("reason") or "").strip() or "no reason given"
    return Task(
        id=new_id,
        title=title[:300],
        agent=agent,
        priority=priority,
        category=category,
        depends_on=waits,
        body=str(row.get("body") or "").strip(),
        files=tuple(
            dict.fromkeys(path.strip().removeprefix("./") for path in _strings(row, "files"))
        ),
        reasoning=(REASON_MODEL.format(agent=agent, why=why[:300]),),
    )


def _strings(row: dict[str, Any], key: str) -> list[str]:
    value = row.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ModelReplyError(f"{key} in the model's answer is not a list of strings")
    return value


def _sentence(text: str) -> str:
    return " ".join(text.split()).rstrip(".")[:300]
