"""What the planning feature calls: the checklist's execution section, and scheduling execution."""

from __future__ import annotations

from bot.context import JobContext
from bot.features.execution.render import insert_section, section
from bot.jobs import JobSpec
from bot.plan.model import PlanState, TaskStatus
from bot.plans import PlanRecord
from bot.repo_config import RepoConfig
from bot.state import open_run_store

ADVANCE = "execution.advance"
_EXECUTING = frozenset({PlanState.APPROVED, PlanState.RUNNING, PlanState.CANCELLED})


def checklist_with_execution(
    ctx: JobContext, record: PlanRecord, body: str, config: RepoConfig
) -> str:
    """``body`` with the plan's execution section (nothing before execution started)."""
    if record.plan is None or record.error_body is not None:
        return body
    with open_run_store(ctx.settings, ctx.clock) as runs:
        run = runs.load(record.repo, record.issue)
    return insert_section(body, section(record.plan, run, config.execution.max_parallel))


def schedule_execution(ctx: JobContext, record: PlanRecord, config: RepoConfig) -> None:
    """Ask the execution feature to act on the plan just saved (once per saved revision)."""
    plan = record.plan
    if plan is None or record.error is not None:
        return
    auto = plan.state is PlanState.AWAITING_APPROVAL and config.execution.auto_approve
    # A re-planned version waiting for approval may have removed tasks whose PRs close.
    ran = any(task.status is not TaskStatus.PENDING or task.links.pr for task in plan.tasks)
    if plan.state in _EXECUTING or auto or ran:
        key = f"{ADVANCE}:{record.repo.lower()}#{record.issue}:r{record.revision}"
        payload = {"repo": record.repo, "issue": record.issue}
        ctx.enqueue(JobSpec(ADVANCE, payload, dedupe_key=key))
