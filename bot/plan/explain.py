"""``techlead plan --explain``: why each task got its specialist, priority and order.

The planner keeps its reasoning on every task (``Task.reasoning``: the specialist's
reason first, the priority's second, then notes and the order); this module lays it
out for a person, with the issue's kind and the files research suggests.
"""

from __future__ import annotations

from bot.plan import templates
from bot.plan.model import Plan, Task


def explain(plan: Plan) -> str:
    """The plan, task by task, with the reason for each decision."""
    kind = templates.KIND_NAMES.get(plan.kind or "", templates.EXPLAIN_NO_KIND)
    source = templates.SOURCE_NAMES[plan.source.value]
    why = templates.EXPLAIN_KIND_WHY.format(why=plan.kind_reason) if plan.kind_reason else ""
    lines = [templates.EXPLAIN_HEADER.format(title=plan.title, kind=kind, why=why, source=source)]
    if plan.linked:
        lines.append(templates.EXPLAIN_LINKED.format(issues=", ".join(plan.linked)))
    for task in plan.tasks:
        lines.append("")
        lines.extend(_task(task))
    return "\n".join(lines) + "\n"


def _task(task: Task) -> list[str]:
    status = templates.STATUS_NAMES[task.status.value]
    lines = [templates.EXPLAIN_TASK.format(id=task.id, title=task.title, status=status)]
    reasons = list(task.reasoning)
    agent_reason = reasons.pop(0) if reasons else ""
    why_agent = agent_reason.split(": ", 1)[1] if ": " in agent_reason else agent_reason
    lines.append(templates.EXPLAIN_AGENT.format(agent=task.agent, why=why_agent))
    priority_reason = reasons.pop(0) if reasons else ""
    why_priority = priority_reason.split(": ", 1)[1] if ": " in priority_reason else ""
    lines.append(templates.EXPLAIN_PRIORITY.format(priority=task.priority.value, why=why_priority))
    lines.append(_order(task, reasons))
    lines.extend(templates.EXPLAIN_NOTE.format(note=note) for note in reasons)
    if task.files:
        lines.append(templates.EXPLAIN_FILES.format(files=", ".join(task.files)))
    return lines


def _order(task: Task, reasons: list[str]) -> str:
    """The order line; the reason that explains it is taken out of ``reasons``."""
    waits = [*task.depends_on, *(f"#{number}" for number in task.external_deps)]
    if not waits:
        return templates.EXPLAIN_STARTS
    prefixes = tuple(
        template.split("{", 1)[0]
        for template in (
            templates.REASON_EXPLICIT_ORDER,
            templates.REASON_DEFAULT_ORDER,
            templates.REASON_SKELETON_ORDER,
        )
    )
    why = next((reason for reason in reasons if reason.startswith(prefixes)), "")
    if why:
        reasons.remove(why)
    return templates.EXPLAIN_WAITS.format(waits=", ".join(waits), why=why or templates.NONE)
