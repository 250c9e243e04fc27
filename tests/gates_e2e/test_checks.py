"""Gates on pull requests end to end (App mode): webhooks in, check runs with annotations out.

Each test pushes a branch to a fresh sandbox repository, opens a pull request and lets
TechLead's real worker react to the sandbox's webhooks; assertions read the check runs
and their annotations back from the sandbox, as a person on GitHub would see them.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from bot.gate_runs import enabled_levels
from gates.config import GateLevel, load_defaults
from gates.templates import check_run_name
from tests.conftest import World
from tests.gates_e2e.conftest import PullWorld, PullWorldFactory, TechLead, TechLeadFactory

pytestmark = pytest.mark.sandbox

LINT = check_run_name(GateLevel.L1)
SECURITY = check_run_name(GateLevel.L5)
# Every gate enabled by default makes one check run per head.
ALL_GATES = sorted(check_run_name(level) for level in enabled_levels(load_defaults()))
RISKY = """import os
import subprocess

PASSWORD = "hunter2-very-secret"


def run(cmd):
    return subprocess.run(cmd, shell=True)
"""
ONE_MORE = """

def run_again(cmd):
    return subprocess.call(cmd, shell=True)
"""
OLD = """import os
import subprocess


def legacy(cmd):
    return subprocess.call(cmd, shell=True)
"""
HARMLESS = """

def added(a, b):
    return a + b
