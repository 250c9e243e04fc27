"""The model planner: a good plan is taken; a plan breaking a guard, or no answer in
time, gives the deterministic plan with a note on the checklist saying why."""

from __future__ import annotations

from typing import Any

import pytest

from agents.research.model import Findings, ProjectProfile, RelevantFile
from bot.plan.checklist import render
from bot.plan.llm import LLMPlanner, brief_of, messages, planner_for
from bot.plan.model import IssueInput, Plan, PlanState, TaskStatus
from bot.plan.planner import DeterministicPlanner, PlanningDefaults, make_plan
from bot.settings import Settings
from tests.llm.conftest import Served
from tests.plan.conftest import ROSTER
from tests.support.openai_stub import json_reply, reply, slow

CONFIG = PlanningDefaults()
ISSUE = IssueInput(
    title="Add rate limiting to the login endpoint",
    body=(
        "Brute force attempts are not throttled.\n\n"
        "- [ ] Limit login attempts per IP\n"
        "- [x] Decide on the limits with ops\n"
        "- [ ] Document the new limits\n\n"
        "### Checklist\n"
        "- [ ] I have searched the existing issues\n"
    ),
    number=7,
    labels=("security",),
    templates=("- [ ] I have searched the existing issues",),
)
FINDINGS = Findings(
    profile=ProjectProfile(test_command="pytest -q"),
    relevant=(
        RelevantFile("app/auth/login.py", 9.0, symbols=("login", "LoginForm")),
        RelevantFile("tests/test_login.py", 5.0, kind="test", symbols=("test_login",)),
    ),
    docs=(RelevantFile("docs/security.md", 3.0, kind="doc"),),
    file_count=40,
)


def good_plan(**changes: Any) -> dict[str, Any]:
    """A plan keeping every item, naming real files and roster agents, with no cycle."""
    tasks = [
        task("T1", "Limit login attempts per IP", "security-guardian", files=["app/auth/login.py"]),
        task("T2", "Decide on the limits with ops", "backend-developer"),
        task("T3", "Test the limit", "test-engineer", ["T1"], ["tests/test_login.py"], "tests"),
        task("T4", "Document the new limits", "docs-writer", ["T1"], ["docs/security.md"], "docs"),
    ]
    plan: dict[str, Any] = {"title": "Rate-limit logins", "tasks": tasks}
    for index, fields in changes.items():
        position = int(index.removeprefix("T")) - 1
        if fields is None:
            del plan["tasks"][position]
        else:
            plan["tasks"][position].update(fields)
    return plan


def task(
    id: str,
    title: str,
    agent: str,
    depends_on: list[str] | None = None,
    files: list[str] | None = None,
    category: str = "implementation",
) -> dict[str, Any]:
    return {
        "id": id,
        "title": title,
        "agent": agent,
        "priority": "high",
        "category": category,
        "depends_on": depends_on or [],
        "files": files or [],
        "body": "",
        "reason": f"{agent} knows this",
    }


def plan_with(served: Served, *script: Any, timeout: float = 10.0) -> tuple[Plan, dict[str, float]]:
    served.stub.push(*script)
    timings: dict[str, float] = {}
    planner = LLMPlanner(served.client(timeout=timeout, max_retries=0), timings=timings)
    return make_plan(ISSUE, FINDINGS, ROSTER, CONFIG, planner=planner), timings


def test_a_good_plan_is_taken_with_its_cost(served: Served) -> None:
    plan, timings = plan_with(served, json_reply(good_plan()))
    assert [(t.id, t.title, t.agent) for t in plan.tasks] == [
        ("T1", "Limit login attempts per IP", "security-guardian"),
        ("T2", "Decide on the limits with ops", "backend-developer"),
        ("T3", "Test the limit", "test-engineer"),
        ("T4", "Document the new limits", "docs-writer"),
    ]
    assert plan.tasks[1].status is TaskStatus.COMPLETED  # ticked in the issue
    assert plan.tasks[2].depends_on == ("T1",)
    assert plan.state is PlanState.AWAITING_APPROVAL
    assert timings["llm_tokens"] > 0 and timings["llm_calls"] == 1
    body = render(plan, FINDINGS)
    assert "Planned by the model `stub-model`" in body
    assert "security-guardian knows this (the model's choice)" in body


