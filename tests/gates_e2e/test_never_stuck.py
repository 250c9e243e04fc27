"""Gates never stay queued, in progress or pending: a dead job completes what it left open.

A job dies by failing on every attempt or by crash-looping (its worker killed each time,
the lease abandoned); either way its kind's ``on_dead`` hook completes the runs as
``failure`` (token mode: ``error`` statuses and the summary comment), naming the error
and what to do. Assertions read the pull request back from the sandbox, as people see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bot.demo import wait_for
from bot.features.gates import QUEUE_ATTEMPTS, QUEUE_KIND, RUN_ATTEMPTS, RUN_KIND, RunOrder
from bot.gate_runs import GateRequest, external_id
from bot.jobs import Job, JobSpec, JobState
from gates.config import GateLevel, load_defaults
from gates.templates import MARKER, check_run_name
from tests.conftest import World
from tests.gates_e2e.conftest import (
    PullWorld,
    PullWorldFactory,
    TechLead,
    TechLeadFactory,
    comments,
    statuses,
)
from tests.gates_e2e.test_checks import RISKY, opened
from tests.support.jobs import crash_looped

pytestmark = pytest.mark.sandbox

GATES = (GateLevel.L1, GateLevel.L5)
NAMES = [check_run_name(level) for level in GATES]
OPEN_STATES = ("queued", "in_progress")
CHECKS_TAB = "re-run this check from the Checks tab"


def still_open(pr: PullWorld, head: str) -> list[tuple[str, str]]:
    return [(run["name"], run["status"]) for run in pr.runs(head) if run["status"] != "completed"]


def all_completed(pr: PullWorld, head: str) -> bool:
    """Once the dead job's hook has completed every run. The job is dead-lettered first,
    then its hook runs, one request per gate: settling can return in between."""
    return wait_for(lambda: still_open(pr, head) == [], timeout=30)


def all_errors(pr: PullWorld, head: str, number: int) -> dict[str, dict[str, Any]]:
    """The statuses once the dead job's hook has set every gate's and then posted its
    comment (see all_completed)."""

    def done() -> bool:
        states = {statuses(pr, head)[name]["state"] for name in NAMES}
        return states == {"error"} and len(comments(pr, number)) == 1

    wait_for(done, timeout=30)
    return statuses(pr, head)


def open_unwatched(pr: PullWorld) -> tuple[str, int]:
    """A pull request opened while no TechLead listens: nothing was gated yet."""
    head = pr.push("change", {"app.py": RISKY})
    return head, pr.open_pull("change")


def runs_left_open(pr: PullWorld, head: str, number: int, states: tuple[str, ...]) -> list[int]:
    """Check runs as a dead job leaves them (created by the App, ``states`` per gate)."""
    made = []
    for level, state in zip(GATES, states, strict=True):
        body = {
            "name": check_run_name(level),
            "head_sha": head,
            "status": state,
            "external_id": external_id(level, number),
            "output": {"title": "Queued", "summary": "Waiting for a worker."},
        }
        made.append(pr.as_app("POST", f"/repos/{pr.repo}/check-runs", json=body)["id"])
    return made


def statuses_left_pending(pr: PullWorld, head: str) -> None:
    for name in NAMES:
        body = {"state": "pending", "context": name, "description": "queued"}
        pr.api("POST", f"/repos/{pr.repo}/statuses/{head}", json=body)


@dataclass(frozen=True)
class Dead:
    kind: str
    attempts: int
    states: tuple[str, ...]  # what the dead job left on GitHub (App mode)

    def spec(self, pr: PullWorld, head: str, number: int, runs: list[int]) -> JobSpec:
        if self.kind == QUEUE_KIND:
            payload = GateRequest(pr.repo, head, "change", (number,)).to_payload()
        else:
            ids = dict(zip(GATES, runs or [0] * len(GATES), strict=True))
            gates = load_defaults().model_dump(mode="json")
            payload = RunOrder(pr.repo, number, head, ids, gates).to_payload()
        world = pr.world
        installation = world.installation.id if isinstance(world, World) else None
        return JobSpec(self.kind, payload, installation_id=installation)


KINDS = {
    "run": Dead(RUN_KIND, RUN_ATTEMPTS, ("queued", "in_progress")),
    "queue": Dead(QUEUE_KIND, QUEUE_ATTEMPTS, ("queued", "queued")),
}


def die_in_a_crash_loop(
    pr: PullWorld, techlead: TechLead, dead: Dead, head: str, number: int, runs: list[int]
) -> Job:
    """The job's workers were killed ``attempts`` times; TechLead's worker finds it."""
    services = techlead.bot.services
    spec = dead.spec(pr, head, number, runs)
    job = crash_looped(services.queue, services.store, spec, deaths=dead.attempts)
    services.worker.wake()
    techlead.settle()
    final = services.queue.get(job.id)
    assert final is not None
    assert (final.state, final.attempts) == (JobState.DEAD, dead.attempts)
    assert f"abandoned after {dead.attempts} attempts" in (final.last_error or "")
    return final


@pytest.mark.parametrize("dead", KINDS.values(), ids=KINDS.keys())
def test_a_crash_looping_job_completes_its_runs_as_failures(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory, dead: Dead
) -> None:
    pr = pull_world_for()
    head, number = open_unwatched(pr)
    runs = runs_left_open(pr, head, number, dead.states)
    techlead = techlead_for(pr.world)

    job = die_in_a_crash_loop(pr, techlead, dead, head, number, runs)

    assert all_completed(pr, head), still_open(pr, head)
    for name in NAMES:
        run = pr.run_named(head, name)
        assert run["conclusion"] == "failure"
        title = run["output"]["title"]
        assert title.startswith(f"Did not finish: gave up after {dead.attempts} attempt(s)")
        assert "its worker died or its lease expired" in title
        summary = run["output"]["summary"]
        assert f"`{dead.kind}` job (id {job.id})" in summary and CHECKS_TAB in summary


@pytest.mark.parametrize("dead", KINDS.values(), ids=KINDS.keys())
def test_token_mode_a_crash_looping_job_leaves_error_statuses_and_says_why(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory, dead: Dead
) -> None:
    pr = pull_world_for(app=False)
    head, number = open_unwatched(pr)
    statuses_left_pending(pr, head)
    techlead = techlead_for(pr.world)

    job = die_in_a_crash_loop(pr, techlead, dead, head, number, [])

    found = all_errors(pr, head, number)
    assert {name: found[name]["state"] for name in NAMES} == dict.fromkeys(NAMES, "error")
    for name in NAMES:
        assert found[name]["description"].startswith("Did not finish: gave up after")
    [comment] = comments(pr, number)
    body = comment["body"]
    assert body.startswith(MARKER) and f"Head commit: `{head}`" in body
    assert "its worker died or its lease expired" in body
    assert f"`techlead jobs retry {job.id}`" in body


def test_a_run_job_that_keeps_failing_completes_its_runs_naming_the_error(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    head, _ = opened(pr, techlead, {"app.py": RISKY})
    suite = pr.run_named(head, NAMES[0])["check_suite"]["id"]
    # Only the run job reads the pull request by number; the re-requested suite's
    # queue job finds it by branch. Every read now fails.
    pr.world.sandbox.faults.error(f"/repos/{pr.repo}/pulls/*", status=422, count=None)
    pr.as_app("POST", f"/repos/{pr.repo}/check-suites/{suite}/rerequest")
    techlead.settle()

    assert all_completed(pr, head), still_open(pr, head)
    for name in NAMES:
        run = pr.run_named(head, name)
        assert run["conclusion"] == "failure"
        assert "gave up after 2 attempt(s)" in run["output"]["title"]
        assert "422" in run["output"]["title"]
        assert CHECKS_TAB in run["output"]["summary"]
    job = techlead.jobs(RUN_KIND)[-1]
    assert (job.state, job.attempts) == (JobState.DEAD, RUN_ATTEMPTS)


def test_token_mode_reopening_at_the_same_head_settles_the_statuses_again(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for(app=False)
    techlead = techlead_for(pr.world)
    head = pr.push("change", {"app.py": RISKY})
    number = pr.open_pull("change")
    techlead.settle()
    pull = pr.world.user_gh.get_repo(pr.repo).get_pull(number)
    pull.edit(state="closed")
    pull.edit(state="open")  # the same head is queued (pending) again
    techlead.settle()

    opening = ["pending", "pending", "failure"]  # queued, running, the result
    history = [item["state"] for item in _statuses_of(pr, head, NAMES[0])]
    assert history == opening + opening
    assert [job.state for job in techlead.jobs(RUN_KIND)] == [JobState.DONE, JobState.DONE]
    assert {name: statuses(pr, head)[name]["state"] for name in NAMES} == dict.fromkeys(
        NAMES, "failure"
    )


def _statuses_of(pr: PullWorld, sha: str, context: str) -> list[dict[str, Any]]:
    """Every status ``context`` got on ``sha``, oldest first."""
    found = pr.api("GET", f"/repos/{pr.repo}/commits/{sha}/statuses", params={"per_page": 100})
    return [item for item in reversed(found) if item["context"] == context]
