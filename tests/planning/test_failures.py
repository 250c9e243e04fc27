"""GitHub failing: errors reach the job queue (retry, pause), and a dead job leaves a comment."""

from __future__ import annotations

import pytest

from bot.demo import wait_for
from bot.features.planning.decide import Reason
from bot.features.planning.requests import Kind, PlanRequest, Requester, to_payload
from bot.jobs import JobSpec, JobState
from bot.worker import TOKEN_MODE_INSTALLATION
from tests.planning.conftest import Project

pytestmark = pytest.mark.sandbox

PORT_ATTEMPTS = 5  # the port's own tries before a 5xx reaches the job


def test_a_5xx_after_the_ports_retries_fails_the_job_and_the_queue_retries_it(
    project: Project,
) -> None:
    issue = project.open_issue()
    comments = f"/repos/{project.name}/issues/{issue}/comments"
    project.sandbox.faults.error(comments, status=502, count=PORT_ATTEMPTS, method="POST")

    project.maintainer.label(project.name, issue, "techlead")
    project.settle()

    (job,) = project.jobs(Kind.RUN.value, issue)
    assert job.state is JobState.DONE and job.attempts == 2
    assert "GitHubUnavailable" in (job.last_error or "")
    assert len(project.plan_comments(issue)) == 1


def test_a_long_rate_limit_pauses_the_installation_instead_of_failing(project: Project) -> None:
    issue = project.open_issue()
    comments = f"/repos/{project.name}/issues/{issue}/comments"
    project.sandbox.faults.secondary_limit(comments, retry_after=300, count=1, method="POST")
    queue = project.techlead.bot.services.queue

    project.maintainer.label(project.name, issue, "techlead")
    _wait_paused(project)

    (job,) = project.jobs(Kind.RUN.value, issue)
    assert job.state is JobState.PENDING and job.attempts == 0, "a rate limit costs no attempt"
    paused = queue.paused_until(project.installation_id)
    assert paused is not None and paused >= job.run_at - 1
    assert project.plan_comments(issue) == []

    _lift_pause(project)
    project.settle()
    assert len(project.plan_comments(issue)) == 1


def test_a_job_that_dead_letters_says_what_happened_and_what_to_do(project: Project) -> None:
    issue = project.open_issue()
    project.sandbox.faults.error(
        f"/repos/{project.name}/issues/{issue}", status=500, count=None, method="GET"
    )
    queue = project.techlead.bot.services.queue
    request = PlanRequest(project.name, issue, Reason.COMMAND, Requester(project.maintainer.login))
    spec = JobSpec(
        Kind.RUN.value,
        to_payload(request),
        dedupe_key=f"test-dead-{project.name}-{issue}",
        installation_id=project.installation_id,
        delay=3600,
    )
    job = queue.enqueue(spec)
    _last_attempt_now(project, job.id)
    project.techlead.bot.services.worker.wake()
    project.settle()
    project.sandbox.faults.clear()

    dead = queue.get(job.id)
    assert dead is not None and dead.state is JobState.DEAD
    (reply,) = project.replies(issue)
    assert "I could not finish planning for this issue after 5 attempts" in reply["body"]
    assert "GitHubUnavailable" in reply["body"]
    assert "Comment `/techlead plan` to try again" in reply["body"]
    assert f"`techlead jobs retry {job.id}`" in reply["body"]


def _wait_paused(project: Project) -> None:
    queue = project.techlead.bot.services.queue
    assert wait_for(lambda: queue.paused_until(project.installation_id) is not None)
    assert project.sandbox.wait_for_deliveries(10.0)


def _lift_pause(project: Project) -> None:
    """What time would do: the pause ends and the held job is due."""
    store = project.techlead.bot.services.store
    with store.transaction() as conn:
        conn.execute(
            "DELETE FROM installation_pauses WHERE installation_id IN (?, ?)",
            (project.installation_id, TOKEN_MODE_INSTALLATION),
        )
        conn.execute("UPDATE jobs SET run_at = 0 WHERE state = 'pending'")
    project.techlead.bot.services.worker.wake()


def _last_attempt_now(project: Project, job_id: int) -> None:
    """Four attempts already spent: the next run is the last one."""
    store = project.techlead.bot.services.store
    with store.transaction() as conn:
        conn.execute("UPDATE jobs SET attempts = 4, run_at = 0 WHERE id = ?", (job_id,))
