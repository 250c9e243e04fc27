"""The execution feature's job plumbing: job specs, and the tools one execution job holds.

The job bodies live in :mod:`~bot.features.execution.reconcile` (``execution.advance``)
and :mod:`~bot.features.execution.attempt` (``execution.task``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from bot.context import JobContext
from bot.features.planning.flows import Work, publish, working
from bot.jobs import JobSpec
from bot.plan.model import Plan, PlanState
from bot.plans import PlanRecord
from bot.ports import ExecutionPort
from bot.state import Runs, open_run_store
from bot.workspace import Identity, Workspace

ADVANCE = "execution.advance"
TASK = "execution.task"
KICK_SECONDS = 1.0
COMMITTER = Identity("TechLead", "techlead@users.noreply.github.com")
AUTHOR = Identity("TechLead agent", "techlead-agent@users.noreply.github.com")
LIVE = frozenset({PlanState.APPROVED, PlanState.RUNNING})


def advance_spec(repo: str, issue: int, key: str, delay: float = 0.0) -> JobSpec:
    return JobSpec(
        ADVANCE,
        {"repo": repo, "issue": issue},
        dedupe_key=f"{ADVANCE}:{repo.lower()}#{issue}:{key}",
        delay=delay,
    )


def task_spec(repo: str, issue: int, task_id: str, attempt: int) -> JobSpec:
    return JobSpec(
        TASK,
        {"repo": repo, "issue": issue, "task": task_id, "attempt": attempt},
        dedupe_key=f"{TASK}:{repo.lower()}#{issue}:{task_id}:a{attempt}",
    )


@dataclass
class Execution:
    """One execution job's tools: the planning tools plus the run store."""

    work: Work
    runs: Runs

    @property
    def github(self) -> ExecutionPort:
        github: ExecutionPort = self.work.github  # type: ignore[assignment]
        return github

    @property
    def ctx(self) -> JobContext:
        return self.work.ctx

    @property
    def repo(self) -> str:
        return self.work.repo

    @property
    def issue(self) -> int:
        return self.work.issue

    def now(self) -> float:
        return self.ctx.now()

    def workspace(self) -> Workspace:
        return Workspace(
            self.ctx.settings, committer=COMMITTER, credentials=self.work.github.git_credentials
        )

    def show(self, record: PlanRecord, plan: Plan) -> PlanRecord:
        """Save the plan and re-render the checklist (never schedules another advance)."""
        return publish(self.work, record.with_plan(plan), execute=False)


@contextmanager
def execution(ctx: JobContext, repo: str, issue: int) -> Iterator[Execution]:
    with working(ctx, repo, issue) as work, open_run_store(ctx.settings, ctx.clock) as runs:
        yield Execution(work, runs)


def repo_issue(payload: Mapping[str, object]) -> tuple[str, int]:
    repo, issue = payload.get("repo"), payload.get("issue")
    if not isinstance(repo, str) or not isinstance(issue, int):
        raise ValueError("an execution job needs repo and issue")
    return repo, issue