"""
TECHLEAD_YML = ".github/techlead.yml"


def lines(annotations: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(a["path"], a["start_line"]) for a in annotations}


def counted(annotations: list[dict[str, Any]]) -> Counter[tuple[str, int, str]]:
    return Counter((a["path"], a["start_line"], a["title"]) for a in annotations)


def opened(pr: PullWorld, techlead: TechLead, files: dict[str, str | None]) -> tuple[str, int]:
    """Push ``files`` on a branch, open a pull request, wait for the gates: (head, number)."""
    head = pr.push("change", files)
    number = pr.open_pull("change")
    techlead.settle()
    return head, number


def report_timings(pr: PullWorld) -> None:
    """The runs were created queued; print how long after the pull request they came."""
    assert isinstance(pr.world, World)
    deliveries = pr.world.sandbox.webhook_deliveries(pr.world.app.id)
    at = {(d.event, d.action): d.delivered_at for d in reversed(deliveries)}
    created = [d for d in deliveries if (d.event, d.action) == ("check_run", "created")]
    assert {d.payload["check_run"]["status"] for d in created} == {"queued"}
    opened = at["pull_request", "opened"]
    print(f"pull_request.opened -> first run queued: {at['check_run', 'created'] - opened:.2f} s")
    completed = max(
        d.delivered_at for d in deliveries if (d.event, d.action) == ("check_run", "completed")
    )
    print(f"pull_request.opened -> last run completed: {completed - opened:.2f} s")


def outcome(run: dict[str, Any]) -> tuple[str, str | None]:
    return run["status"], run["conclusion"]


def test_new_findings_fail_with_annotations_on_exactly_their_lines(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    head = pr.push("risky", {"app.py": RISKY})
    started = time.monotonic()
    pr.open_pull("risky")
    techlead.settle()
    print(f"pull_request.opened -> settled: {time.monotonic() - started:.2f} s")
    report_timings(pr)

    lint, security = pr.run_named(head, LINT), pr.run_named(head, SECURITY)
    assert outcome(lint) == ("completed", "failure")
    assert outcome(security) == ("completed", "failure")
    assert lines(pr.annotations(lint)) == {("app.py", 1)}
    assert lines(pr.annotations(security)) == {("app.py", 4), ("app.py", 8)}
    assert "| high |" in security["output"]["summary"]
    published = str([security, lint, pr.annotations(security), pr.annotations(lint)])
    assert "hunter2-very-secret" not in published, "the secret is never shown"
    # check_suite.requested and pull_request.opened both asked for this head: one run each.
    assert sorted(run["name"] for run in pr.runs(head)) == ALL_GATES


def test_old_findings_in_a_touched_file_are_summarised_not_failed(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for({"old.py": OLD})
    techlead = techlead_for(pr.world)
    head, _ = opened(pr, techlead, {"old.py": OLD + HARMLESS})

    security = pr.run_named(head, SECURITY)
    assert outcome(security) == ("completed", "success")
    assert security["output"]["title"] == "No new findings (1 pre-existing)"
    assert "Pre-existing: 1" in security["output"]["summary"]
    assert "old.py:6" in security["output"]["text"]
    assert pr.annotations(security) == []
    assert outcome(pr.run_named(head, LINT)) == ("completed", "success")


def test_a_push_adding_one_finding_changes_exactly_one_annotation(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    first, _ = opened(pr, techlead, {"app.py": RISKY})
    second = pr.push("change", {"app.py": RISKY + ONE_MORE})
    techlead.settle()

    for name in (LINT, SECURITY):
        assert outcome(pr.run_named(first, name))[0] == "completed"
    before = {name: counted(pr.annotations(pr.run_named(first, name))) for name in (LINT, SECURITY)}
    after = {name: counted(pr.annotations(pr.run_named(second, name))) for name in (LINT, SECURITY)}
    assert after[LINT] == before[LINT]
    added = after[SECURITY] - before[SECURITY]
    assert list(added) == [("app.py", 12, "B602 (bandit, high)")]
    assert before[SECURITY] - after[SECURITY] == Counter()
    assert len(pr.runs(second)) == len(ALL_GATES), "synchronize and check_suite.requested: one set"


def test_120_findings_arrive_as_120_annotations_50_per_request(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    imports = "".join(f"import module_{i:03}\n" for i in range(120))
    head, _ = opened(pr, techlead, {"many.py": imports})

    lint = pr.run_named(head, LINT)
    assert outcome(lint) == ("completed", "failure")
    assert lint["output"]["annotations_count"] == 120
    assert lines(pr.annotations(lint)) == {("many.py", n) for n in range(1, 121)}
    counts = techlead.client.stats
    # One run per gate created queued; then per run one in_progress and one completing
    # update, plus two more updates appending annotations 51-100 and 101-120 to lint's.
    gates = len(ALL_GATES)
    assert counts.total("POST /repos/{owner}/{repo}/check-runs") == gates
    assert counts.total("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}") == 2 * gates + 2


def test_a_gate_stopped_by_its_time_limit_fails_saying_so(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    config = "version: 1\ngates:\n  lint:\n    timeout_seconds: 0.01\n"
    pr = pull_world_for({TECHLEAD_YML: config})
    techlead = techlead_for(pr.world)
    head, _ = opened(pr, techlead, {"app.py": RISKY})

    lint = pr.run_named(head, LINT)
    assert outcome(lint) == ("completed", "failure")
    assert "timed out after 0.01 s" in lint["output"]["title"]
    assert outcome(pr.run_named(head, SECURITY)) == ("completed", "failure")


def test_only_markdown_changes_are_not_applicable(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    head, _ = opened(pr, techlead, {"README.md": "# Project\n\nMore words.\n"})

    for name in (LINT, SECURITY):
        run = pr.run_named(head, name)
        assert outcome(run) == ("completed", "neutral")
        assert run["output"]["title"].startswith("Not applicable: ")


def test_redeliveries_and_repeated_events_make_no_duplicate_runs(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    head, number = opened(pr, techlead, {"app.py": RISKY})
    port = techlead.client.port()
    for delivery in port.list_hook_deliveries():
        if delivery.event in ("pull_request", "check_suite"):
            port.redeliver(delivery.id)
    pulls = pr.world.user_gh.get_repo(pr.repo).get_pull(number)
    pulls.edit(state="closed")
    pulls.edit(state="open")  # pull_request.reopened: a new delivery for the same head
    techlead.settle()

    redelivered = [d for d in port.list_hook_deliveries() if d.redelivery]
    assert redelivered and all(d.status_code == 202 for d in redelivered)
    assert sorted(run["name"] for run in pr.runs(head)) == ALL_GATES
    assert len(techlead.jobs("gates.run")) == 1


def test_check_run_rerequested_runs_that_gate_again(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    head, _ = opened(pr, techlead, {"app.py": RISKY})
    first = pr.run_named(head, LINT)
    pr.as_app("POST", f"/repos/{pr.repo}/check-runs/{first['id']}/rerequest")
    techlead.settle()

    names = Counter(run["name"] for run in pr.runs(head))
    assert names == Counter({name: 2 if name == LINT else 1 for name in ALL_GATES})
    again = pr.run_named(head, LINT)
    assert again["id"] != first["id"]
    assert outcome(again) == ("completed", "failure")
    assert lines(pr.annotations(again)) == {("app.py", 1)}


def test_a_newer_push_cancels_the_older_heads_runs(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    # Hold the older head's job in "mark the runs in progress" until the newer push.
    slow = pr.world.sandbox.faults.latency(
        f"/repos/{pr.repo}/check-runs/*", 1.5, count=2, method="PATCH"
    )
    first = pr.push("change", {"app.py": RISKY})
    pr.open_pull("change")
    deadline = time.monotonic() + 20
    while not slow.hits:
        assert time.monotonic() < deadline, "the first head's run job never started"
        time.sleep(0.02)
    second = pr.push("change", {"app.py": RISKY + ONE_MORE})
    techlead.settle()

    for name in (LINT, SECURITY):
        old = pr.run_named(first, name)
        assert outcome(old) == ("completed", "cancelled")
        assert f"a newer push ({second[:7]}) superseded this commit" in old["output"]["title"]
        assert pr.annotations(old) == []
        assert outcome(pr.run_named(second, name)) == ("completed", "failure")


def test_an_invalid_configuration_asks_for_action_with_its_key_and_line(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    config = "version: 1\ngates:\n  lint:\n    fail_on: severe\n"
    pr = pull_world_for({TECHLEAD_YML: config})
    techlead = techlead_for(pr.world)
    head, _ = opened(pr, techlead, {"app.py": RISKY})

    for name in (LINT, SECURITY):
        run = pr.run_named(head, name)
        assert outcome(run) == ("completed", "action_required")
        assert run["output"]["title"] == (
            "Invalid configuration: .github/techlead.yml:4 (gates.lint.fail_on)"
        )
        assert "| `.github/techlead.yml` | 4 | `gates.lint.fail_on` |" in run["output"]["summary"]
    assert techlead.jobs("gates.run") == []


def test_drafts_wait_for_ready_for_review_when_configured(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    config = "version: 1\ngates:\n  pull_requests:\n    drafts: false\n"
    pr = pull_world_for({TECHLEAD_YML: config})
    techlead = techlead_for(pr.world)
    head = pr.push("draft", {"app.py": RISKY})
    number = pr.open_pull("draft", draft=True)
    techlead.settle()
    assert pr.runs(head) == []

    pr.world.sandbox.mark_ready_for_review(pr.repo, number)
    techlead.settle()
    assert outcome(pr.run_named(head, LINT)) == ("completed", "failure")
    assert outcome(pr.run_named(head, SECURITY)) == ("completed", "failure")


def test_a_pull_request_cannot_change_the_rules_it_is_judged_by(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    lenient = "version: 1\ngates:\n  security:\n    enabled: false\n  lint:\n    required: false\n"
    head, _ = opened(pr, techlead, {"app.py": RISKY, TECHLEAD_YML: lenient})

    assert outcome(pr.run_named(head, LINT)) == ("completed", "failure")
    assert outcome(pr.run_named(head, SECURITY)) == ("completed", "failure")
