"""A planning job whose worker keeps dying is dead-lettered, and the issue says so once."""

from __future__ import annotations

import pytest

from bot.features.planning.decide import Reason
from bot.features.planning.requests import Kind, PlanRequest, Requester, to_payload
from bot.jobs import DEFAULT_MAX_ATTEMPTS, JobSpec, JobState
from tests.planning.conftest import Project
from tests.support.jobs import crash_looped

pytestmark = pytest.mark.sandbox


def test_a_plan_job_whose_worker_keeps_dying_says_so_on_the_issue_once(
    project: Project,
) -> None:
    issue = project.open_issue()
    project.settle()
    services = project.techlead.bot.services
    request = PlanRequest(project.name, issue, Reason.COMMAND, Requester(project.maintainer.login))
    spec = JobSpec(Kind.RUN.value, to_payload(request), installation_id=project.installation_id)

    job = crash_looped(services.queue, services.store, spec, deaths=DEFAULT_MAX_ATTEMPTS)
    services.worker.wake()
    project.settle()

    dead = services.queue.get(job.id)
    assert dead is not None and (dead.state, dead.attempts) == (JobState.DEAD, 5)
    (reply,) = project.replies(issue)
    body = reply["body"]
    assert "I could not finish planning for this issue after 5 attempts" in body
    assert "its worker died or its lease expired" in body
    assert f"`techlead jobs retry {job.id}`" in body
    assert project.plan_comments(issue) == [], "the handler never ran"
