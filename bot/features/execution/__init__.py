"""Execution: an approved plan fans out to task branches and PRs, wave by wave, into one PR.

=========================  ===============================================  =================
trigger                    when                                             job
=========================  ===============================================  =================
plan saved (planning)      approved, running, cancelled (or auto-approve)   execution.advance
pull_request.closed        a branch of a plan's execution (by a person)    execution.advance
pull_request_review        submitted on such a branch (require_review)      execution.advance
check_run.completed        on a branch of a plan's execution                execution.advance
execution.advance          a task may start                                 execution.task
execution.task             its attempt recorded                             execution.advance
=========================  ===============================================  =================

The plan store is the source of truth (``bot.plans`` for the plan, ``store`` for the
execution record); ``reconcile`` and ``attempt`` hold the job bodies (``flows`` their
plumbing), ``schedule``, ``policy``, ``orders`` and ``render`` the pure decisions,
``local`` the ``techlead run`` command's forge. Executors live in ``agents.executors``.
"""

from __future__ import annotations

from bot.context import JobContext
from bot.events import CheckRunEvent, PullRequestEvent
from bot.features.execution import attempt, flows, reconcile
from bot.jobs import Job, JobRegistry, JobSpec, RetryPolicy
from bot.router import Event, Router
from bot.state import open_run_store

router = Router()
jobs = JobRegistry()

BRANCH_PREFIX = "techlead/"


def kick_spec(repo: str, branch: str, key: str) -> list[JobSpec]:
    if not branch:
        return []
    payload = {"repo": repo, "branch": branch}
    return [JobSpec("execution.kick", payload, dedupe_key=f"execution.kick:{key}")]


@router.register("pull_request", action="closed")
def on_pull_closed(event: Event, ctx: JobContext) -> list[JobSpec]:
    pull = PullRequestEvent.from_event(event)
    return kick_spec(pull.repo, pull.head_ref, f"{pull.repo}#{pull.number}:closed:{pull.head_sha}")


@router.register("pull_request_review", action="submitted")
def on_review(event: Event, ctx: JobContext) -> list[JobSpec]:
    pull = PullRequestEvent.from_event(event)
    return kick_spec(
        pull.repo, pull.head_ref, f"{pull.repo}#{pull.number}:review:{event.delivery_id}"
    )


@router.register("check_run", action="completed", allow_bots=True)
def on_check_completed(event: Event, ctx: JobContext) -> list[JobSpec]:
    run = CheckRunEvent.from_event(event)
    return kick_spec(run.repo, run.head_branch, f"{run.repo}@{run.head_sha}:{run.name}")


@jobs.register("execution.kick")
def kick(job: Job, ctx: JobContext) -> None:
    """A branch moved on: advance the plan whose execution owns it, if any."""
    repo, branch = str(job.payload["repo"]), str(job.payload["branch"])
    with open_run_store(ctx.settings, ctx.clock) as runs:
        issue = runs.find_branch(repo, branch)
    if issue is not None:
        ctx.enqueue(flows.advance_spec(repo, issue, f"kick{job.id}"))


# Execution jobs retry quickly: a person is watching the checklist, and a task whose job
# gives up is failed with the reason and a retry box (on_dead) rather than left running.
RETRY = RetryPolicy(max_attempts=4, base=1.0, cap=30.0)


def task_died(job: Job, error: str, ctx: JobContext) -> None:
    """``on_dead`` of a task job: the task fails with the error, its dependents wait."""
    repo, issue = flows.repo_issue(job.payload)
    with flows.execution(ctx, repo, issue) as ex:
        attempt.give_up(ex, str(job.payload["task"]), int(job.payload["attempt"]), error)


@jobs.register(flows.ADVANCE, retry=RETRY)
def advance(job: Job, ctx: JobContext) -> None:
    repo, issue = flows.repo_issue(job.payload)
    with flows.execution(ctx, repo, issue) as ex:
        reconcile.advance(ex)


@jobs.register(flows.TASK, retry=RETRY, on_dead=task_died)
def run_task(job: Job, ctx: JobContext) -> None:
    repo, issue = flows.repo_issue(job.payload)
    with flows.execution(ctx, repo, issue) as ex:
        attempt.run_task(ex, str(job.payload["task"]), int(job.payload["attempt"]))
