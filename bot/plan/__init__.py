"""Planning: issue + research findings -> validated, versioned plan -> checklist comment.

Pure cores only (no GitHub, no git). The usual calls, in order::

    findings = agents.research.research(worktree, issue.text, budget_seconds=...)
    plan = make_plan(issue, findings, config.agents, config.planning)
    plan = replan(previous, issue, findings, config.agents, config.planning)  # on edit
    body = render(plan, findings, command=config.trigger.command)
    body = merge_ticks(body_on_github_now, body)   # just before writing
    commands = parse_commands(comment_body, config.trigger.command)
    commands = decide_tick_actions(old_body, new_body)   # issue_comment.edited
"""

from __future__ import annotations

from bot.errors import ChecklistStateError, ChecklistTooLargeError, TooManyTasksError
from bot.plan.checklist import (
    MAX_COMMENT_CHARS,
    PLAN_MARKER,
    Control,
    ControlKind,
    Ticks,
    decide_tick_actions,
    encode_state,
    is_plan_comment,
    merge_ticks,
    parse_state,
    parse_ticks,
    render,
    render_error,
)
from bot.plan.commands import Command, CommandKind, help_text, parse_commands
from bot.plan.model import (
    CancelReason,
    Category,
    IssueInput,
    Plan,
    PlanDiff,
    PlanSource,
    PlanState,
    Priority,
    RemovedTask,
    Task,
    TaskChange,
    TaskLinks,
    TaskStatus,
)
from bot.plan.planner import DeterministicPlanner, Planner, PlanningDefaults, make_plan
from bot.plan.replan import merge_plans, replan
from bot.plan.waves import compute_waves, plan_waves, wave_name, wave_of

__all__ = [
    "MAX_COMMENT_CHARS",
    "PLAN_MARKER",
    "CancelReason",
    "Category",
    "ChecklistStateError",
    "ChecklistTooLargeError",
    "Command",
    "CommandKind",
    "Control",
    "ControlKind",
    "DeterministicPlanner",
    "IssueInput",
    "Plan",
    "PlanDiff",
    "PlanSource",
    "PlanState",
    "Planner",
    "PlanningDefaults",
    "Priority",
    "RemovedTask",
    "Task",
    "TaskChange",
    "TaskLinks",
    "TaskStatus",
    "Ticks",
    "TooManyTasksError",
    "compute_waves",
    "decide_tick_actions",
    "encode_state",
    "help_text",
    "is_plan_comment",
    "make_plan",
    "merge_plans",
    "merge_ticks",
    "parse_commands",
    "parse_state",
    "parse_ticks",
    "plan_waves",
    "render",
    "render_error",
    "replan",
    "wave_name",
    "wave_of",
]