def test_the_model_is_sent_the_issue_without_template_text_a_map_and_the_roster(
    served: Served,
) -> None:
    plan_with(served, json_reply(good_plan()))
    sent = served.stub.requests[0]
    request = sent["messages"][1]["content"]
    assert "I have searched the existing issues" not in request
    assert "Limit login attempts per IP" in request
    assert '"path": "app/auth/login.py"' in request and '"LoginForm"' in request
    assert '"name": "security-guardian"' in request
    assert sent["response_format"]["json_schema"]["name"] == "plan"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (json_reply(good_plan(T4=None)), "it dropped the issue's item “Document the new limits”"),
        (
            json_reply(good_plan(T1={"files": ["app/auth/throttle.py"]})),
            "it names `app/auth/throttle.py`, which is not in the repository",
        ),
        (
            json_reply(good_plan(T3={"agent": "qa-wizard"})),
            "it assigns `qa-wizard`, who is not in the roster",
        ),
        (json_reply(good_plan(T1={"depends_on": ["T3"]})), "cycle"),
        (json_reply(good_plan(T1={"depends_on": ["T9"]})), "T9"),
        (reply("Sure! Here is a plan: first, add a limiter."), "not JSON"),
        (json_reply({"title": "x", "tasks": []}), "it has no tasks"),
    ],
    ids=[
        "drops-checklist-item",
        "names-missing-file",
        "unknown-agent",
        "cycle",
        "dangling-dependency",
        "not-json",
        "no-tasks",
    ],
)
def test_a_plan_breaking_a_guard_gives_the_deterministic_plan_and_says_why(
    served: Served, answer: Any, why: str
) -> None:
    plan, timings = plan_with(served, answer)
    expected = make_plan(ISSUE, FINDINGS, ROSTER, CONFIG)
    assert [(t.title, t.agent) for t in plan.tasks] == [(t.title, t.agent) for t in expected.tasks]
    assert len(plan.notes) == 1
    note = plan.notes[0]
    assert note.startswith("The model's plan was not used (") and why in note
    assert note in render(plan, FINDINGS)
    assert timings["llm_calls"] == 1  # the refused plan's cost is still counted


def test_no_answer_in_time_gives_the_deterministic_plan(served: Served) -> None:
    plan, timings = plan_with(served, slow(3, json_reply(good_plan())), timeout=0.3)
    assert "did not answer in time" in plan.notes[0]
    assert [t.title for t in plan.tasks] == [
        t.title for t in DeterministicPlanner().plan(ISSUE, FINDINGS, ROSTER, CONFIG).tasks
    ]
    assert timings == {}  # no answer: no tokens to count


def test_an_llm_planner_without_a_configured_model_says_so() -> None:
    planner = planner_for("llm", Settings.from_env({}))
    assert isinstance(planner, LLMPlanner)
    plan = make_plan(ISSUE, FINDINGS, ROSTER, CONFIG, planner=planner)
    assert "no model is configured" in plan.notes[0]
    assert planner_for("deterministic", Settings.from_env({})) is None


def test_a_file_on_disk_counts_when_the_caller_can_check(served: Served) -> None:
    served.stub.push(json_reply(good_plan(T1={"files": ["app/auth/throttle.py"]})))
    on_disk = {"app/auth/throttle.py", "tests/test_login.py", "docs/security.md"}
    planner = LLMPlanner(served.client(), exists=on_disk.__contains__)
    plan = make_plan(ISSUE, FINDINGS, ROSTER, CONFIG, planner=planner)
    assert plan.tasks[0].files == ("app/auth/throttle.py",)
    assert plan.notes[0].startswith("Planned by the model")


def test_the_brief_keeps_only_the_authors_items() -> None:
    brief = brief_of(ISSUE)
    assert [(i.text, i.checked) for i in brief.items] == [
        ("Limit login attempts per IP", False),
        ("Decide on the limits with ops", True),
        ("Document the new limits", False),
    ]
    system = messages(brief, FINDINGS, ROSTER, CONFIG)[0]["content"]
    assert f"At most {CONFIG.max_tasks} tasks" in system
